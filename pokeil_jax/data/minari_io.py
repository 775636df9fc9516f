"""Minari datasets in and out: export an episode folder into Minari's local store, read a
compatible Minari dataset back as episodes of this project's format.

Minari (Farama's standard for offline datasets, read by d3rlpy, TorchRL, AgileRL) is optional:
`pip install -r requirements-extras.txt`. It is imported only inside these functions.

What an exported dataset holds, per episode of T steps:
    observations   uint8 (T+1, 160, 240, 3)  the raw frames; the last is the frame after the final step
    actions        int64 (T,)                 the expert's intended button 0..9 (the label)
    rewards        float32 (T,)
    terminations, truncations  bool (T,)      from the episode's metadata, on its last step
    infos          per step t, after step t: milestones {name: bool (T,)}, milestone_count,
                   executed_action (what was pressed), info_json (the env's whole info as JSON)
and, as episode metadata, the source file name and its metadata JSON; as dataset metadata, the
env spec of the registered env, the expert as algorithm name, author, description, the game,
its ROM's SHA-1, frames per step, milestone and button names. Frames are stored raw (Minari's
JPEG encoding off), so the arrays come back bit for bit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import json
import os
import shutil
import sys
import uuid
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np

from pokeil_jax.actions import BUTTONS
from pokeil_jax.data.episodes import absent_keys, episode_paths, load_episode, write_episode
from pokeil_jax.data.episode_format import EpisodeFormatError
from pokeil_jax.preprocessing import FRAME_SHAPE

EXTRAS_HINT = "pip install -r requirements-extras.txt (or: pip install 'minari[hdf5]==0.5.4')"
MINIMON_ENV_ID = "pokeil/MiniMon-v0"
INFOS_LAYOUT = "infos[t] is the env's info after step t (T entries; the reset info is not recorded)"


class MinariError(ValueError):
    """A Minari dataset that cannot be written or read here; the message names it and the fix."""


def _import_minari():
    try:
        import minari
    except ImportError:
        raise MinariError(f"Minari datasets need the minari package, which is not installed. Fix: {EXTRAS_HINT}") from None
    return minari


def datasets_root() -> Path:
    """Minari's local store: $MINARI_DATASETS_PATH, else ~/.minari/datasets."""
    root = os.environ.get("MINARI_DATASETS_PATH")
    return Path(root) if root else Path.home() / ".minari" / "datasets"


@contextlib.contextmanager
def _datasets_path(root: Path):
    """Point Minari's store at `root` for the duration (Minari reads the variable on each call)."""
    before = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = before


def _check_dataset_id(dataset_id: str) -> None:
    from minari.dataset.minari_dataset import parse_dataset_id

    try:
        parse_dataset_id(dataset_id)
    except ValueError:
        raise MinariError(
            f"dataset id {dataset_id!r} is not a Minari id. Fix: use namespace/name-vN, e.g. pokeil/minimon/expert-v0."
        ) from None


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def _check_exportable(path: Path, has_final_observation: bool, metadata: dict) -> None:
    """Refuses an episode that lacks what a Minari episode must hold."""
    missing = [] if has_final_observation else ["final_observation"]
    missing += [f"metadata[{k!r}]" for k in ("terminated", "truncated") if k not in metadata]
    if missing:
        raise MinariError(
            f"{path}: cannot be exported to Minari, it lacks {', '.join(missing)} (a Minari episode holds "
            f"T+1 observations, the last one the frame after the final step, and whether it terminated or "
            f"was truncated). Fix: re-record it with `python collect_expert_data.py`."
        )


def _buffer_arrays(episode: dict) -> dict:
    """The fields of one Minari EpisodeBuffer for a loaded, exportable episode."""
    metadata = episode["metadata"]
    length = len(episode["actions"])
    terminations = np.zeros(length, bool)
    truncations = np.zeros(length, bool)
    terminations[-1] = metadata["terminated"]
    truncations[-1] = metadata["truncated"]
    infos: dict = {}
    if "executed_actions" in episode:
        infos["executed_action"] = np.asarray(episode["executed_actions"], np.int64)
    if "infos" in episode:
        texts = [str(t) for t in episode["infos"]]
        parsed = [json.loads(t) for t in texts]
        names = list(metadata.get("milestone_names", []))
        if names and all(isinstance(i.get("milestones"), dict) for i in parsed):
            infos["milestones"] = {n: np.array([bool(i["milestones"].get(n)) for i in parsed]) for n in names}
            infos["milestone_count"] = np.array([sum(i["milestones"].get(n, False) for n in names) for i in parsed], np.int64)
        infos["info_json"] = texts
    return dict(
        seed=metadata.get("seed"),
        observations=np.concatenate([episode["observations"], episode["final_observation"][None]]),
        actions=np.asarray(episode["actions"], np.int64),
        rewards=np.asarray(episode["rewards"], np.float32),
        terminations=terminations, truncations=truncations, infos=infos,
    )


