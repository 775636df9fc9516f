"""The policy network: the IMPALA CNN (Espeholt et al. 2018, "IMPALA", Fig. 3), in Flax linen.

Input: uint8 (B, 84, 84, 3) frames already resized on the host by
`pokeil_jax.preprocessing.preprocess_frames` (the network never resizes). Output: float32
(B, num_actions) logits.

    x / 255 -> 3 x ConvSequence(c) -> flatten -> relu -> Dense(hidden_dim) -> relu -> Dense(A)
    ConvSequence(c): conv3x3(c) -> max-pool 3x3 s2 -> ResidualBlock -> ResidualBlock
    ResidualBlock:   x + conv3x3(relu(conv3x3(relu(x))))

Spatial size 84 -> 42 -> 21 -> 11, so the flattened feature has 11 * 11 * channels[-1] entries
(3872 for the default channels).

Parameter names (the `params` tree) and, for a PyTorch ImpalaCNN with modules `conv_seqs`
(ModuleList of sequences with `conv`, `res_block0`, `res_block1`, each block with `conv0`,
`conv1`), `hidden_fc` and `logits_fc`, the names a converter maps 1:1 (seq 0..2, block 0..1,
j 0..1):

    ConvSequence_{seq}/Conv_0/{kernel,bias}                 <- conv_seqs.{seq}.conv.{weight,bias}
    ConvSequence_{seq}/ResidualBlock_{block}/Conv_{j}/...   <- conv_seqs.{seq}.res_block{block}.conv{j}
    Dense_0/{kernel,bias}                                   <- hidden_fc.{weight,bias}
    Dense_1/{kernel,bias}                                   <- logits_fc.{weight,bias}

Layouts: a conv `kernel` is (3, 3, in, out) = torch weight (out, in, 3, 3).permute(2, 3, 1, 0);
a Dense `kernel` is (in, out) = torch weight.T. Dense_0 also needs the flatten order fixed:
here features flatten as (H, W, C), in PyTorch as (C, H, W), so
kernel = w.reshape(hidden, C, 11, 11).permute(2, 3, 1, 0).reshape(11 * 11 * C, hidden).

Initialisation follows torch.nn.Conv2d / nn.Linear defaults (kernel and bias uniform in
+-1/sqrt(fan_in)) so the JAX and PyTorch baselines start from the same distribution.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from pokeil_jax.actions import NUM_ACTIONS
from pokeil_jax.kernels import XLA, Kernels
from pokeil_jax.preprocessing import NETWORK_INPUT_SHAPE


@dataclasses.dataclass(frozen=True)
class NetworkSizes:
    """The one description of an ImpalaCNN's sizes: actions (logits), dense width, and the
    output channels of each conv sequence."""

    num_actions: int = NUM_ACTIONS
    hidden_dim: int = 256
    channels: tuple[int, ...] = (16, 32, 32)

    def __post_init__(self):
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))

    @classmethod
    def of(cls, params: Mapping) -> "NetworkSizes":
        """The sizes of an ImpalaCNN `params` tree, read from its parameter shapes (so a restored
        tree needs no separate architecture record)."""
        channels = []
        while f"ConvSequence_{len(channels)}" in params:
            channels.append(int(np.shape(params[f"ConvSequence_{len(channels)}"]["Conv_0"]["kernel"])[-1]))
        return cls(num_actions=int(np.shape(params["Dense_1"]["kernel"])[-1]),
                   hidden_dim=int(np.shape(params["Dense_0"]["kernel"])[-1]), channels=tuple(channels))


# torch's kaiming_uniform_(a=sqrt(5)) bound sqrt(6 / ((1 + 5) * fan_in)) = 1/sqrt(fan_in) is
# variance_scaling's uniform bound sqrt(3 * scale / fan_in) with scale = 1/3.
_torch_default_kernel_init = nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def _torch_default_bias_init(fan_in: int):
    bound = 1.0 / np.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


class Conv(nn.Module):
    """3x3 SAME conv by `conv2d` (a `Kernels.conv2d`); params `kernel` (3, 3, in, out) and
    `bias` (out,), float32. `input_grad=False` marks the first layer; `relu=True` returns
    relu(conv) (fused into the convolution by oneDNN)."""

    features: int
    conv2d: Callable
    dtype: Any = jnp.float32
    input_grad: bool = True
    relu: bool = False

    @nn.compact
    def __call__(self, x):
        in_features = x.shape[-1]
        kernel = self.param(
            "kernel", _torch_default_kernel_init, (3, 3, in_features, self.features), jnp.float32
        )
        bias = self.param(
            "bias", _torch_default_bias_init(9 * in_features), (self.features,), jnp.float32
        )
        return self.conv2d(x, kernel.astype(self.dtype), bias.astype(self.dtype), self.input_grad, self.relu)


class ResidualBlock(nn.Module):
    """x + Conv_1(relu(Conv_0(relu(x)))); keeps shape (B, H, W, C)."""

    kernels: Kernels
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        channels = x.shape[-1]
        y = Conv(channels, self.kernels.conv2d, self.dtype, relu=True, name="Conv_0")(nn.relu(x))
        y = Conv(channels, self.kernels.conv2d, self.dtype, name="Conv_1")(y)
        return x + y


class ConvSequence(nn.Module):
    """Conv_0 -> max-pool 3x3 s2 -> ResidualBlock_0 -> ResidualBlock_1: (B, H, W, C) -> (B, ceil(H/2), ceil(W/2), features)."""

    features: int
    kernels: Kernels
    dtype: Any = jnp.float32
    input_grad: bool = True

    @nn.compact
    def __call__(self, x):
        x = Conv(self.features, self.kernels.conv2d, self.dtype, self.input_grad, name="Conv_0")(x)
        x = self.kernels.max_pool_3x3_s2(x)
        x = ResidualBlock(self.kernels, self.dtype, name="ResidualBlock_0")(x)
        return ResidualBlock(self.kernels, self.dtype, name="ResidualBlock_1")(x)


class ImpalaCNN(nn.Module):
    """uint8 (B, 84, 84, 3) frames -> float32 (B, num_actions) logits.

    `dtype` is the compute dtype of the convolutions and dense layers (float32 by default,
    bfloat16 for experiments); parameters are always float32 and the logits come back float32.
    `kernels` computes the convolutions and max-pools (`pokeil_jax.kernels.resolve_kernels`:
    XLA's own by default, or oneDNN's); same function either way.
    """

    sizes: NetworkSizes = NetworkSizes()
    kernels: Kernels = XLA
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, observations):
        if observations.dtype != jnp.uint8 or observations.shape[-3:] != NETWORK_INPUT_SHAPE:
            raise ValueError(
                f"ImpalaCNN expects uint8 (B, 84, 84, 3) frames from "
                f"pokeil_jax.preprocessing.preprocess_frames, got {observations.dtype} "
                f"{observations.shape}"
            )
        x = observations.astype(self.dtype) / jnp.array(255.0, self.dtype)
        for index, features in enumerate(self.sizes.channels):
            # The frames are data: the first layer needs no input gradient.
            x = ConvSequence(features, self.kernels, self.dtype, input_grad=index > 0,
                             name=f"ConvSequence_{index}")(x)
        x = nn.relu(x.reshape(x.shape[0], -1))
        x = self._dense(self.sizes.hidden_dim, x.shape[-1], "Dense_0")(x)
        x = nn.relu(x)
        x = self._dense(self.sizes.num_actions, self.sizes.hidden_dim, "Dense_1")(x)
        return x.astype(jnp.float32)

    def _dense(self, features: int, fan_in: int, name: str) -> nn.Dense:
        return nn.Dense(
            features,
            dtype=self.dtype,
            param_dtype=jnp.float32,
            kernel_init=_torch_default_kernel_init,
            bias_init=_torch_default_bias_init(fan_in),
            name=name,
        )


def init_params(rng: jax.Array, sizes: NetworkSizes = NetworkSizes()) -> dict:
    """The `params` tree of a fresh `ImpalaCNN(sizes)` (float32).

    Same distribution as `ImpalaCNN(...).init` (every kernel and bias uniform in
    +-1/sqrt(fan_in) of its layer), other values: all parameters are cut from ONE uniform draw,
    because 30 separate threefry draws take ~9 s to compile on a 2-core CPU and this takes <1 s.
    Deterministic in `rng`.
    """
    model = ImpalaCNN(sizes)
    dummy = jnp.zeros((1, *NETWORK_INPUT_SHAPE), jnp.uint8)
    shapes = flax.traverse_util.flatten_dict(jax.eval_shape(model.init, rng, dummy)["params"])
    total = sum(int(np.prod(leaf.shape)) for leaf in shapes.values())
    stream = jax.random.uniform(rng, (total,), jnp.float32, -1.0, 1.0)
    params, offset = {}, 0
    for path, leaf in sorted(shapes.items()):
        fan_in = int(np.prod(shapes[(*path[:-1], "kernel")].shape[:-1]))
        size = int(np.prod(leaf.shape))
        params[path] = stream[offset : offset + size].reshape(leaf.shape) / np.sqrt(fan_in)
        offset += size
    return flax.traverse_util.unflatten_dict(params)


def network_for(params, kernels: Kernels = XLA, dtype: Any = jnp.float32) -> ImpalaCNN:
    """The ImpalaCNN (layers by `kernels`, computing in `dtype`) whose parameter tree is
    `params` (`NetworkSizes.of(params)`)."""
    return ImpalaCNN(NetworkSizes.of(params), kernels=kernels, dtype=dtype)


def param_count(params) -> int:
    """Number of scalars in a parameter tree."""
    return int(sum(np.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(params)))
