"""Training throughput: JAX (pokeil_jax.train) against the PyTorch baseline, measured in one run.

    python benchmarks/train_throughput.py                       # batch 64 and 256, synthetic frames
    python benchmarks/train_throughput.py --algo dqn_bc         # the DQN-BC step (and JAX's BC step beside it)
    python benchmarks/train_throughput.py --expert-data-dir expert_data   # real demos from the cache
    python benchmarks/train_throughput.py --smoke               # tiny repeats, every column (CI)

Same network (ImpalaCNN, 84x84x3 uint8 in, 10 logits), same batches (identical uint8 frames and
actions for both), same optimiser family (PyTorch: the plan's Adam with L2 weight decay;
JAX: pokeil_jax.train's AdamW), lr 1e-4. Each framework runs in its own worker process, so
the peak RSS is its own; the parent alternates the workers repeat by repeat so load from other
processes falls on both alike, excludes warm-up (compilation, first allocations), and reports
the median. A timed step includes the host -> framework batch conversion, as in training.

Rows:
  PyTorch eager           baselines/bc_pokemon_torch.py's model and optimizer, torch threads = cores
  JAX jit                 pokeil_jax.train.jit_train_step and policy_logits: what bc_pokemon_jax.py runs
                          (kernels "auto": oneDNN convolutions on CPU when the extension is built)
  JAX jit, XLA convs      the same with kernels "xla": XLA's own convolutions (the reference the
                          oneDNN extension is measured against)
(benchmarks/conv_experiments.py times the formulations the JAX row went through on its way.)
With --algo dqn_bc the PyTorch row runs the plan's compute_hybrid_loss (baselines/bc_pokemon_torch.py:
online forward + backward, target forward), the JAX rows pokeil_jax.dqn_bc's step (the same plus
the online forward on s' for double DQN), the row "PyTorch eager, double DQN" the baseline with
--double-dqn (the same three forwards as JAX: the like-for-like reference, column "vs like"),
and a row "JAX jit, BC step" gives the BC step on the same machine, so "x BC step" is the DQN-BC
step's time over the BC step's (target <= 2).
Columns: samples/s at each batch size, the ratio to PyTorch, forward latency (uint8 frames in,
logits on the host out) at batch 1, 4 and 16 (evaluation with 1, 4 or 16 envs), peak RSS of the worker, the device.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `python benchmarks/...` from anywhere
from pokeil_jax.cli import nonnegative_int, positive_int  # noqa: E402

from pokeil_jax.actions import NUM_ACTIONS  # noqa: E402

FRAMEWORKS = ("torch", "torch-ddqn", "jax", "jax-xla", "jax-bc")
LABELS = {"torch": "PyTorch eager", "torch-ddqn": "PyTorch eager, double DQN", "jax": "JAX jit",
          "jax-xla": "JAX jit, XLA convs", "jax-bc": "JAX jit, BC step"}
#: Environment of the workers with --tune-malloc: glibc keeps freed memory instead of returning
#: large blocks to the kernel, so a step does not page-fault its buffers in again (both workers).
TUNED_MALLOC_ENV = {"MALLOC_ARENA_MAX": "1", "MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "2147483647",
                    "MALLOC_TOP_PAD_": "268435456"}


def make_batches(batch_size: int, count: int, seed: int, expert_data_dir: str | None, algo: str = "bc") -> list[dict]:
    """`count` host batches {observations uint8 (B, 84, 84, 3), actions int32 (B,)} (with
    --algo dqn_bc also the keys of data.transitions.DQN_BC_BATCH_KEYS), the same for every
    worker: seeded synthetic frames, or the cached demos' batches 0..count-1."""
    if expert_data_dir:
        from pokeil_jax import data
        from pokeil_jax.data.transitions import NStepTransitions

        demos, _ = data.load_demos(expert_data_dir, val_fraction=0.0, seed=seed, progress=False)
        source = NStepTransitions(demos, 3, 0.99) if algo == "dqn_bc" else demos
        sampler_indices = [np.random.default_rng([seed, k]).integers(0, demos.num_transitions, batch_size)
                           for k in range(count)]
        return [source.batch(indices) for indices in sampler_indices]
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        batch = {"observations": rng.integers(0, 256, (batch_size, 84, 84, 3), dtype=np.uint8),
                 "actions": rng.integers(0, NUM_ACTIONS, batch_size).astype(np.int32)}
        if algo == "dqn_bc":
            batch.update(executed_actions=batch["actions"], returns=rng.random(batch_size, np.float32),
                         next_observations=rng.integers(0, 256, (batch_size, 84, 84, 3), dtype=np.uint8),
                         dones=rng.random(batch_size) < 0.05, discounts=np.full(batch_size, 0.99**3, np.float32),
                         label_mask=np.ones(batch_size, np.float32))
        batches.append(batch)
    return batches


