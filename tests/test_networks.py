"""ImpalaCNN: parameter names and shapes (the converter's contract), input checks, dtypes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from pokeil_jax.kernels import xla
from pokeil_jax.networks import ImpalaCNN, NetworkSizes, init_params, param_count


@pytest.fixture(scope="module")
def params():
    return init_params(jax.random.key(0))


def frames(batch, seed=0):
    return jax.random.randint(jax.random.key(seed), (batch, 84, 84, 3), 0, 256).astype(jnp.uint8)


def expected_shapes(num_actions=10, hidden_dim=256, channels=(16, 32, 32)):
    shapes, in_channels = {}, 3
    for seq, out_channels in enumerate(channels):
        shapes[f"ConvSequence_{seq}/Conv_0/kernel"] = (3, 3, in_channels, out_channels)
        shapes[f"ConvSequence_{seq}/Conv_0/bias"] = (out_channels,)
        for block in range(2):
            for conv in range(2):
                prefix = f"ConvSequence_{seq}/ResidualBlock_{block}/Conv_{conv}"
                shapes[f"{prefix}/kernel"] = (3, 3, out_channels, out_channels)
                shapes[f"{prefix}/bias"] = (out_channels,)
        in_channels = out_channels
    shapes["Dense_0/kernel"] = (11 * 11 * channels[-1], hidden_dim)
    shapes["Dense_0/bias"] = (hidden_dim,)
    shapes["Dense_1/kernel"] = (hidden_dim, num_actions)
    shapes["Dense_1/bias"] = (num_actions,)
    return shapes


def test_parameter_names_and_shapes_are_the_documented_ones(params):
    flat = traverse_util.flatten_dict(params, sep="/")
    assert {k: v.shape for k, v in flat.items()} == expected_shapes()
    assert all(v.dtype == jnp.float32 for v in flat.values())
    assert param_count(params) == sum(int(np.prod(s)) for s in expected_shapes().values())


def test_other_sizes_change_only_their_layers():
    params = init_params(jax.random.key(0), NetworkSizes(num_actions=7, hidden_dim=64, channels=(8, 8, 16)))
    flat = traverse_util.flatten_dict(params, sep="/")
    assert {k: v.shape for k, v in flat.items()} == expected_shapes(7, 64, (8, 8, 16))


def test_logits_shape_dtype_and_batch_independence(params):
    forward = jax.jit(ImpalaCNN().apply)
    x = frames(4)
    logits = forward({"params": params}, x)
    assert logits.shape == (4, 10) and logits.dtype == jnp.float32
    assert np.all(np.isfinite(logits))
    alone = forward({"params": params}, x[2:3])
    np.testing.assert_allclose(alone[0], logits[2], rtol=1e-5, atol=1e-6)
    assert not np.allclose(logits[0], logits[1])  # the input matters


def test_forward_matches_a_hand_written_composition_of_ops(params):
    def conv(x, p):
        return xla.conv2d(x, p["kernel"], p["bias"])

    def reference(p, observations):
        x = observations.astype(jnp.float32) / 255.0
        for seq in range(3):
            s = p[f"ConvSequence_{seq}"]
            x = xla.max_pool_3x3_s2(conv(x, s["Conv_0"]))
            for block in range(2):
                b = s[f"ResidualBlock_{block}"]
                x = x + conv(jax.nn.relu(conv(jax.nn.relu(x), b["Conv_0"])), b["Conv_1"])
        x = jax.nn.relu(x.reshape(x.shape[0], -1))  # (H, W, C) flatten order
        x = jax.nn.relu(x @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"])
        return x @ p["Dense_1"]["kernel"] + p["Dense_1"]["bias"]

    x = frames(3, seed=1)
    np.testing.assert_allclose(
        jax.jit(ImpalaCNN().apply)({"params": params}, x), jax.jit(reference)(params, x), rtol=1e-5, atol=1e-5
    )


def test_input_scaled_to_unit_range(params):
    # All-255 frames must equal float input 1.0, i.e. the network divides by 255 itself.
    model = ImpalaCNN()
    white = jnp.full((1, 84, 84, 3), 255, jnp.uint8)
    conv = params["ConvSequence_0"]["Conv_0"]
    first_layer = xla.conv2d(jnp.ones((1, 84, 84, 3)), conv["kernel"], conv["bias"])
    _, state = model.apply({"params": params}, white, capture_intermediates=True)
    captured = state["intermediates"]["ConvSequence_0"]["Conv_0"]["__call__"][0]
    np.testing.assert_allclose(captured, first_layer, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "bad", [np.zeros((1, 160, 240, 3), np.uint8), np.zeros((1, 84, 84, 3), np.float32)], ids=["raw-frame", "float"]
)
def test_rejects_inputs_that_skipped_preprocessing(params, bad):
    with pytest.raises(ValueError, match="preprocess_frames"):
        ImpalaCNN().apply({"params": params}, bad)


def test_init_is_deterministic_and_torch_like():
    a, b = init_params(jax.random.key(3)), init_params(jax.random.key(3))
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(lambda x, y: bool(jnp.array_equal(x, y)), a, b))
    c = init_params(jax.random.key(4))
    assert not np.array_equal(a["Dense_1"]["kernel"], c["Dense_1"]["kernel"])
    # torch.nn.Conv2d / Linear default: kernel and bias uniform in +-1/sqrt(fan_in).
    for path, fan_in in [("ConvSequence_0/Conv_0", 27), ("ConvSequence_1/ResidualBlock_0/Conv_0", 288), ("Dense_0", 3872)]:
        layer = traverse_util.flatten_dict(a, sep="/")
        for leaf in ("kernel", "bias"):
            values = np.asarray(layer[f"{path}/{leaf}"])
            bound = 1 / np.sqrt(fan_in)
            assert np.abs(values).max() <= bound
            if values.size > 1000:
                assert np.abs(values).max() > 0.95 * bound  # uniform fills the interval


def test_bfloat16_compute_is_close_to_float32(params):
    x = frames(4, seed=2)
    full = jax.jit(ImpalaCNN().apply)({"params": params}, x)
    half = jax.jit(ImpalaCNN(dtype=jnp.bfloat16).apply)({"params": params}, x)
    assert half.dtype == jnp.float32
    np.testing.assert_allclose(half, full, atol=0.05 * float(np.abs(full).max()) + 1e-3)
