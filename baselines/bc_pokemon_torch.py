"""PyTorch baseline: the seed plan's `bc_pokemon.py` (offline behavioral cloning, cleanrl style),
and with `--algo dqn_bc` the plan's optional DQN-BC hybrid (`compute_hybrid_loss`).

    python baselines/bc_pokemon_torch.py --expert-data-dir expert_data --total-training-steps 2000
    python baselines/bc_pokemon_torch.py --eval-episodes 0        # train only, no env
    python baselines/bc_pokemon_torch.py --algo dqn_bc --n-step 3  # BC + TD on the milestone rewards

It is the plan's script with the same `Args`, network, loss, optimizer, metric names and
`.pth` checkpoints, so it is the reference the JAX pipeline (`bc_pokemon_jax.py`) is compared
with. To make the two differ only in framework, it shares the project's data and evaluation:

* demos come from `pokeil_jax.data` (the episode NPZ format, the preprocessed uint8
  (84, 84, 3) cache, the seeded `BatchSampler`): the network never resizes;
* the network is the project's ImpalaCNN layer for layer (same parameter shapes, same torch
  default initialisation, pre-activation residual blocks `x + conv(relu(conv(relu(x))))`,
  max-pool with XLA's SAME window alignment), so `python -m pokeil_jax.convert` turns a
  checkpoint of this script into JAX params that give the same logits;
* evaluation plays the env through `pokeil_jax.evaluate` (one code path for both frameworks).

Differences from the plan's text, each for the reason given: the network takes the project's
preprocessed uint8 frames (the plan's network took raw frames); the pool's windows follow SAME
(the plan's `MaxPool2d(3, 2, padding=1)` gives the same 84 -> 42 -> 21 -> 11 sizes but its
windows start one pixel earlier on even sizes, so values would differ from the JAX network);
defaults for paths point at this repository's folders and the bundled game.

DQN-BC follows the plan's `compute_hybrid_loss` as written (cross-entropy on the Q-values, a
target network valued by its max, `F.mse_loss` TD, `bc_weight * bc_loss + td_loss`), with two
options the JAX script shares: rewards are the n-step returns of `pokeil_jax.data.transitions`
and the plan's fixed 0.99 becomes the transition's gamma^k (with --n-step 1 --gamma 0.99, the
plan's formula exactly), and --double-dqn values s' as the JAX script does (off by default; on,
the two steps do the same work, which is how benchmarks/train_throughput.py compares them like
for like). The JAX script's DQN-BC differs on purpose: double DQN, Huber TD, TD on the executed
action (here the expert's label, as the plan writes it; equal for demos recorded without
epsilon-noise), optional DQfD margin.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
import time
from pathlib import Path
from typing import Literal, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import tyro
from tensorboardX import SummaryWriter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python baselines/...` from anywhere
from pokeil_jax import data  # noqa: E402
from pokeil_jax.atomic import atomic_write, write_text_atomic  # noqa: E402
from pokeil_jax.data.transitions import NStepTransitions  # noqa: E402

#: Evaluation as bc_pokemon_jax.py does it by default, so the two pipelines are judged alike:
#: game seeds from 1000 upward that no demonstration used, episodes cut after 500 steps.
FIRST_EVAL_SEED = 1000
EVAL_MAX_STEPS = 500


@dataclasses.dataclass
class Args:
    # Experiment
    exp_name: str = "bc_pokemon_torch"
    """the name of this experiment (runs/ and the checkpoint folder carry it)"""
    seed: int = 1
    """seed of python, numpy, torch and the batch sampler"""
    torch_deterministic: bool = True
    """if toggled, `torch.backends.cudnn.deterministic=True`"""
    cuda: bool = True
    """if toggled, train on CUDA when it is available"""
    track: bool = False
    """if toggled, log to Weights & Biases (needs `pip install wandb`)"""
    wandb_project_name: str = "pokemon-il"
    """the W&B project name"""

    # Environment
    rom_path: Optional[str] = None
    """the GBA ROM evaluation plays; default: the bundled MiniMon game"""

    # Training
    expert_data_dir: str = "expert_data"
    """folder of episode_XXXX.npz demonstrations (`python collect_expert_data.py`)"""
    total_training_steps: int = 100_000
    """number of gradient steps"""
    batch_size: int = 64
    """transitions per gradient step"""
    learning_rate: float = 1e-4
    """Adam learning rate"""
    weight_decay: float = 1e-5
    """Adam's L2 penalty (torch.optim.Adam weight_decay: added to the gradient)"""

    # Network
    hidden_dim: int = 256
    """width of the fully connected layer after the CNN"""

    # Evaluation
    eval_frequency: int = 5_000
    """evaluate in the env every this many steps"""
    eval_episodes: int = 5
    """episodes per evaluation (unseen game seeds from 1000 up, at most 500 steps each); 0 skips evaluation"""

    # Checkpointing
    save_frequency: int = 10_000
    """write checkpoint_{step}.pth every this many steps"""
    model_dir: str = "checkpoints/bc_pokemon_torch"
    """folder for checkpoint_{step}.pth, best_model.pth, final_model.pth"""
    save_best: bool = True
    """keep best_model.pth, the checkpoint with the highest eval return"""

    # The plan's optional DQN-BC hybrid
    algo: Literal["bc", "dqn_bc"] = "bc"
    """'bc': cross-entropy only (the plan's main loop); 'dqn_bc': the plan's compute_hybrid_loss"""
    bc_weight: float = 1.0
    """dqn_bc: weight of the cross-entropy term (the TD term has weight 1, as in the plan)"""
    n_step: int = 1
    """dqn_bc: rewards summed over this many steps before bootstrapping (1: the plan's one-step TD)"""
    gamma: float = 0.99
    """dqn_bc: discount in (0, 1]"""
    target_network_frequency: int = 1000
    """dqn_bc: copy the Q-network into the target network every this many steps"""
    double_dqn: bool = False
    """dqn_bc, not in the plan: value s' by the target network at the Q-network's argmax (double DQN,
    as the JAX script does; one more forward per step) instead of the plan's target max"""

    # Not in the plan: for the side-by-side comparison with the JAX pipeline
    init_weights: Optional[str] = None
    """start from this .pth state dict instead of a fresh init (e.g. a JAX init converted by
    pokeil_jax.convert, as benchmarks/compare_bc.py does)"""


