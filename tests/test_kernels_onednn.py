"""Tests for pokeil_jax/kernels/onednn.py: the oneDNN convolution and max-pool kernels against XLA's, and when they
are chosen. Skipped where the extension is not built, unless POKEIL_REQUIRE_ONEDNN=1 (CI sets
it: there a missing build is a failure, not a skip)."""

import os
import subprocess
import sys
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pokeil_jax import train
from pokeil_jax.kernels import onednn, resolve_kernels, xla
from pokeil_jax.networks import NetworkSizes, init_params, network_for

REPO = Path(__file__).resolve().parents[1]

if not onednn.available():
    if os.environ.get("POKEIL_REQUIRE_ONEDNN") == "1":
        raise RuntimeError(f"POKEIL_REQUIRE_ONEDNN=1 but {onednn.unavailable_reason()}; {onednn.BUILD_HINT}")
    pytest.skip(f"oneDNN kernels not built: {onednn.unavailable_reason()}", allow_module_level=True)


def xla_conv(x, kernel, bias, relu=False):
    return xla.conv2d(x, kernel, bias, relu=relu)


def values_and_grads(conv, x, kernel, bias, g):
    y = conv(x, kernel, bias)
    grads = jax.grad(lambda *a: jnp.sum(conv(*a) * g), argnums=(0, 1, 2))(x, kernel, bias)
    return (y, *grads)


def relative_error(a, b):
    return float(jnp.max(jnp.abs(a - b)) / jnp.maximum(jnp.max(jnp.abs(b)), 1e-30))


# (2, 9, 9, 20, 24): channels that oneDNN's 16-blocked kernel layouts must pad.
@pytest.mark.parametrize("shape", [(2, 84, 84, 3, 16), (3, 42, 42, 16, 32), (2, 21, 21, 32, 32),
                                   (1, 11, 11, 32, 32), (2, 9, 9, 20, 24), (2, 7, 5, 3, 4),
                                   (1, 1, 1, 2, 3)])
@pytest.mark.parametrize("relu", [False, True], ids=["conv", "conv+relu"])
def test_conv2d_matches_xla_values_and_gradients(shape, relu):
    batch, height, width, cin, cout = shape
    k = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(k[0], (batch, height, width, cin))
    kernel = jax.random.normal(k[1], (3, 3, cin, cout)) * 0.2
    bias = jax.random.normal(k[2], (cout,))
    g = jax.random.normal(k[3], (batch, height, width, cout))
    ours = jax.jit(lambda *a: values_and_grads(lambda *c: onednn.conv2d(*c, True, relu), *a))(x, kernel, bias, g)
    theirs = jax.jit(lambda *a: values_and_grads(lambda *c: xla_conv(*c, relu), *a))(x, kernel, bias, g)
    for name, a, b in zip(("y", "dx", "dkernel", "dbias"), ours, theirs):
        assert a.shape == b.shape
        assert relative_error(a, b) < 2e-5, name
    if relu:
        assert float(jnp.min(ours[0])) == 0.0 and float(jnp.max(ours[0])) > 0.0


def test_conv2d_without_input_grad_gives_the_same_kernel_gradient():
    k = jax.random.split(jax.random.key(1), 4)
    x = jax.random.normal(k[0], (2, 12, 10, 3))
    kernel = jax.random.normal(k[1], (3, 3, 3, 8))
    bias = jax.random.normal(k[2], (8,))
    g = jax.random.normal(k[3], (2, 12, 10, 8))

    def grads(input_grad):
        loss = lambda *a: jnp.sum(onednn.conv2d(*a, input_grad) * g)  # noqa: E731
        return jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(x, kernel, bias)

    full, first_layer = grads(True), grads(False)
    assert not np.any(np.asarray(first_layer[0]))  # reported as zeros: nobody asked for it
    np.testing.assert_array_equal(first_layer[1], full[1])
    np.testing.assert_array_equal(first_layer[2], full[2])


@pytest.mark.parametrize("shape", [(2, 84, 84, 16), (2, 42, 42, 32), (3, 21, 21, 32), (1, 7, 6, 2), (1, 1, 1, 1)])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_max_pool_matches_xla_values_and_gradients(shape, ties):
    x = jax.random.normal(jax.random.key(0), shape)
    if ties:  # flat image regions: the gradient must go to one maximum, the first, as XLA's
        x = jnp.round(x)
    y = onednn.max_pool_3x3_s2(x)
    y_ref = nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
    np.testing.assert_array_equal(y, y_ref)
    g = jax.random.normal(jax.random.key(1), y.shape)
    grad = jax.grad(lambda a: jnp.sum(onednn.max_pool_3x3_s2(a) * g))(x)
    grad_ref = jax.grad(lambda a: jnp.sum(xla.max_pool_3x3_s2(a) * g))(x)
    np.testing.assert_allclose(grad, grad_ref, rtol=0, atol=1e-6)