# ------------------------------------------------------------------------------------------------
# Workers: one framework each, driven over a pipe
# ------------------------------------------------------------------------------------------------


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    return f"cpu x{os.cpu_count()}"


class TorchRunner:
    def __init__(self, seed: int, algo: str = "bc", double_dqn: bool = False):
        import torch

        from baselines.bc_pokemon_torch import ImpalaCNN

        self.torch, self.algo, self.double_dqn = torch, algo, double_dqn
        torch.manual_seed(seed)
        self.dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model = ImpalaCNN().to(self.dev)
        if algo == "dqn_bc":
            self.target = ImpalaCNN().to(self.dev)
            self.target.load_state_dict(self.model.state_dict())
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4, weight_decay=1e-5)
        name = torch.cuda.get_device_name() if self.dev.type == "cuda" else f"{_cpu_name()}, {torch.get_num_threads()} threads"
        self.device = f"{self.dev.type}: {name} (torch {torch.__version__})"

    def _sync(self):
        if self.dev.type == "cuda":
            self.torch.cuda.synchronize()

    def train_step(self, batch):
        import torch.nn.functional as F

        if self.algo == "dqn_bc":
            from baselines.bc_pokemon_torch import compute_hybrid_loss, hybrid_batch

            loss = compute_hybrid_loss(self.model, self.target, hybrid_batch(batch, self.dev),
                                       double_dqn=self.double_dqn)[0]
        else:
            obs = self.torch.from_numpy(batch["observations"]).to(self.dev)
            actions = self.torch.from_numpy(batch["actions"]).long().to(self.dev)
            loss = F.cross_entropy(self.model(obs), actions)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()  # waits for the step, as logging does

    def forward(self, observations):
        with self.torch.no_grad():
            return self.model(self.torch.from_numpy(observations).to(self.dev)).cpu().numpy()


class JaxRunner:
    def __init__(self, seed: int, kernels: str, algo: str = "bc"):
        import jax

        from pokeil_jax import dqn_bc, train
        from pokeil_jax.kernels import resolve_kernels

        self.jax, self.train, self.algo = jax, train, algo
        self.mesh = train.make_mesh()
        config = train.TrainConfig(kernels=kernels)
        if algo == "dqn_bc":
            state = dqn_bc.create_train_state(jax.random.key(seed), config)
            step_fn = dqn_bc.make_train_step(dqn_bc.DQNBCConfig())
        else:
            state, step_fn = train.create_train_state(jax.random.key(seed), config), None
        self.state = train.replicate(self.mesh, state)
        self.step = train.jit_train_step(self.mesh, step_fn)  # one compilation per batch shape
        self._policy = None
        device = jax.devices()[0]
        name = _cpu_name() if device.platform == "cpu" else device.device_kind
        resolved = resolve_kernels(kernels).name
        self.device = (f"{device.platform}: {name}, {jax.device_count()} device(s) (jax {jax.__version__}), "
                       f"convs: {resolved}")

    def train_step(self, batch):
        if self.algo == "bc":
            batch = {k: batch[k] for k in ("observations", "actions")}
        self.state, metrics = self.step(self.state, self.train.shard_batch(self.mesh, batch))
        return float(metrics["loss"])  # waits for the step, as logging does

    def forward(self, observations):
        if self._policy is None:  # what the evaluator calls: train.policy_fn of the current state
            self._policy = self.train.policy_fn(self.state)
        return np.asarray(self._policy(observations))


