"""Shared fixtures: small synthetic demonstration folders in the real episode format."""

import json
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import numpy as np
import pytest


def write_synthetic_episodes(folder, num_episodes=4, length=40, seed=0, rewarded=False):
    """Episodes whose action is drawn on the frame (a bright stripe in column block `action`),
    so a policy can learn it from pixels; seeds 0..num_episodes-1. With `rewarded`, action 3
    earns reward 1 and odd-numbered episodes end terminated (the others truncated); else every
    reward is 0 and every episode truncated."""
    from pokeil_jax import data

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for ep in range(num_episodes):
        actions = rng.integers(0, 10, length).astype(np.int32)
        obs = np.zeros((length, 160, 240, 3), np.uint8)
        for t, a in enumerate(actions):
            obs[t, :, a * 24 : (a + 1) * 24] = 255
        infos = np.asarray([json.dumps({"milestones": {"DONE": False}})] * length, dtype=np.str_)
        terminated = rewarded and ep % 2 == 1
        rewards = (actions == 3).astype(np.float32) if rewarded else np.zeros(length, np.float32)
        meta = dict(format_version=1, game="synthetic", rom_sha1="0", frames_per_step=24, expert="synthetic",
                    seed=ep, epsilon=0.0, milestone_names=["DONE"], terminated=terminated, truncated=not terminated)
        dones = np.zeros(length, bool)
        dones[-1] = True
        data.write_episode(folder / f"episode_{ep + 1:04d}.npz", dict(
            observations=obs, actions=actions, executed_actions=actions, rewards=rewards,
            dones=dones, infos=infos, final_observation=obs[-1], episode_return=np.float32(rewards.sum()),
            episode_length=np.int64(length), metadata=meta))
    return folder


@pytest.fixture
def synthetic_demos(tmp_path):
    return write_synthetic_episodes(tmp_path / "expert_data")


@pytest.fixture
def rewarded_demos(tmp_path):
    """Like synthetic_demos, with rewards and terminated episodes (for DQN-BC)."""
    return write_synthetic_episodes(tmp_path / "rewarded_data", rewarded=True)


def play_episode(env, seed, actions):
    """Reset `env` with `seed`, press `actions`; (frames, infos), the reset's included."""
    obs, info = env.reset(seed=seed)
    frames, infos = [obs], [info]
    for a in actions:
        obs, _, _, _, info = env.step(a)
        frames.append(obs)
        infos.append(info)
    return frames, infos


@pytest.fixture
def play():
    """`play(env, seed, actions) -> (frames, infos)`: one seeded episode of fixed actions."""
    return play_episode


def pytest_configure(config):
    # Many tests compile the same train step: a session-wide persistent compilation cache lets
    # later tests (and subprocesses they start) reuse the first compilation.
    import tempfile

    if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        # A cache made here is this session's: pytest_unconfigure removes it.
        config._pokeil_cache_dir = tempfile.mkdtemp(prefix="pokeil_jax_cache_")
        os.environ["JAX_COMPILATION_CACHE_DIR"] = config._pokeil_cache_dir
    cache = os.environ["JAX_COMPILATION_CACHE_DIR"]
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    try:
        import jax

        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    except ImportError:
        pass


def pytest_unconfigure(config):
    made = getattr(config, "_pokeil_cache_dir", None)
    if made is not None:
        import shutil

        shutil.rmtree(made, ignore_errors=True)
