"""Random-shift augmentation: each frame moves by its own offset within the pad, edges repeated."""

import jax
import jax.numpy as jnp
import numpy as np

from pokeil_jax.augment import random_shift


def frames(batch=6, seed=0):
    return jnp.asarray(np.random.default_rng(seed).integers(0, 256, (batch, 84, 84, 3)), jnp.uint8)


def find_offset(shifted, original, pad):
    """The (dy, dx) with shifted[y, x] == original[y + dy, x + dx] on the frame's interior."""
    shifted, original = np.asarray(shifted), np.asarray(original)
    inner = shifted[pad:-pad, pad:-pad]
    found = [(dy, dx) for dy in range(-pad, pad + 1) for dx in range(-pad, pad + 1)
             if np.array_equal(inner, original[pad + dy:84 - pad + dy, pad + dx:84 - pad + dx])]
    assert len(found) == 1, found
    return found[0]


def test_each_frame_is_a_whole_shift_within_the_pad_with_edges_repeated():
    x = frames()
    y = random_shift(jax.random.key(3), x, 4)
    assert y.shape == x.shape and y.dtype == jnp.uint8
    offsets = [find_offset(y[i], x[i], 4) for i in range(len(x))]
    assert len(set(offsets)) > 1  # one offset per frame, not one per batch
    for i, (dy, dx) in enumerate(offsets):
        # the row or column the shift exposes repeats the frame's border
        if dy > 0:
            np.testing.assert_array_equal(np.asarray(y[i])[-1, 4:-4], np.asarray(x[i])[-1, 4 + dx:80 + dx])
        if dy < 0:
            np.testing.assert_array_equal(np.asarray(y[i])[0, 4:-4], np.asarray(x[i])[0, 4 + dx:80 + dx])


def test_seeded_and_zero_pad_is_the_identity():
    x = frames()
    np.testing.assert_array_equal(random_shift(jax.random.key(1), x, 2), random_shift(jax.random.key(1), x, 2))
    assert not np.array_equal(random_shift(jax.random.key(1), x, 2), random_shift(jax.random.key(2), x, 2))
    np.testing.assert_array_equal(random_shift(jax.random.key(1), x, 0), x)
