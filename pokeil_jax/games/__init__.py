"""Game adapters: what a game's RAM means (info, milestones, episode start), apart from the env.

The env knows nothing about any particular game. It reads the ROM header's game code and asks
`adapter_for_code` for the adapter that understands that game. Adding a game means adding an
adapter module and one line in `_ADAPTERS`.
"""

from __future__ import annotations

import abc
import importlib
from typing import Any

from pokeil_jax.emulator import Emulator


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


# game code in the cartridge header -> "module:Class"
_ADAPTERS = {
    "MNMN": "pokeil_jax.games.minimon:MiniMonAdapter",
    "MNMQ": "pokeil_jax.games.minimon.quest:MiniMonQuestAdapter",
    "BPEE": "pokeil_jax.games.emerald:EmeraldAdapter",
}


class UnknownGameError(ValueError):
    """A ROM whose game code no adapter handles."""


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
