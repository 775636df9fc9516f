"""Behavioral cloning for Pokémon-like GBA games in JAX/Flax, cleanrl-style.

    python bc_pokemon_jax.py                                   # train on expert_data/, bundled game
    python bc_pokemon_jax.py --resume                          # continue the newest run of --exp-name
    python bc_pokemon_jax.py --eval-only --checkpoint checkpoints/<run>/best

Algorithm: load demonstrations -> ImpalaCNN policy -> minimise cross-entropy to the expert's
actions with AdamW, one jit-compiled data-parallel step over all devices -> judge the policy in
the env on seeds the demonstrations never used -> keep periodic, best and final checkpoints.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
import time
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import tyro

from pokeil_jax.atomic import atomic_write


@dataclasses.dataclass
class Args:
    exp_name: str = "bc_pokemon_jax"
    """name of the experiment; runs are `runs/<exp_name>__<seed>__<unix time>`"""
    seed: int = 1
    """seed of parameter init, the batch stream and the train/val split"""
    env_id: str = "pokeil/MiniMon-v0"
    """which bundled game to evaluate in: pokeil/MiniMon-v0 or pokeil/MiniMonQuest-v0"""
    rom_path: Optional[str] = None
    """GBA ROM to evaluate in instead of the env id's bundled game (an Emerald ROM gets the Emerald adapter)"""
    expert_data_dir: str = "expert_data"
    """folder of episode_XXXX.npz demonstrations (see collect_expert_data.py)"""
    total_training_steps: int = 3000
    """gradient steps"""
    batch_size: int = 64
    """global batch size (split across all devices)"""
    learning_rate: float = 1e-4
    """AdamW learning rate"""
    weight_decay: float = 1e-5
    """AdamW weight decay"""
    hidden_dim: int = 256
    """width of the dense layer after the CNN"""
    val_fraction: float = 0.1
    """fraction of episodes held out for val/bc_loss and val/accuracy"""
    log_frequency: int = 50
    """steps between train/* logs"""
    eval_frequency: int = 1000
    """steps between evaluations in the env and on the validation set (0: only at the end)"""
    eval_episodes: int = 10
    """episodes per evaluation during training (one per eval seed)"""
    final_eval_episodes: int = 50
    """episodes of the final evaluation (policy and expert on the same unseen seeds); 0 skips it"""
    eval_seeds: Optional[list[int]] = None
    """explicit evaluation seeds; default: seeds 1000, 1001, ... skipping any seed the demonstrations used"""
    eval_max_steps: int = 500
    """evaluation episodes are cut after this many steps"""
    eval_num_envs: int = 4
    """emulators (processes) evaluating in parallel"""
    eval_greedy: bool = True
    """take the argmax action (False: sample from the policy's softmax)"""
    compare_expert: str = "scripted"
    """expert judged on the same seeds in the final report ('' to skip)"""
    save_frequency: int = 1000
    """steps between periodic checkpoints"""
    keep_checkpoints: int = 3
    """periodic checkpoints kept"""
    checkpoint_dir: str = "checkpoints"
    """checkpoints go to <checkpoint_dir>/<run_name>/{periodic,best,final}"""
    save_best: bool = True
    """keep the checkpoint with the best eval milestone completion (ties: best return)"""
    resume: bool = False
    """continue the newest run of --exp-name from its latest checkpoint"""
    eval_only: bool = False
    """only evaluate --checkpoint (no training)"""
    checkpoint: Optional[str] = None
    """checkpoint to restore for --eval-only (a run, best/periodic/final folder, or one step folder)"""
    log_dir: str = "runs"
    """tensorboard logs go to <log_dir>/<run_name>"""
    track_video: bool = True
    """log a GIF of the first evaluation episode at each evaluation"""
    dagger_rounds: int = 0
    """online DAgger rounds (0: plain BC): training is split into rounds+1 equal phases; after each
    phase but the last the learner plays, the expert labels every state it visits, and those
    episodes join the training set (saved in <expert_data_dir>/dagger/<run_name>/)"""
    dagger_episodes: int = 8
    """episodes the learner plays per DAgger round"""
    dagger_beta: float = 0.5
    """in DAgger round r (0-based) the expert's own action is pressed with probability beta**(r+1), the learner's otherwise"""
    dagger_expert: str = "scripted"
    """expert that labels DAgger states (must answer from any state)"""
    dagger_max_steps: int = 300
    """DAgger episodes are cut after this many steps"""
    tune_malloc: bool = True
    """let glibc keep freed memory for reuse: XLA:CPU steps stop page-faulting their buffers in
    anew (~15-20% faster here), and the process keeps its peak heap"""
    kernels: Literal["auto", "xla", "onednn"] = "auto"
    """who computes the network's convolutions and max-pools, in training, validation, evaluation
    and DAgger alike: 'onednn' (pokeil_jax/kernels/onednn.py, an XLA:CPU custom call, ~1.8x
    faster train step on CPU; `make setup` builds it), 'xla' (XLA's own), 'auto' (oneDNN when
    built, on the CPU backend with one device; else XLA)"""


