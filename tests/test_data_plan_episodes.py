"""Episodes written by the seed plan's own collector loop (tests/plan_collector.py) are valid
demonstrations: inspect accepts them, the cache and training read them (pokeil_jax/data/episodes.py,
cache.py, inspect.py)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from plan_collector import collect_like_the_plan
from pokeil_jax import data

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plan_folder(tmp_path_factory):
    return collect_like_the_plan(tmp_path_factory.mktemp("plan") / "expert_data", num_episodes=2, max_steps=6)


def run_data_cli(*argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pokeil_jax.data", *map(str, argv)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_plans_files_are_what_the_issue_says(plan_folder):
    assert [p.name for p in data.episode_paths(plan_folder)] == ["episode_0000.npz", "episode_0001.npz"]
    with np.load(plan_folder / "episode_0000.npz") as npz:
        assert sorted(npz.files) == sorted(["observations", "actions", "rewards", "dones", "episode_return",
                                            "episode_length"])
        assert npz["actions"].dtype == np.int64 and npz["rewards"].dtype == np.float64


def test_load_converts_dtypes_and_reports_what_is_absent(plan_folder):
    path = plan_folder / "episode_0000.npz"
    episode = data.load_episode(path)
    with np.load(path) as raw:
        np.testing.assert_array_equal(episode["actions"], raw["actions"])
        np.testing.assert_array_equal(episode["rewards"], raw["rewards"].astype(np.float32))
    assert episode["actions"].dtype == np.int32 and episode["rewards"].dtype == np.float32
    assert episode["observations"].shape == (6, 160, 240, 3)
    assert set(data.absent_keys(path)) == {"executed_actions", "infos", "final_observation", "metadata"}


def test_inspect_accepts_them_and_says_what_the_absent_keys_cost(plan_folder):
    out = run_data_cli("inspect", plan_folder, "--plot", plan_folder.parent / "hist.png")
    assert out.returncode == 0, out.stderr
    assert "2 valid episodes" in out.stdout
    for words in ("final_observation", "no successor", "metadata", "seeds", "infos", "milestone"):
        assert words in out.stdout, (words, out.stdout)


def test_cache_marks_the_last_transition_as_having_no_successor(plan_folder, tmp_path):
    demos = data.build_cache(data.episode_paths(plan_folder), tmp_path / "cache", progress=False)
    assert demos.num_transitions == 12
    ends = demos.transition_starts + demos.episode_lengths - 1
    expected = np.ones(12, bool)
    expected[ends] = False
    np.testing.assert_array_equal(demos.has_successor, expected)
    assert not demos.terminals.any()  # unknown whether the game ended: never claimed
    batch = demos.batch(np.arange(12), ("observations", "next_observations", "has_successor"))
    inner = np.flatnonzero(expected)
    np.testing.assert_array_equal(batch["next_observations"][inner], batch["observations"][inner + 1])


@pytest.mark.parametrize("bad, words", [
    (dict(actions=np.array([0, 12, 3, 4, 5, 6], np.int64)), "outside 0..9"),
    (dict(rewards=np.array([0, 1e300, 0, 0, 0, 0], np.float64)), "float32"),
    (dict(actions=np.array([0.0, 1, 2, 3, 4, 5])), "float64"),
])
def test_conversions_are_range_checked(plan_folder, tmp_path, bad, words):
    with np.load(plan_folder / "episode_0000.npz") as raw:
        arrays = {k: raw[k] for k in raw.files}
    arrays.update(bad)
    path = tmp_path / "episode_0000.npz"
    np.savez_compressed(path, **arrays)
    with pytest.raises(data.EpisodeFormatError, match=words):
        data.load_episode(path)


@pytest.mark.slow
def test_the_plans_folder_trains_without_the_optional_extras(plan_folder, tmp_path):
    code = ("import sys, runpy; sys.modules.update(wandb=None, minari=None, h5py=None); "
            "sys.argv = ['bc_pokemon_jax.py'] + sys.argv[1:]; runpy.run_path('bc_pokemon_jax.py', run_name='__main__')")
    argv = ["--expert-data-dir", plan_folder, "--checkpoint-dir", tmp_path / "ck", "--log-dir", tmp_path / "runs",
            "--total-training-steps", 2, "--batch-size", 4, "--log-frequency", 1, "--val-fraction", 0,
            "--eval-frequency", 0, "--final-eval-episodes", 0, "--kernels", "xla"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, *map(str, argv)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "demos: 2 train episodes (12 transitions)" in out.stdout
    assert list((tmp_path / "ck").glob("*/final/2"))
