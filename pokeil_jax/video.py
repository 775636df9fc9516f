"""Write episode frames as an animated GIF (Pillow only: no ffmpeg needed)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np


def save_video(frames: Sequence[np.ndarray], path: str | os.PathLike, fps: float = 10.0, scale: int = 1) -> Path:
    """Save uint8 (H, W, 3) frames as a looping GIF at `fps`, atomically; returns the path."""
    from PIL import Image

    if len(frames) == 0:
        raise ValueError(f"no frames to write to {path}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.asarray(f, np.uint8)) for f in frames]
    if scale != 1:
        images = [im.resize((im.width * scale, im.height * scale), Image.NEAREST) for im in images]
    # GIF frame durations are in 10 ms units; keep at least 20 ms so viewers do not clamp.
    duration = max(20, int(round(1000 / fps / 10)) * 10)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
