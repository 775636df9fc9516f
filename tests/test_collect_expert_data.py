"""collect_expert_data.py: real episodes from the scripted planner, continuing folders, ε-noise labels."""

import json
import os
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
    # numbered by seed, not by which worker finished first: the same command, the same files
    assert [(p.name, data.read_metadata(p)["seed"]) for p in data.episode_paths(out)] == [
        ("episode_0001.npz", 0), ("episode_0002.npz", 1), ("episode_0003.npz", 2)]


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
    from pokeil_jax.cli import UsageError

    with pytest.raises(UsageError, match="--initial-state: .*bad.state is not a GBA save state"):
        collector.main(collector.Args(num_episodes=1, initial_state=str(bad), expert_data_dir=str(out)))


def test_start_milestone_records_from_the_split(tmp_path, monkeypatch):
    monkeypatch.setenv("POKEIL_SPLITS_DIR", str(tmp_path / "splits"))
    whole = collector.main(collector.Args(num_episodes=1, seed=4, expert_data_dir=str(tmp_path / "whole")))
    out = tmp_path / "split"
    split = collector.main(collector.Args(num_episodes=1, seed=4, start_milestone=2, expert_data_dir=str(out)))
    assert split[0]["success"] and split[0]["length"] < whole[0]["length"]
    ep = data.load_episode(data.episode_paths(out)[0])
    assert ep["metadata"]["start_milestone"] == 2
    assert json.loads(str(ep["infos"][0]))["milestone_count"] >= 2  # the two before the split: done, unrewarded
    assert ep["rewards"].sum() == pytest.approx(4.0)  # the six milestones' rewards less the split's two