def _env_spec(metadatas: list[dict], rom_path: str | None):
    """The registered env the episodes were recorded in, with their step timing as kwargs."""
    import gymnasium

    import pokeil_jax  # noqa: F401  (registers pokeil/MiniMon-v0)
    from pokeil_jax.env import rom_sha1
    from pokeil_jax.games import default_rom_path

    def one(key):
        values = {json.dumps(m.get(key)) for m in metadatas}
        if len(values) > 1:
            raise MinariError(
                f"the episodes mix {len(values)} values of {key} ({', '.join(sorted(values))}); a Minari dataset "
                f"is one env. Fix: export each setting to its own dataset id."
            )
        return metadatas[0].get(key)

    game, sha1 = one("game"), one("rom_sha1")
    kwargs = {k: one(k) for k in ("frames_per_step", "hold_frames") if one(k) is not None}
    if rom_path is None and game != "MiniMon":
        raise MinariError(
            f"the episodes were recorded in {game!r}, not the bundled MiniMon. Fix: pass --rom-path to the ROM "
            f"they were recorded with (its path goes into the dataset's env spec)."
        )
    if rom_path is not None:
        if not Path(rom_path).is_file():
            raise MinariError(f"--rom-path {rom_path}: no such file. Fix: the ROM the episodes were recorded with.")
        if rom_sha1(rom_path) != sha1:
            raise MinariError(
                f"--rom-path {rom_path} has SHA-1 {rom_sha1(rom_path)}, the episodes were recorded with {sha1}. "
                f"Fix: pass the ROM they were recorded with."
            )
        kwargs["rom_path"] = str(Path(rom_path).resolve())
    elif rom_sha1(default_rom_path()) != sha1:
        print(f"warning: the episodes were recorded with MiniMon ROM {sha1}, the bundled one is "
              f"{rom_sha1(default_rom_path())}; the dataset's env spec names the bundled env, its "
              f"metadata the recorded ROM's SHA-1", file=sys.stderr)
    return dataclasses.replace(gymnasium.spec(MINIMON_ENV_ID), kwargs=kwargs), game, sha1