# ------------------------------------------------------------------------------------------------
# Network: the IMPALA CNN (Espeholt et al. 2018), as in pokeil_jax.networks
# ------------------------------------------------------------------------------------------------


def max_pool_3x3_s2(x: torch.Tensor) -> torch.Tensor:
    """3x3 stride-2 max-pool with XLA's SAME windows: (B, C, H, W) -> (B, C, ceil(H/2), ceil(W/2)).

    SAME pads an even size only at the end (window i covers 2i..2i+2) and an odd size by one on
    each side (2i-1..2i+1): ceil_mode with padding H % 2 is exactly that, with no extra copy.
    """
    return F.max_pool2d(x, 3, 2, padding=(x.shape[-2] % 2, x.shape[-1] % 2), ceil_mode=True)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv1(F.relu(self.conv0(F.relu(x))))


class ConvSequence(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.res_block0 = ResidualBlock(out_channels)
        self.res_block1 = ResidualBlock(out_channels)

    def forward(self, x):
        x = max_pool_3x3_s2(self.conv(x))
        return self.res_block1(self.res_block0(x))


class ImpalaCNN(nn.Module):
    """uint8 (B, 84, 84, 3) frames (NHWC, from pokeil_jax.preprocessing) -> float32 (B, action_dim) logits."""

    def __init__(self, action_dim: int = 10, hidden_dim: int = 256, channels: Sequence[int] = (16, 32, 32)):
        super().__init__()
        in_channels, size = 3, data.NETWORK_INPUT_SHAPE[0]
        seqs = []
        for out_channels in channels:
            seqs.append(ConvSequence(in_channels, out_channels))
            in_channels, size = out_channels, -(-size // 2)
        self.conv_seqs = nn.ModuleList(seqs)
        self.hidden_fc = nn.Linear(in_channels * size * size, hidden_dim)
        self.logits_fc = nn.Linear(hidden_dim, action_dim)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        x = observations.permute(0, 3, 1, 2).float() / 255.0
        for seq in self.conv_seqs:
            x = seq(x)
        x = F.relu(torch.flatten(x, 1))  # flattens (C, H, W): the converter permutes hidden_fc
        x = F.relu(self.hidden_fc(x))
        return self.logits_fc(x)


# ------------------------------------------------------------------------------------------------
# Evaluation hook: the project's evaluator (pokeil_jax.evaluate), shared with the JAX pipeline
# ------------------------------------------------------------------------------------------------


def eval_seeds(count: int, demo_seeds: set[int]) -> list[int]:
    """`count` game seeds from FIRST_EVAL_SEED upward that no demonstration used."""
    seeds, seed = [], FIRST_EVAL_SEED
    while len(seeds) < count:
        if seed not in demo_seeds:
            seeds.append(seed)
        seed += 1
    return seeds


def make_evaluator(args: Args, device: torch.device):
    """A function policy_net -> EvalReport (pokeil_jax.evaluate) playing `args.eval_episodes`
    seeded episodes greedily, or None when `args.eval_episodes == 0` (then no env is created)."""
    if args.eval_episodes == 0:
        return None
    from pokeil_jax import evaluate as evaluation
    from pokeil_jax.vector_env import make_eval_envs

    envs = make_eval_envs(1, rom_path=args.rom_path)
    seeds = eval_seeds(args.eval_episodes, data.next_episode_index_and_seed(args.expert_data_dir)[1])

    def run(policy_net: nn.Module):
        policy_net.eval()

        @torch.no_grad()
        def logits_fn(frames: np.ndarray) -> np.ndarray:  # uint8 (N, 84, 84, 3), preprocessed by the agent
            return policy_net(torch.from_numpy(frames).to(device)).cpu().numpy()

        report = evaluation.evaluate(evaluation.PolicyAgent(logits_fn), envs, seeds, max_steps=EVAL_MAX_STEPS)
        policy_net.train()
        return report

    run.close = envs.close
    return run


# ------------------------------------------------------------------------------------------------
# DQN-BC: the plan's hybrid loss, with n-step returns in place of one-step rewards
# ------------------------------------------------------------------------------------------------


def compute_hybrid_loss(q_net, target_net, batch, bc_weight=1.0, double_dqn=False):
    """
    Combines Q-learning loss + BC loss
    - Useful if you have reward signals and want RL + IL
    double_dqn (not in the plan): s' valued by target_net at q_net's argmax, as the JAX script does
    """
    obs, actions, rewards, next_obs, dones, discounts = batch  # rewards: n-step returns; discounts: gamma^k

    # BC loss (imitation)
    logits = q_net(obs)
    bc_loss = F.cross_entropy(logits, actions)

    # Q-learning loss (optional, if rewards available)
    q_values = logits.gather(1, actions.unsqueeze(1)).squeeze(1)
    with torch.no_grad():
        if double_dqn:
            best = q_net(next_obs).argmax(1, keepdim=True)
            next_q_values = target_net(next_obs).gather(1, best).squeeze(1)
        else:
            next_q_values = target_net(next_obs).max(1)[0]
        target_q = rewards + discounts * next_q_values * (1 - dones)
    td_loss = F.mse_loss(q_values, target_q)

    # Combined
    total_loss = bc_weight * bc_loss + td_loss
    return total_loss, bc_loss, td_loss, logits, q_values, target_q


def hybrid_batch(batch: dict, device) -> tuple:
    """A DQN-BC batch of `NStepTransitions` as the tensors compute_hybrid_loss unpacks."""
    as_tensor = lambda key: torch.from_numpy(batch[key]).to(device)  # noqa: E731
    return (as_tensor("observations"), as_tensor("actions").long(), as_tensor("returns"),
            as_tensor("next_observations"), as_tensor("dones").float(), as_tensor("discounts"))


def check_dqn_bc_args(args: Args, demos) -> None:
    """Exit with one line naming the bad value and the fix."""
    if args.n_step < 1:
        sys.exit(f"--n-step {args.n_step}: must be >= 1 (1 = one-step TD)")
    if not 0 < args.gamma <= 1:
        sys.exit(f"--gamma {args.gamma}: must be in (0, 1], e.g. 0.99")
    if args.target_network_frequency < 1:
        sys.exit(f"--target-network-frequency {args.target_network_frequency}: must be >= 1")
    if not np.any(demos.rewards):
        sys.exit(f"{args.expert_data_dir}: every reward in the demonstrations is 0, so the TD term has nothing "
                 f"to learn; use --algo bc, or record demonstrations in an env that gives rewards")


# ------------------------------------------------------------------------------------------------
# Checkpoints (written atomically: a killed run leaves whole files)
# ------------------------------------------------------------------------------------------------


def save_atomic(obj, path: Path) -> Path:
    with atomic_write(path) as f:
        torch.save(obj, f)
    return path


def write_json_atomic(obj, path: Path) -> Path:
    return write_text_atomic(path, json.dumps(obj, indent=2))


def train(args: Args) -> dict:
    """Run the plan's BC loop; returns {"history": [(step, loss, accuracy), ...], "final_path": Path,
    "best_eval_return": float}."""
    run_name = f"{args.exp_name}__{args.seed}__{int(time.time())}"
    if args.track:
        import wandb

        wandb.init(project=args.wandb_project_name, sync_tensorboard=True, config=vars(args),
                   name=run_name, save_code=True)

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic
    device = torch.device("cuda" if args.cuda and torch.cuda.is_available() else "cpu")

    print(f"Loading expert data from {args.expert_data_dir}...")
    demos, _ = data.load_demos(args.expert_data_dir, val_fraction=0.0, seed=args.seed)
    print(f"Loaded {demos.num_transitions} expert transitions ({demos.num_episodes} episodes)")
    dqn_bc = args.algo == "dqn_bc"
    if dqn_bc:
        check_dqn_bc_args(args, demos)
        transitions = NStepTransitions(demos, args.n_step, args.gamma)
        sampler = data.BatchSampler(transitions, args.batch_size, args.seed, keys=transitions.BATCH_KEYS)
    else:
        sampler = data.BatchSampler(demos, args.batch_size, args.seed)

    evaluator = make_evaluator(args, device)

    policy_net = ImpalaCNN(action_dim=data.NUM_ACTIONS, hidden_dim=args.hidden_dim).to(device)
    if args.init_weights:
        from pokeil_jax.convert import load_torch_state_dict

        policy_net.load_state_dict(load_torch_state_dict(args.init_weights))  # strict: names and shapes
        print(f"Initial weights from {args.init_weights}")
    optimizer = optim.Adam(policy_net.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    if dqn_bc:
        target_net = ImpalaCNN(action_dim=data.NUM_ACTIONS, hidden_dim=args.hidden_dim).to(device)
        target_net.load_state_dict(policy_net.state_dict())

    writer = SummaryWriter(f"runs/{run_name}")
    writer.add_text("hyperparameters", "|param|value|\n|-|-|\n" + "\n".join(f"|{k}|{v}|" for k, v in vars(args).items()))
    model_dir = Path(args.model_dir)
    write_json_atomic(dataclasses.asdict(args), model_dir / "args.json")
    write_json_atomic(dataclasses.asdict(args), Path("runs") / run_name / "args.json")

    print("Starting DQN-BC training..." if dqn_bc else "Starting Behavioral Cloning training...")
    best_eval_return = -float("inf")
    history = []
    start_time = time.time()
    for step in range(args.total_training_steps):
        batch = next(sampler)
        if dqn_bc:
            hybrid = hybrid_batch(batch, device)
            actions = hybrid[1]
            loss, bc_loss, td_loss, logits, q_values, target_q = compute_hybrid_loss(
                policy_net, target_net, hybrid, args.bc_weight, args.double_dqn)
        else:
            obs = torch.from_numpy(batch["observations"]).to(device)  # uint8; the network scales
            actions = torch.from_numpy(batch["actions"]).long().to(device)

            logits = policy_net(obs)
            loss = F.cross_entropy(logits, actions)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if dqn_bc and (step + 1) % args.target_network_frequency == 0:
            target_net.load_state_dict(policy_net.state_dict())

        with torch.no_grad():
            accuracy = (logits.argmax(dim=-1) == actions).float().mean()
        history.append((step, loss.item(), accuracy.item()))
        if step % 100 == 0:
            if dqn_bc:
                for key, value in (("bc_loss", bc_loss), ("td_loss", td_loss), ("total_loss", loss),
                                   ("q_values", q_values.mean()), ("target_q", target_q.mean())):
                    writer.add_scalar(f"train/{key}", value.item(), step)
            else:
                writer.add_scalar("train/bc_loss", loss.item(), step)
            writer.add_scalar("train/accuracy", accuracy.item(), step)
            sps = (step + 1) * args.batch_size / (time.time() - start_time)
            writer.add_scalar("charts/SPS", sps, step)
            print(f"Step {step}: Loss={loss.item():.4f}, Acc={accuracy.item():.2%}, SPS={sps:.0f}")

        if evaluator is not None and step % args.eval_frequency == 0 and step > 0:
            report = evaluator(policy_net)
            for key, value in report.summary().items():
                writer.add_scalar(key, value, step)
            eval_return = report.mean_return
            print(f"Eval at step {step}: Return={eval_return:.2f}, "
                  f"milestones={report.milestone_completion_rate:.1%}")
            if args.save_best and eval_return > best_eval_return:
                best_eval_return = eval_return
                save_path = save_atomic({
                    "step": step,
                    "model_state_dict": policy_net.state_dict(),
                    "optimizer_state_dict": optimizer.state_dict(),
                    "eval_return": eval_return,
                }, model_dir / "best_model.pth")
                print(f"Saved best model: {save_path} (return={eval_return:.2f})")

        if step % args.save_frequency == 0 and step > 0:
            save_path = save_atomic({
                "step": step,
                "model_state_dict": policy_net.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
            }, model_dir / f"checkpoint_{step}.pth")
            print(f"Saved checkpoint: {save_path}")

    final_path = save_atomic(policy_net.state_dict(), model_dir / "final_model.pth")
    print(f"Training complete! Final model saved to {final_path}")

    sampler.close()
    if evaluator is not None:
        evaluator.close()
    writer.close()
    return {"history": history, "final_path": final_path, "best_eval_return": best_eval_return}


if __name__ == "__main__":
    train(tyro.cli(Args))
