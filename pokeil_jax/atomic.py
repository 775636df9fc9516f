"""Atomic file writes: a hidden temp file in the target's folder, fsync, then `os.replace`.

A killed writer leaves the old file (or none) and at worst a hidden `.NAME.<pid>.<id>.tmp`
beside it, never half a file under the real name.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temp file for writing (`mode` "wb" or "w"); when the block ends without an error it
    is flushed, fsynced and renamed onto `path` (parent folders are created); on an error it is
    removed and `path` is untouched. A writer that needs a file name (a compiler's `-o`) writes
    to the yielded file's `.name`."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    if encoding is None and mode == "w":
        encoding = "utf-8"
    try:
        with open(temp, mode.replace("w", "x"), encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """`Path.write_text`, atomically; returns the path."""
    with atomic_write(path, "w") as f:
        f.write(text)
    return Path(path)


def save_figure_atomic(figure, path: str | os.PathLike, **savefig_kwargs) -> Path:
    """A matplotlib figure saved as PNG, atomically (no half-written plot), then closed; returns the path."""
    import matplotlib.pyplot as plt

    with atomic_write(path) as f:
        figure.savefig(f, format="png", **savefig_kwargs)
    plt.close(figure)
    return Path(path)
