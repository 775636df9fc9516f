"""Expert demonstrations on disk: the episode format, its validation, the preprocessed cache
and the seeded batch loader.

Episode format (version 1): one compressed NPZ per episode, `episode_0001.npz`, `episode_0002.npz`, ...

    observations      uint8   (T, 160, 240, 3)  the observation action t was chosen on
    actions           int32   (T,)              the expert's intended action, 0..9 (the label)
    executed_actions  int32   (T,)              what was pressed (differs with epsilon-noise)
    rewards           float32 (T,)
    dones             bool    (T,)              only the last step can be True
    infos             unicode (T,)              one JSON object per step (the env's info after step t)
    final_observation uint8   (160, 240, 3)     the observation after the last step
    episode_return    float32 ()
    episode_length    int64   ()                == T
    metadata          unicode ()                JSON object, keys in REQUIRED_METADATA

Actions index `pokeil_jax.emulator.BUTTONS` (A, B, START, SELECT, UP, DOWN, LEFT, RIGHT, L, R).
Nothing is ever loaded with pickle. Files are written atomically: a killed writer leaves whole
episodes and, at worst, a hidden `.episode_XXXX.npz.tmp` that every reader here ignores.

Cache: `build_cache` preprocesses each episode's frames once with the shared
`pokeil_jax.preprocessing.preprocess_frames` into `<expert_data_dir>/.cache/<sha1>-p<ver>-c<ver>/`
(one entry per episode, named by the sha1 of the NPZ's bytes and PREPROCESS_VERSION), as .npy
files opened read-only with mmap, so a data set larger than RAM trains and a new episode only
costs its own preprocessing. Deleting `.cache/` is always safe.

    python -m pokeil_jax.data inspect expert_data/ [--plot PATH]   # validate + summarize
    python -m pokeil_jax.data cache expert_data/                   # build the cache ahead of training

Host-only numpy: this module does not import JAX.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import queue
import re
import shutil
import sys
import threading
import time
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np

from pokeil_jax import preprocessing
from pokeil_jax.emulator import BUTTONS

EPISODE_FORMAT_VERSION = 1
#: Bump when the cache layout changes (PREPROCESS_VERSION covers the frames themselves).
CACHE_VERSION = 1
NUM_ACTIONS = len(BUTTONS)
FRAME_SHAPE = preprocessing.FRAME_SHAPE
NETWORK_INPUT_SHAPE = preprocessing.NETWORK_INPUT_SHAPE

REQUIRED_METADATA = (
    "format_version", "game", "rom_sha1", "frames_per_step", "expert", "seed", "epsilon",
    "milestone_names", "terminated", "truncated",
)
HOW_TO_COLLECT = "python collect_expert_data.py --expert-data-dir {directory} --num-episodes 20"

_EPISODE_NAME = re.compile(r"^episode_(\d+)\.npz$")
_NPZ_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"

# key -> (dtype, shape after the leading step axis); per-step arrays all have length T.
_STEP_ARRAYS: dict[str, tuple[str, tuple[int, ...]]] = {
    "observations": ("uint8", FRAME_SHAPE),
    "actions": ("int32", ()),
    "executed_actions": ("int32", ()),
    "rewards": ("float32", ()),
    "dones": ("bool", ()),
    "infos": ("unicode", ()),
}
_FIXED_ARRAYS: dict[str, tuple[str, tuple[int, ...]]] = {
    "final_observation": ("uint8", FRAME_SHAPE),
    "episode_return": ("float32", ()),
    "episode_length": ("int64", ()),
    "metadata": ("unicode", ()),
}
EPISODE_KEYS = tuple(_STEP_ARRAYS) + tuple(_FIXED_ARRAYS)
_FRAME_KEYS = ("observations", "final_observation")
_SMALL_KEYS = tuple(k for k in EPISODE_KEYS if k not in _FRAME_KEYS)
_HOW_TO_STORE = {
    "uint8": "np.asarray(value, np.uint8)",
    "int32": "np.asarray(value, np.int32)",
    "int64": "np.int64(value)",
    "float32": "np.asarray(value, np.float32)",
    "bool": "np.asarray(value, bool)",
    "unicode": "np.asarray(json_strings, dtype=np.str_)",
}


class EpisodeFormatError(ValueError):
    """An episode file or folder that does not follow the format; the message names the file,
    the problem and the fix."""


# --------------------------------------------------------------------------------------------
# Folder listing
# --------------------------------------------------------------------------------------------


def _episode_sort_key(path: Path):
    match = _EPISODE_NAME.match(path.name)
    return (int(match.group(1)) if match else float("inf"), path.name)


def _list_episodes(directory: Path) -> list[Path]:
    # The glob cannot match the hidden temp files (`.episode_0003.npz.tmp`) nor `.cache/`.
    return sorted((p for p in directory.glob("episode_*.npz") if p.is_file()), key=_episode_sort_key)


def episode_paths(directory: str | os.PathLike) -> list[Path]:
    """The folder's `episode_*.npz` files in episode order; temp files and `.cache/` are ignored.

    Raises EpisodeFormatError when the folder is missing or holds no episode.
    """
    directory = Path(directory)
    fix = f"Create demonstrations with `{HOW_TO_COLLECT.format(directory=directory)}`."
    if not directory.is_dir():
        raise EpisodeFormatError(f"expert data folder not found: {directory}. {fix}")
    paths = _list_episodes(directory)
    if not paths:
        raise EpisodeFormatError(f"no episode_*.npz files in {directory}/. {fix}")
    return paths


def next_episode_index_and_seed(directory: str | os.PathLike) -> tuple[int, set[int]]:
    """(index for the next new episode, game seeds already recorded) for continuing a folder.

    Numbering goes on after the highest `episode_XXXX.npz`; the seeds come from each episode's
    metadata so a collector never records a seed twice. A missing or empty folder gives (1, set()).
    """
    directory = Path(directory)
    if not directory.is_dir():
        return 1, set()
    next_index, seeds = 1, set()
    for path in _list_episodes(directory):
        match = _EPISODE_NAME.match(path.name)
        if match:
            next_index = max(next_index, int(match.group(1)) + 1)
        seeds.add(int(read_metadata(path)["seed"]))
    return next_index, seeds


# --------------------------------------------------------------------------------------------
# Validation (shared by the writer and the readers)
# --------------------------------------------------------------------------------------------


def _dtype_name(dtype: np.dtype) -> str:
    if dtype.kind == "U":
        return "unicode"
    if dtype.kind == "b":
        return "bool"
    return dtype.name if dtype.isnative else dtype.str


def _check_structure(headers: Mapping[str, tuple[tuple[int, ...], np.dtype]], source: str) -> int:
    """Keys, dtypes and shapes from (shape, dtype) pairs; returns T."""
    missing = [k for k in EPISODE_KEYS if k not in headers]
    if missing:
        raise EpisodeFormatError(
            f"{source}: missing key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
            f"(has: {', '.join(sorted(headers)) or 'nothing'}). Fix: an episode needs all of "
            f"{', '.join(EPISODE_KEYS)}; record it with `python collect_expert_data.py` or add the key."
        )
    for key, (expected, tail) in {**_STEP_ARRAYS, **_FIXED_ARRAYS}.items():
        shape, dtype = headers[key]
        if dtype.hasobject:
            raise EpisodeFormatError(
                f"{source}: key {key!r} is a pickled object array (dtype object); episode files must "
                f"not hold pickles (loading one can run code, so they are never loaded). "
                f"Fix: store it as {expected}, e.g. {_HOW_TO_STORE[expected]}."
            )
        if _dtype_name(dtype) != expected:
            raise EpisodeFormatError(
                f"{source}: key {key!r} has dtype {_dtype_name(dtype)}, expected {expected}. "
                f"Fix: store it as {_HOW_TO_STORE[expected]}."
            )
        want = ("T", *tail) if key in _STEP_ARRAYS else tail
        if len(shape) != len(want) or tuple(shape[len(shape) - len(tail):]) != tail:
            hint = ""
            if key in _FRAME_KEYS and tuple(shape[-3:]) == NETWORK_INPUT_SHAPE:
                hint = " (these look preprocessed: store the env's raw 160x240 frames)"
            raise EpisodeFormatError(
                f"{source}: key {key!r} has shape {tuple(shape)}, expected "
                f"({', '.join(map(str, want))}{',' if len(want) == 1 else ''}){hint}. "
                f"Fix: {'one entry per step, T = number of steps' if key in _STEP_ARRAYS else 'store it with exactly that shape'}."
            )
    lengths = {key: headers[key][0][0] for key in _STEP_ARRAYS}
    if len(set(lengths.values())) > 1:
        raise EpisodeFormatError(
            f"{source}: per-step arrays have different lengths ("
            + ", ".join(f"{k} {n}" for k, n in lengths.items())
            + "). Fix: one entry per step in each; observation t is the one action t was chosen on, "
            "and the observation after the last step goes in final_observation."
        )
    length = lengths["actions"]
    if length == 0:
        raise EpisodeFormatError(f"{source}: the episode has no steps (T = 0). Fix: do not save empty episodes.")
    return int(length)


def _parse_json_object(text: str, what: str, source: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise EpisodeFormatError(
            f"{source}: {what} is not valid JSON ({e.msg} at position {e.pos}: {text[:80]!r}). "
            f"Fix: write it with json.dumps(dict)."
        ) from None
    if not isinstance(value, dict):
        raise EpisodeFormatError(
            f"{source}: {what} must be a JSON object, got {type(value).__name__}. Fix: json.dumps a dict."
        )
    return value


def _check_metadata(text: str, source: str) -> dict:
    metadata = _parse_json_object(text, "metadata", source)
    missing = [k for k in REQUIRED_METADATA if k not in metadata]
    if missing:
        raise EpisodeFormatError(
            f"{source}: metadata lacks {', '.join(map(repr, missing))}. Fix: metadata needs "
            f"{', '.join(REQUIRED_METADATA)} (see collect_expert_data.py)."
        )
    version = metadata["format_version"]
    if version != EPISODE_FORMAT_VERSION:
        newer = isinstance(version, int) and version > EPISODE_FORMAT_VERSION
        raise EpisodeFormatError(
            f"{source}: episode format_version {version!r}, this code reads {EPISODE_FORMAT_VERSION}. "
            + ("Fix: update pokeil-jax to read it." if newer else "Fix: re-record the episode with `python collect_expert_data.py`.")
        )
    types = {"seed": int, "frames_per_step": int, "epsilon": (int, float), "terminated": bool,
             "truncated": bool, "game": str, "rom_sha1": str, "expert": str, "milestone_names": list}
    for key, kind in types.items():
        value = metadata[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise EpisodeFormatError(
                f"{source}: metadata[{key!r}] = {value!r} should be "
                f"{kind.__name__ if isinstance(kind, type) else 'a number'}. Fix the value in metadata."
            )
    if not all(isinstance(n, str) for n in metadata["milestone_names"]):
        raise EpisodeFormatError(f"{source}: metadata['milestone_names'] must be a list of strings.")
    return metadata


def _check_values(arrays: Mapping[str, np.ndarray], length: int, source: str) -> dict:
    """Checks the values of the small arrays; returns the parsed metadata."""
    if int(arrays["episode_length"]) != length:
        raise EpisodeFormatError(
            f"{source}: episode_length is {int(arrays['episode_length'])} but the arrays hold {length} "
            f"steps. Fix: episode_length = np.int64(len(actions))."
        )
    for key in ("actions", "executed_actions"):
        values = arrays[key]
        bad = np.flatnonzero((values < 0) | (values >= NUM_ACTIONS))
        if bad.size:
            raise EpisodeFormatError(
                f"{source}: {key}[{bad[0]}] = {values[bad[0]]} is outside 0..{NUM_ACTIONS - 1} "
                f"({bad.size} such steps). Fix: actions index the buttons {', '.join(BUTTONS)}."
            )
    dones = arrays["dones"]
    if dones[:-1].any():
        raise EpisodeFormatError(
            f"{source}: dones[{int(np.flatnonzero(dones[:-1])[0])}] is True before the last step. "
            f"Fix: one episode per file; split it where it ended."
        )
    metadata = _check_metadata(str(arrays["metadata"][()]), source)
    if bool(dones[-1]) != (metadata["terminated"] or metadata["truncated"]):
        raise EpisodeFormatError(
            f"{source}: dones[-1] = {bool(dones[-1])} but metadata says terminated="
            f"{metadata['terminated']}, truncated={metadata['truncated']}. Fix: the last done is "
            f"terminated or truncated."
        )
    for t, text in enumerate(arrays["infos"]):
        _parse_json_object(str(text), f"infos[{t}]", source)
    return metadata


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_episode(path: str | os.PathLike, episode: Mapping[str, object]) -> Path:
    """Validate `episode` (the arrays of the format; `metadata` may be a dict) and write it
    atomically as a compressed NPZ: a hidden temp file in the same folder, fsync, os.replace.

    Raises EpisodeFormatError (nothing written) when the episode does not follow the format.
    """
    path = Path(path)
    source = f"{path} (not written)"
    unknown = sorted(set(episode) - set(EPISODE_KEYS))
    if unknown:
        raise EpisodeFormatError(
            f"{source}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}. "
            f"Fix: the format's keys are {', '.join(EPISODE_KEYS)}; put anything else in metadata."
        )
    arrays = {}
    for key, value in episode.items():
        if key == "metadata" and isinstance(value, Mapping):
            value = json.dumps(dict(value), separators=(",", ":"))
        arrays[key] = np.ascontiguousarray(value) if np.ndim(value) else np.asarray(value)
    length = _check_structure({k: (a.shape, a.dtype) for k, a in arrays.items()}, source)
    _check_values(arrays, length, source)
    if not _EPISODE_NAME.match(path.name):
        raise EpisodeFormatError(
            f"{path}: episode files are named episode_XXXX.npz (e.g. episode_0001.npz) so loaders find them."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    try:
        with open(temp, "wb") as f:
            np.savez_compressed(f, **{k: arrays[k] for k in EPISODE_KEYS})
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _corrupt(path: Path, error: BaseException) -> EpisodeFormatError:
    return EpisodeFormatError(
        f"{path}: truncated or corrupt NPZ ({type(error).__name__}: {error}). The file was cut short "
        f"or damaged (interrupted copy?). Fix: copy it again, or delete it and re-record with "
        f"`python collect_expert_data.py` (which continues the folder)."
    )


def _translate(path: Path, key: str, error: BaseException) -> EpisodeFormatError:
    if isinstance(error, ValueError) and "allow_pickle" in str(error):
        return EpisodeFormatError(
            f"{path}: key {key!r} holds pickled (object) data, which is never loaded (a pickle can "
            f"run code). Fix: store strings as np.asarray(list_of_json, dtype=np.str_) and numbers "
            f"with a numeric dtype."
        )
    return _corrupt(path, error)


_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError)


def _open_npz(path: Path):
    if not path.exists():
        raise EpisodeFormatError(
            f"episode file not found: {path}. Fix: check the path; list a folder's episodes with "
            f"`python -m pokeil_jax.data inspect FOLDER`."
        )
    if not path.is_file():
        raise EpisodeFormatError(f"{path} is not a file. Fix: pass an episode_XXXX.npz file.")
    with open(path, "rb") as f:
        head = f.read(6)
    if not head:
        raise EpisodeFormatError(
            f"{path}: empty file (0 bytes), probably an interrupted copy. Fix: delete it and copy or record it again."
        )
    if head.startswith(_NPY_MAGIC):
        raise EpisodeFormatError(
            f"{path}: a single .npy array, not an episode NPZ. Fix: save episodes with "
            f"pokeil_jax.data.write_episode (one NPZ holding every key)."
        )
    if head[:4] not in _NPZ_MAGIC:
        raise EpisodeFormatError(
            f"{path}: not an NPZ file (starts with {head!r}, a zip starts with b'PK'). Fix: save "
            f"episodes with pokeil_jax.data.write_episode; move other files out of the folder."
        )
    try:
        return np.load(path, allow_pickle=False)
    except _READ_ERRORS as e:
        raise _corrupt(path, e) from None


def _member_header(npz, key: str, path: Path) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """(shape, dtype, fortran_order, data offset) from a member's .npy header, without reading data."""
    try:
        with npz.zip.open(key + ".npy") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            return shape, dtype, fortran, f.tell()
    except _READ_ERRORS as e:
        raise _translate(path, key, e) from None


