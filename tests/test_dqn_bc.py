"""DQN-BC: the n-step double-DQN target against hand arithmetic, the loss terms, the target
network's updates and the pure train step."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pokeil_jax import dqn_bc, train
from pokeil_jax.data.transitions import n_step_transitions
from pokeil_jax.networks import NetworkSizes

GAMMA = 0.9
#: A hand-made 5-step episode: rewards r_0..r_4, frames 0..5 (frame 5 = final observation).
REWARDS = [0.0, 1.0, 0.0, 0.0, 2.0]
#: Q-values of frames 0..5 under the online network: argmax per frame is 1, 2, 0, 1, 2, 0.
Q_ONLINE = np.array([[1, 2, 0], [0, 0, 3], [5, 1, 1], [0, 4, 2], [2, 2, 7], [1, 0, 0]], np.float32)
#: ... and under the target network. Double DQN values frame f at Q_TARGET[f, argmax Q_ONLINE[f]]:
#: frame 1 -> 31, frame 2 -> 12, frame 3 -> 23, frame 4 -> 34, frame 5 -> 15.
Q_TARGET = np.array([[10, 20, 30], [11, 21, 31], [12, 22, 32], [13, 23, 33], [14, 24, 34], [15, 25, 35]],
                    np.float32)

HAND_TARGETS = {
    # (n, terminated): y_0 .. y_4, written out by hand
    (1, False): [0 + 0.9 * 31, 1 + 0.9 * 12, 0 + 0.9 * 23, 0 + 0.9 * 34, 2 + 0.9 * 15],
    (1, True): [0 + 0.9 * 31, 1 + 0.9 * 12, 0 + 0.9 * 23, 0 + 0.9 * 34, 2],
    (3, False): [0 + 0.9 * 1 + 0.81 * 0 + 0.729 * 23, 1 + 0.9 * 0 + 0.81 * 0 + 0.729 * 34,
                 0 + 0.9 * 0 + 0.81 * 2 + 0.729 * 15, 0 + 0.9 * 2 + 0.81 * 15, 2 + 0.9 * 15],
    (3, True): [0 + 0.9 * 1 + 0.81 * 0 + 0.729 * 23, 1 + 0.9 * 0 + 0.81 * 0 + 0.729 * 34,
                0 + 0.9 * 0 + 0.81 * 2, 0 + 0.9 * 2, 2],
}


@pytest.mark.parametrize("n_step,terminated", sorted(HAND_TARGETS))
def test_td_target_of_a_five_step_episode_equals_the_hand_values(n_step, terminated):
    parts = n_step_transitions(np.array(REWARDS, np.float32), terminated, n_step, GAMMA)
    next_frames = np.arange(5) + parts["bootstrap_offsets"]
    targets = dqn_bc.double_dqn_targets(parts["returns"], parts["dones"], parts["discounts"],
                                        Q_ONLINE[next_frames], Q_TARGET[next_frames])
    np.testing.assert_allclose(np.asarray(targets), HAND_TARGETS[n_step, terminated], rtol=1e-6)


def test_n_step_bookkeeping_at_the_episode_end():
    parts = n_step_transitions(np.array(REWARDS, np.float32), True, 3, GAMMA)
    assert parts["bootstrap_offsets"].tolist() == [3, 3, 3, 2, 1]  # never past the final observation
    assert parts["dones"].tolist() == [False, False, True, True, True]
    np.testing.assert_allclose(parts["discounts"], [0.729, 0.729, 0.729, 0.81, 0.9], rtol=1e-6)
    truncated = n_step_transitions(np.array(REWARDS, np.float32), False, 3, GAMMA)
    assert not truncated["dones"].any()


@pytest.mark.parametrize("bad", [dict(n_step=0), dict(gamma=0.0), dict(gamma=1.5)])
def test_n_step_rejects_bad_settings(bad):
    with pytest.raises(ValueError, match="n_step must be >= 1|gamma must be in"):
        n_step_transitions(np.zeros(3, np.float32), False, **{"n_step": 1, "gamma": 0.9, **bad})


def test_large_margin_loss_by_hand():
    q = jnp.array([[1.0, 3.0, 2.0], [0.0, 5.0, 4.5]])
    labels = jnp.array([0, 1])
    # row 0: max(1+0, 3+0.8, 2+0.8) - 1 = 2.8; row 1: max(0.8, 5, 5.3) - 5 = 0.3
    np.testing.assert_allclose(dqn_bc.large_margin_loss(q, labels, 0.8, jnp.ones(2)), (2.8 + 0.3) / 2, rtol=1e-6)
    np.testing.assert_allclose(dqn_bc.large_margin_loss(q, labels, 0.8, jnp.array([0.0, 1.0])), 0.3, rtol=1e-5)


def test_hard_target_update_copies_every_period_and_polyak_blends():
    params, target = {"w": jnp.array([2.0])}, {"w": jnp.array([0.0])}
    hard = dqn_bc.DQNBCConfig(target_network_frequency=3)
    assert [float(dqn_bc.update_target(params, target, s, hard)["w"][0]) for s in (1, 2, 3, 4, 6)] == [0, 0, 2, 0, 2]
    soft = dqn_bc.DQNBCConfig(tau=0.25)
    assert float(dqn_bc.update_target(params, target, 1, soft)["w"][0]) == pytest.approx(0.5)


def test_distillation_coefficient():
    assert dqn_bc.distillation_coefficient(0.0, 4.0) == 1.0
    assert dqn_bc.distillation_coefficient(1.0, 4.0) == 0.75
    assert dqn_bc.distillation_coefficient(5.0, 4.0) == 0.0
    assert dqn_bc.distillation_coefficient(1.0, 0.0) == 1.0


# ---- the train step -------------------------------------------------------------------------------

CONFIG = train.TrainConfig(learning_rate=1e-3, weight_decay=0.0, network=NetworkSizes(hidden_dim=32), kernels="xla")


def make_batch(batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    frames = lambda: rng.integers(0, 256, (batch_size, 84, 84, 3), dtype=np.uint8)  # noqa: E731
    actions = rng.integers(0, 10, batch_size).astype(np.int32)
    return {"observations": frames(), "actions": actions, "executed_actions": actions,
            "returns": rng.normal(size=batch_size).astype(np.float32), "next_observations": frames(),
            "dones": rng.random(batch_size) < 0.3, "discounts": np.full(batch_size, 0.9, np.float32),
            "label_mask": np.ones(batch_size, np.float32)}


@functools.lru_cache(maxsize=None)
def jitted_step(config: dqn_bc.DQNBCConfig):
    """One compilation per config for the whole module (the network is small, compiling is not)."""
    return jax.jit(dqn_bc.make_train_step(config))


@pytest.fixture(scope="module")
def state():
    return dqn_bc.create_train_state(jax.random.key(0), CONFIG)


def test_step_metrics_match_an_independent_computation(state):
    config = dqn_bc.DQNBCConfig(bc_weight=0.5, td_weight=2.0, margin=0.8, target_network_frequency=1000)
    batch = make_batch()
    _, metrics = jitted_step(config)(state, batch)
    apply = lambda p, o: state.apply_fn({"params": p}, o)  # noqa: E731
    q = apply(state.params, batch["observations"])
    q_next, q_next_target = apply(state.params, batch["next_observations"]), apply(state.target_params, batch["next_observations"])
    y = batch["returns"] + (1 - batch["dones"]) * 0.9 * np.asarray(q_next_target)[np.arange(8), np.asarray(q_next).argmax(1)]
    q_sa = np.asarray(q)[np.arange(8), batch["executed_actions"]]
    err = q_sa - y
    huber = np.where(np.abs(err) <= 1, 0.5 * err**2, np.abs(err) - 0.5).mean()
    ce = float(train.bc_loss(q, batch["actions"]))
    margin = float(dqn_bc.large_margin_loss(q, batch["actions"], 0.8, jnp.ones(8)))
    np.testing.assert_allclose(metrics["td_loss"], huber, rtol=1e-4)
    np.testing.assert_allclose(metrics["bc_loss"], ce, rtol=1e-5)
    np.testing.assert_allclose(metrics["loss"], 0.5 * ce + 2.0 * huber + margin, rtol=1e-4)
    np.testing.assert_allclose(metrics["target_q"], y.mean(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(metrics["q_values"], q_sa.mean(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(metrics["q_values_std"], q_sa.std(), rtol=1e-4)


def test_bc_only_settings_take_the_bc_step(state):
    """td_weight 0, no margin: the same update as the BC train step."""
    batch = make_batch(seed=1)
    dqn_state, _ = jitted_step(dqn_bc.DQNBCConfig(td_weight=0.0))(state, batch)
    bc_state = train.TrainState.create(apply_fn=state.apply_fn, params=state.params, tx=state.tx, rng=state.rng)
    bc_state, _ = jax.jit(train.train_step)(bc_state, {k: batch[k] for k in ("observations", "actions")})
    for a, b in zip(jax.tree_util.tree_leaves(dqn_state.params), jax.tree_util.tree_leaves(bc_state.params)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_target_network_follows_at_its_period_and_the_step_is_pure(state):
    step = jitted_step(dqn_bc.DQNBCConfig(target_network_frequency=2))
    batch = make_batch(seed=2)
    one, m1 = step(state, batch)
    again, _ = step(state, batch)
    same = lambda s: jax.tree_util.tree_leaves(s.replace(rng=jax.random.key_data(s.rng)))  # noqa: E731
    assert all(np.array_equal(a, b) for a, b in zip(same(one), same(again)))
    assert int(m1["step"]) == 1
    for a, b in zip(jax.tree_util.tree_leaves(one.target_params), jax.tree_util.tree_leaves(state.params)):
        np.testing.assert_array_equal(a, b)  # step 1: still the initial network
    two, _ = step(one, batch)
    for a, b in zip(jax.tree_util.tree_leaves(two.target_params), jax.tree_util.tree_leaves(two.params)):
        np.testing.assert_array_equal(a, b)  # step 2: copied


def test_td_loss_falls_when_fitting_a_fixed_batch(state):
    config = dqn_bc.DQNBCConfig(bc_weight=0.0, td_weight=1.0, target_network_frequency=10_000)
    step = jitted_step(config)
    batch = make_batch(seed=3)
    s, first = step(state, batch)
    for _ in range(30):
        s, metrics = step(s, batch)
    assert float(metrics["td_loss"]) < 0.5 * float(first["td_loss"])


def test_label_mask_removes_unlabelled_rows_from_the_bc_term(state):
    batch = make_batch(seed=4)
    batch["label_mask"] = np.array([1, 1, 1, 1, 0, 0, 0, 0], np.float32)
    _, metrics = jitted_step(dqn_bc.DQNBCConfig(target_network_frequency=2))(state, batch)
    q = state.apply_fn({"params": state.params}, batch["observations"][:4])
    np.testing.assert_allclose(metrics["bc_loss"], train.bc_loss(q, batch["actions"][:4]), rtol=1e-5)


def test_bc_coefficient_scales_the_bc_term(state):
    config = dqn_bc.DQNBCConfig(td_weight=0.0)
    batch = make_batch(seed=5)
    _, full = jitted_step(config)(state, batch)
    _, scaled = jitted_step(config)(state.replace(bc_coefficient=jnp.float32(0.25)), batch)
    np.testing.assert_allclose(scaled["loss"], 0.25 * full["loss"], rtol=1e-5)
