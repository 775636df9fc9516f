"""GIF writing for episode videos and TensorBoard."""

import io

import numpy as np
import pytest
from PIL import Image

from pokeil_jax.video import gif_bytes, log_gif, save_video

FRAMES = [np.full((160, 240, 3), 40 * i, np.uint8) for i in range(5)]


def test_gif_has_every_frame_at_the_requested_pace(tmp_path):
    path = save_video(FRAMES, tmp_path / "sub" / "ep.gif", fps=10, scale=2)
    gif = Image.open(path)
    assert gif.n_frames == 5 and gif.size == (480, 320)
    assert gif.info["duration"] == 100
    gif.seek(3)
    assert abs(int(np.asarray(gif.convert("RGB"))[0, 0, 0]) - 120) <= 2
    assert not list((tmp_path / "sub").glob("*.tmp"))


def test_empty_video_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        save_video([], tmp_path / "x.gif")


def test_tensorboard_gets_an_animated_gif(tmp_path):
    from tensorboardX import SummaryWriter

    writer = SummaryWriter(str(tmp_path))
    log_gif(writer, "eval/episode", FRAMES, step=7)
    writer.close()
    event_bytes = next(tmp_path.glob("events.out.tfevents.*")).read_bytes()
    assert gif_bytes(FRAMES)[:200] in event_bytes and b"eval/episode" in event_bytes
    assert Image.open(io.BytesIO(gif_bytes(FRAMES))).n_frames == 5
