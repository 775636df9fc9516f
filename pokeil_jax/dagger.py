"""Online DAgger (Ross et al. 2011): let the learner drive, ask the expert what it would do.

Behavioral cloning only sees the states the expert visits; once the learner errs it is in
states nobody labelled, and errors compound. Each DAgger round rolls out a mixture — the
expert's action with probability beta, the learner's greedy action otherwise — records every
visited state with the EXPERT's label, and adds those episodes to the training set. The
scripted MiniMon planner can be asked from any state, which is what this needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from pokeil_jax import data
from pokeil_jax.preprocessing import preprocess_frames
from pokeil_jax.rollout import episode_metadata, record_episode, to_episode_file

#: First game seed of DAgger rollouts; far from demonstration (0, 1, ...) and eval (1000, ...) seeds.
DAGGER_SEED_BASE = 100_000


def learner_chooser(logits_fn: Callable[[np.ndarray], np.ndarray], beta: float, rng: np.random.Generator):
    """choose(obs, info, label): the expert's label with probability `beta`, else the learner's argmax.

    `logits_fn` maps uint8 (N, 84, 84, 3) to (N, num_actions) logits (the trained policy)."""

    def choose(obs, info, label):
        if rng.random() < beta:
            return label
        return int(np.asarray(logits_fn(preprocess_frames(obs[None])))[0].argmax())

    return choose


def round_seeds(round_index: int, episodes: int) -> list[int]:
    return [DAGGER_SEED_BASE + 1000 * round_index + i for i in range(episodes)]


def collect_round(
    env,
    expert,
    expert_name: str,
    logits_fn,
    round_index: int,
    episodes: int,
    beta: float,
    out_dir: str | Path,
    rom_sha1: str,
    seed: int,
) -> list[Path]:
    """Roll out `episodes` learner/expert mixtures, write them as episode files in `out_dir`.

    Deterministic given (the learner's parameters, round_index, seed): a resumed run re-collects
    the same episodes. Returns the written paths.
    """
    out_dir = Path(out_dir)
    rng = np.random.default_rng([seed, round_index, 2])
    choose = learner_chooser(logits_fn, beta, rng)
    paths = []
    for i, game_seed in enumerate(round_seeds(round_index, episodes)):
        episode = record_episode(env, expert, game_seed, choose)
        metadata = episode_metadata(env, rom_sha1, f"dagger:{expert_name}", game_seed, 0.0, episode,
                                    dagger_round=round_index, dagger_beta=beta)
        path = out_dir / f"episode_{round_index * 1000 + i + 1:04d}.npz"
        data.write_episode(path, to_episode_file(episode, metadata))
        paths.append(path)
    return paths


class DaggerLoop:
    """The DAgger side of the loop: when a training phase ends, the learner plays and the
    expert labels; the training set grows by those episodes."""

    def __init__(self, args, run_name: str, demo_paths, writer_log):
        """`args`: the script's Args (dagger_*, total_training_steps, expert_data_dir, rom_path, seed);
        `writer_log(writer, scalars, step)` logs scalars."""
        if args.dagger_rounds < 1 or args.dagger_episodes < 1 or not 0 <= args.dagger_beta <= 1:
            raise ValueError("dagger_rounds and dagger_episodes must be >= 1 and dagger_beta in [0, 1]")
        self.args = args
        self.log = writer_log
        self.phase = max(1, args.total_training_steps // (args.dagger_rounds + 1))
        self.demo_paths = list(demo_paths)
        self.out_dir = Path(args.expert_data_dir) / "dagger" / run_name
        self.cache_dir = data.default_cache_dir(args.expert_data_dir)
        self.env = None

    def round_ends_at(self, step: int) -> bool:
        return step % self.phase == 0 and 1 <= step // self.phase <= self.args.dagger_rounds

    def training_set(self, step: int):
        """Demonstrations plus the DAgger episodes of the rounds that ended by `step`."""
        rounds_done = min(step // self.phase, self.args.dagger_rounds)
        extra = []
        if self.out_dir.is_dir():
            extra = [p for p in data.episode_paths(self.out_dir)
                     if (int(p.stem.split("_")[1]) - 1) // 1000 < rounds_done]
        return data.build_cache(self.demo_paths + extra, self.cache_dir, progress=False)

    def collect(self, step: int, state, writer):
        from pokeil_jax import train
        from pokeil_jax.env import PokemonEnv, rom_sha1
        from pokeil_jax.experts import make_expert

        args = self.args
        if self.env is None:
            self.env = PokemonEnv(rom_path=args.rom_path, max_episode_steps=args.dagger_max_steps)
        round_index = step // self.phase - 1
        beta = args.dagger_beta ** (round_index + 1)
        paths = collect_round(
            self.env, make_expert(args.dagger_expert, rom_path=args.rom_path), args.dagger_expert,
            train.policy_fn(state), round_index, args.dagger_episodes, beta,
            self.out_dir, rom_sha1(self.env.rom_path), args.seed,
        )
        reached = [data.read_metadata(p)["terminated"] for p in paths]
        demos = self.training_set(step)
        self.log(writer, {"dagger/round": round_index + 1, "dagger/beta": beta,
                          "dagger/rollout_success_rate": float(np.mean(reached)),
                          "dagger/training_transitions": demos.num_transitions}, step)
        print(f"\ndagger round {round_index + 1}: beta {beta:.2f}, {len(paths)} episodes "
              f"({np.mean(reached):.0%} finished), training set now {demos.num_transitions} transitions")
        return demos

    def close(self):
        if self.env is not None:
            self.env.close()
