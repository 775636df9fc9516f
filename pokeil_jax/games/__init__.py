"""Game adapters: what a game's RAM means (info, milestones, episode start), apart from the env.

The env knows nothing about any particular game. It reads the ROM header's game code and asks
`adapter_for_code` for the adapter that understands that game. Adding a game means adding an
adapter module and one line in `_ADAPTERS`.
"""

from __future__ import annotations

import abc
import importlib
from typing import Any, Mapping

from pokeil_jax.emulator import Emulator


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


# game code in the cartridge header -> "module:Class"
_ADAPTERS = {
    "MNMN": "pokeil_jax.games.minimon:MiniMonAdapter",
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