def _load_member(npz, key: str, path: Path) -> np.ndarray:
    try:
        return npz[key]
    except _READ_ERRORS as e:
        raise _translate(path, key, e) from None


def _iter_frame_chunks(npz, key: str, path: Path, chunk: int) -> Iterator[np.ndarray]:
    """Decompress a (T, 160, 240, 3) member `chunk` frames at a time (zip CRC checked at the end)."""
    shape, dtype, fortran, offset = _member_header(npz, key, path)
    if fortran:  # np.save writes Fortran order only for F-contiguous arrays; rare, load whole
        frames = _load_member(npz, key, path)
        for start in range(0, len(frames), chunk):
            yield frames[start:start + chunk]
        return
    frame_bytes = int(np.prod(shape[1:])) * dtype.itemsize
    try:
        with npz.zip.open(key + ".npy") as f:
            f.seek(offset)
            for start in range(0, shape[0], chunk):
                n = min(chunk, shape[0] - start)
                buffer = f.read(n * frame_bytes)
                if len(buffer) != n * frame_bytes:
                    raise EOFError(f"{key} ends after {start * frame_bytes + len(buffer)} of {shape[0] * frame_bytes} bytes")
                yield np.frombuffer(buffer, dtype).reshape(n, *shape[1:])
            if f.read(1):
                raise ValueError(f"{key} holds more bytes than its header's shape {shape}")
    except _READ_ERRORS as e:
        raise _translate(path, key, e) from None


