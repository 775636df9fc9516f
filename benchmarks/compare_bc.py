"""Accuracy parity: the JAX pipeline and the PyTorch baseline trained alike, judged alike.

    python benchmarks/compare_bc.py                      # 2 seeds x 2 frameworks, 1200 steps each
    python benchmarks/compare_bc.py --seeds 1 2 3 --steps 3000
    python benchmarks/compare_bc.py --smoke              # tiny: every step of the procedure once (CI)
    python benchmarks/compare_bc.py --algo dqn_bc        # the DQN-BC hybrid in both pipelines

For each seed s, both pipelines train with their own scripts (`bc_pokemon_jax.main`,
`baselines/bc_pokemon_torch.train`) on the same demonstrations, for the same steps, batch size
and learning rate, from the SAME initial weights: the JAX script's init for seed s, converted
to PyTorch by `pokeil_jax.convert`. Both draw the same batches (`pokeil_jax.data.BatchSampler`
with seed s over the same episodes). They still differ in what a framework decides: float
summation order, and the optimiser's weight decay (AdamW, decoupled, in JAX; Adam's L2 term in
the baseline; 1e-5 either way). Then both final networks are judged by the same code:
validation loss and accuracy on held-out episodes (`evaluate.demo_metrics`) and greedy play on
the same unseen game seeds (`evaluate.evaluate`). Two seeds per framework show the run-to-run
noise the two frameworks should agree within.

With --algo dqn_bc both run their DQN-BC (same --n-step, gamma 0.99, same target-network period,
bc weight 1): the baseline the plan's `compute_hybrid_loss` as written (max over the target
network, MSE TD), the JAX script its double-DQN Huber TD (pokeil_jax/dqn_bc.py); the batches are
the same n-step transitions.

Demonstrations come from the scripted planner, collected once into --data-dir/{train,val}
(train seeds from 0, validation seeds from 500, evaluation seeds from 1000). Writes
comparison.json, comparison.md and comparison.png in --out-dir.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `python benchmarks/...` from anywhere
from pokeil_jax.cli import nonnegative_int, positive_float, positive_int, run_step  # noqa: E402

from pokeil_jax.atomic import save_figure_atomic, write_text_atomic  # noqa: E402

TRAIN_FIRST_SEED, VAL_FIRST_SEED = 0, 500  # evaluation: bc_pokemon_jax.pick_eval_seeds, from 1000


def collect_demos(folder: Path, episodes: int, first_seed: int, workers: int) -> None:
    """Top `folder` up to `episodes` scripted-planner episodes (seeds from `first_seed`)."""
    command = [sys.executable, str(REPO / "collect_expert_data.py"), "--expert", "scripted", "--top-up",
               "--num-episodes", str(episodes), "--seed", str(first_seed), "--expert-data-dir", str(folder),
               "--num-workers", str(workers)]
    run_step(command, f"collecting demonstrations into {folder}", cwd=REPO)


def jax_init_state(seed: int, hidden_dim: int):
    """The train state bc_pokemon_jax.py starts from with --seed `seed` (same key, same call)."""
    import jax

    import bc_pokemon_jax
    from pokeil_jax import train

    args = bc_pokemon_jax.Args(seed=seed, hidden_dim=hidden_dim)
    return train.create_train_state(jax.random.key(seed), bc_pokemon_jax.train_config(args))


def train_jax(seed: int, opts, train_dir: Path, out: Path) -> tuple[dict, float]:
    """bc_pokemon_jax.py on the train episodes, no evaluation of its own; (final params, seconds)."""
    import bc_pokemon_jax
    from pokeil_jax.convert import load_jax_checkpoint_params

    args = bc_pokemon_jax.Args(
        exp_name=f"compare_jax_s{seed}", seed=seed, expert_data_dir=str(train_dir), total_training_steps=opts.steps,
        batch_size=opts.batch_size, learning_rate=opts.learning_rate, val_fraction=0.0, eval_frequency=0,
        final_eval_episodes=0, compare_expert="", save_frequency=0, save_best=False,
        checkpoint_dir=str(out / "checkpoints"), log_dir=str(out / "runs"), track_video=False,
        algo=opts.algo, n_step=opts.n_step, target_network_frequency=opts.target_network_frequency)
    start = time.perf_counter()
    result = bc_pokemon_jax.main(args)
    seconds = time.perf_counter() - start
    return load_jax_checkpoint_params(Path(result["run_dir"]) / "final"), seconds


def train_torch(seed: int, opts, train_dir: Path, out: Path, init_params) -> tuple[object, float]:
    """The baseline on the same episodes from the converted JAX init; (final model, seconds)."""
    import torch

    from baselines import bc_pokemon_torch as baseline
    from pokeil_jax.convert import flax_params_to_torch_state_dict

    model_dir = out / f"torch_s{seed}"
    model_dir.mkdir(parents=True, exist_ok=True)
    init_path = model_dir / "init_from_jax.pth"
    torch.save(flax_params_to_torch_state_dict(init_params), init_path)
    args = baseline.Args(
        exp_name=f"compare_torch_s{seed}", seed=seed, expert_data_dir=str(train_dir), total_training_steps=opts.steps,
        batch_size=opts.batch_size, learning_rate=opts.learning_rate, eval_episodes=0,
        save_frequency=opts.steps + 1, model_dir=str(model_dir), init_weights=str(init_path),
        algo=opts.algo, n_step=opts.n_step, target_network_frequency=opts.target_network_frequency)
    start = time.perf_counter()
    result = baseline.train(args)
    seconds = time.perf_counter() - start
    model = baseline.ImpalaCNN(hidden_dim=opts.hidden_dim)
    model.load_state_dict(torch.load(result["final_path"], weights_only=True))
    return model.eval(), seconds


def torch_logits_fn(model):
    import torch

    def logits(frames: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(np.ascontiguousarray(frames))).numpy()

    return logits


def judge(logits_fn, val_demos, envs, eval_seeds, max_steps: int) -> dict:
    """Validation metrics and play on the eval seeds, by the code both frameworks share."""
    from pokeil_jax import evaluate

    val = evaluate.demo_metrics(logits_fn, val_demos)
    report = evaluate.evaluate(evaluate.PolicyAgent(logits_fn), envs, eval_seeds, max_steps=max_steps)
    return {"val_accuracy": val["accuracy"], "val_bc_loss": val["bc_loss"],
            "milestone_completion": report.milestone_completion_rate, "success_rate": report.success_rate,
            "mean_return": report.mean_return, "mean_length": report.mean_length}


def first_logits_agree(init_state, model_init, frames) -> float:
    """Max |logit difference| of the shared initial weights in both frameworks (the converter's check)."""
    from pokeil_jax import train

    return float(np.abs(np.asarray(train.policy_fn(init_state)(frames)) - torch_logits_fn(model_init)(frames)).max())


COLUMNS = [("val_accuracy", "val accuracy", "{:.1%}"), ("val_bc_loss", "val loss", "{:.3g}"),
           ("milestone_completion", "milestone completion", "{:.1%}"), ("success_rate", "success", "{:.1%}"),
           ("mean_length", "episode length", "{:.0f}"), ("train_seconds", "train s", "{:.0f}"),
           ("samples_per_second", "samples/s", "{:.0f}")]


def format_markdown(rows: list[dict], opts, eval_seeds: list[int]) -> str:
    head = "| pipeline | seed | " + " | ".join(label for _, label, _ in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for row in rows:
        lines.append(f"| {row['pipeline']} | {row['seed']} | "
                     + " | ".join(fmt.format(row[key]) for key, _, fmt in COLUMNS) + " |")
    for pipeline in dict.fromkeys(r["pipeline"] for r in rows):
        mine = [r for r in rows if r["pipeline"] == pipeline]
        cells = []
        for key, _, fmt in COLUMNS:
            values = [r[key] for r in mine]
            spread = (max(values) - min(values)) / 2
            cells.append(f"{fmt.format(float(np.mean(values)))} ± {fmt.format(spread)}")
        lines.append(f"| **{pipeline}, mean ± half-range** | {len(mine)} seeds | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"algo {opts.algo}; {opts.train_episodes} train / {opts.val_episodes} validation episodes of the scripted planner; "
                 f"{opts.steps} steps, batch {opts.batch_size}, lr {opts.learning_rate}; "
                 f"evaluation: {len(eval_seeds)} unseen game seeds from {eval_seeds[0]}, greedy, "
                 f"at most {opts.eval_max_steps} steps.")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path, algo: str = "bc") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [("val_accuracy", "validation accuracy"), ("milestone_completion", "milestone completion"),
               ("success_rate", "success rate")]
    pipelines = list(dict.fromkeys(r["pipeline"] for r in rows))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.4))
    for ax, (key, title) in zip(axes, metrics):
        for i, pipeline in enumerate(pipelines):
            values = [r[key] for r in rows if r["pipeline"] == pipeline]
            ax.bar(i, np.mean(values), color=f"C{i}", alpha=0.5, width=0.6)
            ax.scatter([i] * len(values), values, color=f"C{i}", zorder=3, label="one seed" if i == 0 else None)
        ax.set_xticks(range(len(pipelines)), pipelines)
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle(f"{algo}: JAX pipeline vs PyTorch baseline: same init, same batches, same evaluator (bars: mean)")
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=nonnegative_int, nargs="+", default=[1, 2], help="training seeds (each trains both pipelines)")
    parser.add_argument("--steps", type=positive_int, default=1200, help="gradient steps per run")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="global batch size of both pipelines")
    parser.add_argument("--learning-rate", type=positive_float, default=5e-4, help="learning rate of both pipelines")
    parser.add_argument("--hidden-dim", type=positive_int, default=256, help="width of the dense layer after the CNN")
    parser.add_argument("--train-episodes", type=positive_int, default=40, help="demonstrations to train on (collected if missing)")
    parser.add_argument("--val-episodes", type=positive_int, default=8, help="demonstrations for val loss and accuracy")
    parser.add_argument("--eval-episodes", type=positive_int, default=20, help="unseen game seeds each policy plays")
    parser.add_argument("--eval-max-steps", type=positive_int, default=300, help="evaluation episodes are cut after this many steps")
    parser.add_argument("--eval-num-envs", type=positive_int, default=2, help="emulator processes evaluating in parallel")
    parser.add_argument("--collect-workers", type=positive_int, default=2, help="collector processes for missing demonstrations")
    parser.add_argument("--data-dir", default="expert_data/compare", help="demonstrations: DATA_DIR/train, DATA_DIR/val")
    parser.add_argument("--out-dir", default="runs/compare_bc", help="where reports and both pipelines' runs go")
    parser.add_argument("--algo", choices=("bc", "dqn_bc"), default="bc", help="what both pipelines train")
    parser.add_argument("--n-step", type=int, default=3, help="dqn_bc: n of the n-step returns (both pipelines)")
    parser.add_argument("--target-network-frequency", type=int, default=500, help="dqn_bc: target copy period (both)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: every step once (CI)")
    opts = parser.parse_args(argv)
    if opts.smoke:
        opts.steps, opts.batch_size, opts.train_episodes, opts.val_episodes = 3, 8, 2, 1
        opts.eval_episodes, opts.eval_max_steps, opts.eval_num_envs = 1, 10, 1
    try:
        import torch  # noqa: F401
    except ImportError:
        sys.exit("the comparison needs PyTorch: pip install -r requirements-baseline.txt (torch==2.13.0)")
    data_dir, out = Path(opts.data_dir), Path(opts.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    print(f"== demonstrations in {data_dir}/train and {data_dir}/val")
    collect_demos(data_dir / "train", opts.train_episodes, TRAIN_FIRST_SEED, opts.collect_workers)
    collect_demos(data_dir / "val", opts.val_episodes, VAL_FIRST_SEED, opts.collect_workers)

    import jax

    import bc_pokemon_jax
    from baselines import bc_pokemon_torch as baseline
    from pokeil_jax import data, train
    from pokeil_jax.vector_env import make_eval_envs
    from pokeil_jax.convert import flax_params_to_torch_state_dict

    val_demos, _ = data.load_demos(data_dir / "val", val_fraction=0.0, progress=False)
    demo_seeds = data.next_episode_index_and_seed(data_dir / "train")[1] | data.next_episode_index_and_seed(data_dir / "val")[1]
    eval_seeds = bc_pokemon_jax.pick_eval_seeds(None, demo_seeds, opts.eval_episodes)  # from 1000 up
    envs = make_eval_envs(opts.eval_num_envs, max_episode_steps=opts.eval_max_steps)
    rows = []

    def add_row(pipeline, seed, logits_fn, seconds, init_gap):
        result = judge(logits_fn, val_demos, envs, eval_seeds, opts.eval_max_steps)
        rows.append({"pipeline": pipeline, "seed": seed, **result, "train_seconds": seconds,
                     "samples_per_second": opts.steps * opts.batch_size / seconds, "init_logit_gap": init_gap})

    try:
        for seed in opts.seeds:
            init_state = jax_init_state(seed, opts.hidden_dim)
            init = jax.device_get(init_state.params)
            model_init = baseline.ImpalaCNN(hidden_dim=opts.hidden_dim)
            model_init.load_state_dict(flax_params_to_torch_state_dict(init))
            init_gap = first_logits_agree(init_state, model_init.eval(), val_demos.batch(np.arange(min(16, len(val_demos))))["observations"])
            print(f"== seed {seed}: shared initial weights, max |logit difference| {init_gap:.1e}")

            print(f"== seed {seed}: JAX pipeline (bc_pokemon_jax.py), {opts.steps} steps")
            params, seconds = train_jax(seed, opts, data_dir / "train", out)
            add_row("JAX", seed, train.policy_fn(init_state.replace(params=params)), seconds, init_gap)

            print(f"== seed {seed}: PyTorch baseline (baselines/bc_pokemon_torch.py), {opts.steps} steps")
            model, seconds = train_torch(seed, opts, data_dir / "train", out, init)
            add_row("PyTorch", seed, torch_logits_fn(model), seconds, init_gap)
    finally:
        envs.close()

    table = format_markdown(rows, opts, eval_seeds)
    print("\n" + table)
    write_text_atomic(out / "comparison.md", table + "\n")
    write_text_atomic(out / "comparison.json", json.dumps({"options": vars(opts), "eval_seeds": eval_seeds, "rows": rows},
                                                   indent=2))
    plot(rows, out / "comparison.png", opts.algo)
    print(f"\nwrote {out / 'comparison.md'}, comparison.json, comparison.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
