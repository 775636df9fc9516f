"""Judge a policy (or an expert) in the env on chosen seeds, several envs at once.

`evaluate(agent, envs, seeds)` plays one episode per seed in a Gymnasium vector env (one
emulator per process) and returns an `EvalReport` with the seed plan's metrics: mean and std
episodic return, milestone completion rate (mean fraction of milestones reached), per-milestone
rates, mean episode length and success rate (every milestone reached). A policy is asked for the
whole batch of observations at once (one batched forward per step); an expert per env.

Loops: a greedy policy is a fixed function of the screen, and the bundled games are a fixed
function of their state and the buttons, so once an episode's state repeats (envs made with
`fingerprint=True`) it repeats forever and nothing more will be reached. `evaluate` ends such an
episode there and scores it as if it had run to the cut (same return, milestones and splits,
length = the cut), which is exact and saves most of the time stuck policies cost. A greedy
`PolicyAgent(escape_loops=k)` instead samples its way out of a screen that comes back (see
there); it is no longer a fixed function of the screen, so its episodes run on.

Stalls: `evaluate(stall_steps=n)` ends an episode that reached no new milestone in its last n
steps, with what it reached so far (its length is where it stopped; the report's `stalled`
marks it). Unlike a loop this is not exact: a policy that would have found its way after more
than n steps is scored as stuck. On long games it saves most of the time that stuck episodes
spend running to the cut; pick n above the expert's longest gap between two milestones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import gymnasium
import numpy as np

from pokeil_jax import losses
from pokeil_jax.atomic import atomic_write
from pokeil_jax.vector_env import env_info, idle_action, network_frames, unbatch_info


class Agent(Protocol):
    #: True when `act` is a fixed function of the observations (then a repeated state is a loop).
    deterministic: bool

    def reset(self, env_index: int, episode_seed: int = 0) -> None:
        """Env `env_index` starts a new episode, that of game seed `episode_seed`."""

    def act(self, observations: np.ndarray, infos: Sequence[dict]) -> np.ndarray:
        """uint8 (N, 160, 240, 3) observations and N infos -> int (N,) actions."""


def policy_is_deterministic(greedy: bool, escape_loops: int) -> bool:
    """Whether a `PolicyAgent(greedy=..., escape_loops=...)` is a fixed function of the screen
    (then a repeated state is a loop, which `evaluate` can stop: it reads the envs' fingerprints)."""
    return bool(greedy and not escape_loops)


class PolicyAgent:
    """A network policy: one batched forward per step, greedy or sampled, on the frames the env
    workers preprocessed (`vector_env.network_frames`; else preprocessed here).

    `escape_loops` (greedy only): the agent remembers the screens it has seen this episode, and
    when a screen comes back, its next `escape_loops` actions are drawn from its softmax instead
    of its argmax. A greedy policy is a fixed function of the screen, so a screen that comes back
    in a deterministic game usually means a loop it would never leave; the few sampled steps
    walk it out, and its own argmax takes over again. Only the observations decide this, so it
    works on any game. 0: pure argmax (the evaluator then ends looping episodes early).
    """

    def __init__(self, logits_fn: Callable[[np.ndarray], Any], greedy: bool = True, seed: int = 0,
                 escape_loops: int = 0):
        if escape_loops < 0:
            raise ValueError(f"escape_loops must be >= 0 (sampled steps after a screen repeats), got {escape_loops}")
        self.logits_fn = logits_fn  # uint8 (N, 84, 84, 3) -> (N, num_actions) logits
        self.greedy = greedy
        self.escape_loops = int(escape_loops) if greedy else 0
        self.deterministic = policy_is_deterministic(greedy, self.escape_loops)
        self.seed = int(seed)
        self._rng = np.random.default_rng(seed)  # for envs never reset (an episode's own draws come from _rngs)
        self._rngs: dict[int, np.random.Generator] = {}  # per env: its episode's draws
        self._screens: dict[int, set] = {}  # per env: digests of the screens seen this episode
        self._sampling: dict[int, int] = {}  # per env: sampled steps left in the current escape
        #: steps taken and steps sampled to escape a loop, over the agent's life
        self.steps = self.escape_steps = 0

    def reset(self, env_index: int, episode_seed: int = 0) -> None:
        """Why a generator per episode, seeded by the agent's seed and the game seed: an episode
        then draws the same actions whichever env plays it and whatever the others do, so a
        report does not depend on `--eval-num-envs` or on the order the seeds are played in."""
        self._screens[env_index] = set()
        self._sampling[env_index] = 0
        self._rngs[env_index] = np.random.default_rng([self.seed % 2**63, int(episode_seed) % 2**63])

    def act(self, observations, infos):
        frames = network_frames(observations, infos)
        logits = np.asarray(self.logits_fn(frames), np.float64)
        self.steps += len(logits)
        if self.greedy and not self.escape_loops:
            return logits.argmax(axis=-1)
        if not self.greedy:
            return np.array([self._sample(row, self._rngs.get(i, self._rng)) for i, row in enumerate(logits)])
        actions = logits.argmax(axis=-1)
        for i, frame in enumerate(frames):
            digest = hashlib.blake2b(frame.tobytes(), digest_size=16).digest()
            screens = self._screens.setdefault(i, set())
            if digest in screens:
                self._sampling[i] = self.escape_loops
            screens.add(digest)
            if self._sampling.get(i, 0) > 0:
                self._sampling[i] -= 1
                self.escape_steps += 1
                actions[i] = self._sample(logits[i], self._rngs.get(i, self._rng))
        return actions

    @staticmethod
    def _sample(logits: np.ndarray, rng: np.random.Generator) -> int:
        p = np.exp(logits - logits.max())
        return int(rng.choice(len(p), p=p / p.sum()))


class ExpertAgent:
    """One expert (reset / get_action(obs, info) protocol) per env."""

    deterministic = False  # an expert may keep a plan between steps

    def __init__(self, make_expert: Callable[[], Any], num_envs: int):
        self.experts = [make_expert() for _ in range(num_envs)]

    def reset(self, env_index: int, episode_seed: int = 0) -> None:
        self.experts[env_index].reset()

    def act(self, observations, infos):
        return np.array([e.get_action(o, env_info(i)) for e, o, i in zip(self.experts, observations, infos)])


#: steps on one tile after which an unfinished episode counts as standing still (`unfinished_ends`)
STILL_STEPS = 100


def unfinished_ends(milestones_reached: Sequence[Sequence[bool]], end_states: Sequence[dict],
                    still_steps: int = STILL_STEPS) -> list[tuple[str, int, int]]:
    """Where the episodes that missed a milestone ended: (map, episodes, of those how many stood
    on their last tile for `still_steps` or more), most episodes first. Episodes without an end
    state (envs without x/y) are left out. Takes a report's lists, so a report read back from its
    JSON answers the same."""
    ends: dict[str, list[int]] = {}
    for reached, end in zip(milestones_reached, end_states):
        if all(reached) or not end:
            continue
        count = ends.setdefault(str(end.get("map")), [0, 0])
        count[0] += 1
        count[1] += int((end.get("still") or 0) >= still_steps)
    return sorted(((m, n, s) for m, (n, s) in ends.items()), key=lambda e: (-e[1], e[0]))


@dataclasses.dataclass
class EvalReport:
    """Per-episode results on explicit seeds, with the summary metrics as properties."""

    milestone_names: tuple[str, ...]
    seeds: list[int]
    episodic_returns: list[float]
    episode_lengths: list[int]
    milestones_reached: list[list[bool]]  # per episode, per milestone
    # per episode, per milestone: the step it was first reached (None: never), the speedrun split
    milestone_steps: list[list[int | None]] = dataclasses.field(default_factory=list)
    # per episode: ended early in a loop, scored as if run to the cut (see the module docstring)
    looped: list[bool] = dataclasses.field(default_factory=list)
    # per episode: ended after `stall_steps` without a new milestone (see the module docstring)
    stalled: list[bool] = dataclasses.field(default_factory=list)
    # per episode: where it ended, from the last info: map (its name where the game gives one), x,
    # y, mode, and `still`, the steps it spent on that last tile (a policy walking into a wall
    # or talking to the same person forever stands still); empty for envs without x/y. An
    # episode ended in a loop ends where the loop was found.
    end_states: list[dict] = dataclasses.field(default_factory=list)

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.episodic_returns))

    @property
    def std_return(self) -> float:
        return float(np.std(self.episodic_returns))

    @property
    def per_milestone_rates(self) -> dict[str, float]:
        reached = np.asarray(self.milestones_reached, np.float64).reshape(len(self.seeds), -1)
        return dict(zip(self.milestone_names, map(float, reached.mean(axis=0))))

    @property
    def steps_to_milestone(self) -> dict[str, float]:
        """Mean step at which each milestone is first reached, over the episodes that reach it
        (NaN when none does)."""
        out = {}
        for j, name in enumerate(self.milestone_names):
            at = [steps[j] for steps in self.milestone_steps if steps[j] is not None]
            out[name] = float(np.mean(at)) if at else float("nan")
        return out

    @property
    def milestone_completion_rate(self) -> float:
        return float(np.mean(self.milestones_reached))

    @property
    def mean_length(self) -> float:
        return float(np.mean(self.episode_lengths))

    @property
    def success_rate(self) -> float:
        return float(np.mean([all(m) for m in self.milestones_reached]))

    def unfinished_ends(self, still_steps: int = STILL_STEPS) -> list[tuple[str, int, int]]:
        """`unfinished_ends` of this report's episodes."""
        return unfinished_ends(self.milestones_reached, self.end_states, still_steps)

    def summary(self) -> dict[str, float]:
        """The scalar metrics, keyed as they are logged (eval/...)."""
        return {
            "eval/episodic_return": self.mean_return,
            "eval/episodic_return_std": self.std_return,
            "eval/milestone_completion": self.milestone_completion_rate,
            "eval/episode_length": self.mean_length,
            "eval/success_rate": self.success_rate,
            **{f"eval/milestone/{k}": v for k, v in self.per_milestone_rates.items()},
            **{f"eval/steps_to/{k}": v for k, v in self.steps_to_milestone.items() if v == v},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "episodes": len(self.seeds),
            "mean_return": self.mean_return,
            "std_return": self.std_return,
            "milestone_completion_rate": self.milestone_completion_rate,
            "per_milestone_rates": self.per_milestone_rates,
            "steps_to_milestone": {k: (v if v == v else None) for k, v in self.steps_to_milestone.items()},
            "mean_episode_length": self.mean_length,
            "success_rate": self.success_rate,
        }


