"""Online fine-tuning: the student plays in the real env, the scripted expert labels each state."""

import numpy as np
import pytest

from pokeil_jax import vector_env
from pokeil_jax.online import OnlineCollector, mixed_batch
from pokeil_jax.replay import ReplayBuffer


@pytest.fixture(scope="module")
def envs():
    envs = vector_env.make_eval_envs(1, max_episode_steps=50)
    yield envs
    envs.close()


def test_collector_fills_the_buffer_with_expert_labels_and_restarts_episodes(envs):
    buffer = ReplayBuffer(capacity=64, num_envs=1, n_step=2, gamma=0.9)
    collector = OnlineCollector(envs, buffer, expert="scripted", seed=5, max_steps=6)
    always_b = lambda frames: np.tile(np.eye(10)[1], (len(frames), 1))  # noqa: E731  argmax: B
    for _ in range(14):
        collector.step(always_b, epsilon=0.0)
    # 14 steps, episodes cut after 6: two whole episodes (12 transitions) and one of 2 steps
    # whose first transition is complete (n = 2)
    assert len(buffer) == 13
    assert (buffer.columns["executed_actions"][:13] == 1).all()
    assert (buffer.columns["label_mask"][:13] == 1).all()
    assert set(buffer.columns["actions"][:13]) <= set(range(10))
    assert not buffer.columns["dones"][:13].any()  # cut by the step limit: truncated, bootstraps
    stats = collector.pop_episode_stats()
    assert stats["online/episodes"] == 2 and collector.pop_episode_stats() == {}


def test_mixed_batch_puts_the_buffer_rows_after_the_demo_rows():
    buffer = ReplayBuffer(capacity=8, num_envs=1, n_step=1, gamma=0.9)
    for t in range(4):
        buffer.add(0, np.full((84, 84, 3), t, np.uint8), 0, False, 2, 1.0, np.zeros((84, 84, 3), np.uint8), False,
                   t == 3)
    demo = buffer.batch(np.zeros(3, int))
    demo["label_mask"] = np.ones(3, np.float32)
    batch = mixed_batch(demo, buffer, seed=1, step=0, buffer_rows=5)
    assert batch["observations"].shape == (8, 84, 84, 3)
    assert batch["label_mask"].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]