def _read_episode(path: str | os.PathLike, frames: str) -> dict:
    """Open and validate one episode. frames: 'load' (return them), 'verify' (decompress in
    chunks to check the zip CRCs, then drop them), 'skip' (check their headers only)."""
    path = Path(path)
    npz = _open_npz(path)
    with npz:
        headers = {}
        for key in npz.files:
            if key in EPISODE_KEYS:
                shape, dtype, _, _ = _member_header(npz, key, path)
                headers[key] = (shape, dtype)
        length = _check_structure(headers, str(path))
        episode = {key: _load_member(npz, key, path) for key in _SMALL_KEYS}
        metadata = _check_values(episode, length, str(path))
        if frames == "load":
            observations = np.empty((length, *FRAME_SHAPE), np.uint8)
            start = 0
            for chunk in _iter_frame_chunks(npz, "observations", path, 256):
                observations[start:start + len(chunk)] = chunk
                start += len(chunk)
            episode["observations"] = observations
            episode["final_observation"] = _load_member(npz, "final_observation", path)
        elif frames == "verify":
            for _ in _iter_frame_chunks(npz, "observations", path, 128):
                pass
            _load_member(npz, "final_observation", path)
    episode["metadata"] = metadata
    episode["episode_return"] = np.float32(episode["episode_return"])
    episode["episode_length"] = np.int64(episode["episode_length"])
    return episode