def test_network_and_train_step_agree_across_kernels():
    params = init_params(jax.random.key(3), NetworkSizes(hidden_dim=32))
    frames = jax.random.randint(jax.random.key(4), (4, 84, 84, 3), 0, 256).astype(jnp.uint8)
    logits = {impl: jax.jit(network_for(params, kernels=resolve_kernels(impl)).apply)({"params": params}, frames)
              for impl in ("xla", "onednn")}
    np.testing.assert_allclose(logits["onednn"], logits["xla"], rtol=1e-5, atol=1e-5)

    batch = {"observations": frames, "actions": jnp.array([0, 3, 9, 3], jnp.int32)}
    results = {}
    for impl in ("xla", "onednn"):
        config = train.TrainConfig(learning_rate=1e-3, network=NetworkSizes(hidden_dim=32), kernels=impl)
        state = train.create_train_state(jax.random.key(5), config)
        step = jax.jit(train.train_step)
        for _ in range(3):
            state, metrics = step(state, batch)
        results[impl] = (state.params, metrics)
    assert abs(float(results["onednn"][1]["loss"]) - float(results["xla"][1]["loss"])) < 1e-4
    assert abs(float(results["onednn"][1]["grad_norm"]) / float(results["xla"][1]["grad_norm"]) - 1) < 1e-4
    for a, b in zip(jax.tree_util.tree_leaves(results["onednn"][0]), jax.tree_util.tree_leaves(results["xla"][0])):
        np.testing.assert_allclose(a, b, atol=2e-4)  # Adam steps of lr 1e-3 from near-equal gradients


def test_compiled_step_runs_every_convolution_and_pool_in_onednn():
    state = train.create_train_state(jax.random.key(0), train.TrainConfig(network=NetworkSizes(hidden_dim=32), kernels="onednn"))
    batch = {"observations": jnp.zeros((2, 84, 84, 3), jnp.uint8), "actions": jnp.zeros((2,), jnp.int32)}
    text = jax.jit(train.train_step).lower(state, batch).compile().as_text()
    assert text.count(" convolution(") == 0
    assert text.count('custom_call_target="pokeil_conv_forward"') == 15
    assert text.count('custom_call_target="pokeil_conv_backward"') == 14  # all but the first layer
    assert text.count('custom_call_target="pokeil_conv_backward_weights"') == 1
    assert text.count('custom_call_target="pokeil_pool_forward"') == 3
    assert text.count('custom_call_target="pokeil_pool_backward"') == 3


def test_a_library_from_another_source_is_not_loaded(tmp_path, monkeypatch):
    # The stamp names the source hash and jaxlib version the library was built from.
    stamp = tmp_path / "lib.so.stamp"
    stamp.write_text("0000 jaxlib-0.0.0\n")
    monkeypatch.setattr(onednn, "STAMP", stamp)
    assert not onednn.is_built()


def test_build_prefers_the_oneDNN_of_the_python_environment(tmp_path, monkeypatch):
    # Without headers and library in the environment: the system's, no extra flags.
    name, flags = onednn.onednn_install(tmp_path)
    assert flags == [] and name.endswith("(system)")
    (tmp_path / "include" / "oneapi" / "dnnl").mkdir(parents=True)
    (tmp_path / "include" / "oneapi" / "dnnl" / "dnnl_version.h").write_text(
        "#define DNNL_VERSION_MAJOR 3\n#define DNNL_VERSION_MINOR 2\n#define DNNL_VERSION_PATCH 0\n")
    assert onednn.onednn_install(tmp_path)[1] == []  # headers without the library: still the system's
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libdnnl.so.3").write_bytes(b"")
    name, flags = onednn.onednn_install(tmp_path)
    assert name == "oneDNN 3.2.0 (Python environment)"
    assert flags == [f"-I{tmp_path / 'include'}", f"-L{tmp_path / 'lib'}", f"-Wl,-rpath,{tmp_path / 'lib'}"]
    # The stamp names the oneDNN: a library built against another one is not loaded.
    monkeypatch.setattr(onednn, "onednn_install", lambda prefix=None: ("oneDNN 9.9.9 (elsewhere)", []))
    assert "oneDNN 9.9.9 (elsewhere)" in onednn._fingerprint()
    assert not onednn.is_built()


def test_build_names_a_missing_compiler(monkeypatch):
    monkeypatch.setenv("CXX", "/nonexistent/g++")
    with pytest.raises(RuntimeError, match="apt-get install g\\+\\+"):
        onednn.build(verbose=False)


def test_four_devices_forced_onednn_still_computes_the_one_device_gradient():
    # No SPMD rule: XLA gathers the custom calls' inputs. Slower than data parallel, but correct.
    code = """
import jax, jax.numpy as jnp, numpy as np
from pokeil_jax import train
from pokeil_jax.kernels import resolve_kernels
from pokeil_jax.networks import NetworkSizes
assert jax.device_count() == 4 and resolve_kernels("auto").name == "xla"
config = train.TrainConfig(network=NetworkSizes(hidden_dim=32), kernels="onednn")
state = train.create_train_state(jax.random.key(0), config)
rng = np.random.default_rng(0)
batch = {"observations": rng.integers(0, 256, (8, 84, 84, 3), dtype=np.uint8),
         "actions": rng.integers(0, 10, 8).astype(np.int32)}
_, single = jax.jit(train.train_step)(state, batch)
mesh = train.make_mesh()
_, sharded = train.jit_train_step(mesh)(train.replicate(mesh, state), train.shard_batch(mesh, batch))
assert abs(float(single["loss"]) - float(sharded["loss"])) < 1e-5
assert abs(float(single["grad_norm"]) / float(sharded["grad_norm"]) - 1) < 1e-5
print("ok")
"""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def test_check_command_reports_agreement():
    result = subprocess.run([sys.executable, "-m", "pokeil_jax.kernels", "check"], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "available" in result.stdout and "max relative error" in result.stdout
