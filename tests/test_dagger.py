"""pokeil_jax/dagger.py: the learner/expert mixture of a DAgger rollout."""

import numpy as np
import pytest

from pokeil_jax.dagger import learner_chooser


@pytest.mark.parametrize("beta", [0.0, 0.8, 1.0])
def test_the_expert_label_is_pressed_with_probability_beta(beta):
    """The learner always wants button 9, the expert's label is 7: the share of 7s is beta."""
    learner = lambda frames: np.tile(np.eye(10)[9], (len(frames), 1))  # noqa: E731
    choose = learner_chooser(learner, beta, np.random.default_rng(0))
    frame = np.zeros((160, 240, 3), np.uint8)
    pressed = np.array([choose(frame, {}, 7) for _ in range(2000)])
    assert set(np.unique(pressed)) <= {7, 9}
    assert abs((pressed == 7).mean() - beta) < 0.03
