"""collect_expert_data.py: real episodes from the scripted planner, continuing folders, ε-noise labels."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import collect_expert_data as collector
from pokeil_jax import data

ROOT = Path(__file__).resolve().parent.parent


def test_collects_whole_episodes_in_the_format(tmp_path):
    out = tmp_path / "demos"
    summaries = collector.main(collector.Args(num_episodes=2, seed=10, expert_data_dir=str(out)))
    assert [s["seed"] for s in summaries] == [10, 11] and all(s["success"] for s in summaries)
    paths = data.episode_paths(out)
    assert [p.name for p in paths] == ["episode_0001.npz", "episode_0002.npz"]
    ep = data.load_episode(paths[0])
    T = int(ep["episode_length"])
    assert ep["observations"].shape == (T, 160, 240, 3) and ep["actions"].dtype == np.int32
    assert ep["rewards"].sum() == pytest.approx(float(ep["episode_return"])) == 6.0
    assert ep["dones"][-1] and not ep["dones"][:-1].any()
    assert ep["metadata"]["seed"] == 10 and ep["metadata"]["terminated"] is True
    assert ep["metadata"]["expert"] == "scripted" and len(ep["metadata"]["rom_sha1"]) == 40
    last = json.loads(str(ep["infos"][-1]))
    assert last["milestone_count"] == 6 and last["seed"] == 10
    np.testing.assert_array_equal(ep["actions"], ep["executed_actions"])  # no noise asked
    assert not np.array_equal(ep["final_observation"], ep["observations"][-1])


def test_rerun_continues_numbering_and_never_repeats_a_seed(tmp_path):
    out = tmp_path / "demos"
    collector.main(collector.Args(num_episodes=2, seed=0, expert_data_dir=str(out)))
    collector.main(collector.Args(num_episodes=2, seed=1, expert_data_dir=str(out)))
    names = [p.name for p in data.episode_paths(out)]
    seeds = [data.read_metadata(p)["seed"] for p in data.episode_paths(out)]
    assert names == [f"episode_{i:04d}.npz" for i in range(1, 5)]
    assert seeds == [0, 1, 2, 3]
    assert collector.main(collector.Args(num_episodes=3, top_up=True, expert_data_dir=str(out))) == []
    topped = collector.main(collector.Args(num_episodes=5, top_up=True, expert_data_dir=str(out)))
    assert [s["seed"] for s in topped] == [4]


def test_epsilon_noise_keeps_the_expert_label(tmp_path):
    out = tmp_path / "demos"
    collector.main(collector.Args(num_episodes=1, seed=5, epsilon=0.3, expert_data_dir=str(out), max_steps=400))
    ep = data.load_episode(data.episode_paths(out)[0])
    differs = ep["actions"] != ep["executed_actions"]
    assert 0.05 < differs.mean() < 0.5  # about ε·9/10 of the steps pressed something else
    assert set(np.unique(ep["actions"])) <= {0, 1, 4, 5, 6, 7}  # labels stay the planner's buttons


@pytest.mark.slow
def test_two_workers_and_the_cli(tmp_path):
    out = tmp_path / "demos"
    run = subprocess.run(
        [sys.executable, "collect_expert_data.py", "--num-episodes", "3", "--num-workers", "2",
         "--expert-data-dir", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Saved 3 episodes" in run.stdout and "completed the game in 3/3" in run.stdout
    assert sorted(data.read_metadata(p)["seed"] for p in data.episode_paths(out)) == [0, 1, 2]


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="epsilon"):
        collector.main(collector.Args(num_episodes=1, epsilon=1.5, expert_data_dir=str(tmp_path)))


def test_initial_state_starts_every_episode_there(tmp_path):
    from pokeil_jax.env import PokemonEnv

    env = PokemonEnv()
    env.reset(seed=3)
    for _ in range(3):
        env.step(7)
    start = env.write_state_file(tmp_path / "start.state")
    started_obs, started = env.reset(options={"state": str(start)})
    env.close()
    out = tmp_path / "demos"
    collector.main(collector.Args(num_episodes=2, expert="random", max_steps=3, initial_state=str(start),
                                  expert_data_dir=str(out)))
    for path in data.episode_paths(out):
        ep = data.load_episode(path)
        assert ep["metadata"]["initial_state"] == "start.state"
        np.testing.assert_array_equal(ep["observations"][0], started_obs)  # the state's screen, not the game's start
        first = json.loads(str(ep["infos"][0]))
        assert first["step"] == 1 and abs(first["x"] - started["x"]) + abs(first["y"] - started["y"]) <= 1
    bad = tmp_path / "bad.state"
    bad.write_bytes(b"nope")
    with pytest.raises(SystemExit, match="--initial-state: .*bad.state is not a GBA save state"):
        collector.main(collector.Args(num_episodes=1, initial_state=str(bad), expert_data_dir=str(out)))


def test_scripted_on_a_game_without_one_stops_before_collecting(tmp_path):
    from test_experts import header_only_rom

    emerald = header_only_rom(tmp_path / "emerald_header.gba", "BPEE")
    run = subprocess.run(
        [sys.executable, "collect_expert_data.py", "--rom-path", str(emerald), "--num-episodes", "1",
         "--expert-data-dir", str(tmp_path / "demos")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "Pokémon Emerald has no scripted expert" in run.stderr and "'human', 'random'" in run.stderr
    assert not (tmp_path / "demos").exists() or not any((tmp_path / "demos").iterdir())
