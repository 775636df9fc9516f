"""benchmarks/train_throughput.py and benchmarks/conv_experiments.py: --smoke runs print every
column and row; the experiment's candidate convolutions match the plain one (values and gradients).
(The pool and the CPU compiler options the experiments chose are tested with the library:
tests/test_kernels_xla.py, tests/test_train.py.)"""

import re
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks import conv_experiments as ce  # noqa: E402


def run_script(*args, timeout=600):
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
@pytest.mark.torch
def test_throughput_smoke_prints_every_column_and_row():
    pytest.importorskip("torch", reason="the comparison needs PyTorch (pip install torch==2.13.0)")
    out = run_script("benchmarks/train_throughput.py", "--smoke")
    header = next(line for line in out.splitlines() if line.startswith("framework"))
    for column in ("samples/s @4", "samples/s @8", "vs torch @4", "vs torch @8", "fwd ms @1", "fwd ms @2",
                   "peak RSS MB", "device"):
        assert column in header, column
    number = r"\s+(\d+\.\d+)"
    for label in ("PyTorch eager", "JAX jit"):
        row = next(line for line in out.splitlines() if line.startswith(label + "  "))
        # samples/s @4 @8, ratios @4 @8, forward ms @1 @2, peak RSS MB (whole), device
        values = re.match(re.escape(label) + number * 2 + r"\s+(\d+\.\d+)x\s+(\d+\.\d+)x" + number * 2
                          + r"\s+(\d+)\s+(\S.*)", row)
        assert values, row
        assert all(float(v) > 0 for v in values.groups()[:7]), row
    torch_row = next(line for line in out.splitlines() if line.startswith("PyTorch eager"))
    assert "1.00x" in torch_row and "cpu" in torch_row


@pytest.mark.slow
def test_conv_experiments_smoke_checks_and_times_every_path():
    out = run_script("benchmarks/conv_experiments.py", "--smoke")
    assert "allclose to jax.grad of the plain conv" in out
    assert "bfloat16 compute: loss-gradient relative L2 error" in out
    assert re.search(r"profile, batch 2: op time [\d.]+ ms/step", out)
    assert re.search(r"A ops as written .* [\d.]+x", out) and re.search(r"D B \+ C .* [\d.]+x", out)


@pytest.mark.parametrize("name", list(ce.CONV_CANDIDATES))
def test_conv_candidates_match_the_plain_conv(name):
    conv = ce.CONV_CANDIDATES[name]
    rng = np.random.default_rng(0)
    for height, cin, cout in [(12, 3, 16), (9, 16, 32)]:
        x = jnp.asarray(rng.standard_normal((16, height, height, cin)), jnp.float32)
        k = jnp.asarray(rng.standard_normal((3, 3, cin, cout)) * 0.3, jnp.float32)
        b = jnp.asarray(rng.standard_normal(cout), jnp.float32)
        w = jnp.asarray(rng.standard_normal((16, height, height, cout)), jnp.float32)

        def loss(f, x, k, b):
            return jnp.sum(jnp.maximum(f(x, k, b), 0) * w)

        np.testing.assert_allclose(conv(x, k, b), ce.conv2d_plain(x, k, b), rtol=1e-5, atol=1e-5)
        got = jax.grad(lambda *a: loss(conv, *a), argnums=(0, 1, 2))(x, k, b)
        ref = jax.grad(lambda *a: loss(ce.conv2d_plain, *a), argnums=(0, 1, 2))(x, k, b)
        for g, r in zip(got, ref):
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4 * float(jnp.abs(r).max()))


