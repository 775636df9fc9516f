"""pokeil_jax.convert: torch <-> Flax ImpalaCNN weights give the same logits, files round-trip,
bad inputs fail with a message naming the key or file."""

import argparse
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from pokeil_jax import convert
from pokeil_jax.networks import ImpalaCNN, NetworkSizes, init_params

REPO = Path(__file__).resolve().parents[1]


def frames(batch=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (batch, 84, 84, 3), dtype=np.uint8)


def test_importing_convert_or_any_other_module_does_not_import_torch():
    code = ("import importlib, pkgutil, sys, pokeil_jax\n"
            "names = [m.name for m in pkgutil.walk_packages(pokeil_jax.__path__, 'pokeil_jax.')]\n"
            "assert 'pokeil_jax.convert' in names, names\n"
            "for name in names:\n"
            "    importlib.import_module(name)\n"
            "    assert 'torch' not in sys.modules, f'importing {name} imported torch'")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


torch = pytest.importorskip("torch", reason="the converter tests need PyTorch (pip install torch==2.13.0)")
from baselines.bc_pokemon_torch import ImpalaCNN as TorchImpalaCNN  # noqa: E402

pytestmark = pytest.mark.torch


def torch_logits(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def flax_logits(params, x):
    return np.asarray(ImpalaCNN().apply({"params": params}, x))


def test_flax_to_torch_to_flax_is_the_identity():
    params = init_params(jax.random.key(3))
    back = convert.torch_state_dict_to_flax(convert.flax_params_to_torch_state_dict(params))
    flat, flat_back = jax.tree_util.tree_flatten_with_path(params)[0], jax.tree_util.tree_flatten_with_path(back)[0]
    assert [p for p, _ in flat] == [p for p, _ in flat_back]
    for (path, a), (_, b) in zip(flat, flat_back):
        np.testing.assert_array_equal(np.asarray(a), b, err_msg=jax.tree_util.keystr(path))


def test_torch_to_flax_to_torch_is_the_identity():
    torch.manual_seed(0)
    state = TorchImpalaCNN().state_dict()
    back = convert.flax_params_to_torch_state_dict(convert.torch_state_dict_to_flax(state))
    assert list(back) == list(state)
    for key in state:
        assert torch.equal(back[key], state[key]), key


def test_random_torch_model_gives_the_same_logits_in_flax():
    torch.manual_seed(1)
    model = TorchImpalaCNN().eval()
    x = frames()
    expected = torch_logits(model, x)
    got = flax_logits(convert.torch_state_dict_to_flax(model.state_dict()), x)
    assert np.abs(expected).max() > 1e-3  # logits that would reveal a wrong permutation
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_random_flax_model_gives_the_same_logits_in_torch():
    params = init_params(jax.random.key(7))
    x = frames(seed=1)
    model = TorchImpalaCNN().eval()
    model.load_state_dict(convert.flax_params_to_torch_state_dict(params))  # strict: every key, every shape
    np.testing.assert_allclose(torch_logits(model, x), flax_logits(params, x), atol=1e-5, rtol=0)


def test_a_wrong_flatten_order_would_be_caught():
    # Transposing hidden_fc without the (C,H,W) -> (H,W,C) row permutation changes the logits.
    torch.manual_seed(2)
    model = TorchImpalaCNN().eval()
    params = convert.torch_state_dict_to_flax(model.state_dict())
    params["Dense_0"]["kernel"] = model.hidden_fc.weight.detach().numpy().T
    x = frames(seed=2)
    assert np.abs(flax_logits(params, x) - torch_logits(model, x)).max() > 1e-4


def test_other_sizes_convert_and_match():
    torch.manual_seed(4)
    model = TorchImpalaCNN(action_dim=7, hidden_dim=64, channels=(8, 8, 16)).eval()
    params = convert.torch_state_dict_to_flax(model.state_dict())
    assert NetworkSizes.of(params) == NetworkSizes(num_actions=7, hidden_dim=64, channels=(8, 8, 16))
    x = frames(3)
    flax_model = ImpalaCNN(NetworkSizes(num_actions=7, hidden_dim=64, channels=(8, 8, 16)))
    np.testing.assert_allclose(np.asarray(flax_model.apply({"params": params}, x)), torch_logits(model, x), atol=1e-5)


@pytest.mark.parametrize("change,message", [
    (lambda sd: sd.pop("conv_seqs.1.res_block0.conv1.weight"), "missing key 'conv_seqs.1.res_block0.conv1.weight'"),
    (lambda sd: sd.__setitem__("extra_head.weight", torch.zeros(3)), "unexpected key 'extra_head.weight'"),
    (lambda sd: sd.__setitem__("conv_seqs.0.conv.weight", torch.zeros(16, 4, 3, 3)),
     "conv_seqs.0.conv.weight has shape (16, 4, 3, 3), expected (16, 3, 3, 3)"),
    (lambda sd: sd.__setitem__("hidden_fc.weight", torch.zeros(256, 100)), "hidden_fc.weight has shape (256, 100)"),
])
def test_a_state_dict_that_is_not_an_impala_cnn_is_refused_by_name(change, message):
    state = TorchImpalaCNN().state_dict()
    change(state)
    with pytest.raises(convert.ConversionError) as error:
        convert.torch_state_dict_to_flax(state)
    assert message in str(error.value)


def test_a_foreign_state_dict_names_what_is_missing():
    state = torch.nn.Linear(4, 2).state_dict()
    with pytest.raises(convert.ConversionError, match=r"missing keys 'conv_seqs.0.conv.weight'.*unexpected keys 'bias', 'weight'"):
        convert.torch_state_dict_to_flax(state)


def test_a_whole_checkpoint_dict_says_to_pass_its_model_state_dict():
    with pytest.raises(convert.ConversionError, match="model_state_dict"):
        convert.torch_state_dict_to_flax({"step": 3, "model_state_dict": TorchImpalaCNN().state_dict()})


def test_flax_params_with_a_missing_layer_are_refused_by_name():
    params = init_params(jax.random.key(0))
    del params["ConvSequence_2"]["ResidualBlock_1"]
    with pytest.raises(convert.ConversionError, match="missing keys 'ConvSequence_2/ResidualBlock_1/Conv_0/kernel'"):
        convert.flax_params_to_torch_state_dict(params)


def test_load_reads_checkpoint_dicts_and_bare_state_dicts(tmp_path):
    model = TorchImpalaCNN()
    torch.save({"step": 40, "model_state_dict": model.state_dict(), "optimizer_state_dict": {}}, tmp_path / "c.pth")
    torch.save(model.state_dict(), tmp_path / "final_model.pth")
    state, step = convert.load_torch_state_dict(tmp_path / "c.pth", with_step=True)
    assert step == 40 and set(state) == set(model.state_dict())
    assert set(convert.load_torch_state_dict(tmp_path / "final_model.pth")) == set(model.state_dict())


def test_load_refuses_missing_foreign_and_pickled_files(tmp_path):
    with pytest.raises(convert.ConversionError, match="no such file"):
        convert.load_torch_state_dict(tmp_path / "nope.pth")
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(convert.ConversionError, match="not a loadable PyTorch checkpoint"):
        convert.load_torch_state_dict(tmp_path / "text.pth")

    # An arbitrary pickled object: weights_only loading must refuse it, not unpickle it.
    torch.save({"model_state_dict": argparse.Namespace(payload=1)}, tmp_path / "pickle.pth")
    with pytest.raises(convert.ConversionError, match="not a loadable PyTorch checkpoint"):
        convert.load_torch_state_dict(tmp_path / "pickle.pth")


def test_cli_writes_a_checkpoint_the_jax_pipeline_restores_and_back(tmp_path):
    from pokeil_jax import checkpoint, train

    torch.manual_seed(5)
    model = TorchImpalaCNN().eval()
    torch.save({"step": 12, "model_state_dict": model.state_dict(), "optimizer_state_dict": {}}, tmp_path / "best_model.pth")
    assert convert.main([str(tmp_path / "best_model.pth"), str(tmp_path / "jax_run")]) == 0
    assert (tmp_path / "jax_run" / "final" / "12").is_dir()

    # What `bc_pokemon_jax.py --eval-only --checkpoint` does: restore into a fresh TrainState.
    config = train.TrainConfig()
    state, extras = checkpoint.restore(tmp_path / "jax_run", train.create_train_state(jax.random.key(9), config))
    assert int(state.step) == 12 and extras["kind"] == "final"
    x = frames(4, seed=3)
    np.testing.assert_allclose(np.asarray(train.policy_fn(state)(x)), torch_logits(model, x), atol=1e-5)

    assert convert.main([str(tmp_path / "jax_run"), str(tmp_path / "back.pth")]) == 0
    back = torch.load(tmp_path / "back.pth", weights_only=True)
    for key, value in model.state_dict().items():
        assert torch.equal(back[key], value), key


def test_cli_reports_a_bad_file_and_fails(tmp_path, capsys):
    torch.save({"model_state_dict": torch.nn.Linear(2, 2).state_dict()}, tmp_path / "linear.pth")
    assert convert.main([str(tmp_path / "linear.pth"), str(tmp_path / "out")]) == 1
    assert "missing keys 'conv_seqs.0.conv.weight'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
