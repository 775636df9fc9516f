"""Weights & Biases tracking for a training run, as cleanrl's `--track`: the run's tensorboard
scalars mirrored to W&B, the resolved args as its config, evaluation GIFs as videos.

wandb is optional (`pip install -r requirements-extras.txt`) and imported only here, only when a
run asks for tracking. `WANDB_MODE=offline` keeps everything in a local run folder
(`wandb/offline-run-*`), to upload later with `wandb sync`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

EXTRAS_HINT = "pip install -r requirements-extras.txt (or: pip install wandb==0.31.0 tensorboard==2.21.0)"


class TrackingUnavailableError(RuntimeError):
    """--track was asked for but wandb (or the tensorboard package its sync needs) is missing."""


class WandbTracker:
    """One W&B run mirroring the tensorboard log folder `log_dir`.

    Start it before the tensorboardX `SummaryWriter` is created: wandb hooks the writer class,
    so every `add_scalar` the script makes reaches W&B as well as the events file.
    """

    def __init__(self, log_dir: str | os.PathLike, run_name: str, config: Mapping[str, Any], *,
                 project: str, entity: str | None = None):
        try:
            import wandb
        except ImportError:
            raise TrackingUnavailableError(f"--track needs the wandb package, which is not installed. Fix: {EXTRAS_HINT}") from None
        try:
            import tensorboard  # noqa: F401  (wandb's tensorboard sync refuses to start without it)
        except ImportError:
            raise TrackingUnavailableError(
                f"--track mirrors the tensorboard logs and needs the tensorboard package. Fix: {EXTRAS_HINT}"
            ) from None
        self._wandb = wandb
        # What sync_tensorboard=True does, with the log root given: left to guess it, wandb waits
        # 10 s for the first events file and may pick a parent folder.
        wandb.tensorboard.patch(root_logdir=str(log_dir))
        try:
            self.run = wandb.init(project=project, entity=entity, name=run_name, config=dict(config),
                                  save_code=False)
        except wandb.errors.Error as error:
            wandb.tensorboard.unpatch()
            raise TrackingUnavailableError(
                f"--track: wandb could not start the run ({error}). Fix: `wandb login`, or set WANDB_MODE=offline "
                f"to keep the run in a local folder and `wandb sync` it later."
            ) from None
        except BaseException:
            wandb.tensorboard.unpatch()
            raise

    def log_video(self, key: str, gif_path: str | os.PathLike, step: int) -> None:
        """Attach a GIF already on disk (no moviepy needed) under `key`, tagged with the train step."""
        self.run.log({key: self._wandb.Video(str(gif_path), format="gif"), "global_step": step})

    @property
    def run_dir(self) -> Path:
        """The local run folder (`wandb/run-*` or, offline, `wandb/offline-run-*`)."""
        return Path(self.run.dir).parent

    def close(self) -> None:
        self.run.finish()
        self._wandb.tensorboard.unpatch()
