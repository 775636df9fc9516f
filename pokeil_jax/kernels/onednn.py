"""The network's convolutions on CPU through oneDNN, as an XLA FFI custom call.

Why: XLA:CPU (jaxlib 0.10) runs this network's convolution gradients at about half of
oneDNN's speed, and the whole train step at 0.4-0.65x PyTorch's, which calls oneDNN
(benchmarks/README.md). `csrc/onednn_layers.cc` wraps oneDNN's forward, input-gradient and
kernel-gradient convolutions and its max-pool as FFI handlers; `conv2d` and `max_pool_3x3_s2`
here are `jax.custom_vjp`s over them with the signatures and values of `pokeil_jax.kernels.xla`'s
(float32, NHWC, HWIO, stride 1, SAME padding). They are jit-compiled into the same single XLA
program as the rest of the step.

The extension is built from source on the user's machine. It links the oneDNN installed in the
Python environment when there is one (PyPI's onednn-cpu-gomp + onednn-devel-cpu-gomp, oneDNN
3.2: `requirements-kernels.txt`, which `make setup` installs on x86_64), else the system's
(Debian's libdnnl-dev, oneDNN 2.6). On an AVX2-only CPU, measured quiet, 3.2's convolution
and pooling kernels made the train step 1.05x (batch 64) and 1.12x (batch 256) faster and the
batch-16 policy forward 1.3x faster than 2.6's (benchmarks/README.md); on AVX-512 the two were
within noise.

    python -m pokeil_jax.kernels build     # g++ + oneDNN headers; `make setup` does it
    python -m pokeil_jax.kernels check     # built? against which oneDNN? agrees with XLA?

Where it is not built, `pokeil_jax.kernels.resolve_kernels("auto")` picks XLA's and nothing else
changes. Only the CPU backend has the handlers; on GPU "auto" is XLA (cuDNN).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp

from pokeil_jax.atomic import atomic_write, write_text_atomic

SOURCE = Path(__file__).resolve().parent / "csrc" / "onednn_layers.cc"
# Not a *.so in the package itself: Python would take that for an extension module.
LIBRARY = SOURCE.parent / "build" / "libpokeil_onednn.so"
#: The build's fingerprint (source hash + jaxlib version) sits next to the library, so a
#: library built from an older source or for another jaxlib is never loaded.
STAMP = LIBRARY.with_suffix(".so.stamp")

_TARGETS = ("pokeil_conv_forward", "pokeil_conv_backward", "pokeil_conv_backward_weights",
            "pokeil_pool_forward", "pokeil_pool_backward")
BUILD_HINT = (
    "build it with `python -m pokeil_jax.kernels build` (needs g++ and the oneDNN 2.x or 3.x "
    "headers: `apt-get install g++ libdnnl-dev`; `make setup` does both)"
)


class OneDNNUnavailableError(RuntimeError):
    """The oneDNN kernels were asked for, but the extension is not built or cannot load."""


def onednn_install(prefix: str | os.PathLike | None = None) -> tuple[str, list[str]]:
    """(which oneDNN, the extra compiler flags) to build against: the one in the Python
    environment `prefix` (default sys.prefix) when its headers and library are both there,
    else the system's (no flags: g++'s default include and library paths)."""
    root = Path(sys.prefix if prefix is None else prefix)
    header = root / "include" / "oneapi" / "dnnl" / "dnnl_version.h"
    if header.is_file() and any((root / "lib").glob("libdnnl.so*")):
        lib = root / "lib"
        return (f"oneDNN {_header_version(header)} (Python environment)",
                [f"-I{root / 'include'}", f"-L{lib}", f"-Wl,-rpath,{lib}"])
    system = Path("/usr/include/oneapi/dnnl/dnnl_version.h")
    return (f"oneDNN {_header_version(system)} (system)" if system.is_file() else "oneDNN (system)"), []


def _header_version(header: Path) -> str:
    """"MAJOR.MINOR.PATCH" from a dnnl_version.h ("?" where it cannot be read)."""
    try:
        text = header.read_text()
    except OSError:
        return "?"
    parts = [re.search(rf"#define DNNL_VERSION_{k}\s+(\d+)", text) for k in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(m.group(1) for m in parts if m) or "?"


def _fingerprint() -> str:
    import jaxlib

    digest = hashlib.sha1(SOURCE.read_bytes()).hexdigest()
    return f"{digest} jaxlib-{jaxlib.__version__} {onednn_install()[0]}"


def build(verbose: bool = True) -> Path:
    """Compile `csrc/onednn_layers.cc` into `csrc/build/libpokeil_onednn.so` (atomically) and stamp it; returns
    the library's path. Raises RuntimeError naming what is missing (g++, oneDNN headers)."""
    compiler = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if compiler is None or shutil.which(compiler) is None:
        raise RuntimeError(f"no C++ compiler found ({compiler or 'g++'}); install it: apt-get install g++")
    _, onednn_flags = onednn_install()
    command = [
        compiler, "-O2", "-std=c++17", "-shared", "-fPIC", "-w",
        f"-I{jax.ffi.include_dir()}", *onednn_flags, str(SOURCE), "-o", "{out}", "-ldnnl",
    ]
    # The compiler writes the temp file by name; atomic_write renames it onto LIBRARY when it succeeds.
    with atomic_write(LIBRARY) as temporary:
        command[command.index("{out}")] = temporary.name
        if verbose:
            print("building", LIBRARY.name, ":", " ".join(command), file=sys.stderr)
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            missing = "dnnl.hpp" in result.stderr or "-ldnnl" in result.stderr or "ldnnl" in result.stderr
            hint = " (oneDNN is missing: apt-get install libdnnl-dev)" if missing else ""
            raise RuntimeError(f"building {LIBRARY.name} failed{hint}:\n{result.stderr[-3000:]}")
    write_text_atomic(STAMP, _fingerprint() + "\n")
    _load.cache_clear()
    return LIBRARY


