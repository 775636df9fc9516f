"""Collect expert demonstrations: run an expert in PokemonEnv, save one NPZ per episode.

    python collect_expert_data.py --num-episodes 40                 # scripted planner, bundled game
    python collect_expert_data.py --expert human --num-episodes 1   # play it yourself
    python collect_expert_data.py --expert mypkg.code_agent:CodeAgent --action-timeout 60

Episode k uses game seed `seed + k`, skipping seeds already recorded in the folder, so
re-running into the same folder continues it: existing episodes are kept, numbering goes on.
Each episode is written atomically: killing the collector leaves only whole episodes.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np
import tyro


@dataclasses.dataclass
class Args:
    expert: str = "scripted"
    """who plays: `scripted` (the MiniMon planner), `human` (keyboard), `random`, or an import path `package.module:ClassName`"""
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
    rom_path: Optional[str] = None
    """a GBA ROM; default: the bundled MiniMon game"""
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
    return dict(
        rom_path=args.rom_path,
        frames_per_step=args.frames_per_step,
        hold_frames=args.hold_frames,
        max_episode_steps=args.max_steps,
    )


def plan_episodes(directory: Path, first_seed: int, count: int) -> list[tuple[int, int]]:
    """(episode index, game seed) for the next `count` episodes, continuing what is on disk."""
    from pokeil_jax import data

    next_index, recorded = data.next_episode_index_and_seed(directory)
    plan, seed = [], first_seed
    while len(plan) < count:
        if seed not in recorded:
            plan.append((next_index + len(plan), seed))
        seed += 1
    return plan


def collect(args: Args, jobs: list[tuple[int, int]], progress_queue=None, worker_id: int = 0) -> list[dict]:
    """Record the episodes in `jobs` ([(index, seed)]) and write them; returns one summary per episode."""
    from pokeil_jax import data
    from pokeil_jax.env import PokemonEnv, rom_sha1
    from pokeil_jax.experts import make_expert
    from pokeil_jax.rollout import episode_metadata, epsilon_chooser, record_episode, to_episode_file

    env = PokemonEnv(**env_kwargs(args))
    expert = make_expert(args.expert, seed=args.seed + 7919 * worker_id, action_timeout=args.action_timeout,
                         rom_path=args.rom_path)
    out_dir = Path(args.expert_data_dir)
    sha1 = rom_sha1(env.rom_path)
    summaries = []

    def progress(steps, info):
        if progress_queue is not None:
            progress_queue.put(("step", steps, info["milestone_count"]))

    for index, seed in jobs:
        choose = epsilon_chooser(args.epsilon, np.random.default_rng([args.seed, seed, 1]))
        episode = record_episode(env, expert, seed, choose, progress)
        if episode is None:  # stopped (Esc) before the first step
            break
        metadata = episode_metadata(env, sha1, args.expert, seed, args.epsilon, episode)
        last_info, stopped = episode["last_info"], episode["stopped"]
        episode = to_episode_file(episode, metadata)
        path = out_dir / f"episode_{index:04d}.npz"
        data.write_episode(path, episode)
        if args.record_video:
            from pokeil_jax.video import save_video

            frames = list(episode["observations"]) + [episode["final_observation"]]
            save_video(frames, out_dir / "videos" / f"episode_{index:04d}.gif", fps=10)
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
    return summaries


def _worker(args, jobs, queue, worker_id):
    try:
        collect(args, jobs, queue, worker_id)
        queue.put(("done", worker_id, None))
    except BaseException as e:  # report any failure to the parent instead of dying silently
        queue.put(("error", f"worker {worker_id}: {type(e).__name__}: {e}", None))


def main(args: Args) -> list[dict]:
    from tqdm import tqdm

    if args.epsilon < 0 or args.epsilon > 1:
        sys.exit(f"--epsilon must be in [0, 1], got {args.epsilon}")
    if args.num_episodes < 1 or args.num_workers < 1:
        sys.exit("--num-episodes and --num-workers must be at least 1")
    out_dir = Path(args.expert_data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = args.num_episodes
    if args.top_up:
        from pokeil_jax import data

        wanted -= len(data.next_episode_index_and_seed(out_dir)[1])
        if wanted <= 0:
            print(f"{out_dir}/ already holds {args.num_episodes} or more episodes; nothing to collect.")
            return []
    jobs = plan_episodes(out_dir, args.seed, wanted)
    workers = 1 if args.expert == "human" else min(args.num_workers, len(jobs))
    print(
        f"Collecting {len(jobs)} episodes with expert '{args.expert}' into {out_dir}/ "
        f"(episodes {jobs[0][0]:04d}-{jobs[-1][0]:04d}, seeds {sorted(s for _, s in jobs)[0]}..{max(s for _, s in jobs)}, "
        f"{workers} worker{'s' if workers > 1 else ''})"
    )
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(args, jobs[w::workers], queue, w), daemon=True)
        for w in range(workers)
    ] if workers > 1 else []
    for p in procs:
        p.start()

    summaries: list[dict] = []
    bar = tqdm(total=len(jobs), unit="ep", desc="collect", dynamic_ncols=True)
    steps, start, finished = 0, time.perf_counter(), 0
    milestone_total = 0

    def handle(kind, payload, extra):
        nonlocal steps, finished, milestone_total
        if kind == "step":
            steps += payload
        elif kind == "episode":
            summaries.append(payload)
            milestone_total += payload["milestones"]
            bar.update(1)
        elif kind == "done":
            finished += 1
        elif kind == "error":
            bar.close()
            for p in procs:
                p.kill()
            sys.exit(f"collection failed in {payload}")
        elapsed = max(time.perf_counter() - start, 1e-9)
        done = max(len(summaries), 1)
        bar.set_postfix(steps=steps, sps=f"{steps / elapsed:.0f}", milestones=f"{milestone_total / done:.2f}", refresh=False)

    if procs:
        while finished < workers:
            handle(*queue.get())
        for p in procs:
            p.join()
    else:
        class _Inline:  # run in this process, forwarding progress straight to the bar
            def put(self, item):
                handle(*item)

        collect(args, jobs, _Inline(), 0)
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


if __name__ == "__main__":
    main(tyro.cli(Args))
