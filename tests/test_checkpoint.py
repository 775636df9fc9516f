"""Checkpoints: exact round trip and resume, which step is kept, and errors that name the path."""

import dataclasses
import os
import time
import types
from pathlib import Path

import jax
import numpy as np
import pytest

from pokeil_jax import checkpoint, train
from pokeil_jax.networks import NetworkSizes
from pokeil_jax.checkpoint import CheckpointError, Checkpointer


@dataclasses.dataclass
class Args:
    """A stand-in for a script's tyro Args."""

    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    hidden_dim: int = 8
    num_actions: int = 10
    data_dir: Path = Path("expert_data/minimon")


ARGS = Args()


def train_config(args: Args) -> train.TrainConfig:
    return train.TrainConfig(learning_rate=args.learning_rate, weight_decay=args.weight_decay,
                             network=NetworkSizes(num_actions=args.num_actions, hidden_dim=args.hidden_dim))


def make_batch(seed):
    rng = np.random.default_rng(seed)
    return {
        "observations": rng.integers(0, 256, (4, 84, 84, 3), dtype=np.uint8),
        "actions": rng.integers(0, 10, 4).astype(np.int32),
    }


step_fn = jax.jit(train.train_step)


@pytest.fixture(scope="module")
def trained():
    """A state after 2 updates, so opt_state, step and params are all non-trivial."""
    state = train.create_train_state(jax.random.key(0), train_config(ARGS))
    for seed in range(2):
        state, _ = step_fn(state, make_batch(seed))
    return state


def fresh(hidden_dim=8):
    return train.create_train_state(jax.random.key(99), train_config(dataclasses.replace(ARGS, hidden_dim=hidden_dim)))


def assert_states_equal(a, b):
    leaves_a = jax.tree_util.tree_leaves(a.replace(rng=jax.random.key_data(a.rng)))
    leaves_b = jax.tree_util.tree_leaves(b.replace(rng=jax.random.key_data(b.rng)))
    assert len(leaves_a) == len(leaves_b)
    for x, y in zip(leaves_a, leaves_b):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(x, y)


def evaluation(completion, episodic_return):
    return {"eval/milestone_completion": completion, "eval/episodic_return": episodic_return}


def test_round_trip_is_exact_and_resumes_exactly(tmp_path, trained):
    with Checkpointer(tmp_path / "run") as saver:
        path = saver.save_periodic(2, trained, ARGS, {"train/loss": np.float32(1.5)}, {"sampler_step": 2})
    assert path == tmp_path / "run" / "periodic" / "2"
    state, extras = checkpoint.restore(tmp_path / "run", fresh())
    assert_states_equal(state, trained)
    assert int(state.step) == 2 and state.step.dtype == np.int32
    assert extras["args"] == {**dataclasses.asdict(ARGS), "data_dir": "expert_data/minimon"}
    assert extras["metrics"] == {"train/loss": 1.5}
    assert extras["loader_state"] == {"sampler_step": 2}
    assert (extras["kind"], extras["step"], extras["path"]) == ("periodic", 2, str(path))
    # The restored state continues exactly like the one that was saved.
    continued, _ = step_fn(trained, make_batch(7))
    resumed, _ = step_fn(state, make_batch(7))
    assert_states_equal(resumed, continued)


def test_restore_accepts_run_kind_and_step_directories(tmp_path, trained):
    with Checkpointer(tmp_path / "run") as saver:
        saver.save_periodic(1, trained, ARGS)
        saver.save_periodic(5, trained, ARGS)
        saver.save_best(3, trained, ARGS, evaluation(0.5, 1.0))
        assert saver.latest() == tmp_path / "run" / "periodic" / "5"
        saver.save_final(5, trained, ARGS)
        assert saver.latest() == tmp_path / "run" / "final" / "5"  # final wins a tie
    run = tmp_path / "run"
    for path, expected in [
        (run, run / "final" / "5"),
        (run / "periodic", run / "periodic" / "5"),
        (run / "best", run / "best" / "3"),
        (run / "periodic" / "1", run / "periodic" / "1"),
    ]:
        assert checkpoint.restore(path, fresh())[1]["path"] == str(expected)


