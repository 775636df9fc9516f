"""Evaluation speed: the evaluator's env steps/s with a network policy, one way of running its
envs against another, measured alternately in the same run.

    python benchmarks/eval_speed.py [--env-id pokeil/MiniMonQuest-v0] [--compare frames infos fingerprint idle]
                                    [--num-envs 2 4 8] [--steps 400] [--repeats 3]

What each `--compare` sets against its reference (everything else as `make_eval_envs` builds it):
  frames       frames preprocessed for the network in the parent vs in the env workers
               (`vector_env.NetworkFrameInfo`)
  infos        infos batched key by key by Gymnasium vs sent whole (`vector_env.WholeInfo`)
  fingerprint  envs that hash their state every step vs not (only pure-argmax loop stopping reads it)
  idle         envs with no seed left stepped with action 0 vs not stepped (`vector_env.IdleStep`);
               this one plays 2 more episodes than envs, so the last two play while the others wait

Each measurement is one `evaluate.evaluate` call: `--num-envs` episodes of a freshly initialised
ImpalaCNN (the training script's network and kernels, greedy), each cut at `--steps`, loop
stopping off, so both sides play the same steps; the rate is the steps played over the wall
time of the call. Prints every repeat, the medians and their ratio (> 1: the second side is
faster), and whether both sides played the same episodes (they must: none of these changes
what the policy sees).
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

#: compare -> ((reference label, make_eval_envs kwargs), (candidate label, kwargs))
COMPARISONS = {
    "frames": (("preprocessed in the parent", {"network_frame_info": False}),
               ("preprocessed in the workers", {"network_frame_info": True})),
    "infos": (("infos batched key by key", {"whole_info": False}),
              ("infos sent whole", {"whole_info": True})),
    "fingerprint": (("state fingerprints", {"fingerprint": True}),
                    ("no fingerprints", {"fingerprint": False})),
    "idle": (("idle envs stepped", {"idle_step": False}),
             ("idle envs not stepped", {"idle_step": True})),
}
#: compare -> episodes played beyond one per env (the idle envs' wait is the last ones' tail)
EXTRA_EPISODES = {"idle": 2}


def eval_steps_per_s(policy, num_envs: int, steps: int, rom_path, env_kwargs: dict,
                     extra_episodes: int = 0) -> tuple[float, list[int]]:
    """(steps/s, episode lengths) of one evaluation of `policy` on seeds 0..num_envs+extra_episodes-1."""
    from pokeil_jax import evaluate
    from pokeil_jax.vector_env import make_eval_envs

    envs = make_eval_envs(num_envs, rom_path=rom_path, max_episode_steps=steps, **env_kwargs)
    try:
        envs.reset(seed=list(range(num_envs)))  # workers started and booted before the clock
        start = time.perf_counter()
        report = evaluate.evaluate(evaluate.PolicyAgent(policy), envs, list(range(num_envs + extra_episodes)),
                                   max_steps=steps,
                                   stop_loops=False)
        elapsed = time.perf_counter() - start
    finally:
        envs.close()
    return sum(report.episode_lengths) / elapsed, report.episode_lengths


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="pokeil/MiniMonQuest-v0", help="the bundled game to play")
    parser.add_argument("--compare", nargs="+", choices=sorted(COMPARISONS), default=list(COMPARISONS),
                        help="what to set against its reference, one table each (see above)")
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
    for compare in args.compare:
        (ref_label, ref_kwargs), (new_label, new_kwargs) = COMPARISONS[compare]
        print(f"\n{compare}:\n{'envs':>4s}  {ref_label:>34s}  {new_label:>34s}  second/first  same episodes")
        for n in args.num_envs:
            rates, lengths = {"ref": [], "new": []}, {}
            for repeat in range(args.repeats):
                for side in (("ref", "new") if repeat % 2 == 0 else ("new", "ref")):
                    kwargs = ref_kwargs if side == "ref" else new_kwargs
                    rate, lengths[side] = eval_steps_per_s(policy, n, args.steps, rom_path, kwargs,
                                                           EXTRA_EPISODES.get(compare, 0))
                    rates[side].append(rate)
            cells = [f"{statistics.median(rates[side]):7.1f} ({', '.join(f'{r:.0f}' for r in rates[side])})"
                     for side in ("ref", "new")]
            ratio = statistics.median(new / ref for ref, new in zip(rates["ref"], rates["new"]))
            print(f"{n:4d}  {cells[0]:>34s}  {cells[1]:>34s}  {ratio:11.2f}x  {lengths['ref'] == lengths['new']}")
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
