"""The evaluator's bookkeeping, on a tiny fake env whose outcome is known per seed."""

import json

import gymnasium
import numpy as np
import pytest

from pokeil_jax.evaluate import (
    EvalReport,
    ExpertAgent,
    PolicyAgent,
    demo_metrics,
    evaluate,
    format_table,
    save_report_json,
)


class CountdownEnv(gymnasium.Env):
    """Episode of seed s lasts s + 2 steps; action 1 earns milestone 'FIRST' (reward 1), and
    reaching the end with it earns 'SECOND' (reward 1) and terminates."""

    milestone_names = ("FIRST", "SECOND")
    observation_space = gymnasium.spaces.Box(0, 255, (160, 240, 3), np.uint8)
    action_space = gymnasium.spaces.Discrete(10)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.left, self.reached = seed + 2, [False, False]
        return self._obs(), self._info()

    def step(self, action):
        reward = 0.0
        if action == 1 and not self.reached[0]:
            self.reached[0], reward = True, 1.0
        self.left -= 1
        terminated = False
        if self.left == 0 and self.reached[0]:
            self.reached[1], reward, terminated = True, reward + 1.0, True
        truncated = self.left == 0 and not terminated
        return self._obs(), reward, terminated, truncated, self._info()

    def _obs(self):
        return np.full((160, 240, 3), self.left % 256, np.uint8)

    def _info(self):
        return {"milestones": dict(zip(self.milestone_names, self.reached)), "tiles": ("..", "#."), "left": self.left}


def make_envs(n):
    return gymnasium.vector.SyncVectorEnv([CountdownEnv for _ in range(n)],
                                          autoreset_mode=gymnasium.vector.AutoresetMode.DISABLED)


class Always:
    def __init__(self, action):
        self.action = action

    def reset(self):
        pass

    def get_action(self, obs, info):
        assert "left" in info and info["tiles"] == ("..", "#.")  # experts see per-env infos
        return self.action


@pytest.mark.parametrize("num_envs", [1, 3])
def test_each_seed_is_one_episode_with_known_outcome(num_envs):
    seeds = [0, 5, 2, 5, 1]
    report = evaluate(ExpertAgent(lambda: Always(1), num_envs), make_envs(num_envs), seeds)
    assert report.seeds == seeds
    assert report.episode_lengths == [s + 2 for s in seeds]
    assert report.episodic_returns == [2.0] * 5
    assert report.success_rate == 1.0 and report.milestone_completion_rate == 1.0
    # FIRST on the first step, SECOND on the last: the speedrun splits, per episode and as means
    assert report.milestone_steps == [[1, s + 2] for s in seeds]
    assert report.steps_to_milestone == {"FIRST": 1.0, "SECOND": float(np.mean([s + 2 for s in seeds]))}


def test_failing_agent_and_max_steps_cut():
    report = evaluate(ExpertAgent(lambda: Always(0), 2), make_envs(2), [3, 10], max_steps=4)
    assert report.episode_lengths == [4, 4]
    assert report.episodic_returns == [0.0, 0.0]
    assert report.milestone_completion_rate == 0.0 and report.success_rate == 0.0
    assert report.milestone_steps == [[None, None]] * 2
    steps = report.steps_to_milestone
    assert all(v != v for v in steps.values())  # NaN: no episode reached them
    assert "eval/steps_to/FIRST" not in report.summary()
    table = format_table({"policy": report, "expert": evaluate(ExpertAgent(lambda: Always(1), 2), make_envs(2), [3, 10])})
    assert "steps to milestone" in table
    assert table.splitlines()[-1].split()[1:] == ["-", "8"]  # SECOND: never / at (3+2 + 10+2)/2 = 8.5


def test_envs_without_a_seed_left_are_sent_the_idle_action_when_they_announce_one():
    from pokeil_jax.vector_env import IDLE_ACTION, IdleStep

    sent = []

    class Recording(gymnasium.vector.SyncVectorEnv):
        def step(self, actions):
            sent.append(list(actions))
            return super().step(actions)

    envs = Recording([lambda: IdleStep(CountdownEnv()) for _ in range(3)],
                     autoreset_mode=gymnasium.vector.AutoresetMode.DISABLED)
    report = evaluate(ExpertAgent(lambda: Always(1), 3), envs, [4, 0, 1])
    assert report.episode_lengths == [6, 2, 3] and report.milestone_completion_rate == 1.0
    # env 1 played seed 0 (2 steps) and env 2 seed 1 (3 steps); then they idle while seed 4 plays
    assert [a[1] for a in sent] == [1, 1] + [IDLE_ACTION] * 4
    assert [a[2] for a in sent] == [1, 1, 1] + [IDLE_ACTION] * 3
    plain = evaluate(ExpertAgent(lambda: Always(1), 3), make_envs(3), [4, 0, 1])
    assert plain.episode_lengths == report.episode_lengths  # without it idle envs are stepped, same results


