"""Tests for pokeil_jax/runtime.py: malloc tuning, compiler options, distributed start-up."""

import subprocess
import sys
from pathlib import Path

import pytest

from pokeil_jax import runtime

REPO = Path(__file__).resolve().parents[1]


def test_maybe_initialize_distributed_reads_all_three_variables(monkeypatch):
    for name in (runtime.COORDINATOR_ADDRESS_VAR, runtime.NUM_PROCESSES_VAR, runtime.PROCESS_ID_VAR):
        monkeypatch.delenv(name, raising=False)
    assert runtime.maybe_initialize_distributed() == (0, 1)
    monkeypatch.setenv(runtime.COORDINATOR_ADDRESS_VAR, "127.0.0.1:1")
    with pytest.raises(ValueError, match="JAX_NUM_PROCESSES, JAX_PROCESS_ID not"):
        runtime.maybe_initialize_distributed()
    monkeypatch.setenv(runtime.NUM_PROCESSES_VAR, "2")
    monkeypatch.setenv(runtime.PROCESS_ID_VAR, "2")
    with pytest.raises(ValueError, match=r"JAX_PROCESS_ID=2 must be in \[0, JAX_NUM_PROCESSES=2\)"):
        runtime.maybe_initialize_distributed()
    monkeypatch.setenv(runtime.PROCESS_ID_VAR, "one")
    with pytest.raises(ValueError, match="must be integers"):
        runtime.maybe_initialize_distributed()


def test_compiler_options_only_on_cpu():
    assert runtime.compiler_options("cpu") == runtime.CPU_COMPILER_OPTIONS
    assert runtime.compiler_options("gpu") is None and runtime.compiler_options("tpu") is None


def test_tune_host_malloc_sets_glibc_options_in_a_fresh_process():
    code = "from pokeil_jax import runtime; print(runtime.tune_host_malloc())"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    import platform

    expected = "True" if platform.libc_ver()[0] == "glibc" else "False"
    assert result.stdout.strip() == expected


def test_a_single_process_agrees_with_itself():
    summary = {"eval/milestone_completion": 0.5, "eval/episodic_return": 2.0, "other": 1}
    assert runtime.agree_across_processes(summary, ("eval/milestone_completion",)) is summary