def main(args: Args) -> dict:
    from pokeil_jax import runtime, train

    if args.tune_malloc:
        runtime.tune_host_malloc()  # process-wide: before JAX allocates its first buffers
    import jax

    from pokeil_jax import checkpoint as ckpt
    from pokeil_jax import data, evaluate, vector_env
    from pokeil_jax.experts import make_expert

    # ---- processes, seeds -----------------------------------------------------------------------
    process_index, process_count = runtime.maybe_initialize_distributed()
    is_main = process_index == 0
    random.seed(args.seed)
    np.random.seed(args.seed)
    key = jax.random.key(args.seed)

    if args.eval_only:
        return evaluate_checkpoint(args)

    # ---- run folder (new, or the newest one when resuming) ------------------------------------
    if args.resume:
        run_dir = ckpt.find_latest_run(args.checkpoint_dir, args.exp_name)
        if run_dir is None:
            sys.exit(f"--resume: no run of exp_name {args.exp_name!r} with a checkpoint under {args.checkpoint_dir}/")
        run_name = run_dir.name
    else:
        run_name = f"{args.exp_name}__{args.seed}__{int(time.time())}"
        run_dir = Path(args.checkpoint_dir) / run_name
    log_path = Path(args.log_dir) / run_name
    if is_main:
        log_path.mkdir(parents=True, exist_ok=True)
        _write_json(log_path / "args.json", dataclasses.asdict(args))
    print(f"run {run_name}: {jax.device_count()} device(s) {jax.devices()[0].platform}, process {process_index}/{process_count}, "
          f"kernels: {_resolved_kernels(args)}")

    # ---- demonstrations -------------------------------------------------------------------------
    train_demos, val_demos = data.load_demos(
        args.expert_data_dir, val_fraction=args.val_fraction, seed=args.seed,
        process_index=process_index, process_count=process_count,
    )
    demo_seeds = data.next_episode_index_and_seed(args.expert_data_dir)[1]
    mid_eval = args.eval_frequency > 0 and args.eval_episodes > 0
    eval_seeds = pick_eval_seeds(args.eval_seeds, demo_seeds, max(args.final_eval_episodes, args.eval_episodes * mid_eval))
    final_seeds = eval_seeds if args.eval_seeds else eval_seeds[: args.final_eval_episodes]
    print(
        f"demos: {train_demos.num_episodes} train episodes ({train_demos.num_transitions} transitions), "
        f"{val_demos.num_episodes if val_demos else 0} val; eval seeds {_ranges(eval_seeds)} (disjoint from demo seeds)"
    )

    # ---- env for evaluation (process 0 evaluates) -----------------------------------------------------------
    envs = None
    if eval_seeds and is_main:
        envs = vector_env.make_eval_envs(args.eval_num_envs, rom_path=args.rom_path, max_episode_steps=args.eval_max_steps)

    # ---- train state: fresh, or restored -------------------------------------------------------------
    mesh = train.make_mesh()
    state = train.create_train_state(key, train_config(args))
    checkpointer = ckpt.Checkpointer(run_dir, max_to_keep=args.keep_checkpoints)
    start_step = 0
    if args.resume:
        state, extras = ckpt.restore(checkpointer.latest() or run_dir, state)
        start_step = int((extras.get("loader_state") or {}).get("sampler_step", extras["step"]))
        print(f"resumed {run_name} at step {start_step}")
    state = train.replicate(mesh, state)
    train_step = train.jit_train_step(mesh)

    from tensorboardX import SummaryWriter

    writer = SummaryWriter(str(log_path)) if is_main else None
    # Each process samples its own shard with its own stream; the global batch is their concatenation.
    sampler_seed = args.seed + 7919 * process_index
    if args.dagger_rounds and process_count > 1:
        sys.exit("--dagger-rounds needs a single process (the learner plays in this process's env)")
    dagger_loop = None
    if args.dagger_rounds:
        from pokeil_jax.dagger import DaggerLoop

        dagger_loop = DaggerLoop(dagger_config(args), run_name, train_demos.sources, writer_log=log_scalars)
    if dagger_loop is not None and start_step:
        train_demos = dagger_loop.training_set(start_step)  # the rounds collected before the resume point
    sampler = data.BatchSampler(train_demos, args.batch_size // process_count, seed=sampler_seed, start_step=start_step)

    # ---- training loop ----------------------------------------------------------------------------------
    from tqdm import tqdm

    bar = tqdm(range(start_step, args.total_training_steps), initial=start_step, total=args.total_training_steps,
               desc="train", unit="step", dynamic_ncols=True, disable=not is_main,
               smoothing=0)  # steps are dispatched ahead of the device: show the mean rate, not bursts
    last_time, last_step = time.perf_counter(), start_step
    last_eval: dict = {}
    history: list[dict] = []
    for step in bar:
        batch = train.shard_batch(mesh, next(sampler))
        state, metrics = train_step(state, batch)
        done = step + 1

        last = done == args.total_training_steps
        saving = every(args.save_frequency, done)
        if every(args.log_frequency, done) or last or saving:
            metrics = train.check_finite(metrics)  # stops on NaN/inf before anything is saved
            now = time.perf_counter()
            sps = (done - last_step) * args.batch_size / (now - last_time)
            last_time, last_step = now, done
            log_scalars(writer, {
                "train/bc_loss": metrics["loss"], "train/accuracy": metrics["accuracy"],
                "train/grad_norm": metrics["grad_norm"], "train/learning_rate": metrics["learning_rate"],
                "charts/SPS": sps,
            }, done)
            history.append({"step": done, **metrics, "SPS": sps})
            bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{metrics['accuracy']:.2f}", sps=f"{sps:.0f}")

        if val_demos is not None and is_main and (every(args.eval_frequency, done) or last):
            log_scalars(writer, validation_metrics(state, val_demos, args.batch_size), done)

        if mid_eval and every(args.eval_frequency, done) and not last:
            if is_main:
                last_eval = run_policy_eval(args, envs, state, eval_seeds[: args.eval_episodes], writer, done).summary()
            last_eval = runtime.agree_across_processes(last_eval, ckpt.BEST_METRIC_KEYS)  # process 0 evaluated
            if args.save_best:
                checkpointer.save_best(done, state, dataclasses.asdict(args), last_eval)

        if dagger_loop is not None and dagger_loop.round_ends_at(done):
            train_demos = dagger_loop.collect(done, state, writer)  # learner plays, expert labels
            sampler.close()
            sampler = data.BatchSampler(train_demos, args.batch_size, seed=sampler_seed, start_step=done)

        if saving:
            checkpointer.save_periodic(done, state, dataclasses.asdict(args), last_eval, {"sampler_step": done})
    sampler.close()
    bar.close()

    # ---- final: save, judge policy and expert on the same unseen seeds --------------------------
    reports = {}
    summary = {}
    if final_seeds and is_main:
        reports["BC policy"] = run_policy_eval(args, envs, state, final_seeds, writer, args.total_training_steps)
        summary = reports["BC policy"].summary()
    if final_seeds:
        summary = runtime.agree_across_processes(summary, ckpt.BEST_METRIC_KEYS)
    checkpointer.save_final(args.total_training_steps, state, dataclasses.asdict(args), summary,
                            {"sampler_step": args.total_training_steps})
    if args.save_best and summary:
        checkpointer.save_best(args.total_training_steps, state, dataclasses.asdict(args), summary)
    checkpointer.close()
    if is_main:
        if args.compare_expert and final_seeds:
            expert_report = evaluate.evaluate(
                evaluate.ExpertAgent(lambda: make_expert(args.compare_expert, rom_path=args.rom_path), envs.num_envs), envs, final_seeds,
                max_steps=args.eval_max_steps,
            )
            reports = {f"expert ({args.compare_expert})": expert_report, **reports}
        if reports:
            print_final_report(args, reports, run_dir, log_path)
        writer.close()
    if envs is not None:
        envs.close()
    if dagger_loop is not None:
        dagger_loop.close()
    return {"run_name": run_name, "run_dir": str(run_dir), "log_dir": str(log_path), "train_history": history,
            "reports": {name: r.to_dict() for name, r in reports.items()}}


# ---- helpers: each a step of the loop above ----------------------------------------------------------


def every(period: int, step: int) -> bool:
    return period > 0 and step % period == 0


def pick_eval_seeds(explicit, demo_seeds: set[int], count: int) -> list[int]:
    """Explicit seeds, or `count` seeds from 1000 upward that no demonstration used."""
    if explicit:
        return list(explicit)
    seeds, s = [], 1000
    while len(seeds) < count:
        if s not in demo_seeds:
            seeds.append(s)
        s += 1
    return seeds


def train_config(args: Args):
    """What create_train_state needs, from Args."""
    from pokeil_jax.networks import NetworkSizes
    from pokeil_jax.train import TrainConfig

    return TrainConfig(learning_rate=args.learning_rate, weight_decay=args.weight_decay,
                       network=NetworkSizes(hidden_dim=args.hidden_dim), kernels=args.kernels)


def dagger_config(args: Args):
    """The DAgger loop's settings, from Args."""
    from pokeil_jax.dagger import DaggerConfig

    return DaggerConfig(rounds=args.dagger_rounds, episodes=args.dagger_episodes, beta=args.dagger_beta,
                        expert=args.dagger_expert, max_steps=args.dagger_max_steps,
                        total_training_steps=args.total_training_steps, expert_data_dir=args.expert_data_dir,
                        rom_path=args.rom_path, seed=args.seed)


def _resolved_kernels(args: Args) -> str:
    """'xla' or 'onednn' for --kernels, with why when 'auto' could not pick oneDNN; exits with the
    fix when --kernels onednn cannot be honoured."""
    from pokeil_jax import kernels

    try:
        return kernels.describe(args.kernels)
    except (kernels.onednn.OneDNNUnavailableError, ValueError) as error:
        sys.exit(f"--kernels: {error}")


def run_policy_eval(args, envs, state, seeds, writer, step):
    from pokeil_jax import evaluate, train

    frames: list = []
    # On this process's own device, with the state's network (--kernels).
    agent = evaluate.PolicyAgent(train.policy_fn(state), greedy=args.eval_greedy, seed=args.seed)
    report = evaluate.evaluate(agent, envs, seeds, max_steps=args.eval_max_steps, record_frames=frames, progress=True)
    log_scalars(writer, report.summary(), step)
    if writer is not None and args.track_video and frames:
        from pokeil_jax.video import log_gif, save_video

        log_gif(writer, "eval/episode", frames, step, fps=8)
        save_video(frames, Path(writer.logdir) / "videos" / f"eval_step{step:07d}_seed{seeds[0]}.gif", fps=8)
    print(
        f"\neval @ {step}: milestone completion {report.milestone_completion_rate:.1%}, "
        f"success {report.success_rate:.1%}, return {report.mean_return:.2f}, length {report.mean_length:.0f}"
    )
    return report


def validation_metrics(state, val_demos, batch_size) -> dict:
    """Mean BC loss and accuracy over every validation transition (exactly once each)."""
    from pokeil_jax import evaluate, train

    metrics = evaluate.demo_metrics(train.policy_fn(state), val_demos, batch_size)
    return {"val/bc_loss": metrics["bc_loss"], "val/accuracy": metrics["accuracy"]}


def log_scalars(writer, scalars: dict, step: int) -> None:
    if writer is not None:
        for k, v in scalars.items():
            writer.add_scalar(k, float(v), step)


def print_final_report(args, reports, run_dir, log_path) -> None:
    from pokeil_jax import evaluate

    print("\n" + evaluate.format_table(reports))
    report_path = evaluate.save_report_json(reports, log_path / "final_eval.json", {"args": dataclasses.asdict(args)})
    print(f"\nreport: {report_path}\ncheckpoints: {run_dir}/{{periodic,best,final}}\ntensorboard --logdir {args.log_dir}")


def evaluate_checkpoint(args: Args) -> dict:
    """--eval-only: restore any checkpoint, judge it (and the expert) on the eval seeds, write a JSON report."""
    from pokeil_jax import checkpoint as ckpt
    from pokeil_jax import data, evaluate, train, vector_env
    from pokeil_jax.experts import make_expert

    if not args.checkpoint:
        sys.exit("--eval-only needs --checkpoint PATH (a run folder, its best/periodic/final folder, or a step folder)")
    import jax

    state = train.create_train_state(jax.random.key(args.seed), train_config(args))
    try:
        state, extras = ckpt.restore(args.checkpoint, state)
    except ckpt.CheckpointError as e:
        sys.exit(str(e))
    demo_seeds = data.next_episode_index_and_seed(args.expert_data_dir)[1]
    seeds = pick_eval_seeds(args.eval_seeds, demo_seeds, args.final_eval_episodes)
    envs = vector_env.make_eval_envs(args.eval_num_envs, rom_path=args.rom_path, max_episode_steps=args.eval_max_steps)
    agent = evaluate.PolicyAgent(train.policy_fn(state), greedy=args.eval_greedy, seed=args.seed)
    reports = {"BC policy": evaluate.evaluate(agent, envs, seeds, max_steps=args.eval_max_steps, progress=True)}
    if args.compare_expert:
        expert = evaluate.ExpertAgent(lambda: make_expert(args.compare_expert, rom_path=args.rom_path), envs.num_envs)
        reports = {f"expert ({args.compare_expert})": evaluate.evaluate(expert, envs, seeds, max_steps=args.eval_max_steps),
                   **reports}
    envs.close()
    print(f"checkpoint {args.checkpoint} (step {int(state.step)}), seeds {_ranges(seeds)}")
    print(evaluate.format_table(reports))
    out = Path(args.checkpoint) / "eval_report.json" if Path(args.checkpoint).is_dir() else Path(args.checkpoint + ".eval.json")
    evaluate.save_report_json(reports, out, {"checkpoint": str(args.checkpoint), "step": int(state.step)})
    print(f"report: {out}")
    return {name: r.to_dict() for name, r in reports.items()}


def _ranges(values) -> str:
    values = sorted(values)
    if not values:
        return "none"
    parts, start, prev = [], values[0], values[0]
    for v in values[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if v is not None:
            start = prev = v
    return ",".join(parts)


def _write_json(path: Path, obj) -> None:
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=2)


def cli() -> None:
    args = tyro.cli(Args)  # --help answers before the heavy imports below
    from pokeil_jax import env_ids

    try:
        args.rom_path = env_ids.rom_path_for(args.env_id, args.rom_path)
    except env_ids.UnknownEnvIdError as error:
        sys.exit(f"error: {error}")
    from pokeil_jax.checkpoint import CheckpointError
    from pokeil_jax.data import EpisodeFormatError
    from pokeil_jax.train import NonFiniteLossError

    try:
        main(args)
    except (NonFiniteLossError, CheckpointError, EpisodeFormatError) as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    cli()