def test_a_sampling_policy_plays_each_seed_the_same_whatever_env_plays_it():
    """Each episode draws from a generator of (agent seed, game seed): 1 env or 3, seeds in any
    order, the same outcome per seed; another agent seed draws differently."""
    flat = lambda frames: np.zeros((len(frames), 10))  # every action equally likely: FIRST is luck

    def per_seed(num_envs, seeds, agent_seed=7):
        report = evaluate(PolicyAgent(flat, greedy=False, seed=agent_seed), make_envs(num_envs), seeds)
        return {s: (reached, ret) for s, reached, ret in zip(seeds, report.milestones_reached, report.episodic_returns)}

    seeds = [5, 3, 8, 2, 6, 7, 4, 9]
    one = per_seed(1, seeds)
    assert per_seed(3, seeds) == one and per_seed(3, seeds[::-1]) == one
    assert any(per_seed(1, seeds, agent_seed=s) != one for s in (8, 9, 10))


class PressAt:
    """Presses 1 (FIRST) on its `at`-th step of an episode, 0 otherwise."""

    def __init__(self, at):
        self.at, self.steps = at, 0

    def reset(self):
        self.steps = 0

    def get_action(self, obs, info):
        self.steps += 1
        return int(self.steps == self.at)


def test_an_episode_without_a_new_milestone_for_stall_steps_ends_there():
    """FIRST at step 2; seed 10 would reach SECOND at step 12, but with stall_steps=3 it ends at
    step 5 with FIRST only. Seeds 1 and 3 end (terminated) by then: not stalled, even seed 3,
    whose last step is also its third without a new milestone."""
    seeds = [10, 1, 3]
    whole = evaluate(ExpertAgent(lambda: PressAt(2), 2), make_envs(2), seeds)
    assert whole.episode_lengths == [12, 3, 5] and whole.success_rate == 1.0 and whole.stalled == [False] * 3
    cut = evaluate(ExpertAgent(lambda: PressAt(2), 2), make_envs(2), seeds, stall_steps=3)
    assert cut.episode_lengths == [5, 3, 5]
    assert cut.milestones_reached == [[True, False], [True, True], [True, True]]
    assert cut.stalled == [True, False, False]
    assert all(type(x) is bool for x in cut.stalled)  # not numpy's: the report must be JSON
    assert json.loads(json.dumps(cut.to_dict()))["stalled"] == [True, False, False]
    assert "ended stalled" in format_table({"policy": cut}) and "ended stalled" not in format_table({"policy": whole})
    never = evaluate(ExpertAgent(lambda: Always(0), 2), make_envs(2), [10], stall_steps=4, max_steps=4)
    assert never.episode_lengths == [4] and never.stalled == [False]  # the max_steps cut comes first
    with pytest.raises(ValueError, match="stall_steps"):
        evaluate(ExpertAgent(lambda: Always(0), 1), make_envs(1), [1], stall_steps=-1)


def test_metrics_and_table_and_json(tmp_path):
    r = EvalReport(("FIRST", "SECOND"), [1, 2], [2.0, 1.0], [10, 20], [[True, True], [True, False]])
    assert r.mean_return == 1.5 and r.std_return == 0.5 and r.mean_length == 15
    assert r.per_milestone_rates == {"FIRST": 1.0, "SECOND": 0.5}
    assert r.milestone_completion_rate == 0.75 and r.success_rate == 0.5
    assert r.summary()["eval/milestone_completion"] == 0.75
    table = format_table({"expert": r, "BC policy": r})
    assert "milestone completion" in table and "75.0%" in table and "SECOND" in table
    path = save_report_json({"policy": r}, tmp_path / "report.json", {"seeds_note": "x"})
    loaded = json.loads(path.read_text())
    assert loaded["policy"]["success_rate"] == 0.5 and loaded["seeds_note"] == "x"
    numpy_made = EvalReport(("FIRST",), [1], [np.float32(1.0)], [np.int64(3)], [[np.bool_(True)]],
                            looped=[np.bool_(False)])  # numpy scalars a caller's bookkeeping may leave
    loaded = json.loads(save_report_json({"policy": numpy_made}, tmp_path / "numpy.json").read_text())
    assert loaded["policy"]["episode_lengths"] == [3] and loaded["policy"]["looped"] == [False]