def load_episode(path: str | os.PathLike, load_observations: bool = True) -> dict:
    """Validated episode as a dict of the format's arrays, `metadata` parsed to a dict.

    With load_observations=False, `observations` and `final_observation` are left out (only
    their headers are checked), which reads a long episode in milliseconds.
    Raises EpisodeFormatError naming the file, the problem and the fix.
    """
    return _read_episode(path, "load" if load_observations else "skip")


def validate_episode(path: str | os.PathLike) -> dict:
    """Check every key, dtype, shape and value, and decompress the frames (in chunks) to verify
    the zip checksums; returns the parsed metadata. Raises EpisodeFormatError."""
    return _read_episode(path, "verify")["metadata"]


def read_metadata(path: str | os.PathLike) -> dict:
    """An episode's metadata dict, reading only that member (for listing big folders fast)."""
    path = Path(path)
    npz = _open_npz(path)
    with npz:
        if "metadata" not in npz.files:
            raise EpisodeFormatError(f"{path}: missing key 'metadata'. Fix: re-record it with `python collect_expert_data.py`.")
        shape, dtype, _, _ = _member_header(npz, "metadata", path)
        _check_structure_of_one(path, "metadata", shape, dtype)
        return _check_metadata(str(_load_member(npz, "metadata", path)[()]), str(path))


def _check_structure_of_one(path: Path, key: str, shape, dtype):
    expected, tail = _FIXED_ARRAYS[key]
    if dtype.hasobject or _dtype_name(dtype) != expected or tuple(shape) != tail:
        raise EpisodeFormatError(
            f"{path}: key {key!r} is {_dtype_name(dtype)} {tuple(shape)}, expected {expected} {tail}. "
            f"Fix: store it as {_HOW_TO_STORE[expected]}."
        )


# --------------------------------------------------------------------------------------------
# Inspect
# --------------------------------------------------------------------------------------------


def _last_milestones(info: dict, names: Sequence[str]) -> dict[str, bool] | None:
    if isinstance(info.get("milestones"), dict):
        return {str(k): bool(v) for k, v in info["milestones"].items()}
    if "milestone_mask" in info and names:
        mask = int(info["milestone_mask"])
        return {name: bool(mask >> i & 1) for i, name in enumerate(names)}
    return None


