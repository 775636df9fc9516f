"""ImpalaCNN weights between the PyTorch baseline (`baselines/bc_pokemon_torch.py`) and Flax.

    python -m pokeil_jax.convert checkpoints/bc_pokemon_torch/final_model.pth OUT_DIR   # torch -> JAX
    python -m pokeil_jax.convert checkpoints/<run>/best model.pth                           # JAX -> torch

The parameter names map 1:1 (see `pokeil_jax.networks`): `conv_seqs.{i}.conv` <->
`ConvSequence_{i}/Conv_0`, `conv_seqs.{i}.res_block{j}.conv{k}` <->
`ConvSequence_{i}/ResidualBlock_{j}/Conv_{k}`, `hidden_fc` <-> `Dense_0`, `logits_fc` <-> `Dense_1`.
Layouts: conv weight (O, I, 3, 3) <-> kernel (3, 3, I, O); linear weight (out, in) <-> kernel
(in, out). The first dense layer also changes row order: PyTorch flattens the last feature map
as (C, H, W), Flax as (H, W, C).

The JAX side is a checkpoint of `pokeil_jax.checkpoint` (what `bc_pokemon_jax.py --eval-only
--checkpoint` restores): a fresh TrainState holding the converted params. Only the network
weights travel; optimizer state does not.

torch is imported only inside the functions that need it: importing this module does not.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from pokeil_jax.atomic import atomic_write

_RESIDUAL_BLOCKS = 2
_CONVS_PER_BLOCK = 2
_INPUT_SIZE = 84


class ConversionError(ValueError):
    """Weights that are not an ImpalaCNN of the expected layout; the message names the key or file."""


def _conv_pairs(num_sequences: int):
    """(torch prefix, flax path) of every conv, in network order."""
    for seq in range(num_sequences):
        yield f"conv_seqs.{seq}.conv", (f"ConvSequence_{seq}", "Conv_0")
        for block in range(_RESIDUAL_BLOCKS):
            for conv in range(_CONVS_PER_BLOCK):
                yield (f"conv_seqs.{seq}.res_block{block}.conv{conv}",
                       (f"ConvSequence_{seq}", f"ResidualBlock_{block}", f"Conv_{conv}"))


def _expected_torch_keys(num_sequences: int) -> list[str]:
    keys = [f"{prefix}.{name}" for prefix, _ in _conv_pairs(num_sequences) for name in ("weight", "bias")]
    return keys + ["hidden_fc.weight", "hidden_fc.bias", "logits_fc.weight", "logits_fc.bias"]


def _final_size(num_sequences: int) -> int:
    size = _INPUT_SIZE
    for _ in range(num_sequences):
        size = -(-size // 2)
    return size


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch.Tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, np.float32)


def _num_sequences(keys) -> int:
    count = 0
    while f"conv_seqs.{count}.conv.weight" in keys:
        count += 1
    return count


def _check_keys(found, expected, what: str, fix: str) -> None:
    found, expected = set(found), list(expected)
    missing = [k for k in expected if k not in found]
    unexpected = sorted(found - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing[:5]))}"
                         + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""))
        if unexpected:
            parts.append(f"unexpected key{'s' if len(unexpected) > 1 else ''} "
                         f"{', '.join(map(repr, unexpected[:5]))}"
                         + (f" (+{len(unexpected) - 5} more)" if len(unexpected) > 5 else ""))
        raise ConversionError(f"{what} is not an ImpalaCNN: {'; '.join(parts)}. {fix}")


def _check_shape(name: str, array: np.ndarray, shape: tuple) -> None:
    if array.shape != tuple(shape):
        raise ConversionError(f"{name} has shape {array.shape}, expected {tuple(shape)} for an ImpalaCNN.")


def torch_state_dict_to_flax(state_dict: Mapping[str, Any]) -> dict:
    """A PyTorch ImpalaCNN state dict (tensors or arrays) -> the Flax `params` tree (numpy float32).

    Sizes (channels, hidden_dim, num_actions) are read from the shapes. Raises ConversionError
    naming the first missing / unexpected key or the wrong shape.
    """
    fix = "Fix: pass the model_state_dict of baselines/bc_pokemon_torch.py's ImpalaCNN."
    if not isinstance(state_dict, Mapping):
        raise ConversionError(f"expected a state dict (a mapping of names to tensors), got {type(state_dict).__name__}. {fix}")
    if "model_state_dict" in state_dict:
        raise ConversionError("got a whole checkpoint dict; pass checkpoint['model_state_dict'] "
                              "(or use load_torch_state_dict(path), which unwraps it).")
    num_sequences = _num_sequences(state_dict)
    # With no conv_seqs.0 at all, report against the default three sequences.
    _check_keys(state_dict, _expected_torch_keys(num_sequences or 3), "the state dict", fix)
    arrays = {k: _to_numpy(v) for k, v in state_dict.items()}

    params: dict = {}
    in_channels = 3
    for prefix, path in _conv_pairs(num_sequences):
        weight, bias = arrays[f"{prefix}.weight"], arrays[f"{prefix}.bias"]
        out_channels = weight.shape[0]
        if prefix.endswith(".conv"):
            _check_shape(f"{prefix}.weight", weight, (out_channels, in_channels, 3, 3))
        else:
            _check_shape(f"{prefix}.weight", weight, (in_channels, in_channels, 3, 3))
        _check_shape(f"{prefix}.bias", bias, (out_channels,))
        in_channels = out_channels
        node = params
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = {"kernel": np.ascontiguousarray(weight.transpose(2, 3, 1, 0)), "bias": bias}

    size = _final_size(num_sequences)
    hidden_w, hidden_b = arrays["hidden_fc.weight"], arrays["hidden_fc.bias"]
    hidden_dim = hidden_w.shape[0]
    _check_shape("hidden_fc.weight", hidden_w, (hidden_dim, in_channels * size * size))
    _check_shape("hidden_fc.bias", hidden_b, (hidden_dim,))
    logits_w, logits_b = arrays["logits_fc.weight"], arrays["logits_fc.bias"]
    _check_shape("logits_fc.weight", logits_w, (logits_w.shape[0], hidden_dim))
    _check_shape("logits_fc.bias", logits_b, (logits_w.shape[0],))
    # torch row index c*S*S + h*S + w  ->  flax row index (h*S + w)*C + c
    kernel = hidden_w.reshape(hidden_dim, in_channels, size, size).transpose(2, 3, 1, 0)
    params["Dense_0"] = {"kernel": np.ascontiguousarray(kernel.reshape(-1, hidden_dim)), "bias": hidden_b}
    params["Dense_1"] = {"kernel": np.ascontiguousarray(logits_w.T), "bias": logits_b}
    return params


def _flatten(tree: Mapping, prefix: tuple = ()) -> dict[tuple, Any]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, prefix + (str(key),)))
        else:
            flat[prefix + (str(key),)] = value
    return flat


def flax_params_to_torch_state_dict(params: Mapping) -> "OrderedDict[str, Any]":
    """The Flax `params` tree of an ImpalaCNN -> a PyTorch state dict (float32 CPU tensors) that
    `baselines.bc_pokemon_torch.ImpalaCNN.load_state_dict` accepts. Raises ConversionError naming
    the first missing / unexpected parameter or the wrong shape."""
    import torch

    if isinstance(params, Mapping) and set(params) == {"params"}:
        params = params["params"]
    flat = {"/".join(k): np.asarray(v, np.float32) for k, v in _flatten(params).items()}
    num_sequences = 0
    while f"ConvSequence_{num_sequences}/Conv_0/kernel" in flat:
        num_sequences += 1
    expected = [f"{'/'.join(path)}/{name}" for _, path in _conv_pairs(num_sequences or 3)
                for name in ("kernel", "bias")]
    expected += ["Dense_0/kernel", "Dense_0/bias", "Dense_1/kernel", "Dense_1/bias"]
    _check_keys(flat, expected, "the params tree",
                "Fix: pass the `params` of pokeil_jax.networks.ImpalaCNN (model.init(...)['params']).")

    state: OrderedDict[str, Any] = OrderedDict()
    in_channels = 3
    for prefix, path in _conv_pairs(num_sequences):
        name = "/".join(path)
        kernel, bias = flat[f"{name}/kernel"], flat[f"{name}/bias"]
        out_channels = kernel.shape[-1]
        _check_shape(f"{name}/kernel", kernel, (3, 3, in_channels, out_channels))
        _check_shape(f"{name}/bias", bias, (out_channels,))
        in_channels = out_channels
        state[f"{prefix}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        state[f"{prefix}.bias"] = torch.from_numpy(bias.copy())

    size = _final_size(num_sequences)
    kernel, bias = flat["Dense_0/kernel"], flat["Dense_0/bias"]
    hidden_dim = kernel.shape[-1]
    _check_shape("Dense_0/kernel", kernel, (size * size * in_channels, hidden_dim))
    _check_shape("Dense_0/bias", bias, (hidden_dim,))
    weight = kernel.reshape(size, size, in_channels, hidden_dim).transpose(3, 2, 0, 1)
    state["hidden_fc.weight"] = torch.from_numpy(np.ascontiguousarray(weight.reshape(hidden_dim, -1)))
    state["hidden_fc.bias"] = torch.from_numpy(bias.copy())
    kernel, bias = flat["Dense_1/kernel"], flat["Dense_1/bias"]
    _check_shape("Dense_1/kernel", kernel, (hidden_dim, kernel.shape[-1]))
    _check_shape("Dense_1/bias", bias, (kernel.shape[-1],))
    state["logits_fc.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.T))
    state["logits_fc.bias"] = torch.from_numpy(bias.copy())
    return state


# ------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------


def load_torch_state_dict(path: str | os.PathLike, with_step: bool = False):
    """The model state dict in a `.pth` of the baseline: a checkpoint dict (checkpoint_{step}.pth,
    best_model.pth: its 'model_state_dict') or a bare state dict (final_model.pth). With
    `with_step`, returns (state_dict, step) where step is the checkpoint's 'step' (0 if none).

    Loaded with `weights_only=True`: a .pth holding arbitrary pickled objects is refused, not run.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"{path}: no such file. Fix: pass a .pth written by baselines/bc_pokemon_torch.py.")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for non-checkpoint files
        raise ConversionError(f"{path}: not a loadable PyTorch checkpoint ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''}).") from None
    step = 0
    if isinstance(obj, Mapping) and "model_state_dict" in obj:
        step = int(obj.get("step", 0))
        obj = obj["model_state_dict"]
    if not isinstance(obj, Mapping):
        raise ConversionError(f"{path}: holds a {type(obj).__name__}, not a state dict.")
    return (dict(obj), step) if with_step else dict(obj)