class WalkEnv(CountdownEnv):
    """CountdownEnv with a position: action 1 also walks one tile right; other actions stand still."""

    def reset(self, *, seed=None, options=None):
        self.x = 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        self.x += int(action == 1)
        return super().step(action)

    def _info(self):
        return {**super()._info(), "map": 3, "map_name": "ROOM", "x": self.x, "y": 0, "mode": "overworld"}


def test_each_episode_records_where_it_ended_and_how_long_it_stood_there():
    envs = gymnasium.vector.SyncVectorEnv([WalkEnv, WalkEnv], autoreset_mode=gymnasium.vector.AutoresetMode.DISABLED)
    walker = evaluate(ExpertAgent(lambda: Always(1), 2), envs, [3, 1])  # walks every step, finishes
    assert walker.end_states == [{"map": "ROOM", "x": 5, "y": 0, "mode": "overworld", "still": 0},
                                 {"map": "ROOM", "x": 3, "y": 0, "mode": "overworld", "still": 0}]
    assert walker.unfinished_ends() == []
    stander = evaluate(ExpertAgent(lambda: Always(0), 2), envs, [3, 1, 0])  # never moves, never reaches FIRST
    assert [e["still"] for e in stander.end_states] == [5, 3, 2] and {e["x"] for e in stander.end_states} == {0}
    assert stander.unfinished_ends(still_steps=3) == [("ROOM", 3, 2)]  # seed 0 stood 2 steps only
    assert "unfinished ended in" in format_table({"policy": stander}) and "ROOM 3" in format_table({"policy": stander})
    assert "unfinished ended in" not in format_table({"policy": walker})
    assert evaluate(ExpertAgent(lambda: Always(0), 1), make_envs(1), [1]).end_states == [{}]  # no x/y: nothing


def test_steps_to_each_milestone_from_the_env_split():
    class SplitEnv(CountdownEnv):  # reports the step each milestone was first reached, like PokemonEnv
        def _info(self):
            info = super()._info()
            info["milestone_steps"] = {"FIRST": 1 if self.reached[0] else None, "SECOND": None}
            return info

    envs = gymnasium.vector.SyncVectorEnv([SplitEnv, SplitEnv], autoreset_mode=gymnasium.vector.AutoresetMode.DISABLED)
    report = evaluate(ExpertAgent(lambda: Always(1), 2), envs, [0, 3, 1])
    assert report.milestone_steps == [[1, None]] * 3
    assert report.steps_to_milestone["FIRST"] == 1.0 and np.isnan(report.steps_to_milestone["SECOND"])
    assert report.summary()["eval/steps_to/FIRST"] == 1.0 and "eval/steps_to/SECOND" not in report.summary()
    r = EvalReport(("FIRST",), [1, 2], [1.0, 0.0], [5, 9], [[True], [False]], [[4], [None]])
    assert r.steps_to_milestone == {"FIRST": 4.0} and r.to_dict()["steps_to_milestone"] == {"FIRST": 4.0}


class SplitCountdownEnv(CountdownEnv):
    """CountdownEnv whose reset option start_milestone=1 starts with FIRST already reached."""

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed)
        self.reached[0] = (options or {}).get("start_milestone", 0) >= 1
        return obs, self._info()


def test_reset_options_start_every_episode_at_the_split():
    envs = gymnasium.vector.SyncVectorEnv([SplitCountdownEnv for _ in range(2)],
                                          autoreset_mode=gymnasium.vector.AutoresetMode.DISABLED)
    seeds = [0, 1, 2, 3, 4]  # more seeds than envs: the later resets get the options too
    never = ExpertAgent(lambda: Always(0), 2)  # action 0 never earns FIRST
    plain = evaluate(never, envs, seeds)
    split = evaluate(never, envs, seeds, reset_options={"start_milestone": 1})
    assert plain.success_rate == 0.0 and plain.milestone_completion_rate == 0.0
    assert split.success_rate == 1.0  # FIRST given by the split, SECOND earned at each episode's end
    assert split.episode_lengths == [s + 2 for s in seeds] and split.steps_to_milestone["FIRST"] == 0


