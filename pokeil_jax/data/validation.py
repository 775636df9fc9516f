"""Checks of an episode against the format (`episode_format.py`): structure from the members' headers,
values of the small arrays (converted to the format's dtypes after a range check), metadata.
Each raises EpisodeFormatError naming the source, the problem and the fix; shared by the writer
and the readers (`episodes.py`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from pokeil_jax.actions import BUTTONS, NUM_ACTIONS
from pokeil_jax.data.episode_format import (
    CONVERTIBLE_KINDS, EPISODE_FORMAT_VERSION, EPISODE_KEYS, FIXED_ARRAYS, FRAME_KEYS, HOW_TO_MIGRATE, HOW_TO_STORE,
    NETWORK_INPUT_SHAPE, REQUIRED_KEYS, REQUIRED_METADATA, STEP_ARRAYS, EpisodeFormatError,
)


def dtype_name(dtype: np.dtype) -> str:
    if dtype.kind == "U":
        return "unicode"
    if dtype.kind == "b":
        return "bool"
    return dtype.name if dtype.isnative else dtype.str


def check_structure(headers: Mapping[str, tuple[tuple[int, ...], np.dtype]], source: str,
                     folder: str | os.PathLike = "OLD_FOLDER") -> int:
    """Keys, dtypes and shapes from (shape, dtype) pairs; returns T. `folder` (the episode's)
    goes into the migrate hint."""
    missing = [k for k in REQUIRED_KEYS if k not in headers]
    if missing:
        raise EpisodeFormatError(
            f"{source}: missing key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
            f"(has: {', '.join(sorted(headers)) or 'nothing'}). Fix: an episode needs at least "
            f"{', '.join(REQUIRED_KEYS)} (the whole format: {', '.join(EPISODE_KEYS)}); record it with "
            f"`python collect_expert_data.py` or add the key."
        )
    for key, (expected, tail) in {**STEP_ARRAYS, **FIXED_ARRAYS}.items():
        if key not in headers:
            continue
        shape, dtype = headers[key]
        if dtype.hasobject:
            raise EpisodeFormatError(
                f"{source}: key {key!r} is a pickled object array (dtype object); episode files must "
                f"not hold pickles (loading one can run code, so they are never loaded). "
                f"Fix: store it as {expected}, e.g. {HOW_TO_STORE[expected]}; if you wrote the files yourself "
                f"(e.g. infos as a list of dicts), rewrite the folder with `{HOW_TO_MIGRATE.format(source=folder)}`."
            )
        if dtype_name(dtype) != expected and dtype.kind not in CONVERTIBLE_KINDS.get(expected, ""):
            raise EpisodeFormatError(
                f"{source}: key {key!r} has dtype {dtype_name(dtype)}, expected {expected}. "
                f"Fix: store it as {HOW_TO_STORE[expected]}."
            )
        want = ("T", *tail) if key in STEP_ARRAYS else tail
        if len(shape) != len(want) or tuple(shape[len(shape) - len(tail):]) != tail:
            hint = ""
            if key in FRAME_KEYS and tuple(shape[-3:]) == NETWORK_INPUT_SHAPE:
                hint = " (these look preprocessed: store the env's raw 160x240 frames)"
            raise EpisodeFormatError(
                f"{source}: key {key!r} has shape {tuple(shape)}, expected "
                f"({', '.join(map(str, want))}{',' if len(want) == 1 else ''}){hint}. "
                f"Fix: {'one entry per step, T = number of steps' if key in STEP_ARRAYS else 'store it with exactly that shape'}."
            )
    lengths = {key: headers[key][0][0] for key in STEP_ARRAYS if key in headers}
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


def parse_json_object(text: str, what: str, source: str) -> dict:
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


def check_metadata(text: str, source: str) -> dict:
    metadata = parse_json_object(text, "metadata", source)
    if "format_version" not in metadata:
        raise EpisodeFormatError(
            f"{source}: metadata lacks 'format_version'. Fix: metadata needs format_version "
            f"({EPISODE_FORMAT_VERSION}) and should hold {', '.join(REQUIRED_METADATA[1:])} (see collect_expert_data.py)."
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
        if key not in metadata:
            continue
        value = metadata[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise EpisodeFormatError(
                f"{source}: metadata[{key!r}] = {value!r} should be "
                f"{kind.__name__ if isinstance(kind, type) else 'a number'}. Fix the value in metadata."
            )
    if not all(isinstance(n, str) for n in metadata.get("milestone_names", [])):
        raise EpisodeFormatError(f"{source}: metadata['milestone_names'] must be a list of strings.")
    return metadata


def check_values(arrays: Mapping[str, np.ndarray], length: int, source: str) -> tuple[dict, dict | None]:
    """Checks the values of the small arrays and converts them to the format's dtypes (range
    checked); returns (converted arrays, parsed metadata or None when the file has none)."""
    arrays = dict(arrays)
    for key in ("rewards", "episode_return"):
        if key not in arrays:
            continue
        finite = np.isfinite(arrays[key])
        if not np.all(finite):
            where = f"[{int(np.flatnonzero(~finite)[0])}]" if np.ndim(finite) else ""
            raise EpisodeFormatError(
                f"{source}: {key}{where} is {np.ravel(arrays[key])[~np.ravel(finite)][0]}, not a finite number. "
                f"Fix: re-record the episode; a reward is a finite float."
            )
    if "episode_length" in arrays and int(arrays["episode_length"]) != length:
        raise EpisodeFormatError(
            f"{source}: episode_length is {int(arrays['episode_length'])} but the arrays hold {length} "
            f"steps. Fix: episode_length = np.int64(len(actions))."
        )
    for key in ("actions", "executed_actions"):
        if key not in arrays:
            continue
        values = arrays[key]
        bad = np.flatnonzero((values < 0) | (values >= NUM_ACTIONS))
        if bad.size:
            raise EpisodeFormatError(
                f"{source}: {key}[{bad[0]}] = {values[bad[0]]} is outside 0..{NUM_ACTIONS - 1} "
                f"({bad.size} such steps). Fix: actions index the buttons {', '.join(BUTTONS)}."
            )
        arrays[key] = values.astype(np.int32)
    for key in ("rewards", "episode_return"):
        if key in arrays and arrays[key].dtype != np.float32:
            values = np.asarray(arrays[key])
            with np.errstate(over="ignore"):
                converted = values.astype(np.float32)
            bad = np.flatnonzero(np.isfinite(values) & ~np.isfinite(converted))
            if bad.size:
                raise EpisodeFormatError(
                    f"{source}: {key} value {values.reshape(-1)[bad[0]]} does not fit float32. Fix: store "
                    f"{key} as np.float32 values within ±3.4e38."
                )
            arrays[key] = converted
    if arrays["dones"].dtype != bool:
        dones = arrays["dones"]
        bad = np.flatnonzero((dones != 0) & (dones != 1))
        if bad.size:
            raise EpisodeFormatError(
                f"{source}: dones[{bad[0]}] = {dones[bad[0]]}, dones must be 0/1 or bool. Fix: np.asarray(dones, bool)."
            )
        arrays["dones"] = dones.astype(bool)
    if "episode_length" in arrays:
        arrays["episode_length"] = np.int64(arrays["episode_length"])
    dones = arrays["dones"]
    if dones[:-1].any():
        raise EpisodeFormatError(
            f"{source}: dones[{int(np.flatnonzero(dones[:-1])[0])}] is True before the last step. "
            f"Fix: one episode per file; split it where it ended."
        )
    metadata = check_metadata(str(arrays["metadata"][()]), source) if "metadata" in arrays else None
    if metadata is not None and {"terminated", "truncated"} <= set(metadata):
        if bool(dones[-1]) != (metadata["terminated"] or metadata["truncated"]):
            raise EpisodeFormatError(
                f"{source}: dones[-1] = {bool(dones[-1])} but metadata says terminated="
                f"{metadata['terminated']}, truncated={metadata['truncated']}. Fix: the last done is "
                f"terminated or truncated."
            )
    for t, text in enumerate(arrays.get("infos", ())):
        parse_json_object(str(text), f"infos[{t}]", source)
    return arrays, metadata


def check_structure_of_one(path: Path, key: str, shape, dtype):
    expected, tail = FIXED_ARRAYS[key]
    if dtype.hasobject or dtype_name(dtype) != expected or tuple(shape) != tail:
        raise EpisodeFormatError(
            f"{path}: key {key!r} is {dtype_name(dtype)} {tuple(shape)}, expected {expected} {tail}. "
            f"Fix: store it as {HOW_TO_STORE[expected]}."
        )
