"""Collect expert demonstrations: run an expert in PokemonEnv, save one NPZ per episode.

    python collect_expert_data.py --num-episodes 40                 # scripted planner, bundled game
    python collect_expert_data.py --expert human --num-episodes 1   # play it yourself
    python collect_expert_data.py --expert mypkg.code_agent:CodeAgent --action-timeout 60

Episode k uses game seed `seed + k`, skipping seeds already recorded in the folder, so
re-running into the same folder continues it: existing episodes are kept, numbering fills any
gaps, then goes on. Numbers follow the seeds (the k-th seed of a collection gets its k-th free
number, whichever worker finishes first). Each episode is written whole, then numbered (by a
hard link that never replaces a file); one collector at a time holds the folder (`pokeil_jax.data.lock`), and its
workers die with it. Killing any of them leaves whole episodes, numbered 1..N, seeds distinct.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Optional

import numpy as np
import tyro


@dataclasses.dataclass
class Args:
    expert: str = "scripted"
    """who plays: `scripted` (the game's planner), `human` (keyboard), `random`, or an import path `package.module:ClassName`"""
    num_episodes: int = 20
    """how many new episodes to record"""
    top_up: bool = False
    """treat --num-episodes as the folder's total: record only the episodes that are missing"""
    seed: int = 0
    """episode k uses game seed `seed + k` (seeds already in the folder are skipped)"""
    epsilon: float = 0.0
    """probability of pressing a random button instead of the expert's; the expert's intended action stays the label"""
    expert_data_dir: str = "expert_data"
    """folder of episode_XXXX.npz files (created if missing; continued if not empty)"""
    max_steps: int = 10_000
    """steps after which an episode is cut (truncated)"""
    env_id: str = "pokeil/MiniMon-v0"
    """which bundled game: pokeil/MiniMon-v0 (six milestones) or pokeil/MiniMonQuest-v0 (the 15-milestone quest)"""
    rom_path: Optional[str] = None
    """a GBA ROM to play instead of the env id's bundled one"""
    initial_state: Optional[str] = None
    """start every episode from this save state (mGBA .ss0-.ss9 or a raw .state of the same game) instead of the game's own start; the seed then reseeds the game's randomness"""
    start_milestone: int = 0
    """start every episode at this split: where the game's scripted planner first completes milestone k-1 (computed once per seed, cached on disk; 0: the game's start). E.g. 11 on pokeil/MiniMonQuest-v0 records from the MAZE's entrance on"""
    num_workers: int = 1
    """processes collecting in parallel (one emulator each); `human` uses 1"""
    action_timeout: float = 30.0
    """seconds an import-path expert may take for one action"""
    frames_per_step: int = 24
    """emulated frames per env step"""
    hold_frames: int = 8
    """frames the button is held within a step"""
    record_video: bool = False
    """also save a GIF of each episode next to the NPZ files (in videos/)"""


def env_kwargs(args: Args) -> dict:
    from pokeil_jax import env_ids

    return dict(
        rom_path=env_ids.rom_path_for(args.env_id, args.rom_path),
        frames_per_step=args.frames_per_step,
        hold_frames=args.hold_frames,
        max_episode_steps=args.max_steps,
        initial_state=args.initial_state,
    )


def check_args(args: Args) -> None:
    """Raise cli.UsageError for the first bad flag, before anything is created or started."""
    from pokeil_jax.cli import UsageError, require
    from pokeil_jax.emulator import RomError
    from pokeil_jax.env import check_rom
    from pokeil_jax.experts import ExpertError, make_expert
    from pokeil_jax.games import UnknownGameError

    from pokeil_jax import env_ids

    try:
        env_ids.check_env_id(args.env_id)
    except env_ids.UnknownEnvIdError as error:
        raise UsageError(str(error)) from None
    require(args.num_episodes >= 1, f"--num-episodes must be at least 1, got {args.num_episodes}")
    require(args.num_workers >= 1, f"--num-workers must be at least 1, got {args.num_workers}")
    require(0 <= args.epsilon <= 1, f"--epsilon must be a probability in [0, 1], got {args.epsilon}")
    require(args.max_steps >= 1, f"--max-steps must be at least 1 (steps before an episode is cut), got {args.max_steps}")
    require(args.frames_per_step >= 1, f"--frames-per-step must be at least 1, got {args.frames_per_step}")
    require(1 <= args.hold_frames <= args.frames_per_step,
            f"--hold-frames must be in [1, --frames-per-step={args.frames_per_step}], got {args.hold_frames}")
    require(0 < args.action_timeout < float("inf"),
            f"--action-timeout must be a positive number of seconds, got {args.action_timeout}")
    require(0 <= args.seed < 2**31 - args.num_episodes, f"--seed must be in [0, 2**31 - num_episodes), got {args.seed}")
    require(not Path(args.expert_data_dir).exists() or Path(args.expert_data_dir).is_dir(),
            f"--expert-data-dir {args.expert_data_dir} is a file, not a folder; pass a folder")
    if args.rom_path is not None:
        try:
            check_rom(args.rom_path)
        except (RomError, UnknownGameError) as error:
            raise UsageError(f"--rom-path: {error}") from None
    if args.expert not in ("human", "random"):
        try:  # imports and builds the user's class once here, so a typo fails before any folder exists
            make_expert(args.expert, action_timeout=args.action_timeout,
                        rom_path=env_ids.rom_path_for(args.env_id, args.rom_path))
        except ExpertError as error:
            raise UsageError(f"--expert: {error}") from None
    if args.start_milestone:
        from pokeil_jax.splits import SplitError, check_start_milestone_for_rom

        require(not args.initial_state, "--start-milestone and --initial-state both say where episodes start; pass one")
        try:
            check_start_milestone_for_rom(args.start_milestone, env_ids.rom_path_for(args.env_id, args.rom_path))
        except SplitError as error:
            raise UsageError(f"--start-milestone: {error}") from None
    if args.initial_state:
        from pokeil_jax.savestates import StateFileError, check_for_rom

        try:
            check_for_rom(args.initial_state, env_ids.rom_path_for(args.env_id, args.rom_path))
        except (StateFileError, RomError) as error:
            raise UsageError(f"--initial-state: {error}") from None


def plan_episodes(directory: Path, first_seed: int, count: int) -> list[int]:
    """Game seeds of the next `count` episodes: from `first_seed` up, skipping recorded ones."""
    from pokeil_jax import data

    recorded = data.next_episode_index_and_seed(directory)[1]
    plan, seed = [], first_seed
    while len(plan) < count:
        if seed not in recorded:
            plan.append(seed)
        seed += 1
    return plan


def taken_numbers(directory: Path) -> set[int]:
    """The numbers of the `episode_XXXX.npz` files in `directory`."""
    from pokeil_jax.data.episode_format import EPISODE_NAME

    matches = (EPISODE_NAME.match(p.name) for p in directory.glob("episode_*.npz"))
    return {int(m.group(1)) for m in matches if m}


def free_numbers(directory: Path, count: int) -> list[int]:
    """The lowest `count` episode numbers not taken in `directory` (gaps first: a collection
    stopped half-way left them, and the same command run again fills them in seed order)."""
    taken, numbers, number = taken_numbers(directory), [], 1
    while len(numbers) < count:
        if number not in taken:
            numbers.append(number)
        number += 1
    return numbers


def commit_episode(staged: Path, directory: Path, number: int) -> Path:
    """Give a whole episode file its number: hard-link it as `episode_<number>.npz`, or the next
    free number above it when that is taken (a link never replaces an existing name, so two
    writers cannot take one number), then drop the staged name. Killed in between, the folder
    holds the episode once and a stale staged copy."""
    index = number
    while True:
        path = directory / f"episode_{index:04d}.npz"
        try:
            os.link(staged, path)
        except FileExistsError:
            index += 1
            continue
        staged.unlink()
        return path


def clean_leftovers(directory: Path) -> None:
    """Remove what killed writers left (staging folders, temp files); call with the folder lock held."""
    import shutil

    for leftover in directory.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for temp in directory.glob(".episode_*.tmp"):  # atomic_write temp files
        temp.unlink(missing_ok=True)


def collect(args: Args, seeds: list[int], numbers: dict[int, int], progress_queue=None, worker_id: int = 0) -> list[dict]:
    """Record one episode per game seed in `seeds` and write each as episode `numbers[seed]`;
    returns one summary per episode."""
    from pokeil_jax import data
    from pokeil_jax.env import PokemonEnv, rom_sha1
    from pokeil_jax.experts import make_expert
    from pokeil_jax.rollout import episode_metadata, epsilon_chooser, record_episode, to_episode_file
    from pokeil_jax.splits import reset_options

    env = PokemonEnv(**env_kwargs(args))
    expert = make_expert(args.expert, seed=args.seed + 7919 * worker_id, action_timeout=args.action_timeout,
                         rom_path=env.rom_path)
    out_dir = Path(args.expert_data_dir)
    staging = out_dir / f".staging-{os.getpid()}"
    sha1 = rom_sha1(env.rom_path)
    summaries = []

    def progress(steps, info):
        if progress_queue is not None:
            progress_queue.put(("step", steps, info["milestone_count"]))

    for seed in seeds:
        choose = epsilon_chooser(args.epsilon, np.random.default_rng([args.seed, seed, 1]))
        episode = record_episode(env, expert, seed, choose, progress, reset_options=reset_options(args.start_milestone))
        if episode is None:  # stopped (Esc) before the first step
            break
        extra = {"initial_state": Path(args.initial_state).name} if args.initial_state else {}
        if args.start_milestone:
            extra["start_milestone"] = args.start_milestone
        metadata = episode_metadata(env, sha1, args.expert, seed, args.epsilon, episode, **extra)
        last_info, stopped = episode["last_info"], episode["stopped"]
        episode = to_episode_file(episode, metadata)
        path = commit_episode(data.write_episode(staging / f"episode_{seed:04d}.npz", episode), out_dir,
                              numbers[seed])
        if args.record_video:
            from pokeil_jax.video import save_video

            frames = list(episode["observations"]) + [episode["final_observation"]]
            save_video(frames, out_dir / "videos" / f"{path.stem}.gif", fps=10)
        summary = {
            "path": str(path),
            "seed": seed,
            "length": int(episode["episode_length"]),
            "return": float(episode["episode_return"]),
            "milestones": int(last_info["milestone_count"]),
            "success": bool(metadata["terminated"]),
        }
        summaries.append(summary)
        if progress_queue is not None:
            progress_queue.put(("episode", summary, None))
        if stopped:
            break
    env.close()
    if staging.is_dir():
        staging.rmdir()
    return summaries


def _worker(args, seeds, queue, worker_id, parent_pid, numbers):
    from pokeil_jax.data.lock import die_with_parent

    die_with_parent(parent_pid)  # orphans would write into a folder whose lock is gone
    try:
        collect(args, seeds, numbers, queue, worker_id)
        queue.put(("done", worker_id, None))
    except BaseException as e:  # report any failure to the parent instead of dying silently
        queue.put(("error", f"worker {worker_id}: {type(e).__name__}: {e}", None))


def main(args: Args) -> list[dict]:
    """Collect; raises cli.UsageError (bad flags), EpisodeFormatError (a bad file already in the
    folder), FolderLockedError (another process writes there) or CollectionError."""
    from tqdm import tqdm

    from pokeil_jax import data
    from pokeil_jax.data.lock import FolderLock

    check_args(args)
    out_dir = Path(args.expert_data_dir)
    recorded = data.next_episode_index_and_seed(out_dir)[1]  # reads (and so checks) what is there
    wanted = args.num_episodes - (len(recorded) if args.top_up else 0)
    if wanted <= 0:
        print(f"{out_dir}/ already holds {args.num_episodes} or more episodes; nothing to collect.")
        return []
    lock = FolderLock(out_dir, f"collect_expert_data.py --expert {args.expert}").acquire()
    try:
        clean_leftovers(out_dir)
        return _collect_locked(args, out_dir, wanted, tqdm)
    finally:
        lock.release()


class CollectionError(RuntimeError):
    """A worker failed or died; the episodes written before stay."""


def _collect_locked(args: Args, out_dir: Path, wanted: int, tqdm) -> list[dict]:
    seeds = plan_episodes(out_dir, args.seed, wanted)
    # Numbers follow the seeds, not the order workers finish in: the same command gives the same
    # files (and so the same train/validation split) however the workers interleave.
    numbers = dict(zip(seeds, free_numbers(out_dir, len(seeds))))
    workers = 1 if args.expert == "human" else min(args.num_workers, len(seeds))
    print(
        f"Collecting {len(seeds)} episodes with expert '{args.expert}' into {out_dir}/ "
        f"(seeds {min(seeds)}..{max(seeds)}, {workers} worker{'s' if workers > 1 else ''})"
    )
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(args, seeds[w::workers], queue, w, os.getpid(), numbers), daemon=True)
        for w in range(workers)
    ] if workers > 1 else []
    for p in procs:
        p.start()

    summaries: list[dict] = []
    bar = tqdm(total=len(seeds), unit="ep", desc="collect", dynamic_ncols=True)
    steps, start, finished = 0, time.perf_counter(), set()
    milestone_total = 0

    def stop(reason: str):
        bar.close()
        for p in procs:
            p.kill()
        raise CollectionError(
            f"collection failed in {reason}; the {len(summaries)} episodes finished before stay in "
            f"{out_dir}/, run the same command again to record the rest"
        )

    def handle(kind, payload, extra):
        nonlocal steps, milestone_total
        if kind == "step":
            steps += payload
        elif kind == "episode":
            summaries.append(payload)
            milestone_total += payload["milestones"]
            bar.update(1)
        elif kind == "done":
            finished.add(payload)
        elif kind == "error":
            stop(payload)
        elapsed = max(time.perf_counter() - start, 1e-9)
        done = max(len(summaries), 1)
        bar.set_postfix(steps=steps, sps=f"{steps / elapsed:.0f}", milestones=f"{milestone_total / done:.2f}", refresh=False)

    if procs:
        import queue as queue_module

        while len(finished) < workers:
            try:
                handle(*queue.get(timeout=1.0))
            except queue_module.Empty:
                for w, p in enumerate(procs):  # a worker killed (OOM, kill -9) sends nothing
                    if w not in finished and p.exitcode is not None and queue.empty():
                        stop(f"worker {w}: it died (exit code {p.exitcode})")
        for p in procs:
            p.join()
    else:
        class _Inline:  # run in this process, forwarding progress straight to the bar
            def put(self, item):
                handle(*item)

        collect(args, seeds, numbers, _Inline(), 0)
    bar.close()

    if summaries:
        ok = sum(s["success"] for s in summaries)
        lengths = [s["length"] for s in summaries]
        print(
            f"Saved {len(summaries)} episodes to {out_dir}/: {sum(lengths)} transitions, "
            f"mean length {np.mean(lengths):.1f}, completed the game in {ok}/{len(summaries)}."
        )
        print(f"Inspect them: python -m pokeil_jax.data inspect {out_dir}")
    return summaries


def cli() -> None:
    """Exit codes: 0 done, 1 bad data or a failed collection, 2 bad usage."""
    args = tyro.cli(Args)
    from pokeil_jax import cli as errors
    from pokeil_jax.data import EpisodeFormatError
    from pokeil_jax.data.lock import FolderLockedError

    try:
        main(args)
    except errors.UsageError as error:
        errors.fail(str(error), errors.USAGE)
    except (EpisodeFormatError, FolderLockedError, CollectionError) as error:
        errors.fail(str(error), errors.DATA)


if __name__ == "__main__":
    cli()
