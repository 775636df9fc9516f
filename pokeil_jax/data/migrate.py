"""Rewrite episode files that hold pickled object arrays (the seed plan's `infos` as a Python
list of dicts, saved by `np.savez_compressed`) into the safe format: infos as one JSON string per
step, every other key as a plain numeric array.

Loading a pickle runs whatever code the file says, so nothing else in this project ever does;
this command does it only when told `--allow-pickle`, after a warning, for files the user made.

    python -m pokeil_jax.data migrate --allow-pickle OLD_DIR NEW_DIR
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

from pokeil_jax.data.episodes import write_episode
from pokeil_jax.data.episode_format import EPISODE_KEYS, EpisodeFormatError

WARNING = (
    "WARNING: migrate unpickles the object arrays in these files. Unpickling runs code chosen by "
    "whoever wrote the file: migrate only episode files you recorded yourself, never downloaded ones."
)


def _jsonable(value):
    """json.dumps fallback for what an env's info holds: numpy scalars and arrays, sets, bytes."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _unpickled_to_safe(key: str, value: np.ndarray, source: str):
    """The safe array for one member loaded with pickles allowed."""
    if not value.dtype.hasobject:
        return value
    if key == "infos":
        items = list(value.reshape(-1))
        bad = next((i for i, x in enumerate(items) if not isinstance(x, dict)), None)
        if bad is not None:
            raise EpisodeFormatError(
                f"{source}: infos[{bad}] is a {type(items[bad]).__name__}, expected a dict per step. "
                f"Fix: rewrite this file's infos by hand (np.asarray([json.dumps(d) for d in infos], np.str_))."
            )
        return np.asarray([json.dumps(x, default=_jsonable, separators=(",", ":")) for x in items], np.str_)
    if key == "metadata":
        item = value.reshape(-1)[0] if value.size == 1 else None
        if not isinstance(item, dict):
            raise EpisodeFormatError(f"{source}: metadata is a pickled {type(item).__name__}, expected a dict.")
        return json.dumps(item, default=_jsonable)
    try:  # e.g. a list of per-step arrays or numbers that np.savez could not stack
        converted = np.asarray(value.tolist())
    except (ValueError, TypeError):
        converted = value
    if converted.dtype.hasobject or converted.dtype.kind not in "biuf":
        raise EpisodeFormatError(
            f"{source}: key {key!r} holds pickled {type(value.reshape(-1)[0]).__name__} objects that are not "
            f"numbers of one shape. Fix: store it as a numeric array before migrating."
        )
    return converted


def migrate_folder(source_dir: str | os.PathLike, target_dir: str | os.PathLike, *, allow_pickle: bool) -> int:
    """`python -m pokeil_jax.data migrate`: every episode_*.npz of `source_dir` rewritten into
    `target_dir` (same names, atomically) in the safe format; 0 when all were migrated, 1 otherwise.
    `source_dir` is never modified."""
    source_dir, target_dir = Path(source_dir), Path(target_dir)
    if not allow_pickle:
        print(
            f"error: migrate reads pickled object arrays, which can run code; it refuses without --allow-pickle. "
            f"Fix: if you recorded the files in {source_dir} yourself, run "
            f"`python -m pokeil_jax.data migrate --allow-pickle {source_dir} {target_dir}`.",
            file=sys.stderr,
        )
        return 1
    if not source_dir.is_dir():
        print(f"error: {source_dir}: no such folder. Fix: pass the folder of old episode_*.npz files.", file=sys.stderr)
        return 1
    paths = sorted(p for p in source_dir.glob("episode_*.npz") if p.is_file())
    if not paths:
        print(f"error: no episode_*.npz files in {source_dir}/. Fix: pass the folder of old episode files.", file=sys.stderr)
        return 1
    if target_dir.resolve() == source_dir.resolve():
        print("error: migrate writes a new folder and leaves the old one as it is. Fix: pass a different NEW_DIR.",
              file=sys.stderr)
        return 1
    clashes = [p.name for p in paths if (target_dir / p.name).exists()]
    if clashes:
        print(f"error: {target_dir} already holds {clashes[0]} ({len(clashes)} clashes); nothing was written. "
              f"Fix: migrate into an empty folder.", file=sys.stderr)
        return 1
    print(WARNING, file=sys.stderr)
    failures, dropped = [], set()
    for path in paths:
        try:
            try:
                with np.load(path, allow_pickle=True) as npz:
                    loaded = {key: npz[key] for key in npz.files}
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as e:
                raise EpisodeFormatError(
                    f"{path}: not a readable NPZ ({type(e).__name__}: {e}). Fix: copy it again or leave it out."
                ) from None
            episode = {}
            for key, value in loaded.items():
                if key not in EPISODE_KEYS:
                    dropped.add(key)
                    continue
                episode[key] = _unpickled_to_safe(key, value, str(path))
            write_episode(target_dir / path.name, episode)
        except EpisodeFormatError as e:
            failures.append(str(e))
    migrated = len(paths) - len(failures)
    print(f"migrated {migrated} of {len(paths)} episodes into {target_dir}/"
          + (f" (dropped keys not in the format: {', '.join(sorted(dropped))})" if dropped else ""))
    for message in failures:
        print(f"  - {message}", file=sys.stderr)
    if migrated:
        print(f"check them with `python -m pokeil_jax.data inspect {target_dir}`")
    return 1 if failures else 0