def summarize_episodes(paths: Sequence[str | os.PathLike], verify_frames: bool = True) -> dict:
    """Validate every episode and gather the numbers `inspect` prints.

    Returns a dict: episodes, transitions, returns (list), lengths (list), action_counts and
    executed_action_counts (int64 (10,)), milestone_reached {name: episodes}, milestone_known
    (episodes with milestone info), seeds {seed: [file names]}, experts/games/rom_sha1s/
    frames_per_step/epsilons (value -> episodes), terminated (episodes), errors (list of messages
    for bad files; those files are left out of every other number).
    """
    summary = {
        "episodes": 0, "transitions": 0, "returns": [], "lengths": [],
        "action_counts": np.zeros(NUM_ACTIONS, np.int64),
        "executed_action_counts": np.zeros(NUM_ACTIONS, np.int64),
        "milestone_reached": {}, "milestone_known": 0, "seeds": {}, "experts": {}, "games": {},
        "rom_sha1s": {}, "frames_per_step": {}, "epsilons": {}, "terminated": 0, "errors": [],
    }
    for path in paths:
        try:
            episode = _read_episode(path, "verify" if verify_frames else "skip")
        except EpisodeFormatError as e:
            summary["errors"].append(str(e))
            continue
        metadata, length = episode["metadata"], int(episode["episode_length"])
        summary["episodes"] += 1
        summary["transitions"] += length
        summary["returns"].append(float(episode["episode_return"]))
        summary["lengths"].append(length)
        summary["action_counts"] += np.bincount(episode["actions"], minlength=NUM_ACTIONS)
        summary["executed_action_counts"] += np.bincount(episode["executed_actions"], minlength=NUM_ACTIONS)
        summary["terminated"] += bool(metadata["terminated"])
        summary["seeds"].setdefault(int(metadata["seed"]), []).append(Path(path).name)
        for key, field in (("experts", "expert"), ("games", "game"), ("rom_sha1s", "rom_sha1"),
                           ("frames_per_step", "frames_per_step"), ("epsilons", "epsilon")):
            summary[key][metadata[field]] = summary[key].get(metadata[field], 0) + 1
        names = list(metadata["milestone_names"])
        for name in names:
            summary["milestone_reached"].setdefault(name, 0)
        milestones = _last_milestones(json.loads(str(episode["infos"][-1])), names)
        if milestones is not None:
            summary["milestone_known"] += 1
            for name, reached in milestones.items():
                summary["milestone_reached"][name] = summary["milestone_reached"].get(name, 0) + int(reached)
    return summary


def _ranges(values: Sequence[int]) -> str:
    values = sorted(values)
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(str(start) if start == v else f"{start}-{v}")
            start = None
    return ", ".join(parts)


def format_summary(summary: dict, directory: str | os.PathLike) -> str:
    """The table `inspect` prints (plain text)."""
    lines = []
    n, total = summary["episodes"], summary["transitions"]
    bad = len(summary["errors"])
    lines.append(f"{directory}: {n} valid episode{'s' if n != 1 else ''}" + (f", {bad} bad" if bad else "")
                 + f", {total:,} transitions")
    if n:
        lines.append(f"  {'':<10}{'mean':>12}{'min':>12}{'max':>12}")
        for label, values in (("return", summary["returns"]), ("length", summary["lengths"])):
            v = np.asarray(values, np.float64)
            lines.append(f"  {label:<10}{v.mean():>12.3f}{v.min():>12.3f}{v.max():>12.3f}")
        lines.append(f"  completed (terminated): {summary['terminated']}/{n}")
        if summary["milestone_reached"]:
            known = summary["milestone_known"]
            lines.append(f"  milestones reached (last info of {known}/{n} episodes):")
            width = max(len(name) for name in summary["milestone_reached"])
            for name, count in summary["milestone_reached"].items():
                rate = count / known if known else float("nan")
                lines.append(f"    {name:<{width}}  {count:>5}/{known:<5} {rate:7.1%}")
        lines.append(f"  {'actions':<11}{'intended (label)':>16}{'executed':>18}")
        labels, executed = summary["action_counts"], summary["executed_action_counts"]
        for i, button in enumerate(BUTTONS):
            lines.append(
                f"    {i} {button:<7}{labels[i]:>9,} {labels[i] / max(total, 1):6.1%}"
                f"{executed[i]:>11,} {executed[i] / max(total, 1):6.1%}"
            )
        seeds = summary["seeds"]
        lines.append(f"  seeds: {_ranges(list(seeds))} ({len(seeds)} distinct)")
        for seed, files in sorted(seeds.items()):
            if len(files) > 1:
                lines.append(f"    warning: seed {seed} recorded {len(files)} times: {', '.join(files)}")
        for key, label in (("experts", "experts"), ("epsilons", "epsilon"), ("games", "games"),
                           ("rom_sha1s", "rom sha1"), ("frames_per_step", "frames/step")):
            values = ", ".join(f"{v} ({c})" for v, c in summary[key].items())
            lines.append(f"  {label}: {values}")
        for key, label in (("rom_sha1s", "ROMs"), ("frames_per_step", "frames per step")):
            if len(summary[key]) > 1:
                lines.append(f"  warning: episodes mix {len(summary[key])} {label}; train on one setting.")
    return "\n".join(lines)


