"""The scripted MiniMon Quest planner over many seeds: finish rate, episode length, splits.

    python benchmarks/quest_planner.py [--seeds 0-199] [--max-steps 6000]

Plays one episode per seed with `MiniMonQuestPlanner` and prints how many reach the last
milestone (target >= 99% of seeds 0-199), the median and quartiles of the episode length
(target median 600-3,000 steps) and, per milestone, how many episodes reach it and the mean
step at which they do. Deterministic: the same seeds print the same figures.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pokeil_jax.env import PokemonEnv  # noqa: E402
from pokeil_jax.games.minimon.quest import MILESTONES, ROM_PATH  # noqa: E402
from pokeil_jax.games.minimon.quest_planner import MiniMonQuestPlanner  # noqa: E402


def parse_seeds(text: str) -> list[int]:
    """'A-B' (inclusive, 0 <= A <= B) or one seed 'A' -> the seeds; anything else is argparse's
    one-line usage error."""
    lo, _, hi = text.partition("-")
    try:
        first, last = int(lo), int(hi or lo)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seed range; write A-B (e.g. 0-199) or one seed") from None
    if not 0 <= first <= last:
        raise argparse.ArgumentTypeError(f"{text!r}: a seed range A-B needs 0 <= A <= B (e.g. 0-199)")
    return list(range(first, last + 1))


def play(env: PokemonEnv, planner: MiniMonQuestPlanner, seed: int) -> tuple[int, dict[str, int], dict]:
    """(steps, first step of each milestone reached, last info) of one planner episode."""
    obs, info = env.reset(seed=seed)
    planner.reset()
    steps, first = 0, {}
    while True:
        obs, _, terminated, truncated, info = env.step(planner.get_action(obs, info))
        steps += 1
        for name, done in info["milestones"].items():
            if done and name not in first:
                first[name] = steps
        if terminated or truncated:
            return steps, first, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=parse_seeds, default="0-199", help="seed range, inclusive: A-B")
    parser.add_argument("--max-steps", type=int, default=6000, help="episode step limit")
    args = parser.parse_args()
    env = PokemonEnv(rom_path=ROM_PATH, max_episode_steps=args.max_steps)
    planner = MiniMonQuestPlanner()
    seeds = args.seeds
    lengths, finished, firsts = [], [], []
    for seed in seeds:
        steps, first, info = play(env, planner, seed)
        done = len(first) == len(MILESTONES)
        lengths.append(steps)
        finished.append(done)
        firsts.append(first)
        if not done:
            print(f"seed {seed}: {len(first)} milestones in {steps} steps, stopped on {info['map_name']} "
                  f"({info['x']}, {info['y']}) mode {info['mode']}", flush=True)
    lengths_done = np.array([n for n, d in zip(lengths, finished) if d])
    print(f"finished {sum(finished)}/{len(seeds)} seeds ({100 * np.mean(finished):.1f}%)")
    if len(lengths_done):
        q1, med, q3 = np.percentile(lengths_done, [25, 50, 75])
        print(f"episode length of finished episodes: median {med:.0f}, quartiles {q1:.0f}-{q3:.0f}, "
              f"min {lengths_done.min()}, max {lengths_done.max()} steps")
    print("milestone            reached  mean step")
    for name in MILESTONES:
        at = [f[name] for f in firsts if name in f]
        print(f"{name:<20} {len(at):>7}  {np.mean(at) if at else float('nan'):>9.1f}")


if __name__ == "__main__":
    main()
