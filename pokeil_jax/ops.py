"""The two layer primitives of the ImpalaCNN, as small pure functions (NHWC).

`conv2d` is a 3x3 SAME convolution and `max_pool_3x3_s2` a 3x3 stride-2 SAME max-pool. They
are kept apart from the network so they can be optimised (custom_vjp, other lowerings) behind
the same signatures; `tests/test_ops.py` pins their values and gradients against Flax/XLA.

Why the pool is not `lax.reduce_window`: the gradient of reduce_window max lowers to XLA's
select-and-scatter, which is slow on CPU (MEASURED.md: ~218 ms vs ~25 ms for this layer) and
non-deterministic on GPU. Here the pool is a running selection over the 9 strided slices of the
-inf padded input, so its gradient is only selects, pads and slices (no scatter).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

_CONV_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def conv2d(x: jax.Array, kernel: jax.Array, bias: jax.Array) -> jax.Array:
    """3x3 SAME convolution, stride 1: (B, H, W, I) x (3, 3, I, O) + (O,) -> (B, H, W, O).

    Computes in the dtype of `x`; the caller casts the kernel and bias (the network does).
    """
    y = lax.conv_general_dilated(
        x, kernel, window_strides=(1, 1), padding="SAME", dimension_numbers=_CONV_DIMENSIONS
    )
    return y + bias


def _same_padding(size: int, window: int, stride: int) -> tuple[int, int]:
    """(low, high) padding of XLA's SAME rule: output ceil(size / stride), extra on the high side."""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def max_pool_3x3_s2(x: jax.Array) -> jax.Array:
    """3x3 max-pool, stride 2, SAME padding: (B, H, W, C) -> (B, ceil(H/2), ceil(W/2), C).

    Same values as `flax.linen.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")`, and the
    same gradient: each window sends its whole cotangent to ONE input, the first maximum in
    row-major window order (as XLA's select-and-scatter does on CPU), so ties, common on the
    flat regions of game frames, do not split the gradient. A NaN in a window gives NaN.
    """
    batch, height, width, channels = x.shape
    (top, bottom), (left, right) = _same_padding(height, 3, 2), _same_padding(width, 3, 2)
    neg_inf = jnp.array(-jnp.inf, x.dtype)
    padded = lax.pad(x, neg_inf, ((0, 0, 0), (top, bottom, 0), (left, right, 0), (0, 0, 0)))
    out_h, out_w = -(-height // 2), -(-width // 2)
    best = None
    for dy in range(3):
        for dx in range(3):
            window_element = lax.slice(
                padded,
                (0, dy, dx, 0),
                (batch, dy + 2 * (out_h - 1) + 1, dx + 2 * (out_w - 1) + 1, channels),
                (1, 2, 2, 1),
            )
            if best is None:
                best = window_element
            else:
                # Strictly greater: an earlier maximum keeps the gradient on ties. `x != x`
                # lets a NaN take over (and then keep its place, since nothing is > NaN).
                take = (window_element > best) | (window_element != window_element)
                best = jnp.where(take, window_element, best)
    return best
