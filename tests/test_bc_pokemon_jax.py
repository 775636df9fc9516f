"""bc_pokemon_jax.py as a whole: logs, checkpoints, resume, divergence, eval-only."""

import json
import os
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


def test_experts_and_eval_state_are_checked_before_training(tmp_path):
    from test_experts import header_only_rom

    emerald = header_only_rom(tmp_path / "emerald_header.gba", "BPEE")
    out = subprocess.run([sys.executable, "bc_pokemon_jax.py", "--rom-path", str(emerald), "--expert-data-dir",
                          str(tmp_path / "none")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "--compare-expert: Pokémon Emerald has no scripted expert" in out.stderr
    out = subprocess.run([sys.executable, "bc_pokemon_jax.py", "--eval-initial-state", str(tmp_path / "gone.ss1")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "gone.ss1" in out.stderr and "Traceback" not in out.stderr


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


def test_anneal_lr_falls_to_zero_over_the_run_and_its_checkpoint_restores_without_the_flag(tmp_path, synthetic_demos):
    result = script.main(args_for(tmp_path, synthetic_demos, anneal_lr=True, save_frequency=0))
    rates = [h["learning_rate"] for h in result["train_history"]]  # steps 4, 8, 12 of 12 at 1e-3
    np.testing.assert_allclose(rates, [1e-3 * (1 - (step - 1) / 12) for step in (4, 8, 12)], rtol=1e-5)
    params, extras = restore_params(Path(result["run_dir"]) / "final")  # into a constant-rate state
    assert extras["step"] == 12 and extras["args"]["anneal_lr"] is True
    assert script.train_config(script.Args(anneal_lr=True, algo="dqn_bc", total_training_steps=10,
                                           online_steps=5)).anneal_steps == 15  # the online steps too
    assert script.train_config(script.Args(total_training_steps=10)).anneal_steps == 0


def test_init_checkpoint_starts_from_its_network_with_a_fresh_optimiser(tmp_path, synthetic_demos):
    """At a negligible learning rate, a run started from a checkpoint ends on that checkpoint's
    parameters (a run from scratch does not), at its own step count; DQN-BC's target network
    starts equal to them."""
    first = script.main(args_for(tmp_path / "a", synthetic_demos, total_training_steps=4, save_frequency=0))
    source, _ = restore_params(Path(first["run_dir"]) / "final")
    tiny = dict(learning_rate=1e-20, total_training_steps=2, save_frequency=0)
    warm = script.main(args_for(tmp_path / "b", synthetic_demos, init_checkpoint=first["run_dir"], **tiny))
    cold = script.main(args_for(tmp_path / "c", synthetic_demos, seed=4, **tiny))
    warm_params, extras = restore_params(Path(warm["run_dir"]) / "final")
    cold_params, _ = restore_params(Path(cold["run_dir"]) / "final")
    assert extras["step"] == 2 and extras["args"]["init_checkpoint"] == first["run_dir"]
    for a, b, c in zip(*(jax.tree_util.tree_leaves(p) for p in (source, warm_params, cold_params))):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
        assert not np.allclose(c, a)
    dqn_args = args_for(tmp_path / "d", synthetic_demos, algo="dqn_bc", init_checkpoint=first["run_dir"])
    dqn_state = script.with_params(script.create_train_state(dqn_args, jax.random.key(0)),
                                   script.init_checkpoint_params(dqn_args))
    for a, b, c in zip(*(jax.tree_util.tree_leaves(p) for p in (source, dqn_state.params, dqn_state.target_params))):
        np.testing.assert_array_equal(b, a)
        np.testing.assert_array_equal(c, a)


def test_a_resumed_dagger_run_from_a_checkpoint_keeps_its_round_schedule(tmp_path, monkeypatch, synthetic_demos):
    """A DAgger run started with --init-checkpoint plays a round before any step; resumed
    (without the flag, which --resume refuses) it keeps that schedule, and its checkpoints keep
    where it started. The rounds themselves are skipped (no envs): the schedule is what is tested."""
    from pokeil_jax import dagger

    configs, rounds_at = [], []

    class NoPlayLoop(dagger.DaggerLoop):
        def __init__(self, config, *rest, **kwargs):
            super().__init__(config, *rest, **kwargs)
            configs.append(config)

        def collect(self, step, state, writer):
            rounds_at.append(step)
            return self.training_set(step)

    monkeypatch.setattr(dagger, "DaggerLoop", NoPlayLoop)
    source = script.main(args_for(tmp_path / "a", synthetic_demos, total_training_steps=2, save_frequency=0))
    dagger_args = dict(dagger_rounds=2, dagger_episodes=1, save_frequency=2, exp_name="warm")
    script.main(args_for(tmp_path / "b", synthetic_demos, init_checkpoint=source["run_dir"], total_training_steps=2,
                         **dagger_args))
    resumed = script.main(args_for(tmp_path / "b", synthetic_demos, resume=True, total_training_steps=6, **dagger_args))
    assert [c.warm_start for c in configs] == [True, True]
    # 2 steps: rounds at 0 and 1; resumed to 6 steps: phases of 3, round 2 after step 3 (a cold
    # schedule would split 6 steps into 3 phases and play it after step 4)
    assert rounds_at == [0, 1, 3]
    _, extras = restore_params(Path(resumed["run_dir"]) / "final")
    assert extras["args"]["init_checkpoint"] == source["run_dir"]


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


class NoEnvs:
    """Stands in for the eval vector env where `evaluate` is replaced."""

    num_envs = 1

    def close(self, **kwargs):  # gymnasium's VectorEnv.close(**kwargs)
        pass


def spy_on_evaluations(monkeypatch) -> tuple[list, list]:
    """Replace the eval envs and `evaluate`: returns (calls, env_kwargs), filled with each
    evaluate call's (agent, kwargs) and each make_eval_envs call's kwargs; every report is empty."""
    from pokeil_jax import evaluate, vector_env

    calls, env_kwargs = [], []

    def spy_evaluate(agent, envs, seeds, **kwargs):
        calls.append((agent, kwargs))
        return evaluate.EvalReport(("DONE",), list(seeds), [0.0] * len(seeds), [1] * len(seeds), [[False]] * len(seeds))

    monkeypatch.setattr(vector_env, "make_eval_envs", lambda *a, **k: env_kwargs.append(k) or NoEnvs())
    monkeypatch.setattr(evaluate, "evaluate", spy_evaluate)
    return calls, env_kwargs


@pytest.mark.parametrize("kernels", ["xla", "onednn"])
def test_eval_only_evaluates_with_the_kernels_asked_for(tmp_path, monkeypatch, kernels):
    from pokeil_jax.kernels import onednn

    if kernels == "onednn" and not onednn.available():
        pytest.skip("oneDNN kernels not built")
    args = args_for(tmp_path, tmp_path / "no_demos", eval_only=True, checkpoint=str(tmp_path / "run"),
                    hidden_dim=8, kernels=kernels, compare_expert="", final_eval_episodes=2)
    with ckpt.Checkpointer(tmp_path / "run") as saver:
        saver.save_final(1, train.create_train_state(jax.random.key(0), script.train_config(args)), {}, {})
    calls, _ = spy_on_evaluations(monkeypatch)
    script.main(args)
    programs = [jax.jit(agent.logits_fn).lower(np.zeros((1, 84, 84, 3), np.uint8)).as_text() for agent, _ in calls]
    assert len(programs) == 1
    assert ("pokeil_conv_forward" in programs[0]) == (kernels == "onednn"), f"eval-only ignored --kernels {kernels}"


@pytest.mark.parametrize("escape,greedy,expected", [(5, True, 5), (0, True, 0), (5, False, 0)])
def test_eval_escape_loops_reaches_the_policy_agent(tmp_path, monkeypatch, escape, greedy, expected):
    args = args_for(tmp_path, tmp_path / "no_demos", eval_only=True, checkpoint=str(tmp_path / "run"), hidden_dim=8,
                    compare_expert="", final_eval_episodes=2, eval_escape_loops=escape, eval_greedy=greedy)
    with ckpt.Checkpointer(tmp_path / "run") as saver:
        saver.save_final(1, train.create_train_state(jax.random.key(0), script.train_config(args)), {}, {})
    calls, env_kwargs = spy_on_evaluations(monkeypatch)
    script.main(args)
    agents = [agent for agent, _ in calls]
    assert [(a.escape_loops, a.greedy, a.deterministic) for a in agents] == [(expected, greedy, greedy and not expected)]
    # The envs fingerprint their states exactly when the agent's loops can be stopped.
    assert [k["fingerprint"] for k in env_kwargs] == [agents[0].deterministic]


def test_eval_stall_steps_reaches_the_policy_and_expert_evaluations(tmp_path, monkeypatch, synthetic_demos):
    calls, _ = spy_on_evaluations(monkeypatch)

    def stalls():
        return [(type(agent).__name__, kwargs.get("stall_steps")) for agent, kwargs in calls]

    result = script.main(args_for(tmp_path, synthetic_demos, total_training_steps=2, save_frequency=0, hidden_dim=8,
                                  final_eval_episodes=1, eval_stall_steps=700))
    assert stalls() == [("PolicyAgent", 700), ("ExpertAgent", 700)]
    calls.clear()
    script.main(args_for(tmp_path, synthetic_demos, eval_only=True, checkpoint=result["run_dir"], hidden_dim=8,
                         final_eval_episodes=1, eval_stall_steps=300))
    assert stalls() == [("PolicyAgent", 300), ("ExpertAgent", 300)]


BAD_FLAGS = [
    (["--batch-size", "0"], 2, "--batch-size must be at least 1, got 0"),
    (["--val-fraction", "1.5"], 2, "--val-fraction must be in [0, 1)"),
    (["--learning-rate", "-1"], 2, "--learning-rate must be a finite number > 0, got -1.0"),
    (["--learning-rate", "nan"], 2, "--learning-rate must be a finite number > 0, got nan"),
    (["--dagger-beta", "2"], 2, "--dagger-beta must be a probability in [0, 1], got 2.0"),
    (["--dagger-rounds", "1", "--dagger-focus", "1"], 2, "--dagger-focus must be a share of the batch in [0, 1), got 1.0"),
    (["--dagger-focus", "0.25"], 2, "--dagger-focus draws from DAgger's states: set --dagger-rounds too"),
    (["--augment-shift", "-1"], 2, "--augment-shift must be a number of pixels in [0, 16] (0: no shift), got -1"),
    (["--augment-shift", "4", "--algo", "dqn_bc"], 2, "--augment-shift shifts BC's batches: use it with --algo bc"),
    (["--dagger-rounds", "1", "--dagger-focus", "0.25", "--algo", "dqn_bc"], 2, "--dagger-focus shapes BC's batches"),
    (["--dagger-split-episodes", "4", "--dagger-split-milestone", "10"], 2,
     "--dagger-split-episodes are played in DAgger rounds: set --dagger-rounds too"),
    (["--dagger-rounds", "1", "--dagger-split-episodes", "4"], 2, "--dagger-split-episodes needs --dagger-split-milestone"),
    (["--dagger-rounds", "1", "--dagger-split-milestone", "3"], 2,
     "--dagger-split-milestone says where --dagger-split-episodes start: set --dagger-split-episodes M too"),
    (["--dagger-rounds", "1", "--dagger-split-episodes", "-1"], 2, "--dagger-split-episodes must be at least 0, got -1"),
    (["--dagger-rounds", "1", "--dagger-split-episodes", "4", "--dagger-split-milestone", "6"], 2,
     "--dagger-split-milestone: start_milestone must be an int in 0..5, got 6. Valid: 0 (the game's start)"),
    (["--total-training-steps", "0"], 2, "--total-training-steps must be at least 1"),
    (["--eval-escape-loops", "-1"], 2, "--eval-escape-loops must be at least 0, got -1"),
    (["--eval-stall-steps", "-3"], 2, "--eval-stall-steps must be at least 0, got -3"),
    (["--rom-path", "nope.gba"], 2, "--rom-path: ROM not found: nope.gba"),
    (["--dagger-rounds", "1", "--dagger-expert", "nosuch.mod:Cls"], 2, "--dagger-expert: cannot import module 'nosuch.mod'"),
    (["--eval-only"], 2, "--eval-only needs --checkpoint PATH"),
    (["--start-milestone", "15", "--env-id", "pokeil/MiniMonQuest-v0"], 2,
     "--start-milestone: start_milestone must be an int in 0..14, got 15. Valid: 0 (the game's start), 1 (after HOME_TOWN)"),
    (["--start-milestone", "1", "--eval-initial-state", "x.state"], 2, "--start-milestone and --eval-initial-state"),
    (["--eval-only", "--checkpoint", "checkpoints/nope"], 2, "--checkpoint checkpoints/nope: no such folder"),
    (["--resume"], 2, "--resume: no run of exp_name 'bc_pokemon_jax' with a checkpoint under checkpoints/"),
    (["--expert-data-dir", "empty"], 1, "no episode_*.npz files in empty/"),
    (["--expert-data-dir", "empty", "--env-id", "pokeil/MiniMonQuest-v0"], 1,
     "no episode_*.npz files in empty/. Create demonstrations with `python collect_expert_data.py "
     "--expert-data-dir empty --num-episodes 20 --env-id pokeil/MiniMonQuest-v0`"),
    (["--expert-data-dir", "bad"], 1, "bad/episode_0001.npz"),
    (["--eval-only", "--checkpoint", "broken"], 1, "broken: no checkpoint found"),
    (["--init-checkpoint", "checkpoints/nope"], 2, "--init-checkpoint checkpoints/nope: no such folder"),
    (["--init-checkpoint", "broken", "--resume"], 2, "--init-checkpoint and --resume exclude each other"),
    (["--init-checkpoint", "broken", "--expert-data-dir", "bad"], 1, "broken: no checkpoint found"),
]


@pytest.mark.parametrize("flags,code,message", BAD_FLAGS, ids=[" ".join(f) for f, _, _ in BAD_FLAGS])
def test_bad_flags_and_files_end_in_one_line_and_leave_no_run_folder(tmp_path, monkeypatch, capsys, flags, code, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "episode_0001.npz").write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "broken").mkdir()
    before = sorted(os.listdir(tmp_path))
    monkeypatch.setattr(sys, "argv", ["bc_pokemon_jax.py", "--final-eval-episodes", "1"] + flags)
    with pytest.raises(SystemExit) as exit_info:
        script.cli()
    err = capsys.readouterr().err
    assert exit_info.value.code == code
    assert err.startswith(f"error: {message}") and err.count("\n") == 1, err
    assert sorted(os.listdir(tmp_path)) == before  # no runs/ or checkpoints/ folder


def test_batch_size_must_split_over_the_devices(tmp_path, synthetic_demos):
    """Two (forced) CPU devices and an odd batch: exit 2 naming both, before any folder exists."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, str(ROOT / "bc_pokemon_jax.py"), "--batch-size", "3",
                          "--expert-data-dir", str(synthetic_demos)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == "error: --batch-size 3 does not split over 2 devices; pass a multiple of 2"
    assert sorted(os.listdir(tmp_path)) == ["expert_data"]


# ---- --algo: bc (unchanged) and dqn_bc -------------------------------------------------------------


def event_scalars(log_dir) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of a run's tensorboard event files, read back: tag -> [(step, value)]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0}).Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def dqn_state_target():
    from pokeil_jax import dqn_bc

    return dqn_bc.create_train_state(jax.random.key(0), script.train_config(script.Args()))


def state_leaves(state):
    return jax.tree_util.tree_leaves(state.replace(rng=jax.random.key_data(state.rng)))


@pytest.mark.slow
def test_algo_bc_is_the_plain_bc_step_on_the_seeded_stream(tmp_path, synthetic_demos):
    """--algo bc (the default) trains exactly as train.train_step over the seeded BatchSampler did."""
    from pokeil_jax import data

    result = script.main(args_for(tmp_path, synthetic_demos, total_training_steps=5, save_frequency=0, val_fraction=0.0))
    params, _ = restore_params(Path(result["run_dir"]) / "final")
    args = args_for(tmp_path, synthetic_demos)
    state = train.create_train_state(jax.random.key(args.seed), script.train_config(args))
    demos, _ = data.load_demos(synthetic_demos, val_fraction=0.0, seed=args.seed, progress=False)
    step = jax.jit(train.train_step, compiler_options=train.compiler_options())
    with data.BatchSampler(demos, args.batch_size, seed=args.seed) as sampler:
        for _ in range(5):
            state, _ = step(state, next(sampler))
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(jax.device_get(state.params))):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change,message", [
    (dict(algo="dqn"), "--algo 'dqn': unknown; choose one of bc, dqn_bc"),
    (dict(algo="dqn_bc", n_step=0), "--n-step 0: must be >= 1"),
    (dict(algo="dqn_bc", gamma=0.0), r"--gamma 0.0: must be in \(0, 1\]"),
    (dict(algo="dqn_bc", gamma=1.01), r"--gamma 1.01: must be in \(0, 1\]"),
    (dict(algo="bc", online_steps=5), "--online-steps needs --algo dqn_bc"),
    (dict(algo="dqn_bc"), "every reward in .* is 0, so the TD term has nothing to learn; use --algo bc"),
])
def test_bad_algo_settings_exit_with_one_line(tmp_path, synthetic_demos, change, message):
    from pokeil_jax.cli import UsageError

    with pytest.raises(UsageError, match=message) as error:
        script.main(args_for(tmp_path, synthetic_demos, **change))  # synthetic_demos: all rewards 0
    assert "\n" not in str(error.value)


def test_unknown_algo_on_the_command_line_is_one_line_without_traceback():
    out = subprocess.run([sys.executable, "bc_pokemon_jax.py", "--algo", "ppo"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip() == "error: --algo 'ppo': unknown; choose one of bc, dqn_bc"


DQN_METRIC_TAGS = {"train/bc_loss", "train/td_loss", "train/margin_loss", "train/total_loss", "train/q_values",
                   "train/q_values_std", "train/target_q", "charts/distillation_coefficient", "charts/SPS"}


@pytest.mark.slow
def test_dqn_bc_logs_every_metric_checkpoints_resumes_bit_exact_and_evaluates(tmp_path, rewarded_demos):
    dqn = dict(algo="dqn_bc", n_step=3, gamma=0.9, margin=0.5, target_network_frequency=4, distill_decay=True,
               eval_frequency=6, eval_episodes=1, eval_max_steps=8, eval_num_envs=1, track_video=False,
               compare_expert="scripted", val_fraction=0.25)
    whole = script.main(args_for(tmp_path / "a", rewarded_demos, exp_name="whole", **dqn))
    tags = event_scalars(whole["log_dir"])
    assert DQN_METRIC_TAGS <= set(tags), DQN_METRIC_TAGS - set(tags)
    coefficient = dict(tags["charts/distillation_coefficient"])[6]
    assert 0.0 <= coefficient <= 1.0
    assert dict(tags["train/bc_coefficient"])[12] == pytest.approx(coefficient)  # --distill-decay applied it
    run_dir = Path(whole["run_dir"])
    assert sorted(p.name for p in (run_dir / "periodic").iterdir()) == ["12", "6"]
    assert (run_dir / "final" / "12").is_dir() and list((run_dir / "best").iterdir())

    # Stopped after step 7 (so the evaluation at 6 happened, as in the whole run), then resumed.
    script.main(args_for(tmp_path / "b", rewarded_demos, exp_name="cut", **{**dqn, "total_training_steps": 7}))
    resumed = script.main(args_for(tmp_path / "b", rewarded_demos, exp_name="cut", resume=True, **dqn))
    a, extras = ckpt.restore(run_dir / "final", dqn_state_target())
    b, _ = ckpt.restore(Path(resumed["run_dir"]) / "final", dqn_state_target())
    assert extras["step"] == 12 and extras["args"]["algo"] == "dqn_bc"
    assert len(state_leaves(a)) > 2 * len(jax.tree_util.tree_leaves(a.params))  # target params are in the state
    for x, y in zip(state_leaves(a), state_leaves(b)):
        np.testing.assert_array_equal(x, y)

    report = script.main(script.Args(eval_only=True, checkpoint=str(run_dir / "final"), final_eval_episodes=1,
                                     eval_max_steps=8, eval_num_envs=1, compare_expert="",
                                     expert_data_dir=str(rewarded_demos)))
    assert list(report) == ["DQN-BC policy"] and len(report["DQN-BC policy"]["episodic_returns"]) == 1


@pytest.mark.slow
def test_dqn_bc_online_fine_tuning_fills_and_resumes_its_replay_buffer(tmp_path, rewarded_demos):
    online = dict(algo="dqn_bc", total_training_steps=4, online_steps=2, online_num_envs=1, demo_ratio=0.5,
                  dagger_max_steps=5, save_frequency=6, replay_capacity=64, val_fraction=0.0)
    first = script.main(args_for(tmp_path, rewarded_demos, exp_name="online", **online))
    run_dir = Path(first["run_dir"])
    assert [p.name for p in run_dir.glob("replay_*.npz")] == ["replay_6.npz"]
    size_at_6 = dict(event_scalars(first["log_dir"])["online/replay_size"])[6]
    assert size_at_6 >= 4  # one batch's share before the first online step, and more after
    resumed = script.main(args_for(tmp_path, rewarded_demos, exp_name="online", resume=True,
                                   **{**online, "online_steps": 6, "save_frequency": 5}))
    assert [p.name for p in run_dir.glob("replay_*.npz")] == ["replay_10.npz"]
    # 4 more env steps (new episodes, n = 3): at least 2 more transitions on top of the saved ones
    size_at_10 = dict(event_scalars(resumed["log_dir"])["online/replay_size"])[10]
    assert size_at_10 >= size_at_6 + 2
