"""Evaluation speed: the evaluator's env steps/s with a network policy, frames preprocessed in
the parent process (as before) against preprocessed in the env workers (`vector_env.
NetworkFrameInfo`, what `make_eval_envs` builds), measured alternately in the same run.

    python benchmarks/eval_speed.py [--env-id pokeil/MiniMonQuest-v0] [--num-envs 2 4 8] [--steps 400] [--repeats 3]

Each measurement is one `evaluate.evaluate` call: `--num-envs` episodes of a freshly initialised
ImpalaCNN (the training script's network and kernels, greedy), each cut at `--steps`, loop
stopping off, so both sides play the same steps; the rate is the steps played over the wall
time of the call, for each count of env workers (more envs: a larger batch per forward).
Prints every repeat, the medians and their ratio (> 1: the workers' frames are faster). The
actions do not depend on where the frames were preprocessed (same bytes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pokeil_jax.cli import positive_int  # noqa: E402


def eval_steps_per_s(policy, num_envs: int, steps: int, rom_path, in_workers: bool) -> tuple[float, list[int]]:
    """(steps/s, episode lengths) of one evaluation of `policy` on seeds 0..num_envs-1."""
    from pokeil_jax import evaluate
    from pokeil_jax.vector_env import make_eval_envs

    envs = make_eval_envs(num_envs, network_frame_info=in_workers, rom_path=rom_path, max_episode_steps=steps)
    try:
        envs.reset(seed=list(range(num_envs)))  # workers started and booted before the clock
        start = time.perf_counter()
        report = evaluate.evaluate(evaluate.PolicyAgent(policy), envs, list(range(num_envs)), max_steps=steps,
                                   stop_loops=False)
        elapsed = time.perf_counter() - start
    finally:
        envs.close()
    return sum(report.episode_lengths) / elapsed, report.episode_lengths


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="pokeil/MiniMonQuest-v0", help="the bundled game to play")
    parser.add_argument("--num-envs", type=positive_int, nargs="+", default=[2, 4, 8],
                        help="env worker processes, each count measured (bc_pokemon_jax.py's --eval-num-envs)")
    parser.add_argument("--steps", type=positive_int, default=400, help="steps per episode (each env plays one)")
    parser.add_argument("--repeats", type=positive_int, default=3, help="alternating measurements of each side")
    args = parser.parse_args()
    if min(args.num_envs) < 2:
        parser.error("--num-envs must be at least 2: a one-env evaluator runs in this process, with no workers")
    from pokeil_jax import env_ids

    try:
        rom_path = env_ids.rom_path_for(args.env_id)
    except env_ids.UnknownEnvIdError as error:
        parser.error(str(error))

    import jax
    import numpy as np

    from pokeil_jax import train
    from pokeil_jax.kernels import resolve_kernels

    state = train.create_train_state(jax.random.key(0), train.TrainConfig(kernels="auto"))
    policy = train.policy_fn(state)
    for n in args.num_envs:
        policy(np.zeros((n, 84, 84, 3), np.uint8))  # compiled before any timing
    load_before = os.getloadavg()[0]
    print(f"{args.env_id}: one episode per env x {args.steps} steps, {args.repeats} alternating repeats, "
          f"kernels {resolve_kernels('auto').name}; steps/s summed over the envs (median, then each repeat)")
    print(f"{'envs':>4s}  {'preprocessed in the parent':>34s}  {'preprocessed in the workers':>34s}  workers/parent  same episodes")
    for n in args.num_envs:
        rates, lengths = {"parent": [], "workers": []}, {}
        for repeat in range(args.repeats):
            for side in (("parent", "workers") if repeat % 2 == 0 else ("workers", "parent")):
                rate, lengths[side] = eval_steps_per_s(policy, n, args.steps, rom_path, side == "workers")
                rates[side].append(rate)
        cells = [f"{statistics.median(rates[side]):7.1f} ({', '.join(f'{r:.0f}' for r in rates[side])})"
                 for side in ("parent", "workers")]
        ratio = statistics.median(w / p for p, w in zip(rates["parent"], rates["workers"]))
        print(f"{n:4d}  {cells[0]:>34s}  {cells[1]:>34s}  {ratio:13.2f}x  {lengths['parent'] == lengths['workers']}")
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
