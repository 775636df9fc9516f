"""The one preprocessing function shared by training, evaluation and the cache."""

import numpy as np
import pytest

from pokeil_jax.preprocessing import area_weights, preprocess_frames, preprocess_frames_dense


def test_area_weights_are_convex_dyadic_rows():
    for n_in, n_out in [(160, 84), (240, 84)]:
        w = area_weights(n_in, n_out)
        assert w.shape == (n_out, n_in)
        np.testing.assert_array_equal(w.sum(axis=1), np.ones(n_out))
        assert (w >= 0).all()
        np.testing.assert_array_equal(w * 2**16, np.round(w * 2**16))


def test_fast_path_equals_dense_reference_and_is_batch_invariant():
    frames = np.random.default_rng(0).integers(0, 256, (9, 160, 240, 3), dtype=np.uint8)
    out = preprocess_frames(frames)
    assert out.shape == (9, 84, 84, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, preprocess_frames_dense(frames))
    for i in (0, 4, 8):
        np.testing.assert_array_equal(preprocess_frames(frames[i]), out[i])


def test_area_averaging_values():
    flat = np.full((160, 240, 3), 77, np.uint8)
    np.testing.assert_array_equal(preprocess_frames(flat), np.full((84, 84, 3), 77, np.uint8))
    half = np.zeros((160, 240, 3), np.uint8)
    half[:, 121:] = 255  # output column 42 covers input columns [120, 122.86): 1.86 of 2.86 white
    out = preprocess_frames(half)
    assert out[:, :42].max() == 0 and out[:, 43:].min() == 255
    assert out[0, 42, 0] == round(255 * (122 + 6 / 7 - 121) / (240 / 84))


def test_rejects_wrong_input():
    with pytest.raises(ValueError, match="uint8 frames of shape"):
        preprocess_frames(np.zeros((160, 240, 3), np.float32))
    with pytest.raises(ValueError, match="got uint8 \\(84, 84, 3\\)"):
        preprocess_frames(np.zeros((84, 84, 3), np.uint8))
