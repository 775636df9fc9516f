"""baselines/bc_pokemon_torch.py: the plan's Args, the same network as the JAX one, it learns,
its .pth checkpoints load, evaluation goes through pokeil_jax.evaluate."""

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch baseline needs torch (pip install torch==2.13.0)")
import torch.nn.functional as F  # noqa: E402

from baselines import bc_pokemon_torch as baseline  # noqa: E402

pytestmark = pytest.mark.torch

PLAN_FIELDS = [  # the seed plan's Args (PLAN.md section 6), in its order
    "exp_name", "seed", "torch_deterministic", "cuda", "track", "wandb_project_name", "rom_path",
    "expert_data_dir", "total_training_steps", "batch_size", "learning_rate", "weight_decay", "hidden_dim",
    "eval_frequency", "eval_episodes", "save_frequency", "model_dir", "save_best",
]
DQN_BC_FIELDS = ["algo", "bc_weight", "n_step", "gamma", "target_network_frequency"]


def test_args_are_the_plans_fields_with_its_hyperparameters():
    fields = dataclasses.fields(baseline.Args)
    # plus the plan's optional DQN-BC hybrid's settings, and two for the like-for-like comparison
    assert [f.name for f in fields] == PLAN_FIELDS + DQN_BC_FIELDS + ["double_dqn", "init_weights"]
    args = baseline.Args()
    assert (args.batch_size, args.learning_rate, args.weight_decay, args.hidden_dim) == (64, 1e-4, 1e-5, 256)
    assert (args.total_training_steps, args.eval_frequency, args.eval_episodes, args.save_frequency) == (100_000, 5_000, 5, 10_000)


@pytest.mark.parametrize("size", [84, 42, 21, 11, 7, 6, 1])
def test_pool_has_xlas_same_windows(size):
    import flax.linen as nn

    x = np.random.default_rng(size).standard_normal((2, size, size, 3)).astype(np.float32)
    expected = np.asarray(nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME"))
    got = baseline.max_pool_3x3_s2(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(got, expected)


def test_the_plans_padding_1_pool_has_the_same_size_but_other_windows():
    # Why the baseline does not use MaxPool2d(3, 2, padding=1): 84 -> 42 too, but shifted windows.
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 3, 84, 84)).astype(np.float32))
    plan = F.max_pool2d(x, 3, 2, padding=1)
    same = baseline.max_pool_3x3_s2(x)
    assert plan.shape == same.shape == (1, 3, 42, 42)
    assert not torch.equal(plan, same)


def test_network_shapes_and_uint8_nhwc_input():
    model = baseline.ImpalaCNN()
    assert model.hidden_fc.in_features == 11 * 11 * 32
    logits = model(torch.zeros(5, 84, 84, 3, dtype=torch.uint8))
    assert logits.shape == (5, 10) and logits.dtype == torch.float32


def test_parameter_count_equals_the_jax_networks():
    import jax

    from pokeil_jax.networks import init_params, param_count

    assert sum(p.numel() for p in baseline.ImpalaCNN().parameters()) == param_count(init_params(jax.random.key(0)))


def test_evaluation_is_skipped_without_episodes():
    assert baseline.make_evaluator(baseline.Args(eval_episodes=0), torch.device("cpu")) is None


def test_eval_seeds_skip_the_demonstrations_seeds():
    assert baseline.eval_seeds(4, {1000, 1002}) == [1001, 1003, 1004, 1005]


def small_args(tmp_path, demos, **changes):
    values = dict(expert_data_dir=str(demos), total_training_steps=30, batch_size=16, learning_rate=1e-3,
                  eval_episodes=0, save_frequency=10, model_dir=str(tmp_path / "models"))
    return baseline.Args(**{**values, **changes})


def test_trains_on_a_tiny_demo_set_and_writes_loadable_checkpoints(tmp_path, synthetic_demos, monkeypatch):
    monkeypatch.chdir(tmp_path)  # runs/ goes here
    result = baseline.train(small_args(tmp_path, synthetic_demos))

    losses = np.array([loss for _, loss, _ in result["history"]])
    assert len(losses) == 30 and np.all(np.isfinite(losses))
    assert losses[-5:].mean() < 0.8 * losses[:5].mean(), losses

    models = tmp_path / "models"
    assert sorted(p.name for p in models.glob("*.pth")) == ["checkpoint_10.pth", "checkpoint_20.pth", "final_model.pth"]
    checkpoint = torch.load(models / "checkpoint_20.pth", weights_only=True)
    assert set(checkpoint) == {"step", "model_state_dict", "optimizer_state_dict"} and checkpoint["step"] == 20
    model = baseline.ImpalaCNN()
    model.load_state_dict(checkpoint["model_state_dict"])  # strict
    final = torch.load(models / "final_model.pth", weights_only=True)  # the plan saves a bare state dict
    model.load_state_dict(final)
    assert (models / "args.json").exists()
    assert list((tmp_path / "runs").glob("bc_pokemon_torch__1__*/events.out.tfevents.*"))
    assert not list(models.glob(".*.tmp"))