def export_minari(directory: str | os.PathLike, dataset_id: str, *, author: str | None = None,
                  author_email: str | None = None, description: str | None = None,
                  code_permalink: str | None = None, rom_path: str | None = None, progress: bool = True) -> Path:
    """Write every episode of `directory` as the Minari dataset `dataset_id` in Minari's local
    store (honouring MINARI_DATASETS_PATH) through `minari.create_dataset_from_buffers`.

    The dataset is built in a hidden staging folder of the store and renamed into place when
    whole, so a killed export leaves no half dataset. Returns the dataset's folder.
    Raises MinariError or EpisodeFormatError with the fix.
    """
    minari = _import_minari()
    from minari.data_collector import EpisodeBuffer
    from minari.namespace import create_namespace, list_local_namespaces
    from tqdm import tqdm

    _check_dataset_id(dataset_id)
    root = datasets_root()
    target = root / dataset_id
    if target.exists():
        raise MinariError(
            f"Minari dataset {dataset_id} already exists at {target}. Fix: choose another id or version "
            f"(…-v1), or delete it with `minari delete {dataset_id}`."
        )
    paths = episode_paths(directory)
    # Metadata of every episode first (small arrays only): a bad or unexportable file fails before anything is written.
    headers = [load_episode(p, load_observations=False) for p in paths]
    metadatas = [h.get("metadata") or {} for h in headers]
    for path, metadata in zip(paths, metadatas):
        _check_exportable(path, "final_observation" not in absent_keys(path), metadata)
    env_spec, game, sha1 = _env_spec(metadatas, rom_path)
    experts = sorted({str(m.get("expert")) for m in metadatas})
    epsilons = sorted({float(m.get("epsilon", 0.0)) for m in metadatas})
    steps = sum(len(h["actions"]) for h in headers)
    description = description or (
        f"{len(paths)} episodes ({steps} steps) of {game} recorded with pokeil-jax by the {', '.join(experts)} "
        f"expert (epsilon {', '.join(map(str, epsilons))}). Observations: the env's raw 160x240 RGB frames, "
        f"T+1 per episode (the last is the frame after the final step). Actions: the expert's intended "
        f"button 0..9 = {' '.join(BUTTONS)}; infos: {INFOS_LAYOUT}, with the milestone flags, the "
        f"executed button and the whole info as JSON."
    )
    staging = root / f".pokeil-export-{uuid.uuid4().hex[:12]}"
    try:
        with _datasets_path(staging), warnings.catch_warnings():
            # Minari warns for every optional field left None (email, permalink, eval env).
            warnings.filterwarnings("ignore", message=r".*is set to None", category=UserWarning)
            import gymnasium

            dataset = None
            bar = tqdm(zip(paths, metadatas), total=len(paths), unit="episode", desc=f"export {dataset_id}",
                       disable=not progress, dynamic_ncols=True)
            for index, (path, metadata) in enumerate(bar):
                episode = load_episode(path)
                buffer = EpisodeBuffer(**_buffer_arrays(episode))
                if dataset is None:
                    dataset = minari.create_dataset_from_buffers(
                        dataset_id, [buffer], env=env_spec, algorithm_name=f"pokeil-jax {', '.join(experts)} expert",
                        author=author or getpass.getuser(), author_email=author_email, code_permalink=code_permalink,
                        observation_space=gymnasium.spaces.Box(0, 255, FRAME_SHAPE, np.uint8),
                        action_space=gymnasium.spaces.Discrete(len(BUTTONS)), description=description,
                        data_format="hdf5", jpeg_encoding=False,
                    )
                else:
                    dataset.update_dataset_from_buffer([buffer])
                dataset.storage.update_episode_metadata(
                    [{"source_file": path.name, "pokeil_metadata": json.dumps(metadata),
                      "episode_return": float(episode["episode_return"])}], episode_indices=[index])
            dataset.storage.update_metadata({
                "game": game, "rom_sha1": sha1, "frames_per_step": metadata.get("frames_per_step"),
                "milestone_names": list(metadata.get("milestone_names", [])), "action_meanings": list(BUTTONS),
                "infos_layout": INFOS_LAYOUT, "pokeil_episode_format_version": metadata.get("format_version"),
            })
        with _datasets_path(root):
            namespace = dataset_id.rsplit("/", 1)[0] if "/" in dataset_id else None
            if namespace and namespace not in list_local_namespaces():
                create_namespace(namespace)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / dataset_id, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


def load_minari_dataset(dataset_id: str):
    """`minari.load_dataset(dataset_id)` from the local store, with the spaces this project's
    policy takes (160x240x3 uint8 frames, Discrete(10) buttons) checked; MinariError naming the
    dataset and what differs otherwise."""
    minari = _import_minari()
    import gymnasium

    _check_dataset_id(dataset_id)
    try:
        dataset = minari.load_dataset(dataset_id)
    except FileNotFoundError:
        raise MinariError(
            f"Minari dataset {dataset_id} not found in the local store {datasets_root()} (MINARI_DATASETS_PATH). "
            f"Fix: list the local ones with `minari list local`; export a folder with "
            f"`python -m pokeil_jax.data export-minari DIR --dataset-id {dataset_id}`."
        ) from None
    obs, act = dataset.observation_space, dataset.action_space
    problems = []
    if not (isinstance(obs, gymnasium.spaces.Box) and obs.shape == FRAME_SHAPE and obs.dtype == np.uint8):
        problems.append(f"observation space {obs} (needs Box(0, 255, {FRAME_SHAPE}, uint8): raw GBA frames)")
    if not (isinstance(act, gymnasium.spaces.Discrete) and int(act.n) == len(BUTTONS) and int(act.start) == 0):
        problems.append(f"action space {act} (needs Discrete({len(BUTTONS)}): the buttons {' '.join(BUTTONS)})")
    if problems:
        raise MinariError(
            f"Minari dataset {dataset_id} does not fit this project's policy: {'; '.join(problems)}. "
            f"Fix: train on a dataset recorded in a pokeil env (e.g. one written by export-minari)."
        )
    return dataset


