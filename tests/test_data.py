"""Tests for pokeil_jax/data.py: the episode format, validation, inspect, the cache and the loader."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from pokeil_jax import data, preprocessing
from pokeil_jax.emulator import BUTTONS

MILESTONES = ["got_starter", "won_battle", "reached_town"]


def make_episode(length: int = 12, seed: int = 0, actions=None, terminated: bool = True,
                 reached=(True, False, True)) -> dict:
    """A small episode in the real format; frames are blocky random images (compress fast,
    and the area resize has fractional footprints to get right)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (length + 1, 20, 30, 3), dtype=np.uint8)
    frames = blocks.repeat(8, axis=1).repeat(8, axis=2)
    frames[:, ::7, ::5] = rng.integers(0, 256, frames[:, ::7, ::5].shape, dtype=np.uint8)
    if actions is None:
        actions = rng.integers(0, 10, length)
    actions = np.asarray(actions, np.int32)
    rewards = rng.random(length).astype(np.float32)
    dones = np.zeros(length, bool)
    dones[-1] = True
    infos = [json.dumps({"step": t + 1, "seed": seed}) for t in range(length)]
    infos[-1] = json.dumps({"step": length, "milestones": dict(zip(MILESTONES, reached))})
    metadata = {
        "format_version": data.EPISODE_FORMAT_VERSION, "game": "minimon", "rom_sha1": "0" * 40,
        "frames_per_step": 24, "expert": "scripted", "seed": seed, "epsilon": 0.1,
        "milestone_names": MILESTONES, "terminated": terminated, "truncated": not terminated,
    }
    return {
        "observations": frames[:length],
        "actions": actions,
        "executed_actions": (actions + (np.arange(length) % 4 == 0)) % 10,
        "rewards": rewards,
        "dones": dones,
        "infos": np.asarray(infos, dtype=np.str_),
        "episode_return": np.float32(rewards.sum()),
        "episode_length": np.int64(length),
        "final_observation": frames[length],
        "metadata": np.asarray(json.dumps(metadata), dtype=np.str_),
    }


def write_folder(directory: Path, lengths=(12, 20, 15)) -> list[Path]:
    return [data.write_episode(directory / f"episode_{i + 1:04d}.npz", make_episode(n, seed=i))
            for i, n in enumerate(lengths)]


def save_raw(path: Path, arrays: dict) -> Path:
    """Write an NPZ without the format checks (to make bad files)."""
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


# ---------------------------------------------------------------------------------------------
# Format
# ---------------------------------------------------------------------------------------------


def test_round_trip_keeps_every_array_and_dtype(tmp_path):
    episode = make_episode(15, seed=3)
    path = data.write_episode(tmp_path / "episode_0001.npz", episode)
    loaded = data.load_episode(path)
    assert set(loaded) == set(data.EPISODE_KEYS)
    for key in data.EPISODE_KEYS:
        if key == "metadata":
            assert loaded[key] == json.loads(str(episode[key]))
        else:
            np.testing.assert_array_equal(loaded[key], episode[key])
            assert loaded[key].dtype == np.asarray(episode[key]).dtype, key
    assert loaded["infos"].dtype.kind == "U"
    assert loaded["observations"].shape == (15, 160, 240, 3)
    light = data.load_episode(path, load_observations=False)
    assert "observations" not in light and "final_observation" not in light
    np.testing.assert_array_equal(light["actions"], episode["actions"])
    assert data.validate_episode(path)["seed"] == 3


def test_write_accepts_metadata_dict(tmp_path):
    episode = make_episode(10)
    episode["metadata"] = json.loads(str(episode["metadata"]))
    path = data.write_episode(tmp_path / "episode_0001.npz", episode)
    assert data.read_metadata(path)["milestone_names"] == MILESTONES


def test_episode_paths_sorts_numerically_and_ignores_temp_and_cache(tmp_path):
    for index in (2, 10, 1):
        data.write_episode(tmp_path / f"episode_{index:04d}.npz", make_episode(10, seed=index))
    (tmp_path / ".episode_0011.npz.tmp").write_bytes(b"PK\x03\x04half")
    (tmp_path / ".cache").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in data.episode_paths(tmp_path)] == [
        "episode_0001.npz", "episode_0002.npz", "episode_0010.npz"]
    assert data.next_episode_index_and_seed(tmp_path) == (11, {1, 2, 10})


