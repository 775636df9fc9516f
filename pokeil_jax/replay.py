"""The online replay buffer of DQN-BC: the student's own n-step transitions, host numpy.

Frames are the network's uint8 (84, 84, 3) inputs; each stored transition keeps its state and
its bootstrap state (2 x 21 KiB), so `capacity` 10,000 holds ~430 MiB. Steps come in per env
(`add`); a transition is stored once its n rewards are known or its episode ended, with the
same return / bootstrap / done / discount definitions as the demonstrations
(`pokeil_jax.data.transitions`): a terminated episode does not bootstrap, a truncated one
bootstraps from the state after its last step. When full, the oldest transition is replaced.

Batches have the keys of `transitions.DQN_BC_BATCH_KEYS`; `label_mask` is 0 on steps no expert
labelled (the BC term skips them). `save`/`load` write the stored transitions as one .npz
(atomically, never pickled); steps still waiting for their n rewards are not saved (a resumed
run starts new episodes).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from pokeil_jax.atomic import atomic_write
from pokeil_jax.data.transitions import DQN_BC_BATCH_KEYS
from pokeil_jax.preprocessing import NETWORK_INPUT_SHAPE

_COLUMNS = {
    "observations": (np.uint8, NETWORK_INPUT_SHAPE), "next_observations": (np.uint8, NETWORK_INPUT_SHAPE),
    "actions": (np.int32, ()), "executed_actions": (np.int32, ()), "returns": (np.float32, ()),
    "dones": (bool, ()), "discounts": (np.float32, ()), "label_mask": (np.float32, ()),
}


class ReplayBufferError(ValueError):
    """A replay buffer file that cannot be restored; the message names the file and the fix."""


class ReplayBuffer:
    BATCH_KEYS = DQN_BC_BATCH_KEYS

    def __init__(self, capacity: int, num_envs: int, n_step: int, gamma: float):
        if capacity < 1:
            raise ValueError(f"replay capacity must be >= 1, got {capacity}")
        self.capacity, self.num_envs, self.n_step, self.gamma = capacity, num_envs, n_step, gamma
        self.columns = {k: np.zeros((capacity, *shape), dtype) for k, (dtype, shape) in _COLUMNS.items()}
        self.size = 0
        self.cursor = 0  # where the next transition goes
        self.added = 0  # transitions ever stored
        self._pending: list[list[tuple]] = [[] for _ in range(num_envs)]

    def __len__(self) -> int:
        return self.size

    @property
    def num_transitions(self) -> int:
        return self.size

    def add(self, env_index: int, observation, label: int, labelled: bool, executed: int, reward: float,
            next_observation, terminated: bool, truncated: bool) -> None:
        """One env step: uint8 (84, 84, 3) state, the expert's label (if `labelled`), the pressed
        button, the reward, the state after the step and how the episode stands after it."""
        pending = self._pending[env_index]
        pending.append((observation, label, labelled, executed, float(reward)))
        if terminated or truncated:
            while pending:
                self._store(pending, next_observation, done=terminated)
                pending.pop(0)
        elif len(pending) == self.n_step:
            self._store(pending, next_observation, done=False)
            pending.pop(0)

    def drop_pending(self) -> None:
        """Forget steps whose transition is not complete (their episodes will not go on)."""
        self._pending = [[] for _ in range(self.num_envs)]

    def _store(self, pending: list[tuple], bootstrap, done: bool) -> None:
        observation, label, labelled, executed, _ = pending[0]
        k = len(pending)
        ret = sum(self.gamma**i * step[4] for i, step in enumerate(pending))
        row = self.cursor
        c = self.columns
        c["observations"][row] = observation
        c["next_observations"][row] = bootstrap
        c["actions"][row] = label if labelled else 0
        c["executed_actions"][row] = executed
        c["returns"][row] = ret
        c["dones"][row] = done
        c["discounts"][row] = self.gamma**k
        c["label_mask"][row] = 1.0 if labelled else 0.0
        self.cursor = (self.cursor + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        self.added += 1

    def sample_indices(self, seed: int, step: int, batch_size: int) -> np.ndarray:
        """int64 (batch_size,): uniform over the stored transitions, a pure function of (seed, step, size)."""
        return np.random.default_rng([seed, step, 1]).integers(0, self.size, size=batch_size)

    def batch(self, indices, keys=DQN_BC_BATCH_KEYS) -> dict[str, np.ndarray]:
        indices = np.asarray(indices, np.int64)
        return {key: self.columns[key][indices] for key in keys}

    # ---- saved with the run's checkpoints ------------------------------------------------------

    def state_dict(self) -> dict:
        return {"capacity": self.capacity, "n_step": self.n_step, "gamma": self.gamma, "size": self.size,
                "cursor": self.cursor, "added": self.added}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the stored transitions and the counters to `path` (.npz), atomically."""
        path = Path(path)
        arrays = {k: v[: self.size] for k, v in self.columns.items()}
        arrays["meta"] = np.asarray(json.dumps(self.state_dict()))
        with atomic_write(path) as f:
            np.savez(f, **arrays)
        return path

    def load(self, path: str | os.PathLike) -> None:
        """Restore what `save` wrote; the buffer's capacity, n_step and gamma must match."""
        path = Path(path)
        fix = "resume with the run's own --replay-capacity / --n-step / --gamma, or start a new run"
        try:
            with np.load(path, allow_pickle=False) as npz:
                meta = json.loads(str(npz["meta"][()]))
                arrays = {k: npz[k] for k in _COLUMNS}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise ReplayBufferError(f"{path}: cannot read the replay buffer ({error}); the file is damaged, "
                                    f"restore an older checkpoint") from None
        mine = self.state_dict()
        for key in ("capacity", "n_step", "gamma"):
            if meta[key] != mine[key]:
                raise ReplayBufferError(f"{path}: saved with {key} {meta[key]}, this run has {mine[key]}; {fix}")
        size = int(meta["size"])
        for key, (dtype, shape) in _COLUMNS.items():
            if arrays[key].shape != (size, *shape) or arrays[key].dtype != dtype:
                raise ReplayBufferError(f"{path}: {key} has shape {arrays[key].shape}, expected {(size, *shape)}; "
                                        f"the file is damaged, restore an older checkpoint")
            self.columns[key][:size] = arrays[key]
        self.size, self.cursor, self.added = size, int(meta["cursor"]), int(meta["added"])
        self.drop_pending()