def test_periodic_keeps_the_last_few_and_refuses_going_back(tmp_path, trained):
    with Checkpointer(tmp_path / "run", max_to_keep=2) as saver:
        for step in (10, 20, 30):
            saver.save_periodic(step, trained, ARGS, loader_state={"sampler_step": step})
        assert sorted(os.listdir(tmp_path / "run" / "periodic")) == ["20", "30"]
        with pytest.raises(CheckpointError, match="already holds step 30 >= 20"):
            saver.save_periodic(20, trained, ARGS)


def test_best_keeps_the_best_not_the_newest(tmp_path, trained):
    best_dir = tmp_path / "run" / "best"
    with Checkpointer(tmp_path / "run") as saver:
        assert saver.best_metrics() is None
        assert saver.save_best(10, trained, ARGS, evaluation(0.5, 3.0))
        assert not saver.save_best(20, trained, ARGS, evaluation(0.25, 100.0))  # completion decides
        assert not saver.save_best(30, trained, ARGS, evaluation(0.5, 2.0))  # return breaks the tie
        assert not saver.save_best(40, trained, ARGS, evaluation(0.5, 3.0))  # equal: keep the older
        assert not saver.save_best(45, trained, ARGS, evaluation(float("nan"), 9.0))
        assert os.listdir(best_dir) == ["10"]
        assert saver.save_best(50, trained, ARGS, evaluation(0.5, 4.0))
        assert os.listdir(best_dir) == ["50"]
        assert saver.best_metrics() == evaluation(0.5, 4.0)
        with pytest.raises(KeyError, match="eval/episodic_return"):
            saver.save_best(60, trained, ARGS, {"eval/milestone_completion": 1.0})
    # A resumed run (new Checkpointer) compares with the saved best, even at a lower step.
    with Checkpointer(tmp_path / "run") as saver:
        assert not saver.save_best(35, trained, ARGS, evaluation(0.5, 3.5))
        assert saver.save_best(35, trained, ARGS, evaluation(0.75, 0.0))
    assert os.listdir(best_dir) == ["35"]
    assert checkpoint.restore(best_dir, fresh())[1]["metrics"] == evaluation(0.75, 0.0)


def test_unfinished_save_is_ignored(tmp_path, trained):
    with Checkpointer(tmp_path / "run") as saver:
        saver.save_periodic(10, trained, ARGS)
    # What a save killed before Orbax's final rename leaves behind.
    unfinished = tmp_path / "run" / "periodic" / "20.orbax-checkpoint-tmp-1700000000"
    (unfinished / "state").mkdir(parents=True)
    assert checkpoint.resolve(tmp_path / "run") == tmp_path / "run" / "periodic" / "10"
    with pytest.raises(CheckpointError, match="unfinished save"):
        checkpoint.restore(unfinished, fresh())


def test_missing_path_names_it(tmp_path):
    with pytest.raises(CheckpointError, match=f"{tmp_path / 'nope'}: no such checkpoint path"):
        checkpoint.restore(tmp_path / "nope", fresh())
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=f"{tmp_path / 'empty'}: no checkpoint found"):
        checkpoint.restore(tmp_path / "empty", fresh())


def largest_data_file(step_dir):
    files = [p for p in (step_dir / "state").rglob("*") if p.is_file()]
    return max(files, key=lambda p: p.stat().st_size)