def plot_action_histogram(summary: dict, path: str | os.PathLike, title: str = "") -> Path:
    """Bar chart of intended (label) and executed action counts per button, saved as PNG (atomic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    x = np.arange(NUM_ACTIONS)
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    ax.bar(x - 0.2, summary["action_counts"], width=0.4, label="intended (label)")
    ax.bar(x + 0.2, summary["executed_action_counts"], width=0.4, label="executed")
    ax.set_xticks(x, BUTTONS)
    ax.set_ylabel("steps")
    ax.set_title(title or f"actions over {summary['episodes']} episodes, {summary['transitions']:,} steps")
    top = max(summary["action_counts"].max(), summary["executed_action_counts"].max(), 1)
    ax.set_ylim(0, top * 1.2)  # headroom so the legend never covers a bar
    ax.legend(loc="upper right", ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    fig.savefig(temp, format="png")
    plt.close(fig)
    os.replace(temp, path)
    return path


def inspect_folder(directory: str | os.PathLike, plot: str | os.PathLike | None = None,
                   verify_frames: bool = True) -> int:
    """`python -m pokeil_jax.data inspect`: print the table and save the PNG; 0 if every file is valid, else 1."""
    directory = Path(directory)
    try:
        paths = episode_paths(directory)
    except EpisodeFormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    summary = summarize_episodes(paths, verify_frames=verify_frames)
    print(format_summary(summary, directory))
    if summary["episodes"]:
        plot_path = plot_action_histogram(
            summary, plot or directory / "action_histogram.png",
            f"{directory}: actions over {summary['episodes']} episode{'s' if summary['episodes'] != 1 else ''}, "
            f"{summary['transitions']:,} steps",
        )
        print(f"  action histogram: {plot_path}")
    if summary["errors"]:
        print(f"\n{len(summary['errors'])} of {len(paths)} episode files are bad:", file=sys.stderr)
        for message in summary["errors"]:
            print(f"  - {message}", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------


def default_cache_dir(expert_data_dir: str | os.PathLike) -> Path:
    """`<expert_data_dir>/.cache` (hidden, so episode listings ignore it)."""
    return Path(expert_data_dir) / ".cache"


def _sha1_file(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


class _HashMemo:
    """sha1 of files, remembered in `cache_dir/file_hashes.json` under (size, mtime_ns, inode) so
    an unchanged file is not hashed again; any of those changing forces a re-hash."""

    def __init__(self, cache_dir: Path):
        self.path = cache_dir / "file_hashes.json"
        try:
            self.table = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.table = {}
        self.dirty = False

    def sha1(self, path: Path) -> str:
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        key = str(path.resolve())
        known = self.table.get(key)
        if known and known[:3] == stamp:
            return known[3]
        digest = _sha1_file(path)
        self.table[key] = stamp + [digest]
        self.dirty = True
        return digest

    def save(self):
        if self.dirty:
            temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            temp.write_text(json.dumps(self.table))
            os.replace(temp, self.path)


def _entry_name(sha1: str) -> str:
    return f"{sha1}-p{preprocessing.PREPROCESS_VERSION}-c{CACHE_VERSION}"


_ENTRY_ARRAYS = ("actions", "executed_actions", "rewards", "dones", "terminals")


def _build_entry(path: Path, sha1: str, entry_dir: Path, chunk_frames: int, bar) -> None:
    """Preprocess one episode into `entry_dir` (written under a temp name, renamed when whole)."""
    episode = _read_episode(path, "skip")
    length = int(episode["episode_length"])
    temp = entry_dir.with_name(f".tmp-{entry_dir.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    temp.mkdir(parents=True)
    try:
        frames = np.lib.format.open_memmap(temp / "frames.npy", mode="w+", dtype=np.uint8,
                                           shape=(length + 1, *NETWORK_INPUT_SHAPE))
        npz = _open_npz(path)
        with npz:
            start = 0
            for chunk in _iter_frame_chunks(npz, "observations", path, chunk_frames):
                frames[start:start + len(chunk)] = preprocessing.preprocess_frames(chunk)
                start += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
            frames[length] = preprocessing.preprocess_frames(_load_member(npz, "final_observation", path))
        frames.flush()
        del frames
        terminals = np.zeros(length, bool)
        terminals[-1] = episode["metadata"]["terminated"]
        arrays = {**{k: episode[k] for k in _ENTRY_ARRAYS[:-1]}, "terminals": terminals}
        for key, value in arrays.items():
            np.save(temp / f"{key}.npy", value)
        entry = {
            "source": path.name, "sha1": sha1, "length": length,
            "preprocess_version": preprocessing.PREPROCESS_VERSION, "cache_version": CACHE_VERSION,
            "seed": episode["metadata"]["seed"], "episode_return": float(episode["episode_return"]),
        }
        (temp / "entry.json").write_text(json.dumps(entry))
        try:
            os.replace(temp, entry_dir)
        except OSError:
            if not (entry_dir / "entry.json").exists():  # someone else finishing it first is fine
                raise
    finally:
        if temp.exists():
            shutil.rmtree(temp)


@dataclasses.dataclass(frozen=True)
class CachedEpisode:
    """One episode in the cache: `frames` is a read-only memmap uint8 (T+1, 84, 84, 3) holding the
    preprocessed observations and, last, the preprocessed final observation."""

    source: Path
    sha1: str
    seed: int
    frames: np.ndarray
    actions: np.ndarray
    executed_actions: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    terminals: np.ndarray

    @property
    def length(self) -> int:
        return len(self.actions)


def _open_entry(entry_dir: Path, source: Path) -> CachedEpisode:
    meta = json.loads((entry_dir / "entry.json").read_text())
    arrays = {key: np.load(entry_dir / f"{key}.npy", allow_pickle=False) for key in _ENTRY_ARRAYS}
    frames = np.load(entry_dir / "frames.npy", mmap_mode="r", allow_pickle=False)
    return CachedEpisode(source=source, sha1=meta["sha1"], seed=int(meta["seed"]), frames=frames, **arrays)


BATCH_KEYS = ("observations", "actions", "next_observations", "rewards", "dones", "terminals",
              "executed_actions", "episode_ids")


class CachedDemos:
    """The cached episodes as one flat set of N transitions.

    Transition i belongs to episode `episode_ids[i]`; its observation is frame
    `frame_index[i]` and its next observation frame `next_frame_index[i] = frame_index[i] + 1`,
    which is the next step's observation or, at the episode's last step, its final observation
    (frames are laid out per episode as T observations then the final one). Flat arrays
    (actions int32, executed_actions int32, rewards float32, dones bool, terminals bool:
    done by termination, not truncation; episode_ids int32; frame indices int64) live in RAM,
    frames stay in the read-only memmaps.
    """

    def __init__(self, episodes: Sequence[CachedEpisode]):
        if not episodes:
            raise EpisodeFormatError("no episodes to load (empty list). Fix: pass at least one episode path.")
        self.episodes = list(episodes)
        lengths = np.array([e.length for e in self.episodes], np.int64)
        self.episode_lengths = lengths
        self.transition_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.frame_starts = self.transition_starts + np.arange(len(lengths))
        self.episode_ids = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
        self.frame_index = np.arange(lengths.sum(), dtype=np.int64) + self.episode_ids
        self.next_frame_index = self.frame_index + 1
        for key in _ENTRY_ARRAYS:
            setattr(self, key, np.concatenate([getattr(e, key) for e in self.episodes]))

    @property
    def num_transitions(self) -> int:
        return len(self.actions)

    def __len__(self) -> int:
        return self.num_transitions

    @property
    def num_episodes(self) -> int:
        return len(self.episodes)

    @property
    def sources(self) -> list[Path]:
        return [e.source for e in self.episodes]

    def frames(self, frame_indices: np.ndarray) -> np.ndarray:
        """uint8 (len, 84, 84, 3): frames by global frame index (a fresh array, not a memmap view)."""
        frame_indices = np.asarray(frame_indices, np.int64)
        out = np.empty((len(frame_indices), *NETWORK_INPUT_SHAPE), np.uint8)
        owner = np.searchsorted(self.frame_starts, frame_indices, side="right") - 1
        for e in np.unique(owner):
            rows = np.flatnonzero(owner == e)
            out[rows] = self.episodes[e].frames[frame_indices[rows] - self.frame_starts[e]]
        return out

    def batch(self, indices: np.ndarray, keys: Sequence[str] = ("observations", "actions")) -> dict[str, np.ndarray]:
        """The transitions `indices` (int, (B,)) as a dict of arrays with leading axis B; `keys` from BATCH_KEYS."""
        indices = np.asarray(indices, np.int64)
        out = {}
        for key in keys:
            if key == "observations":
                out[key] = self.frames(self.frame_index[indices])
            elif key == "next_observations":
                out[key] = self.frames(self.next_frame_index[indices])
            else:
                out[key] = getattr(self, key)[indices]
        return out

    def eval_batches(self, batch_size: int, keys: Sequence[str] = ("observations", "actions")) -> Iterator[dict]:
        """Every transition once, in order, as fixed-shape batches; the last one wraps around and
        its float32 `mask` (B,) is 0 on the repeats, so averages weight each transition once."""
        n = self.num_transitions
        for start in range(0, n, batch_size):
            indices = np.arange(start, start + batch_size)
            batch = self.batch(indices % n, keys)
            batch["mask"] = (indices < n).astype(np.float32)
            yield batch


def build_cache(paths: Sequence[str | os.PathLike], cache_dir: str | os.PathLike | None = None, *,
                chunk_frames: int = 32, progress: bool = True) -> CachedDemos:
    """Validate the episodes, preprocess the frames of any not cached yet (in chunks of
    `chunk_frames`, one episode at a time, a tqdm bar over frames), and open them all read-only.

    Cache entries are keyed by the sha1 of each file's bytes and PREPROCESS_VERSION, so a changed
    file or preprocessing gets a new entry and a new episode only adds its own; an entry is only
    ever made from a file that passed validation, so a hit needs no re-validation. Every file to
    build is validated before any preprocessing starts. `cache_dir` defaults to
    `<folder of the first episode>/.cache`.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise EpisodeFormatError(
            f"no episodes given to build_cache. Fix: pass episode_paths(folder); create demonstrations "
            f"with `{HOW_TO_COLLECT.format(directory='expert_data')}`."
        )
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir(paths[0].parent)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for temp in cache_dir.glob(".tmp-*"):  # left by a killed build; a day old cannot be in progress
        if time.time() - temp.stat().st_mtime > 86400:
            shutil.rmtree(temp, ignore_errors=True)
    memo = _HashMemo(cache_dir)
    entries, todo = [], []
    for path in paths:
        if not path.is_file():
            _open_npz(path)  # raises the file-not-found message
        entry_dir = cache_dir / _entry_name(memo.sha1(path))
        entries.append(entry_dir)
        if not (entry_dir / "entry.json").exists():
            # Headers and small arrays only: cheap, and a bad file fails before any preprocessing.
            todo.append((path, entry_dir, int(_read_episode(path, "skip")["episode_length"])))
    memo.save()
    if todo:
        from tqdm import tqdm

        total = sum(length + 1 for _, _, length in todo)
        with tqdm(total=total, unit="frame", desc=f"preprocess {len(todo)} episodes", disable=not progress,
                  dynamic_ncols=True) as bar:
            for path, entry_dir, length in todo:
                if (entry_dir / "entry.json").exists():  # a second copy of a file already built
                    bar.update(length + 1)
                    continue
                _build_entry(path, entry_dir.name.split("-")[0], entry_dir, chunk_frames, bar)
                bar.update(1)
    return CachedDemos([_open_entry(entry_dir, path) for path, entry_dir in zip(paths, entries)])