def test_policy_agent_preprocesses_and_batches():
    seen = []

    def logits_fn(frames):
        seen.append(frames.shape)
        out = np.zeros((len(frames), 10))
        out[:, 1] = 1.0
        return out

    report = evaluate(PolicyAgent(logits_fn), make_envs(2), [0, 1, 2])
    assert set(seen) == {(2, 84, 84, 3)}
    assert report.success_rate == 1.0


def test_recording_keeps_the_first_episode():
    frames = []
    evaluate(ExpertAgent(lambda: Always(1), 2), make_envs(2), [3, 0], record_frames=frames)
    assert len(frames) == 3 + 2 + 1  # reset observation + one per step


def test_demo_metrics_weight_every_transition_once(synthetic_demos):
    import optax

    from pokeil_jax import data

    demos, _ = data.load_demos(synthetic_demos, val_fraction=0.0, progress=False)
    rng = np.random.default_rng(0)
    table = rng.standard_normal((256, 10)).astype(np.float32)  # logits from the frame's first pixel

    def logits_fn(frames):
        return table[frames[:, 0, :, 0].astype(np.int64).sum(-1) % 256]

    everything = demos.batch(np.arange(demos.num_transitions))
    logits = logits_fn(everything["observations"])
    expected_loss = float(optax.softmax_cross_entropy_with_integer_labels(logits, everything["actions"]).mean())
    expected_accuracy = float((logits.argmax(-1) == everything["actions"]).mean())
    for batch_size in (7, 64, 1000):  # 160 transitions: a wrapped last batch, and one batch bigger than all
        got = demo_metrics(logits_fn, demos, batch_size)
        assert got["bc_loss"] == pytest.approx(expected_loss, rel=1e-6)
        assert got["accuracy"] == pytest.approx(expected_accuracy)


@pytest.mark.slow
def test_real_vector_env_batches_the_split_of_episodes_at_different_milestones():
    """Two emulator processes whose episodes reach milestones at different steps: their infos batch
    (a None beside an int in `milestone_steps` once broke the vector env's step)."""
    from pokeil_jax import vector_env
    from pokeil_jax.experts import make_expert

    envs = vector_env.make_eval_envs(2, rom_path=None, max_episode_steps=300)
    try:
        report = evaluate(ExpertAgent(lambda: make_expert("scripted"), envs.num_envs), envs, [1000, 1001, 1002],
                          max_steps=300)
    finally:
        envs.close()
    assert report.success_rate == 1.0
    assert [e["map"] for e in report.end_states] == ["NEXT_TOWN"] * 3 and report.unfinished_ends() == []
    steps = report.steps_to_milestone
    assert 0 < steps["LEFT_HOUSE"] < steps["GOT_STARTER"] < steps["REACHED_NEXT_TOWN"] <= max(report.episode_lengths)


def test_a_greedy_policy_stuck_in_a_loop_is_scored_as_if_it_ran_to_the_cut():
    """On the real game: a greedy policy that plays the planner's moves on the screens it knows
    and presses UP elsewhere makes progress, then loops. Ending the episode at the first repeated
    state must give exactly the report of running it to the cut, in far fewer steps; a sampling
    policy, which is not a fixed function of the screen, is never stopped."""
    from pokeil_jax import vector_env
    from pokeil_jax.env import PokemonEnv
    from pokeil_jax.experts import make_expert
    from pokeil_jax.preprocessing import preprocess_frames

    known = {}
    env, expert = PokemonEnv(), make_expert("scripted")
    for seed in (0, 1):
        obs, info = env.reset(seed=seed)
        expert.reset()
        while info["milestone_count"] < 2:
            action = expert.get_action(obs, info)
            known[preprocess_frames(obs).tobytes()] = action
            obs, _, _, _, info = env.step(action)
    env.close()
    calls = []

    def logits_fn(frames):
        calls.append(len(frames))
        return np.eye(10)[[known.get(f.tobytes(), 4) for f in frames]]

    reports = {}
    for stop in (True, False):
        envs = vector_env.make_eval_envs(1, max_episode_steps=150)
        calls.clear()
        reports[stop] = evaluate(PolicyAgent(logits_fn), envs, [0, 1, 2], stop_loops=stop)
        reports[stop].steps_taken = len(calls)
        envs.close()
    stopped, full = reports[True].to_dict(), reports[False].to_dict()
    assert reports[True].looped == [True] * 3 and reports[False].looped == [False] * 3
    # the same scores; the end state is where the loop was found, on the same map as at the cut
    assert ({k: v for k, v in stopped.items() if k not in ("looped", "end_states")}
            == {k: v for k, v in full.items() if k not in ("looped", "end_states")})
    assert [e["map"] for e in stopped["end_states"]] == [e["map"] for e in full["end_states"]]
    assert reports[True].milestones_reached[0][:2] == [True, True]  # progress first, then the loop
    assert reports[True].steps_taken < reports[False].steps_taken / 2
    assert "ended in a loop" in format_table({"policy": reports[True]})

    envs = vector_env.make_eval_envs(1, max_episode_steps=40)
    sampled = evaluate(PolicyAgent(logits_fn, greedy=False), envs, [0])
    envs.close()
    assert sampled.looped == [False] and sampled.episode_lengths == [40]


