"""BC train step: learning, purity, one compilation, metrics, sharding and multi-process runs."""

import json
import os
import socket
import subprocess
import sys
import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pokeil_jax import train
from pokeil_jax.networks import NetworkSizes

REPO = Path(__file__).resolve().parents[1]
CONFIG = train.TrainConfig(learning_rate=2e-3, weight_decay=1e-4, network=NetworkSizes(hidden_dim=32))


def make_batch(batch_size=16, seed=0, num_actions=10):
    rng = np.random.default_rng(seed)
    return {
        "observations": rng.integers(0, 256, (batch_size, 84, 84, 3), dtype=np.uint8),
        "actions": rng.integers(0, num_actions, batch_size).astype(np.int32),
    }


def leaves_equal(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


@pytest.fixture(scope="module")
def pure_step():
    return jax.jit(train.train_step)  # no donation, so a state can be stepped twice


def test_overfits_a_tiny_batch_to_full_accuracy(traces):
    state = train.create_train_state(jax.random.key(0), CONFIG)
    mesh = train.make_mesh()
    state, step = train.replicate(mesh, state), train.jit_train_step(mesh)
    batch = make_batch()
    first = None
    for _ in range(100):
        state, metrics = step(state, train.shard_batch(mesh, batch))
        values = train.check_finite(metrics)
        first = first or values
        if values["accuracy"] == 1.0 and values["loss"] < 0.05:
            break
    evaluation = train.eval_step(state.apply_fn, state.params, batch)
    assert float(evaluation["accuracy"]) == 1.0, values
    assert float(evaluation["loss"]) < 0.05 < first["loss"]
    assert traces == [(16, 84, 84, 3)]  # one trace for the whole run
    np.testing.assert_array_equal(np.argmax(train.policy_logits(state.apply_fn, state.params, batch["observations"]), -1), batch["actions"])


@pytest.fixture
def traces(monkeypatch):
    """Batch shapes `jit_train_step`'s step was traced for (a Python side effect runs per trace)."""
    shapes, original = [], train.train_step

    def counted_train_step(state, batch):
        shapes.append(batch["observations"].shape)
        return original(state, batch)

    monkeypatch.setattr(train, "train_step", counted_train_step)
    return shapes


def test_one_trace_over_many_steps_and_a_new_one_per_batch_shape(traces):
    state = train.create_train_state(jax.random.key(1), CONFIG)
    mesh = train.make_mesh()
    state, step = train.replicate(mesh, state), train.jit_train_step(mesh)
    for seed in range(4):
        state, _ = step(state, train.shard_batch(mesh, make_batch(8, seed)))
    assert traces == [(8, 84, 84, 3)]
    state, _ = step(state, train.shard_batch(mesh, make_batch(4)))
    assert traces == [(8, 84, 84, 3), (4, 84, 84, 3)]  # the counter does see retraces


def test_train_step_is_pure_and_deterministic(pure_step):
    state = train.create_train_state(jax.random.key(2), CONFIG)
    batch = make_batch(8)
    new_a, metrics_a = pure_step(state, batch)
    new_b, metrics_b = pure_step(state, batch)
    assert leaves_equal(new_a.params, new_b.params) and leaves_equal(metrics_a, metrics_b)
    assert not leaves_equal(new_a.params, state.params)
    assert int(new_a.step) == 1 and int(metrics_a["step"]) == 1
    np.testing.assert_array_equal(jax.random.key_data(new_a.rng), jax.random.key_data(state.rng))


def test_create_train_state_is_seeded():
    a = train.create_train_state(jax.random.key(5), CONFIG)
    b = train.create_train_state(jax.random.key(5), CONFIG)
    c = train.create_train_state(jax.random.key(6), CONFIG)
    assert leaves_equal(a.params, b.params) and not leaves_equal(a.params, c.params)
    assert a.params["Dense_0"]["kernel"].shape == (3872, 32) and a.params["Dense_1"]["bias"].shape == (10,)


def test_create_train_state_in_one_program_gives_the_eager_values():
    jitted = train.create_train_state(jax.random.key(5), CONFIG)
    with jax.disable_jit():  # every op on its own, as before the state was built by one program
        eager = train.create_train_state(jax.random.key(5), CONFIG)
    assert leaves_equal(jitted.params, eager.params) and leaves_equal(jitted.opt_state, eager.opt_state)
    np.testing.assert_array_equal(jax.random.key_data(jitted.rng), jax.random.key_data(eager.rng))


def test_policy_fn_keeps_its_own_params_on_the_device_across_donated_steps():
    state = train.create_train_state(jax.random.key(0), CONFIG)
    mesh = train.make_mesh()
    state, step = train.replicate(mesh, state), train.jit_train_step(mesh)
    policy = train.policy_fn(state)
    params = policy.args[1]
    assert all(isinstance(leaf, jax.Array) for leaf in jax.tree_util.tree_leaves(params))
    observations = make_batch(4)["observations"]
    before = np.asarray(policy(observations))
    state, _ = step(state, train.shard_batch(mesh, make_batch(8)))  # donates the old state's buffers
    np.testing.assert_array_equal(np.asarray(policy(observations)), before)


def test_metrics_match_an_independent_computation(pure_step):
    state = train.create_train_state(jax.random.key(3), CONFIG)
    batch = make_batch(8, seed=3)

    def loss(params):
        return train.bc_loss(train.policy_logits(state.apply_fn, params, batch["observations"]), batch["actions"])

    _, metrics = pure_step(state, batch)
    np.testing.assert_allclose(metrics["loss"], loss(state.params), rtol=1e-5)
    np.testing.assert_allclose(metrics["grad_norm"], optax.global_norm(jax.grad(loss)(state.params)), rtol=1e-4)
    np.testing.assert_allclose(metrics["learning_rate"], CONFIG.learning_rate, rtol=1e-6)
    np.testing.assert_allclose(metrics["accuracy"], train.eval_step(state.apply_fn, state.params, batch)["accuracy"])


def test_adamw_first_update_has_the_learning_rate_size(pure_step):
    # Adam's first step moves every weight by ~lr (sign of the gradient) plus lr * wd * w.
    state = train.create_train_state(jax.random.key(4), CONFIG)
    new, _ = pure_step(state, make_batch(8))
    delta = np.abs(np.asarray(new.params["Dense_1"]["kernel"] - state.params["Dense_1"]["kernel"]))
    assert np.median(delta) == pytest.approx(CONFIG.learning_rate, rel=0.05)


def test_nan_loss_raises_with_the_step(pure_step):
    state = train.create_train_state(jax.random.key(0), CONFIG)
    poisoned = state.replace(params=jax.tree_util.tree_map(lambda p: p * jnp.nan, state.params))
    _, metrics = pure_step(poisoned, make_batch(8))
    with pytest.raises(train.NonFiniteLossError, match=r"diverged at step 1: .*loss=nan") as info:
        train.check_finite(metrics)
    assert info.value.step == 1
    with pytest.raises(train.NonFiniteLossError, match="step 7"):
        train.check_finite({"loss": jnp.float32(jnp.inf), "grad_norm": jnp.float32(1.0), "step": jnp.int32(7)})
    with pytest.raises(train.NonFiniteLossError):
        train.check_finite({"loss": jnp.float32(1.0), "grad_norm": jnp.float32(jnp.nan), "step": jnp.int32(2)})
    assert train.check_finite({"loss": jnp.float32(0.5), "grad_norm": jnp.float32(1.0), "step": jnp.int32(3)}) == {
        "loss": 0.5, "grad_norm": 1.0, "step": 3
    }


def test_jitted_step_donates_the_old_state():
    state = train.create_train_state(jax.random.key(0), CONFIG)
    mesh = train.make_mesh()
    state, step = train.replicate(mesh, state), train.jit_train_step(mesh)
    new, _ = step(state, train.shard_batch(mesh, make_batch(8)))
    assert state.params["Dense_0"]["kernel"].is_deleted()
    assert not new.params["Dense_0"]["kernel"].is_deleted()


# --- several devices and processes: run in subprocesses (the device count is fixed at import) ---

SHARDED_VS_SINGLE = """
import json, sys, types
import jax, numpy as np
sys.path.insert(0, "tests")
from test_train import CONFIG, make_batch
from pokeil_jax import train

assert len(jax.devices()) == 4, jax.devices()
import optax
batches = [make_batch(16, seed) for seed in range(3)]


def run(devices, sgd):
    mesh = train.make_mesh(devices)
    state = train.create_train_state(jax.random.key(0), CONFIG)
    if sgd:  # parameters move by exactly -lr * the all-reduced gradient
        tx = optax.inject_hyperparams(optax.sgd)(learning_rate=CONFIG.learning_rate)
        state = state.replace(tx=tx, opt_state=tx.init(state.params))
    state, step = train.replicate(mesh, state), train.jit_train_step(mesh)
    losses = []
    for batch in batches:
        global_batch = train.shard_batch(mesh, batch)
        state, metrics = step(state, global_batch)
        losses.append(train.check_finite(metrics)["loss"])
    return state, losses, global_batch


def max_diff(a, b):
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
               for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


four, one = run(jax.devices(), sgd=False), run(jax.devices()[:1], sgd=False)
four_sgd, one_sgd = run(jax.devices(), sgd=True), run(jax.devices()[:1], sgd=True)
shard_rows = sorted(s.data.shape[0] for s in four[2]["observations"].addressable_shards)
param_devices = len(four[0].params["Dense_0"]["kernel"].sharding.device_set)
# Compared after SGD steps: Adam divides by sqrt(v), so a weight whose gradient is ~1e-9 moves by
# about +-lr either way depending on the last bit of its sum, and a different summation order
# (4 shards, then the all-reduce) legitimately flips a few such weights.
diff = max_diff(four_sgd[0].params, one_sgd[0].params)
scale = max(float(np.max(np.abs(np.asarray(a)))) for a in jax.tree_util.tree_leaves(one_sgd[0].params))
adam_losses = {"four": four[1], "one": one[1]}
try:
    train.shard_batch(train.make_mesh(), make_batch(6))
    indivisible = "accepted"
except ValueError as error:
    indivisible = str(error)
print(json.dumps({"shard_rows": shard_rows, "param_devices": param_devices, "max_param_diff": diff,
                  "param_scale": scale, "losses_four": four_sgd[1], "losses_one": one_sgd[1],
                  "adam_losses_four": adam_losses["four"], "adam_losses_one": adam_losses["one"],
                  "steps": [int(four[0].step), int(one[0].step)], "indivisible": indivisible}))
"""


def run_python(code, env_extra, timeout=600):
    env = {**os.environ, **env_extra, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_four_device_mesh_matches_one_device():
    result = run_python(SHARDED_VS_SINGLE, {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["shard_rows"] == [4, 4, 4, 4]  # the batch really is split
    assert report["param_devices"] == 4  # and the parameters replicated
    assert report["steps"] == [3, 3]
    np.testing.assert_allclose(report["losses_four"], report["losses_one"], rtol=1e-5)
    np.testing.assert_allclose(report["adam_losses_four"], report["adam_losses_one"], rtol=1e-5)
    assert report["max_param_diff"] <= 1e-5 * report["param_scale"] + 1e-6, report
    assert "6 rows, not a multiple of the 4 local devices" in report["indivisible"]


MULTI_PROCESS_WORKER = """
import json, sys
sys.path.insert(0, "tests")
from pokeil_jax import runtime, train
process_index, process_count = runtime.maybe_initialize_distributed()
import jax, numpy as np
from test_train import CONFIG, make_batch

global_batch = make_batch(8, seed=11)
rows = slice(4 * process_index, 4 * process_index + 4)  # this process's half of the global batch
local = {key: value[rows] for key, value in global_batch.items()}
mesh = train.make_mesh()
state = train.replicate(mesh, train.create_train_state(jax.random.key(0), CONFIG))
step = train.jit_train_step(mesh)
state, metrics = step(state, train.shard_batch(mesh, local))
values = train.check_finite(metrics)
kernel = np.asarray(state.params["Dense_1"]["kernel"].addressable_data(0))

# Every process takes part in every save (Orbax synchronises them and the primary writes).
from pokeil_jax import checkpoint
with checkpoint.Checkpointer(sys.argv[1]) as saver:
    saver.save_periodic(1, state, CONFIG, values, {"sampler_step": 1})
    became_best = saver.save_best(1, state, CONFIG, {"eval/milestone_completion": 0.5, "eval/episodic_return": 1.0})
target = train.replicate(mesh, train.create_train_state(jax.random.key(1), CONFIG))
restored, extras = checkpoint.restore(sys.argv[1], target)
restored_kernel = np.asarray(restored.params["Dense_1"]["kernel"].addressable_data(0))
print(json.dumps({"process": [process_index, process_count], "devices": len(jax.devices()),
                  "loss": values["loss"], "kernel": kernel.tolist(), "became_best": became_best,
                  "restored_equal": bool(np.array_equal(restored_kernel, kernel)),
                  "restored_devices": len(restored.params["Dense_1"]["kernel"].sharding.device_set),
                  "loader_state": extras["loader_state"]}))
jax.distributed.shutdown()
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gloo_available():
    from jax._src.lib import _jax  # private, but it is where jaxlib exposes its gloo build

    return hasattr(_jax, "make_gloo_tcp_collectives")


@pytest.mark.slow
@pytest.mark.skipif(not gloo_available(), reason="this jaxlib has no gloo CPU collectives (needed across processes)")
def test_two_processes_on_localhost_compute_the_single_process_step(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_COORDINATOR_ADDRESS": address, "JAX_NUM_PROCESSES": "2"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", MULTI_PROCESS_WORKER, str(tmp_path / "run")],
            cwd=REPO,
            env={**env, "JAX_PROCESS_ID": str(i)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = []
    for worker in workers:
        try:
            stdout, stderr = worker.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            for w in workers:
                w.kill()
            pytest.fail("the two processes did not finish in 300 s")
        assert worker.returncode == 0, stderr[-3000:]
        outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    assert [o["process"] for o in outputs] == [[0, 2], [1, 2]]
    assert all(o["devices"] == 2 for o in outputs)
    # Both processes hold the same global result ...
    assert outputs[0]["loss"] == outputs[1]["loss"]
    np.testing.assert_array_equal(outputs[0]["kernel"], outputs[1]["kernel"])
    # ... and it is the step of one process on the whole batch.
    state = train.create_train_state(jax.random.key(0), CONFIG)
    reference, metrics = jax.jit(train.train_step)(state, make_batch(8, seed=11))
    np.testing.assert_allclose(outputs[0]["loss"], float(metrics["loss"]), rtol=1e-5)
    np.testing.assert_allclose(outputs[0]["kernel"], reference.params["Dense_1"]["kernel"], rtol=1e-4, atol=1e-6)
    # Checkpoints in a multi-process run: one copy on disk, restored whole on every device.
    assert all(o["became_best"] and o["restored_equal"] and o["restored_devices"] == 2 for o in outputs)
    assert all(o["loader_state"] == {"sampler_step": 1} for o in outputs)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["best", "periodic"]


def convolutions_in_ynnpack(compiled_text: str) -> tuple[int, int]:
    """(convolutions in the compiled HLO, how many of them sit in a computation YNNPACK runs)."""
    computations, name = {}, None
    for line in compiled_text.splitlines():
        if line and not line.startswith(" ") and "{" in line:  # a computation's header line
            name = line.split()[1] if line.startswith("ENTRY") else line.split()[0]
            computations[name] = []
        elif name is not None:
            computations[name].append(line)
    with_conv = {n for n, body in computations.items() if any(" convolution(" in ln for ln in body)}
    ynn_called = {ln.split("calls=")[1].split(",")[0] for body in computations.values() for ln in body
                  if '"__ynn_fusion"' in ln and "calls=" in ln}
    total = sum(ln.count(" convolution(") for body in computations.values() for ln in body)
    return total, len(with_conv & ynn_called)


def test_cpu_train_step_keeps_convolutions_out_of_ynnpack():
    mesh = train.make_mesh()
    xla_config = dataclasses.replace(CONFIG, kernels="xla")  # XLA's own convolutions
    state = train.replicate(mesh, train.create_train_state(jax.random.key(0), xla_config))
    batch = train.shard_batch(mesh, make_batch(4))
    text = train.jit_train_step(mesh).lower(state, batch).compile().as_text()
    total, in_ynn = convolutions_in_ynnpack(text)
    assert total == 44 and in_ynn == 0  # 15 forward, 14 input-gradient (none for the frame), 15 kernel-gradient
    default_text = jax.jit(train.train_step).lower(state, batch).compile().as_text()
    total, in_ynn = convolutions_in_ynnpack(default_text)
    if in_ynn == 0:
        pytest.skip("this jaxlib keeps convolutions out of YNNPACK by default")
    assert total == 44 and in_ynn > 0  # the parser above does find YNNPACK convolutions


def test_default_config_holds_the_scripts_defaults():
    import bc_pokemon_jax

    args = bc_pokemon_jax.Args()
    assert train.TrainConfig() == bc_pokemon_jax.train_config(args)
    assert train.TrainConfig(network=NetworkSizes(hidden_dim=32)).network.hidden_dim == 32
    with pytest.raises(TypeError, match="hidden_size"):
        NetworkSizes(hidden_size=32)


def test_annealed_learning_rate_falls_linearly_to_zero_and_then_leaves_the_weights_alone(pure_step):
    config = dataclasses.replace(CONFIG, anneal_steps=4)
    state = train.create_train_state(jax.random.key(5), config)
    constant = train.create_train_state(jax.random.key(5), CONFIG)
    # Same checkpoint format: the optimiser state has the same leaves, shapes and dtypes.
    assert jax.tree_util.tree_structure(state.opt_state) == jax.tree_util.tree_structure(constant.opt_state)
    assert ([(x.shape, x.dtype) for x in jax.tree_util.tree_leaves(state.opt_state)]
            == [(x.shape, x.dtype) for x in jax.tree_util.tree_leaves(constant.opt_state)])
    rates = []
    for i in range(5):
        before = state.params
        state, metrics = pure_step(state, make_batch(8, seed=i))
        rates.append(float(metrics["learning_rate"]))
    np.testing.assert_allclose(rates, [CONFIG.learning_rate * f for f in (1, 0.75, 0.5, 0.25, 0)], rtol=1e-6)
    assert leaves_equal(before, state.params)  # rate 0: AdamW's update (weight decay included) is 0
    with pytest.raises(ValueError, match="anneal_steps must be >= 0"):
        train.create_train_state(jax.random.key(0), dataclasses.replace(CONFIG, anneal_steps=-1))


def test_augmented_step_advances_the_rng_and_trains_on_shifted_frames(pure_step):
    state = train.create_train_state(jax.random.key(2), CONFIG)
    batch = make_batch(8)
    augmented = jax.jit(train.make_train_step(augment_shift=4))
    new_a, metrics_a = augmented(state, batch)
    new_b, _ = augmented(state, batch)
    assert leaves_equal(new_a.params, new_b.params)  # still a pure function of (state, batch)
    assert not np.array_equal(jax.random.key_data(new_a.rng), jax.random.key_data(state.rng))
    plain, metrics_plain = pure_step(state, batch)
    assert not leaves_equal(new_a.params, plain.params)  # the frames it saw were not the batch's
    assert metrics_a["step"] == metrics_plain["step"] == 1
    assert train.make_train_step(0) is train.train_step
