"""Episode files and folders: listing a folder in episode order, writing an episode atomically,
and reading one back validated (the format is `episode_format.py`, its checks `validation.py`).

Nothing is ever loaded with pickle. Files are written atomically: a killed writer leaves whole
episodes and, at worst, a hidden `.episode_XXXX.npz.<pid>.<id>.tmp` that every reader here ignores.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

from pokeil_jax.atomic import atomic_write
from pokeil_jax.data.episode_format import (
    EPISODE_KEYS, EPISODE_NAME, FRAME_SHAPE, HOW_TO_MIGRATE, NPY_MAGIC, NPZ_MAGIC, SMALL_KEYS,
    EpisodeFormatError, how_to_collect,
)
from pokeil_jax.data.validation import check_metadata, check_structure, check_structure_of_one, check_values

# --------------------------------------------------------------------------------------------
# Folder listing
# --------------------------------------------------------------------------------------------


def _episode_sort_key(path: Path):
    match = EPISODE_NAME.match(path.name)
    return (int(match.group(1)) if match else float("inf"), path.name)


def _list_episodes(directory: Path) -> list[Path]:
    # The glob cannot match the hidden temp files (`.episode_0003.npz.tmp`) nor `.cache/`.
    return sorted((p for p in directory.glob("episode_*.npz") if p.is_file()), key=_episode_sort_key)


def episode_paths(directory: str | os.PathLike, env_id: str | None = None) -> list[Path]:
    """The folder's `episode_*.npz` files in episode order; temp files and `.cache/` are ignored.

    Raises EpisodeFormatError when the folder is missing or holds no episode; its fix names
    `env_id` (the env the caller would record in) when given.
    """
    directory = Path(directory)
    fix = f"Create demonstrations with `{how_to_collect(directory, env_id)}`."
    if directory.is_file():
        raise EpisodeFormatError(f"{directory} is a file; pass the folder that holds the episode files "
                                 f"(e.g. {directory.parent}).")
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
        match = EPISODE_NAME.match(path.name)
        if match:
            next_index = max(next_index, int(match.group(1)) + 1)
        seed = read_metadata(path).get("seed")
        if seed is not None:
            seeds.add(int(seed))
    return next_index, seeds


def absent_keys(path: str | os.PathLike) -> list[str]:
    """The optional keys of the format that the episode file lacks (reads only the zip's index)."""
    path = Path(path)
    npz = open_npz(path)
    with npz:
        present = set(npz.files)
    return [k for k in EPISODE_KEYS if k not in present]


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
    length = check_structure({k: (a.shape, a.dtype) for k, a in arrays.items()}, source)
    arrays.update(check_values(arrays, length, source)[0])
    if not EPISODE_NAME.match(path.name):
        raise EpisodeFormatError(
            f"{path}: episode files are named episode_XXXX.npz (e.g. episode_0001.npz) so loaders find them."
        )
    with atomic_write(path) as f:
        np.savez_compressed(f, **{k: arrays[k] for k in EPISODE_KEYS if k in arrays})
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
            f"with a numeric dtype; if you wrote the files yourself, rewrite the folder with "
            f"`{HOW_TO_MIGRATE.format(source=path.parent)}`."
        )
    return _corrupt(path, error)


_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError)


def open_npz(path: Path):
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
    if head.startswith(NPY_MAGIC):
        raise EpisodeFormatError(
            f"{path}: a single .npy array, not an episode NPZ. Fix: save episodes with "
            f"pokeil_jax.data.write_episode (one NPZ holding every key)."
        )
    if head[:4] not in NPZ_MAGIC:
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


def load_member(npz, key: str, path: Path) -> np.ndarray:
    try:
        return npz[key]
    except _READ_ERRORS as e:
        raise _translate(path, key, e) from None


def iter_frame_chunks(npz, key: str, path: Path, chunk: int) -> Iterator[np.ndarray]:
    """Decompress a (T, 160, 240, 3) member `chunk` frames at a time (zip CRC checked at the end)."""
    shape, dtype, fortran, offset = _member_header(npz, key, path)
    if fortran:  # np.save writes Fortran order only for F-contiguous arrays; rare, load whole
        frames = load_member(npz, key, path)
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


def read_episode(path: str | os.PathLike, frames: str) -> dict:
    """Open and validate one episode. frames: 'load' (return them), 'verify' (decompress in
    chunks to check the zip CRCs, then drop them), 'skip' (check their headers only)."""
    path = Path(path)
    npz = open_npz(path)
    with npz:
        headers = {}
        for key in npz.files:
            if key in EPISODE_KEYS:
                shape, dtype, _, _ = _member_header(npz, key, path)
                headers[key] = (shape, dtype)
        length = check_structure(headers, str(path), path.parent)
        episode = {key: load_member(npz, key, path) for key in SMALL_KEYS if key in headers}
        episode, metadata = check_values(episode, length, str(path))
        if frames == "load":
            observations = np.empty((length, *FRAME_SHAPE), np.uint8)
            start = 0
            for chunk in iter_frame_chunks(npz, "observations", path, 256):
                observations[start:start + len(chunk)] = chunk
                start += len(chunk)
            episode["observations"] = observations
            if "final_observation" in headers:
                episode["final_observation"] = load_member(npz, "final_observation", path)
        elif frames == "verify":
            for _ in iter_frame_chunks(npz, "observations", path, 128):
                pass
            if "final_observation" in headers:
                load_member(npz, "final_observation", path)
    if metadata is not None:
        episode["metadata"] = metadata
    episode["episode_return"] = np.float32(episode.get("episode_return", episode["rewards"].sum(dtype=np.float32)))
    episode["episode_length"] = np.int64(length)
    return episode


def load_episode(path: str | os.PathLike, load_observations: bool = True) -> dict:
    """Validated episode as a dict of the format's arrays in the format's dtypes, `metadata`
    parsed to a dict. Optional keys the file lacks are absent from the dict (`absent_keys`),
    except episode_return and episode_length, which are computed when missing.

    With load_observations=False, `observations` and `final_observation` are left out (only
    their headers are checked), which reads a long episode in milliseconds.
    Raises EpisodeFormatError naming the file, the problem and the fix.
    """
    return read_episode(path, "load" if load_observations else "skip")


def validate_episode(path: str | os.PathLike) -> dict:
    """Check every key, dtype, shape and value, and decompress the frames (in chunks) to verify
    the zip checksums; returns the parsed metadata ({} when the file has none). Raises EpisodeFormatError."""
    return read_episode(path, "verify").get("metadata", {})


def read_metadata(path: str | os.PathLike) -> dict:
    """An episode's metadata dict, reading only that member (for listing big folders fast);
    {} for a file without metadata."""
    path = Path(path)
    npz = open_npz(path)
    with npz:
        if "metadata" not in npz.files:
            return {}
        shape, dtype, _, _ = _member_header(npz, "metadata", path)
        check_structure_of_one(path, "metadata", shape, dtype)
        return check_metadata(str(load_member(npz, "metadata", path)[()]), str(path))