def worker(framework: str, conn, seed: int, expert_data_dir: str | None, batches_per_size: int, algo: str = "bc"):
    """Serve ("train", batch_size, steps) -> [seconds per step], ("forward", batch_size, calls) ->
    [seconds per call], ("info",) -> {device, peak_rss_mb}, ("quit",)."""
    import resource

    if framework in ("torch", "torch-ddqn"):
        runner = TorchRunner(seed, algo, double_dqn=framework == "torch-ddqn")
    else:
        runner = JaxRunner(seed, "xla" if framework == "jax-xla" else "auto", "bc" if framework == "jax-bc" else algo)
    cache: dict[int, list[dict]] = {}
    conn.send("ready")
    while True:
        message = conn.recv()
        if message[0] == "quit":
            return
        if message[0] == "info":
            conn.send({"device": runner.device, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
            continue
        kind, batch_size, count = message
        if batch_size not in cache:
            cache[batch_size] = make_batches(batch_size, batches_per_size, seed, expert_data_dir, algo)
        batches = cache[batch_size]
        times = []
        for k in range(count):
            batch = batches[k % len(batches)]
            start = time.perf_counter()
            if kind == "train":
                runner.train_step(batch)
            else:
                runner.forward(batch["observations"])
            times.append(time.perf_counter() - start)
        conn.send(times)


class Worker:
    def __init__(self, framework: str, args, env: dict):
        context = mp.get_context("spawn")
        self.conn, child = context.Pipe()
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # spawn copies the environment at start
        try:
            self.process = context.Process(target=worker, args=(framework, child, args.seed, args.expert_data_dir,
                                                                args.batches, args.algo), daemon=True)
            self.process.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        if self.conn.recv() != "ready":
            raise RuntimeError(f"{framework} worker failed to start")

    def ask(self, *message):
        self.conn.send(message)
        return self.conn.recv()

    def close(self):
        self.conn.send(("quit",))
        self.process.join(timeout=30)


# ------------------------------------------------------------------------------------------------
# The measurement
# ------------------------------------------------------------------------------------------------


def installed_frameworks(frameworks: list[str]) -> list[str]:
    """`frameworks` without the PyTorch rows when PyTorch is not installed (saying so): JAX alone."""
    if any(f.startswith("torch") for f in frameworks):
        try:
            import torch  # noqa: F401
        except ImportError:
            print("torch not installed (pip install torch==2.13.0): JAX only")
            return [f for f in frameworks if not f.startswith("torch")]
    return list(frameworks)


def measure(args) -> dict:
    """{framework: {"train": {B: [s/step]}, "forward": {B: [s/call]}, "device", "peak_rss_mb"}}."""
    env = TUNED_MALLOC_ENV if args.tune_malloc else {}
    workers = {name: Worker(name, args, env) for name in args.frameworks}
    results = {name: {"train": {}, "forward": {}} for name in workers}
    try:
        for batch_size in args.batch_sizes:
            for name, w in workers.items():  # warm-up: compile, first allocations
                w.ask("train", batch_size, args.warmup)
                results[name]["train"][batch_size] = []
            for _ in range(args.repeats):
                for name, w in workers.items():
                    time.sleep(0.2)  # let the other worker's threads stop spinning
                    per_step = w.ask("train", batch_size, args.steps)
                    results[name]["train"][batch_size].append(sum(per_step) / len(per_step))
        for batch_size in args.forward_sizes:
            for name, w in workers.items():
                w.ask("forward", batch_size, 3)
                results[name]["forward"][batch_size] = []
            for _ in range(args.repeats):
                for name, w in workers.items():
                    time.sleep(0.2)
                    results[name]["forward"][batch_size].extend(w.ask("forward", batch_size, args.forward_calls))
        for name, w in workers.items():
            results[name].update(w.ask("info"))
    finally:
        for w in workers.values():
            w.close()
    return results


def format_table(results: dict, args) -> str:
    names = list(results)
    reference = "torch" if "torch" in results else None
    head = ["framework"] + [f"samples/s @{b}" for b in args.batch_sizes] + [f"vs torch @{b}" for b in args.batch_sizes]
    bc_reference = "jax-bc" if "jax-bc" in results and args.algo == "dqn_bc" else None
    like_reference = "torch-ddqn" if "torch-ddqn" in results and args.algo == "dqn_bc" else None
    if like_reference:
        head += [f"vs like @{b}" for b in args.batch_sizes]
    if bc_reference:
        head += [f"x BC step @{b}" for b in args.batch_sizes]
    head += [f"fwd ms @{b}" for b in args.forward_sizes] + ["peak RSS MB", "device"]
    rows = [head]
    for name in names:
        r = results[name]
        sps = {b: b / statistics.median(r["train"][b]) for b in args.batch_sizes}
        row = [LABELS[name]] + [f"{sps[b]:.1f}" for b in args.batch_sizes]
        for b in args.batch_sizes:
            if reference:
                ref = b / statistics.median(results[reference]["train"][b])
                row.append(f"{sps[b] / ref:.2f}x")
            else:
                row.append("n/a")
        if like_reference:  # samples/s over the double-DQN baseline's: the same forwards both sides
            row += [f"{statistics.median(results[like_reference]['train'][b]) / statistics.median(r['train'][b]):.2f}x"
                    for b in args.batch_sizes]
        if bc_reference:  # this row's step time over JAX's BC step time
            row += [f"{statistics.median(r['train'][b]) / statistics.median(results[bc_reference]['train'][b]):.2f}"
                    for b in args.batch_sizes]
        row += [f"{statistics.median(r['forward'][b]) * 1e3:.2f}" for b in args.forward_sizes]
        row += [f"{r['peak_rss_mb']:.0f}", r["device"]]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) if i in (0, len(head) - 1) else cell.rjust(w) for i, (cell, w) in
                       enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line (whole_run.py builds its step-only reference from it too)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=positive_int, nargs="+", default=[64, 256], help="batch sizes of the train-step rows")
    parser.add_argument("--forward-sizes", type=positive_int, nargs="+", default=[1, 4, 16],
                        help="batch sizes of the policy forward (the evaluator's: one row per env)")
    parser.add_argument("--repeats", type=positive_int, default=5, help="alternating repeats; the median is reported")
    parser.add_argument("--steps", type=positive_int, default=10,
                        help="train steps per repeat (training runs its steps back to back; the first step "
                             "after the other worker's turn runs on cold caches and idle thread pools, and "
                             "costs JAX 15-30 ms more: with 3 steps it weighs a third of each repeat)")
    parser.add_argument("--warmup", type=nonnegative_int, default=2, help="untimed steps per batch size (compilation)")
    parser.add_argument("--forward-calls", type=positive_int, default=10, help="timed forward calls per size")
    parser.add_argument("--batches", type=positive_int, default=4, help="distinct batches cycled through")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the network init and the synthetic frames")
    parser.add_argument("--expert-data-dir", default=None, help="use cached real demos instead of synthetic frames")
    parser.add_argument("--algo", choices=("bc", "dqn_bc"), default="bc",
                        help="the step to time: BC, or DQN-BC (PyTorch: the plan's compute_hybrid_loss)")
    parser.add_argument("--frameworks", nargs="+", default=None, choices=FRAMEWORKS,
                        help="default: torch jax jax-xla (bc); torch torch-ddqn jax jax-bc (dqn_bc)")
    parser.add_argument("--tune-malloc", action="store_true", help=f"run both workers with {TUNED_MALLOC_ENV}")
    parser.add_argument("--smoke", action="store_true", help="tiny batches and repeats; prints every column")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.frameworks is None:
        args.frameworks = ["torch", "jax", "jax-xla"] if args.algo == "bc" else ["torch", "torch-ddqn", "jax", "jax-bc"]
    if args.expert_data_dir is not None:
        from pokeil_jax import data

        try:
            data.episode_paths(args.expert_data_dir)
        except data.EpisodeFormatError as error:
            parser.error(f"--expert-data-dir: {error}")
    if args.smoke:
        args.batch_sizes, args.forward_sizes = [4, 8], [1, 2]
        args.repeats, args.steps, args.warmup, args.forward_calls, args.batches = 1, 1, 1, 1, 1
    args.frameworks = installed_frameworks(args.frameworks)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    results = measure(args)
    print(f"load average at start {load:.1f} (2+ on this 2-core machine means other work shared the cores); "
          f"medians of {args.repeats} alternating repeats x {args.steps} steps; data: "
          f"{args.expert_data_dir or 'synthetic uint8 frames'}; step: {args.algo}; malloc tuned: {args.tune_malloc}; "
          f"{time.perf_counter() - start:.0f} s")
    print(format_table(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