def is_built() -> bool:
    """The library exists and was built from this source for this jaxlib and this oneDNN."""
    try:
        return LIBRARY.is_file() and STAMP.read_text().strip() == _fingerprint()
    except OSError:
        return False


@functools.cache
def _load() -> str | None:
    """Load the library and register its handlers with XLA (once); None on success, else why not."""
    if not LIBRARY.is_file():
        return f"{LIBRARY} is not built"
    if not is_built():
        return f"{LIBRARY} was built from another source, jaxlib or oneDNN (rebuild it)"
    try:
        library = ctypes.cdll.LoadLibrary(str(LIBRARY))
    except OSError as error:  # e.g. libdnnl.so.2 gone since the build
        return f"{LIBRARY} does not load: {error}"
    for name in _TARGETS:
        jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(library, name)), platform="cpu")
    library.pokeil_pool_workspace_bytes.restype = ctypes.c_int64
    library.pokeil_pool_workspace_bytes.argtypes = [ctypes.c_int64] * 4
    _LOADED.append(library)
    return None


_LOADED: list = []  # the loaded library (kept alive; its handlers are registered with XLA)


def available() -> bool:
    """The oneDNN convolutions can be used in this process (built, current, loadable)."""
    return _load() is None


def unavailable_reason() -> str | None:
    """Why `available()` is False (None when it is True)."""
    return _load()


def _shape(like) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(like.shape, like.dtype)


def _require() -> None:
    """Load the extension for a caller that uses it directly; raise if it cannot be."""
    reason = _load()
    if reason is not None:
        raise OneDNNUnavailableError(f"the oneDNN kernels are not available: {reason}; {BUILD_HINT}")


def _forward(x, kernel, bias, relu):
    _require()
    out = jax.ShapeDtypeStruct((*x.shape[:3], kernel.shape[3]), x.dtype)
    return jax.ffi.ffi_call("pokeil_conv_forward", out)(x, kernel, bias, relu=bool(relu))


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def conv2d(x: jax.Array, kernel: jax.Array, bias: jax.Array, input_grad: bool = True,
           relu: bool = False) -> jax.Array:
    """SAME convolution, stride 1, float32: (B, H, W, I) x (KH, KW, I, O) + (O,) -> (B, H, W, O),
    by oneDNN (raises OneDNNUnavailableError where it is not built). `input_grad=False` (the
    first layer, whose input is data) skips computing the input gradient and reports it as
    zeros. `relu=True` returns relu(conv + bias), the ReLU fused into the convolution's pass
    over its output (its gradient is 0 where the output is 0, as `jax.nn.relu`'s)."""
    return _forward(x, kernel, bias, relu)


def _conv2d_fwd(x, kernel, bias, input_grad, relu):
    y = _forward(x, kernel, bias, relu)
    return y, (x, kernel, y if relu else None)


def _conv2d_bwd(input_grad, relu, residuals, g):
    x, kernel, y = residuals
    if relu:
        g = jnp.where(y > 0, g, jnp.zeros((), g.dtype))
    if input_grad:
        dx, dkernel, dbias = jax.ffi.ffi_call(
            "pokeil_conv_backward", (_shape(x), _shape(kernel), jax.ShapeDtypeStruct(kernel.shape[3:], x.dtype))
        )(x, kernel, g)
    else:
        dkernel, dbias = jax.ffi.ffi_call(
            "pokeil_conv_backward_weights", (_shape(kernel), jax.ShapeDtypeStruct(kernel.shape[3:], x.dtype))
        )(x, kernel, g)
        dx = jnp.zeros_like(x)
    return dx, dkernel, dbias


conv2d.defvjp(_conv2d_fwd, _conv2d_bwd)


def _pool_forward(x):
    _require()
    batch, height, width, channels = x.shape
    workspace = _LOADED[0].pokeil_pool_workspace_bytes(batch, height, width, channels)
    if workspace < 0:
        raise ValueError(f"oneDNN cannot max-pool an input of shape {x.shape}")
    out = jax.ShapeDtypeStruct((batch, -(-height // 2), -(-width // 2), channels), x.dtype)
    return jax.ffi.ffi_call("pokeil_pool_forward", (out, jax.ShapeDtypeStruct((workspace,), jnp.uint8)))(x)


@jax.custom_vjp
def max_pool_3x3_s2(x: jax.Array) -> jax.Array:
    """3x3 max-pool, stride 2, SAME padding, float32, by oneDNN: the values of
    `pokeil_jax.kernels.xla.max_pool_3x3_s2`; the gradient goes to one maximum of each window (oneDNN's
    workspace records which)."""
    return _pool_forward(x)[0]


def _max_pool_fwd(x):
    y, workspace = _pool_forward(x)
    return y, (workspace, jax.ShapeDtypeStruct(x.shape, x.dtype))


def _max_pool_bwd(residuals, g):
    workspace, x = residuals
    return (jax.ffi.ffi_call("pokeil_pool_backward", x)(g, workspace),)


max_pool_3x3_s2.defvjp(_max_pool_fwd, _max_pool_bwd)
