"""End to end on the real game: collect with the planner, train, evaluate, eval-only."""

import json
from pathlib import Path

import numpy as np
import pytest

import bc_pokemon_jax as script
import collect_expert_data as collector
from pokeil_jax import data
from pokeil_jax.env import PokemonEnv
from pokeil_jax.preprocessing import preprocess_frames

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_demos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demos") / "expert_data"
    collector.main(collector.Args(num_episodes=4, seed=0, expert_data_dir=str(folder)))
    return folder


def test_cached_frames_are_what_evaluation_feeds_the_network(real_demos):
    """Train and eval share one preprocessing: replaying an episode's seed and actions in the
    env and preprocessing as the evaluator does gives the cached training frames, byte for byte."""
    path = data.episode_paths(real_demos)[0]
    episode = data.load_episode(path)
    demos = data.build_cache([path], progress=False)
    env = PokemonEnv()
    obs, _ = env.reset(seed=episode["metadata"]["seed"])
    fed = [preprocess_frames(obs[None])[0]]  # the evaluator preprocesses a batch of env frames
    for a in episode["executed_actions"][:-1]:
        obs, *_ = env.step(int(a))
        fed.append(preprocess_frames(obs[None])[0])
    env.close()
    cached = demos.frames(np.arange(len(fed)))
    np.testing.assert_array_equal(np.stack(fed), cached)


def test_train_then_eval_only(tmp_path, real_demos):
    args = script.Args(
        expert_data_dir=str(real_demos), checkpoint_dir=str(tmp_path / "ck"), log_dir=str(tmp_path / "runs"),
        total_training_steps=40, batch_size=16, learning_rate=5e-4, log_frequency=10, eval_frequency=20,
        eval_episodes=2, final_eval_episodes=2, eval_num_envs=2, eval_max_steps=25, save_frequency=20,
    )
    result = script.main(args)
    history = result["train_history"]
    assert history[-1]["loss"] < history[0]["loss"]  # learns on real demonstrations
    reports = result["reports"]
    assert set(reports) == {"expert (scripted)", "BC policy"}
    policy, expert = reports["BC policy"], reports["expert (scripted)"]
    assert policy["seeds"] == expert["seeds"] and not set(policy["seeds"]) & {0, 1, 2, 3}
    assert all(0 < n <= 25 for n in policy["episode_lengths"])
    for report in (policy, expert):  # the rates are the per-episode records, summarised
        reached = np.array(report["milestones_reached"], float)
        assert report["milestone_completion_rate"] == pytest.approx(reached.mean())
        assert report["success_rate"] == pytest.approx(reached.all(axis=1).mean())
        assert report["per_milestone_rates"]["LEFT_HOUSE"] == pytest.approx(reached[:, 0].mean())
    # 25 steps take the planner out of the house and into the lab: milestone 1 of 6 at least.
    assert expert["per_milestone_rates"]["LEFT_HOUSE"] == 1.0
    run_dir, log_dir = Path(result["run_dir"]), Path(result["log_dir"])
    saved = json.loads((log_dir / "final_eval.json").read_text())
    assert saved["BC policy"]["episodes"] == 2
    assert (run_dir / "best").is_dir() and (run_dir / "final").is_dir()

    out = script.main(script.Args(eval_only=True, checkpoint=str(run_dir / "best"), expert_data_dir=str(real_demos),
                                  eval_seeds=[5000, 5001, 5002], eval_num_envs=2, eval_max_steps=20,
                                  compare_expert=""))
    report = out["BC policy"]
    assert report["seeds"] == [5000, 5001, 5002]
    for key in ("mean_return", "std_return", "milestone_completion_rate", "mean_episode_length", "success_rate"):
        assert key in report
    reached = np.array(report["milestones_reached"], float)
    assert report["milestone_completion_rate"] == pytest.approx(reached.mean())
    assert report["success_rate"] == pytest.approx(reached.all(axis=1).mean())
    written = list((run_dir / "best").glob("eval_report.json"))
    assert written and json.loads(written[0].read_text())["BC policy"]["episodes"] == 3


def test_eval_only_with_a_bad_checkpoint_names_the_path(tmp_path):
    from pokeil_jax.cli import UsageError

    with pytest.raises(UsageError) as error:
        script.main(script.Args(eval_only=True, checkpoint=str(tmp_path / "nope"), final_eval_episodes=1))
    assert str(tmp_path / "nope") in str(error.value)


def test_dagger_round_adds_expert_labelled_learner_episodes(tmp_path, real_demos, monkeypatch):
    samplers = []  # the demos every BatchSampler of the run trained on
    focus_sets = []  # and the transitions each drew its focus rows from

    class RecordingSampler(data.BatchSampler):
        def __init__(self, demos, *args, **kwargs):
            samplers.append([Path(p) for p in demos.sources])
            super().__init__(demos, *args, **kwargs)
            focus_sets.append((demos, self.focus, self.focus_rows))

    monkeypatch.setattr(data, "BatchSampler", RecordingSampler)
    args = script.Args(
        exp_name="dagger", expert_data_dir=str(real_demos), checkpoint_dir=str(tmp_path / "ck"),
        log_dir=str(tmp_path / "runs"), total_training_steps=20, batch_size=16, log_frequency=10,
        eval_frequency=0, final_eval_episodes=0, save_frequency=0,
        dagger_rounds=1, dagger_episodes=2, dagger_beta=0.8, dagger_max_steps=25, dagger_focus=0.25,
    )
    result = script.main(args)
    folder = real_demos / "dagger" / result["run_name"]
    paths = data.episode_paths(folder)
    assert [p.name for p in paths] == ["episode_0001.npz", "episode_0002.npz"]
    from pokeil_jax.dagger import DAGGER_SEED_BASE

    for path in paths:
        episode = data.load_episode(path)
        meta = episode["metadata"]
        # round 0 presses the expert's label with probability beta**1 (not 1 - beta)
        assert meta["expert"] == "dagger:scripted" and meta["dagger_beta"] == pytest.approx(0.8)
        assert meta["seed"] >= DAGGER_SEED_BASE
        assert len(episode["actions"]) == 25 or meta["terminated"]
    # the DAgger episodes join the training set: the phase after the round samples from them too
    assert len(samplers) == 2
    assert not set(paths) & set(samplers[0])
    assert set(paths) <= set(samplers[1]) and set(samplers[0]) <= set(samplers[1])
    # --dagger-focus: the planner's demonstrations have no off-expert step; after the round a
    # quarter of each batch comes from the learner's steps that were not the expert's label
    (before, focus_before, rows_before), (after, focus_after, rows_after) = focus_sets
    assert len(focus_before) == 0 and rows_before == 0
    assert rows_after == 4 and len(focus_after) > 0
    np.testing.assert_array_equal(focus_after, np.flatnonzero(after.actions != after.executed_actions))
    dagger_ids = [i for i, e in enumerate(after.episodes) if e.source in set(paths)]
    assert np.isin(after.episode_ids[focus_after], dagger_ids).all()
    # the demonstrations folder itself is untouched: DAgger episodes live in their own subfolder
    assert len(data.episode_paths(real_demos)) == 4
