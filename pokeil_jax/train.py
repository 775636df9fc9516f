"""Behavioral cloning on device: train state, loss, the pure train step, and its sharding.

    state = create_train_state(jax.random.key(seed), args)
    mesh = make_mesh()                      # every device, one axis "data"
    state = replicate(mesh, state)
    step = jit_train_step(mesh)             # compiled once for the batch shape
    for batch in loader:                    # {"observations": uint8 (B,84,84,3), "actions": int (B,)}
        state, metrics = step(state, shard_batch(mesh, batch))
        check_finite(metrics)

`train_step` is a pure function of (state, batch) and never knows how many devices there are:
the data-parallel split lives in the shardings that `jit_train_step` declares (params
replicated, batch split on axis 0), and XLA inserts the gradient all-reduce. This replaces the
seed design's `jax.pmap`, which JAX 0.8.0 put in maintenance mode (it is now itself built on
jit and shard_map): the same code runs on one CPU, several local devices, or several processes
(`pokeil_jax.runtime.maybe_initialize_distributed`), and no leading device axis is added to the state or batch.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Callable

import flax.training.train_state
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from pokeil_jax.augment import random_shift
from pokeil_jax.kernels import resolve_kernels
from pokeil_jax.runtime import compiler_options
from pokeil_jax.losses import accuracy, bc_loss, bc_metrics
from pokeil_jax.networks import NetworkSizes, init_params, network_for

DATA_AXIS = "data"


class NonFiniteLossError(FloatingPointError):
    """The loss or gradient norm of a train step was NaN or infinite."""

    def __init__(self, step: int, metrics: dict):
        self.step = step
        self.metrics = metrics
        shown = ", ".join(f"{k}={v}" for k, v in metrics.items() if k != "step")
        super().__init__(
            f"training diverged at step {step}: {shown}. The state returned by this step holds "
            f"non-finite parameters; do not save it. Resume from the last good checkpoint, e.g. "
            f"with a lower learning_rate."
        )


class TrainState(flax.training.train_state.TrainState):
    """params, opt_state, step, plus `rng`: a typed PRNG key for the stochastic parts of an
    update (augmentation, exploration). Plain BC uses no randomness and carries it unchanged."""

    rng: jax.Array


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What `create_train_state` needs; the defaults are bc_pokemon_jax.py's."""

    learning_rate: float = 1e-4
    weight_decay: float = 1e-5
    network: NetworkSizes = NetworkSizes()
    kernels: str = "auto"
    """who computes the convolutions and pools: "auto", "xla" or "onednn" (`pokeil_jax.kernels`)"""
    anneal_steps: int = 0
    """> 0: the learning rate falls linearly from `learning_rate` to 0 over this many steps (and
    stays 0 after); 0: constant"""


def create_train_state(rng: jax.Array, config: TrainConfig) -> TrainState:
    """A fresh TrainState for an ImpalaCNN of `config.network`'s sizes; `rng` is a typed key
    (`jax.random.key(seed)`). Its `apply_fn` computes with `config.kernels`, and everything that
    runs the policy from this state (train, eval and policy steps) uses it. Optimiser: AdamW with
    that learning rate (constant, or annealed linearly to 0 over `config.anneal_steps`) and
    decoupled weight decay, wrapped in `optax.inject_hyperparams` so the rate lives in the
    optimiser state (a resumed run continues the schedule from its step count) and is reported
    in the metrics. The state has the same structure either way.
    """
    if config.anneal_steps < 0:
        raise ValueError(f"anneal_steps must be >= 0 (0: a constant learning rate), got {config.anneal_steps}")
    tx = optax.inject_hyperparams(optax.adamw)(learning_rate=config.learning_rate, weight_decay=config.weight_decay)
    if config.anneal_steps:
        tx = _with_learning_rate_schedule(tx, optax.linear_schedule(config.learning_rate, 0.0, config.anneal_steps))
    kernels = resolve_kernels(config.kernels)

    # One jitted program instead of ~60 eager ops that compile one by one: one compilation, or
    # one hit in the persistent compilation cache on a later run. The values are the same.
    @jax.jit
    def build(rng):
        init_rng, state_rng = jax.random.split(rng)
        params = init_params(init_rng, config.network)
        model = network_for(params, kernels=kernels)
        state = TrainState.create(apply_fn=model.apply, params=params, tx=tx, rng=state_rng)
        return state.replace(step=jnp.zeros((), jnp.int32))  # an array from the start: one trace, one checkpoint format

    return build(rng)


