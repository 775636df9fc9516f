"""Minari datasets in and out (pokeil_jax/data/minari_io.py): export -> minari.load_dataset gives
back the same arrays; incompatible datasets and bad ids are one clear line."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

minari = pytest.importorskip("minari")

from plan_collector import collect_like_the_plan  # noqa: E402
from pokeil_jax import data  # noqa: E402
from pokeil_jax.data import minari_io  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATASET_ID = "pokeil/minimon/expert-v0"


def record_folder(folder: Path, seeds=(3, 4), max_steps=10, epsilon=0.3) -> Path:
    """Real MiniMon episodes through the collector's own loop (short, cut at max_steps)."""
    from pokeil_jax.env import PokemonEnv, rom_sha1
    from pokeil_jax.experts import make_expert
    from pokeil_jax.rollout import episode_metadata, epsilon_chooser, record_episode, to_episode_file

    env = PokemonEnv(max_episode_steps=max_steps)
    expert = make_expert("scripted")
    choose = epsilon_chooser(epsilon, np.random.default_rng(0))
    for number, seed in enumerate(seeds, start=1):
        episode = record_episode(env, expert, seed, choose)
        metadata = episode_metadata(env, rom_sha1(env.rom_path), "scripted", seed, epsilon, episode)
        data.write_episode(folder / f"episode_{number:04d}.npz", to_episode_file(episode, metadata))
    env.close()
    return folder


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return record_folder(tmp_path_factory.mktemp("minari") / "expert_data")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "store"))
    return tmp_path / "store"


def run_cli(*argv, env_extra=None):
    import os

    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "pokeil_jax.data", *map(str, argv)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_export_then_load_dataset_gives_back_the_same_arrays(recorded, store):
    assert data.main(["export-minari", str(recorded), "--dataset-id", DATASET_ID, "--author", "Ada"]) == 0
    assert (store / DATASET_ID / "data" / "metadata.json").is_file()
    assert not [p for p in store.iterdir() if p.name.startswith(".")]  # staging folder gone

    dataset = minari.load_dataset(DATASET_ID)
    paths = data.episode_paths(recorded)
    assert dataset.total_episodes == len(paths) == 2
    assert str(dataset.observation_space) == "Box(0, 255, (160, 240, 3), uint8)"
    assert str(dataset.action_space) == "Discrete(10)"
    meta = dataset.storage.metadata
    assert json.loads(meta["env_spec"])["id"] == "pokeil/MiniMon-v0"
    assert dataset.recover_environment().spec.id == "pokeil/MiniMon-v0"
    assert meta["author"] == {"Ada"} and "scripted" in meta["algorithm_name"] and "T+1" in meta["description"]
    assert meta["jpeg_encoding"] is False
    extras = list(dataset.storage.get_episode_metadata(range(len(paths))))
    for episode, extra, path in zip(dataset.iterate_episodes(), extras, paths):
        ours = data.load_episode(path)
        length = len(ours["actions"])
        assert extra["source_file"] == path.name and json.loads(extra["pokeil_metadata"]) == ours["metadata"]
        assert meta["rom_sha1"] == ours["metadata"]["rom_sha1"] and int(extra["seed"]) == ours["metadata"]["seed"]
        np.testing.assert_array_equal(episode.observations[:length], ours["observations"])
        np.testing.assert_array_equal(episode.observations[length], ours["final_observation"])
        assert episode.observations.shape == (length + 1, 160, 240, 3) and episode.observations.dtype == np.uint8
        np.testing.assert_array_equal(episode.actions, ours["actions"])
        np.testing.assert_array_equal(episode.rewards, ours["rewards"])
        np.testing.assert_array_equal(episode.terminations | episode.truncations, ours["dones"])
        assert bool(episode.truncations[-1]) == ours["metadata"]["truncated"]
        assert not episode.terminations[:-1].any() and not episode.truncations[:-1].any()
        np.testing.assert_array_equal(episode.infos["executed_action"], ours["executed_actions"])
        infos = [json.loads(t) for t in ours["infos"]]
        assert [t.decode() for t in episode.infos["info_json"]] == [str(t) for t in ours["infos"]]
        for name in ours["metadata"]["milestone_names"]:
            np.testing.assert_array_equal(episode.infos["milestones"][name], [i["milestones"][name] for i in infos])


def test_minari_episodes_come_back_as_the_same_episode_files(recorded, store, tmp_path):
    assert data.main(["export-minari", str(recorded), "--dataset-id", DATASET_ID]) == 0
    back = minari_io.episodes_folder(DATASET_ID, tmp_path / "back")
    for path in data.episode_paths(recorded):
        original, returned = data.load_episode(path), data.load_episode(back / path.name)
        assert original.keys() == returned.keys()
        for key, value in original.items():
            if key == "metadata":
                assert returned[key] == value
            else:
                np.testing.assert_array_equal(returned[key], value)
                assert returned[key].dtype == value.dtype


