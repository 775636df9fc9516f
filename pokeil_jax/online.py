"""Online fine-tuning for DQN-BC (the plan's Phase 3): the student plays epsilon-greedily in a
vector env, an expert labels every state it visits, and the steps go into a replay buffer that
each batch draws from beside the demonstrations (DQfD-style, a fixed share from each).

    collector = OnlineCollector(envs, buffer, expert="scripted", seed=1, max_steps=300)
    collector.step(logits_fn, epsilon)                       # one step in every env
    batch = mixed_batch(demo_batch, buffer, seed, step, buffer_rows)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from pokeil_jax.vector_env import env_info, network_frames, unbatch_info
from pokeil_jax.replay import ReplayBuffer

#: First game seed of online episodes; far from demonstration, eval and DAgger seeds.
ONLINE_SEED_BASE = 200_000


class OnlineCollector:
    """Steps a vector env (autoreset disabled, as `vector_env.make_eval_envs` builds it) with the
    student's epsilon-greedy actions and adds every step to `buffer` with the expert's label."""

    def __init__(self, envs, buffer: ReplayBuffer, expert: str | None, seed: int, max_steps: int,
                 first_episode: int = 0, rom_path=None):
        from pokeil_jax.experts import make_expert

        self.envs, self.buffer, self.max_steps = envs, buffer, max_steps
        self.num_envs = envs.num_envs
        self.experts = [make_expert(expert, rom_path=rom_path) for _ in range(self.num_envs)] if expert else None
        self.seed = seed
        self.rng = np.random.default_rng([seed, first_episode, 3])
        self.episodes_started = first_episode
        self.finished_returns: list[float] = []
        self.finished_success: list[bool] = []
        seeds = [self._next_seed() for _ in range(self.num_envs)]
        self.obs, infos = envs.reset(seed=seeds)
        self.infos = [unbatch_info(infos, i) for i in range(self.num_envs)]
        self.returns = np.zeros(self.num_envs)
        self.lengths = np.zeros(self.num_envs, int)
        for i in range(self.num_envs):
            self._reset_expert(i)

    def _next_seed(self) -> int:
        self.episodes_started += 1
        return ONLINE_SEED_BASE + 1000 * self.seed + self.episodes_started

    def _reset_expert(self, i: int) -> None:
        if self.experts is not None:
            self.experts[i].reset()

    def step(self, logits_fn: Callable[[np.ndarray], np.ndarray], epsilon: float) -> None:
        """One step in every env: actions argmax Q (random with probability `epsilon`)."""
        frames = network_frames(self.obs, self.infos)
        actions = np.asarray(logits_fn(frames)).argmax(axis=-1)
        explore = self.rng.random(self.num_envs) < epsilon
        actions = np.where(explore, self.rng.integers(0, 10, self.num_envs), actions).astype(np.int64)
        if self.experts is not None:
            labels = [int(e.get_action(o, env_info(info))) for e, o, info in zip(self.experts, self.obs, self.infos)]
        else:
            labels = [0] * self.num_envs
        obs, rewards, terminated, truncated, infos = self.envs.step(actions)
        self.infos = [unbatch_info(infos, i) for i in range(self.num_envs)]
        next_frames = network_frames(obs, self.infos)
        self.returns += rewards
        self.lengths += 1
        reset_mask = np.zeros(self.num_envs, bool)
        seeds = [0] * self.num_envs
        for i in range(self.num_envs):
            cut = bool(truncated[i]) or (self.lengths[i] >= self.max_steps and not terminated[i])
            self.buffer.add(i, frames[i], labels[i], self.experts is not None, int(actions[i]), float(rewards[i]),
                            next_frames[i], bool(terminated[i]), cut)
            if terminated[i] or cut:
                milestones = self.infos[i].get("milestones", {})
                self.finished_returns.append(float(self.returns[i]))
                self.finished_success.append(bool(milestones) and all(milestones.values()))
                self.returns[i], self.lengths[i] = 0.0, 0
                reset_mask[i] = True
                seeds[i] = self._next_seed()
        if reset_mask.any():
            new_obs, new_infos = self.envs.reset(seed=seeds, options={"reset_mask": reset_mask})
            obs = np.where(reset_mask[:, None, None, None], new_obs, obs)
            for i in np.flatnonzero(reset_mask):
                self.infos[int(i)] = unbatch_info(new_infos, int(i))
                self._reset_expert(int(i))
        self.obs = obs

    def pop_episode_stats(self) -> dict[str, float]:
        """Mean return and success of the episodes finished since the last call ({} if none)."""
        if not self.finished_returns:
            return {}
        stats = {"online/episodic_return": float(np.mean(self.finished_returns)),
                 "online/success_rate": float(np.mean(self.finished_success)),
                 "online/episodes": float(len(self.finished_returns))}
        self.finished_returns, self.finished_success = [], []
        return stats


def mixed_batch(demo_batch: dict, buffer: ReplayBuffer, seed: int, step: int, buffer_rows: int) -> dict:
    """`demo_batch` (the demonstrations' share) followed by `buffer_rows` transitions of the
    replay buffer drawn by (seed, step): one fixed batch shape for the whole online phase."""
    if buffer_rows == 0:
        return demo_batch
    replay = buffer.batch(buffer.sample_indices(seed, step, buffer_rows), tuple(demo_batch))
    return {key: np.concatenate([demo_batch[key], replay[key]]) for key in demo_batch}


class OnlinePhase:
    """The online part of a DQN-BC run: from step `start` on, each batch is `demo_rows`
    demonstration transitions (the seeded BatchSampler over `transitions`) plus the rest from
    the replay buffer, and before each step the student plays one step in every env.

    The buffer is saved as `<run_dir>/replay_<step>.npz` beside each periodic checkpoint (the
    older file removed) and loaded by a resume at that step; the envs then start new episodes.
    """

    def __init__(self, transitions, batch_size: int, demo_ratio: float, seed: int, *, capacity: int, num_envs: int,
                 expert: str | None, epsilon: float, max_steps: int, rom_path, run_dir):
        self.transitions, self.seed, self.epsilon = transitions, seed, epsilon
        self.demo_rows = int(round(demo_ratio * batch_size))
        self.buffer_rows = batch_size - self.demo_rows
        self.buffer = ReplayBuffer(capacity, num_envs, transitions.n_step, transitions.gamma)
        self.num_envs, self.expert, self.max_steps, self.rom_path = num_envs, expert, max_steps, rom_path
        self.run_dir = run_dir
        self.envs = self.collector = self.sampler = None

    def replay_path(self, step: int):
        from pathlib import Path

        return Path(self.run_dir) / f"replay_{step}.npz"

    def start(self, step: int, policy) -> None:
        """Open the envs and the demo sampler at `step`; fill the buffer until one batch's share
        can be drawn (the student plays, epsilon-greedily)."""
        from pokeil_jax.data import BatchSampler
        from pokeil_jax.vector_env import make_eval_envs

        self.envs = make_eval_envs(self.num_envs, rom_path=self.rom_path, max_episode_steps=self.max_steps)
        self.collector = OnlineCollector(self.envs, self.buffer, self.expert, self.seed, self.max_steps,
                                         first_episode=step * self.num_envs, rom_path=self.rom_path)
        if self.demo_rows:
            self.sampler = BatchSampler(self.transitions, self.demo_rows, seed=self.seed, start_step=step,
                                        keys=self.transitions.BATCH_KEYS)
        while len(self.buffer) < max(self.buffer_rows, 1):
            self.collector.step(policy, self.epsilon)

    def next_batch(self, step: int, policy) -> dict:
        """The student plays one step in each env; then the batch of `step`."""
        if self.collector is None:
            self.start(step, policy)
        self.collector.step(policy, self.epsilon)
        if self.sampler is None:
            return self.buffer.batch(self.buffer.sample_indices(self.seed, step, self.buffer_rows))
        return mixed_batch(next(self.sampler), self.buffer, self.seed, step, self.buffer_rows)

    def metrics(self) -> dict[str, float]:
        stats = self.collector.pop_episode_stats() if self.collector is not None else {}
        return {**stats, "online/replay_size": float(len(self.buffer))}

    def save(self, step: int) -> None:
        path = self.buffer.save(self.replay_path(step))
        for old in path.parent.glob("replay_*.npz"):
            if old != path:
                old.unlink()

    def load(self, step: int) -> None:
        from pokeil_jax.replay import ReplayBufferError

        path = self.replay_path(step)
        if not path.exists():
            raise ReplayBufferError(f"{path}: the replay buffer saved with the step-{step} checkpoint is missing; "
                                    f"resume from a run that saved it, or start a new run")
        self.buffer.load(path)

    def close(self, terminate: bool = False) -> None:
        """Stop the sampler and the envs; `terminate` kills the env workers at once (unwinding
        an error, when a step may still be in flight: see `vector_env.close_on_exit`)."""
        if self.sampler is not None:
            self.sampler.close()
        if self.envs is not None:
            self.envs.close(terminate=terminate)
