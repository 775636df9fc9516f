"""Tests for pokeil_jax/runtime.py: malloc tuning, compiler options, distributed start-up, the
persistent compilation cache (a second process loads what the first compiled; off with ''; an
unusable folder turns it off with one line) and tensorboardX without torch."""

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


# Compiles one small jitted function with the cache in argv[1]; prints the cache hits it saw.
_PROBE = """
import sys
import jax, jax.numpy as jnp
from jax import monitoring
hits = []
monitoring.register_event_listener(lambda name, **kw: hits.append(name) if name.endswith("cache_hits") else None)
from pokeil_jax import runtime
print("folder", runtime.enable_compilation_cache(sys.argv[1]))
print("value", float(jax.jit(lambda x: jnp.tanh(x) * 3.0 + 1.0)(jnp.arange(4.0)).sum()))
print("hits", len(hits))
"""


def probe(folder, prelude: str = "") -> dict:
    result = subprocess.run([sys.executable, "-c", prelude + _PROBE, str(folder)], cwd=REPO, capture_output=True, text=True,
                            timeout=300, env={"PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"})
    assert result.returncode == 0, result.stderr[-2000:]
    values = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    return {**values, "stderr": result.stderr}


def test_without_filelock_the_cache_is_off_with_one_line(tmp_path):
    """JAX locks cache entries with filelock; without it every compile printed a warning and
    missed the cache. Now: one line, cache off, the program still runs."""
    folder = tmp_path / "cache"
    values = probe(folder, prelude="import sys; sys.modules['filelock'] = None\n")
    assert values["folder"] == "None" and values["hits"] == "0" and float(values["value"]) > 0
    assert values["stderr"].strip() == "compilation cache off: the filelock package is missing (pip install -r requirements.txt)"
    assert not folder.exists()


def test_a_second_process_loads_the_program_the_first_compiled(tmp_path):
    folder = tmp_path / "cache"
    first, second = probe(folder), probe(folder)
    assert first["folder"] == second["folder"] == str(folder)
    assert first["hits"] == "0" and int(second["hits"]) >= 1
    assert first["value"] == second["value"]
    assert any(folder.iterdir())


def test_empty_folder_leaves_the_cache_off(tmp_path):
    out = probe("")
    assert out["folder"] == "None" and out["hits"] == "0"


def test_a_folder_that_cannot_be_made_turns_the_cache_off_with_one_line(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = probe(blocker / "cache")
    assert out["folder"] == "None"
    lines = [line for line in out["stderr"].splitlines() if "compilation cache off" in line]
    assert len(lines) == 1 and str(blocker / "cache") in lines[0] and "--compilation-cache-dir" in lines[0]


def test_summary_writer_comes_without_torch_and_writes_scalars(tmp_path):
    code = (
        "import sys\n"
        "from pokeil_jax import runtime\n"
        "writer = runtime.summary_writer_class()(sys.argv[1])\n"
        "writer.add_scalar('train/x', 1.5, 3)\n"
        "writer.close()\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                            timeout=300, env={"PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
    events = list(tmp_path.glob("events.out.tfevents.*"))
    assert len(events) == 1 and b"train/x" in events[0].read_bytes()