class TrapEnv(gymnasium.Env):
    """A corridor of 4 cells, one screen each; action 1 steps right, anything else stays put.
    Reaching the last cell earns 'OUT' and ends the episode; 30 steps cut it."""

    milestone_names = ("OUT",)
    observation_space = gymnasium.spaces.Box(0, 255, (160, 240, 3), np.uint8)
    action_space = gymnasium.spaces.Discrete(10)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cell, self.steps = 0, 0
        return self._obs(), self._info()

    def step(self, action):
        self.steps += 1
        self.cell += int(action == 1)
        terminated = self.cell == 3
        return self._obs(), float(terminated), terminated, self.steps >= 30 and not terminated, self._info()

    def _obs(self):
        return np.full((160, 240, 3), 60 * self.cell, np.uint8)

    def _info(self):
        return {"milestones": {"OUT": self.cell == 3}}


def trap_logits(frames):
    """Right (1) on every cell but the second, where staying (0) is the argmax by a hair."""
    logits = np.zeros((len(frames), 10))
    logits[:, 1] = 2.0
    trapped = frames[:, 0, 0, 0] == 60
    logits[trapped] = -3.0
    logits[trapped, 0], logits[trapped, 1] = 0.1, 0.0  # sampled, right comes out ~40% of the time
    return logits


def test_escape_loops_samples_only_after_a_screen_comes_back_and_then_argmax_again():
    frames = {v: np.full((1, 160, 240, 3), v, np.uint8) for v in (0, 60, 120, 180, 240)}
    flat = lambda x: np.tile([[3.0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], (len(x), 1))  # argmax 0, sampling varies
    agent = PolicyAgent(flat, escape_loops=3, seed=0)
    assert not agent.deterministic and PolicyAgent(flat).deterministic
    agent.reset(0)
    acts = [int(agent.act(frames[v], [{}])[0]) for v in (0, 60)]
    assert acts == [0, 0] and agent.escape_steps == 0  # new screens: argmax
    agent.act(frames[0], [{}])  # the first screen again: this step and the next two are sampled
    agent.act(frames[120], [{}])
    agent.act(frames[180], [{}])
    assert agent.escape_steps == 3
    assert int(agent.act(frames[240], [{}])[0]) == 0 and agent.escape_steps == 3  # a new screen: argmax again
    agent.reset(0)  # a new episode forgets the screens
    before = agent.escape_steps
    agent.act(frames[0], [{}])
    assert agent.escape_steps == before
    with pytest.raises(ValueError, match="escape_loops"):
        PolicyAgent(flat, escape_loops=-1)
    assert PolicyAgent(flat, greedy=False, escape_loops=5).escape_loops == 0  # sampling already escapes


def test_a_greedy_policy_trapped_by_its_argmax_walks_out_with_escape_loops():
    """TrapEnv: argmax stays in the second cell forever; with escape_loops the repeated screen
    triggers sampled steps, one of them steps right, and the argmax carries it out."""
    envs = gymnasium.vector.SyncVectorEnv([TrapEnv, TrapEnv], autoreset_mode=gymnasium.vector.AutoresetMode.DISABLED)
    stuck = evaluate(PolicyAgent(trap_logits), envs, [0, 1, 2, 3])
    assert stuck.per_milestone_rates["OUT"] == 0.0 and stuck.episode_lengths == [30] * 4
    agent = PolicyAgent(trap_logits, escape_loops=4, seed=0)
    out = evaluate(agent, envs, [0, 1, 2, 3])
    envs.close()
    assert out.per_milestone_rates["OUT"] == 1.0 and max(out.episode_lengths) < 30
    assert 0 < agent.escape_steps < agent.steps
