"""Tests for pokeil_jax/dagger.py: the learner/expert mixture; rounds come from each episode's
metadata, not its file number.

The learner's play is replaced by one-step episodes of blank frames, so a round of more than
1,000 episodes costs seconds: the file layout and the round bookkeeping are what is tested."""

import json
import types

import numpy as np
import pytest

from pokeil_jax import dagger, data

FRAME = np.zeros((160, 240, 3), np.uint8)
FAKE_ENV = types.SimpleNamespace(adapter=types.SimpleNamespace(name="fake"), game_code="FAKE", frames_per_step=24,
                                 hold_frames=8, milestone_names=("DONE",))
FAKE_ENVS = types.SimpleNamespace(num_envs=1)


def one_step_episode(env, expert, game_seed, choose, reset_options=None):
    """What rollout.record_episode returns, for one step that ends the episode."""
    return {
        "observations": FRAME[None], "actions": np.array([game_seed % 10], np.int32),
        "executed_actions": np.array([game_seed % 10], np.int32), "rewards": np.zeros(1, np.float32),
        "dones": np.ones(1, bool), "infos": np.asarray(['{"milestones": {"DONE": true}}'], dtype=np.str_),
        "final_observation": FRAME, "episode_return": np.float32(0), "episode_length": np.int64(1),
        "terminated": True, "truncated": False, "stopped": False, "last_info": {},
    }


def collect(monkeypatch, out_dir, round_index, episodes, played=None, **kwargs):
    """collect_round with one-step episodes; `played` (a list) gets (seeds, start_milestone) of each play_round."""
    def play_round(envs, experts, logits_fn, game_seeds, max_steps, choosers, start_milestone=0):
        if played is not None:
            played.append((list(game_seeds), start_milestone))
        return [one_step_episode(envs, None, game_seed, None) for game_seed in game_seeds]

    monkeypatch.setattr(dagger, "play_round", play_round)
    return dagger.collect_round(FAKE_ENVS, [None], "fake", None, round_index, episodes, 0.5, out_dir, "0" * 40, seed=0,
                                game=FAKE_ENV, **kwargs)


def test_a_round_of_more_than_1000_episodes_stays_in_its_round(tmp_path, monkeypatch):
    out = tmp_path / "dagger" / "run"
    first = collect(monkeypatch, out, 0, 1001)
    second = collect(monkeypatch, out, 1, 2)
    assert [p.name for p in first[-2:]] == ["episode_1000.npz", "episode_1001.npz"]
    assert [p.name for p in second] == ["episode_1002.npz", "episode_1003.npz"]
    assert dagger.episodes_of_rounds(out, 1) == first  # episode 1001 is round 0's, not round 1's
    assert dagger.episodes_of_rounds(out, 2) == first + second
    assert dagger.episodes_of_rounds(out, 0) == []
    assert {data.read_metadata(p)["dagger_round"] for p in second} == {1}


def test_a_resumed_round_replaces_what_a_killed_run_left(tmp_path, monkeypatch):
    out = tmp_path / "run"
    kept = collect(monkeypatch, out, 0, 3)
    collect(monkeypatch, out, 1, 2)  # a run killed after round 1 ...
    again = collect(monkeypatch, out, 1, 2)  # ... resumed from the end of round 0 plays round 1 again
    assert [p.name for p in again] == ["episode_0004.npz", "episode_0005.npz"]
    assert data.episode_paths(out) == kept + again


def test_split_episodes_follow_the_round_on_seeds_of_their_own(tmp_path, monkeypatch):
    played = []
    paths = collect(monkeypatch, tmp_path / "run", 1, 3, played, split_episodes=2, split_milestone=10)
    full, split = dagger.round_seeds(1, 3), dagger.round_seeds(1, 2, split=True)
    assert played == [(full, 0), (split, 10)] and not set(full) & set(split)
    metadata = [data.read_metadata(p) for p in paths]
    assert [m["seed"] for m in metadata] == full + split
    assert [m.get("start_milestone") for m in metadata] == [None, None, None, 10, 10]
    assert {m["dagger_round"] for m in metadata} == {1}
    played.clear()
    collect(monkeypatch, tmp_path / "plain", 1, 3, played)
    assert played == [(full, 0)]  # no split episodes: one play, as before


