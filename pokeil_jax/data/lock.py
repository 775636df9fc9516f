"""One writer per demonstration folder, and writer processes that die with their parent (a
worker left running after its parent died would write into a folder whose lock is gone).

    with FolderLock(folder, "collect_expert_data.py"):   # FolderLockedError if another process writes there
        ...

The lock is `fcntl.flock` on `<folder>/.writer.lock`: the kernel drops it when its process dies
however it dies (SIGKILL, OOM killer), so a stale lock is simply taken by the next writer; the
file only records who holds it (pid, what) for the error message, and is never deleted (deleting
it would let two processes lock two different files of the same name).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path

LOCK_NAME = ".writer.lock"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class FolderLockedError(RuntimeError):
    """Another live process is writing into the folder; the message names it and the fix."""


class FolderLock:
    """Exclusive, non-blocking writer lock on `folder` (created if missing) for as long as it is held."""

    def __init__(self, folder: str | os.PathLike, holder: str):
        self.folder = Path(folder)
        self.holder = holder
        self._fd: int | None = None

    def acquire(self) -> "FolderLock":
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise FolderLockedError(
                f"{self.folder} is being written by {who}; wait for it to finish (or stop it), "
                f"or write into another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} ({self.holder})\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def die_with_parent(parent_pid: int) -> None:
    """Call first thing in a worker process: it is killed when `parent_pid` dies (SIGKILL included).

    Linux: PR_SET_PDEATHSIG. Elsewhere: a daemon thread polls the parent pid every 0.5 s. Either
    way, a parent that died before this call is noticed here.
    """
    armed = False
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    if os.getppid() != parent_pid:
        os._exit(1)
    if not armed:
        def watch():
            while os.getppid() == parent_pid:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True, name="parent-watchdog").start()
