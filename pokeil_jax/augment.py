"""Image augmentation for training batches, on device inside the jitted train step.

`random_shift` is DrQ's augmentation (Kostrikov et al., 2020: pad the frame by a few pixels
and crop it back at a random offset). It teaches the network that a layout means the same a
few pixels to either side, so it leans less on where exactly things sit in the few dozen
demonstrated screens.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def random_shift(rng: jax.Array, observations: jax.Array, pad: int) -> jax.Array:
    """Each frame of `observations` (B, H, W, C) moved by its own random offset in
    [-pad, pad] on both axes, the border pixels repeated into the space it leaves. Same dtype
    and shape; pad 0 returns the frames unchanged."""
    if pad == 0:
        return observations
    batch, height, width, channels = observations.shape
    padded = jnp.pad(observations, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
    offsets = jax.random.randint(rng, (batch, 2), 0, 2 * pad + 1)

    def crop(frame, offset):
        return jax.lax.dynamic_slice(frame, (offset[0], offset[1], 0), (height, width, channels))

    return jax.vmap(crop)(padded, offsets)