def iter_minari_episodes(dataset_id: str) -> Iterator[tuple[str, dict]]:
    """(file name, episode dict for `write_episode`) for each episode of a compatible Minari
    dataset: our own exports come back as they were written (file names, metadata, executed
    actions, infos); another dataset's episodes get what it holds (seed, terminated, truncated)."""
    dataset = load_minari_dataset(dataset_id)
    meta = dataset.storage.metadata
    episode_ids = list(dataset.episode_indices)
    extras = dataset.storage.get_episode_metadata(episode_ids)
    for number, (episode, extra) in enumerate(zip(dataset.iterate_episodes(episode_ids), extras), start=1):
        source = f"Minari dataset {dataset_id}, episode {episode.id}"
        length = len(episode.rewards)
        observations = np.asarray(episode.observations)
        if len(observations) != length + 1:
            raise MinariError(f"{source}: {len(observations)} observations for {length} steps, Minari stores T+1.")
        terminations = np.asarray(episode.terminations, bool)
        truncations = np.asarray(episode.truncations, bool)
        ends = np.flatnonzero((terminations | truncations)[:-1])
        if ends.size:
            raise MinariError(f"{source}: the episode ends at step {ends[0]} of {length}; each Minari episode must be one game.")
        if "pokeil_metadata" in extra:
            metadata = json.loads(str(extra["pokeil_metadata"]))
        else:
            metadata = {"format_version": 1, "game": str(meta.get("game", dataset_id)), "expert": str(meta.get("algorithm_name", "unknown"))}
            if extra.get("seed") is not None:
                metadata["seed"] = int(extra["seed"])
        metadata["terminated"], metadata["truncated"] = bool(terminations[-1]), bool(truncations[-1])
        arrays = {
            "observations": observations[:-1], "final_observation": observations[-1],
            "actions": np.asarray(episode.actions), "rewards": np.asarray(episode.rewards, np.float32),
            "dones": terminations | truncations, "metadata": metadata,
            "episode_return": np.float32(extra.get("episode_return", np.sum(episode.rewards, dtype=np.float64))),
            "episode_length": np.int64(length),
        }
        infos = episode.infos or {}
        if "executed_action" in infos:
            arrays["executed_actions"] = np.asarray(infos["executed_action"])
        if "info_json" in infos:
            arrays["infos"] = np.asarray([t.decode() if isinstance(t, bytes) else str(t) for t in infos["info_json"]], np.str_)
        name = str(extra.get("source_file", f"episode_{number:04d}.npz"))
        yield name, arrays


def _dataset_fingerprint(dataset_id: str) -> str:
    """Changes whenever the dataset's files do (their names, sizes and modification times)."""
    import hashlib

    folder = datasets_root() / dataset_id / "data"
    stamp = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir()) if p.is_file()]
    return hashlib.sha1(json.dumps([dataset_id, stamp]).encode()).hexdigest()


def episodes_folder(dataset_id: str, folder: str | os.PathLike, progress: bool = True) -> Path:
    """A compatible Minari dataset as a folder of episode files, so training reads it through the
    same validation, split and preprocessed memmap cache as any folder. Written once (atomically:
    a temp folder renamed into place) and reused while the dataset is unchanged."""
    from tqdm import tqdm



    folder = Path(folder)
    load_minari_dataset(dataset_id)  # a missing or incompatible dataset fails before anything is written
    fingerprint = _dataset_fingerprint(dataset_id)
    stamp = folder / "minari_source.json"
    if stamp.is_file() and json.loads(stamp.read_text()).get("fingerprint") == fingerprint:
        return folder
    temp = folder.with_name(f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
    temp.mkdir(parents=True)
    try:
        episodes = iter_minari_episodes(dataset_id)
        for name, arrays in tqdm(episodes, unit="episode", desc=f"read {dataset_id}", disable=not progress,
                                 dynamic_ncols=True):
            try:
                write_episode(temp / name, arrays)
            except EpisodeFormatError as e:
                raise MinariError(f"Minari dataset {dataset_id}: {e}") from None
        (temp / "minari_source.json").write_text(json.dumps({"dataset_id": dataset_id, "fingerprint": fingerprint}))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(temp, folder)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return folder
