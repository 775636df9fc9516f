"""The seeded batch loader: uniform batches of cached transitions, prefetched by a thread."""

from __future__ import annotations

import queue
import threading
from typing import Iterator, Sequence

import numpy as np

from pokeil_jax.data.cache import BATCH_KEYS, CachedDemos


class BatchSampler:
    """Uniform batches of transitions, with replacement, prefetched by a background thread.

    With `focus` (transition indices) and `focus_fraction` f, round(f * batch_size) rows of each
    batch are drawn uniformly from `focus` instead (the last rows; none while `focus` is empty).

    The indices of step k are a pure function of (seed, k) (`sample_indices`), so a run resumed
    with start_step=k continues the exact stream of an uninterrupted one. Each batch is a dict
    of fresh numpy arrays: observations uint8 (B, 84, 84, 3), actions int32 (B,), plus any other
    `keys` from BATCH_KEYS (next_observations, rewards, dones, terminals, ...). `step` is the
    step of the batch `next()` returns next. An exception in the thread is raised by `next()`.
    Use as a context manager, or call close().
    """

    def __init__(self, demos: CachedDemos, batch_size: int, seed: int, start_step: int = 0, *,
                 keys: Sequence[str] = ("observations", "actions"), prefetch: int = 4,
                 focus: np.ndarray | None = None, focus_fraction: float = 0.0):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 <= focus_fraction < 1:
            raise ValueError(f"focus_fraction must be in [0, 1), got {focus_fraction}")
        self.focus = np.zeros(0, np.int64) if focus is None else np.asarray(focus, np.int64)
        if len(self.focus) and not (0 <= self.focus.min() and self.focus.max() < demos.num_transitions):
            raise ValueError(f"focus indices must lie in [0, {demos.num_transitions}), the transitions there are")
        self.focus_rows = int(round(focus_fraction * batch_size)) if len(self.focus) else 0
        if start_step < 0:
            raise ValueError(f"start_step must be >= 0, got {start_step}")
        known = getattr(demos, "BATCH_KEYS", BATCH_KEYS)  # e.g. data.transitions.NStepTransitions
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise ValueError(f"unknown batch keys {unknown}; choose from {known}")
        self.demos, self.batch_size, self.seed, self.keys = demos, batch_size, seed, tuple(keys)
        self._step = start_step
        self._queue: queue.Queue = queue.Queue(maxsize=max(prefetch, 1))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._produce, args=(start_step,), daemon=True,
                                        name="BatchSampler-prefetch")
        self._thread.start()

    def sample_indices(self, step: int) -> np.ndarray:
        """int64 (B,): the transitions of batch `step`, a pure function of (seed, step)."""
        rng = np.random.default_rng([self.seed, step])
        indices = rng.integers(0, self.demos.num_transitions, size=self.batch_size - self.focus_rows)
        if not self.focus_rows:
            return indices
        return np.concatenate([indices, self.focus[rng.integers(0, len(self.focus), size=self.focus_rows)]])

    def batch_at(self, step: int) -> dict[str, np.ndarray]:
        """The batch of `step`, computed in the calling thread (what the prefetcher yields)."""
        return self.demos.batch(self.sample_indices(step), self.keys)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, step: int):
        try:
            while self._put((step, self.batch_at(step))):
                step += 1
        except BaseException as e:  # handed to the consumer, raised from next()
            self._put((step, e))

    @property
    def step(self) -> int:
        return self._step

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        if self._error is not None:
            raise self._error
        if self._stop.is_set():
            raise RuntimeError("BatchSampler is closed")
        _, item = self._queue.get()
        if isinstance(item, BaseException):
            self._error = item
            self.close()
            raise item
        self._step += 1
        return item

    def iterate(self, num_steps: int | None = None) -> Iterator[dict[str, np.ndarray]]:
        """Yield `num_steps` batches (forever when None)."""
        count = 0
        while num_steps is None or count < num_steps:
            yield next(self)
            count += 1

    def close(self):
        """Stop the prefetch thread and wait for it (idempotent)."""
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()

    @property
    def closed(self) -> bool:
        return not self._thread.is_alive()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
