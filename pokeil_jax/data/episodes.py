"""The episode format on disk, its validation, and reading and writing episodes.

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

Actions index `pokeil_jax.actions.BUTTONS` (A, B, START, SELECT, UP, DOWN, LEFT, RIGHT, L, R).
Nothing is ever loaded with pickle. Files are written atomically: a killed writer leaves whole
episodes and, at worst, a hidden `.episode_XXXX.npz.<pid>.<id>.tmp` that every reader here ignores.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
import zlib
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

from pokeil_jax import preprocessing
from pokeil_jax.actions import BUTTONS, NUM_ACTIONS
from pokeil_jax.atomic import atomic_write

EPISODE_FORMAT_VERSION = 1
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
    atomically (`pokeil_jax.atomic.atomic_write`) as a compressed NPZ.

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
    with atomic_write(path) as f:
        np.savez_compressed(f, **{k: arrays[k] for k in EPISODE_KEYS})
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
