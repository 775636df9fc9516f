"""Record one labelled episode in the env: the collector's and DAgger's shared loop.

The expert labels every state it sees (`actions`); what is pressed (`executed_actions`) may be
the label, a random button (ε-noise) or the learner's choice (DAgger) — decided by `choose`.
"""

from __future__ import annotations

import json
import time
from typing import Callable

import numpy as np

from pokeil_jax.actions import NUM_ACTIONS
from pokeil_jax.experts import StopCollection

#: choose(obs, info, label) -> the button actually pressed
Chooser = Callable[[np.ndarray, dict, int], int]


def epsilon_chooser(epsilon: float, rng: np.random.Generator, num_actions: int = NUM_ACTIONS) -> Chooser:
    """Press a uniformly random button with probability `epsilon`, else the label."""

    def choose(obs, info, label):
        return int(rng.integers(num_actions)) if rng.random() < epsilon else label

    return choose


def record_episode(env, expert, seed: int, choose: Chooser | None = None, progress=None,
                   reset_options: dict | None = None) -> dict | None:
    """Play one episode of game seed `seed` (started with `env.reset(seed=seed, options=reset_options)`,
    e.g. `{"start_milestone": k}`); the arrays of the episode format plus `terminated`,
    `truncated`, `stopped` (the human pressed Esc) and `last_info`.
    None when the episode was stopped before its first step."""
    obs, info = env.reset(seed=seed, options=reset_options)
    expert.reset()
    observations, labels, executed, rewards, dones, infos = [], [], [], [], [], []
    terminated = truncated = stopped = False
    while not (terminated or truncated):
        try:
            label = int(expert.get_action(obs, info))
        except StopCollection:
            stopped = truncated = True
            break
        pressed = label if choose is None else int(choose(obs, info, label))
        next_obs, reward, terminated, truncated, info = env.step(pressed)
        observations.append(obs)
        labels.append(label)
        executed.append(pressed)
        rewards.append(reward)
        dones.append(terminated or truncated)
        infos.append(info_json(info))
        obs = next_obs
        if progress is not None:
            progress(1, info)
    if not observations:
        return None
    return episode_arrays(observations, labels, executed, rewards, dones, infos, obs, terminated, truncated, stopped,
                          info)


def info_json(info: dict) -> str:
    """One step's info as the episode format stores it."""
    return json.dumps(info, separators=(",", ":"))


def episode_arrays(observations, labels, executed, rewards, dones, infos, final_observation, terminated: bool,
                   truncated: bool, stopped: bool, last_info: dict) -> dict:
    """A recorded episode's per-step lists as the arrays of the episode format, plus `terminated`,
    `truncated`, `stopped` and `last_info` (what record_episode returns)."""
    dones = list(dones)
    dones[-1] = True  # also when the human stopped mid-episode
    return {
        "observations": np.stack(observations),
        "actions": np.asarray(labels, np.int32),
        "executed_actions": np.asarray(executed, np.int32),
        "rewards": np.asarray(rewards, np.float32),
        "dones": np.asarray(dones, bool),
        "infos": np.asarray(infos, dtype=np.str_),
        "final_observation": final_observation,
        "episode_return": np.float32(np.sum(rewards)),
        "episode_length": np.int64(len(labels)),
        "terminated": bool(terminated),
        "truncated": bool(truncated),
        "stopped": stopped,
        "last_info": last_info,
    }


def episode_metadata(env, rom_sha1: str, expert: str, seed: int, epsilon: float, episode: dict, **extra) -> dict:
    """The `metadata` JSON object of the episode format for a recorded episode."""
    from pokeil_jax.data import EPISODE_FORMAT_VERSION

    return {
        "format_version": EPISODE_FORMAT_VERSION,
        "game": env.adapter.name,
        "game_code": env.game_code,
        "rom_sha1": rom_sha1,
        "frames_per_step": env.frames_per_step,
        "hold_frames": env.hold_frames,
        "expert": expert,
        "seed": seed,
        "epsilon": epsilon,
        "milestone_names": list(env.milestone_names),
        "terminated": episode["terminated"],
        "truncated": episode["truncated"],
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        **extra,
    }


def to_episode_file(episode: dict, metadata: dict) -> dict:
    """The dict `data.write_episode` takes: the arrays plus metadata, without bookkeeping keys."""
    arrays = {k: v for k, v in episode.items() if k not in ("terminated", "truncated", "stopped", "last_info")}
    arrays["metadata"] = np.asarray(json.dumps(metadata), dtype=np.str_)
    return arrays