def save_as_jax_checkpoint(params: Mapping, out_dir: str | os.PathLike, step: int = 0, source: str = "") -> Path:
    """Write `params` as a checkpoint of the JAX pipeline (pokeil_jax.checkpoint layout:
    OUT_DIR/final/<step>/), so `bc_pokemon_jax.py --eval-only --checkpoint OUT_DIR` evaluates it.

    The TrainState around the params is fresh (AdamW state at zero, `step` = `step`): only the
    network weights come from the source. Returns the step directory.
    """
    import jax

    import dataclasses

    from pokeil_jax import checkpoint, train
    from pokeil_jax.networks import NetworkSizes

    sizes = NetworkSizes.of(params)
    if sizes.channels != NetworkSizes().channels:
        raise ConversionError(f"channels {list(sizes.channels)}: the JAX pipeline's ImpalaCNN has channels "
                              f"{NetworkSizes().channels}; this network cannot be evaluated by it.")
    # The optimiser values only shape the (fresh) optimiser state: the JAX script's defaults.
    config = train.TrainConfig(network=sizes)
    state = train.create_train_state(jax.random.key(0), config)
    state = state.replace(params=jax.tree_util.tree_map(jax.numpy.asarray, _as_numpy_tree(params)),
                          step=jax.numpy.asarray(step, jax.numpy.int32))
    args = {**dataclasses.asdict(config), "converted_from": source}
    with checkpoint.Checkpointer(out_dir) as saver:
        return saver.save_final(step, state, args, {})