@pytest.mark.slow
@pytest.mark.torch
def test_compare_bc_smoke_trains_both_from_one_init_and_judges_both(tmp_path):
    pytest.importorskip("torch", reason="the comparison needs PyTorch (pip install torch==2.13.0)")
    import json

    out = run_script("benchmarks/compare_bc.py", "--smoke", "--data-dir", str(tmp_path / "data"),
                     "--out-dir", str(tmp_path / "out"))
    report = json.loads((tmp_path / "out" / "comparison.json").read_text())
    rows = report["rows"]
    assert [(r["pipeline"], r["seed"]) for r in rows] == [("JAX", 1), ("PyTorch", 1), ("JAX", 2), ("PyTorch", 2)]
    for row in rows:
        assert row["init_logit_gap"] < 1e-5  # one initial network in both frameworks
        assert 0 <= row["val_accuracy"] <= 1 and 0 <= row["milestone_completion"] <= 1
        assert np.isfinite(row["val_bc_loss"]) and row["samples_per_second"] > 0
    # 3 steps from the same weights on the same batches: the two frameworks barely part.
    for jax_row, torch_row in zip(rows[::2], rows[1::2]):
        assert abs(jax_row["val_bc_loss"] - torch_row["val_bc_loss"]) < 0.05, (jax_row, torch_row)
    assert report["eval_seeds"] == [1000]
    assert "| **JAX, mean ± half-range** | 2 seeds |" in out
    assert (tmp_path / "out" / "comparison.png").stat().st_size > 10_000
    assert (tmp_path / "data" / "train").is_dir() and len(list((tmp_path / "data" / "val").glob("episode_*.npz"))) == 1


@pytest.mark.slow
def test_env_speed_prints_every_figure_against_a_same_input_reference():
    out = run_script("benchmarks/env_speed.py", "--steps", "90")
    for label in ("raw emulator, idle game", "raw emulator, same presses as env", "env.step", "ratio env/raw",
                  "vector env, 1 process", "vector env, 2 processes", "vector env, 2 processes, unpinned",
                  "scaling 2 procs / 1", "2 independent env loops"):
        line = next((ln for ln in out.splitlines() if ln.startswith(label)), None)
        assert line is not None, (label, out)
        assert float(re.search(r"\s([\d.]+)", line[len(label):]).group(1)) > 0, line


@pytest.mark.slow
def test_loader_speed_prints_its_ratio_to_the_train_step():
    out = run_script("benchmarks/loader_speed.py", "--episodes", "2", "--length", "100", "--seconds", "0.5",
                     "--train-steps", "2", "--batch-size", "8")
    assert re.search(r"loader, BC batch:\s+[\d,]+ samples/s", out), out
    assert re.search(r"train step \(JAX, this machine\):\s+[\d,]+ samples/s", out), out
    assert re.search(r"ratio = loader samples/s / train step samples/s = [\d.]+x", out), out


@pytest.mark.slow
@pytest.mark.torch
def test_throughput_smoke_dqn_bc_times_both_frameworks_like_for_like_and_the_bc_step():
    pytest.importorskip("torch", reason="the comparison needs PyTorch (pip install torch==2.13.0)")
    out = run_script("benchmarks/train_throughput.py", "--smoke", "--algo", "dqn_bc")
    assert "step: dqn_bc" in out
    header = next(line for line in out.splitlines() if line.startswith("framework"))
    assert "x BC step @4" in header and "vs torch @8" in header and "vs like @8" in header
    for label in ("PyTorch eager", "PyTorch eager, double DQN", "JAX jit", "JAX jit, BC step"):
        row = next(line for line in out.splitlines() if line.startswith(label + "  "))
        assert re.search(r"\d+\.\d+x", row), row
    bc_row = next(line for line in out.splitlines() if line.startswith("JAX jit, BC step"))
    assert re.search(r"\s1\.00\s", bc_row), bc_row  # the BC step over itself


