"""Online DAgger (Ross et al. 2011): let the learner drive, ask the expert what it would do.

Behavioral cloning only sees the states the expert visits; once the learner errs it is in
states nobody labelled, and errors compound. Each DAgger round rolls out a mixture — the
expert's action with probability beta, the learner's own action otherwise (its argmax, or a draw
from its softmax when the policy will be judged that way) — records every
visited state with the EXPERT's label, and adds those episodes to the training set. The
scripted MiniMon planner can be asked from any state, which is what this needs.

A cold learner (trained from scratch) first trains a phase, then plays; a warm one (a BC policy
restored with `--init-checkpoint`, the paper's pi_1 trained on the demonstrations) plays first.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np

from pokeil_jax import data, splits
from pokeil_jax.rollout import episode_arrays, episode_metadata, info_json, to_episode_file

#: First game seed of DAgger rollouts; far from demonstration (0, 1, ...) and eval (1000, ...) seeds.
DAGGER_SEED_BASE = 100_000


def learner_chooser(beta: float, rng: np.random.Generator, takeover: int = 0, sample: bool = False,
                    stall: int = 0):
    """choose(info, label, logits): the expert's label with probability `beta`, else the learner's
    argmax of `logits` (its (num_actions,) logits for this state; `sample`: an action drawn from
    its softmax with `rng`, so the rounds visit the states a sampling policy reaches, as
    `--no-eval-greedy` judges it). One chooser per env: it keeps that env's episode state.

    With `takeover` > 0, once a state (info's `state_fingerprint`) comes back for the
    `takeover`-th time in an episode the learner is stuck, and the expert drives until the next
    milestone: the rest of the episode then shows the learner's own states further on, instead
    of the same stuck states a thousand times. With `stall` > 0 the expert also takes over when
    the learner has reached no new milestone for `stall` steps (lost without coming back to one
    state, as in a maze): the episode then shows the way on from where it got lost. Every state
    keeps the expert's label either way."""
    visits: dict[str, int] = {}
    drive_until = [-1]  # the expert drives while milestone_count is below this
    progress = [0, 0]  # the episode's milestone count and the step it was reached

    def choose(info, label, logits):
        step, count = info.get("step", 0), info.get("milestone_count", 0)
        if info.get("step") == 0:  # a new episode
            visits.clear()
            drive_until[0] = -1
            progress[:] = [count, 0]
        if count > progress[0]:
            progress[:] = [count, step]
        fingerprint = info.get("state_fingerprint")
        looping = False
        if takeover and fingerprint is not None:
            visits[fingerprint] = visits.get(fingerprint, 0) + 1
            looping = visits[fingerprint] > takeover
        lost = stall and step - progress[1] >= stall
        if (looping or lost) and drive_until[0] <= count:
            drive_until[0] = count + 1
        if count < drive_until[0] or rng.random() < beta:
            return label
        logits = np.asarray(logits, np.float64)
        if not sample:
            return int(logits.argmax())
        p = np.exp(logits - logits.max())
        return int(rng.choice(len(p), p=p / p.sum()))

    return choose


#: Offset of the split episodes' seeds within a round's block of 1000 seeds (rounds of more than 500
#: episodes share some seeds with their split episodes, as more than 1000 share them with the next round).
SPLIT_SEED_OFFSET = 500


def round_seeds(round_index: int, episodes: int, split: bool = False) -> list[int]:
    """The game seeds of a round's `episodes` learner episodes (`split`: of its split episodes,
    which get seeds of their own, so they are not the same games started later)."""
    first = DAGGER_SEED_BASE + 1000 * round_index + (SPLIT_SEED_OFFSET if split else 0)
    return [first + i for i in range(episodes)]


def _episode_rounds(out_dir: Path) -> list[tuple[Path, int]]:
    """(path, dagger_round from its metadata) of every episode in `out_dir`, in file order."""
    if not out_dir.is_dir() or not any(out_dir.glob("episode_*.npz")):
        return []
    return [(p, int(data.read_metadata(p)["dagger_round"])) for p in data.episode_paths(out_dir)]


def episodes_of_rounds(out_dir: str | Path, rounds: int) -> list[Path]:
    """The DAgger episodes in `out_dir` of rounds 0..rounds-1, by the `dagger_round` in each
    episode's metadata (file numbers say nothing about rounds), in file order."""
    return [path for path, round_index in _episode_rounds(Path(out_dir)) if round_index < rounds]


class RoundPlayer:
    """The evaluator's agent for a DAgger round, one learner/expert mixture per env: every step
    each env's expert labels its state, one batched forward gives the learner's logits for all
    envs, and each env's `learner_chooser` presses the label or the learner's action.
    `on_step` (evaluate's hook) records each episode as `rollout.record_episode` would;
    `episodes` maps the position of each finished episode's seed to it."""

    deterministic = False  # a mixture with draws: the evaluator must not stop its loops

    def __init__(self, experts, logits_fn, choosers):
        self.experts, self.logits_fn, self.choosers = list(experts), logits_fn, list(choosers)
        self._steps: list = [None] * len(self.experts)  # per env: the episode's lists, None when idle
        self._pending: list = [None] * len(self.experts)  # per env: (observation, label, pressed) of the step under way
        self.episodes: dict[int, dict] = {}

    def reset(self, env_index: int, episode_seed: int = 0) -> None:
        self.experts[env_index].reset()
        self._steps[env_index] = {key: [] for key in ("observations", "labels", "executed", "rewards", "dones", "infos")}

    def act(self, observations, infos):
        from pokeil_jax.vector_env import env_info, network_frames

        logits = np.asarray(self.logits_fn(network_frames(observations, infos)), np.float64)
        pressed = np.zeros(len(observations), np.int64)
        for i, obs in enumerate(observations):
            if self._steps[i] is None:
                continue  # no episode here any more
            info = env_info(infos[i])
            label = int(self.experts[i].get_action(obs, info))
            pressed[i] = int(self.choosers[i](info, label, logits[i]))
            self._pending[i] = (obs.copy(), label, int(pressed[i]))
        return pressed

    def on_step(self, env_index, seed_index, action, reward, observation, info, terminated, truncated) -> None:
        from pokeil_jax.vector_env import env_info

        steps = self._steps[env_index]
        obs, label, pressed = self._pending[env_index]
        for key, value in (("observations", obs), ("labels", label), ("executed", pressed), ("rewards", reward),
                           ("dones", terminated or truncated), ("infos", info_json(env_info(info)))):
            steps[key].append(value)
        if terminated or truncated:
            self.episodes[seed_index] = episode_arrays(
                steps["observations"], steps["labels"], steps["executed"], steps["rewards"], steps["dones"],
                steps["infos"], observation.copy(), terminated, truncated, False, env_info(info))
            self._steps[env_index] = None


def play_round(envs, experts, logits_fn, game_seeds, max_steps: int, choosers, start_milestone: int = 0) -> list[dict]:
    """The episodes of `game_seeds` (in that order), played in parallel in the vector env `envs`
    (autoreset off; `experts` and `choosers` one per env) and recorded."""
    from pokeil_jax.evaluate import evaluate

    player = RoundPlayer(experts, logits_fn, choosers)
    evaluate(player, envs, game_seeds, max_steps=max_steps, stop_loops=False,
             reset_options=splits.reset_options(start_milestone), on_step=player.on_step)
    return [player.episodes[k] for k in range(len(game_seeds))]


def collect_round(
    envs,
    experts,
    expert_name: str,
    logits_fn,
    round_index: int,
    episodes: int,
    beta: float,
    out_dir: str | Path,
    rom_sha1: str,
    seed: int,
    takeover: int = 0,
    start_milestone: int = 0,
    sample_learner: bool = False,
    max_steps: int | None = None,
    game=None,
    stall_takeover: int = 0,
    split_episodes: int = 0,
    split_milestone: int = 0,
) -> list[Path]:
    """Roll out `episodes` learner/expert mixtures in the vector env `envs` (one expert per env),
    then `split_episodes` more that start at split `split_milestone` (on seeds of their own: the
    learner practises the part of the game where it fails most, without first playing up to it),
    write them as episode files in `out_dir`, numbered after the ones already there,
    `dagger_round` (and `start_milestone` when not 0) in their metadata.

    Deterministic given (the learner's parameters, round_index, seed, the number of envs): env
    i's mixture draws from its own generator, and the evaluator hands out the seeds in order, so
    a resumed run re-collects the same episodes, replacing what a killed run left of this round.
    Episodes start at split `start_milestone` (0: the game's start; see pokeil_jax.splits),
    are cut after `max_steps`; `sample_learner`, `takeover`, `stall_takeover` (its `stall`):
    see learner_chooser. `game`: what the episode
    metadata says of the env (its adapter, game_code, frames_per_step, hold_frames and
    milestone_names: a PokemonEnv), default read from `envs`. Returns the written paths.
    """
    out_dir = Path(out_dir)
    for path, earlier_run_round in _episode_rounds(out_dir):
        if earlier_run_round >= round_index:  # left by a run that was killed and resumed before it
            path.unlink()
    first_index = data.next_episode_index_and_seed(out_dir)[0]
    choosers = [learner_chooser(beta, np.random.default_rng([seed, round_index, 2, i]), takeover, sample_learner,
                                stall_takeover) for i in range(envs.num_envs)]
    seeds = round_seeds(round_index, episodes)
    played = play_round(envs, experts, logits_fn, seeds, max_steps, choosers, start_milestone)
    starts = [start_milestone] * len(seeds)
    if split_episodes:
        split_seeds = round_seeds(round_index, split_episodes, split=True)
        played += play_round(envs, experts, logits_fn, split_seeds, max_steps, choosers, split_milestone)
        seeds, starts = seeds + split_seeds, starts + [split_milestone] * split_episodes
    game = game if game is not None else _game_of(envs)
    paths = []
    for i, (game_seed, episode, start) in enumerate(zip(seeds, played, starts)):
        extra = {"start_milestone": start} if start else {}
        metadata = episode_metadata(game, rom_sha1, f"dagger:{expert_name}", game_seed, 0.0, episode,
                                    dagger_round=round_index, dagger_beta=beta, **extra)
        path = out_dir / f"episode_{first_index + i:04d}.npz"
        data.write_episode(path, to_episode_file(episode, metadata))
        paths.append(path)
    return paths


def _game_of(envs):
    """What episode_metadata reads of an env, from a vector env's first env."""
    import types

    get = lambda name: envs.get_attr(name)[0]  # noqa: E731
    return types.SimpleNamespace(adapter=types.SimpleNamespace(name=get("adapter").name), game_code=get("game_code"),
                                 frames_per_step=get("frames_per_step"), hold_frames=get("hold_frames"),
                                 milestone_names=get("milestone_names"))


@dataclasses.dataclass(frozen=True)
class DaggerConfig:
    """What the DAgger loop needs to know (bc_pokemon_jax.py fills it from its --dagger-* flags)."""

    rounds: int
    """rounds of learner play; training is split into rounds+1 equal phases (`rounds` with `warm_start`)"""
    episodes: int
    """episodes the learner plays per round"""
    beta: float
    """round r (0-based) presses the expert's own action with probability beta**(r+1)"""
    expert: str
    """expert that labels every visited state (`experts.make_expert` spec; must answer from any state)"""
    max_steps: int
    """DAgger episodes are cut after this many steps"""
    total_training_steps: int
    expert_data_dir: str
    """the demonstrations' folder: DAgger episodes go to <expert_data_dir>/dagger/<run_name>/"""
    rom_path: str | None = None
    seed: int = 0
    takeover: int = 0
    """the expert drives to the next milestone when a state comes back this many times (0: never)"""
    start_milestone: int = 0
    """learner episodes start at this split (pokeil_jax.splits; 0: the game's start)"""
    sample_learner: bool = False
    """the learner's actions are drawn from its softmax instead of its argmax"""
    num_envs: int = 1
    """envs the round's episodes play in at once (at most `episodes`; 1: in this process)"""
    stall_takeover: int = 0
    """the expert drives to the next milestone when the learner reached none for this many steps (0: never)"""
    warm_start: bool = False
    """the learner already plays before training (a restored policy): round 1 comes at step 0 and
    each round is followed by one of `rounds` equal training phases"""
    split_episodes: int = 0
    """besides `episodes`, learner episodes per round that start at split `split_milestone`"""
    split_milestone: int = 0
    """where the split episodes start (pokeil_jax.splits; >= 1 when split_episodes > 0)"""

    def __post_init__(self):
        if (self.rounds < 1 or self.episodes < 1 or not 0 <= self.beta <= 1 or self.takeover < 0
                or self.num_envs < 1 or self.stall_takeover < 0 or self.split_episodes < 0
                or (self.split_episodes and self.split_milestone < 1)):
            raise ValueError("dagger rounds, episodes and num_envs must be >= 1, beta in [0, 1], takeover, stall_takeover, "
                             "split_episodes >= 0 and split_milestone >= 1 with split episodes, "
                             f"got rounds={self.rounds}, episodes={self.episodes}, num_envs={self.num_envs}, "
                             f"beta={self.beta}, takeover={self.takeover}, stall_takeover={self.stall_takeover}, "
                             f"split_episodes={self.split_episodes}, split_milestone={self.split_milestone}")


class DaggerLoop:
    """The DAgger side of the loop: when a training phase ends, the learner plays and the
    expert labels; the training set grows by those episodes."""

    def __init__(self, config: DaggerConfig, run_name: str, demo_paths, writer_log):
        """`writer_log(writer, scalars, step)` logs scalars."""
        self.config = config
        self.log = writer_log
        # A cold learner trains a phase before it first plays; a warm one plays first.
        self.first_round_after = 0 if config.warm_start else 1
        self.phase = max(1, config.total_training_steps // (config.rounds + self.first_round_after))
        self.demo_paths = list(demo_paths)
        self.out_dir = Path(config.expert_data_dir) / "dagger" / run_name
        self.cache_dir = data.default_cache_dir(config.expert_data_dir)
        self.envs = self.game = self.rom_sha1 = None  # made at the first round: worker envs, what metadata says of them

    def round_index(self, step: int) -> int:
        """0-based index of the round played at `step` (when `round_ends_at(step)`)."""
        return step // self.phase - self.first_round_after

    def round_ends_at(self, step: int) -> bool:
        """Whether the learner plays a round after `step` training steps."""
        return step % self.phase == 0 and 0 <= self.round_index(step) < self.config.rounds

    def training_set(self, step: int):
        """Demonstrations plus the DAgger episodes of the rounds played by `step`."""
        rounds_done = min(max(self.round_index(step) + 1, 0), self.config.rounds)
        extra = episodes_of_rounds(self.out_dir, rounds_done)
        return data.build_cache(self.demo_paths + extra, self.cache_dir, progress=False)

    def collect(self, step: int, state, writer):
        from pokeil_jax import train, vector_env
        from pokeil_jax.data.lock import FolderLock
        from pokeil_jax.env import rom_sha1
        from pokeil_jax.experts import make_expert

        config = self.config
        if self.envs is None:
            self.envs = vector_env.make_eval_envs(min(config.num_envs, config.episodes), rom_path=config.rom_path,
                                                  max_episode_steps=config.max_steps, fingerprint=True)
            self.game = _game_of(self.envs)
            self.rom_sha1 = rom_sha1(self.envs.get_attr("rom_path")[0])
        round_index = self.round_index(step)
        beta = config.beta ** (round_index + 1)
        experts = [make_expert(config.expert, rom_path=config.rom_path) for _ in range(self.envs.num_envs)]
        with FolderLock(self.out_dir, f"DAgger round {round_index + 1} of {self.out_dir.name}"):
            paths = collect_round(
                self.envs, experts, config.expert, train.policy_fn(state), round_index, config.episodes, beta,
                self.out_dir, self.rom_sha1, config.seed, config.takeover, config.start_milestone,
                config.sample_learner, config.max_steps, self.game, config.stall_takeover,
                config.split_episodes, config.split_milestone,
            )
        reached = [data.read_metadata(p)["terminated"] for p in paths]
        demos = self.training_set(step)
        self.log(writer, {"dagger/round": round_index + 1, "dagger/beta": beta,
                          "dagger/rollout_success_rate": float(np.mean(reached)),
                          "dagger/training_transitions": demos.num_transitions}, step)
        split = f" ({config.split_episodes} from split {config.split_milestone})" if config.split_episodes else ""
        print(f"\ndagger round {round_index + 1}: beta {beta:.2f}, {len(paths)} episodes{split} "
              f"({np.mean(reached):.0%} finished), training set now {demos.num_transitions} transitions")
        return demos

    def close(self):
        if self.envs is not None:
            self.envs.close()