@pytest.mark.parametrize("damage", ["truncate", "flip-byte", "drop-metadata", "drop-extras"])
def test_corrupt_checkpoint_error_names_the_path(tmp_path, trained, damage):
    with Checkpointer(tmp_path / "run") as saver:
        step_dir = saver.save_periodic(3, trained, ARGS)
    if damage == "truncate":
        data = largest_data_file(step_dir)
        os.truncate(data, data.stat().st_size // 2)
    elif damage == "flip-byte":  # no reader error: only the saved checksum can tell
        data = largest_data_file(step_dir)
        raw = bytearray(data.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        data.write_bytes(bytes(raw))
    elif damage == "drop-metadata":
        (step_dir / "state" / "_METADATA").unlink()
    else:
        (step_dir / "extras" / "metadata").unlink()
    with pytest.raises(CheckpointError, match="corrupt") as info:
        checkpoint.restore(tmp_path / "run", fresh())
    assert str(info.value).startswith(str(step_dir))


def test_wrong_architecture_names_the_key_and_both_shapes(tmp_path, trained):
    with Checkpointer(tmp_path / "run") as saver:
        step_dir = saver.save_periodic(3, trained, ARGS)
    with pytest.raises(CheckpointError) as info:
        checkpoint.restore(tmp_path / "run", fresh(hidden_dim=16))
    message = str(info.value)
    assert message.startswith(f"{step_dir} does not fit the target")
    assert "'params.Dense_0.bias' has shape (8,) in the checkpoint but (16,) in the target" in message


def test_extra_or_missing_leaves_are_named(tmp_path, trained):
    with Checkpointer(tmp_path / "run") as saver:
        saver.save_periodic(3, trained, ARGS)
    target = fresh()
    extra_layer = {**target.params, "Dense_2": {"bias": np.zeros(3, np.float32)}}
    with pytest.raises(CheckpointError, match="it has no 'params.Dense_2.bias' \\(target shape \\(3,\\)\\)"):
        checkpoint.restore(tmp_path / "run", target.replace(params=extra_layer))
    fewer = {k: v for k, v in target.params.items() if k != "Dense_1"}
    with pytest.raises(CheckpointError, match="the target has no 'params.Dense_1.bias'"):
        checkpoint.restore(tmp_path / "run", target.replace(params=fewer))


def test_find_latest_run(tmp_path, trained):
    root = tmp_path / "checkpoints"
    assert checkpoint.find_latest_run(root, "bc") is None
    for name in ("pokeil/MiniMon-v0__bc__1__100", "pokeil/MiniMon-v0__bc__2__200", "pokeil/MiniMon-v0__dagger__1__300"):
        run = root / name.replace("/", "-")
        with Checkpointer(run) as saver:
            saver.save_periodic(1, trained, ARGS)
        time.sleep(0.02)
    older = root / "pokeil-MiniMon-v0__bc__2__200" / "periodic" / "1"
    os.utime(older, (time.time() - 100, time.time() - 100))
    assert checkpoint.find_latest_run(root, "bc") == root / "pokeil-MiniMon-v0__bc__1__100"
    assert checkpoint.find_latest_run(root, "dagger") == root / "pokeil-MiniMon-v0__dagger__1__300"
    assert checkpoint.find_latest_run(root, "bc_dqn") is None


def test_args_from_a_namespace_and_numpy_metrics_are_json(tmp_path, trained):
    args = types.SimpleNamespace(learning_rate=1e-3, seed=np.int64(3), shape=(84, 84))
    with Checkpointer(tmp_path / "run") as saver:
        saver.save_final(9, trained, args, {"eval/episodic_return": np.float64(2.5), "curve": np.arange(3)})
    _, extras = checkpoint.restore(tmp_path / "run" / "final", fresh())
    assert extras["args"] == {"learning_rate": 1e-3, "seed": 3, "shape": [84, 84]}
    assert extras["metrics"] == {"eval/episodic_return": 2.5, "curve": [0, 1, 2]}
    assert extras["loader_state"] is None


def test_a_diverged_state_is_never_saved(tmp_path, trained):
    params = dict(trained.params)
    params["Dense_1"] = {**params["Dense_1"], "bias": params["Dense_1"]["bias"].at[3].set(np.nan)}
    with Checkpointer(tmp_path / "run") as saver:
        saver.save_periodic(1, trained, ARGS)
        with pytest.raises(CheckpointError, match="NaN/inf in 'params.Dense_1.bias'"):
            saver.save_periodic(2, trained.replace(params=params), ARGS)
    assert checkpoint.resolve(tmp_path / "run") == tmp_path / "run" / "periodic" / "1"
