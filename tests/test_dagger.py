"""Tests for pokeil_jax/dagger.py: rounds come from each episode's metadata, not its file number.

The learner's play is replaced by one-step episodes of blank frames, so a round of more than
1,000 episodes costs seconds: the file layout and the round bookkeeping are what is tested."""

import types

import numpy as np
import pytest

from pokeil_jax import dagger, data

FRAME = np.zeros((160, 240, 3), np.uint8)
FAKE_ENV = types.SimpleNamespace(adapter=types.SimpleNamespace(name="fake"), game_code="FAKE", frames_per_step=24,
                                 hold_frames=8, milestone_names=("DONE",))


def one_step_episode(env, expert, game_seed, choose):
    """What rollout.record_episode returns, for one step that ends the episode."""
    return {
        "observations": FRAME[None], "actions": np.array([game_seed % 10], np.int32),
        "executed_actions": np.array([game_seed % 10], np.int32), "rewards": np.zeros(1, np.float32),
        "dones": np.ones(1, bool), "infos": np.asarray(['{"milestones": {"DONE": true}}'], dtype=np.str_),
        "final_observation": FRAME, "episode_return": np.float32(0), "episode_length": np.int64(1),
        "terminated": True, "truncated": False, "stopped": False, "last_info": {},
    }


def collect(monkeypatch, out_dir, round_index, episodes):
    monkeypatch.setattr(dagger, "record_episode", one_step_episode)
    return dagger.collect_round(FAKE_ENV, None, "fake", None, round_index, episodes, 0.5, out_dir, "0" * 40, seed=0)


def test_a_round_of_more_than_1000_episodes_stays_in_its_round(tmp_path, monkeypatch):
    out = tmp_path / "dagger" / "run"
    first = collect(monkeypatch, out, 0, 1001)
    second = collect(monkeypatch, out, 1, 2)
    assert [p.name for p in first[-2:]] == ["episode_1000.npz", "episode_1001.npz"]
    assert [p.name for p in second] == ["episode_1002.npz", "episode_1003.npz"]
    assert dagger.episodes_of_rounds(out, 1) == first  # episode 1001 is round 0's, not round 1's
    assert dagger.episodes_of_rounds(out, 2) == first + second
    assert dagger.episodes_of_rounds(out, 0) == []
    assert {data.read_metadata(p)["dagger_round"] for p in second} == {1}


def test_a_resumed_round_replaces_what_a_killed_run_left(tmp_path, monkeypatch):
    out = tmp_path / "run"
    kept = collect(monkeypatch, out, 0, 3)
    collect(monkeypatch, out, 1, 2)  # a run killed after round 1 ...
    again = collect(monkeypatch, out, 1, 2)  # ... resumed from the end of round 0 plays round 1 again
    assert [p.name for p in again] == ["episode_0004.npz", "episode_0005.npz"]
    assert data.episode_paths(out) == kept + again


def test_config_checks_its_values():
    with pytest.raises(ValueError, match="beta in \\[0, 1\\]"):
        dagger.DaggerConfig(rounds=1, episodes=1, beta=2.0, expert="scripted", max_steps=10,
                            total_training_steps=10, expert_data_dir="x")
