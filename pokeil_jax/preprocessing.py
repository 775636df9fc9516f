"""The one observation preprocessing shared by training, evaluation and the data cache.

Frames go from the env's uint8 (..., 160, 240, 3) to the network's uint8 (..., 84, 84, 3)
by area averaging (each output pixel is the mean of the input pixels its footprint covers).
The result stays uint8 so the cache is small and the host sends bytes to the device; the
network scales to [0, 1] itself.

Why the weights are dyadic: the same frame must give the same bytes whether it is resized
alone (evaluation, batch of envs) or inside a large batch (the cache), on any BLAS. With
weights that are multiples of 2**-16, every product and partial sum is exact in float64,
so the matrix products do not depend on summation order, and rounding is reproducible.
"""

from __future__ import annotations

import functools

import numpy as np

FRAME_SHAPE = (160, 240, 3)
NETWORK_INPUT_SHAPE = (84, 84, 3)
#: Bump when the function's output changes; the data cache is keyed by it.
PREPROCESS_VERSION = 1

_WEIGHT_BITS = 16


@functools.lru_cache(maxsize=None)
def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) float64 matrix: row i averages the inputs under output pixel i.

    Rows sum to exactly 1 and every entry is a multiple of 2**-16.
    """
    scale = n_in / n_out
    weights = np.zeros((n_out, n_in), np.float64)
    for i in range(n_out):
        start, stop = i * scale, (i + 1) * scale
        for j in range(int(np.floor(start)), int(np.ceil(stop))):
            weights[i, j] = min(stop, j + 1) - max(start, j)
    weights /= scale
    unit = 2**_WEIGHT_BITS
    quantized = np.floor(weights * unit).astype(np.int64)
    # Hand the rounding remainder to each row's largest weight so rows sum to exactly 1.
    quantized[np.arange(n_out), quantized.argmax(axis=1)] += unit - quantized.sum(axis=1)
    return quantized.astype(np.float64) / unit


def preprocess_frames(frames: np.ndarray) -> np.ndarray:
    """uint8 (..., 160, 240, 3) -> uint8 (..., 84, 84, 3), area-averaged and rounded.

    Deterministic: a frame gives the same bytes alone or in any batch.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.shape[-3:] != FRAME_SHAPE:
        raise ValueError(
            f"preprocess_frames expects uint8 frames of shape (..., 160, 240, 3), "
            f"got {frames.dtype} {frames.shape}"
        )
    lead = frames.shape[:-3]
    in_h, in_w, channels = FRAME_SHAPE
    out_h, out_w, _ = NETWORK_INPUT_SHAPE
    rows = area_weights(in_h, out_h)  # (84, 160)
    cols = area_weights(in_w, out_w)  # (84, 240)
    x = frames.reshape(-1, in_h, in_w * channels).astype(np.float64)
    x = np.matmul(rows, x)  # (N, 84, 240*3)
    x = x.reshape(-1, out_h, in_w, channels).transpose(0, 1, 3, 2)  # (N, 84, 3, 240)
    x = np.matmul(x, cols.T)  # (N, 84, 3, 84)
    x = x.transpose(0, 1, 3, 2)
    out = np.rint(x).astype(np.uint8)  # values stay within [0, 255]: rows are convex
    return out.reshape(*lead, out_h, out_w, channels)
