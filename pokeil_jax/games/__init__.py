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
from typing import Any

from pokeil_jax.emulator import Emulator, read_rom_header


class GameAdapter(abc.ABC):
    """How to start, read and score one game. Stateless: all state lives in the emulator."""

    #: Human-readable game name.
    name: str
    #: Milestone names in their fixed order; bit i of `milestone_mask` is milestone i.
    milestone_names: tuple[str, ...]
    #: Reward for completing each milestone (same order).
    milestone_rewards: tuple[float, ...]

    @abc.abstractmethod
    def boot(self, emu: Emulator) -> None:
        """From power-on, run the game to the point whose save state `reset()` caches."""

    @abc.abstractmethod
    def begin_episode(self, emu: Emulator, seed: int) -> None:
        """Right after the cached boot state is loaded: apply `seed` and run until the player has control."""

    @abc.abstractmethod
    def milestone_mask(self, emu: Emulator) -> int:
        """Bit i set when milestone i has been completed."""

    @abc.abstractmethod
    def read_info(self, emu: Emulator) -> dict[str, Any]:
        """JSON-serialisable game state. Must hold at least:
        x, y, map, facing, mode (str), milestones ({name: bool}), milestone_count, frame_count."""

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