def split_episodes(paths_or_ids: Sequence, val_fraction: float, seed: int) -> tuple[list, list]:
    """Deterministic episode-level (train, val) split; both keep the input order.

    Episodes are ranked by a hash of (seed, file name or id), so an episode's side depends only on
    the seed and its name, not on what else is in the folder. With val_fraction > 0 and at least
    2 episodes, val gets at least 1 and train at least 1.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    items = list(paths_or_ids)
    n = len(items)
    n_val = min(max(round(val_fraction * n), 1), n - 1) if val_fraction > 0 and n >= 2 else 0

    def rank(i):
        name = Path(items[i]).name if isinstance(items[i], (str, os.PathLike)) else str(items[i])
        return hashlib.sha1(f"{seed}:{name}".encode()).hexdigest(), i

    val_set = set(sorted(range(n), key=rank)[:n_val])
    return [x for i, x in enumerate(items) if i not in val_set], [x for i, x in enumerate(items) if i in val_set]


def shard(items: Sequence, process_index: int, process_count: int) -> list:
    """This process's share of `items`: items[process_index::process_count] (disjoint, covering)."""
    if process_count < 1 or not 0 <= process_index < process_count:
        raise ValueError(f"need 0 <= process_index < process_count, got {process_index} of {process_count}")
    mine = list(items)[process_index::process_count]
    if not mine:
        raise EpisodeFormatError(
            f"process {process_index} of {process_count} gets no episode ({len(items)} in all). "
            f"Fix: collect at least {process_count} episodes or run on fewer processes."
        )
    return mine