def test_scripted_on_a_game_without_one_stops_before_collecting(tmp_path):
    from test_experts import header_only_rom

    emerald = header_only_rom(tmp_path / "emerald_header.gba", "BPEE")
    run = subprocess.run(
        [sys.executable, "collect_expert_data.py", "--rom-path", str(emerald), "--num-episodes", "1",
         "--expert-data-dir", str(tmp_path / "demos")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "Pokémon Emerald has no scripted expert" in run.stderr and "'human', 'random'" in run.stderr
    assert not (tmp_path / "demos").exists() or not any((tmp_path / "demos").iterdir())


BAD_FLAGS = [
    (["--rom-path", "nope.gba"], "--rom-path: ROM not found: nope.gba"),
    (["--rom-path", "gameboy.gb"], "--rom-path: gameboy.gb is not a GBA ROM"),
    (["--rom-path", "half.gba"], "--rom-path: half.gba is truncated"),
    (["--max-steps", "0"], "--max-steps must be at least 1"),
    (["--frames-per-step", "0"], "--frames-per-step must be at least 1"),
    (["--hold-frames", "30"], "--hold-frames must be in [1, --frames-per-step=24]"),
    (["--epsilon", "nan"], "--epsilon must be a probability in [0, 1], got nan"),
    (["--epsilon", "1.5"], "--epsilon must be a probability in [0, 1], got 1.5"),
    (["--num-episodes", "0"], "--num-episodes must be at least 1"),
    (["--num-workers", "0"], "--num-workers must be at least 1"),
    (["--seed", "-1"], "--seed must be in [0"),
    (["--action-timeout", "0"], "--action-timeout must be a positive number"),
    (["--expert", "nosuch.mod:Cls"], "--expert: cannot import module 'nosuch.mod'"),
    (["--expert", "plannr"], "--expert: unknown expert 'plannr'"),
    (["--expert-data-dir", "a_file"], "--expert-data-dir a_file is a file, not a folder"),
    (["--start-milestone", "6"], "--start-milestone: start_milestone must be an int in 0..5, got 6. Valid: 0 (the game's start)"),
    (["--start-milestone", "2", "--initial-state", "a_file"], "--start-milestone and --initial-state both say where"),
]


@pytest.mark.parametrize("flags,message", BAD_FLAGS, ids=[" ".join(f) for f, _ in BAD_FLAGS])
def test_bad_flags_exit_2_with_one_line_and_create_nothing(tmp_path, monkeypatch, capsys, flags, message):
    from pokeil_jax.games.minimon import ROM_PATH

    monkeypatch.chdir(tmp_path)
    (tmp_path / "gameboy.gb").write_bytes(b"\0" * 0x150)
    (tmp_path / "half.gba").write_bytes(ROM_PATH.read_bytes()[:20000])
    (tmp_path / "a_file").write_text("x")
    before = sorted(os.listdir(tmp_path))
    argv = ["--expert-data-dir", "demos", "--num-episodes", "1"] + flags
    monkeypatch.setattr(sys, "argv", ["collect_expert_data.py"] + argv)
    with pytest.raises(SystemExit) as exit_info:
        collector.cli()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith(f"error: {message}") and err.count("\n") == 1, err
    assert sorted(os.listdir(tmp_path)) == before  # no output folder


def test_cli_process_exits_2_without_a_traceback(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "collect_expert_data.py"), "--max-steps", "0"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.strip() == "error: --max-steps must be at least 1 (steps before an episode is cut), got 0"
    assert os.listdir(tmp_path) == []


def test_a_bad_file_in_the_folder_exits_1_naming_it(tmp_path, monkeypatch, capsys):
    (tmp_path / "demos").mkdir()
    (tmp_path / "demos" / "episode_0001.npz").write_bytes(b"PK\x03\x04 truncated")
    monkeypatch.setattr(sys, "argv", ["collect_expert_data.py", "--expert-data-dir", str(tmp_path / "demos")])
    with pytest.raises(SystemExit) as exit_info:
        collector.cli()
    assert exit_info.value.code == 1
    assert "episode_0001.npz" in capsys.readouterr().err


def test_one_writer_per_folder_and_stale_locks_are_taken(tmp_path):
    from pokeil_jax.data.lock import FolderLock, FolderLockedError

    out = tmp_path / "demos"
    with FolderLock(out, "a DAgger round"):
        with pytest.raises(FolderLockedError, match=f"{out} is being written by process {os.getpid()} \\(a DAgger round\\)"):
            collector.main(collector.Args(num_episodes=1, expert_data_dir=str(out)))
    # A lock file left by a killed process (the kernel dropped its flock) is simply taken over.
    (out / ".writer.lock").write_text("process 999999 (collect_expert_data.py)\n")
    (out / ".staging-999999").mkdir()
    (out / ".staging-999999" / "episode_0007.npz").write_bytes(b"half")
    (out / ".episode_0001.npz.tmp").write_bytes(b"half")
    assert [s["seed"] for s in collector.main(collector.Args(num_episodes=1, seed=5, expert_data_dir=str(out), max_steps=30))] == [5]
    assert sorted(os.listdir(out)) == [".writer.lock", "episode_0001.npz"]


def test_concurrent_commits_never_share_a_number(tmp_path):
    import threading

    staged = []
    for i in range(16):
        (tmp_path / f".staging-{i}").mkdir()
        staged.append(tmp_path / f".staging-{i}" / "e.npz")
        staged[-1].write_bytes(bytes([i]))
    # all planned as number 1: each link that finds its name taken climbs to the next free one
    threads = [threading.Thread(target=collector.commit_episode, args=(path, tmp_path, 1)) for path in staged]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = sorted(p.name for p in tmp_path.glob("episode_*.npz"))
    assert names == [f"episode_{i:04d}.npz" for i in range(1, 17)]
    assert sorted((tmp_path / name).read_bytes() for name in names) == [bytes([i]) for i in range(16)]


def test_an_episode_takes_its_planned_number_or_the_next_free_one_above_it(tmp_path):
    for i, number in enumerate((5, 2, 5)):
        (tmp_path / f".staging-{i}").mkdir()
        staged = tmp_path / f".staging-{i}" / "e.npz"
        staged.write_bytes(bytes([i]))
        collector.commit_episode(staged, tmp_path, number)
        assert not staged.exists()
    names = sorted(p.name for p in tmp_path.glob("episode_*.npz"))
    assert names == ["episode_0002.npz", "episode_0005.npz", "episode_0006.npz"]
    assert (tmp_path / "episode_0005.npz").read_bytes() == bytes([0])  # never replaced
    assert collector.free_numbers(tmp_path, 3) == [1, 3, 4]  # the gaps first, then past the last


@pytest.mark.slow
def test_a_killed_worker_stops_the_collection_and_a_killed_parent_takes_its_workers(tmp_path):
    out = tmp_path / "demos"
    command = [sys.executable, str(ROOT / "collect_expert_data.py"), "--num-workers", "2", "--max-steps", "20",
               "--expert-data-dir", str(out), "--expert", "tests.fake_agents:DiesOnSeed3", "--num-episodes", "6"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert "worker 1: it died (exit code -9)" in run.stderr and "run the same command again" in run.stderr
    assert "Traceback" not in run.stderr
    seeds = [data.read_metadata(p)["seed"] for p in data.episode_paths(out)]
    assert 3 not in seeds and len(set(seeds)) == len(seeds)
    # each finished episode has the number its seed was planned: seed s is episode s + 1
    assert [p.name for p in data.episode_paths(out)] == [f"episode_{s + 1:04d}.npz" for s in seeds]
    # the same command with an expert that lives fills the gaps in seed order
    fixed = [*command]
    fixed[fixed.index("tests.fake_agents:DiesOnSeed3")] = "random"
    assert subprocess.run(fixed + ["--top-up"], cwd=ROOT, capture_output=True, text=True, timeout=300).returncode == 0
    assert [(p.name, data.read_metadata(p)["seed"]) for p in data.episode_paths(out)] == [
        (f"episode_{s + 1:04d}.npz", s) for s in range(6)]

    # SIGKILL of the main process only (the OOM killer's way): its workers die with it.
    import signal
    import time

    command[command.index("tests.fake_agents:DiesOnSeed3")] = "random"
    command[command.index("6")] = "50"
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    for _ in range(300):
        workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == proc.pid
                   and b"spawn_main" in _cmdline(int(p))]
        if len(workers) == 2:
            break
        time.sleep(0.1)
    assert len(workers) == 2
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(150):  # a worker still importing dies as soon as it reaches die_with_parent
        if all(_parent(pid) is None for pid in workers):
            break
        time.sleep(0.1)
    assert [pid for pid in workers if _parent(pid) is not None] == [], "orphaned workers still run"
    seeds = [data.read_metadata(p)["seed"] for p in data.episode_paths(out)]
    assert len(set(seeds)) == len(seeds)


def _parent(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else int(fields[1])


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_collecting_twice_records_identical_episodes(tmp_path):
    """Same flags, two folders: the same arrays and metadata (but the creation time), ε-noise included."""
    episodes = []
    for name in ("a", "b"):
        collector.main(collector.Args(num_episodes=1, seed=3, epsilon=0.2, max_steps=60, expert_data_dir=str(tmp_path / name)))
        episodes.append(data.load_episode(data.episode_paths(tmp_path / name)[0]))
    first, second = episodes
    assert set(first) == set(second)
    for key in first:
        if key == "metadata":
            assert {**first[key], "created": None} == {**second[key], "created": None}
        else:
            np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    assert (first["actions"] != first["executed_actions"]).any()  # the noise was there to reproduce
