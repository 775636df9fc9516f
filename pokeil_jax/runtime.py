"""Process set-up for the training scripts: what must happen once, early, in a process.

    runtime.enable_compilation_cache(args.compilation_cache_dir)   # before the first jit compiles
    SummaryWriter = runtime.summary_writer_class()                 # tensorboardX without torch
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Where compiled XLA programs are kept between runs unless a script's flag says otherwise.
DEFAULT_COMPILATION_CACHE_DIR = "~/.cache/pokeil_jax/jax-compilation-cache"
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
    path = Path(folder).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"compilation cache off: cannot create {path} ({error.strerror}); pass another "
              f"--compilation-cache-dir, or '' to silence this", file=sys.stderr)
        return None
    import jax

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
