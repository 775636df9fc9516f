"""The one preprocessing function shared by training, evaluation and the cache."""

import numpy as np
import pytest

from pokeil_jax.preprocessing import area_weights, preprocess_frames, preprocess_frames_dense


def test_area_weights_are_convex_dyadic_rows():
    for n_in, n_out in [(160, 84), (240, 84)]:
        w = area_weights(n_in, n_out)
        assert w.shape == (n_out, n_in)
        np.testing.assert_array_equal(w.sum(axis=1), np.ones(n_out))
        assert (w >= 0).all()
        np.testing.assert_array_equal(w * 2**16, np.round(w * 2**16))


def test_fast_path_equals_dense_reference_and_is_batch_invariant():
    frames = np.random.default_rng(0).integers(0, 256, (9, 160, 240, 3), dtype=np.uint8)
    out = preprocess_frames(frames)
    assert out.shape == (9, 84, 84, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, preprocess_frames_dense(frames))
    for i in (0, 4, 8):
        np.testing.assert_array_equal(preprocess_frames(frames[i]), out[i])


def test_area_averaging_values():
    flat = np.full((160, 240, 3), 77, np.uint8)
    np.testing.assert_array_equal(preprocess_frames(flat), np.full((84, 84, 3), 77, np.uint8))
    half = np.zeros((160, 240, 3), np.uint8)
    half[:, 121:] = 255  # output column 42 covers input columns [120, 122.86): 1.86 of 2.86 white
    out = preprocess_frames(half)
    assert out[:, :42].max() == 0 and out[:, 43:].min() == 255
    assert out[0, 42, 0] == round(255 * (122 + 6 / 7 - 121) / (240 / 84))


def test_rejects_wrong_input():
    with pytest.raises(ValueError, match="uint8 frames of shape"):
        preprocess_frames(np.zeros((160, 240, 3), np.float32))
    with pytest.raises(ValueError, match="got uint8 \\(84, 84, 3\\)"):
        preprocess_frames(np.zeros((84, 84, 3), np.uint8))


def test_the_evaluator_feeds_the_policy_exactly_the_frames_training_reads(tmp_path):
    """End to end: record a demonstration, build the training cache, then replay its actions
    through the evaluator; at every step the policy must be given the cached training frame
    (same resize, same channel order, same dtype), and so finish the episode like the expert."""
    import collect_expert_data as collector
    from pokeil_jax import data, evaluate, vector_env

    folder = tmp_path / "demos"
    collector.main(collector.Args(num_episodes=1, seed=7, expert_data_dir=str(folder)))
    episode = data.build_cache(data.episode_paths(folder), progress=False).episodes[0]
    training_frames = np.asarray(episode.frames[:-1])
    seen = []

    def replay_logits(observations):
        assert observations.shape == (1, 84, 84, 3) and observations.dtype == np.uint8
        seen.append(observations[0].copy())
        return np.eye(10)[[episode.actions[len(seen) - 1]]]

    envs = vector_env.make_eval_envs(1)
    report = evaluate.evaluate(evaluate.PolicyAgent(replay_logits), envs, [7], max_steps=episode.length)
    envs.close()
    assert len(seen) == episode.length
    for t, (fed, trained_on) in enumerate(zip(seen, training_frames)):
        assert np.array_equal(fed, trained_on), f"step {t}: the evaluator's input differs from the training frame"
    assert report.success_rate == 1.0