def test_config_checks_its_values():
    with pytest.raises(ValueError, match="beta in \\[0, 1\\]"):
        dagger.DaggerConfig(rounds=1, episodes=1, beta=2.0, expert="scripted", max_steps=10,
                            total_training_steps=10, expert_data_dir="x")
    with pytest.raises(ValueError, match="split_milestone >= 1 with split episodes"):
        dagger.DaggerConfig(rounds=1, episodes=1, beta=0.5, expert="scripted", max_steps=10,
                            total_training_steps=10, expert_data_dir="x", split_episodes=2)


@pytest.mark.parametrize("warm_start,total,rounds_at", [(False, 2000, [500, 1000, 1500]), (True, 1500, [0, 500, 1000])])
def test_a_warm_learner_plays_its_first_round_before_training(tmp_path, monkeypatch, warm_start, total, rounds_at):
    """Cold: training, then a round after each phase but the last. Warm (a restored policy): a
    round first, then a phase after each. `training_set(step)` holds the rounds played by `step`."""
    config = dagger.DaggerConfig(rounds=3, episodes=1, beta=0.5, expert="scripted", max_steps=10,
                                 total_training_steps=total, expert_data_dir=str(tmp_path), warm_start=warm_start)
    loop = dagger.DaggerLoop(config, "run", [], writer_log=None)
    assert [s for s in range(total + 1) if loop.round_ends_at(s)] == rounds_at
    assert [loop.round_index(s) for s in rounds_at] == [0, 1, 2]
    asked = []
    monkeypatch.setattr(dagger, "episodes_of_rounds", lambda out_dir, rounds: asked.append(rounds) or [])
    monkeypatch.setattr(dagger.data, "build_cache", lambda paths, cache_dir, progress: paths)
    for step in (1, rounds_at[1], rounds_at[2] - 1, total):
        loop.training_set(step)
    assert asked == [1 if warm_start else 0, 2, 2, 3]


@pytest.mark.parametrize("beta", [0.0, 0.8, 1.0])
def test_the_expert_label_is_pressed_with_probability_beta(beta):
    """The learner always wants button 9, the expert's label is 7: the share of 7s is beta."""
    wants_9 = np.eye(10)[9]
    choose = dagger.learner_chooser(beta, np.random.default_rng(0))
    pressed = np.array([choose({}, 7, wants_9) for _ in range(2000)])
    assert set(np.unique(pressed)) <= {7, 9}
    assert abs((pressed == 7).mean() - beta) < 0.03


def test_a_sampling_learner_presses_its_softmax_draws():
    """The learner's softmax puts 0.75 on button 2 and 0.25 on button 5 (the argmax is 2): with
    sample=True the pressed shares follow it, without it only the argmax is pressed."""
    logits = np.log(np.array([1e-9, 1e-9, 0.75, 1e-9, 1e-9, 0.25, 1e-9, 1e-9, 1e-9, 1e-9]))
    sampled = dagger.learner_chooser(0.0, np.random.default_rng(0), sample=True)
    pressed = np.array([sampled({}, 7, logits) for _ in range(2000)])
    assert set(np.unique(pressed)) == {2, 5}
    assert abs((pressed == 5).mean() - 0.25) < 0.03
    greedy = dagger.learner_chooser(0.0, np.random.default_rng(0))
    assert {greedy({}, 7, logits) for _ in range(50)} == {2}


def test_the_sample_learner_flag_reaches_the_dagger_config():
    import bc_pokemon_jax

    args = bc_pokemon_jax.Args(dagger_rounds=1, dagger_sample_learner=True)
    assert bc_pokemon_jax.dagger_config(args).sample_learner
    assert not bc_pokemon_jax.dagger_config(bc_pokemon_jax.Args(dagger_rounds=1)).sample_learner