def test_same_seed_same_losses(tmp_path, synthetic_demos, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = baseline.train(small_args(tmp_path / "a", synthetic_demos, total_training_steps=5))["history"]
    second = baseline.train(small_args(tmp_path / "b", synthetic_demos, total_training_steps=5))["history"]
    assert first == second


@pytest.mark.slow
def test_evaluation_in_the_env_logs_and_keeps_the_best_model(tmp_path, synthetic_demos, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = small_args(tmp_path, synthetic_demos, total_training_steps=12, eval_frequency=10, eval_episodes=1,
                      save_frequency=100)
    result = baseline.train(args)
    assert np.isfinite(result["best_eval_return"])
    best = torch.load(tmp_path / "models" / "best_model.pth", weights_only=True)
    assert set(best) == {"step", "model_state_dict", "optimizer_state_dict", "eval_return"} and best["step"] == 10


def test_init_weights_start_training_from_a_converted_jax_init(tmp_path, synthetic_demos, monkeypatch):
    import jax

    from pokeil_jax.convert import flax_params_to_torch_state_dict
    from pokeil_jax.networks import init_params

    monkeypatch.chdir(tmp_path)
    state_dict = flax_params_to_torch_state_dict(jax.device_get(init_params(jax.random.key(3))))
    torch.save(state_dict, tmp_path / "init.pth")
    args = small_args(tmp_path, synthetic_demos, total_training_steps=1, init_weights=str(tmp_path / "init.pth"),
                      learning_rate=0.0, weight_decay=0.0)
    final = torch.load(baseline.train(args)["final_path"], weights_only=True)
    for name, value in state_dict.items():  # lr 0: the one step leaves the converted init in place
        np.testing.assert_array_equal(final[name].numpy(), np.asarray(value), err_msg=name)


# ---- --algo dqn_bc: the plan's compute_hybrid_loss ------------------------------------------------


class FixedQ(torch.nn.Module):
    """A 'network' returning the given Q-values whatever the frames (plus a trainable 0)."""

    def __init__(self, q):
        super().__init__()
        self.q, self.zero = torch.tensor(q), torch.nn.Parameter(torch.zeros(()))

    def forward(self, obs):
        return self.q + self.zero


def test_hybrid_loss_is_the_plans_formula_by_hand():
    q = [[1.0, 2.0, 0.0], [0.5, 0.0, 3.0]]
    next_q = [[4.0, 1.0, 2.0], [0.0, 6.0, 1.0]]
    obs = torch.zeros(2, 84, 84, 3, dtype=torch.uint8)
    batch = (obs, torch.tensor([1, 0]), torch.tensor([1.0, 2.0]), obs, torch.tensor([0.0, 1.0]),
             torch.tensor([0.99, 0.81]))
    total, bc, td, *_ = baseline.compute_hybrid_loss(FixedQ(q), FixedQ(next_q), batch, bc_weight=0.5)
    # targets: 1 + 0.99 * 4 = 4.96 ; 2 (done). Q(s, a): 2.0 ; 0.5
    np.testing.assert_allclose(td.item(), ((2.0 - 4.96) ** 2 + (0.5 - 2.0) ** 2) / 2, rtol=1e-6)
    ce = torch.nn.functional.cross_entropy(torch.tensor(q), torch.tensor([1, 0])).item()
    np.testing.assert_allclose(bc.item(), ce, rtol=1e-6)
    np.testing.assert_allclose(total.item(), 0.5 * ce + td.item(), rtol=1e-6)


def test_hybrid_loss_with_double_dqn_values_s_prime_at_the_online_argmax():
    q = [[1.0, 2.0, 0.0], [0.5, 0.0, 3.0]]  # online net: also its values on s' (argmax 1, then 2)
    next_q = [[4.0, 1.0, 2.0], [0.0, 6.0, 1.0]]  # target net
    obs = torch.zeros(2, 84, 84, 3, dtype=torch.uint8)
    batch = (obs, torch.tensor([1, 0]), torch.tensor([1.0, 2.0]), obs, torch.tensor([0.0, 0.0]),
             torch.tensor([0.99, 0.81]))
    *_, target_q = baseline.compute_hybrid_loss(FixedQ(q), FixedQ(next_q), batch, double_dqn=True)
    # target_net at the online argmax: 1 + 0.99 * next_q[0][1] ; 2 + 0.81 * next_q[1][2] (the plain max: 4.0, 6.0)
    np.testing.assert_allclose(target_q.numpy(), [1 + 0.99 * 1.0, 2 + 0.81 * 1.0], rtol=1e-6)


def test_dqn_bc_trains_and_logs_its_losses(tmp_path, rewarded_demos, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.chdir(tmp_path)
    result = baseline.train(small_args(tmp_path, rewarded_demos, algo="dqn_bc", n_step=3, gamma=0.9,
                                       total_training_steps=12, target_network_frequency=5))
    losses = np.array([loss for _, loss, _ in result["history"]])
    assert len(losses) == 12 and np.all(np.isfinite(losses))
    events = EventAccumulator(str(next((tmp_path / "runs").iterdir()))).Reload()
    assert {"train/bc_loss", "train/td_loss", "train/total_loss", "train/q_values", "train/target_q"} <= set(
        events.Tags()["scalars"])


@pytest.mark.parametrize("change,message", [
    (dict(n_step=0), "--n-step 0: must be >= 1"), (dict(gamma=0.0), "--gamma 0.0: must be in"),
    (dict(gamma=1.5), "--gamma 1.5: must be in"), (dict(use_unrewarded=True), "every reward in the demonstrations is 0"),
])
def test_dqn_bc_bad_settings_exit_with_one_line(tmp_path, rewarded_demos, synthetic_demos, monkeypatch, change, message):
    monkeypatch.chdir(tmp_path)
    demos = synthetic_demos if change.pop("use_unrewarded", False) else rewarded_demos
    with pytest.raises(SystemExit, match=message) as error:
        baseline.train(small_args(tmp_path, demos, algo="dqn_bc", **change))
    assert "\n" not in str(error.value)
