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


@functools.lru_cache(maxsize=None)
def _taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """The nonzero entries of `area_weights` as (n_out, k) input indices and weights."""
    weights = area_weights(n_in, n_out)
    k = int((weights > 0).sum(axis=1).max())
    index = np.zeros((n_out, k), np.intp)
    taps = np.zeros((n_out, k), np.float64)
    for i, row in enumerate(weights):
        nz = np.flatnonzero(row)
        index[i, : len(nz)] = nz
        taps[i, : len(nz)] = row[nz]
    return index, taps


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
    x = frames.reshape(-1, *FRAME_SHAPE)
    out = np.empty((len(x), *NETWORK_INPUT_SHAPE), np.uint8)
    for start in range(0, len(x), _CHUNK):  # small chunks keep the float64 temporaries in cache
        out[start : start + _CHUNK] = _resize(x[start : start + _CHUNK])
    return out.reshape(*lead, *NETWORK_INPUT_SHAPE)


_CHUNK = 4


def _resize(x: np.ndarray) -> np.ndarray:
    # Each output pixel covers at most 3 input rows and 4 input columns: summing those few
    # taps is ~20x less work than the dense matrix products, and as exact.
    out_h, out_w, _ = NETWORK_INPUT_SHAPE
    row_index, row_taps = _taps(FRAME_SHAPE[0], out_h)
    col_index, col_taps = _taps(FRAME_SHAPE[1], out_w)
    rows = sum(x[:, row_index[:, k]] * row_taps[:, k, None, None] for k in range(row_index.shape[1]))
    cols = sum(rows[:, :, col_index[:, k]] * col_taps[:, k, None] for k in range(col_index.shape[1]))
    return np.rint(cols).astype(np.uint8)  # values stay within [0, 255]: rows are convex


def preprocess_frames_dense(frames: np.ndarray) -> np.ndarray:
    """Reference implementation of `preprocess_frames` with dense matrix products (for tests)."""
    frames = np.asarray(frames)
    lead = frames.shape[:-3]
    in_h, in_w, channels = FRAME_SHAPE
    out_h, out_w, _ = NETWORK_INPUT_SHAPE
    x = frames.reshape(-1, in_h, in_w * channels).astype(np.float64)
    x = np.matmul(area_weights(in_h, out_h), x)  # (N, 84, 240*3)
    x = x.reshape(-1, out_h, in_w, channels).transpose(0, 1, 3, 2)  # (N, 84, 3, 240)
    x = np.matmul(x, area_weights(in_w, out_w).T).transpose(0, 1, 3, 2)  # (N, 84, 84, 3)
    return np.rint(x).astype(np.uint8).reshape(*lead, out_h, out_w, channels)
