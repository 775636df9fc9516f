"""Kill test of the collector: SIGKILL at random moments, then check the folder is still sound.

    python scripts/kill_test.py --rounds 24            # ~4 min on 2 cores

Each round starts `collect_expert_data.py --num-workers 2` into the same folder and, after a
random delay, SIGKILLs the main process only (what the OOM killer does), the workers only, or
the whole process group (in turn). Then it checks, and counts as a failure:
  - a process of the round still alive 15 s after the kill (orphaned workers);
  - a collector that does not exit by itself within 60 s after its workers were killed (a hang);
  - an episode file that does not load and validate (not whole), a game seed recorded twice,
    numbers out of seed order (a killed round may leave gaps, which the next one fills), and
    after the last round numbers that are not 1..N;
  - a private ROM copy of a dead process left after the next start.
The last round runs to completion. Linux only (reads /proc).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tyro

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@dataclasses.dataclass
class Args:
    rounds: int = 24
    """rounds whose collector is killed (rounds that finish before their kill do not count; the
    modes take turns); then one round that runs to completion"""
    episodes_per_round: int = 40
    """--num-episodes of each collector run"""
    max_delay: float = 8.0
    """the kill comes after a uniform random delay in [1, max_delay] seconds"""
    seed: int = 0
    """seed of the kill schedule (delays and modes)"""
    work_dir: str = ""
    """where the demonstration folder and the ROM temp folder go (default: a new temp folder)"""


MODES = ("main", "workers", "group")


def _ppid_and_pgid(pid: int) -> tuple[int, int] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[2])


def _alive_in_group(pgid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = _ppid_and_pgid(int(entry.name))
            if info and info[1] == pgid and not _zombie(int(entry.name)):
                alive.append(int(entry.name))
    return alive


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _workers(main_pid: int) -> list[int]:
    workers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = _ppid_and_pgid(int(entry.name))
            try:
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if info and info[0] == main_pid and b"spawn_main" in cmdline:
                workers.append(int(entry.name))
    return workers


def check_folder(folder: Path, validated: set[str], final: bool) -> list[str]:
    """Problems with the folder: episodes not whole, a seed twice, numbers out of seed order,
    and when `final`, numbering not 1..N."""
    from pokeil_jax import data

    problems = []
    paths = data.episode_paths(folder) if any(folder.glob("episode_*.npz")) else []
    numbers = [int(p.stem.split("_")[1]) for p in paths]
    if final and numbers != list(range(1, len(paths) + 1)):
        problems.append(f"numbering is not 1..{len(paths)}: {numbers}")
    seeds = []
    for path in paths:
        try:
            if path.name not in validated:
                data.validate_episode(path)
                validated.add(path.name)
            seeds.append(int(data.read_metadata(path)["seed"]))
        except data.EpisodeFormatError as error:
            problems.append(f"not whole: {error}")
    if seeds != sorted(seeds):
        problems.append(f"numbers out of seed order: {list(zip(numbers, seeds))}")
    if len(set(seeds)) != len(seeds):
        problems.append(f"a seed recorded twice: {sorted(s for s in set(seeds) if seeds.count(s) > 1)}")
    return problems


def bad_args(args: Args) -> str | None:
    """One line naming the first out-of-range value and its range, or None."""
    if args.rounds < 0:
        return f"--rounds must be at least 0, got {args.rounds}"
    if args.episodes_per_round < 1:
        return f"--episodes-per-round must be at least 1, got {args.episodes_per_round}"
    if not args.max_delay >= 1.0:
        return f"--max-delay must be at least 1 (seconds; the kill comes after 1..max-delay s), got {args.max_delay}"
    return None


def main(args: Args) -> int:
    problem = bad_args(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="kill_test_"))
    folder, rom_tmp = work / "demos", work / "tmp"
    rom_tmp.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TMPDIR": str(rom_tmp), "SDL_VIDEODRIVER": "dummy", "PYTHONPATH": str(REPO)}
    rng = random.Random(args.seed)
    validated: set[str] = set()
    failures: list[str] = []
    counts = {mode: 0 for mode in MODES}
    round_index, attempts = 0, 0
    while True:
        killed = sum(counts.values())
        final = killed >= args.rounds or attempts >= 3 * args.rounds
        attempts += 1
        command = [sys.executable, str(REPO / "collect_expert_data.py"), "--num-episodes", str(args.episodes_per_round),
                   "--num-workers", "2", "--expert-data-dir", str(folder), "--seed", "0"]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        mode, delay = MODES[killed % len(MODES)], rng.uniform(1.0, args.max_delay)
        if final:
            _, stderr = proc.communicate(timeout=600)
            if proc.returncode != 0:
                failures.append(f"final round: exit {proc.returncode}: {stderr.strip()[-300:]}")
            outcome = f"ran to completion (exit {proc.returncode})"
        else:
            time.sleep(delay)
            if proc.poll() is not None:
                outcome = f"finished before the kill (exit {proc.returncode})"
            else:
                counts[mode] += 1
                if mode == "main":
                    os.kill(proc.pid, signal.SIGKILL)
                elif mode == "group":
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    wait_until = time.time() + 5  # the workers may not be spawned yet
                    while not (workers := _workers(proc.pid)) and time.time() < wait_until and proc.poll() is None:
                        time.sleep(0.1)
                    for pid in workers:
                        os.kill(pid, signal.SIGKILL)
                    mode = f"{len(workers)} workers"
                try:
                    proc.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    failures.append(f"round {round_index}: the collector hung after its workers were killed")
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                outcome = f"killed {mode} after {delay:.1f} s (collector exit {proc.returncode})"
            deadline = time.time() + 15  # a worker still importing dies when it reaches die_with_parent
            while _alive_in_group(proc.pid) and time.time() < deadline:
                time.sleep(0.2)
            orphans = _alive_in_group(proc.pid)
            if orphans:
                failures.append(f"round {round_index}: processes outlived the kill: {orphans}")
                os.killpg(proc.pid, signal.SIGKILL)
        problems = check_folder(folder, validated, final)
        failures += [f"round {round_index}: {p}" for p in problems]
        print(f"round {round_index:2d}: {outcome}; {len(validated)} episodes, {'ok' if not problems else problems}",
              flush=True)
        round_index += 1
        if final:
            break
    # Every earlier process is dead; the final run swept the ROM copies of the dead ones.
    litter = [p.name for p in rom_tmp.glob("pokeil_rom_*")]
    if litter:
        failures.append(f"ROM copies left behind: {litter}")
    result = {"rounds_killed": sum(counts.values()), "kills": counts, "episodes": len(validated),
              "failures": failures}
    print(json.dumps(result, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(Args)))