def load_demos(expert_data_dir: str | os.PathLike, *, val_fraction: float = 0.1, seed: int = 0,
               process_index: int = 0, process_count: int = 1, cache_dir: str | os.PathLike | None = None,
               progress: bool = True) -> tuple[CachedDemos, CachedDemos | None]:
    """(train, val) demos from a folder: episode split by `seed`, train sharded over processes
    (each loads only its episodes), val whole on every process (None when val_fraction is 0)."""
    paths = episode_paths(expert_data_dir)
    train, val = split_episodes(paths, val_fraction, seed)
    cache_dir = cache_dir if cache_dir is not None else default_cache_dir(expert_data_dir)
    train_demos = build_cache(shard(train, process_index, process_count), cache_dir, progress=progress)
    val_demos = build_cache(val, cache_dir, progress=progress) if val else None
    return train_demos, val_demos


# --------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------


class BatchSampler:
    """Uniform batches of transitions, with replacement, prefetched by a background thread.

    The indices of step k are a pure function of (seed, k) (`sample_indices`), so a run resumed
    with start_step=k continues the exact stream of an uninterrupted one. Each batch is a dict
    of fresh numpy arrays: observations uint8 (B, 84, 84, 3), actions int32 (B,), plus any other
    `keys` from BATCH_KEYS (next_observations, rewards, dones, terminals, ...). `step` is the
    step of the batch `next()` returns next. An exception in the thread is raised by `next()`.
    Use as a context manager, or call close().
    """

    def __init__(self, demos: CachedDemos, batch_size: int, seed: int, start_step: int = 0, *,
                 keys: Sequence[str] = ("observations", "actions"), prefetch: int = 4):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if start_step < 0:
            raise ValueError(f"start_step must be >= 0, got {start_step}")
        known = getattr(demos, "BATCH_KEYS", BATCH_KEYS)  # e.g. transitions.NStepTransitions
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise ValueError(f"unknown batch keys {unknown}; choose from {known}")
        self.demos, self.batch_size, self.seed, self.keys = demos, batch_size, seed, tuple(keys)
        self._step = start_step
        self._queue: queue.Queue = queue.Queue(maxsize=max(prefetch, 1))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._produce, args=(start_step,), daemon=True,
                                        name="BatchSampler-prefetch")
        self._thread.start()

    def sample_indices(self, step: int) -> np.ndarray:
        """int64 (B,): the transitions of batch `step`, a pure function of (seed, step)."""
        rng = np.random.default_rng([self.seed, step])
        return rng.integers(0, self.demos.num_transitions, size=self.batch_size)

    def batch_at(self, step: int) -> dict[str, np.ndarray]:
        """The batch of `step`, computed in the calling thread (what the prefetcher yields)."""
        return self.demos.batch(self.sample_indices(step), self.keys)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, step: int):
        try:
            while self._put((step, self.batch_at(step))):
                step += 1
        except BaseException as e:  # handed to the consumer, raised from next()
            self._put((step, e))

    @property
    def step(self) -> int:
        return self._step

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        if self._error is not None:
            raise self._error
        if self._stop.is_set():
            raise RuntimeError("BatchSampler is closed")
        _, item = self._queue.get()
        if isinstance(item, BaseException):
            self._error = item
            self.close()
            raise item
        self._step += 1
        return item

    def iterate(self, num_steps: int | None = None) -> Iterator[dict[str, np.ndarray]]:
        """Yield `num_steps` batches (forever when None)."""
        count = 0
        while num_steps is None or count < num_steps:
            yield next(self)
            count += 1

    def close(self):
        """Stop the prefetch thread and wait for it (idempotent)."""
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()

    @property
    def closed(self) -> bool:
        return not self._thread.is_alive()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pokeil_jax.data", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="validate every episode and print a summary table")
    inspect.add_argument("directory", help="folder of episode_XXXX.npz files")
    inspect.add_argument("--plot", default=None, help="PNG of the action histogram (default: DIRECTORY/action_histogram.png)")
    inspect.add_argument("--quick", action="store_true", help="check frame headers only, do not decompress frames")
    cache = commands.add_parser("cache", help="build the preprocessed cache (DIRECTORY/.cache) ahead of training")
    cache.add_argument("directory")
    args = parser.parse_args(argv)
    if args.command == "inspect":
        return inspect_folder(args.directory, args.plot, verify_frames=not args.quick)
    try:
        start = time.perf_counter()
        demos = build_cache(episode_paths(args.directory), default_cache_dir(args.directory))
    except EpisodeFormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"cache ready: {demos.num_episodes} episodes, {demos.num_transitions:,} transitions in "
          f"{default_cache_dir(args.directory)} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
