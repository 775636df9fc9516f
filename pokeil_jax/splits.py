"""Split states: start an episode where the game's scripted expert first completes a milestone.

`PokemonEnv.reset(seed=s, options={"start_milestone": k})` starts seed `s`'s episode at the
step where the adapter's scripted expert first completes milestone k-1 (so milestones 0..k-1
are done and pay no reward). The expert's run is computed once and every milestone state it
passes is cached on disk, keyed by content: the ROM's sha1, the seed, k, the env's step timing
and SPLITS_VERSION. A damaged cache file is recomputed, never trusted. This is PokéAgent's
split-state idea, for curricula and per-segment evaluation.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pokeil_jax.atomic import atomic_write

if TYPE_CHECKING:
    from pokeil_jax.env import PokemonEnv

SPLITS_VERSION = 1
MAX_EXPERT_STEPS = 20_000
_MAGIC = b"PKSPLIT2"
_FRAME_SHAPE = (160, 240, 3)


class SplitError(ValueError):
    """A start_milestone the env cannot start from (out of range, or no scripted expert)."""


def default_cache_dir() -> Path:
    """`$POKEIL_SPLITS_DIR`, else `$XDG_CACHE_HOME/pokeil_jax/splits` (~/.cache/...)."""
    if os.environ.get("POKEIL_SPLITS_DIR"):
        return Path(os.environ["POKEIL_SPLITS_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pokeil_jax" / "splits"


def check_start_milestone(k, milestone_names) -> int:
    """`k` as an int in 0..len-1, or a SplitError listing the valid values."""
    n = len(milestone_names)
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n:
        valid = ", ".join(f"{i} (after {name})" for i, name in enumerate(milestone_names[:-1], start=1))
        raise SplitError(f"start_milestone must be an int in 0..{n - 1}, got {k!r}. Valid: 0 (the game's "
                         f"start), {valid}.")
    return k


def check_start_milestone_for_rom(k, rom_path) -> int:
    """`check_start_milestone` against the milestones of the game in `rom_path`; a SplitError too
    when k >= 1 and that game has no scripted expert to compute its splits with."""
    from pokeil_jax.games import NoScriptedExpertError, adapter_for_rom

    adapter = adapter_for_rom(rom_path)
    k = check_start_milestone(k, adapter.milestone_names)
    if k:
        try:
            adapter.scripted_expert()
        except NoScriptedExpertError:
            raise SplitError(f"start_milestone needs a scripted expert, and {adapter.name} has none; "
                             f"use start_milestone=0.") from None
    return k


def reset_options(k: int) -> dict:
    """The reset options that start an episode at split k (none for k = 0, the game's start)."""
    return {"start_milestone": int(k)} if k else {}


def cache_key(rom_sha1: str, seed: int, k: int, frames_per_step: int, hold_frames: int) -> str:
    text = f"{rom_sha1}|seed={seed}|k={k}|fps={frames_per_step}|hold={hold_frames}|v={SPLITS_VERSION}"
    return hashlib.sha1(text.encode()).hexdigest()


def _read(path: Path) -> tuple[bytes, np.ndarray] | None:
    """The cached (emulator state, screen), or None when missing or damaged."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if len(raw) < 32 or raw[:8] != _MAGIC:
        return None
    digest, payload = raw[8:28], raw[28:]
    if hashlib.sha1(payload).digest() != digest:
        return None
    n = int.from_bytes(payload[:4], "little")
    frame = np.frombuffer(payload[4 + n :], np.uint8)
    if frame.size != np.prod(_FRAME_SHAPE):
        return None
    return payload[4 : 4 + n], frame.reshape(_FRAME_SHAPE).copy()


def _write(path: Path, state: bytes, frame: np.ndarray) -> None:
    """The raw emulator state holds no screen, so the split's screen is stored beside it."""
    payload = len(state).to_bytes(4, "little") + state + np.ascontiguousarray(frame, np.uint8).tobytes()
    with atomic_write(path) as f:
        f.write(_MAGIC + hashlib.sha1(payload).digest() + payload)


def split_state(env: PokemonEnv, seed: int, k: int, cache_dir: Path | None = None) -> tuple[bytes, np.ndarray]:
    """(emulator state, screen) for (seed, start_milestone k >= 1), from the cache or computed now.

    Computing plays the adapter's scripted expert from the seed's start with the env's own
    step timing and caches the state of every milestone it completes on the way.
    """
    from pokeil_jax.env import rom_sha1

    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    sha1 = rom_sha1(env.rom_path)

    def path_for(j: int) -> Path:
        return cache_dir / f"{cache_key(sha1, seed, j, env.frames_per_step, env.hold_frames)}.state"

    cached = _read(path_for(k))
    if cached is not None:
        return cached
    from pokeil_jax.games import NoScriptedExpertError

    try:
        expert = env.adapter.scripted_expert()
    except NoScriptedExpertError:
        raise SplitError(f"start_milestone needs a scripted expert, and {env.adapter.name} has none; "
                         f"use start_milestone=0.") from None
    expert.reset()
    emu, adapter = env._emu, env.adapter
    emu.load_state(env._boot_state)
    adapter.begin_episode(emu, seed)
    done = adapter.milestone_mask(emu)
    for _ in range(MAX_EXPERT_STEPS):
        info = adapter.read_info(emu)
        emu.set_buttons((int(expert.get_action(None, info)),))
        emu.run_frames(env.hold_frames)
        emu.set_buttons(())
        emu.run_frames(env.frames_per_step - env.hold_frames)
        mask = adapter.milestone_mask(emu)
        for j in range(len(env.milestone_names)):
            if mask >> j & 1 and not done >> j & 1 and j + 1 < len(env.milestone_names):
                here = emu.save_state(), emu.frame()
                _write(path_for(j + 1), *here)
                if j + 1 == k:
                    return here
        done |= mask
    raise SplitError(f"the scripted expert did not complete milestone {env.milestone_names[k - 1]} of seed "
                     f"{seed} within {MAX_EXPERT_STEPS} steps; start_milestone={k} is not available for it.")