@pytest.mark.slow
@pytest.mark.torch
def test_compare_bc_smoke_dqn_bc_trains_both_hybrids(tmp_path):
    pytest.importorskip("torch", reason="the comparison needs PyTorch (pip install torch==2.13.0)")
    import json

    out = run_script("benchmarks/compare_bc.py", "--smoke", "--algo", "dqn_bc", "--seeds", "1",
                     "--data-dir", str(tmp_path / "data"), "--out-dir", str(tmp_path / "out"))
    report = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert [r["pipeline"] for r in report["rows"]] == ["JAX", "PyTorch"] and report["options"]["algo"] == "dqn_bc"
    assert all(np.isfinite(r["val_bc_loss"]) for r in report["rows"])
    assert "algo dqn_bc;" in out


def test_whole_run_smoke_times_both_scripts_and_their_first_steps():
    pytest.importorskip("torch", reason="the comparison needs PyTorch (pip install torch==2.13.0)")
    out = run_script("benchmarks/whole_run.py", "--smoke", "--no-step-benchmark", timeout=1200)
    lines = out.splitlines()
    # a first launch and 2 step counts, for each of the 2 scripts: seconds and first step
    assert sum(bool(re.search(r"(PyTorch|JAX)\s+[13] steps:\s+[\d.]+ s, first step at\s+[\d.]+ s", l)) for l in lines) == 6
    loop = next(line for line in lines if re.match(r"\s+8\s", line))
    # loop rates: median (min-max) per script and their ratio, or "n/a" with its explanation when
    # start-up jitter exceeded the extra steps (a 1-repeat smoke run often cannot time 2 steps)
    cell = r"(?:[\d.]+ \([\d.]+-[\d.]+\)|n/a)"
    assert re.search(rf"^\s+8\s+{cell}\s+{cell}\s+(?:[\d.]+x \([\d.]+x-[\d.]+x\)|n/a)", loop), loop
    assert not re.search(r"[\s(]-\d", loop), loop  # never a negative rate
    if "n/a" in loop:
        assert "the long run was not slower than the short one" in out
    for script in ("PyTorch", "JAX"):
        row = next(line for line in lines if re.match(rf"\s+8\s+{script}\s", line))
        assert re.search(r"[\d.]+ \([\d.]+\)\s+[\d.]+ \([\d.]+-[\d.]+\)", row), row
    assert re.search(r"repeated run, batch 8: JAX takes [\d.]+x PyTorch's time to its first step", out)


@pytest.mark.slow
def test_compare_algos_smoke_trains_every_variant_and_writes_its_table(tmp_path):
    import json

    import collect_expert_data as collector

    demos = tmp_path / "demos"
    collector.main(collector.Args(num_episodes=3, seed=0, expert_data_dir=str(demos)))
    out = run_script("benchmarks/compare_algos.py", "--smoke", "--data-dir", str(demos),
                     "--out-dir", str(tmp_path / "out"), timeout=1200)
    rows = json.loads((tmp_path / "out" / "algos.json").read_text())["rows"]
    assert [r["variant"] for r in rows] == ["BC", "BC + DAgger", "DQN-BC offline", "DQN-BC + online"]
    assert all(0.0 <= r["milestone_completion"] <= 1.0 and r["curve"] for r in rows)
    table = (tmp_path / "out" / "algos.md").read_text()
    assert table.startswith("| variant") and table.count("\n| ") == 4  # a row per variant
    assert "pokeil/MiniMon-v0: mean ± half-range" in table
    assert (tmp_path / "out" / "algos.png").read_bytes()[:4] == b"\x89PNG"
    assert "wrote" in out


@pytest.mark.slow
def test_eval_speed_plays_the_same_episodes_on_both_sides_of_each_comparison():
    out = run_script("benchmarks/eval_speed.py", "--steps", "4", "--repeats", "1", "--num-envs", "2")
    for compare in ("frames", "infos", "fingerprint", "idle"):
        table = out.split(f"\n{compare}:\n", 1)[1]
        row = next(line for line in table.splitlines() if line.lstrip().startswith("2 "))
        first, second = (float(x) for x in re.findall(r"(\d+\.\d)\s+\(", row))
        assert first > 0 and second > 0 and row.rstrip().endswith("True"), (compare, row)
