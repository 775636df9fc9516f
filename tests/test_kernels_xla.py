"""Tests for pokeil_jax/kernels/xla.py: conv2d and max_pool_3x3_s2 against Flax/XLA references, values and gradients."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pokeil_jax.kernels import xla


def reference_pool(x):
    return nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")


def value_and_input_grad(f, x, cotangent_key=1):
    y = f(x)
    w = jax.random.normal(jax.random.key(cotangent_key), y.shape, y.dtype)
    return y, jax.grad(lambda x: jnp.sum(f(x) * w))(x)


@pytest.mark.parametrize("shape", [(2, 84, 84, 16), (2, 42, 42, 32), (2, 21, 21, 32), (1, 7, 6, 2), (1, 1, 1, 1)])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_max_pool_matches_flax_values_and_gradients(shape, ties):
    x = jax.random.normal(jax.random.key(0), shape)
    if ties:  # flat image regions give equal conv outputs side by side
        x = jnp.round(x)
    y, grad = value_and_input_grad(xla.max_pool_3x3_s2, x)
    y_ref, grad_ref = value_and_input_grad(reference_pool, x)
    assert y.shape == y_ref.shape == (shape[0], -(-shape[1] // 2), -(-shape[2] // 2), shape[3])
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(grad, grad_ref)


def test_max_pool_tie_sends_whole_gradient_to_first_maximum():
    x = jnp.zeros((1, 4, 4, 1))
    grad = jax.grad(lambda x: xla.max_pool_3x3_s2(x)[0, 0, 0, 0])(x)
    # SAME padding for 4 -> 2 pads only the high side, so window (0, 0) covers rows/cols 0..2.
    expected = np.zeros((1, 4, 4, 1), np.float32)
    expected[0, 0, 0, 0] = 1.0
    np.testing.assert_array_equal(grad, expected)


def test_max_pool_propagates_nan():
    # 6 -> 3 with SAME pads one row/col at the high end: output i covers inputs 2i..2i+2,
    # so input 4 lies under outputs 1 and 2.
    x = jnp.zeros((1, 6, 6, 1)).at[0, 4, 4, 0].set(jnp.nan)
    y = np.asarray(xla.max_pool_3x3_s2(x))[0, :, :, 0]
    expected_nan = np.zeros((3, 3), bool)
    expected_nan[1:, 1:] = True
    np.testing.assert_array_equal(np.isnan(y), expected_nan)
    np.testing.assert_array_equal(np.isnan(reference_pool(x))[0, :, :, 0], expected_nan)


def gradient_program(pool):
    return jax.jit(jax.grad(lambda x: pool(x).sum())).lower(jnp.ones((2, 84, 84, 16))).as_text()


def test_max_pool_gradient_has_no_scatter():
    assert "scatter" not in gradient_program(xla.max_pool_3x3_s2)
    assert "select_and_scatter" in gradient_program(reference_pool)  # the check can see one


def test_max_pool_bfloat16_matches_flax():
    x = jax.random.normal(jax.random.key(2), (2, 21, 21, 8)).astype(jnp.bfloat16)
    y, grad = value_and_input_grad(xla.max_pool_3x3_s2, x)
    y_ref, grad_ref = value_and_input_grad(reference_pool, x)
    assert y.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(y, np.float32), np.asarray(y_ref, np.float32))
    np.testing.assert_array_equal(np.asarray(grad, np.float32), np.asarray(grad_ref, np.float32))


@pytest.mark.parametrize("shape,features", [((2, 84, 84, 3), 16), ((2, 21, 21, 32), 32), ((1, 5, 3, 2), 4)])
def test_conv2d_matches_flax_conv_values_and_gradients(shape, features):
    x = jax.random.normal(jax.random.key(0), shape)
    conv = nn.Conv(features, (3, 3), padding="SAME")
    params = conv.init(jax.random.key(1), x)["params"]
    params = {**params, "bias": jax.random.normal(jax.random.key(3), params["bias"].shape)}
    w = jax.random.normal(jax.random.key(4), (*shape[:3], features))

    def ours(x, p):
        return jnp.sum(xla.conv2d(x, p["kernel"], p["bias"]) * w)

    def reference(x, p):
        return jnp.sum(conv.apply({"params": p}, x) * w)

    np.testing.assert_allclose(
        xla.conv2d(x, params["kernel"], params["bias"]), conv.apply({"params": params}, x), rtol=1e-5, atol=1e-5
    )
    ours_grads = jax.grad(ours, argnums=(0, 1))(x, params)
    reference_grads = jax.grad(reference, argnums=(0, 1))(x, params)
    for a, b in zip(jax.tree_util.tree_leaves(ours_grads), jax.tree_util.tree_leaves(reference_grads)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_conv2d_is_cross_correlation_with_zero_padding():
    # A kernel with a single 1 at (row 0, col 0) reads the pixel up-left of each output.
    x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    kernel = jnp.zeros((3, 3, 1, 1)).at[0, 0, 0, 0].set(1.0)
    y = np.asarray(xla.conv2d(x, kernel, jnp.array([0.5])))[0, :, :, 0]
    expected = np.zeros((4, 4))
    expected[1:, 1:] = np.arange(16.0).reshape(4, 4)[:-1, :-1]
    np.testing.assert_array_equal(y, expected + 0.5)


def test_conv2d_relu_is_relu_of_the_convolution_with_its_gradient():
    x = jax.random.normal(jax.random.key(0), (2, 6, 5, 3))
    kernel = jax.random.normal(jax.random.key(1), (3, 3, 3, 4))
    bias = jax.random.normal(jax.random.key(2), (4,))
    fused = xla.conv2d(x, kernel, bias, relu=True)
    np.testing.assert_array_equal(fused, jax.nn.relu(xla.conv2d(x, kernel, bias)))
    assert 0 < int(jnp.sum(fused == 0)) < fused.size  # both sides of the ReLU are exercised
    g = jax.random.normal(jax.random.key(3), fused.shape)
    grads = jax.grad(lambda *a: jnp.sum(xla.conv2d(*a, relu=True) * g), argnums=(0, 1, 2))(x, kernel, bias)
    reference = jax.grad(lambda *a: jnp.sum(jax.nn.relu(xla.conv2d(*a)) * g), argnums=(0, 1, 2))(x, kernel, bias)
    for a, b in zip(grads, reference):
        np.testing.assert_array_equal(a, b)