def _with_learning_rate_schedule(tx: optax.GradientTransformation, schedule) -> optax.GradientTransformation:
    """`tx` (an `optax.inject_hyperparams` optimiser) with its learning rate set to
    `schedule(updates so far)` before each update. Why not pass the schedule to
    `inject_hyperparams`: that adds a leaf to the optimiser state, and a checkpoint of an annealed
    run would then not restore into a constant-rate state (`--eval-only`, `--resume`) or back."""

    def update(updates, state, params=None):
        rate = jnp.asarray(schedule(state.count), state.hyperparams["learning_rate"].dtype)
        return tx.update(updates, state._replace(hyperparams={**state.hyperparams, "learning_rate": rate}), params)

    return optax.GradientTransformation(tx.init, update)


def train_step(state: TrainState, batch: dict) -> tuple[TrainState, dict]:
    """One AdamW step on the BC loss of `batch` (pure).

    batch: {"observations": uint8 (B, 84, 84, 3), "actions": int32 (B,)}.
    Returns the new state and float32 scalar metrics: loss and accuracy (of the parameters
    before the update), grad_norm (global L2), learning_rate, and `step` (int32, the number
    of updates applied so far, this one included).
    """

    def loss_fn(params):
        logits = state.apply_fn({"params": params}, batch["observations"])
        return bc_loss(logits, batch["actions"]), logits

    (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    state = state.apply_gradients(grads=grads)
    metrics = {
        "loss": loss,
        "accuracy": accuracy(logits, batch["actions"]),
        "grad_norm": optax.global_norm(grads),
        "learning_rate": jnp.asarray(state.opt_state.hyperparams["learning_rate"], jnp.float32),
        "step": state.step,
    }
    return state, metrics


def make_train_step(augment_shift: int = 0) -> Callable[[TrainState, dict], tuple[TrainState, dict]]:
    """BC's pure train step with each batch's frames shifted by up to `augment_shift` pixels
    (`augment.random_shift`, drawn from the state's rng, which advances every step); 0: the
    plain `train_step`."""
    if augment_shift == 0:
        return train_step

    def augmented_train_step(state: TrainState, batch: dict) -> tuple[TrainState, dict]:
        rng, shift_rng = jax.random.split(state.rng)
        observations = random_shift(shift_rng, batch["observations"], augment_shift)
        return train_step(state.replace(rng=rng), {**batch, "observations": observations})

    return augmented_train_step


def _jit_on_first_call(fn):
    """`fn(apply_fn, ...)` jitted with `apply_fn` static and `compiler_options()`, decided at its
    first call (not at import, which would start JAX's backends before a script could configure
    them). Called while another function is being traced, `fn` runs inline: it becomes part of
    that function's program (compiler options belong to the outermost jit only)."""
    jitted = None

    @functools.wraps(fn)
    def call(apply_fn, *args):
        nonlocal jitted
        if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(args)):
            return fn(apply_fn, *args)
        if jitted is None:
            jitted = jax.jit(fn, static_argnums=0, compiler_options=compiler_options())
        return jitted(apply_fn, *args)

    return call


@_jit_on_first_call
def eval_step(apply_fn: Callable, params, batch: dict) -> dict:
    """BC loss and accuracy of `params` on `batch` (same format as `train_step`), no update.
    `apply_fn` is the state's (`state.apply_fn`), so it computes with the state's kernels."""
    return bc_metrics(apply_fn({"params": params}, batch["observations"]), batch["actions"])


