"""Tests for pokeil_jax/kernels/__init__.py: the one resolver, and that every place the policy
runs computes with the kernels its train state was made with."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pokeil_jax import train
from pokeil_jax.kernels import XLA, onednn, resolve_kernels
from pokeil_jax.networks import NetworkSizes

needs_onednn = pytest.mark.skipif(not onednn.available(), reason="oneDNN kernels not built")


@needs_onednn
def test_resolve_kernels_rules(monkeypatch):
    assert resolve_kernels("xla").name == "xla"
    assert resolve_kernels("onednn").name == "onednn"
    assert resolve_kernels("auto").name == ("onednn" if jax.device_count() == 1 else "xla")
    assert resolve_kernels("auto", jnp.bfloat16).name == "xla"
    with pytest.raises(ValueError, match="float32 only"):
        resolve_kernels("onednn", jnp.bfloat16)
    with pytest.raises(ValueError, match="one of"):
        resolve_kernels("cudnn")
    monkeypatch.setattr(onednn, "_load", lambda: "not built (test)")
    assert resolve_kernels("auto").name == "xla"
    with pytest.raises(onednn.OneDNNUnavailableError, match="python -m pokeil_jax.kernels build"):
        resolve_kernels("onednn")
    with pytest.raises(onednn.OneDNNUnavailableError, match="not built"):
        onednn.conv2d(jnp.zeros((1, 3, 3, 1)), jnp.zeros((3, 3, 1, 1)), jnp.zeros((1,)))


def test_xla_resolves_without_the_extension(monkeypatch):
    monkeypatch.setattr(onednn, "_load", lambda: "not built (test)")
    assert resolve_kernels("xla") is XLA
    assert resolve_kernels("auto") is XLA


def lowered_programs(kernels: str) -> dict[str, str]:
    """The StableHLO of each way the policy runs from a state made with `kernels`."""
    state = train.create_train_state(jax.random.key(0), train.TrainConfig(network=NetworkSizes(hidden_dim=8),
                                                                          kernels=kernels))
    frames = np.zeros((2, 84, 84, 3), np.uint8)
    batch = {"observations": frames, "actions": np.zeros(2, np.int32)}
    return {
        "train_step": jax.jit(train.train_step).lower(state, batch).as_text(),
        "eval_step (validation)": jax.jit(lambda b: train.eval_step(state.apply_fn, state.params, b)).lower(batch).as_text(),
        "policy_fn (evaluation, DAgger, eval-only)": jax.jit(train.policy_fn(state)).lower(frames).as_text(),
    }


@pytest.mark.parametrize("kernels", ["xla", pytest.param("onednn", marks=needs_onednn)])
def test_every_policy_path_computes_with_the_states_kernels(kernels):
    for where, program in lowered_programs(kernels).items():
        calls_onednn = "pokeil_conv_forward" in program and "pokeil_pool_forward" in program
        assert calls_onednn == (kernels == "onednn"), f"{where} ignores kernels={kernels!r}"