def test_takeover_lets_the_expert_drive_past_a_loop_until_the_next_milestone():
    """The learner presses 9, the expert's label is 7, beta 0. States A, B, A, B, ... : from the
    third visit of a state (takeover=2) the expert drives, until milestone_count rises; a new
    episode (step 0) forgets the visits."""
    wants_9 = np.eye(10)[9]
    choose = dagger.learner_chooser(0.0, np.random.default_rng(0), takeover=2)

    def press(step, fingerprint, milestones=0):
        return choose({"step": step, "state_fingerprint": fingerprint, "milestone_count": milestones}, 7, wants_9)

    assert [press(t, "AB"[t % 2]) for t in range(4)] == [9, 9, 9, 9]
    assert [press(t, "AB"[t % 2]) for t in range(4, 8)] == [7, 7, 7, 7]  # stuck: the expert drives
    assert press(8, "C", milestones=1) == 9  # the next milestone: the learner again
    assert press(0, "A") == 9 and press(1, "A") == 9 and press(2, "A") == 7  # a new episode starts counting afresh
    plain = dagger.learner_chooser(0.0, np.random.default_rng(0))
    assert {plain({"step": t, "state_fingerprint": "A", "milestone_count": 0}, 7, wants_9) for t in range(9)} == {9}


def test_stall_takeover_lets_the_expert_drive_when_no_milestone_comes_for_that_many_steps():
    """The learner presses 9, the label is 7, beta 0, every state new (no loop): after 3 steps
    without a new milestone the expert drives until milestone_count rises, then the learner again;
    a new episode starts counting afresh."""
    wants_9 = np.eye(10)[9]
    choose = dagger.learner_chooser(0.0, np.random.default_rng(0), stall=3)

    def press(step, milestones=0):
        return choose({"step": step, "state_fingerprint": f"s{step}", "milestone_count": milestones}, 7, wants_9)

    assert [press(t) for t in range(5)] == [9, 9, 9, 7, 7]
    assert [press(t, 1) for t in range(5, 8)] == [9, 9, 9]  # the milestone came at step 5
    assert press(8, 1) == 7
    assert [press(t) for t in range(3)] == [9, 9, 9]  # a new episode
    never = dagger.learner_chooser(0.0, np.random.default_rng(0))
    assert {never({"step": t, "milestone_count": 0}, 7, wants_9) for t in range(100)} == {9}
    import bc_pokemon_jax

    args = bc_pokemon_jax.Args(dagger_rounds=1, dagger_stall_takeover=300)
    assert bc_pokemon_jax.dagger_config(args).stall_takeover == 300
    config = bc_pokemon_jax.dagger_config(bc_pokemon_jax.Args(dagger_rounds=1, dagger_split_episodes=4,
                                                              dagger_split_milestone=10))
    assert (config.split_episodes, config.split_milestone) == (4, 10)


def test_takeover_carries_a_stuck_learner_through_the_real_game(tmp_path):
    """A learner that only presses UP loops at the first wall; with takeover the scripted expert
    drives it past each loop, so its DAgger episode finishes the game, every state labelled."""
    from pokeil_jax.env import rom_sha1
    from pokeil_jax.experts import make_expert
    from pokeil_jax.games.minimon import ROM_PATH
    from pokeil_jax.vector_env import make_eval_envs

    up = lambda frames: np.tile(np.eye(10)[4], (len(frames), 1))  # noqa: E731
    envs = make_eval_envs(1, max_episode_steps=300, fingerprint=True)
    finished = {}
    for takeover in (0, 2):
        out = tmp_path / f"takeover{takeover}"
        [path] = dagger.collect_round(envs, [make_expert("scripted")], "scripted", up, 0, 1, 0.0, out,
                                      rom_sha1(ROM_PATH), seed=0, takeover=takeover, max_steps=300)
        episode = data.load_episode(path, load_observations=False)
        finished[takeover] = data.read_metadata(path)["terminated"]
        assert (episode["executed_actions"] != 4).any() == bool(takeover)
    envs.close()
    assert finished == {0: False, 2: True}