def _as_numpy_tree(tree: Mapping) -> dict:
    return {k: _as_numpy_tree(v) if isinstance(v, Mapping) else np.asarray(v, np.float32) for k, v in tree.items()}


def load_jax_checkpoint_params(path: str | os.PathLike) -> dict:
    """The network `params` (numpy) of a JAX pipeline checkpoint: a run, kind or step folder
    (see `pokeil_jax.checkpoint.resolve`), read by `checkpoint.restore` (the reader
    `--eval-only` and `--resume` use), so its saved checksum is checked too."""
    import jax

    from pokeil_jax import checkpoint, train
    from pokeil_jax.networks import NetworkSizes

    try:
        shapes = checkpoint.stored_shapes(path)
        if "params.Dense_1.kernel" not in shapes:
            raise ConversionError(f"{path}: the saved state holds no ImpalaCNN params (no 'params.Dense_1.kernel'); "
                                  f"pass a checkpoint written by bc_pokemon_jax.py or this converter.")
        hidden_dim, num_actions = shapes["params.Dense_1.kernel"]
        channels = []
        while f"params.ConvSequence_{len(channels)}.Conv_0.kernel" in shapes:
            channels.append(shapes[f"params.ConvSequence_{len(channels)}.Conv_0.kernel"][-1])
        sizes = NetworkSizes(num_actions=num_actions, hidden_dim=hidden_dim, channels=tuple(channels))
        config = train.TrainConfig(network=sizes)
        if "bc_coefficient" in shapes:  # a DQN-BC state (with its target network): its own pytree
            from pokeil_jax import dqn_bc

            target = dqn_bc.create_train_state(jax.random.key(0), config)
        else:
            target = train.create_train_state(jax.random.key(0), config)
        state, _ = checkpoint.restore(path, target)
    except checkpoint.CheckpointError as e:
        raise ConversionError(str(e)) from None
    return _as_numpy_tree(jax.device_get(state.params))


