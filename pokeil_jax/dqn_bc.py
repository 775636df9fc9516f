"""DQN-BC on device: a Q-network trained to imitate (cross-entropy on its Q-values as logits)
and to be consistent with the game's rewards (n-step double-DQN TD), after the seed plan's
`compute_hybrid_loss` and DQfD (Hester et al. 2018):

    loss = bc_weight * c * CE(Q(s), a_expert)                        (c: distillation coefficient)
         + td_weight * Huber(Q(s, a) - y)
         + margin_weight * [max_a (Q(s, a) + margin * [a != a_expert]) - Q(s, a_expert)]   (DQfD)
    y    = R^(n) + (1 - done) * gamma^k * Q_target(s', argmax_a Q(s', a))      (double DQN)

`a` is the action that was pressed (`executed_actions`), `a_expert` the expert's label; R^(n),
done, gamma^k and s' come from the host (`pokeil_jax.data.transitions`). The target network's
parameters live in the train state (`DQNBCState.target_params`) and follow the online ones
every `target_network_frequency` steps, or by Polyak averaging with `tau` < 1 each step.

    state = create_train_state(key, network_config, DQNBCConfig(...))
    step = train.jit_train_step(mesh, make_train_step(config))
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from pokeil_jax import train
from pokeil_jax.losses import correct, cross_entropy


@dataclasses.dataclass(frozen=True)
class DQNBCConfig:
    """The loss's constants (fixed for a run, so part of the compiled step)."""

    bc_weight: float = 1.0
    td_weight: float = 1.0
    margin: float = 0.0  # DQfD's expert margin l(a_E, a); 0 turns the term off
    margin_weight: float = 1.0
    huber_delta: float = 1.0
    target_network_frequency: int = 500  # hard copy every this many steps (when tau == 1)
    tau: float = 1.0  # < 1: Polyak-average the target every step instead


class DQNBCState(train.TrainState):
    """A TrainState plus the target network's parameters and `bc_coefficient`, a float32 scalar
    the BC term is multiplied by (the distillation coefficient with --distill-decay, else 1)."""

    target_params: Any
    bc_coefficient: jax.Array


def create_train_state(rng: jax.Array, config: train.TrainConfig) -> DQNBCState:
    """`train.create_train_state` plus a target network equal to the online one, bc_coefficient 1."""
    state = train.create_train_state(rng, config)
    return DQNBCState(step=state.step, apply_fn=state.apply_fn, params=state.params, tx=state.tx,
                      opt_state=state.opt_state, rng=state.rng,
                      target_params=jax.tree_util.tree_map(jnp.copy, state.params),
                      bc_coefficient=jnp.ones((), jnp.float32))


def double_dqn_targets(returns, dones, discounts, next_q_online, next_q_target) -> jax.Array:
    """float32 (B,) TD targets: returns + (1 - dones) * discounts * Q_target(s', argmax Q_online(s')).

    returns, discounts float (B,); dones bool (B,); next_q_* float (B, A)."""
    best = jnp.argmax(next_q_online, axis=-1)
    next_value = jnp.take_along_axis(next_q_target, best[:, None], axis=-1)[:, 0]
    return returns + (1.0 - dones.astype(jnp.float32)) * discounts * next_value


def large_margin_loss(q_values, labels, margin: float, mask) -> jax.Array:
    """DQfD's supervised term, mean over `mask`: max_a [Q(s,a) + margin [a != label]] - Q(s, label) >= 0."""
    penalty = margin * (1.0 - jax.nn.one_hot(labels, q_values.shape[-1], dtype=q_values.dtype))
    q_label = jnp.take_along_axis(q_values, labels[:, None], axis=-1)[:, 0]
    per_sample = jnp.max(q_values + penalty, axis=-1) - q_label
    return masked_mean(per_sample, mask)


def masked_mean(values, mask) -> jax.Array:
    return jnp.sum(values * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def update_target(params, target_params, step, config: DQNBCConfig):
    """The target parameters after update number `step` (1-based): Polyak with tau < 1, else a
    copy of `params` when step % target_network_frequency == 0."""
    if config.tau < 1.0:
        return optax.incremental_update(params, target_params, config.tau)
    return optax.periodic_update(params, target_params, step, config.target_network_frequency)


def make_train_step(config: DQNBCConfig) -> Callable[[DQNBCState, dict], tuple[DQNBCState, dict]]:
    """The pure DQN-BC `train_step(state, batch) -> (state, metrics)` for `config`.

    batch (see `transitions.DQN_BC_BATCH_KEYS`): observations / next_observations uint8
    (B, 84, 84, 3), actions / executed_actions int32 (B,), returns / discounts / label_mask
    float32 (B,), dones bool (B,). Metrics (float32 scalars, of the parameters before the update):
    loss (the total), bc_loss, td_loss, margin_loss, accuracy, q_values / q_values_std (Q(s, a)
    over the batch), target_q (mean y), grad_norm, learning_rate, bc_coefficient, step.
    """

    def train_step(state: DQNBCState, batch: dict) -> tuple[DQNBCState, dict]:
        apply = state.apply_fn
        next_q_online = apply({"params": state.params}, batch["next_observations"])
        next_q_target = apply({"params": state.target_params}, batch["next_observations"])
        targets = jax.lax.stop_gradient(double_dqn_targets(
            batch["returns"], batch["dones"], batch["discounts"], next_q_online, next_q_target))
        mask = batch["label_mask"]

        def loss_fn(params):
            q_values = apply({"params": params}, batch["observations"])
            q_taken = jnp.take_along_axis(q_values, batch["executed_actions"][:, None], axis=-1)[:, 0]
            bc = masked_mean(cross_entropy(q_values, batch["actions"]), mask)
            td = optax.huber_loss(q_taken, targets, delta=config.huber_delta).mean()
            margin = large_margin_loss(q_values, batch["actions"], config.margin, mask) if config.margin > 0 \
                else jnp.zeros((), jnp.float32)
            total = (config.bc_weight * state.bc_coefficient * bc + config.td_weight * td
                     + config.margin_weight * margin)
            return total, (q_values, q_taken, bc, td, margin)

        (total, (q_values, q_taken, bc, td, margin)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        new_state = state.apply_gradients(grads=grads)
        new_state = new_state.replace(target_params=update_target(
            new_state.params, state.target_params, new_state.step, config))
        metrics = {
            "loss": total, "bc_loss": bc, "td_loss": td, "margin_loss": margin,
            "accuracy": masked_mean(correct(q_values, batch["actions"]).astype(jnp.float32), mask),
            "q_values": q_taken.mean(), "q_values_std": q_taken.std(), "target_q": targets.mean(),
            "grad_norm": optax.global_norm(grads),
            "learning_rate": jnp.asarray(state.opt_state.hyperparams["learning_rate"], jnp.float32),
            "bc_coefficient": state.bc_coefficient, "step": new_state.step,
        }
        return new_state, metrics

    return train_step


def distillation_coefficient(student_return: float, expert_return: float) -> float:
    """QDagger's coefficient max(1 - G_student / G_expert, 0): 1 while the student earns nothing,
    0 once it matches the expert (on the same seeds). 1 when the expert earns nothing (no signal)."""
    if expert_return <= 0:
        return 1.0
    return max(1.0 - student_return / expert_return, 0.0)
