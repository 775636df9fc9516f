"""Who computes the network's convolutions and max-pools: one resolver for the whole project.

`resolve_kernels("auto" | "xla" | "onednn")` returns a `Kernels`: the `conv2d` and
`max_pool_3x3_s2` functions the network calls (`pokeil_jax.networks.ImpalaCNN(kernels=...)`).

- `xla`: XLA's own operations (`kernels/xla.py`), any backend and dtype.
- `onednn`: oneDNN's, as XLA:CPU FFI custom calls (`kernels/onednn.py`, C++ in `kernels/csrc/`),
  float32 on the CPU backend; built by `python -m pokeil_jax.kernels build`.
- `auto`: oneDNN where it can run well (built, CPU backend, one device, float32), else XLA.

Both take and return the same shapes and agree to float32 rounding (tests/test_kernels_onednn.py).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp

from pokeil_jax.kernels import onednn, xla

#: What `--kernels` accepts.
KERNEL_CHOICES = ("auto", "xla", "onednn")


@dataclasses.dataclass(frozen=True)
class Kernels:
    """The layer functions a network computes with.

    conv2d(x, kernel, bias, input_grad=True, relu=False): 3x3 SAME convolution, NHWC x HWIO.
    max_pool_3x3_s2(x): 3x3 stride-2 SAME max-pool, NHWC.
    """

    name: str
    conv2d: Callable
    max_pool_3x3_s2: Callable


XLA = Kernels("xla", xla.conv2d, xla.max_pool_3x3_s2)
ONEDNN = Kernels("onednn", onednn.conv2d, onednn.max_pool_3x3_s2)


def resolve_kernels(kernels: str = "auto", dtype=None) -> Kernels:
    """The `Kernels` for a requested "auto", "xla" or "onednn", computing in `dtype` (default float32).

    "auto" is oneDNN when the extension is available, JAX's default backend is the CPU, there
    is one device (the handlers have no SPMD partitioning rule: under a multi-device sharding
    XLA gathers their inputs, correct but not data-parallel) and the compute dtype is float32;
    otherwise XLA. An explicit "onednn" that cannot be honoured raises, naming the fix
    (`onednn.OneDNNUnavailableError` or ValueError).
    """
    if kernels not in KERNEL_CHOICES:
        raise ValueError(f"kernels must be one of {KERNEL_CHOICES}, got {kernels!r}")
    if kernels == "xla":
        return XLA
    float32 = dtype is None or jnp.dtype(dtype) == jnp.float32
    if kernels == "onednn":
        if not onednn.available():
            raise onednn.OneDNNUnavailableError(f"kernels='onednn': {onednn.unavailable_reason()}; {onednn.BUILD_HINT}")
        if not float32:
            raise ValueError(f"kernels='onednn' computes in float32 only, not {jnp.dtype(dtype)}")
        if jax.default_backend() != "cpu":
            raise ValueError(f"kernels='onednn' runs on the CPU backend, not {jax.default_backend()}")
        return ONEDNN
    if float32 and jax.default_backend() == "cpu" and jax.device_count() == 1 and onednn.available():
        return ONEDNN
    return XLA


def describe(kernels: str) -> str:
    """What `kernels` resolves to here, for a run's first line: "onednn", "xla", or "xla (why
    not oneDNN)" when "auto" could not pick it. Raises like `resolve_kernels`."""
    resolved = resolve_kernels(kernels).name
    if resolved == "xla" and kernels == "auto" and not onednn.available():
        return f"xla (oneDNN kernels not available: {onednn.unavailable_reason()}; {onednn.BUILD_HINT})"
    return resolved