def main(argv=None) -> int:
    """Exit 0 on success, 1 for a source that cannot be converted, 2 for bad usage."""
    parser = argparse.ArgumentParser(
        prog="python -m pokeil_jax.convert",
        description="Convert ImpalaCNN weights between the PyTorch baseline and the JAX pipeline: "
                    "MODEL.pth OUT_DIR writes a JAX checkpoint (OUT_DIR/final/<step>/); "
                    "CHECKPOINT OUT.pth writes a PyTorch state dict.")
    parser.add_argument("source", help="a baseline .pth, or a JAX checkpoint (run, kind or step folder)")
    parser.add_argument("destination", help="OUT_DIR for a JAX checkpoint, or OUT.pth")
    args = parser.parse_args(argv)
    source, destination = Path(args.source).expanduser(), Path(args.destination).expanduser()
    to_jax = args.source.endswith(".pth")
    if not to_jax and not args.destination.endswith(".pth"):
        parser.error("one side must be a .pth file: `MODEL.pth OUT_DIR` or `CHECKPOINT OUT.pth`")
    if not source.exists():
        parser.error(f"{args.source}: no such {'file' if to_jax else 'checkpoint folder'}")
    if to_jax and destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        parser.error(f"{args.destination} exists and is not an empty folder; pass a new OUT_DIR")
    if not to_jax and destination.is_dir():
        parser.error(f"{args.destination} is a folder; pass the .pth file to write, e.g. {destination / 'model.pth'}")
    try:
        import torch
    except ImportError:
        print("error: the converter needs PyTorch: pip install -r requirements-baseline.txt", file=sys.stderr)
        return 1
    try:
        if to_jax:
            from pokeil_jax.networks import NetworkSizes

            state_dict, step = load_torch_state_dict(source, with_step=True)
            params = torch_state_dict_to_flax(state_dict)
            out = save_as_jax_checkpoint(params, destination, step, source=str(source.resolve()))
            print(f"wrote {out} ({NetworkSizes.of(params)}); evaluate it with "
                  f"`python bc_pokemon_jax.py --eval-only --checkpoint {args.destination}`")
        else:
            state = flax_params_to_torch_state_dict(load_jax_checkpoint_params(source))
            with atomic_write(destination) as f:
                torch.save(state, f)
            print(f"wrote {destination}: load it with ImpalaCNN().load_state_dict(torch.load(...))")
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