def test_next_episode_index_of_missing_or_empty_folder(tmp_path):
    assert data.next_episode_index_and_seed(tmp_path / "nope") == (1, set())
    assert data.next_episode_index_and_seed(tmp_path) == (1, set())


def test_a_crashed_write_leaves_only_whole_episodes(tmp_path, monkeypatch):
    first = data.write_episode(tmp_path / "episode_0001.npz", make_episode(10, seed=0))
    before = first.read_bytes()

    def crash_midway(file, **arrays):
        file.write(b"PK\x03\x04 partial bytes")
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(np, "savez_compressed", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        data.write_episode(tmp_path / "episode_0002.npz", make_episode(10, seed=1))
    with pytest.raises(KeyboardInterrupt):  # overwriting: the old file survives a crash
        data.write_episode(first, make_episode(10, seed=5))
    monkeypatch.undo()
    assert first.read_bytes() == before
    assert not (tmp_path / "episode_0002.npz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["episode_0001.npz"]

    # A SIGKILL leaves the temp file behind: every reader must ignore it.
    whole = data.write_episode(tmp_path / "episode_0002.npz", make_episode(10, seed=1)).read_bytes()
    (tmp_path / ".episode_0003.npz.tmp").write_bytes(whole[: len(whole) // 2])
    assert [p.name for p in data.episode_paths(tmp_path)] == ["episode_0001.npz", "episode_0002.npz"]
    assert data.next_episode_index_and_seed(tmp_path) == (3, {0, 1})
    assert data.inspect_folder(tmp_path, tmp_path / "h.png") == 0
    demos = data.build_cache(data.episode_paths(tmp_path), tmp_path / ".cache", progress=False)
    assert demos.num_transitions == 20


# ---------------------------------------------------------------------------------------------
# Bad input: every case names the file, the problem and the fix
# ---------------------------------------------------------------------------------------------


def _with(**changes):
    def make():
        episode = make_episode(12)
        for key, value in changes.items():
            if value is None:
                episode.pop(key)
            else:
                episode[key] = value(episode) if callable(value) else value
        return episode
    return make


def _metadata(**changes):
    def change(episode):
        metadata = json.loads(str(episode["metadata"]))
        metadata.update(changes)
        return np.asarray(json.dumps(metadata), dtype=np.str_)
    return change


BAD_EPISODES = {
    "missing_key": (_with(rewards=None), ["missing key 'rewards'"]),
    "wrong_dtype": (_with(actions=lambda e: e["actions"].astype(np.int64)), ["'actions'", "dtype int64", "int32"]),
    "bytes_infos": (_with(infos=lambda e: e["infos"].astype(np.bytes_)), ["'infos'", "unicode"]),
    "wrong_shape": (_with(observations=lambda e: preprocessing.preprocess_frames(e["observations"])),
                    ["'observations'", "(12, 84, 84, 3)", "preprocessed"]),
    "length_mismatch": (_with(rewards=lambda e: e["rewards"][:-1]), ["different lengths", "rewards 11", "actions 12"]),
    "episode_length": (_with(episode_length=np.int64(13)), ["episode_length is 13", "12 steps"]),
    "action_too_big": (_with(actions=lambda e: np.where(np.arange(12) == 4, 10, e["actions"]).astype(np.int32)),
                       ["actions[4] = 10", "outside 0..9"]),
    "action_negative": (_with(executed_actions=lambda e: np.full(12, -1, np.int32)), ["executed_actions[0] = -1"]),
    "metadata_not_json": (_with(metadata=np.asarray("{seed: 1", dtype=np.str_)), ["metadata is not valid JSON"]),
    "metadata_missing": (_with(metadata=lambda e: np.asarray(json.dumps({"format_version": 1}), dtype=np.str_)),
                         ["metadata lacks", "'rom_sha1'"]),
    "metadata_version": (_with(metadata=_metadata(format_version=7)), ["format_version 7", "update pokeil-jax"]),
    "metadata_type": (_with(metadata=_metadata(seed="zero")), ["metadata['seed'] = 'zero'"]),
    "info_not_json": (_with(infos=lambda e: np.asarray(["{}"] * 11 + ["nope"], dtype=np.str_)), ["infos[11]"]),
    "done_in_middle": (_with(dones=lambda e: np.arange(12) >= 5), ["dones[5] is True before the last step"]),
    "done_vs_metadata": (_with(dones=lambda e: np.zeros(12, bool)), ["dones[-1] = False", "terminated=True"]),
    "empty": (_with(**{k: (lambda e, k=k: e[k][:0]) for k in data._STEP_ARRAYS}, episode_length=np.int64(0)),
              ["no steps"]),
}


@pytest.mark.parametrize("case", sorted(BAD_EPISODES))
def test_bad_episode_files_are_rejected_with_a_clear_message(tmp_path, case):
    make, phrases = BAD_EPISODES[case]
    path = save_raw(tmp_path / "episode_0001.npz", make())
    for read in (data.load_episode, data.validate_episode, lambda p: data.load_episode(p, False)):
        with pytest.raises(data.EpisodeFormatError) as error:
            read(path)
        message = str(error.value)
        assert str(path) in message
        assert "Fix" in message
        for phrase in phrases:
            assert phrase in message, (phrase, message)


@pytest.mark.parametrize("case", sorted(BAD_EPISODES))
def test_write_episode_refuses_bad_episodes(tmp_path, case):
    make, phrases = BAD_EPISODES[case]
    target = tmp_path / "episode_0001.npz"
    with pytest.raises(data.EpisodeFormatError, match="not written") as error:
        data.write_episode(target, make())
    assert all(phrase in str(error.value) for phrase in phrases)
    assert list(tmp_path.iterdir()) == []


def test_write_episode_refuses_unknown_keys_and_bad_names(tmp_path):
    episode = make_episode(10)
    episode["observation"] = episode["observations"]
    with pytest.raises(data.EpisodeFormatError, match="unknown key 'observation'"):
        data.write_episode(tmp_path / "episode_0001.npz", episode)
    with pytest.raises(data.EpisodeFormatError, match="episode_XXXX.npz"):
        data.write_episode(tmp_path / "demo.npz", make_episode(10))


def test_pickled_object_array_is_refused_not_unpickled(tmp_path):
    episode = make_episode(12)
    episode["infos"] = np.array([{"step": t} for t in range(12)], dtype=object)
    path = save_raw(tmp_path / "episode_0001.npz", episode)
    with pytest.raises(data.EpisodeFormatError) as error:
        data.load_episode(path)
    assert str(path) in str(error.value) and "pickled" in str(error.value) and "dtype=np.str_" in str(error.value)
    # The same array behind a header that lies about its dtype: np.load's allow_pickle refusal is translated.
    npz = np.load(path, allow_pickle=False)
    with pytest.raises(data.EpisodeFormatError, match="pickled"):
        data._load_member(npz, "infos", path)


def test_missing_truncated_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(data.EpisodeFormatError, match="episode file not found: .*episode_0009.npz"):
        data.load_episode(tmp_path / "episode_0009.npz")

    whole = data.write_episode(tmp_path / "episode_0001.npz", make_episode(30)).read_bytes()
    truncated = tmp_path / "episode_0002.npz"
    truncated.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(data.EpisodeFormatError, match=r"episode_0002.npz: truncated or corrupt NPZ.*re-record"):
        data.load_episode(truncated)

    # Damage inside the compressed frames: only decompressing them (validate) can see it.
    corrupt = tmp_path / "episode_0003.npz"
    damaged = bytearray(whole)
    middle = len(whole) // 2
    damaged[middle:middle + 64] = bytes(64)
    corrupt.write_bytes(bytes(damaged))
    with pytest.raises(data.EpisodeFormatError, match="episode_0003.npz: truncated or corrupt NPZ"):
        data.validate_episode(corrupt)

    empty = tmp_path / "episode_0004.npz"
    empty.write_bytes(b"")
    with pytest.raises(data.EpisodeFormatError, match="episode_0004.npz: empty file"):
        data.load_episode(empty)

    text = tmp_path / "episode_0005.npz"
    text.write_text("hello, not a zip")
    with pytest.raises(data.EpisodeFormatError, match="episode_0005.npz: not an NPZ file"):
        data.load_episode(text)

    npy = tmp_path / "episode_0006.npz"
    with open(npy, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(data.EpisodeFormatError, match="episode_0006.npz: a single .npy array"):
        data.load_episode(npy)


def test_empty_or_missing_folder_says_how_to_collect(tmp_path):
    for folder in (tmp_path, tmp_path / "missing"):
        with pytest.raises(data.EpisodeFormatError) as error:
            data.episode_paths(folder)
        assert str(folder) in str(error.value) and "python collect_expert_data.py" in str(error.value)
    assert data.main(["inspect", str(tmp_path)]) == 1
    with pytest.raises(data.EpisodeFormatError, match="collect_expert_data.py"):
        data.build_cache([], tmp_path / ".cache")


# ---------------------------------------------------------------------------------------------
# Inspect
# ---------------------------------------------------------------------------------------------


def test_inspect_prints_the_numbers_and_saves_the_histogram(tmp_path, capsys):
    actions = [np.array([0] * 5 + [4] * 5, np.int32), np.array([0] * 2 + [7] * 8, np.int32),
               np.array([9] * 10, np.int32)]
    reached = [(True, False, False), (True, True, False), (False, False, False)]
    for i in range(3):
        episode = make_episode(10, seed=i + 40, actions=actions[i], reached=reached[i], terminated=i == 1)
        data.write_episode(tmp_path / f"episode_{i + 1:04d}.npz", episode)

    summary = data.summarize_episodes(data.episode_paths(tmp_path))
    assert summary["episodes"] == 3 and summary["transitions"] == 30
    np.testing.assert_array_equal(summary["action_counts"], [7, 0, 0, 0, 5, 0, 0, 8, 0, 10])
    assert summary["executed_action_counts"].sum() == 30
    assert summary["milestone_reached"] == {"got_starter": 2, "won_battle": 1, "reached_town": 0}
    assert sorted(summary["seeds"]) == [40, 41, 42] and summary["terminated"] == 1

    assert data.main(["inspect", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 valid episodes, 30 transitions" in out
    assert re.search(r"0 A +7  23.3% +\d+ +\d+.\d%\n", out)
    assert re.search(r"9 R +10  33.3% +\d+ +\d+.\d%\n", out)
    assert re.search(r"7 RIGHT +8  26.7%", out)
    assert re.search(r"got_starter +2/3 +66.7%", out)
    assert "seeds: 40-42 (3 distinct)" in out
    assert "completed (terminated): 1/3" in out
    png = tmp_path / "action_histogram.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000

    custom = tmp_path / "plots" / "actions.png"
    assert data.main(["inspect", str(tmp_path), "--plot", str(custom)]) == 0
    assert custom.exists()


def test_inspect_lists_every_bad_file_and_fails(tmp_path, capsys):
    write_folder(tmp_path, (10, 10))
    (tmp_path / "episode_0003.npz").write_text("garbage")
    save_raw(tmp_path / "episode_0004.npz", _with(actions=lambda e: e["actions"] + 20)())
    assert data.main(["inspect", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "2 valid episodes, 2 bad, 20 transitions" in captured.out
    assert "2 of 4 episode files are bad" in captured.err
    assert "episode_0003.npz: not an NPZ" in captured.err
    assert "episode_0004.npz: actions[0]" in captured.err


def test_inspect_reads_milestones_from_the_mask_when_no_dict(tmp_path):
    episode = make_episode(10)
    infos = list(episode["infos"])
    infos[-1] = json.dumps({"milestone_mask": 0b101})
    episode["infos"] = np.asarray(infos, dtype=np.str_)
    data.write_episode(tmp_path / "episode_0001.npz", episode)
    summary = data.summarize_episodes(data.episode_paths(tmp_path))
    assert summary["milestone_reached"] == {"got_starter": 1, "won_battle": 0, "reached_town": 1}


# ---------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------


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
    bad = save_raw(tmp_path / "episode_0002.npz", _with(actions=lambda e: e["actions"] + 20)())
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


# ---------------------------------------------------------------------------------------------
# Split, shard, loader
# ---------------------------------------------------------------------------------------------


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


def test_importing_data_does_not_import_jax():
    code = "import sys, pokeil_jax.data; assert 'jax' not in sys.modules and 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_button_names_match_the_emulator():
    assert data.NUM_ACTIONS == len(BUTTONS) == 10


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
