"""Which formulation of the ImpalaCNN's two layer ops trains fastest on XLA:CPU, measured.

    python benchmarks/conv_experiments.py                 # gradient checks, per-layer and whole-step tables
    python benchmarks/conv_experiments.py --only step     # just the whole-step table
    python benchmarks/conv_experiments.py --smoke         # tiny sizes, every code path once (CI)

The candidates are drop-in replacements for `pokeil_jax.kernels.xla` (same signatures, NHWC, HWIO,
SAME). The winners, now the library's own (`pokeil_jax.kernels.xla`, `pokeil_jax.train`):

    conv2d(x, kernel, bias)   the plain lax conv + bias with autodiff gradients: once the
                              convolutions leave YNNPACK (below), no custom_vjp formulation of the
                              kernel gradient tried here beat XLA's own in the whole step
    max_pool_3x3_s2(x)        3x3 stride-2 max-pool whose gradient is a scatter-free custom_vjp
                              (winning tap saved as uint8, gradient assembled per parity phase)

plus one compiler option for the jitted train step on CPU, `runtime.CPU_COMPILER_OPTIONS`, that keeps
convolutions out of YNNPACK (XLA:CPU's default library for them in jaxlib 0.10.2): YNNPACK runs
a kernel gradient (window = the whole image, 3x3 output) 3-8x slower than XLA's Eigen path, and
the forward of the 32-channel layers ~1.5x slower. benchmarks/README.md records every candidate
and its effect. Every candidate's values and gradients are checked against jax.grad of the
plain formulation before it is timed.

Timings on a shared machine are noisy: each table interleaves its candidates round-robin and
reports the minimum and median over rounds; compare rows of one run, not across runs.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/...` from anywhere
from pokeil_jax import runtime, train  # noqa: E402
from pokeil_jax.kernels import XLA, Kernels, resolve_kernels, xla  # noqa: E402
from pokeil_jax.actions import NUM_ACTIONS  # noqa: E402

_DN = ("NHWC", "HWIO", "NHWC")

#: XLA:CPU options for the jitted train step (now the library's, pokeil_jax/train.py): YNNPACK
#: keeps dots and reductions, XLA's own (Eigen) path takes the convolutions.
CPU_COMPILER_OPTIONS = runtime.CPU_COMPILER_OPTIONS


# ================================================================================================
# Candidates: convolution
# ================================================================================================


def _conv(x, kernel):
    return lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=_DN)


def conv2d_plain(x: jax.Array, kernel: jax.Array, bias: jax.Array) -> jax.Array:
    """The reference: lax conv + bias, gradients by autodiff (pokeil_jax.kernels.xla.conv2d as first written)."""
    return _conv(x, kernel) + bias


def _input_grad(dy, kernel):
    """d(conv)/dx: a forward conv of the cotangent with the spatially flipped, in/out-swapped kernel."""
    return _conv(dy, jnp.flip(kernel, (0, 1)).transpose(0, 1, 3, 2))


def _kernel_grad_xla(x, dy):
    """d(conv)/dkernel as autodiff writes it (one conv, batch contracted, 3x3 output)."""
    zeros = jnp.zeros((3, 3, x.shape[-1], dy.shape[-1]), x.dtype)
    return jax.vjp(lambda k: _conv(x, k), zeros)[1](dy)[0]


def _kernel_grad_rows(x, dy):
    """d(conv)/dkernel as ONE matrix product, no 9x im2col: (3I, rows)ᵀ·(rows, 3O) -> (3,3,I,O).

    Rows are (b, h', w) over the image padded by one row above and below. The left factor holds
    the three width shifts of x side by side (kw, i); the right factor the three height shifts
    of dy (kh, o), so entry ((kw,i), (kh,o)) sums x[b, h+kh, w+kw, i] * dy[b, h, w, o]: both
    factors are 3x (not 9x) the activations and their rows are contiguous copies.
    """
    batch, height, width, cin = x.shape
    cout = dy.shape[-1]
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    left = jnp.concatenate([xp[:, :, kw:kw + width] for kw in range(3)], axis=-1)  # (B, H+2, W, 3I)
    dyp = jnp.pad(dy, ((0, 0), (2, 2), (0, 0), (0, 0)))
    right = jnp.concatenate([dyp[:, 2 - kh:2 - kh + height + 2] for kh in range(3)], axis=-1)  # (B, H+2, W, 3O)
    grad = lax.dot_general(left.reshape(-1, 3 * cin), right.reshape(-1, 3 * cout), (((0,), (0,)), ((), ())))
    return grad.reshape(3, cin, 3, cout).transpose(2, 0, 1, 3)


def _in_batch_chunks(kernel_grad, chunk: int):
    """kernel_grad summed over batch chunks in a lax.scan: each chunk's temporaries stay in cache."""

    def grad(x, dy):
        batch = x.shape[0]
        if batch % chunk or batch <= chunk:
            return kernel_grad(x, dy)
        xs = x.reshape(batch // chunk, chunk, *x.shape[1:])
        dys = dy.reshape(batch // chunk, chunk, *dy.shape[1:])
        init = jnp.zeros((3, 3, x.shape[-1], dy.shape[-1]), jnp.float32)
        total, _ = lax.scan(lambda acc, xy: (acc + kernel_grad(*xy).astype(jnp.float32), None), init, (xs, dys))
        return total.astype(x.dtype)

    return grad


def make_conv2d(kernel_grad: Callable, first_layer_kernel_grad: Callable | None = None):
    """A conv2d(x, kernel, bias) with a custom_vjp whose kernel gradient is `kernel_grad`
    (`first_layer_kernel_grad` for 3-channel inputs, i.e. the network's first layer)."""

    @jax.custom_vjp
    def conv2d(x, kernel, bias):
        return _conv(x, kernel) + bias

    def forward(x, kernel, bias):
        return _conv(x, kernel) + bias, (x, kernel)

    def backward(residuals, dy):
        x, kernel = residuals
        pick = first_layer_kernel_grad if (first_layer_kernel_grad and x.shape[-1] == 3) else kernel_grad
        # The first layer's input gradient is computed here too; nothing uses it (its input is
        # the scaled uint8 frame), so jit drops it: the compiled step holds 44 convs, not 45.
        return _input_grad(dy, kernel), pick(x, dy), dy.sum(axis=(0, 1, 2))

    conv2d.defvjp(forward, backward)
    return conv2d


def _conv_by_tiles(x, kernel, tile: int = 4):
    """The 3x3 SAME conv as ONE matrix product over tiles of `tile` output pixels of a row: each
    row of the left factor holds the 3 x (tile + 2) x C inputs a tile needs, the right factor
    maps them to tile x O outputs (zeros where a tap misses). For C = 3 (the first layer) this
    product is 2x faster than XLA:CPU's convolution with 3 input channels, the result needs no
    transpose ((B, H, W/tile, tile*O) is (B, H, W, O)), and autodiff gives the kernel gradient
    as rowsᵀ·dy, another single product. Wasted multiplies: (tile + 2) / tile x 3/3."""
    batch, height, width, cin = x.shape
    cout = kernel.shape[-1]
    tiles = -(-width // tile)
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, tiles * tile + 1 - width), (0, 0)))
    cols = jnp.concatenate([lax.slice(xp, (0, 0, d, 0), (batch, height + 2, d + tile * (tiles - 1) + 1, cin),
                                      (1, 1, tile, 1)) for d in range(tile + 2)], axis=-1)  # (B, H+2, tiles, (tile+2)C)
    rows = jnp.concatenate([cols[:, kh:kh + height] for kh in range(3)], axis=-1)  # (B, H, tiles, 3(tile+2)C)
    taps = np.zeros((tile + 2, tile, 3), np.float32)  # taps[d, q, kw] = 1: input d of the tile feeds output q via kw
    for q in range(tile):
        for kw in range(3):
            taps[q + kw, q, kw] = 1.0
    matrix = jnp.einsum("dqw,hwio->hdiqo", taps.astype(kernel.dtype), kernel).reshape(3 * (tile + 2) * cin, tile * cout)
    out = (rows.reshape(-1, rows.shape[-1]) @ matrix).reshape(batch, height, tiles * tile, cout)
    return out[:, :, :width]


def conv2d_tiles_first(x, kernel, bias):
    """Plain conv, except 3-channel inputs (the first layer) go through `_conv_by_tiles`."""
    if x.shape[-1] <= 4:
        return _conv_by_tiles(x, kernel) + bias
    return _conv(x, kernel) + bias


def _space_to_depth_kernel(kernel, factor: int):
    """(3, 3, C, O) -> (3, 3, factor*C, factor*O): the same conv on frames whose width is folded
    into channels by `factor` (input column j holds columns factor*j .. factor*j+factor-1)."""
    _, _, cin, cout = kernel.shape
    folded = jnp.zeros((3, 3, factor, cin, factor, cout), kernel.dtype)
    for q in range(factor):  # output column factor*j + q reads input columns factor*j + q - 1 .. + 1
        for kw in range(3):
            column = q + kw - 1
            folded = folded.at[:, column // factor + 1, column % factor, :, q, :].add(kernel[:, kw])
    return folded.reshape(3, 3, factor * cin, factor * cout)


def conv2d_space_to_depth_first(x, kernel, bias, factor: int = 2):
    """Plain conv, except 3-channel inputs (the first layer) fold pairs of columns into channels
    first: 6 -> 32 channels suit XLA's convolution better than 3 -> 16, for 2x the multiplies."""
    if x.shape[-1] > 4 or x.shape[2] % factor:
        return _conv(x, kernel) + bias
    batch, height, width, cin = x.shape
    folded = _conv(x.reshape(batch, height, width // factor, factor * cin), _space_to_depth_kernel(kernel, factor))
    return folded.reshape(batch, height, width, -1) + bias


CONV_CANDIDATES: dict[str, Callable] = {
    "plain (autodiff)": conv2d_plain,
    "vjp: dW xla": make_conv2d(_kernel_grad_xla),
    "vjp: dW rows-GEMM": make_conv2d(_kernel_grad_rows),
    "vjp: dW rows-GEMM, scan 8": make_conv2d(_in_batch_chunks(_kernel_grad_rows, 8)),
    "vjp: dW xla, first layer rows-GEMM scan 8": make_conv2d(_kernel_grad_xla, _in_batch_chunks(_kernel_grad_rows, 8)),
    "first layer as one tiled GEMM": conv2d_tiles_first,
    "first layer on width folded into channels": conv2d_space_to_depth_first,
}

#: The winner (see README.md): the plain conv; the custom_vjp candidates were no faster in the step.
conv2d = conv2d_plain


# ================================================================================================
# Candidates: max-pool 3x3 stride 2 SAME
# ================================================================================================


def max_pool_reduce_window(x):
    """flax.linen.max_pool: reduce_window max, whose gradient is XLA's select-and-scatter."""
    import flax.linen as nn

    return nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")


def max_pool_slices(x):
    """pokeil_jax.kernels.xla.max_pool_3x3_s2 as first written: running max over 9 strided slices, autodiff."""
    return xla._pool_with_taps(x)[0]  # the taps are unused here, so jit drops them


#: The winner, now the library's: first-maximum taps recorded in the forward pass, gradient
#: assembled per parity phase by a custom_vjp (pokeil_jax/kernels/xla.py).
max_pool_3x3_s2 = xla.max_pool_3x3_s2

POOL_CANDIDATES: dict[str, Callable] = {
    "reduce_window (flax)": max_pool_reduce_window,
    "9 slices, autodiff (ops as written)": max_pool_slices,
    "9 slices + phase custom_vjp": max_pool_3x3_s2,
}


# ================================================================================================
# Plumbing: put candidates into the network, time things fairly
# ================================================================================================


def candidate_kernels(conv=None, pool=None, base: Kernels = XLA) -> Kernels:
    """The network's layer functions with candidates in place of `base`'s (None keeps `base`'s)."""
    # The candidates take (x, kernel, bias); the network also passes input_grad and relu.
    def candidate(x, kernel, bias, input_grad=True, relu=False):
        y = conv(x, kernel, bias)
        return jax.nn.relu(y) if relu else y

    return Kernels("candidate", candidate if conv else base.conv2d, pool or base.max_pool_3x3_s2)


def interleaved(calls: dict[str, Callable[[], object]], rounds: int, per_round: int = 1) -> dict[str, list[float]]:
    """Seconds per call of each callable, run round-robin so load from other processes falls on
    all of them alike. Each callable must block until its work is done."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(per_round):
                call()
            times[name].append((time.perf_counter() - start) / per_round)
    return times


def summary_ms(seconds: list[float]) -> str:
    return f"{min(seconds) * 1e3:8.1f} {statistics.median(seconds) * 1e3:8.1f}"


def other_load() -> float:
    """1-minute load average minus what this process could contribute: a hint of contention."""
    return os.getloadavg()[0]


def machine_line() -> str:
    model = platform.processor() or "cpu"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores; jax {jax.__version__} ({jax.devices()[0].platform}); "
            f"load average {other_load():.1f} at start")


# ================================================================================================
# Checks: every candidate against jax.grad of the plain formulation
# ================================================================================================


def check_gradients(batch: int = 4, rtol: float = 1e-4) -> list[str]:
    """Values and gradients of every candidate vs the plain ops, per layer shape and for the
    whole network's loss; returns report lines, raises AssertionError on a mismatch."""

    lines = []
    rng = np.random.default_rng(0)
    shapes = [(84, 3, 16), (42, 16, 16), (42, 16, 32), (21, 32, 32), (11, 32, 32), (7, 5, 4)]
    for height, cin, cout in shapes:
        x = jnp.asarray(rng.standard_normal((batch, height, height, cin)), jnp.float32)
        k = jnp.asarray(rng.standard_normal((3, 3, cin, cout)) * 0.2, jnp.float32)
        b = jnp.asarray(rng.standard_normal(cout), jnp.float32)
        w = jnp.asarray(rng.standard_normal((batch, height, height, cout)), jnp.float32)

        def loss(conv, x, k, b):
            return jnp.sum(conv(x, k, b) * w)

        ref = jax.jit(jax.grad(functools.partial(loss, conv2d_plain), argnums=(0, 1, 2)))(x, k, b)
        for name, conv in CONV_CANDIDATES.items():
            got = jax.jit(jax.grad(functools.partial(loss, conv), argnums=(0, 1, 2)))(x, k, b)
            for label, g, r in zip(("dx", "dkernel", "dbias"), got, ref):
                np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=rtol, atol=rtol * float(jnp.abs(r).max()),
                                           err_msg=f"{name} {label} at {height}x{height} {cin}->{cout}")
    lines.append(f"conv: {len(CONV_CANDIDATES)} candidates x {len(shapes)} shapes: values, dx, dkernel, dbias "
                 f"allclose to jax.grad of the plain conv (rtol {rtol})")

    for shape in [(batch, 84, 84, 16), (batch, 42, 42, 32), (batch, 21, 21, 32), (1, 7, 6, 2), (1, 1, 1, 1), (2, 5, 9, 3)]:
        for ties in (False, True):
            x = jnp.asarray(rng.standard_normal(shape), jnp.float32)
            x = jnp.round(x) if ties else x
            w = jnp.asarray(rng.standard_normal(max_pool_reduce_window(x).shape), jnp.float32)
            ref_y, ref_g = max_pool_reduce_window(x), jax.grad(lambda x: jnp.sum(max_pool_reduce_window(x) * w))(x)
            for name, pool in POOL_CANDIDATES.items():
                y, g = jax.jit(pool)(x), jax.jit(jax.grad(lambda x: jnp.sum(pool(x) * w)))(x)
                np.testing.assert_array_equal(np.asarray(y), np.asarray(ref_y), err_msg=f"{name} values {shape}")
                # A pixel under two windows sums two terms; the order may differ: 1 ulp.
                np.testing.assert_allclose(np.asarray(g), np.asarray(ref_g), rtol=1e-6, atol=1e-6,
                                           err_msg=f"{name} gradient {shape} ties={ties}")
    lines.append(f"pool: {len(POOL_CANDIDATES)} candidates: values equal to reduce_window, gradients equal to "
                 f"select-and-scatter's (ties to the first maximum) within 1e-6")

    # The whole network: loss gradients of the winners vs the plain ops.
    from pokeil_jax.networks import network_for

    state = train.create_train_state(jax.random.key(0), train.TrainConfig())
    obs = jnp.asarray(rng.integers(0, 256, (batch, 84, 84, 3), dtype=np.uint8))
    actions = jnp.asarray(rng.integers(0, NUM_ACTIONS, batch).astype(np.int32))

    def grads(conv, pool):
        model = network_for(state.params, kernels=candidate_kernels(conv, pool))
        return jax.jit(jax.grad(lambda p: train.bc_loss(model.apply({"params": p}, obs), actions)))(state.params)

    ref = grads(conv2d_plain, max_pool_slices)
    got = grads(conv2d, max_pool_3x3_s2)
    worst = max(float(jnp.abs(g - r).max() / (jnp.abs(r).max() + 1e-30))
                for g, r in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(ref)))
    assert worst < 1e-4, f"network gradient of the winners differs from the plain ops by {worst:.2e}"
    lines.append(f"network: loss gradient with the winning ops vs plain ops: max relative error {worst:.1e}")
    return lines


# ================================================================================================
# Per-layer timings
# ================================================================================================

LAYERS = [(84, 3, 16), (42, 16, 16), (42, 16, 32), (21, 32, 32), (11, 32, 32)]
"""(size, in, out) of the network's conv shapes: Conv_0 of each sequence and the residual convs."""


def layer_table(batch: int, rounds: int, compiler_options: dict | None, layers=LAYERS) -> str:
    """fwd + full backward time of every conv candidate per layer shape, and of the pools."""
    rng = np.random.default_rng(0)
    lines = [f"conv fwd+bwd per layer, batch {batch} (ms: min median); XLA options: "
             f"{'convs out of YNNPACK' if compiler_options else 'default (convs in YNNPACK)'}"]
    for height, cin, cout in layers:
        x = jnp.asarray(rng.standard_normal((batch, height, height, cin)), jnp.float32)
        k = jnp.asarray(rng.standard_normal((3, 3, cin, cout)) * 0.2, jnp.float32)
        b = jnp.zeros(cout, jnp.float32)
        w = jnp.asarray(rng.standard_normal((batch, height, height, cout)), jnp.float32)
        argnums = (1, 2) if cin == 3 else (0, 1, 2)  # the first layer's input needs no gradient
        calls = {}
        for name, conv in CONV_CANDIDATES.items():
            # relu makes the loss need the forward values, as in the network (a linear loss would
            # let XLA drop the forward conv)
            f = jax.jit(jax.grad(lambda x, k, b, conv=conv: jnp.sum(jnp.maximum(conv(x, k, b), 0) * w), argnums=argnums),
                        compiler_options=compiler_options)
            f(x, k, b)  # compile
            calls[name] = lambda f=f: jax.block_until_ready(f(x, k, b))
        times = interleaved(calls, rounds)
        lines += [f"  {height:>2}x{height:<2} {cin:>2}->{cout:<2} {name:44s} {summary_ms(t)}" for name, t in times.items()]
    for height, channels in [(84, 16), (42, 32), (21, 32)] if len(layers) == len(LAYERS) else [(21, 32)]:
        x = jnp.asarray(rng.standard_normal((batch, height, height, channels)), jnp.float32)
        calls = {}
        for name, pool in POOL_CANDIDATES.items():
            f = jax.jit(jax.grad(lambda x, pool=pool: jnp.sum(pool(x) ** 2)), compiler_options=compiler_options)
            f(x)
            calls[name] = lambda f=f: jax.block_until_ready(f(x))
        times = interleaved(calls, rounds)
        lines += [f"  pool {height}x{height}x{channels:<2} {name:40s} {summary_ms(t)}" for name, t in times.items()]
    return "\n".join(lines)


# ================================================================================================
# Whole train step
# ================================================================================================


def jax_step_variants(smoke: bool = False) -> dict[str, dict]:
    """name -> {conv, pool, compiler_options, dtype}: the rows of the whole-step table, in the
    order the changes were made."""
    rows = {
        "A ops as written (slices pool), default XLA": dict(conv=conv2d_plain, pool=max_pool_slices),
        "B A + pool custom_vjp": dict(conv=conv2d_plain, pool=max_pool_3x3_s2),
        "C A + convs out of YNNPACK (compiler option)": dict(conv=conv2d_plain, pool=max_pool_slices,
                                                             compiler_options=CPU_COMPILER_OPTIONS),
        "D B + C": dict(conv=conv2d_plain, pool=max_pool_3x3_s2, compiler_options=CPU_COMPILER_OPTIONS),
        "E D + first-layer dW rows-GEMM, scan 8": dict(conv=CONV_CANDIDATES["vjp: dW xla, first layer rows-GEMM scan 8"],
                                                        pool=max_pool_3x3_s2, compiler_options=CPU_COMPILER_OPTIONS),
        "F D + all dW rows-GEMM scan 8": dict(conv=CONV_CANDIDATES["vjp: dW rows-GEMM, scan 8"],
                                              pool=max_pool_3x3_s2, compiler_options=CPU_COMPILER_OPTIONS),
        "G D in bfloat16 compute": dict(conv=conv2d, pool=max_pool_3x3_s2, compiler_options=CPU_COMPILER_OPTIONS,
                                        dtype=jnp.bfloat16),
        "H D + first layer as one tiled GEMM": dict(conv=conv2d_tiles_first, pool=max_pool_3x3_s2,
                                                    compiler_options=CPU_COMPILER_OPTIONS),
        "I D + first layer on width folded into channels": dict(conv=conv2d_space_to_depth_first,
                                                                 pool=max_pool_3x3_s2,
                                                                 compiler_options=CPU_COMPILER_OPTIONS),
        "J D + oneDNN convolutions and max-pools (custom calls)": dict(conv=None, pool=None,
                                                        compiler_options=CPU_COMPILER_OPTIONS, kernels="onednn"),
    }
    return rows


def make_jax_step(conv=None, pool=None, compiler_options=None, dtype=jnp.float32, batch: int = 64,
                  hidden_dim: int = 256, seed: int = 0, kernels: str = "xla"):
    """(step, state, batch) for pokeil_jax.train.train_step with the given layer ops (conv None:
    the conv of `kernels`), compiled with the state donated as in `train.jit_train_step`.
    `step(state, batch) -> (state, metrics)`."""
    from pokeil_jax.networks import NetworkSizes, network_for

    config = train.TrainConfig(network=NetworkSizes(hidden_dim=hidden_dim), kernels=kernels)
    state = train.create_train_state(jax.random.key(seed), config)
    network = network_for(state.params, kernels=candidate_kernels(conv, pool, resolve_kernels(kernels)), dtype=dtype)
    state = state.replace(apply_fn=network.apply)
    rng = np.random.default_rng(seed)
    host_batch = {"observations": rng.integers(0, 256, (batch, 84, 84, 3), dtype=np.uint8),
                  "actions": rng.integers(0, NUM_ACTIONS, batch).astype(np.int32)}
    device_batch = jax.device_put(host_batch)
    step = jax.jit(train.train_step, donate_argnums=0, compiler_options=compiler_options)
    step = step.lower(state, device_batch).compile()
    return step, state, device_batch


def gradient_error(dtype, conv=None, pool=None, batch: int = 16) -> float:
    """Relative L2 error of the loss gradient computed in `dtype` vs float32 (same params, batch)."""
    from pokeil_jax.networks import network_for

    state = train.create_train_state(jax.random.key(0), train.TrainConfig())
    rng = np.random.default_rng(1)
    obs = jnp.asarray(rng.integers(0, 256, (batch, 84, 84, 3), dtype=np.uint8))
    actions = jnp.asarray(rng.integers(0, NUM_ACTIONS, batch).astype(np.int32))

    def grads(dt):
        model = network_for(state.params, kernels=candidate_kernels(conv, pool), dtype=dt)
        return jax.jit(jax.grad(lambda p: train.bc_loss(model.apply({"params": p}, obs), actions)))(state.params)

    ref, got = grads(jnp.float32), grads(dtype)
    diff = sum(float(jnp.sum((g.astype(jnp.float32) - r) ** 2)) for g, r in
               zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(ref)))
    norm = sum(float(jnp.sum(r ** 2)) for r in jax.tree_util.tree_leaves(ref))
    return (diff / norm) ** 0.5


def torch_step(batch: int, seed: int = 0):
    """The PyTorch baseline's train step (baselines/bc_pokemon_torch.py), or None without torch."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    from baselines.bc_pokemon_torch import ImpalaCNN

    torch.manual_seed(seed)
    model = ImpalaCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-5)
    rng = np.random.default_rng(seed)
    obs = torch.from_numpy(rng.integers(0, 256, (batch, 84, 84, 3), dtype=np.uint8))
    actions = torch.from_numpy(rng.integers(0, NUM_ACTIONS, batch).astype(np.int64))

    def step():
        loss = F.cross_entropy(model(obs), actions)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def step_table(batch: int, rounds: int, per_round: int, rows: dict[str, dict] | None = None) -> str:
    rows = rows or jax_step_variants()
    calls, holders = {}, {}
    for name, spec in rows.items():
        step, state, device_batch = make_jax_step(batch=batch, **spec)
        holders[name] = [state]

        def call(step=step, box=holders[name], device_batch=device_batch):
            box[0], metrics = step(box[0], device_batch)
            jax.block_until_ready(metrics["loss"])

        call()  # warm-up (first run allocates)
        calls[name] = call
    reference = torch_step(batch)
    if reference is not None:
        reference()
        calls["PyTorch eager (reference)"] = reference
    times = interleaved(calls, rounds, per_round)
    torch_sps = batch / statistics.median(times["PyTorch eager (reference)"]) if reference else None
    lines = [f"whole train step, batch {batch}: ms/step (min, median over {rounds} rounds of {per_round}), "
             f"samples/s from the median, ratio to PyTorch"]
    for name, t in times.items():
        sps = batch / statistics.median(t)
        ratio = f"{sps / torch_sps:5.2f}x" if torch_sps else "  n/a"
        lines.append(f"  {name:48s} {summary_ms(t)}  {sps:7.1f}  {ratio}")
    return "\n".join(lines)


def profile_step(batch: int, spec: dict, top: int = 25, steps: int = 3) -> str:
    """Where one train step's time goes: jax.profiler trace of `steps` steps, op times summed per
    XLA op (thunk) and labelled by what the op computes (conv kind and shape, pool, transpose)."""
    import collections
    import glob
    import gzip
    import json
    import re
    import tempfile

    step, state, device_batch = make_jax_step(batch=batch, **spec)
    text = step.as_text()
    called = dict(re.findall(r"%([\w.\-]+) = [^\n]*?calls=%([\w.\-]+)", text))
    bodies = dict(re.findall(r"\n%([\w.\-]+) [^\n]*\{\n((?:  [^\n]*\n)*?)\}", text))

    def label(name: str) -> str:
        own = re.search(rf"%{re.escape(name)} = [^\n]*", text)
        body = bodies.get(called.get(name, ""), "") + (own.group(0) if own else "")
        conv = re.search(r"(\S+) convolution\([^)]*\), window=\{size=(\S+)", body)
        if conv:
            kind = "dW" if conv.group(2).split(" ")[0] not in ("3x3", "3x1", "1x3") else "fwd/dx"
            return f"conv {kind} -> {conv.group(1)} window {conv.group(2)}"
        line = re.search(rf"%{re.escape(name)} = (\S+) (\w+)", text)
        ops_in = sorted(set(re.findall(r"= \S+ (\w+)\(", body)) - {"parameter", "constant", "broadcast"})
        return f"{line.group(2) if line else '?'} -> {line.group(1) if line else ''} [{' '.join(ops_in)[:60]}]"

    for _ in range(2):
        state, metrics = step(state, device_batch)
    jax.block_until_ready(metrics)
    with tempfile.TemporaryDirectory() as trace_dir:
        with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
            for _ in range(steps):
                state, metrics = step(state, device_batch)
            jax.block_until_ready(metrics)
        trace = json.load(gzip.open(glob.glob(f"{trace_dir}/**/*.json.gz", recursive=True)[0]))
    per_op = collections.defaultdict(float)
    for event in trace["traceEvents"]:
        if event.get("ph") == "X" and not event["name"].startswith(("$", "ThunkExecutor", "PjitFunction")):
            per_op[event["name"]] += event["dur"] / 1e3 / steps
    total = sum(per_op.values())
    groups = collections.defaultdict(float)
    for name, ms in per_op.items():
        lab = label(name)
        key = ("conv dW" if lab.startswith("conv dW") else "conv fwd/dx" if lab.startswith("conv") else
               "transpose/copy" if "transpose" in lab or name.startswith(("copy", "transpose")) else
               "select/pad (pool, relu grads)" if "select" in lab or "pad" in lab else "other")
        groups[key] += ms
    lines = [f"profile, batch {batch}: op time {total:.1f} ms/step (summed over threads' thunks); by kind: "
             + ", ".join(f"{k} {v:.0f} ms ({v / total:.0%})" for k, v in sorted(groups.items(), key=lambda kv: -kv[1]))]
    for name, ms in sorted(per_op.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {ms:7.2f} ms  {name:28s} {label(name)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("check", "layers", "step", "bf16", "profile"), default=None)
    parser.add_argument("--profile-rows", nargs="+", default=["A", "D"], help="whole-step rows to profile (letters)")
    parser.add_argument("--rows", nargs="+", default=None, help="whole-step rows to time (letters; default all)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny batch and rounds: every path once")
    args = parser.parse_args(argv)
    if args.smoke:
        args.batch_sizes, args.rounds = [2], 1
        args.rows = args.rows or ["A", "D"]
    print(machine_line())
    if args.only in (None, "check"):
        for line in check_gradients(batch=2 if args.smoke else 4):
            print(line)
    if args.only in (None, "bf16"):
        print(f"bfloat16 compute: loss-gradient relative L2 error vs float32 = "
              f"{gradient_error(jnp.bfloat16, conv2d, max_pool_3x3_s2, batch=4 if args.smoke else 16):.2%}")
    if args.only in (None, "layers"):
        for options in ((CPU_COMPILER_OPTIONS,) if args.smoke else (None, CPU_COMPILER_OPTIONS)):
            print(layer_table(args.batch_sizes[0], args.rounds, options, LAYERS[-1:] if args.smoke else LAYERS))
    if args.only in (None, "profile"):
        rows = jax_step_variants()
        for letter in args.profile_rows:
            name = next(n for n in rows if n.startswith(letter + " "))
            print(name)
            print(profile_step(args.batch_sizes[0], rows[name], top=8 if args.smoke else 25))
    if args.only in (None, "step"):
        for batch in args.batch_sizes:
            rows = {n: spec for n, spec in jax_step_variants().items() if not args.rows or n.split(" ")[0] in args.rows}
            print(step_table(batch, args.rounds, 1 if args.smoke else 2, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
