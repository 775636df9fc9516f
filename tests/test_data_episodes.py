"""Tests for pokeil_jax/data/episodes.py: the episode format, its validation, reading and writing."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from episode_factory import MILESTONES, episode_with, make_episode, metadata_with, save_raw

from pokeil_jax import data, preprocessing
from pokeil_jax.data import episode_format, episodes
from pokeil_jax.emulator import BUTTONS


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


BAD_EPISODES = {
    "missing_key": (episode_with(rewards=None), ["missing key 'rewards'"]),
    "wrong_dtype": (episode_with(actions=lambda e: e["actions"].astype(np.float32)), ["'actions'", "dtype float32", "int32"]),
    "reward_overflow": (episode_with(rewards=lambda e: np.full(12, 1e39)), ["rewards value 1e+39 does not fit float32"]),
    "dones_not_01": (episode_with(dones=lambda e: np.arange(12, dtype=np.int8)), ["dones[2] = 2", "0/1"]),
    "bytes_infos": (episode_with(infos=lambda e: e["infos"].astype(np.bytes_)), ["'infos'", "unicode"]),
    "wrong_shape": (episode_with(observations=lambda e: preprocessing.preprocess_frames(e["observations"])),
                    ["'observations'", "(12, 84, 84, 3)", "preprocessed"]),
    "length_mismatch": (episode_with(rewards=lambda e: e["rewards"][:-1]), ["different lengths", "rewards 11", "actions 12"]),
    "episode_length": (episode_with(episode_length=np.int64(13)), ["episode_length is 13", "12 steps"]),
    "nan_reward": (episode_with(rewards=lambda e: np.where(np.arange(12) == 3, np.nan, e["rewards"]).astype(np.float32)),
                   ["rewards[3] is nan, not a finite number"]),
    "inf_return": (episode_with(episode_return=np.float32(np.inf)), ["episode_return is inf"]),
    "action_too_big": (episode_with(actions=lambda e: np.where(np.arange(12) == 4, 10, e["actions"]).astype(np.int32)),
                       ["actions[4] = 10", "outside 0..9"]),
    "action_negative": (episode_with(executed_actions=lambda e: np.full(12, -1, np.int32)), ["executed_actions[0] = -1"]),
    "metadata_not_json": (episode_with(metadata=np.asarray("{seed: 1", dtype=np.str_)), ["metadata is not valid JSON"]),
    "metadata_missing": (episode_with(metadata=lambda e: np.asarray(json.dumps({"seed": 1}), dtype=np.str_)),
                         ["metadata lacks 'format_version'"]),
    "metadata_version": (episode_with(metadata=metadata_with(format_version=7)), ["format_version 7", "update pokeil-jax"]),
    "metadata_type": (episode_with(metadata=metadata_with(seed="zero")), ["metadata['seed'] = 'zero'"]),
    "info_not_json": (episode_with(infos=lambda e: np.asarray(["{}"] * 11 + ["nope"], dtype=np.str_)), ["infos[11]"]),
    "done_in_middle": (episode_with(dones=lambda e: np.arange(12) >= 5), ["dones[5] is True before the last step"]),
    "done_vs_metadata": (episode_with(dones=lambda e: np.zeros(12, bool)), ["dones[-1] = False", "terminated=True"]),
    "empty": (episode_with(**{k: (lambda e, k=k: e[k][:0]) for k in episode_format.STEP_ARRAYS}, episode_length=np.int64(0)),
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
    assert f"python -m pokeil_jax.data migrate --allow-pickle {tmp_path}" in str(error.value)
    # The same array behind a header that lies about its dtype: np.load's allow_pickle refusal is translated.
    npz = np.load(path, allow_pickle=False)
    with pytest.raises(data.EpisodeFormatError, match="pickled"):
        episodes.load_member(npz, "infos", path)


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


def test_the_collect_hint_names_the_env_it_was_asked_for(tmp_path):
    with pytest.raises(data.EpisodeFormatError) as error:
        data.load_demos(tmp_path, env_id="pokeil/MiniMonQuest-v0")
    assert f"--expert-data-dir {tmp_path} --num-episodes 20 --env-id pokeil/MiniMonQuest-v0" in str(error.value)
    with pytest.raises(data.EpisodeFormatError) as error:
        data.episode_paths(tmp_path)
    assert "--env-id" not in str(error.value)


def test_importing_data_does_not_import_jax():
    code = "import sys, pokeil_jax.data; assert 'jax' not in sys.modules and 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_button_names_match_the_emulator():
    assert data.NUM_ACTIONS == len(BUTTONS) == 10
