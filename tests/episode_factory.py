"""Small episodes in the real format for the data tests (imported by tests/test_data_*.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pokeil_jax import data

MILESTONES = ["got_starter", "won_battle", "reached_town"]


def make_episode(length: int = 12, seed: int = 0, actions=None, terminated: bool = True,
                 reached=(True, False, True)) -> dict:
    """A small episode in the real format; frames are blocky random images (compress fast,
    and the area resize has fractional footprints to get right)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (length + 1, 20, 30, 3), dtype=np.uint8)
    frames = blocks.repeat(8, axis=1).repeat(8, axis=2)
    frames[:, ::7, ::5] = rng.integers(0, 256, frames[:, ::7, ::5].shape, dtype=np.uint8)
    if actions is None:
        actions = rng.integers(0, 10, length)
    actions = np.asarray(actions, np.int32)
    rewards = rng.random(length).astype(np.float32)
    dones = np.zeros(length, bool)
    dones[-1] = True
    infos = [json.dumps({"step": t + 1, "seed": seed}) for t in range(length)]
    infos[-1] = json.dumps({"step": length, "milestones": dict(zip(MILESTONES, reached))})
    metadata = {
        "format_version": data.EPISODE_FORMAT_VERSION, "game": "minimon", "rom_sha1": "0" * 40,
        "frames_per_step": 24, "expert": "scripted", "seed": seed, "epsilon": 0.1,
        "milestone_names": MILESTONES, "terminated": terminated, "truncated": not terminated,
    }
    return {
        "observations": frames[:length],
        "actions": actions,
        "executed_actions": (actions + (np.arange(length) % 4 == 0)) % 10,
        "rewards": rewards,
        "dones": dones,
        "infos": np.asarray(infos, dtype=np.str_),
        "episode_return": np.float32(rewards.sum()),
        "episode_length": np.int64(length),
        "final_observation": frames[length],
        "metadata": np.asarray(json.dumps(metadata), dtype=np.str_),
    }


def write_folder(directory: Path, lengths=(12, 20, 15)) -> list[Path]:
    return [data.write_episode(directory / f"episode_{i + 1:04d}.npz", make_episode(n, seed=i))
            for i, n in enumerate(lengths)]


def save_raw(path: Path, arrays: dict) -> Path:
    """Write an NPZ without the format checks (to make bad files)."""
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


def episode_with(**changes):
    """A maker of make_episode(12) with keys replaced (a value, or a function of the episode) or dropped (None)."""
    def make():
        episode = make_episode(12)
        for key, value in changes.items():
            if value is None:
                episode.pop(key)
            else:
                episode[key] = value(episode) if callable(value) else value
        return episode
    return make


def metadata_with(**changes):
    """A function of an episode: its metadata with `changes` applied."""
    def change(episode):
        metadata = json.loads(str(episode["metadata"]))
        metadata.update(changes)
        return np.asarray(json.dumps(metadata), dtype=np.str_)
    return change
