"""Behavioral cloning (and DQN-BC) for Pokémon-like GBA games in JAX/Flax, cleanrl-style.

    python bc_pokemon_jax.py                                   # train on expert_data/, bundled game
    python bc_pokemon_jax.py --resume                          # continue the newest run of --exp-name
    python bc_pokemon_jax.py --eval-only --checkpoint checkpoints/<run>/best
    python bc_pokemon_jax.py --algo dqn_bc --n-step 3          # BC + n-step double-DQN TD on the rewards
    python bc_pokemon_jax.py --algo dqn_bc --online-steps 2000 # ... then online fine-tuning with replay

Algorithm: load demonstrations -> ImpalaCNN policy -> minimise cross-entropy to the expert's
actions with AdamW, one jit-compiled data-parallel step over all devices -> judge the policy in
the env on seeds the demonstrations never used -> keep periodic, best and final checkpoints.
With --algo dqn_bc the network's outputs are Q-values and the step is pokeil_jax/dqn_bc.py's:
cross-entropy to the expert plus TD on the milestone rewards, with a target network in the state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import time
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import tyro

from pokeil_jax.atomic import atomic_write
from pokeil_jax.cli import UsageError, require

STARTED = time.perf_counter()  # for the "first step done" line


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
    minari_dataset: Optional[str] = None
    """train on this Minari dataset (id in Minari's local store, $MINARI_DATASETS_PATH) instead of
    --expert-data-dir's episodes: 160x240x3 frames, 10 buttons; read once into
    <expert_data_dir>/.cache/minari/ and cached like a folder (needs requirements-extras.txt)"""
    total_training_steps: int = 3000
    """gradient steps"""
    batch_size: int = 64
    """global batch size (split across all devices)"""
    learning_rate: float = 1e-4
    """AdamW learning rate"""
    anneal_lr: bool = False
    """the learning rate falls linearly to 0 over the run's gradient steps (--total-training-steps,
    plus --online-steps for DQN-BC; cleanrl's anneal_lr); off: constant"""
    weight_decay: float = 1e-5
    """AdamW weight decay"""
    augment_shift: int = 0
    """BC only: shift each training frame by a random offset of up to this many pixels (of 84) on
    both axes, the border repeated (DrQ's random shift, pokeil_jax/augment.py); 0: frames as they are"""
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
    eval_initial_state: Optional[str] = None
    """evaluate from this save state (mGBA .ss0-.ss9 or a raw .state of the same game) instead of the game's own start; each eval seed reseeds the game's randomness"""
    eval_max_steps: int = 500
    """evaluation episodes are cut after this many steps"""
    eval_stall_steps: int = 0
    """an evaluation episode that reaches no new milestone in this many steps ends there, scored
    with what it reached (the report counts it as 'ended stalled'): on long games stuck episodes
    stop costing time; set it above the expert's longest gap between two milestones (0: off)"""
    start_milestone: int = 0
    """episodes the run plays (evaluations, the expert's comparison, DAgger rounds) start at this split: where the game's scripted planner first completes milestone k-1 (cached on disk; 0: the game's start). E.g. 11 on pokeil/MiniMonQuest-v0: from the MAZE's entrance on"""
    eval_num_envs: int = 4
    """emulators (processes) evaluating in parallel"""
    eval_greedy: bool = True
    """take the argmax action (False: sample from the policy's softmax)"""
    eval_escape_loops: int = 0
    """with --eval-greedy: when a screen comes back within an episode (a greedy policy would loop
    there forever), the policy's next N actions are sampled from its softmax, then argmax again
    (0: pure argmax; episodes stuck in a loop then end early, scored as run to the cut)"""
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
    init_checkpoint: Optional[str] = None
    """start training from this checkpoint's network (a run, best/periodic/final folder, or one step
    folder; same --hidden-dim) with a fresh optimiser at step 0: fine-tuning, or DAgger from a BC
    policy, whose first round is then played before any training step (see --dagger-rounds)"""
    log_dir: str = "runs"
    """tensorboard logs go to <log_dir>/<run_name>"""
    track: bool = False
    """mirror the run to Weights & Biases: tensorboard scalars, args as config, eval GIFs as videos
    (needs requirements-extras.txt; WANDB_MODE=offline keeps it in a local wandb/ folder)"""
    wandb_project_name: str = "pokeil-jax"
    """the W&B project of --track"""
    wandb_entity: Optional[str] = None
    """the W&B team or user of --track (default: your W&B default entity)"""
    track_video: bool = True
    """log a GIF of the first evaluation episode at each evaluation"""
    dagger_rounds: int = 0
    """online DAgger rounds (0: plain BC): training is split into rounds+1 equal phases; after each
    phase but the last the learner plays, the expert labels every state it visits, and those
    episodes join the training set (saved in <expert_data_dir>/dagger/<run_name>/). With
    --init-checkpoint the restored policy plays round 1 before any step, and training is split
    into `rounds` phases, one after each round"""
    dagger_episodes: int = 8
    """episodes the learner plays per DAgger round"""
    dagger_beta: float = 0.5
    """in DAgger round r (0-based) the expert's own action is pressed with probability beta**(r+1), the learner's otherwise"""
    dagger_expert: str = "scripted"
    """expert that labels DAgger states and, with --online-steps, the states the DQN-BC student
    visits (must answer from any state; '' for none: then online steps get no BC term)"""
    dagger_num_envs: int = 8
    """envs (worker processes) a DAgger round's episodes play in at once, one batched forward a
    step (at most --dagger-episodes; 1: one at a time in this process)"""
    dagger_max_steps: int = 300
    """DAgger and online episodes are cut after this many steps"""
    dagger_takeover: int = 0
    """when the learner comes back to the same state this many times in a DAgger episode (a loop it
    would never leave), the expert drives until the next milestone, then hands back; the learner
    then also visits the states beyond where it gets stuck (0: never, plain DAgger)"""
    dagger_stall_takeover: int = 0
    """when the learner reaches no new milestone for this many steps in a DAgger episode (lost
    without coming back to one state, as in a maze), the expert drives until the next milestone,
    then hands back (0: never)"""
    dagger_sample_learner: bool = False
    """in DAgger rounds the learner's actions are drawn from its softmax instead of its argmax, so
    the rounds visit (and the expert labels) the states a sampling policy reaches; pairs with
    --no-eval-greedy, which judges the policy that way"""
    dagger_split_episodes: int = 0
    """besides --dagger-episodes, learner episodes per DAgger round that start at split
    --dagger-split-milestone (on their own seeds), so the learner practises the part of the game
    where it fails most without first playing up to it each time (0: none)"""
    dagger_split_milestone: int = 0
    """where --dagger-split-episodes start: the state where the scripted expert first completes
    milestone k-1, as --start-milestone (run with a bad value to list the valid ones)"""
    dagger_focus: float = 0.0
    """share of each training batch drawn from the states where the DAgger learner's own action was
    not the expert's label (its mistakes: a few hundred states among tens of thousands), the rest
    uniformly from all transitions; 0: uniform batches"""
    algo: str = "bc"
    """'bc': behavioral cloning (cross-entropy); 'dqn_bc': the network's outputs are Q-values,
    trained by bc_weight * cross-entropy + td_weight * Huber TD on the demonstrations' rewards
    (n-step, double DQN, target network; pokeil_jax/dqn_bc.py)"""
    n_step: int = 3
    """dqn_bc: rewards summed over this many steps before bootstrapping from the state n steps later"""
    gamma: float = 0.99
    """dqn_bc: discount in (0, 1]"""
    bc_weight: float = 1.0
    """dqn_bc: weight of the cross-entropy term"""
    td_weight: float = 1.0
    """dqn_bc: weight of the TD (Huber) term"""
    margin: float = 0.0
    """dqn_bc: DQfD large-margin term: Q of the expert's action must beat the others by this much (0: off)"""
    target_network_frequency: int = 500
    """dqn_bc: copy the Q-network into the target network every this many steps (with --tau 1)"""
    tau: float = 1.0
    """dqn_bc: < 1 Polyak-averages the target network every step with this rate instead of copying"""
    distill_decay: bool = False
    """dqn_bc: scale the BC weight by the distillation coefficient max(1 - G_student/G_expert, 0) of
    the latest evaluation (the expert --compare-expert on the same seeds): imitation fades as the
    student catches up"""
    online_steps: int = 0
    """dqn_bc: gradient steps of online fine-tuning after the offline ones; before each the student
    plays one epsilon-greedy step in every online env and the steps go to a replay buffer"""
    online_num_envs: int = 2
    """dqn_bc: envs the student plays in during online fine-tuning"""
    online_epsilon: float = 0.05
    """dqn_bc: probability of a random button during online fine-tuning"""
    demo_ratio: float = 0.5
    """dqn_bc: share of each online batch drawn from the demonstrations (the rest from the replay buffer)"""
    replay_capacity: int = 10_000
    """dqn_bc: online transitions kept (each ~42 KiB: two uint8 84x84x3 frames)"""
    tune_malloc: bool = True
    """let glibc keep freed memory for reuse: XLA:CPU steps stop page-faulting their buffers in
    anew (~15-20% faster here), and the process keeps its peak heap"""
    kernels: Literal["auto", "xla", "onednn"] = "auto"
    """who computes the network's convolutions and max-pools, in training, validation, evaluation
    and DAgger alike: 'onednn' (pokeil_jax/kernels/onednn.py, an XLA:CPU custom call, ~1.8x
    faster train step on CPU; `make setup` builds it), 'xla' (XLA's own), 'auto' (oneDNN when
    built, on the CPU backend with one device; else XLA)"""
    compilation_cache_dir: str = "~/.cache/pokeil_jax/jax-compilation-cache"
    """folder where compiled XLA programs are kept, so a second run of the same configuration
    starts without compiling its train step again ('' turns the cache off; safe for runs in parallel)"""


def main(args: Args) -> dict:
    """Train a BC (or DQN-BC) policy (with --eval-only: judge a checkpoint); returns the run's
    names, its train history and its final reports. Raises cli.UsageError for a flag that cannot
    work before anything is written, CheckpointError / EpisodeFormatError for bad files."""
    check_args(args)
    if args.eval_only:
        return evaluate_checkpoint(args)

    # ---- process, seeds ---------------------------------------------------------------------------------
    process_index, process_count = start_process(args)
    is_main = process_index == 0
    import jax

    from pokeil_jax import checkpoint as ckpt
    from pokeil_jax import data, train, vector_env

    key = jax.random.key(args.seed)
    require(args.batch_size % jax.device_count() == 0,
            f"--batch-size {args.batch_size} does not split over {jax.device_count()} devices; "
            f"pass a multiple of {jax.device_count()}")
    require(not (args.dagger_rounds and process_count > 1),
            "--dagger-rounds needs a single process (the learner plays in this process's env)")
    init_params = init_checkpoint_params(args) if args.init_checkpoint else None
    run_name, run_dir, log_path = run_folders(args)
    kernels = _resolved_kernels(args)

    # ---- demonstrations ---------------------------------------------------------------------------------
    demo_dir = demonstrations_folder(args)
    train_demos, val_demos = data.load_demos(
        demo_dir, val_fraction=args.val_fraction, seed=args.seed, process_index=process_index,
        process_count=process_count, cache_dir=data.default_cache_dir(args.expert_data_dir), env_id=args.env_id,
    )
    is_dqn_bc = args.algo == "dqn_bc"
    require(not is_dqn_bc or bool(np.any(train_demos.rewards)),
            f"--algo dqn_bc: every reward in {demo_dir}'s training episodes is 0, so the TD term has nothing "
            f"to learn; use --algo bc, or record demonstrations in an env that gives rewards")
    demo_seeds = data.next_episode_index_and_seed(demo_dir)[1]
    mid_eval = args.eval_frequency > 0 and args.eval_episodes > 0
    eval_seeds = pick_eval_seeds(args.eval_seeds, demo_seeds, max(args.final_eval_episodes, args.eval_episodes * mid_eval))
    final_seeds = eval_seeds if args.eval_seeds else eval_seeds[: args.final_eval_episodes]
    tracker = None
    if is_main:  # the inputs are good: only now does the run get its folders
        _write_json(log_path / "args.json", dataclasses.asdict(args))
        tracker = start_tracking(args, run_name, log_path)  # before the tensorboard writer exists
    print(f"run {run_name}: {jax.device_count()} device(s) {jax.devices()[0].platform}, process {process_index}/{process_count}, "
          f"kernels: {kernels}")
    print(
        f"demos: {train_demos.num_episodes} train episodes ({train_demos.num_transitions} transitions), "
        f"{val_demos.num_episodes if val_demos else 0} val; eval seeds {_ranges(eval_seeds)} (disjoint from demo seeds)"
    )

    with contextlib.ExitStack() as resources:  # envs, writer, sampler, checkpointer: closed however the run ends
        if tracker is not None:
            resources.callback(tracker.close)  # last: after the writer's final events
        # ---- env for evaluation (process 0 evaluates) -------------------------------------------------------
        envs = None
        if eval_seeds and is_main:
            envs = eval_envs(args)
            resources.push(vector_env.close_on_exit(envs))

        # ---- train state: fresh, or restored ----------------------------------------------------------------
        mesh = train.make_mesh()
        state = create_train_state(args, key)
        checkpointer = resources.enter_context(ckpt.Checkpointer(run_dir, max_to_keep=args.keep_checkpoints))
        start_step = 0
        if init_params is not None:
            state = with_params(state, init_params)
        if args.resume:
            state, extras = ckpt.restore(checkpointer.latest() or run_dir, state)
            start_step = int((extras.get("loader_state") or {}).get("sampler_step", extras["step"]))
            # The run keeps where it started (DAgger's round schedule depends on it), in every checkpoint.
            args = dataclasses.replace(args, init_checkpoint=extras["args"].get("init_checkpoint"))
            print(f"resumed {run_name} at step {start_step}")
        state = train.replicate(mesh, state)
        train_step = train.jit_train_step(mesh, algo_step_fn(args))
        writer = open_writer(log_path) if is_main else None
        if writer is not None:
            resources.callback(writer.close)

        # ---- the batches (and DAgger's growing training set) ------------------------------------------------
        dagger_loop = None
        if args.dagger_rounds:
            from pokeil_jax.dagger import DaggerLoop

            dagger_loop = DaggerLoop(dagger_config(args), run_name, train_demos.sources, writer_log=log_scalars)
            resources.callback(dagger_loop.close)
            if start_step:
                train_demos = dagger_loop.training_set(start_step)  # the rounds collected before the resume point
            elif dagger_loop.round_ends_at(0):  # a restored policy plays before the first step
                train_demos = dagger_loop.collect(0, state, writer)
        # Each process samples its own shard with its own stream; the global batch is their concatenation.
        sampler_seed = args.seed + 7919 * process_index
        sampler = make_sampler(args, train_demos, args.batch_size // process_count, sampler_seed, start_step)
        resources.callback(lambda: sampler.close())  # whichever sampler is current
        # DQN-BC's online fine-tuning: after the offline steps, the student plays and a replay buffer grows.
        total_steps = args.total_training_steps + args.online_steps
        online = None
        if args.online_steps:
            from pokeil_jax.online import OnlinePhase

            online = OnlinePhase(sampler.demos, args.batch_size, args.demo_ratio, sampler_seed,
                                 capacity=args.replay_capacity, num_envs=args.online_num_envs,
                                 expert=args.dagger_expert or None, epsilon=args.online_epsilon,
                                 max_steps=args.dagger_max_steps, rom_path=args.rom_path, run_dir=run_dir)
            resources.push(vector_env.close_on_exit(online))
            if start_step > args.total_training_steps:
                online.load(start_step)
        expert_returns: dict = {}  # eval seeds -> the expert's mean return there (the distillation coefficient's G_expert)

        # ---- training loop ----------------------------------------------------------------------------------
        from tqdm import tqdm

        bar = resources.enter_context(tqdm(
            range(start_step, total_steps), initial=start_step, total=total_steps,
            desc="train", unit="step", dynamic_ncols=True, disable=not is_main,
            smoothing=0))  # steps are dispatched ahead of the device: show the mean rate, not bursts
        rate = StepRate(start_step, args.batch_size)
        last_eval: dict = {}
        history: list[dict] = []
        for step in bar:
            if online is not None and step >= args.total_training_steps:  # sample: the student plays; demos + replay
                if not sampler.closed:
                    sampler.close()  # the offline stream ends; the online phase draws its own demo share
                batch = online.next_batch(step, train.policy_fn(state))
            else:
                batch = next(sampler)  # sample
            state, metrics = train_step(state, train.shard_batch(mesh, batch))  # step
            done = step + 1
            if done == start_step + 1:
                jax.block_until_ready(metrics)
                bar.write(f"first step done {time.perf_counter() - STARTED:.1f} s after start (compilation included)")
            last = done == total_steps
            saving = every(args.save_frequency, done)

            if every(args.log_frequency, done) or last or saving:  # log
                metrics = train.check_finite(metrics)  # stops on NaN/inf before anything is saved
                history.append(log_train_metrics(args, writer, bar, metrics, done, rate.samples_per_second(done)))
                if online is not None and step >= args.total_training_steps:
                    log_scalars(writer, online.metrics(), done)

            if val_demos is not None and is_main and (every(args.eval_frequency, done) or last):  # eval
                log_scalars(writer, validation_metrics(state, val_demos, args.batch_size), done)
            if mid_eval and every(args.eval_frequency, done) and not last:
                if is_main:
                    last_eval = run_policy_eval(args, envs, state, eval_seeds[: args.eval_episodes], writer, done,
                                                tracker).summary()
                    if is_dqn_bc and args.compare_expert:
                        coefficient = distillation_coefficient(args, envs, eval_seeds[: args.eval_episodes], last_eval,
                                                               expert_returns, writer, done)
                        if args.distill_decay:  # imitation fades as the student catches up
                            state = state.replace(bc_coefficient=train.replicate(mesh, np.float32(coefficient)))
                last_eval = agree_on_metrics(last_eval)
                if args.save_best:
                    checkpointer.save_best(done, state, dataclasses.asdict(args), last_eval)

            if dagger_loop is not None and dagger_loop.round_ends_at(done):  # the learner plays, the expert labels
                train_demos = dagger_loop.collect(done, state, writer)
                sampler.close()
                sampler = make_sampler(args, train_demos, args.batch_size // process_count, sampler_seed, done)

            if saving:  # checkpoint
                checkpointer.save_periodic(done, state, dataclasses.asdict(args), last_eval, {"sampler_step": done})
                if online is not None and done > args.total_training_steps:
                    online.save(done)
        sampler.close()
        bar.close()

        # ---- final: save, judge policy and expert on the same unseen seeds ----------------------------------
        reports, summary = {}, {}
        policy_name = POLICY_NAMES[args.algo]
        if final_seeds and is_main:
            reports[policy_name] = run_policy_eval(args, envs, state, final_seeds, writer, total_steps, tracker)
            summary = reports[policy_name].summary()
        if final_seeds:
            summary = agree_on_metrics(summary)
        checkpointer.save_final(total_steps, state, dataclasses.asdict(args), summary, {"sampler_step": total_steps})
        if args.save_best and summary:
            checkpointer.save_best(total_steps, state, dataclasses.asdict(args), summary)
        if is_main and args.compare_expert and final_seeds:
            reports = {f"expert ({args.compare_expert})": expert_eval(args, envs, final_seeds), **reports}
            if is_dqn_bc and policy_name in reports:
                from pokeil_jax.dqn_bc import distillation_coefficient as coefficient_of

                coefficient = coefficient_of(
                    reports[policy_name].mean_return, reports[f"expert ({args.compare_expert})"].mean_return)
                log_scalars(writer, {"charts/distillation_coefficient": coefficient}, total_steps)
        if is_main and reports:
            print_final_report(args, reports, run_dir, log_path)
    return {"run_name": run_name, "run_dir": str(run_dir), "log_dir": str(log_path), "train_history": history,
            "reports": {name: r.to_dict() for name, r in reports.items()}}


def evaluate_checkpoint(args: Args) -> dict:
    """--eval-only: restore any checkpoint, judge it (and the expert) on the eval seeds, write a JSON report."""
    start_process(args)
    import jax

    from pokeil_jax import checkpoint as ckpt
    from pokeil_jax import data, evaluate, splits, vector_env

    _resolved_kernels(args)  # UsageError with the fix when --kernels cannot be honoured
    saved_algo = ckpt.read_extras(args.checkpoint)["args"].get("algo", "bc")  # older checkpoints: BC
    args = dataclasses.replace(args, algo=saved_algo)
    state, _ = ckpt.restore(args.checkpoint, create_train_state(args, jax.random.key(args.seed)))
    seeds = pick_eval_seeds(args.eval_seeds, data.next_episode_index_and_seed(demonstrations_folder(args))[1],
                            args.final_eval_episodes)
    with contextlib.ExitStack() as resources:
        envs = eval_envs(args)
        resources.push(vector_env.close_on_exit(envs))
        agent = policy_agent(args, state)
        reports = {POLICY_NAMES[args.algo]: evaluate.evaluate(agent, envs, seeds, max_steps=args.eval_max_steps,
                                                               progress=True, stall_steps=args.eval_stall_steps,
                                                               reset_options=splits.reset_options(args.start_milestone))}
        if args.compare_expert:
            reports = {f"expert ({args.compare_expert})": expert_eval(args, envs, seeds), **reports}
    print(f"checkpoint {args.checkpoint} (step {int(state.step)}), seeds {_ranges(seeds)}")
    print(evaluate.format_table(reports))
    out = Path(args.checkpoint).expanduser() / "eval_report.json"
    evaluate.save_report_json(reports, out, {"checkpoint": str(args.checkpoint), "step": int(state.step)})
    print(f"report: {out}")
    return {name: r.to_dict() for name, r in reports.items()}


# ---- helpers: each a step of the programs above ------------------------------------------------------


def start_process(args: Args) -> tuple[int, int]:
    """Before JAX allocates or compiles: malloc tuning, the compilation cache, joining a
    multi-process run, Python and numpy seeds. Returns (process_index, process_count)."""
    from pokeil_jax import runtime

    if args.tune_malloc:
        runtime.tune_host_malloc()  # process-wide: before JAX allocates its first buffers
    runtime.enable_compilation_cache(args.compilation_cache_dir)
    process_index, process_count = runtime.maybe_initialize_distributed()
    random.seed(args.seed)
    np.random.seed(args.seed)
    return process_index, process_count


def run_folders(args: Args) -> tuple[str, Path, Path]:
    """(run_name, checkpoint folder, log folder): a new run, or the newest one of --exp-name when resuming."""
    from pokeil_jax import checkpoint as ckpt

    if args.resume:
        run_dir = ckpt.find_latest_run(args.checkpoint_dir, args.exp_name)
        require(run_dir is not None, f"--resume: no run of exp_name {args.exp_name!r} with a checkpoint under "
                                     f"{args.checkpoint_dir}/; train one first (without --resume)")
        finished = int(ckpt.resolve(run_dir).name)
        require(finished < args.total_training_steps + args.online_steps,  # online steps follow the offline ones
                f"--resume: {run_dir} already finished at step {finished}; pass a larger --total-training-steps "
                f"(or --online-steps) to train on, or judge it with --eval-only --checkpoint {run_dir}")
        run_name = run_dir.name
    else:
        run_name = f"{args.exp_name}__{args.seed}__{int(time.time())}"
        run_dir = Path(args.checkpoint_dir) / run_name
    return run_name, run_dir, Path(args.log_dir) / run_name


def start_tracking(args: Args, run_name: str, log_path: Path):
    """--track: a W&B run mirroring the tensorboard logs (pokeil_jax/tracking.py); None without it."""
    if not args.track:
        return None
    from pokeil_jax.tracking import WandbTracker

    return WandbTracker(log_path, run_name, dataclasses.asdict(args), project=args.wandb_project_name,
                        entity=args.wandb_entity)


def demonstrations_folder(args: Args) -> Path:
    """The folder of episodes to train on: --expert-data-dir, or --minari-dataset read into its cache."""
    if args.minari_dataset is None:
        return Path(args.expert_data_dir)
    from pokeil_jax import data
    from pokeil_jax.data import minari_io

    folder = data.default_cache_dir(args.expert_data_dir) / "minari" / args.minari_dataset.replace("/", "__")
    return minari_io.episodes_folder(args.minari_dataset, folder)


def open_writer(log_path: Path):
    from pokeil_jax import runtime

    return runtime.summary_writer_class()(str(log_path))


class StepRate:
    """Samples per second since the previous call."""

    def __init__(self, step: int, batch_size: int):
        self.step, self.batch_size, self.time = step, batch_size, time.perf_counter()

    def samples_per_second(self, step: int) -> float:
        now = time.perf_counter()
        rate = (step - self.step) * self.batch_size / (now - self.time)
        self.step, self.time = step, now
        return rate


def log_train_metrics(args: Args, writer, bar, metrics: dict, step: int, sps: float) -> dict:
    """Log a train step's fetched metrics (train/..., charts/SPS), show them on the bar; returns the history row."""
    scalars = {"train/bc_loss": metrics.get("bc_loss", metrics["loss"]), "train/accuracy": metrics["accuracy"],
               "train/grad_norm": metrics["grad_norm"], "train/learning_rate": metrics["learning_rate"]}
    if args.algo == "dqn_bc":
        scalars.update({f"train/{k}": metrics[k] for k in ("td_loss", "margin_loss", "q_values", "q_values_std",
                                                            "target_q", "bc_coefficient")})
        scalars["train/total_loss"] = metrics["loss"]
    log_scalars(writer, {**scalars, "charts/SPS": sps}, step)
    bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{metrics['accuracy']:.2f}", sps=f"{sps:.0f}")
    return {"step": step, **metrics, "SPS": sps}


def agree_on_metrics(summary: dict) -> dict:
    """Orbax needs every process to save with the same metrics: process 0's (it evaluated)."""
    from pokeil_jax import runtime
    from pokeil_jax.checkpoint import BEST_METRIC_KEYS

    return runtime.agree_across_processes(summary, BEST_METRIC_KEYS)


ALGOS = ("bc", "dqn_bc")
POLICY_NAMES = {"bc": "BC policy", "dqn_bc": "DQN-BC policy"}


def check_algo_args(args: Args) -> None:
    """Raise cli.UsageError naming a bad --algo setting and the fix."""
    if args.algo not in ALGOS:
        raise UsageError(f"--algo {args.algo!r}: unknown; choose one of {', '.join(ALGOS)}")
    if args.algo == "bc":
        if args.online_steps:
            raise UsageError("--online-steps needs --algo dqn_bc (for BC with the learner in the env, use --dagger-rounds)")
        return
    checks = [
        (args.n_step >= 1, f"--n-step {args.n_step}: must be >= 1 (1 = one-step TD)"),
        (0 < args.gamma <= 1, f"--gamma {args.gamma}: must be in (0, 1], e.g. 0.99"),
        (args.target_network_frequency >= 1, f"--target-network-frequency {args.target_network_frequency}: must be >= 1"),
        (0 < args.tau <= 1, f"--tau {args.tau}: must be in (0, 1] (1: hard copies every --target-network-frequency steps)"),
        (args.margin >= 0, f"--margin {args.margin}: must be >= 0 (0 turns the large-margin term off)"),
        (args.online_steps >= 0, f"--online-steps {args.online_steps}: must be >= 0"),
        (0 <= args.demo_ratio <= 1, f"--demo-ratio {args.demo_ratio}: must be in [0, 1]"),
        (0 <= args.online_epsilon <= 1, f"--online-epsilon {args.online_epsilon}: must be in [0, 1]"),
        (args.replay_capacity >= 1, f"--replay-capacity {args.replay_capacity}: must be >= 1"),
        (not args.distill_decay or args.compare_expert,
         "--distill-decay needs an expert to compare with: set --compare-expert (e.g. scripted)"),
        (not args.distill_decay or (args.eval_frequency > 0 and args.eval_episodes > 0),
         "--distill-decay needs evaluations during training: set --eval-frequency and --eval-episodes above 0"),
        (not args.online_steps or not args.dagger_rounds, "--online-steps and --dagger-rounds: choose one"),
    ]
    for ok, message in checks:
        require(ok, message)


def create_train_state(args: Args, key):
    """A fresh train state for --algo: BC's, or DQN-BC's (with its target network)."""
    from pokeil_jax import dqn_bc, train

    make = dqn_bc.create_train_state if args.algo == "dqn_bc" else train.create_train_state
    return make(key, train_config(args))


def init_checkpoint_params(args: Args):
    """The network parameters of --init-checkpoint (a BC or DQN-BC checkpoint); read before the
    run has folders, so a bad checkpoint ends the run with nothing written."""
    import jax

    from pokeil_jax import checkpoint as ckpt

    saved_algo = ckpt.read_extras(args.init_checkpoint)["args"].get("algo", "bc")
    template = create_train_state(dataclasses.replace(args, algo=saved_algo), jax.random.key(0))
    restored, extras = ckpt.restore(args.init_checkpoint, template)
    print(f"network initialised from {extras['path']} ({saved_algo}, step {extras['step']})")
    return restored.params


def with_params(state, params):
    """`state` (fresh: step 0, new optimiser) with `params`; DQN-BC's target network starts equal to them."""
    import jax

    state = state.replace(params=params)
    if hasattr(state, "target_params"):
        state = state.replace(target_params=jax.tree_util.tree_map(jax.numpy.copy, params))
    return state


def algo_step_fn(args: Args):
    """The pure train step for --algo: BC's (with --augment-shift's shifts) or DQN-BC's."""
    if args.algo != "dqn_bc":
        from pokeil_jax import train

        return train.make_train_step(args.augment_shift)
    from pokeil_jax import dqn_bc

    return dqn_bc.make_train_step(dqn_bc.DQNBCConfig(
        bc_weight=args.bc_weight, td_weight=args.td_weight, margin=args.margin,
        target_network_frequency=args.target_network_frequency, tau=args.tau))


def make_sampler(args: Args, demos, batch_size: int, seed: int, start_step: int):
    """The seeded batch stream: (observation, label) for BC, n-step transitions for DQN-BC."""
    from pokeil_jax import data

    if args.algo != "dqn_bc":
        focus = demos.off_expert_indices() if args.dagger_focus else None
        return data.BatchSampler(demos, batch_size, seed=seed, start_step=start_step, focus=focus,
                                 focus_fraction=args.dagger_focus)
    from pokeil_jax.data.transitions import NStepTransitions

    transitions = NStepTransitions(demos, args.n_step, args.gamma)
    return data.BatchSampler(transitions, batch_size, seed=seed, start_step=start_step, keys=transitions.BATCH_KEYS)


def distillation_coefficient(args, envs, seeds, student_summary, expert_returns, writer, step) -> float:
    """QDagger's max(1 - G_student / G_expert, 0) on the evaluation seeds (the expert is played
    there once and remembered), logged as charts/distillation_coefficient."""
    from pokeil_jax import dqn_bc

    key = tuple(seeds)
    if key not in expert_returns:
        expert_returns[key] = expert_eval(args, envs, seeds).mean_return
    coefficient = dqn_bc.distillation_coefficient(student_summary["eval/episodic_return"], expert_returns[key])
    log_scalars(writer, {"charts/distillation_coefficient": coefficient, "eval/expert_episodic_return": expert_returns[key]},
                step)
    return coefficient


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
                       network=NetworkSizes(hidden_dim=args.hidden_dim), kernels=args.kernels,
                       anneal_steps=args.total_training_steps + args.online_steps if args.anneal_lr else 0)


def dagger_config(args: Args):
    """The DAgger loop's settings, from Args (a resumed run's --init-checkpoint comes from its checkpoint)."""
    from pokeil_jax.dagger import DaggerConfig

    return DaggerConfig(rounds=args.dagger_rounds, episodes=args.dagger_episodes, beta=args.dagger_beta,
                        expert=args.dagger_expert, max_steps=args.dagger_max_steps,
                        total_training_steps=args.total_training_steps, expert_data_dir=args.expert_data_dir,
                        rom_path=args.rom_path, seed=args.seed, takeover=args.dagger_takeover,
                        stall_takeover=args.dagger_stall_takeover,
                        start_milestone=args.start_milestone, sample_learner=args.dagger_sample_learner,
                        num_envs=args.dagger_num_envs, warm_start=bool(args.init_checkpoint),
                        split_episodes=args.dagger_split_episodes, split_milestone=args.dagger_split_milestone)


def _resolved_kernels(args: Args) -> str:
    """'xla' or 'onednn' for --kernels, with why when 'auto' could not pick oneDNN; UsageError with
    the fix when --kernels onednn cannot be honoured."""
    from pokeil_jax import kernels

    try:
        return kernels.describe(args.kernels)
    except (kernels.onednn.OneDNNUnavailableError, ValueError) as error:
        raise UsageError(f"--kernels: {error}") from None


def eval_envs(args):
    """The evaluator's vector env as --eval-num-envs, --eval-max-steps and --eval-initial-state say.
    The envs fingerprint their states only where the evaluator reads it: a pure-argmax policy's
    loop stopping (the fingerprint is ~0.5 ms of each ~2 ms env step)."""
    from pokeil_jax import evaluate, vector_env

    return vector_env.make_eval_envs(args.eval_num_envs, rom_path=args.rom_path, max_episode_steps=args.eval_max_steps,
                                     initial_state=args.eval_initial_state,
                                     fingerprint=evaluate.policy_is_deterministic(args.eval_greedy, args.eval_escape_loops))


def policy_agent(args, state):
    """The evaluator's agent for the state's policy, acting as --eval-greedy and
    --eval-escape-loops say (one place, so periodic, final and --eval-only evaluations agree)."""
    from pokeil_jax import evaluate, train

    return evaluate.PolicyAgent(train.policy_fn(state), greedy=args.eval_greedy, seed=args.seed,
                                escape_loops=args.eval_escape_loops)


def run_policy_eval(args, envs, state, seeds, writer, step, tracker=None):
    """Judge the state's policy on `seeds` in `envs` (on this process's own device, with the
    state's network: --kernels); log the summary and a GIF of the first episode (to W&B too with --track)."""
    from pokeil_jax import evaluate, splits

    frames: list = []
    agent = policy_agent(args, state)
    report = evaluate.evaluate(agent, envs, seeds, max_steps=args.eval_max_steps, record_frames=frames, progress=True,
                               stall_steps=args.eval_stall_steps, reset_options=splits.reset_options(args.start_milestone))
    log_scalars(writer, report.summary(), step)
    if writer is not None and args.track_video and frames:
        from pokeil_jax.video import log_gif, save_video

        log_gif(writer, "eval/episode", frames, step, fps=8)
        gif = save_video(frames, Path(writer.logdir) / "videos" / f"eval_step{step:07d}_seed{seeds[0]}.gif", fps=8)
        if tracker is not None:
            tracker.log_video("eval/episode", gif, step)
    print(
        f"\neval @ {step}: milestone completion {report.milestone_completion_rate:.1%}, "
        f"success {report.success_rate:.1%}, return {report.mean_return:.2f}, length {report.mean_length:.0f}"
    )
    return report


def expert_eval(args, envs, seeds):
    """The --compare-expert expert judged on the same seeds."""
    from pokeil_jax import evaluate, splits
    from pokeil_jax.experts import make_expert

    expert = evaluate.ExpertAgent(lambda: make_expert(args.compare_expert, rom_path=args.rom_path), envs.num_envs)
    return evaluate.evaluate(expert, envs, seeds, max_steps=args.eval_max_steps, stall_steps=args.eval_stall_steps,
                             reset_options=splits.reset_options(args.start_milestone))


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


def check_args(args: Args) -> None:
    """Raise cli.UsageError for the first flag that cannot work, before anything is written."""
    check_algo_args(args)
    import math

    from pokeil_jax.emulator import RomError
    from pokeil_jax.env import check_rom
    from pokeil_jax.experts import ExpertError, make_expert
    from pokeil_jax.games import UnknownGameError

    def flag(name: str) -> str:
        return "--" + name.replace("_", "-")

    for name in ("total_training_steps", "batch_size", "hidden_dim", "eval_max_steps", "eval_num_envs",
                 "keep_checkpoints", "dagger_episodes", "dagger_max_steps", "dagger_num_envs"):
        require(getattr(args, name) >= 1, f"{flag(name)} must be at least 1, got {getattr(args, name)}")
    for name in ("log_frequency", "eval_frequency", "eval_episodes", "final_eval_episodes", "save_frequency",
                 "dagger_rounds", "dagger_takeover", "dagger_stall_takeover", "dagger_split_episodes",
                 "eval_escape_loops", "eval_stall_steps", "seed"):
        require(getattr(args, name) >= 0, f"{flag(name)} must be at least 0, got {getattr(args, name)}")
    require(math.isfinite(args.learning_rate) and args.learning_rate > 0,
            f"--learning-rate must be a finite number > 0, got {args.learning_rate}")
    require(math.isfinite(args.weight_decay) and args.weight_decay >= 0,
            f"--weight-decay must be a finite number >= 0, got {args.weight_decay}")
    require(0 <= args.augment_shift <= 16,
            f"--augment-shift must be a number of pixels in [0, 16] (0: no shift), got {args.augment_shift}")
    require(not args.augment_shift or args.algo == "bc", "--augment-shift shifts BC's batches: use it with --algo bc")
    require(0 <= args.val_fraction < 1,
            f"--val-fraction must be in [0, 1) (the share of episodes held out), got {args.val_fraction}")
    require(0 <= args.dagger_beta <= 1, f"--dagger-beta must be a probability in [0, 1], got {args.dagger_beta}")
    require(0 <= args.dagger_focus < 1, f"--dagger-focus must be a share of the batch in [0, 1), got {args.dagger_focus}")
    require(not args.dagger_focus or args.dagger_rounds, "--dagger-focus draws from DAgger's states: set --dagger-rounds too")
    require(not args.dagger_focus or args.algo == "bc", "--dagger-focus shapes BC's batches: use it with --algo bc")
    require(not args.eval_seeds or min(args.eval_seeds) >= 0, f"--eval-seeds must be >= 0, got {args.eval_seeds}")
    require(not (args.eval_only and args.resume), "--eval-only and --resume exclude each other; pass one")
    if args.eval_only:
        require(args.checkpoint is not None, "--eval-only needs --checkpoint PATH (a run folder, its "
                                             "best/periodic/final folder, or a step folder)")
        require(Path(args.checkpoint).expanduser().exists(), f"--checkpoint {args.checkpoint}: no such folder; pass "
                                                              f"a run folder, its best/periodic/final folder, or a step folder")
        require(args.final_eval_episodes >= 1 or bool(args.eval_seeds), "--eval-only needs --final-eval-episodes >= 1")
    else:
        require(args.checkpoint is None, "--checkpoint is read by --eval-only; to continue training use --resume, "
                                         "to start from its network --init-checkpoint")
    if args.init_checkpoint is not None:
        require(not args.eval_only, "--init-checkpoint starts training; to judge a checkpoint use --eval-only --checkpoint")
        require(not args.resume, "--init-checkpoint and --resume exclude each other: --resume continues a run "
                                 "from its own latest checkpoint")
        require(Path(args.init_checkpoint).expanduser().exists(),
                f"--init-checkpoint {args.init_checkpoint}: no such folder; pass a run folder, its "
                f"best/periodic/final folder, or a step folder")
    if args.rom_path is not None:
        try:
            check_rom(args.rom_path)
        except (RomError, UnknownGameError) as error:
            raise UsageError(f"--rom-path: {error}") from None
    for name in ("compare_expert", "dagger_expert"):
        spec = getattr(args, name)
        if spec and spec != "random" and (name == "compare_expert" or args.dagger_rounds):
            try:  # imports the user's module once here, so a typo fails before any folder exists
                make_expert(spec, rom_path=args.rom_path)
            except ExpertError as error:
                hint = " ('' skips the comparison)" if name == "compare_expert" else ""
                raise UsageError(f"{flag(name)}: {error}{hint}") from None
    def check_split(name: str) -> None:
        """The split in flag `name` exists in the game of --rom-path (and has a planner to reach it)."""
        from pokeil_jax.splits import SplitError, check_start_milestone_for_rom

        try:
            check_start_milestone_for_rom(getattr(args, name), args.rom_path)
        except SplitError as error:
            raise UsageError(f"{flag(name)}: {error}") from None

    if args.start_milestone:
        require(not args.eval_initial_state,
                "--start-milestone and --eval-initial-state both say where episodes start; pass one")
        check_split("start_milestone")
    if args.dagger_split_episodes:
        require(args.dagger_rounds, "--dagger-split-episodes are played in DAgger rounds: set --dagger-rounds too")
        require(args.dagger_split_milestone >= 1, "--dagger-split-episodes needs --dagger-split-milestone k >= 1 "
                                                 "(where they start; 0 would be --dagger-episodes)")
        check_split("dagger_split_milestone")
    else:
        require(not args.dagger_split_milestone,
                "--dagger-split-milestone says where --dagger-split-episodes start: set --dagger-split-episodes M too")
    if args.eval_initial_state:  # the eval envs start in worker processes: check the file here
        from pokeil_jax.savestates import StateFileError, check_for_rom

        try:
            check_for_rom(args.eval_initial_state, args.rom_path)
        except (StateFileError, RomError) as error:
            raise UsageError(f"--eval-initial-state: {error}") from None


def _write_json(path: Path, obj) -> None:
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=2)


def cli() -> None:
    """Exit codes: 0 done, 1 bad data (a corrupt checkpoint or episode, a diverged run, a failing
    expert, a folder another process writes), 2 bad usage."""
    args = tyro.cli(Args)  # --help answers before the heavy imports below
    from pokeil_jax import cli as errors
    from pokeil_jax import env_ids

    try:
        args.rom_path = env_ids.rom_path_for(args.env_id, args.rom_path)
    except env_ids.UnknownEnvIdError as error:
        errors.fail(str(error), errors.USAGE)
    from pokeil_jax.checkpoint import CheckpointError
    from pokeil_jax.data import EpisodeFormatError
    from pokeil_jax.data.lock import FolderLockedError
    from pokeil_jax.emulator import RomError
    from pokeil_jax.experts import ExpertError
    from pokeil_jax.savestates import StateFileError
    from pokeil_jax.tracking import TrackingUnavailableError
    from pokeil_jax.train import NonFiniteLossError

    data_errors = (NonFiniteLossError, CheckpointError, EpisodeFormatError, ExpertError, FolderLockedError,
                   TrackingUnavailableError, StateFileError, RomError)
    if args.minari_dataset is not None:
        from pokeil_jax.data.minari_io import MinariError

        data_errors += (MinariError,)
    try:
        main(args)
    except UsageError as error:
        errors.fail(str(error), errors.USAGE)
    except data_errors as error:
        errors.fail(str(error), errors.DATA)


if __name__ == "__main__":
    cli()
