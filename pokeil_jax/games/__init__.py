"""Game adapters: what a game's RAM means (info, milestones, episode start), where its ROM is
and who can play it, apart from the env and the experts.

The env and the experts know nothing about any particular game. The env reads the ROM header's
game code and asks `adapter_for_code` for the adapter that understands that game; without a ROM
it runs `default_rom_path()`, the default game's bundled ROM; `--expert scripted` asks the
adapter of the game being run for its `scripted_expert()`. Adding a game means adding an adapter
module and one line in `_ADAPTERS`.
"""

from __future__ import annotations

import abc
import importlib
import os
from pathlib import Path
from typing import Any, Mapping

from pokeil_jax.emulator import Emulator, read_rom_header


class GameAdapter(abc.ABC):
    """How to start, read and score one game. The game's state lives in the emulator; an adapter
    keeps at most memos of states it reached (Emerald's end of the naming screen)."""

    #: Human-readable game name.
    name: str
    #: Milestone names in their fixed order; bit i of `milestone_mask` is milestone i.
    milestone_names: tuple[str, ...]
    #: Reward for completing each milestone (same order).
    milestone_rewards: tuple[float, ...]
    #: Seeds s and s + seed_space start the same game; seeds in [0, seed_space) start distinct games.
    seed_space: int = 2**32
    #: Whether `reset` should keep the state `begin_episode` reaches, per (seed, options), to
    #: skip it next time (for games whose episode start is slow to reach).
    cache_starts: bool = False
    #: Size in bytes of a complete ROM of this game (None: unknown); a shorter file is refused.
    rom_size: int | None = None

    @abc.abstractmethod
    def boot(self, emu: Emulator) -> None:
        """From power-on, run the game to the point whose save state `reset()` caches."""

    def start_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """`reset` options for this game's episode start, checked and with defaults filled in.
        Raises ValueError naming an unknown option or a bad value. This game takes none."""
        if options:
            raise ValueError(f"{self.name} takes no reset options, got {sorted(options)}")
        return {}

    @abc.abstractmethod
    def begin_episode(self, emu: Emulator, seed: int, options: Mapping[str, Any] | None = None) -> None:
        """Right after the cached boot state is loaded: apply `seed` and the `start_options` and run
        until the player has control."""

    def reseed(self, emu: Emulator, seed: int) -> None:
        """Make `seed` choose the game's randomness from the current state on (after a state file
        is loaded). Games whose seed only shapes the episode start do nothing."""

    @abc.abstractmethod
    def milestone_mask(self, emu: Emulator) -> int:
        """Bit i set when milestone i has been completed."""

    @abc.abstractmethod
    def read_info(self, emu: Emulator) -> dict[str, Any]:
        """JSON-serialisable game state. Must hold at least:
        x, y, map, facing, mode (str), milestones ({name: bool}), milestone_count, frame_count."""

    def state_fingerprint(self, emu: Emulator, hasher) -> bool:
        """Feed `hasher` the memory that, with the screen, decides all the game does next under the
        same buttons (counters that never feed back left out); False when the game cannot promise
        that (then nothing can be told about loops). This game cannot."""
        return False

    #: The game's ROM shipped with the project, or None when the user must bring it (--rom-path).
    bundled_rom: Path | None = None

    def scripted_expert(self) -> Any:
        """A new scripted expert for this game (`reset()`, `get_action(obs, info) -> int`),
        answerable from any state. Raises NoScriptedExpertError where the game has none."""
        raise NoScriptedExpertError(
            f"{self.name} has no scripted expert. Choose another --expert: 'human', 'random' or "
            f"your own 'package.module:Class'."
        )


# game code in the cartridge header -> "module:Class"
_ADAPTERS = {
    "MNMN": "pokeil_jax.games.minimon:MiniMonAdapter",
    "MNMQ": "pokeil_jax.games.minimon.quest:MiniMonQuestAdapter",
    "BPEE": "pokeil_jax.games.emerald:EmeraldAdapter",
}


#: The game the env runs when no ROM is given: the bundled MiniMon.
DEFAULT_GAME_CODE = "MNMN"


class UnknownGameError(ValueError):
    """A ROM whose game code no adapter handles."""


def check_rom_size(adapter: GameAdapter, rom_path) -> None:
    """Raise RomError naming `rom_path` when it is shorter than a complete ROM of the game."""
    from pokeil_jax.emulator import RomError

    size = Path(rom_path).stat().st_size
    if adapter.rom_size is not None and size < adapter.rom_size:
        raise RomError(
            f"{rom_path} is truncated: {size:,} bytes, but a complete {adapter.name} ROM has "
            f"{adapter.rom_size:,} (its header checksum passes, the rest is missing). Copy the whole file again."
        )


class NoScriptedExpertError(ValueError):
    """`--expert scripted` for a game whose adapter has no scripted expert."""


def adapter_for_code(game_code: str, rom_path: str = "") -> GameAdapter:
    """The adapter for a cartridge game code; a clear error naming the ROM if there is none."""
    target = _ADAPTERS.get(game_code)
    if target is None:
        known = ", ".join(f"{code} ({path.split(':')[1]})" for code, path in _ADAPTERS.items())
        raise UnknownGameError(
            f"{rom_path or 'ROM'} has game code {game_code!r}, which no adapter handles. "
            f"Known game codes: {known}. Add an adapter in pokeil_jax/games/ for a new game."
        )
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)()


def default_rom_path() -> Path:
    """The default game's bundled ROM (what the env runs when given no ROM)."""
    return adapter_for_code(DEFAULT_GAME_CODE).bundled_rom


def adapter_for_rom(rom_path: str | os.PathLike | None = None) -> GameAdapter:
    """The adapter of the game in `rom_path` (default: the bundled game), from its header's game
    code; a clear RomError / UnknownGameError naming the file otherwise."""
    rom_path = Path(rom_path) if rom_path is not None else default_rom_path()
    return adapter_for_code(read_rom_header(rom_path).game_code, str(rom_path))
