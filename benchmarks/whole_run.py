"""Whole training runs: bc_pokemon_jax.py against baselines/bc_pokemon_torch.py, as a user runs them.

    python benchmarks/whole_run.py                          # batch 64 and 256, synthetic demos
    python benchmarks/whole_run.py --batch-sizes 64 --steps 10 110 --repeats 5
    python benchmarks/whole_run.py --expert-data-dir expert_data
    python benchmarks/whole_run.py --smoke                  # tiny, every column (CI)

Both scripts run as subprocesses on the same demonstrations (default: 3 synthetic episodes of
300 steps in the real format, preprocessed once before any timing), no evaluation, at two step
counts each. A loop's samples/s is (long - short steps) x batch / (its long run's seconds - its
short run's): start-up, the final checkpoint and process exit cancel. Runs alternate script by
script and the order flips every repeat (ABBA), so load from other processes falls on both
alike; figures are medians over the repeats, with the spread (min-max) beside them.

Also printed, from the same run:
  step only      samples/s of each framework's bare train step (benchmarks/train_throughput.py's
                 workers, same batch sizes), so loop / step is the loop's own overhead
  first step     seconds from launch to the first finished train step (the moment the script
                 prints it: PyTorch's "Step 0" line, JAX's "first step done" line) and the CPU
                 seconds the process had used by then (less sensitive to other load than wall
                 time). "first run": the script's first launch at this batch size, before the
                 timed repeats and not part of the loop rates (for JAX, a compilation cache
                 without this step's program); "repeated": the median of its later launches,
                 what a user sees on a second run of the same configuration.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

SCRIPTS = {"torch": REPO / "baselines" / "bc_pokemon_torch.py", "jax": REPO / "bc_pokemon_jax.py"}
LABELS = {"torch": "PyTorch", "jax": "JAX"}
#: The line each script prints once its first train step has finished.
FIRST_STEP_MARKERS = {"torch": "Step 0:", "jax": "first step done"}

from pokeil_jax.cli import positive_int  # noqa: E402


def make_demos(folder: Path, episodes: int, length: int) -> Path:
    """Write `episodes` synthetic episodes (benchmarks/loader_speed.py's scrolling tile maps) and
    build their cache, so no timed run pays the preprocessing."""
    from loader_speed import synthetic_episode

    from pokeil_jax import data

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(episodes):
        data.write_episode(folder / f"episode_{i + 1:04d}.npz", synthetic_episode(length, i))
    data.build_cache(data.episode_paths(folder), data.default_cache_dir(folder), progress=False)
    return folder


def command(framework: str, steps: int, batch_size: int, demos: Path, workdir: Path) -> list[str]:
    """The command line of one training run without evaluation (same data, batch, lr, seed)."""
    common = ["--expert-data-dir", str(demos), "--total-training-steps", str(steps), "--batch-size", str(batch_size),
              "--seed", "1"]
    if framework == "torch":
        return [sys.executable, str(SCRIPTS["torch"]), *common, "--eval-episodes", "0",
                "--save-frequency", str(10**9), "--model-dir", str(workdir / "checkpoints" / "torch")]
    return [sys.executable, str(SCRIPTS["jax"]), *common, "--val-fraction", "0", "--eval-frequency", "0",
            "--final-eval-episodes", "0", "--compare-expert", "", "--save-frequency", "0",
            "--checkpoint-dir", str(workdir / "checkpoints"), "--log-dir", str(workdir / "runs"),
            "--compilation-cache-dir", str(workdir / "jax-compilation-cache")]


def _cpu_seconds(pid: int) -> float | None:
    """user + system CPU seconds of a running process (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run_once(framework: str, steps: int, batch_size: int, demos: Path, workdir: Path) -> dict:
    """Launch one training run; {"total": s, "first_step": s, "first_step_cpu": s}."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SDL_VIDEODRIVER": "dummy",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    start = time.perf_counter()
    process = subprocess.Popen(command(framework, steps, batch_size, demos, workdir), cwd=workdir, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    first_step = first_step_cpu = None
    tail: list[str] = []
    for line in process.stdout:
        if first_step is None and FIRST_STEP_MARKERS[framework] in line:
            first_step, first_step_cpu = time.perf_counter() - start, _cpu_seconds(process.pid)
        tail = (tail + [line])[-5:]
    code = process.wait()
    total = time.perf_counter() - start
    if code != 0 or first_step is None:
        raise RuntimeError(f"{framework} run ({steps} steps, batch {batch_size}) failed with exit code {code}:\n"
                           + "".join(tail))
    return {"total": total, "first_step": first_step, "first_step_cpu": first_step_cpu}


def measure_whole_runs(args, demos: Path, workdir: Path) -> dict:
    """{batch: {framework: {"runs": {steps: [run, ...]}, "launches": [run, ...] in launch order}}}."""
    results = {}
    short, long = args.steps
    for batch_size in args.batch_sizes:
        per = {fw: {"runs": {short: [], long: []}, "launches": []} for fw in args.frameworks}
        # One untimed launch each first: JAX's first one compiles into an empty cache, which
        # would otherwise land in a repeat's short run and inflate that repeat's loop rate.
        for fw in args.frameworks:
            run = run_once(fw, short, batch_size, demos, workdir)
            per[fw]["launches"].append(run)
            print(f"  batch {batch_size:4d}  {LABELS[fw]:8s} {short:5d} steps: {run['total']:7.1f} s, "
                  f"first step at {run['first_step']:5.1f} s (first launch, not in the loop rates)", flush=True)
        for repeat in range(args.repeats):
            order = [(fw, n) for n in (short, long) for fw in args.frameworks]
            if repeat % 2:
                order.reverse()
            for fw, n in order:
                run = run_once(fw, n, batch_size, demos, workdir)
                per[fw]["runs"][n].append(run)
                per[fw]["launches"].append(run)
                print(f"  batch {batch_size:4d}  {LABELS[fw]:8s} {n:5d} steps: {run['total']:7.1f} s, "
                      f"first step at {run['first_step']:5.1f} s", flush=True)
        results[batch_size] = per
    return results


def loop_rates(per_framework: dict, steps: tuple[int, int], batch_size: int) -> list[float]:
    """samples/s of the loop in each repeat: extra samples of the long run / its extra seconds.

    NaN for a repeat whose long run was not slower than its short one: start-up jitter was
    larger than the extra steps, so that repeat measured nothing (use more steps)."""
    short, long = steps
    return [(long - short) * batch_size / (b["total"] - a["total"]) if b["total"] > a["total"] else math.nan
            for a, b in zip(per_framework["runs"][short], per_framework["runs"][long])]


def measure_steps(args) -> dict:
    """{framework: {batch: samples/s}} of the bare train step (train_throughput.py's workers)."""
    import train_throughput

    # train_throughput's own parser, so a flag it gains has its default here too; malloc tuned as
    # both scripts run (bc_pokemon_jax.py tunes malloc by default)
    step_args = train_throughput.build_parser().parse_args(
        ["--batch-sizes", *map(str, args.batch_sizes), "--repeats", str(args.step_repeats),
         "--steps", str(args.step_steps), "--frameworks", *args.frameworks, "--tune-malloc"])
    step_args.forward_sizes, step_args.forward_calls = [], 0
    if args.smoke:
        step_args.repeats, step_args.steps, step_args.warmup = 1, 1, 1
    raw = train_throughput.measure(step_args)
    return {fw: {b: b / statistics.median(raw[fw]["train"][b]) for b in args.batch_sizes} for fw in raw}


def _spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """median (min-max) of the finite values; "n/a" when a repeat measured nothing (NaN)."""
    if not values or any(math.isnan(v) for v in values):
        return "n/a"
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def report(args, whole: dict, steps: dict | None) -> str:
    lines = ["", "Whole runs: loop samples/s = median over repeats (min-max); ratio = JAX / PyTorch per repeat"]
    head = ["batch", "PyTorch loop", "JAX loop", "JAX/PyTorch loop", "step only JAX/PyTorch", "loop/step PyTorch",
            "loop/step JAX"]
    rows = [head]
    for b in args.batch_sizes:
        rates = {fw: loop_rates(whole[b][fw], args.steps, b) for fw in args.frameworks}
        row = [str(b)] + [_spread(rates[fw]) if fw in rates else "-" for fw in ("torch", "jax")]
        if len(rates) == 2:
            row.append(_spread([j / t for j, t in zip(rates["jax"], rates["torch"])], "{:.2f}x"))
        else:
            row.append("-")
        if steps and len(steps) == 2:
            row.append(f"{steps['jax'][b] / steps['torch'][b]:.2f}x")
        else:
            row.append("-")
        for fw in ("torch", "jax"):
            usable = steps and fw in rates and not any(math.isnan(r) for r in rates[fw])
            row.append(f"{statistics.median(rates[fw]) / steps[fw][b]:.2f}" if usable else "-")
        rows.append(row)
    lines += _table(rows)
    if any("n/a" in row for row in rows):
        lines.append("n/a: in some repeat the long run was not slower than the short one (start-up jitter "
                     "exceeded the extra steps); pass a larger LONG to --steps")

    lines += ["", "Time to the first finished train step, s (wall; CPU s of the process by then)"]
    rows = [["batch", "script", "first run", "repeated (median, min-max)", "repeated CPU s"]]
    for b in args.batch_sizes:
        for fw in args.frameworks:
            launches = whole[b][fw]["launches"]
            later = launches[1:] or launches
            cpu = [r["first_step_cpu"] for r in later if r["first_step_cpu"] is not None]
            rows.append([str(b), LABELS[fw], f"{launches[0]['first_step']:.1f} ({launches[0]['first_step_cpu'] or 0:.1f})",
                         _spread([r["first_step"] for r in later]), _spread(cpu) if cpu else "-"])
    lines += _table(rows)
    if len(args.frameworks) == 2:
        for b in args.batch_sizes:
            rep = {fw: statistics.median([r["first_step"] for r in (whole[b][fw]["launches"][1:] or
                                                                   whole[b][fw]["launches"])])
                   for fw in args.frameworks}
            lines.append(f"repeated run, batch {b}: JAX takes {rep['jax'] / rep['torch']:.2f}x PyTorch's time to "
                         f"its first step (target <= 1.5x)")
    return "\n".join(lines)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    out.insert(1, "-" * len(out[0]))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=positive_int, nargs="+", default=[64, 256], help="batch sizes of both scripts")
    parser.add_argument("--steps", type=positive_int, nargs=2, default=[10, 60], metavar=("SHORT", "LONG"),
                        help="the two step counts of each script; their difference is the timed loop")
    parser.add_argument("--repeats", type=positive_int, default=3, help="alternating repeats (ABBA order); medians reported")
    parser.add_argument("--expert-data-dir", default=None,
                        help="demonstrations to train on (default: 3 synthetic episodes x 300 steps)")
    parser.add_argument("--frameworks", nargs="+", default=["torch", "jax"], choices=["torch", "jax"],
                        help="which training scripts to time")
    parser.add_argument("--no-step-benchmark", action="store_true",
                        help="skip the step-only reference (train_throughput.py's workers)")
    parser.add_argument("--step-repeats", type=positive_int, default=5, help="repeats of the step-only reference")
    parser.add_argument("--step-steps", type=positive_int, default=10, help="train steps per step-only repeat")
    parser.add_argument("--smoke", action="store_true", help="batch 8, 1 and 3 steps, 1 repeat: every column (CI)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.batch_sizes, args.steps, args.repeats = [8], [1, 3], 1
    short, long = args.steps
    if not 1 <= short < long:
        parser.error(f"--steps needs 1 <= SHORT < LONG, got {short} {long}")
    from train_throughput import installed_frameworks

    args.frameworks = installed_frameworks(args.frameworks)

    load = os.getloadavg()[0]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="whole_run_") as tmp:
        workdir = Path(tmp)
        demos = Path(args.expert_data_dir) if args.expert_data_dir else make_demos(workdir / "demos", 3, 300)
        if args.expert_data_dir:  # preprocess before any timed run
            from pokeil_jax import data

            data.load_demos(demos, val_fraction=0.0, progress=False)
        demos = demos.resolve()
        steps = None if args.no_step_benchmark else measure_steps(args)  # first: minutes, not the whole runs' tens
        whole = measure_whole_runs(args, demos, workdir)
    print(f"\nload average at start {load:.1f} (above {os.cpu_count()} on this {os.cpu_count()}-core machine: "
          f"other work shared the cores), now {os.getloadavg()[0]:.1f}; {args.repeats} repeats of "
          f"{short} and {long} steps; data: {args.expert_data_dir or 'synthetic, 3 episodes x 300 steps'}; "
          f"{time.perf_counter() - start:.0f} s")
    print(report(args, whole, steps))
    if steps:
        print("step only, samples/s: " + ", ".join(
            f"{LABELS[fw]} @{b} {steps[fw][b]:.1f}" for b in args.batch_sizes for fw in args.frameworks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
