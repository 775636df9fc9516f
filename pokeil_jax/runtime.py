"""Process set-up, before any training: glibc malloc tuning, the XLA:CPU compiler options of
the jitted steps, the persistent compilation cache, tensorboardX without torch, and joining a
multi-process run (and agreeing on one process's numbers in it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jax
import numpy as np

#: Environment variables read by `maybe_initialize_distributed` (JAX itself reads the first).
COORDINATOR_ADDRESS_VAR = "JAX_COORDINATOR_ADDRESS"
NUM_PROCESSES_VAR = "JAX_NUM_PROCESSES"
PROCESS_ID_VAR = "JAX_PROCESS_ID"

#: XLA:CPU options for the network's jitted functions. jaxlib 0.10 sends every convolution with
#: more than 16 features to YNNPACK, which runs this network's kernel gradients 3-8x slower than
#: XLA's own (Eigen) convolutions (benchmarks/README.md); YNNPACK keeps the dots and reductions.
CPU_COMPILER_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE",
}


def compiler_options(backend: str | None = None) -> dict | None:
    """The compiler options `jax.jit` should get for `backend` (default: JAX's default backend)."""
    return CPU_COMPILER_OPTIONS if (backend or jax.default_backend()) == "cpu" else None


#: Size the cache is held to (least recently used programs go first). A train step is ~1 MB.
COMPILATION_CACHE_MAX_BYTES = 2 << 30


def enable_compilation_cache(folder: str | os.PathLike | None) -> Path | None:
    """Keep every program JAX compiles in `folder`, so a second run of the same configuration
    loads its train step instead of compiling it again; None or "" leaves the cache off.

    Safe under concurrent runs: with a size limit set, JAX takes a file lock in the folder
    around every read and write of an entry (and evicts least recently used entries beyond
    COMPILATION_CACHE_MAX_BYTES). A folder that cannot be created turns the cache off with one
    line on stderr: a cache only saves time. Returns the folder in use, or None.
    """
    if not folder:
        return None
    try:
        import filelock  # noqa: F401  (JAX's lock around cache entries; without it every read warns and misses)
    except ImportError:
        print("compilation cache off: the filelock package is missing (pip install -r requirements.txt)",
              file=sys.stderr)
        return None
    path = Path(folder).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"compilation cache off: cannot create {path} ({error.strerror}); pass another "
              f"--compilation-cache-dir, or '' to silence this", file=sys.stderr)
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_compilation_cache_max_size", COMPILATION_CACHE_MAX_BYTES)  # also turns the lock on
    # Small programs too: the state's init compiles in well under JAX's default 1 s threshold.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def summary_writer_class():
    """tensorboardX's SummaryWriter, imported without importing torch.

    tensorboardX imports torch whenever it is installed (to accept torch tensors), which costs a
    JAX process ~2.5 CPU s of start-up (measured here) for nothing. Hiding torch during that
    import is enough: tensorboardX then takes numpy arrays only, and a later `import torch`
    elsewhere works as usual."""
    if "tensorboardX" in sys.modules or "torch" in sys.modules:
        from tensorboardX import SummaryWriter

        return SummaryWriter
    sys.modules["torch"] = None  # `import torch` raises ImportError while this entry is None
    try:
        from tensorboardX import SummaryWriter
    finally:
        del sys.modules["torch"]
    return SummaryWriter


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -2, -4, -8


def tune_host_malloc() -> bool:
    """Make glibc keep freed memory for reuse instead of handing it back to the kernel.

    XLA:CPU allocates a step's temporary buffers at every execution; above glibc's mmap
    threshold each one is a fresh mapping, so every step page-faults a few hundred MB in again
    (measured: ~20% of a batch-64 train step here, benchmarks/README.md). With one arena, no
    mmap for large blocks, no trimming and a 256 MB top pad, the same pages are reused. The
    cost is that the process keeps its peak heap (RSS does not shrink after a large transient).
    Process-wide, so a launcher calls it, before JAX allocates. Returns False (and does
    nothing) where the C library is not glibc.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    settings = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, 256 << 20))
    return all(mallopt(parameter, value) == 1 for parameter, value in settings)


def maybe_initialize_distributed() -> tuple[int, int]:
    """Join a multi-process run if JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and
    JAX_PROCESS_ID are set; returns (process_index, process_count), (0, 1) when none is set.

    Call it first in `main`, before anything touches JAX devices. CPU collectives go through
    gloo (the default CPU client has none across processes); GPUs use their own (NCCL).
    `tests/test_train.py::test_two_processes_on_localhost_compute_the_single_process_step`
    runs two processes this way on localhost. Example by hand:
    `JAX_COORDINATOR_ADDRESS=127.0.0.1:12345 JAX_NUM_PROCESSES=2 JAX_PROCESS_ID=0 python ...`
    and the same with JAX_PROCESS_ID=1 in a second shell.
    """
    names = (COORDINATOR_ADDRESS_VAR, NUM_PROCESSES_VAR, PROCESS_ID_VAR)
    present = [name for name in names if os.environ.get(name)]
    if not present:
        return 0, 1
    if len(present) != len(names):
        missing = [name for name in names if name not in present]
        raise ValueError(f"{', '.join(present)} set but {', '.join(missing)} not: set all three or none")
    try:
        num_processes = int(os.environ[NUM_PROCESSES_VAR])
        process_id = int(os.environ[PROCESS_ID_VAR])
    except ValueError as error:
        raise ValueError(f"{NUM_PROCESSES_VAR} and {PROCESS_ID_VAR} must be integers: {error}") from None
    if not 0 <= process_id < num_processes:
        raise ValueError(f"{PROCESS_ID_VAR}={process_id} must be in [0, {NUM_PROCESSES_VAR}={num_processes})")
    if not jax.distributed.is_initialized():
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(
            coordinator_address=os.environ[COORDINATOR_ADDRESS_VAR],
            num_processes=num_processes,
            process_id=process_id,
        )
    return jax.process_index(), jax.process_count()


def agree_across_processes(summary: dict, keys) -> dict:
    """Process 0's values of `keys` from `summary` on every process (each passes its own; only
    process 0's count), e.g. so Orbax saves every process's checkpoint with the same metrics.
    A single process gets `summary` back unchanged."""
    if jax.process_count() == 1:
        return summary
    from jax.experimental import multihost_utils

    values = np.array([summary.get(k, np.nan) for k in keys], np.float32)
    values = multihost_utils.broadcast_one_to_all(values)
    return {k: float(v) for k, v in zip(keys, values)}
