"""bc_pokemon_jax.py as a whole: logs, checkpoints, resume, divergence, eval-only."""

import json
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import bc_pokemon_jax as script
from pokeil_jax import checkpoint as ckpt
from pokeil_jax import train

ROOT = Path(__file__).resolve().parent.parent


def args_for(tmp_path, data_dir, **overrides):
    base = dict(
        expert_data_dir=str(data_dir), checkpoint_dir=str(tmp_path / "ck"), log_dir=str(tmp_path / "runs"),
        batch_size=8, total_training_steps=12, log_frequency=4, save_frequency=6, eval_frequency=0,
        final_eval_episodes=0, learning_rate=1e-3, seed=3,
    )
    base.update(overrides)
    return script.Args(**base)


def restore_params(path):
    target = train.create_train_state(jax.random.key(0), script.train_config(script.Args()))
    state, extras = ckpt.restore(path, target)
    return jax.device_get(state.params), extras


def test_help_explains_every_field():
    out = subprocess.run([sys.executable, "bc_pokemon_jax.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0
    for flag, words in [("--total-training-steps", "gradient steps"), ("--eval-only", "only evaluate"),
                        ("--resume", "newest run"), ("--weight-decay", "AdamW")]:
        assert flag in out.stdout and words in out.stdout


@pytest.mark.slow
def test_training_writes_logs_checkpoints_and_learns(tmp_path, synthetic_demos):
    args = args_for(tmp_path, synthetic_demos, total_training_steps=40, log_frequency=10, save_frequency=20)
    result = script.main(args)
    history = result["train_history"]
    assert [h["step"] for h in history] == [10, 20, 30, 40]
    assert history[-1]["loss"] < history[0]["loss"]
    run_dir, log_dir = Path(result["run_dir"]), Path(result["log_dir"])
    assert json.loads((log_dir / "args.json").read_text())["total_training_steps"] == 40
    assert list(log_dir.glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (run_dir / "periodic").iterdir()) == ["20", "40"]
    params, extras = restore_params(run_dir / "final")
    assert extras["step"] == 40 and extras["args"]["seed"] == 3


@pytest.mark.slow
def test_resume_after_a_stop_is_bit_identical(tmp_path, synthetic_demos):
    whole = script.main(args_for(tmp_path / "a", synthetic_demos, exp_name="whole"))
    script.main(args_for(tmp_path / "b", synthetic_demos, exp_name="cut", total_training_steps=6))
    resumed = script.main(args_for(tmp_path / "b", synthetic_demos, exp_name="cut", resume=True))
    assert resumed["run_name"].startswith("cut__")
    p_whole, _ = restore_params(Path(whole["run_dir"]) / "final")
    p_resumed, extras = restore_params(Path(resumed["run_dir"]) / "final")
    assert extras["step"] == 12
    for a, b in zip(jax.tree_util.tree_leaves(p_whole), jax.tree_util.tree_leaves(p_resumed)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_divergence_stops_with_a_clear_error_and_keeps_good_checkpoints(tmp_path, synthetic_demos):
    args = args_for(tmp_path, synthetic_demos, learning_rate=1e30, total_training_steps=30, log_frequency=1,
                    save_frequency=1)
    with pytest.raises(train.NonFiniteLossError, match="diverged at step"):
        script.main(args)
    runs = list((tmp_path / "ck").iterdir())
    for step_dir in (runs[0] / "periodic").iterdir():  # whatever was saved is finite
        params, _ = restore_params(step_dir)
        assert all(np.isfinite(leaf).all() for leaf in jax.tree_util.tree_leaves(params))


def test_eval_seeds_avoid_demo_seeds():
    assert script.pick_eval_seeds(None, {1000, 1002}, 4) == [1001, 1003, 1004, 1005]
    assert script.pick_eval_seeds([5, 6], {5}, 10) == [5, 6]  # explicit seeds are the user's call


@pytest.mark.parametrize("kernels", ["xla", "onednn"])
def test_eval_only_evaluates_with_the_kernels_asked_for(tmp_path, monkeypatch, kernels):
    from pokeil_jax import evaluate, vector_env
    from pokeil_jax.kernels import onednn

    if kernels == "onednn" and not onednn.available():
        pytest.skip("oneDNN kernels not built")
    args = args_for(tmp_path, tmp_path / "no_demos", eval_only=True, checkpoint=str(tmp_path / "run"),
                    hidden_dim=8, kernels=kernels, compare_expert="", final_eval_episodes=2)
    with ckpt.Checkpointer(tmp_path / "run") as saver:
        saver.save_final(1, train.create_train_state(jax.random.key(0), script.train_config(args)), {}, {})
    programs = []

    class NoEnvs:
        num_envs = 1

        def close(self):
            pass

    def spy_evaluate(agent, envs, seeds, **_):
        programs.append(jax.jit(agent.logits_fn).lower(np.zeros((1, 84, 84, 3), np.uint8)).as_text())
        return evaluate.EvalReport(("DONE",), list(seeds), [0.0] * len(seeds), [1] * len(seeds), [[False]] * len(seeds))

    monkeypatch.setattr(vector_env, "make_eval_envs", lambda *a, **k: NoEnvs())
    monkeypatch.setattr(evaluate, "evaluate", spy_evaluate)
    script.main(args)
    assert len(programs) == 1
    assert ("pokeil_conv_forward" in programs[0]) == (kernels == "onednn"), f"eval-only ignored --kernels {kernels}"
