"""The online replay buffer: n-step transitions per env, ring replacement, save and restore."""

import numpy as np
import pytest

from pokeil_jax.replay import ReplayBuffer, ReplayBufferError


def frame(value):
    return np.full((84, 84, 3), value, np.uint8)


def play(buffer, env, rewards, first_frame, terminated=False, truncated=False, labelled=True):
    """Add one episode's steps; state t is frame(first_frame + t)."""
    for t, r in enumerate(rewards):
        last = t == len(rewards) - 1
        buffer.add(env, frame(first_frame + t), label=t % 10, labelled=labelled, executed=(t + 1) % 10, reward=r,
                   next_observation=frame(first_frame + t + 1), terminated=last and terminated,
                   truncated=last and truncated)


def test_n_step_transitions_match_the_hand_values_for_interleaved_envs():
    buffer = ReplayBuffer(capacity=32, num_envs=2, n_step=3, gamma=0.5)
    # env 0 terminates after 5 steps, env 1 is truncated after 4 steps; steps interleave
    for t in range(5):
        play_step = lambda env, r, first, n, term, trunc: buffer.add(  # noqa: E731
            env, frame(first + t), t % 10, True, (t + 1) % 10, r, frame(first + t + 1), term and t == n - 1,
            trunc and t == n - 1)
        play_step(0, [0, 1, 0, 0, 2][t], 0, 5, True, False)
        if t < 4:
            play_step(1, [1, 0, 0, 4][t], 100, 4, False, True)
    assert len(buffer) == 9
    by_state = {int(buffer.columns["observations"][i, 0, 0, 0]): i for i in range(len(buffer))}
    expected = {  # state: (return, bootstrap frame, done, discount), written out by hand
        0: (0 + 0.5 * 1 + 0.25 * 0, 3, False, 0.125), 1: (1 + 0.5 * 0 + 0.25 * 0, 4, False, 0.125),
        2: (0 + 0.5 * 0 + 0.25 * 2, 5, True, 0.125), 3: (0 + 0.5 * 2, 5, True, 0.25), 4: (2, 5, True, 0.5),
        100: (1 + 0 + 0, 103, False, 0.125), 101: (0 + 0 + 0.25 * 4, 104, False, 0.125),
        102: (0 + 0.5 * 4, 104, False, 0.25), 103: (4, 104, False, 0.5),
    }
    for state, (ret, boot, done, discount) in expected.items():
        i = by_state[state]
        assert buffer.columns["returns"][i] == pytest.approx(ret)
        assert buffer.columns["next_observations"][i, 0, 0, 0] == boot
        assert bool(buffer.columns["dones"][i]) == done
        assert buffer.columns["discounts"][i] == pytest.approx(discount)


def test_full_buffer_replaces_the_oldest_and_unlabelled_steps_are_masked():
    buffer = ReplayBuffer(capacity=4, num_envs=1, n_step=1, gamma=0.9)
    play(buffer, 0, [0.0] * 6, 10, truncated=True, labelled=False)
    assert len(buffer) == 4 and buffer.added == 6
    assert sorted(buffer.columns["observations"][:, 0, 0, 0].tolist()) == [12, 13, 14, 15]
    assert buffer.columns["label_mask"].tolist() == [0.0] * 4


def test_save_and_load_restore_the_transitions_and_check_the_settings(tmp_path):
    buffer = ReplayBuffer(capacity=16, num_envs=1, n_step=2, gamma=0.9)
    play(buffer, 0, [1.0, 0.0, 2.0], 0, terminated=True)
    path = buffer.save(tmp_path / "replay.npz")
    restored = ReplayBuffer(capacity=16, num_envs=1, n_step=2, gamma=0.9)
    restored.load(path)
    indices = np.arange(3)
    for key, value in buffer.batch(indices).items():
        np.testing.assert_array_equal(restored.batch(indices)[key], value)
    assert (restored.size, restored.cursor, restored.added) == (3, 3, 3)
    with pytest.raises(ReplayBufferError, match="saved with capacity 16, this run has 8"):
        ReplayBuffer(capacity=8, num_envs=1, n_step=2, gamma=0.9).load(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ReplayBufferError, match="cannot read the replay buffer"):
        restored.load(path)


def test_sampling_is_a_pure_function_of_seed_step_and_size():
    buffer = ReplayBuffer(capacity=16, num_envs=1, n_step=1, gamma=0.9)
    play(buffer, 0, [0.0] * 10, 0, truncated=True)
    a, b = buffer.sample_indices(3, 7, 5), buffer.sample_indices(3, 7, 5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, buffer.sample_indices(3, 8, 5)) and a.max() < 10
