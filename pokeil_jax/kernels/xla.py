"""The ImpalaCNN's two layer primitives in XLA's own operations (NHWC), any backend and dtype.

`conv2d` is a 3x3 SAME convolution and `max_pool_3x3_s2` a 3x3 stride-2 SAME max-pool, with
the signatures every kernel set shares (`pokeil_jax.kernels.Kernels`);
`tests/test_kernels_xla.py` pins their values and gradients against Flax/XLA.

Why the pool is not `lax.reduce_window`: the gradient of reduce_window max lowers to XLA's
select-and-scatter, which is slow on CPU (~100 ms vs ~9 ms here for the 84x84x16 layer at batch
64, benchmarks/README.md) and non-deterministic on GPU. Here the forward pass is a running
selection over the 9 strided slices of the -inf padded input that also records which tap won,
and the gradient (a custom_vjp) routes each window's cotangent to that tap with selects, pads
and one interleave: no scatter.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

_CONV_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def conv2d(x: jax.Array, kernel: jax.Array, bias: jax.Array, input_grad: bool = True,
           relu: bool = False) -> jax.Array:
    """3x3 SAME convolution, stride 1: (B, H, W, I) x (3, 3, I, O) + (O,) -> (B, H, W, O), by
    `lax.conv_general_dilated`.

    Computes in the dtype of `x`; the caller casts the kernel and bias (the network does).
    `input_grad=False` says nobody needs the gradient with respect to `x` (the network's first
    layer): XLA drops it by itself. `relu=True` returns relu(conv + bias) (XLA fuses it with
    the bias add).
    """
    y = lax.conv_general_dilated(
        x, kernel, window_strides=(1, 1), padding="SAME", dimension_numbers=_CONV_DIMENSIONS
    )
    y = y + bias
    return jax.nn.relu(y) if relu else y


def _pool_low_padding(size: int) -> int:
    """Rows (or columns) of -inf that XLA's SAME rule puts BEFORE the data for window 3, stride 2:
    an even size pads only after the data, an odd size one on each side."""
    return size % 2


def _pool_with_taps(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(max, tap) of every 3x3 stride-2 SAME window of (B, H, W, C) `x`.

    `tap` (uint8, 0..8, row-major in the window) is the FIRST maximum, the input that XLA's
    select-and-scatter gives the gradient to, so a tie (common on the flat regions of game
    frames) sends the whole gradient to one input. A NaN wins its window and keeps its place
    (nothing compares greater than NaN), so the max is NaN like reduce_window's.
    """
    batch, height, width, channels = x.shape
    out_h, out_w = -(-height // 2), -(-width // 2)
    top, left = _pool_low_padding(height), _pool_low_padding(width)
    padded = lax.pad(x, jnp.array(-jnp.inf, x.dtype), (
        (0, 0, 0), (top, 2 * out_h + 1 - height - top, 0), (left, 2 * out_w + 1 - width - left, 0), (0, 0, 0)))
    best = taps = None
    for tap in range(9):
        dy, dx = divmod(tap, 3)
        value = lax.slice(padded, (0, dy, dx, 0), (batch, dy + 2 * out_h - 1, dx + 2 * out_w - 1, channels),
                          (1, 2, 2, 1))
        if best is None:
            best, taps = value, jnp.zeros(value.shape, jnp.uint8)
        else:
            take = (value > best) | (value != value)
            best = jnp.where(take, value, best)
            taps = jnp.where(take, jnp.uint8(tap), taps)
    return best, taps


@jax.custom_vjp
def max_pool_3x3_s2(x: jax.Array) -> jax.Array:
    """3x3 max-pool, stride 2, SAME padding: (B, H, W, C) -> (B, ceil(H/2), ceil(W/2), C).

    Same values as `flax.linen.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")`, and the
    same gradient as its select-and-scatter: each window sends its whole cotangent to ONE
    input, the first maximum in row-major window order. A NaN in a window gives NaN.
    """
    return _pool_with_taps(x)[0]


def _pool_forward(x):
    best, taps = _pool_with_taps(x)
    return best, (taps, x.shape)


def _pool_backward(residuals, g):
    """The input gradient, built at output resolution per parity phase, without a scatter.

    In padded coordinates window m covers rows 2m, 2m+1, 2m+2: an even row 2m is tap-row 0 of
    window m and tap-row 2 of window m-1, an odd row 2m+1 only tap-row 1 of window m (columns
    alike). So each of the 4 (row, column) parity phases is a sum of at most 4 masked copies of
    `g`, shifted by one window; the phases interleave into the padded input and are cropped.
    Terms are added in row-major window order, as select-and-scatter accumulates them, so the
    sums are bit-identical to XLA's.
    """
    taps, (batch, height, width, channels) = residuals
    out_h, out_w = g.shape[1], g.shape[2]
    zero = jnp.zeros((), g.dtype)

    def routed(tap):
        return jnp.where(taps == tap, g, zero)

    def from_above(a):  # a[m-1], zero for m = 0
        return lax.pad(a, zero, ((0, 0, 0), (1, -1, 0), (0, 0, 0), (0, 0, 0)))

    def from_left(a):  # a[:, n-1], zero for n = 0
        return lax.pad(a, zero, ((0, 0, 0), (0, 0, 0), (1, -1, 0), (0, 0, 0)))

    even_even = from_above(from_left(routed(8))) + from_above(routed(6)) + from_left(routed(2)) + routed(0)
    even_odd = from_above(routed(7)) + routed(1)
    odd_even = from_left(routed(5)) + routed(3)
    odd_odd = routed(4)
    rows_even = jnp.stack([even_even, even_odd], axis=3)  # (B, oh, ow, 2, C): columns interleaved
    rows_odd = jnp.stack([odd_even, odd_odd], axis=3)
    full = jnp.stack([rows_even, rows_odd], axis=2).reshape(batch, 2 * out_h, 2 * out_w, channels)
    top, left = _pool_low_padding(height), _pool_low_padding(width)
    return (lax.slice(full, (0, top, left, 0), (batch, top + height, left + width, channels)),)


max_pool_3x3_s2.defvjp(_pool_forward, _pool_backward)