def test_export_refuses_what_it_cannot_write_in_one_line(recorded, store, tmp_path):
    assert run_cli("export-minari", recorded, "--dataset-id", DATASET_ID,
                   env_extra={"MINARI_DATASETS_PATH": str(store)}).returncode == 0
    cases = [
        ((recorded, "--dataset-id", DATASET_ID), "already exists"),
        ((recorded, "--dataset-id", "no spaces allowed"), "not a Minari id"),
        ((tmp_path / "nowhere", "--dataset-id", "pokeil/minimon/other-v0"), "not found"),
        ((collect_like_the_plan(tmp_path / "plan", num_episodes=1, max_steps=3), "--dataset-id",
          "pokeil/minimon/plan-v0"), "lacks final_observation, metadata['terminated']"),
    ]
    for argv, words in cases:
        out = run_cli("export-minari", *argv, env_extra={"MINARI_DATASETS_PATH": str(store)})
        assert out.returncode == 1, out
        assert words in out.stderr and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_an_incompatible_dataset_names_itself_and_what_differs(store):
    import gymnasium
    from minari.data_collector import EpisodeBuffer

    buffer = EpisodeBuffer(observations=np.zeros((4, 4), np.float32), actions=np.zeros(3, np.int64),
                           rewards=[0.0] * 3, terminations=[False] * 3, truncations=[False, False, True])
    minari.create_dataset_from_buffers(
        "other/cartpole-v0", [buffer], observation_space=gymnasium.spaces.Box(-1, 1, (4,), np.float32),
        action_space=gymnasium.spaces.Discrete(2), algorithm_name="x", author="x", author_email="x",
        code_permalink="x", description="x")
    with pytest.raises(minari_io.MinariError) as error:
        minari_io.load_minari_dataset("other/cartpole-v0")
    message = str(error.value)
    assert "other/cartpole-v0" in message and "(4,)" in message and "Discrete(2)" in message
    with pytest.raises(minari_io.MinariError, match="not found in the local store"):
        minari_io.load_minari_dataset("pokeil/minimon/missing-v0")


@pytest.mark.slow
def test_training_from_the_export_equals_training_from_the_folder(recorded, store, tmp_path):
    import bc_pokemon_jax as script

    assert data.main(["export-minari", str(recorded), "--dataset-id", DATASET_ID]) == 0
    common = dict(checkpoint_dir=str(tmp_path / "ck"), log_dir=str(tmp_path / "runs"), batch_size=8, seed=3,
                  total_training_steps=1, log_frequency=1, eval_frequency=0, val_fraction=0.5, kernels="xla",
                  final_eval_episodes=1, eval_max_steps=3, eval_num_envs=1, compare_expert="")
    from_folder = script.main(script.Args(expert_data_dir=str(recorded), exp_name="folder", **common))
    elsewhere = tmp_path / "elsewhere"
    from_minari = script.main(script.Args(expert_data_dir=str(elsewhere), minari_dataset=DATASET_ID,
                                          exp_name="minari", **common))
    assert from_minari["train_history"][0]["loss"] == from_folder["train_history"][0]["loss"]
    assert from_minari["reports"]["BC policy"]["episodes"] == 1

    folder_demos = data.load_demos(recorded, val_fraction=0.5, seed=3, progress=False)
    converted = elsewhere / ".cache" / "minari" / DATASET_ID.replace("/", "__")
    minari_demos = data.load_demos(converted, val_fraction=0.5, seed=3, cache_dir=elsewhere / ".cache", progress=False)
    for ours, theirs in zip(folder_demos, minari_demos):
        assert [p.name for p in ours.sources] == [p.name for p in theirs.sources]
        for key in ("actions", "executed_actions", "rewards", "dones", "terminals", "has_successor"):
            np.testing.assert_array_equal(getattr(ours, key), getattr(theirs, key))
        every_frame = np.arange(ours.num_transitions + ours.num_episodes)
        np.testing.assert_array_equal(ours.frames(every_frame), theirs.frames(every_frame))


def test_a_compatible_dataset_from_elsewhere_becomes_episode_files(store, tmp_path):
    import gymnasium
    from minari.data_collector import EpisodeBuffer

    rng = np.random.default_rng(0)
    buffers = []
    for seed, length in ((11, 4), (12, 6)):
        buffers.append(EpisodeBuffer(
            seed=seed, observations=rng.integers(0, 256, (length + 1, 160, 240, 3), dtype=np.uint8),
            actions=rng.integers(0, 10, length), rewards=list(rng.random(length)),
            terminations=[False] * (length - 1) + [seed == 11], truncations=[False] * (length - 1) + [seed == 12]))
    minari.create_dataset_from_buffers(
        "someone/gba/random-v0", buffers, observation_space=gymnasium.spaces.Box(0, 255, (160, 240, 3), np.uint8),
        action_space=gymnasium.spaces.Discrete(10), algorithm_name="random", author="x", author_email="x",
        code_permalink="x", description="x", jpeg_encoding=False)
    folder = minari_io.episodes_folder("someone/gba/random-v0", tmp_path / "converted", progress=False)
    paths = data.episode_paths(folder)
    assert [p.name for p in paths] == ["episode_0001.npz", "episode_0002.npz"]
    for path, buffer in zip(paths, buffers):
        episode = data.load_episode(path)
        np.testing.assert_array_equal(episode["observations"], buffer.observations[:-1])
        np.testing.assert_array_equal(episode["final_observation"], buffer.observations[-1])
        np.testing.assert_array_equal(episode["actions"], buffer.actions)
        assert episode["metadata"]["seed"] == buffer.seed and episode["metadata"]["expert"] == "random"
        assert episode["metadata"]["terminated"] == buffer.terminations[-1]
        assert set(data.absent_keys(path)) == {"executed_actions", "infos"}
    stamp = (folder / "minari_source.json").stat().st_mtime_ns
    assert minari_io.episodes_folder("someone/gba/random-v0", tmp_path / "converted", progress=False) == folder
    assert (folder / "minari_source.json").stat().st_mtime_ns == stamp  # unchanged dataset: not rewritten