def demo_metrics(logits_fn: Callable[[np.ndarray], Any], demos, batch_size: int = 256) -> dict[str, float]:
    """Mean BC loss (cross-entropy) and accuracy of a policy on every transition of `demos` (a
    `pokeil_jax.data.CachedDemos`), each counted once. `logits_fn`: uint8 (N, 84, 84, 3) ->
    (N, num_actions) logits, from any framework."""
    loss_sum = correct = count = 0.0
    for batch in demos.eval_batches(batch_size):
        mask = batch["mask"].astype(np.float64)
        logits = np.asarray(logits_fn(batch["observations"]), np.float64)
        actions = batch["actions"].astype(np.int64)
        loss_sum += float((losses.cross_entropy(logits, actions, np) * mask).sum())
        correct += float((losses.correct(logits, actions, np) * mask).sum())
        count += float(mask.sum())
    return {"bc_loss": loss_sum / count, "accuracy": correct / count}


def format_table(reports: dict[str, EvalReport]) -> str:
    """Side-by-side table of several reports (e.g. {"expert": ..., "BC policy": ...})."""
    names = list(reports)
    first = reports[names[0]]
    rows = [
        ("episodes", lambda r: f"{len(r.seeds)}"),
        ("return (mean ± std)", lambda r: f"{r.mean_return:.2f} ± {r.std_return:.2f}"),
        ("milestone completion", lambda r: f"{r.milestone_completion_rate:.1%}"),
        ("success rate", lambda r: f"{r.success_rate:.1%}"),
        ("episode length", lambda r: f"{r.mean_length:.1f}"),
    ] + [(f"  {m}", (lambda m: lambda r: f"{r.per_milestone_rates[m]:.0%}")(m)) for m in first.milestone_names]
    if any(any(r.looped) for r in reports.values()):
        rows += [("ended in a loop", lambda r: f"{sum(r.looped)}")]
    if any(any(r.stalled) for r in reports.values()):
        rows += [("ended stalled", lambda r: f"{sum(r.stalled)}")]
    if any(r.unfinished_ends() for r in reports.values()):
        rows += [("unfinished ended in", lambda r: ", ".join(f"{m} {n}" for m, n, _ in r.unfinished_ends()[:2]) or "-")]
    if all(r.milestone_steps for r in reports.values()):
        rows += [("steps to milestone", lambda r: "")]
        rows += [(f"  {m}", (lambda m: lambda r: "-" if r.steps_to_milestone[m] != r.steps_to_milestone[m]
                              else f"{r.steps_to_milestone[m]:.0f}")(m)) for m in first.milestone_names]
    width = max(len(label) for label, _ in rows) + 2
    colw = max(14, *(len(n) + 2 for n in names))
    lines = ["".ljust(width) + "".join(n.rjust(colw) for n in names)]
    lines += [label.ljust(width) + "".join(fmt(reports[n]).rjust(colw) for n in names) for label, fmt in rows]
    return "\n".join(lines)