def test_a_round_can_start_at_a_split(tmp_path, monkeypatch):
    from pokeil_jax.env import rom_sha1
    from pokeil_jax.experts import make_expert
    from pokeil_jax.games.minimon import ROM_PATH
    from pokeil_jax.vector_env import make_eval_envs

    monkeypatch.setenv("POKEIL_SPLITS_DIR", str(tmp_path / "splits"))
    expert_drives = lambda frames: np.tile(np.eye(10)[4], (len(frames), 1))  # noqa: E731  (beta 1: never pressed)
    envs = make_eval_envs(1, max_episode_steps=300)
    [path] = dagger.collect_round(envs, [make_expert("scripted")], "scripted", expert_drives, 0, 1, 1.0,
                                  tmp_path / "out", rom_sha1(ROM_PATH), seed=0, start_milestone=3, max_steps=300)
    envs.close()
    episode = data.load_episode(path, load_observations=False)
    assert data.read_metadata(path)["start_milestone"] == 3 and data.read_metadata(path)["terminated"]
    assert json.loads(str(episode["infos"][0]))["milestone_count"] >= 3 and episode["rewards"].sum() == 3.0


def test_a_round_in_parallel_envs_records_what_one_env_records(tmp_path):
    """Three seeds in two worker envs (one env plays two episodes): with beta 1 the expert
    presses every label, so each episode must equal rollout.record_episode's for its seed, step
    for step (frames, labels, pressed buttons, rewards, infos, the final frame). And with a
    learner in the mix (beta 0.5, takeover), a second round of the same parameters and seeds
    writes the same episodes: each env's mixture draws from its own generator."""
    from pokeil_jax.env import PokemonEnv, rom_sha1
    from pokeil_jax.experts import make_expert
    from pokeil_jax.games.minimon import ROM_PATH
    from pokeil_jax.rollout import record_episode
    from pokeil_jax.vector_env import make_eval_envs

    envs = make_eval_envs(2, max_episode_steps=120, fingerprint=True)
    try:
        never = lambda frames: np.tile(np.eye(10)[4], (len(frames), 1))  # noqa: E731  (beta 1: never pressed)
        paths = dagger.collect_round(envs, [make_expert("scripted") for _ in range(2)], "scripted", never, 0, 3, 1.0,
                                     tmp_path / "expert", rom_sha1(ROM_PATH), seed=0, max_steps=120)
        env = PokemonEnv(max_episode_steps=120, fingerprint=True)
        for path, game_seed in zip(paths, dagger.round_seeds(0, 3)):
            recorded = data.load_episode(path)
            alone = record_episode(env, make_expert("scripted"), game_seed)
            assert recorded["metadata"]["seed"] == game_seed and recorded["metadata"]["game"] == env.adapter.name
            for key in ("observations", "actions", "executed_actions", "rewards", "dones", "final_observation"):
                np.testing.assert_array_equal(recorded[key], alone[key], err_msg=key)
            assert [json.loads(s) for s in recorded["infos"]] == [json.loads(s) for s in alone["infos"]]
        env.close()

        wanders = lambda frames: np.tile(np.log([.3, .05, .05, .05, .2, .1, .1, .15, 1e-9, 1e-9]), (len(frames), 1))  # noqa: E731
        rounds = []
        for attempt in ("a", "b"):
            rounds.append(dagger.collect_round(
                envs, [make_expert("scripted") for _ in range(2)], "scripted", wanders, 0, 3, 0.5, tmp_path / attempt,
                rom_sha1(ROM_PATH), seed=4, takeover=2, sample_learner=True, max_steps=120))
        for a, b in zip(*rounds):
            first, second = data.load_episode(a), data.load_episode(b)
            assert (first["executed_actions"] != first["actions"]).any()  # the learner pressed some buttons
            for key in ("observations", "actions", "executed_actions", "rewards"):
                np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    finally:
        envs.close()
