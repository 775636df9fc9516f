"""scripts/demo_quest.sh: its environment overrides reach the commands it runs, and a bad one is
one line before any work starts. The commands run against a stand-in `.venv/bin/python` that
records its arguments, in a copy of the script's folder layout."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def fake_tree(tmp_path: Path) -> tuple[Path, Path]:
    """A tree with scripts/demo_quest.sh and a .venv/bin/python that appends its argv to calls.log
    (and leaves the checkpoint folder a BC run would)."""
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "demo_quest.sh"
    shutil.copy(REPO / "scripts" / "demo_quest.sh", script)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    calls = tmp_path / "calls.log"
    python.write_text(f'#!/usr/bin/env bash\necho "$*" >> {calls}\n'
                      f'case "$*" in *demo_quest_bc*) mkdir -p checkpoints/demo_quest_bc__1__7/final ;; esac\n')
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    return script, calls


def run_demo(script: Path, **overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **overrides}
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)


def training_calls(calls: Path) -> list[str]:
    return [line for line in calls.read_text().splitlines() if line.startswith("bc_pokemon_jax.py")]


def test_eval_greedy_override_reaches_both_training_runs(tmp_path):
    script, calls = fake_tree(tmp_path)
    run_demo(script, DEMO_EVAL_GREEDY="0")  # ends at the table step: the stand-in writes no reports
    runs = training_calls(calls)
    assert len(runs) == 2, calls.read_text()
    assert all("--no-eval-greedy" in line for line in runs)
    # the learner acts as it is judged: DAgger's rounds sample too, BC alone has no rounds
    assert ["--dagger-sample-learner" in line.split() for line in runs] == [False, True]


def test_default_is_greedy(tmp_path):
    script, calls = fake_tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "DEMO_EVAL_GREEDY"}
    subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    runs = training_calls(calls)
    assert len(runs) == 2 and all("--eval-greedy" in line.split() for line in runs)
    assert not any("--dagger-sample-learner" in line.split() for line in runs)


def test_bad_eval_greedy_value_is_one_line_before_any_work(tmp_path):
    script, calls = fake_tree(tmp_path)
    result = run_demo(script, DEMO_EVAL_GREEDY="yes")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "DEMO_EVAL_GREEDY" in result.stderr and "'yes'" in result.stderr
    assert not calls.exists()  # nothing was collected or trained


@pytest.mark.parametrize("variable, flag, default", [
    ("DEMO_ESCAPE_LOOPS", "--eval-escape-loops", "8"),  # greedy, with escapes, by default
    ("DEMO_EVAL_STALL", "--eval-stall-steps", "700"),  # stalled evaluation episodes end by default
])
def test_an_evaluation_override_reaches_both_runs_and_has_its_default(tmp_path, variable, flag, default):
    script, calls = fake_tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("DEMO_EVAL_GREEDY", variable)}
    subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    runs = training_calls(calls)
    assert len(runs) == 2 and all(f" {flag} {default} " in f" {line} " for line in runs)
    calls.unlink()
    run_demo(script, **{variable: "0"})
    runs = training_calls(calls)
    assert len(runs) == 2 and all(f" {flag} 0 " in f" {line} " for line in runs)


def test_bad_escape_loops_value_is_one_line_before_any_work(tmp_path):
    script, calls = fake_tree(tmp_path)
    result = run_demo(script, DEMO_ESCAPE_LOOPS="lots")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "DEMO_ESCAPE_LOOPS" in result.stderr and "'lots'" in result.stderr
    assert not calls.exists()


def test_dagger_focus_reaches_only_the_dagger_run_and_a_bad_one_is_one_line(tmp_path):
    script, calls = fake_tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "DEMO_DAGGER_FOCUS"}
    subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    runs = training_calls(calls)
    assert [" --dagger-focus 0.25 " in f" {line} " for line in runs] == [False, True]
    calls.unlink()
    run_demo(script, DEMO_DAGGER_FOCUS="0")
    assert [" --dagger-focus 0 " in f" {line} " for line in training_calls(calls)] == [False, True]
    calls.unlink()
    result = run_demo(script, DEMO_DAGGER_FOCUS="1.5")
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "DEMO_DAGGER_FOCUS" in result.stderr and "'1.5'" in result.stderr
    assert not calls.exists()


def test_dagger_starts_from_bcs_network_with_its_own_steps_and_bad_counts_are_one_line(tmp_path):
    script, calls = fake_tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
    subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    bc, dagger = training_calls(calls)
    assert " --total-training-steps 2000 " in f" {bc} " and "--init-checkpoint" not in bc
    assert " --init-checkpoint checkpoints/demo_quest_bc__1__7/final " in f" {dagger} "
    assert " --total-training-steps 2000 " in f" {dagger} " and " --dagger-episodes 12 " in f" {dagger} "
    assert " --dagger-rounds 4 " in f" {dagger} "
    assert " --dagger-beta 0 " in f" {dagger} "
    calls.unlink()
    run_demo(script, DEMO_DAGGER_STEPS="900", DEMO_DAGGER_EPISODES="4", DEMO_DAGGER_BETA="0.5")
    dagger = training_calls(calls)[1]
    assert " --total-training-steps 900 " in f" {dagger} " and " --dagger-episodes 4 " in f" {dagger} "
    assert " --dagger-beta 0.5 " in f" {dagger} "
    calls.unlink()
    for name, value in [("DEMO_DAGGER_STEPS", "lots"), ("DEMO_DAGGER_EPISODES", "0"), ("DEMO_STEPS", "-5"),
                        ("DEMO_DAGGER_BETA", "1.5")]:
        result = run_demo(script, **{name: value})
        assert result.returncode == 2 and result.stderr.strip().count("\n") == 0, result.stderr
        assert name in result.stderr and f"'{value}'" in result.stderr
        assert not calls.exists()


def test_a_bc_run_that_left_no_checkpoint_stops_the_demo_in_one_line(tmp_path):
    script, calls = fake_tree(tmp_path)
    python = tmp_path / ".venv" / "bin" / "python"
    python.write_text(f'#!/usr/bin/env bash\necho "$*" >> {calls}\n')  # no checkpoint folder
    result = run_demo(script)
    assert result.returncode == 1 and "checkpoints/demo_quest_bc__*/" in result.stderr
    assert len(training_calls(calls)) == 1  # DAgger never started


def test_bad_eval_stall_value_is_one_line_before_any_work(tmp_path):
    script, calls = fake_tree(tmp_path)
    result = run_demo(script, DEMO_EVAL_STALL="-5")
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0 and "DEMO_EVAL_STALL" in result.stderr
    assert not calls.exists()  # nothing was collected or trained


def test_dagger_anneals_its_learning_rate_by_default_and_bc_does_not(tmp_path):
    script, calls = fake_tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "DEMO_DAGGER_ANNEAL"}
    subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert ["--anneal-lr" in line.split() for line in training_calls(calls)] == [False, True]
    calls.unlink()
    run_demo(script, DEMO_DAGGER_ANNEAL="0")
    assert ["--anneal-lr" in line.split() for line in training_calls(calls)] == [False, False]
    calls.unlink()
    result = run_demo(script, DEMO_DAGGER_ANNEAL="yes")
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0 and "DEMO_DAGGER_ANNEAL" in result.stderr
    assert not calls.exists()
