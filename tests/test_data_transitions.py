"""n-step transitions drawn from the demonstration cache: the right frames, returns and flags."""

import json

import numpy as np

from pokeil_jax import data
from pokeil_jax.data.transitions import NStepTransitions


def write_episode(folder, number, rewards, terminated):
    """An episode whose frame t is filled with the value 20 * t + number (final frame: t = T)."""
    length = len(rewards)
    frames = np.stack([np.full((160, 240, 3), 20 * t + number, np.uint8) for t in range(length + 1)])
    dones = np.zeros(length, bool)
    dones[-1] = True
    meta = dict(format_version=1, game="synthetic", rom_sha1="0", frames_per_step=24, expert="hand", seed=number,
                epsilon=0.0, milestone_names=[], terminated=terminated, truncated=not terminated)
    data.write_episode(folder / f"episode_{number:04d}.npz", dict(
        observations=frames[:-1], actions=np.arange(length, dtype=np.int32) % 10,
        executed_actions=np.arange(length, dtype=np.int32)[::-1] % 10, rewards=np.asarray(rewards, np.float32),
        dones=dones, infos=np.asarray([json.dumps({})] * length, dtype=np.str_), final_observation=frames[-1],
        episode_return=np.float32(sum(rewards)), episode_length=np.int64(length), metadata=meta))


def test_batches_hold_the_bootstrap_frame_and_hand_values(tmp_path):
    write_episode(tmp_path, 1, [0, 1, 0, 0, 2], terminated=True)
    write_episode(tmp_path, 2, [1, 0, 0, 0, 0], terminated=False)
    demos = data.build_cache(data.episode_paths(tmp_path), progress=False)
    transitions = NStepTransitions(demos, n_step=3, gamma=0.5)
    batch = transitions.batch(np.arange(10))
    # frame value 20 t + episode number; bootstrap frame t + min(3, 5 - t), the final frame is t = 5
    expected_t = [3, 4, 5, 5, 5, 3, 4, 5, 5, 5]
    expected_value = [20 * t + (1 if i < 5 else 2) for i, t in enumerate(expected_t)]
    assert batch["next_observations"][:, 40, 40, 0].tolist() == expected_value
    assert batch["observations"][:, 40, 40, 0].tolist() == [20 * t + 1 for t in range(5)] + [20 * t + 2 for t in range(5)]
    np.testing.assert_allclose(batch["returns"], [0 + 0.5 * 1, 1, 0.25 * 2, 0.5 * 2, 2, 1, 0, 0, 0, 0])
    np.testing.assert_allclose(batch["discounts"], [0.125, 0.125, 0.125, 0.25, 0.5] * 2)
    assert batch["dones"].tolist() == [False, False, True, True, True] + [False] * 5
    assert batch["executed_actions"].tolist() == [4, 3, 2, 1, 0] * 2 and batch["actions"].tolist() == [0, 1, 2, 3, 4] * 2
    assert batch["label_mask"].tolist() == [1.0] * 10


def test_sampler_draws_transitions_as_a_pure_function_of_seed_and_step(tmp_path):
    write_episode(tmp_path, 1, [0, 1, 0, 0, 2], terminated=True)
    demos = data.build_cache(data.episode_paths(tmp_path), progress=False)
    transitions = NStepTransitions(demos, n_step=2, gamma=0.9)
    with data.BatchSampler(transitions, 4, seed=7, keys=transitions.BATCH_KEYS) as a, \
            data.BatchSampler(transitions, 4, seed=7, start_step=3, keys=transitions.BATCH_KEYS) as b:
        stream = [next(a) for _ in range(5)]
        resumed = [next(b) for _ in range(2)]
    for key in transitions.BATCH_KEYS:
        np.testing.assert_array_equal(stream[3][key], resumed[0][key])
        np.testing.assert_array_equal(stream[4][key], resumed[1][key])
    assert stream[0]["next_observations"].shape == (4, 84, 84, 3) and stream[0]["returns"].dtype == np.float32
