"""Write episode frames as an animated GIF (Pillow only: no ffmpeg needed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from pokeil_jax.atomic import atomic_write


def gif_bytes(frames: Sequence[np.ndarray], fps: float = 10.0, scale: int = 1) -> bytes:
    """uint8 (H, W, 3) frames as the bytes of a looping animated GIF at `fps`."""
    import io

    from PIL import Image

    if len(frames) == 0:
        raise ValueError("no frames to encode")
    images = [Image.fromarray(np.asarray(f, np.uint8)) for f in frames]
    if scale != 1:
        images = [im.resize((im.width * scale, im.height * scale), Image.NEAREST) for im in images]
    # GIF frame durations are in 10 ms units; keep at least 20 ms so viewers do not clamp.
    duration = max(20, int(round(1000 / fps / 10)) * 10)
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)
    return buffer.getvalue()


def save_video(frames: Sequence[np.ndarray], path: str | os.PathLike, fps: float = 10.0, scale: int = 1) -> Path:
    """Save uint8 (H, W, 3) frames as a looping GIF at `fps`, atomically; returns the path."""
    path = Path(path)
    if len(frames) == 0:
        raise ValueError(f"no frames to write to {path}")
    encoded = gif_bytes(frames, fps, scale)
    with atomic_write(path) as f:
        f.write(encoded)
    return path


def log_gif(writer, tag: str, frames: Sequence[np.ndarray], step: int, fps: float = 10.0) -> None:
    """Log frames to TensorBoard as an animated GIF image (shown in the Images tab).

    tensorboardX's add_video needs moviepy only to encode the GIF; Pillow does it here."""
    from tensorboardX.proto.summary_pb2 import Summary

    height, width = np.asarray(frames[0]).shape[:2]
    image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=gif_bytes(frames, fps))
    writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)
