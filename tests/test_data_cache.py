"""Tests for pokeil_jax/data/cache.py: the preprocessed cache, CachedDemos, split, shard and load_demos."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from episode_factory import episode_with, make_episode, save_raw, write_folder

from pokeil_jax import data, preprocessing


def test_cache_equals_preprocess_frames_of_the_raw_frames(tmp_path):
    paths = write_folder(tmp_path, (12, 20, 15))
    demos = data.build_cache(paths, progress=False, chunk_frames=7)
    assert (tmp_path / ".cache").is_dir()
    assert demos.num_episodes == 3 and demos.num_transitions == 47
    np.testing.assert_array_equal(demos.episode_ids, np.repeat([0, 1, 2], [12, 20, 15]))
    for e, path in enumerate(paths):
        raw = data.load_episode(path)
        cached = demos.episodes[e]
        assert isinstance(cached.frames, np.memmap) and not cached.frames.flags.writeable
        np.testing.assert_array_equal(cached.frames[:-1], preprocessing.preprocess_frames(raw["observations"]))
        np.testing.assert_array_equal(cached.frames[-1], preprocessing.preprocess_frames(raw["final_observation"]))
        np.testing.assert_array_equal(cached.actions, raw["actions"])
        np.testing.assert_array_equal(cached.rewards, raw["rewards"])
        np.testing.assert_array_equal(cached.dones, raw["dones"])
        np.testing.assert_array_equal(cached.terminals, raw["dones"] & raw["metadata"]["terminated"])

    # next observation of step t is obs t+1, and the final observation at an episode's last step.
    raw = data.load_episode(paths[1])
    indices = np.array([12, 13, 31])  # episode 1 steps 0, 1, 19 (last)
    batch = demos.batch(indices, data.BATCH_KEYS)
    expected_obs = preprocessing.preprocess_frames(raw["observations"][[0, 1, 19]])
    expected_next = preprocessing.preprocess_frames(
        np.stack([raw["observations"][1], raw["observations"][2], raw["final_observation"]]))
    np.testing.assert_array_equal(batch["observations"], expected_obs)
    np.testing.assert_array_equal(batch["next_observations"], expected_next)
    np.testing.assert_array_equal(batch["actions"], raw["actions"][[0, 1, 19]])
    np.testing.assert_array_equal(batch["dones"], [False, False, True])
    np.testing.assert_array_equal(batch["episode_ids"], [1, 1, 1])
    np.testing.assert_array_equal(batch["has_successor"], [True, True, True])  # the final observation is real
    assert batch["observations"].dtype == np.uint8 and batch["actions"].dtype == np.int32


def _count_preprocessing(monkeypatch):
    calls = []
    real = preprocessing.preprocess_frames

    def spy(frames):
        calls.append(np.asarray(frames).shape[:-3])
        return real(frames)

    monkeypatch.setattr(preprocessing, "preprocess_frames", spy)
    return calls


def test_cache_is_reused_extended_and_invalidated(tmp_path, monkeypatch):
    paths = write_folder(tmp_path, (12, 20))
    calls = _count_preprocessing(monkeypatch)
    data.build_cache(paths, progress=False, chunk_frames=8)
    # one episode's frames at a time, in chunks: never more than 8 raw frames in one call
    assert max(shape[0] if shape else 1 for shape in calls) == 8
    assert sum(shape[0] if shape else 1 for shape in calls) == 12 + 1 + 20 + 1

    calls.clear()
    data.build_cache(paths, progress=False)
    assert calls == []  # unchanged files: nothing preprocessed again

    paths += [data.write_episode(tmp_path / "episode_0003.npz", make_episode(9, seed=2))]
    calls.clear()
    demos = data.build_cache(paths, progress=False)
    assert sum(shape[0] if shape else 1 for shape in calls) == 9 + 1  # only the new episode
    assert demos.num_transitions == 41

    # Changed contents (same name): a new entry with the new frames.
    new_episode = make_episode(12, seed=99)
    data.write_episode(paths[0], new_episode)
    calls.clear()
    demos = data.build_cache(paths, progress=False)
    assert sum(shape[0] if shape else 1 for shape in calls) == 12 + 1
    np.testing.assert_array_equal(demos.episodes[0].frames[:-1],
                                  preprocessing.preprocess_frames(new_episode["observations"]))
    np.testing.assert_array_equal(demos.actions[:12], new_episode["actions"])

    # A new preprocessing version rebuilds everything.
    monkeypatch.setattr(preprocessing, "PREPROCESS_VERSION", preprocessing.PREPROCESS_VERSION + 1)
    calls.clear()
    data.build_cache(paths, progress=False)
    assert sum(shape[0] if shape else 1 for shape in calls) == 12 + 20 + 9 + 3
    names = [p.name for p in (tmp_path / ".cache").iterdir() if p.is_dir()]
    assert not any(name.startswith(".tmp") for name in names)


def test_cache_notices_a_change_that_keeps_size_and_mtime(tmp_path, monkeypatch):
    path = write_folder(tmp_path, (12,))[0]
    first = data.build_cache([path], progress=False)
    stat = path.stat()
    episode = make_episode(12, seed=0)
    episode["actions"] = (episode["actions"] + 1) % 10  # same sizes, different bytes
    data.write_episode(path, episode)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    second = data.build_cache([path], progress=False)
    assert first.episodes[0].sha1 != second.episodes[0].sha1
    np.testing.assert_array_equal(second.actions, episode["actions"])


def test_build_cache_rejects_a_bad_file_before_preprocessing(tmp_path, monkeypatch):
    paths = write_folder(tmp_path, (10,))
    bad = save_raw(tmp_path / "episode_0002.npz", episode_with(actions=lambda e: e["actions"] + 20)())
    calls = _count_preprocessing(monkeypatch)
    with pytest.raises(data.EpisodeFormatError, match="episode_0002.npz"):
        data.build_cache(paths + [bad], progress=False)
    assert calls == []


def test_eval_batches_cover_every_transition_once(tmp_path):
    demos = data.build_cache(write_folder(tmp_path, (12, 9)), progress=False)
    batches = list(demos.eval_batches(8, keys=("actions", "episode_ids")))
    assert len(batches) == 3 and all(b["actions"].shape == (8,) for b in batches)
    mask = np.concatenate([b["mask"] for b in batches])
    actions = np.concatenate([b["actions"] for b in batches])[mask == 1]
    np.testing.assert_array_equal(actions, demos.actions)


def test_split_is_deterministic_disjoint_and_gives_val_an_episode():
    paths = [Path(f"expert_data/episode_{i:04d}.npz") for i in range(1, 21)]
    train, val = data.split_episodes(paths, 0.2, seed=0)
    assert (train, val) == data.split_episodes(paths, 0.2, seed=0)
    assert len(val) == 4 and not set(train) & set(val) and sorted(train + val) == paths
    assert data.split_episodes(paths, 0.2, seed=1)[1] != val
    # order of the input does not change the sides
    assert set(data.split_episodes(paths[::-1], 0.2, seed=0)[1]) == set(val)
    assert [len(s) for s in data.split_episodes(paths[:2], 0.05, seed=0)] == [1, 1]
    assert [len(s) for s in data.split_episodes(paths[:1], 0.5, seed=0)] == [1, 0]
    assert data.split_episodes(paths, 0.0, seed=0) == (paths, [])
    assert [len(s) for s in data.split_episodes(list(range(10)), 0.3, seed=4)] == [7, 3]
    with pytest.raises(ValueError):
        data.split_episodes(paths, 1.0, seed=0)


def test_shard_partitions_the_episodes():
    items = list(range(11))
    shards = [data.shard(items, i, 3) for i in range(3)]
    assert shards[0] == [0, 3, 6, 9] and shards[2] == [2, 5, 8]
    assert sorted(sum(shards, [])) == items
    with pytest.raises(ValueError):
        data.shard(items, 3, 3)
    with pytest.raises(data.EpisodeFormatError, match="gets no episode"):
        data.shard([0], 1, 2)


def test_load_demos_splits_and_shards(tmp_path):
    write_folder(tmp_path, (10, 11, 12, 13, 14))
    train0, val = data.load_demos(tmp_path, val_fraction=0.2, seed=0, process_index=0, process_count=2, progress=False)
    train1, val_again = data.load_demos(tmp_path, val_fraction=0.2, seed=0, process_index=1, process_count=2, progress=False)
    names = lambda demos: {p.name for p in demos.sources}  # noqa: E731
    assert val.num_episodes == 1 and names(val) == names(val_again)
    assert not names(train0) & names(train1) and not (names(train0) | names(train1)) & names(val)
    assert len(names(train0) | names(train1) | names(val)) == 5


def test_a_killed_cache_build_is_ignored_and_cleaned_later(tmp_path):
    paths = write_folder(tmp_path, (10,))
    cache = tmp_path / ".cache"
    stale, fresh = cache / ".tmp-aaaa-p1-c1-1-x", cache / ".tmp-bbbb-p1-c1-2-y"
    for temp in (stale, fresh):
        temp.mkdir(parents=True)
        (temp / "frames.npy").write_bytes(b"half")
    os.utime(stale, (0, 0))
    demos = data.build_cache(paths, cache, progress=False)
    assert demos.num_transitions == 10
    assert not stale.exists() and fresh.exists()  # a fresh one may belong to a build in progress


def test_batch_frames_are_64_byte_aligned_so_jax_takes_them_without_a_copy(tmp_path):
    import jax

    from pokeil_jax import train
    from pokeil_jax.data.cache import empty_aligned

    demos = data.build_cache(write_folder(tmp_path, (12, 9)), progress=False)
    indices = np.array([3, 15, 0, 8, 11])
    batch = demos.batch(indices)
    assert batch["observations"].ctypes.data % 64 == 0
    np.testing.assert_array_equal(batch["observations"], demos.frames(demos.frame_index[indices]))
    for shape, dtype in (((3, 5), np.float32), ((7,), np.uint8), ((2, 84, 84, 3), np.uint8)):
        a = empty_aligned(shape, dtype)
        assert a.shape == shape and a.dtype == dtype and a.ctypes.data % 64 == 0 and a.flags.c_contiguous
    on_device = train.shard_batch(train.make_mesh(jax.local_devices()[:1]), batch)["observations"]
    # next(iter(...)), never .pop(): devices() is the mesh's own cached set, shared process-wide;
    # emptying it made every later array on that mesh report no device (Orbax then failed to save).
    if next(iter(on_device.devices())).platform == "cpu":
        assert on_device.unsafe_buffer_pointer() == batch["observations"].ctypes.data  # aliased, not copied