@_jit_on_first_call
def policy_logits(apply_fn: Callable, params, observations: jax.Array) -> jax.Array:
    """uint8 (N, 84, 84, 3) preprocessed frames -> float32 (N, num_actions) logits of
    `apply_fn` (the state's, so with the state's kernels) at `params`."""
    return apply_fn({"params": params}, observations)


def policy_fn(state: TrainState) -> Callable[[np.ndarray], jax.Array]:
    """The state's policy as `observations -> logits`, on this process's own device: the
    params are copied there once (a copy: training goes on donating the state's buffers), the
    network is the state's (its kernels). Host (numpy) params would be copied in again at every
    call (~5 MB: 0.7 CPU ms more per batch-1 forward, measured on a 2-core CPU)."""
    params = jax.device_put(jax.device_get(state.params), jax.local_devices()[0])
    return functools.partial(policy_logits, state.apply_fn, params)


def check_finite(metrics: dict) -> dict:
    """Fetch a train step's metrics to the host; raise NonFiniteLossError if loss or grad_norm
    is NaN/inf. Returns the metrics as Python numbers (so logging needs no second fetch)."""
    values = {k: np.asarray(v).item() for k, v in jax.device_get(metrics).items()}
    if not (math.isfinite(values["loss"]) and math.isfinite(values.get("grad_norm", 0.0))):
        raise NonFiniteLossError(int(values.get("step", -1)), values)
    return values


# --- sharding: declared once, here -------------------------------------------------------------


def make_mesh(devices=None) -> Mesh:
    """A 1-D mesh with axis "data" over `devices` (default: every device of every process)."""
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.asarray(devices), (DATA_AXIS,))


def replicated_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Axis 0 split across the mesh's "data" axis, the other axes whole."""
    return NamedSharding(mesh, P(DATA_AXIS))


def shard_batch(mesh: Mesh, batch: dict) -> dict:
    """Host numpy batch -> global arrays split on axis 0 over the mesh.

    Each process passes ITS OWN part of the global batch (its `local batch`; in a single
    process that is the whole batch); the global batch is the processes' parts in process order.
    The local batch size must be a multiple of the process's local device count.
    """
    sharding = batch_sharding(mesh)
    local_devices = len(mesh.local_devices)
    out = {}
    for key, value in batch.items():
        value = np.asarray(value)
        if value.shape[0] % local_devices:
            raise ValueError(
                f"batch[{key!r}] has {value.shape[0]} rows, not a multiple of the "
                f"{local_devices} local devices; pick a batch size divisible by {local_devices}"
            )
        out[key] = jax.make_array_from_process_local_data(sharding, value)
    return out


def replicate(mesh: Mesh, tree):
    """Place a pytree (a TrainState, params) whole on every device of the mesh.

    In a multi-process run every process must pass the same values (same seed or checkpoint);
    each contributes its copy for its own devices.
    """
    sharding = replicated_sharding(mesh)

    def put(leaf):
        if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(put(jax.random.key_data(leaf)), impl=jax.random.key_impl(leaf))
        if sharding.is_fully_addressable:
            return jax.device_put(leaf, sharding)
        # device_put cannot reach other processes' devices; each process supplies its own.
        value = np.asarray(leaf)
        return jax.make_array_from_process_local_data(sharding, value, value.shape)

    return jax.tree_util.tree_map(put, tree)


def jit_train_step(mesh: Mesh, step_fn=None):
    """`step_fn` (default: the BC `train_step`; e.g. `dqn_bc.make_train_step(config)`) compiled
    for `mesh`: state replicated and donated, batch split on "data", metrics replicated, with the
    mesh's backend's `compiler_options`. Call as `step(state, shard_batch(mesh, batch))`."""
    replicated = replicated_sharding(mesh)
    return jax.jit(
        train_step if step_fn is None else step_fn,
        in_shardings=(replicated, batch_sharding(mesh)),
        out_shardings=(replicated, replicated),
        donate_argnums=0,
        compiler_options=compiler_options(mesh.devices.flat[0].platform),
    )
