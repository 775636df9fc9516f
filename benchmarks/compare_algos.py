"""BC, BC + DAgger, DQN-BC offline and DQN-BC + online fine-tuning: same demos, same gradient
steps, same evaluator, several training seeds.

    python benchmarks/compare_algos.py --data-dir expert_data --steps 300 --seeds 1 2 3
    python benchmarks/compare_algos.py --env-id pokeil/MiniMonQuest-v0 --data-dir expert_data_quest \
        --steps 2000 --batch-size 64 --eval-max-steps 1500 --final-eval-episodes 50 \
        --dagger-rounds 3 --dagger-episodes 6 --dagger-takeover 2      # the long game, as make demo-quest
    python benchmarks/compare_algos.py --smoke                  # tiny: every variant once

Each variant is one `bc_pokemon_jax.py` run (its own process) with the shared settings below
and the variant's flags; equal gradient steps means DAgger's rounds and DQN-BC's online phase
come out of the same --steps. Evaluation is the script's: greedy, unseen seeds from 1000, every
--eval-frequency steps on --eval-episodes seeds (the curve) and at the end on
--final-eval-episodes seeds (the table). Writes algos.json, algos.md and algos.png to --out-dir.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from pokeil_jax.atomic import save_figure_atomic, write_text_atomic  # noqa: E402
from pokeil_jax.cli import nonnegative_float, nonnegative_int, positive_float, positive_int, run_step  # noqa: E402
from pokeil_jax.env_ids import DEFAULT_ENV_ID, ENV_IDS  # noqa: E402


def variants(opts) -> dict[str, list[str]]:
    """Variant name -> its bc_pokemon_jax.py flags (on top of the shared ones)."""
    online = max(opts.steps // 3, 1)
    dqn = ["--algo", "dqn_bc", "--n-step", str(opts.n_step), "--gamma", "0.99",
           "--target-network-frequency", str(opts.target_network_frequency), "--margin", str(opts.margin)]
    return {
        "BC": ["--total-training-steps", str(opts.steps)],
        "BC + DAgger": ["--total-training-steps", str(opts.steps), "--dagger-rounds", str(opts.dagger_rounds),
                        "--dagger-episodes", str(opts.dagger_episodes), "--dagger-max-steps", str(opts.eval_max_steps),
                        "--dagger-takeover", str(opts.dagger_takeover)],
        "DQN-BC offline": ["--total-training-steps", str(opts.steps), *dqn],
        "DQN-BC + online": ["--total-training-steps", str(opts.steps - online), "--online-steps", str(online),
                            "--online-num-envs", "2", "--dagger-max-steps", str(opts.eval_max_steps), *dqn],
    }


def run_variant(name: str, flags: list[str], seed: int, opts, out: Path) -> dict:
    exp = f"{name.replace(' ', '').replace('+', '_').replace('-', '')}_s{seed}"
    command = [sys.executable, str(REPO / "bc_pokemon_jax.py"), "--exp-name", exp, "--seed", str(seed),
               "--env-id", opts.env_id, "--expert-data-dir", opts.data_dir, "--batch-size", str(opts.batch_size),
               "--learning-rate", str(opts.learning_rate), "--eval-frequency", str(opts.eval_frequency),
               "--eval-episodes", str(opts.eval_episodes), "--final-eval-episodes", str(opts.final_eval_episodes),
               "--eval-max-steps", str(opts.eval_max_steps), "--eval-num-envs", "2", "--no-track-video",
               "--save-frequency", "0", "--checkpoint-dir", str(out / "checkpoints"), "--log-dir", str(out / "runs"),
               "--log-frequency", "25", *flags]
    finished = [p for p in (out / "runs").glob(f"{exp}__{seed}__*") if (p / "final_eval.json").exists()]
    if not finished:  # else a finished run of an interrupted comparison is read back, not re-trained
        print(f"== {name}, seed {seed}: {' '.join(command[2:])}", flush=True)
        run_step(command, f"{name}, seed {seed}", cwd=REPO)
    log_dir = max((out / "runs").glob(f"{exp}__{seed}__*"), key=lambda p: p.stat().st_mtime)
    report = json.loads((log_dir / "final_eval.json").read_text())
    policy = next(v for k, v in report.items() if k.endswith("policy"))
    return {"variant": name, "seed": seed, "log_dir": str(log_dir), "curve": eval_curve(log_dir),
            "milestone_completion": policy["milestone_completion_rate"], "success_rate": policy["success_rate"],
            "mean_return": policy["mean_return"], "mean_length": policy["mean_episode_length"],
            "per_milestone": policy["per_milestone_rates"],
            "steps_to_milestone": policy.get("steps_to_milestone", {})}


def eval_curve(log_dir: Path) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0}).Reload()
    return [(e.step, e.value) for e in events.Scalars("eval/milestone_completion")]


COLUMNS = [("milestone_completion", "milestone completion", "{:.1%}"), ("success_rate", "success", "{:.1%}"),
           ("mean_return", "return", "{:.2f}"), ("mean_length", "steps (to the end or the cut)", "{:.0f}")]


def table(rows: list[dict], opts) -> str:
    lines = ["| variant | seeds | " + " | ".join(label for _, label, _ in COLUMNS) + " | per milestone (mean) |",
             "|" + "---|" * (len(COLUMNS) + 3)]
    for name in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == name]
        cells = []
        for key, _, fmt in COLUMNS:
            values = [r[key] for r in mine]
            cells.append(f"{fmt.format(float(np.mean(values)))} ± {fmt.format((max(values) - min(values)) / 2)}")
        milestones = mine[0]["per_milestone"]
        per = ", ".join(f"{m} {np.mean([r['per_milestone'][m] for r in mine]):.0%}{_steps_to(mine, m)}"
                        for m in milestones)
        lines.append(f"| {name} | {', '.join(str(r['seed']) for r in mine)} | " + " | ".join(cells) + f" | {per} |")
    lines.append("")
    lines.append(f"{opts.env_id}: mean ± half-range over training seeds; {opts.steps} gradient steps each, batch "
                 f"{opts.batch_size}, lr {opts.learning_rate}; demos {opts.data_dir}; final evaluation on "
                 f"{opts.final_eval_episodes} unseen seeds from 1000, greedy, at most {opts.eval_max_steps} steps. "
                 f"Per milestone: the share of episodes reaching it, @ the mean steps to it (episodes that reached it).")
    return "\n".join(lines)


def _steps_to(rows: list[dict], milestone: str) -> str:
    """" @N": mean steps to the milestone over the seeds whose episodes reached it ("" if none did)."""
    steps = [r.get("steps_to_milestone", {}).get(milestone) for r in rows]
    steps = [s for s in steps if s is not None]
    return f" @{np.mean(steps):.0f}" if steps else ""


def plot(rows: list[dict], path: Path, env_id: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, name in enumerate(dict.fromkeys(r["variant"] for r in rows)):
        for j, r in enumerate(r for r in rows if r["variant"] == name):
            steps, values = zip(*r["curve"]) if r["curve"] else ((), ())
            ax.plot(steps, values, marker="o", color=f"C{i}", alpha=0.8, label=name if j == 0 else None)
    ax.set_xlabel("gradient steps")
    ax.set_ylabel("eval milestone completion")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    ax.set_title(f"{env_id}: milestone completion on unseen seeds (one line per training seed)", fontsize=9)
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--env-id", default=DEFAULT_ENV_ID, choices=sorted(ENV_IDS), help="the game every variant plays")
    parser.add_argument("--data-dir", default="expert_data", help="the demonstrations every variant trains on")
    parser.add_argument("--seeds", type=nonnegative_int, nargs="+", default=[1, 2, 3], help="training seeds (each trains every variant)")
    parser.add_argument("--variants", nargs="+", default=None, metavar="NAME",
                        help="a subset of the variants: BC, 'BC + DAgger', 'DQN-BC offline', 'DQN-BC + online'")
    parser.add_argument("--steps", type=positive_int, default=300,
                        help="gradient steps of every variant (DQN-BC + online: a third of them online)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="batch size of every variant")
    parser.add_argument("--learning-rate", type=positive_float, default=5e-4, help="learning rate of every variant")
    parser.add_argument("--n-step", type=positive_int, default=3, help="DQN-BC: n of the n-step TD target")
    parser.add_argument("--target-network-frequency", type=positive_int, default=100,
                        help="DQN-BC: steps between target network copies")
    parser.add_argument("--margin", type=nonnegative_float, default=0.0, help="DQN-BC: DQfD large-margin term (0: off)")
    parser.add_argument("--dagger-rounds", type=positive_int, default=2, help="BC + DAgger: rounds of learner episodes")
    parser.add_argument("--dagger-episodes", type=positive_int, default=5, help="BC + DAgger: learner episodes per round")
    parser.add_argument("--dagger-takeover", type=nonnegative_int, default=0,
                        help="BC + DAgger: the expert drives after this many returns to one state (0: plain DAgger)")
    parser.add_argument("--eval-frequency", type=positive_int, default=100, help="steps between evaluations (the curve)")
    parser.add_argument("--eval-episodes", type=positive_int, default=10, help="seeds per evaluation during training")
    parser.add_argument("--final-eval-episodes", type=positive_int, default=20, help="unseen seeds of the final evaluation (the table)")
    parser.add_argument("--eval-max-steps", type=positive_int, default=200,
                        help="evaluation (and DAgger/online) episodes are cut after this many steps")
    parser.add_argument("--out-dir", default="runs/compare_algos", help="where algos.json, algos.md and algos.png go")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: every variant once")
    opts = parser.parse_args(argv)
    unknown = sorted(set(opts.variants or ()) - set(variants(opts)))
    if unknown:
        parser.error(f"unknown --variants {', '.join(map(repr, unknown))}; choose from {', '.join(map(repr, variants(opts)))}")
    if opts.smoke:
        opts.seeds, opts.steps, opts.batch_size, opts.eval_frequency = [1], 6, 8, 3
        opts.eval_episodes, opts.final_eval_episodes, opts.eval_max_steps, opts.dagger_episodes = 1, 1, 10, 1
    out = Path(opts.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chosen = {k: v for k, v in variants(opts).items() if opts.variants is None or k in opts.variants}
    rows_path = out / "algos.json"
    rows = json.loads(rows_path.read_text())["rows"] if rows_path.exists() and not opts.smoke else []
    done = {(r["variant"], r["seed"]) for r in rows}
    for seed in opts.seeds:
        for name, flags in chosen.items():
            if (name, seed) in done:  # a re-run continues where the last one stopped
                continue
            rows.append(run_variant(name, flags, seed, opts, out))
            write_text_atomic(rows_path, json.dumps({"options": vars(opts), "rows": rows}, indent=2))
    text = table(rows, opts)
    print("\n" + text)
    write_text_atomic(out / "algos.md", text + "\n")
    plot(rows, out / "algos.png", opts.env_id)
    print(f"\nwrote {out / 'algos.md'}, algos.json, algos.png")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    sys.exit(main())
