"""Tests for pokeil_jax/data/loader.py: the seeded, prefetching BatchSampler."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from episode_factory import write_folder

from pokeil_jax import data


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    return data.build_cache(write_folder(tmp_path_factory.mktemp("demos"), (12, 20, 15)), progress=False)


def _take(sampler, n):
    return [next(sampler) for _ in range(n)]


def test_sampler_same_seed_same_batches_and_resume(demos):
    with data.BatchSampler(demos, 16, seed=7, keys=data.BATCH_KEYS) as a, data.BatchSampler(demos, 16, seed=7, keys=data.BATCH_KEYS) as b:
        stream_a, stream_b = _take(a, 6), _take(b, 6)
        assert a.step == 6
    for x, y in zip(stream_a, stream_b):
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])
    batch = stream_a[0]
    assert batch["observations"].shape == (16, 84, 84, 3) and batch["observations"].dtype == np.uint8
    assert batch["actions"].shape == (16,) and batch["actions"].dtype == np.int32
    assert batch["rewards"].dtype == np.float32 and batch["next_observations"].shape == (16, 84, 84, 3)
    np.testing.assert_array_equal(batch["actions"], demos.actions[a.sample_indices(0)])

    with data.BatchSampler(demos, 16, seed=7, start_step=4) as resumed:
        assert resumed.step == 4
        continued = _take(resumed, 2)
    for x, y in zip(continued, stream_a[4:]):
        np.testing.assert_array_equal(x["observations"], y["observations"])
        np.testing.assert_array_equal(x["actions"], y["actions"])

    with data.BatchSampler(demos, 16, seed=8) as other:
        assert not np.array_equal(next(other)["actions"], stream_a[0]["actions"])


def test_sampler_is_uniform_over_transitions(demos):
    sampler = data.BatchSampler(demos, 512, seed=0, prefetch=1)
    counts = np.bincount(np.concatenate([sampler.sample_indices(k) for k in range(40)]), minlength=47)
    sampler.close()
    assert counts.min() > 0.6 * counts.mean() and counts.max() < 1.4 * counts.mean()


def test_prefetch_thread_shuts_down(demos):
    before = threading.active_count()
    sampler = data.BatchSampler(demos, 8, seed=0, prefetch=2)
    next(sampler)
    assert not sampler.closed
    sampler.close()
    assert sampler.closed and threading.active_count() == before
    sampler.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        next(sampler)
    with data.BatchSampler(demos, 8, seed=0) as sampler:
        batches = list(sampler.iterate(3))
    assert len(batches) == 3 and sampler.closed and sampler.step == 3


def test_prefetch_errors_are_raised_in_the_caller(demos, monkeypatch):
    real = demos.batch

    def fail_on_third(indices, keys):
        if fail_on_third.calls == 2:
            raise OSError("disk gone")
        fail_on_third.calls += 1
        return real(indices, keys)

    fail_on_third.calls = 0
    monkeypatch.setattr(demos, "batch", fail_on_third)
    sampler = data.BatchSampler(demos, 8, seed=0)
    _take(sampler, 2)
    with pytest.raises(OSError, match="disk gone"):
        next(sampler)
    assert sampler.closed
    with pytest.raises(OSError, match="disk gone"):
        next(sampler)


def test_sampler_checks_its_arguments(demos):
    with pytest.raises(ValueError, match="unknown batch keys"):
        data.BatchSampler(demos, 8, seed=0, keys=("observations", "obs"))
    with pytest.raises(ValueError, match="batch_size"):
        data.BatchSampler(demos, 0, seed=0)


def test_focus_rows_come_from_the_focus_set(demos):
    focus = demos.off_expert_indices()
    np.testing.assert_array_equal(focus, np.flatnonzero(demos.actions != demos.executed_actions))
    assert 0 < len(focus) < demos.num_transitions  # the factory's executed actions differ every 4th step
    sampler = data.BatchSampler(demos, 16, seed=3, prefetch=1, focus=focus, focus_fraction=0.25)
    indices = np.stack([sampler.sample_indices(k) for k in range(200)])
    sampler.close()
    assert indices.shape == (200, 16) and sampler.focus_rows == 4
    assert np.isin(indices[:, -4:], focus).all()  # the last rows: the focus set, each of it drawn
    assert set(indices[:, -4:].ravel()) == set(focus)
    outside = np.setdiff1d(np.arange(demos.num_transitions), focus)
    assert np.isin(outside, indices[:, :-4]).all()  # the other rows: every transition
    with data.BatchSampler(demos, 16, seed=3, focus=focus, focus_fraction=0.25, start_step=5) as resumed:
        np.testing.assert_array_equal(resumed.sample_indices(5), indices[5])  # still a function of (seed, step)


def test_no_focus_set_means_uniform_batches(demos):
    plain = data.BatchSampler(demos, 16, seed=3, prefetch=1)
    empty = data.BatchSampler(demos, 16, seed=3, prefetch=1, focus=np.zeros(0, np.int64), focus_fraction=0.5)
    assert empty.focus_rows == 0
    np.testing.assert_array_equal(plain.sample_indices(2), empty.sample_indices(2))
    plain.close(), empty.close()


def test_focus_arguments_are_checked(demos):
    with pytest.raises(ValueError, match="focus_fraction"):
        data.BatchSampler(demos, 8, seed=0, focus=np.array([1]), focus_fraction=1.0)
    with pytest.raises(ValueError, match=r"focus indices must lie in \[0, 47\)"):
        data.BatchSampler(demos, 8, seed=0, focus=np.array([47]), focus_fraction=0.5)