def save_report_json(reports: dict[str, EvalReport], path: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write {name: report dict, ...} (+ extra) as JSON, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {name: r.to_dict() for name, r in reports.items()}
    payload.update(extra or {})
    with atomic_write(path, "w") as f:
        json.dump(payload, f, indent=2, default=_numpy_scalar)
    return path


def _numpy_scalar(value):
    """JSON for a numpy scalar that slipped into a report (its Python value); anything else is refused."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a report holds {type(value).__name__}, which JSON cannot write")


def _episode_limits(envs, max_steps: int | None) -> list[int | None]:
    """Each env's episode cut: `max_steps` or the env's own `max_episode_steps`, the smaller;
    None where neither is known."""
    try:
        own = envs.get_attr("max_episode_steps")
    except AttributeError:
        own = [None] * envs.num_envs
    limits = []
    for own_limit in own:
        known = [x for x in (own_limit, max_steps) if x is not None]
        limits.append(min(known) if known else None)
    return limits


def evaluate(
    agent: Agent,
    envs: gymnasium.vector.VectorEnv,
    seeds: Sequence[int],
    max_steps: int | None = None,
    record_frames: list | None = None,
    progress: bool = False,
    stop_loops: bool = True,
    reset_options: dict | None = None,
    on_step: Callable[..., None] | None = None,
    stall_steps: int | None = None,
) -> EvalReport:
    """Play one episode per seed (in parallel across `envs`) and report.

    `reset_options` go to every episode's reset (e.g. `{"start_milestone": k}`: each episode
    starts at that split, its milestones before k done at step 0).

    `max_steps` cuts episodes shorter than the env's own limit (they count as truncated).
    If `record_frames` is a list, the first episode's observations are appended to it.
    `stop_loops`: end an episode whose state repeats (needs a deterministic agent and envs that
    report `state_fingerprint`), scored exactly as if it had run to the cut.
    `on_step(env_index, seed_index, action, reward, observation, info, terminated, truncated)`
    is called after every step of an episode (the cut counts as truncated), before any reset:
    what a recorder needs (DAgger's rounds record their episodes this way).
    `stall_steps`: end an episode that reached no new milestone in that many steps (a cut at
    that step; None or 0: never).
    """
    if stall_steps is not None and stall_steps < 0:
        raise ValueError(f"stall_steps must be >= 1 (or 0/None: off), got {stall_steps}")
    seeds = [int(s) for s in seeds]
    n = envs.num_envs
    milestone_names = tuple(envs.get_attr("milestone_names")[0])
    results: dict[int, tuple[float, int, list[bool], list, bool]] = {}  # by position in `seeds`
    queue = list(range(len(seeds)))
    current: list[int | None] = [None] * n
    returns = np.zeros(n)
    lengths = np.zeros(n, int)
    firsts: list[list[int | None]] = [[None] * len(milestone_names) for _ in range(n)]
    progress_at = np.zeros(n, int)  # each env's step of its episode's latest new milestone
    stop_loops = stop_loops and bool(getattr(agent, "deterministic", False))
    idle = idle_action(envs)  # what an env with no seed left to play is sent: no step, where the envs allow
    idle = 0 if idle is None else idle
    limits = _episode_limits(envs, max_steps)
    seen: list[set] = [set() for _ in range(n)]  # state fingerprints of each env's episode
    tiles: list[tuple | None] = [None] * n  # each env's last (map, x, y)
    still = np.zeros(n, int)  # each env's steps on that tile

    def note_tile(i: int, info: dict) -> None:
        tile = (info.get("map_name") or info.get("map"), info.get("x"), info.get("y"))
        still[i] = still[i] + 1 if tile == tiles[i] else 0
        tiles[i] = tile

    def end_state(i: int, info: dict) -> dict:
        map_name, x, y = tiles[i]
        if x is None:
            return {}
        return {"map": map_name, "x": int(x), "y": int(y), "mode": info.get("mode"), "still": int(still[i])}

    def in_loop(i: int, info: dict) -> bool:
        """Whether env i's state was seen before in this episode (and remember it)."""
        fingerprint = info.get("state_fingerprint")
        if not stop_loops or fingerprint is None or limits[i] is None:
            return False
        if fingerprint in seen[i]:
            return True
        seen[i].add(fingerprint)
        return False

    def note_milestones(i: int, info: dict, step: int) -> None:
        for j, m in enumerate(milestone_names):
            if firsts[i][j] is None and info["milestones"][m]:
                firsts[i][j] = step
                progress_at[i] = step

    first = [queue.pop(0) if queue else None for _ in range(n)]
    start_mask = np.array([s is not None for s in first])
    reset_options = dict(reset_options or {})
    obs, infos = envs.reset(seed=[seeds[k] if k is not None else 0 for k in first], options=reset_options)
    info_list = [unbatch_info(infos, i) for i in range(n)]
    current = first
    for i in range(n):
        note_milestones(i, info_list[i], 0)
        note_tile(i, info_list[i])
        in_loop(i, info_list[i])
        if current[i] is not None:
            agent.reset(i, seeds[current[i]])
    recording = record_frames is not None
    if recording:
        record_frames.append(obs[0].copy())

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(seeds), desc="eval", unit="ep", leave=False)
    active = start_mask.copy()
    while active.any():
        actions = np.asarray(agent.act(obs, info_list), np.int64)
        actions[~active] = idle
        obs, rewards, terminated, truncated, infos = envs.step(actions)
        info_list = [unbatch_info(infos, i) for i in range(n)]
        returns += np.where(active, rewards, 0.0)
        lengths += active
        if recording and active[0]:
            record_frames.append(obs[0].copy())
        reset_mask = np.zeros(n, bool)
        new_seeds = [0] * n
        for i in range(n):
            if not active[i]:  # an idle env's episode may end too; reset it to keep it steppable
                reset_mask[i] = bool(terminated[i] or truncated[i])
                continue
            note_milestones(i, info_list[i], int(lengths[i]))
            note_tile(i, info_list[i])
            at_max = max_steps is not None and lengths[i] >= max_steps
            stalled = bool(stall_steps and lengths[i] - progress_at[i] >= stall_steps and not at_max
                           and not (terminated[i] or truncated[i]))  # a Python bool: the report is JSON
            cut = at_max or stalled
            if on_step is not None:
                on_step(i, current[i], int(actions[i]), float(rewards[i]), obs[i], info_list[i], bool(terminated[i]),
                        bool(truncated[i] or (cut and not terminated[i])))
            looped = not (terminated[i] or truncated[i] or cut) and in_loop(i, info_list[i])
            if not (terminated[i] or truncated[i] or cut or looped):
                continue
            reached = [bool(info_list[i]["milestones"][m]) for m in milestone_names]
            recorded = info_list[i].get("milestone_steps")  # the env's own split, when it keeps one
            steps = [recorded.get(m) for m in milestone_names] if recorded is not None else firsts[i]
            length = limits[i] if looped else int(lengths[i])
            results[current[i]] = (float(returns[i]), length, reached, steps, looped, stalled,
                                   end_state(i, info_list[i]))
            if i == 0:
                recording = False
            if bar is not None:
                bar.update(1)
            returns[i], lengths[i] = 0.0, 0
            # A finished env is reset even when no seed is left: with autoreset disabled, a
            # vector env refuses to step an env whose episode ended.
            reset_mask[i] = True
            if queue:
                current[i] = queue.pop(0)
                new_seeds[i] = seeds[current[i]]
            else:
                current[i] = None
                active[i] = False
        if reset_mask.any():
            new_obs, new_infos = envs.reset(seed=new_seeds, options={**reset_options, "reset_mask": reset_mask})
            obs = np.where(reset_mask[:, None, None, None], new_obs, obs)
            for i in np.flatnonzero(reset_mask):
                info_list[i] = unbatch_info(new_infos, int(i))
                firsts[i] = [None] * len(milestone_names)
                progress_at[i] = 0
                note_milestones(int(i), info_list[i], 0)
                tiles[i] = None
                note_tile(int(i), info_list[i])
                seen[i] = set()
                in_loop(int(i), info_list[i])
                if active[i]:
                    agent.reset(int(i), seeds[current[i]])
    if bar is not None:
        bar.close()
    ordered = [results[k] for k in range(len(seeds))]
    return EvalReport(
        milestone_names=milestone_names,
        seeds=seeds,
        episodic_returns=[r[0] for r in ordered],
        episode_lengths=[r[1] for r in ordered],
        milestones_reached=[r[2] for r in ordered],
        milestone_steps=[r[3] for r in ordered],
        looped=[r[4] for r in ordered],
        stalled=[r[5] for r in ordered],
        end_states=[r[6] for r in ordered],
    )

