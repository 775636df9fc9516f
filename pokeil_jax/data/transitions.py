"""n-step transitions of the demonstrations for DQN-BC: host numpy, no JAX.

For step t of an episode of T steps (rewards r_0..r_{T-1}, frames 0..T where frame T is the
episode's `final_observation`, the state after the last step), with k = min(n, T - t):

    return_t    = r_t + gamma r_{t+1} + ... + gamma^(k-1) r_{t+k-1}
    bootstrap_t = frame t + k                       (s_{t+n}, or the final observation)
    done_t      = the episode TERMINATED and t + k == T  (no value after a true end)
    discount_t  = gamma^k

so the TD target is `return_t + (1 - done_t) * discount_t * Q_target(s_{t+k}, a*)`. A truncated
episode (cut by a step limit) still bootstraps from its final observation: the game went on.
"""

from __future__ import annotations

import numpy as np

#: What a DQN-BC batch holds (besides what BC needs): see NStepTransitions.batch.
DQN_BC_BATCH_KEYS = ("observations", "actions", "executed_actions", "returns", "next_observations", "dones",
                     "discounts", "label_mask")


def n_step_transitions(rewards: np.ndarray, terminated: bool, n_step: int, gamma: float) -> dict[str, np.ndarray]:
    """One episode's n-step quantities (see module doc): returns float32 (T,), bootstrap_offsets
    int64 (T,) (k: the bootstrap state is frame t + k), dones bool (T,), discounts float32 (T,)."""
    if n_step < 1:
        raise ValueError(f"n_step must be >= 1, got {n_step}")
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"gamma must be in (0, 1], got {gamma}")
    rewards = np.asarray(rewards, np.float64)
    length = len(rewards)
    t = np.arange(length)
    offsets = np.minimum(n_step, length - t)
    returns = np.zeros(length, np.float64)
    for i in range(n_step):
        inside = t + i < length
        returns[inside] += gamma**i * rewards[t[inside] + i]
    dones = np.zeros(length, bool)
    if terminated:
        dones = t + offsets == length
    return {"returns": returns.astype(np.float32), "bootstrap_offsets": offsets.astype(np.int64), "dones": dones,
            "discounts": (gamma ** offsets.astype(np.float64)).astype(np.float32)}


class NStepTransitions:
    """The demonstrations (a `CachedDemos`) seen as n-step transitions, with the same transition
    indexing, so `BatchSampler` draws them by the same pure function of (seed, step).

    Per-transition arrays are computed once here (RAM: ~17 bytes a transition); frames stay in
    the cache's memmaps.
    """

    BATCH_KEYS = DQN_BC_BATCH_KEYS

    def __init__(self, demos, n_step: int, gamma: float):
        self.demos, self.n_step, self.gamma = demos, n_step, gamma
        parts = [n_step_transitions(e.rewards, bool(e.terminals[-1]), n_step, gamma) for e in demos.episodes]
        for key in ("returns", "dones", "discounts"):
            setattr(self, key, np.concatenate([p[key] for p in parts]))
        self.bootstrap_frame_index = demos.frame_index + np.concatenate([p["bootstrap_offsets"] for p in parts])

    @property
    def num_transitions(self) -> int:
        return self.demos.num_transitions

    def __len__(self) -> int:
        return self.num_transitions

    def batch(self, indices: np.ndarray, keys=DQN_BC_BATCH_KEYS) -> dict[str, np.ndarray]:
        """Transitions `indices` (int (B,)): observations / next_observations uint8 (B, 84, 84, 3)
        (s_t and its bootstrap state), actions int32 (the expert's label), executed_actions int32
        (what was pressed: the action the TD term values), returns / discounts float32, dones bool,
        label_mask float32 (1: the BC term applies; always 1 for demonstrations)."""
        indices = np.asarray(indices, np.int64)
        demos = self.demos
        columns = {
            "observations": lambda: demos.frames(demos.frame_index[indices]),
            "next_observations": lambda: demos.frames(self.bootstrap_frame_index[indices]),
            "actions": lambda: demos.actions[indices],
            "executed_actions": lambda: demos.executed_actions[indices],
            "returns": lambda: self.returns[indices],
            "dones": lambda: self.dones[indices],
            "discounts": lambda: self.discounts[indices],
            "label_mask": lambda: np.ones(len(indices), np.float32),
        }
        return {key: columns[key]() for key in keys}
