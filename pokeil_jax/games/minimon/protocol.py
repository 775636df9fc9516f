"""The host side of the engine both MiniMon ROMs are built on (engine/ in C): the head of the
RAM contract (engine/state_head.h), the boot protocol, and the info fields every MiniMon game has.

Boot protocol: from power-on the game sets `magic` and waits in mode BOOT, halting each frame.
The host writes `seed`, then `seed_ready = 1`; the game builds the seeded world, sets
`seed_ready = 2` and starts in mode OVERWORLD. Each game's adapter (`__init__.py`, `quest.py`)
describes its RAM with a `RamLayout` and subclasses `EngineAdapter`.
"""

from __future__ import annotations

import struct
from typing import Any

from pokeil_jax.emulator import EWRAM_BASE, EWRAM_SIZE, IWRAM_BASE, IWRAM_SIZE, Emulator
from pokeil_jax.games import GameAdapter

STATE_ADDRESS = 0x02000000
BOOT_MAX_FRAMES = 600
BEGIN_MAX_FRAMES = 60
MODE_BOOT, MODE_OVERWORLD = 0, 1
STARTER_NONE = 0xFF

# (field, byte offset, struct format): the head of MiniMonState both games share (state_head.h).
HEAD_LAYOUT: tuple[tuple[str, int, str], ...] = (
    ("magic", 0x00, "I"),
    ("layout_version", 0x04, "H"),
    ("state_size", 0x06, "H"),
    ("seed", 0x08, "I"),
    ("seed_ready", 0x0C, "I"),
    ("frame_counter", 0x10, "I"),
    ("milestones", 0x14, "I"),
    ("mode", 0x18, "B"),
    ("map_id", 0x19, "B"),
    ("player_x", 0x1A, "B"),
    ("player_y", 0x1B, "B"),
    ("facing", 0x1C, "B"),
    ("walking", 0x1D, "B"),
    ("walk_progress", 0x1E, "B"),
    ("warp_timer", 0x1F, "B"),
    ("dialog_page", 0x20, "B"),
    ("dialog_pages", 0x21, "B"),
    ("dialog_id", 0x22, "B"),
    ("menu_cursor", 0x23, "B"),
    ("choice_cursor", 0x24, "B"),
    ("starter_id", 0x25, "B"),
    ("battle_phase", 0x26, "B"),
    ("battle_cursor", 0x27, "B"),
    ("battle_turn", 0x28, "B"),
)

FACINGS = ("down", "up", "left", "right")
BATTLE_PHASES = ("intro", "command", "player_msg", "enemy_msg", "win", "lose")


class MiniMonError(RuntimeError):
    """A ROM did not follow the engine's boot protocol (wrong ROM, or a stale build)."""


class RamLayout:
    """A game's MiniMonState: `layout` (field, offset, format) sorted by offset, `size` bytes."""

    def __init__(self, layout: tuple[tuple[str, int, str], ...], size: int):
        fmt, pos = "<", 0
        for _, offset, f in layout:
            assert offset >= pos, "LAYOUT must be sorted by offset without overlaps"
            fmt += "x" * (offset - pos) + f
            pos = offset + struct.calcsize("<" + f)
        self.size = size
        self.struct = struct.Struct(fmt + "x" * (size - pos))
        self.names = tuple(name for name, _, _ in layout)
        self.offset = {name: offset for name, offset, _ in layout}

    def read(self, emu: Emulator) -> dict[str, Any]:
        """Every field as raw numbers (arrays as bytes), in one read (~tens of µs)."""
        return dict(zip(self.names, self.struct.unpack_from(emu.ram_view(STATE_ADDRESS, self.size))))


class EngineAdapter(GameAdapter):
    """Boot, episode start, milestones and the shared info fields of a ROM built on the engine.
    A subclass sets the GameAdapter attributes and the ones below, and writes `read_info`."""

    magic: int
    layout_version: int
    ram: RamLayout
    modes: tuple[str, ...]
    map_names: tuple[str, ...]
    starter_names: tuple[str, ...]  # indexed by starter_id
    enemy_names: tuple[str, ...]  # indexed by enemy_species

    def boot(self, emu: Emulator) -> None:
        """Run from power-on until the game waits for a seed (magic set, mode BOOT)."""
        for _ in range(BOOT_MAX_FRAMES):
            emu.run_frames(1)
            s = self.ram.read(emu)
            if s["magic"] == self.magic and s["mode"] == MODE_BOOT:
                if s["layout_version"] != self.layout_version or s["state_size"] != self.ram.size:
                    raise MiniMonError(
                        f"ROM RAM layout v{s['layout_version']} ({s['state_size']} bytes) does not "
                        f"match this adapter's v{self.layout_version} ({self.ram.size} bytes). Rebuild "
                        f"the ROM (make -C pokeil_jax/games/minimon install) or update the adapter."
                    )
                return
        raise MiniMonError(
            f"{self.name} did not reach its BOOT state within {BOOT_MAX_FRAMES} frames (magic at "
            f"0x{STATE_ADDRESS:08X} is 0x{s['magic']:08X}, expected 0x{self.magic:08X}). Is this "
            f"the {self.name} ROM ({self.bundled_rom})?"
        )

    def begin_episode(self, emu: Emulator, seed: int, options=None) -> None:
        """Write the seed and run until the player stands in the HOUSE (mode OVERWORLD)."""
        if self.ram.read(emu)["mode"] != MODE_BOOT:
            raise MiniMonError("begin_episode needs the BOOT state from boot(); load it first.")
        emu.write_u32(STATE_ADDRESS + self.ram.offset["seed"], int(seed) & 0xFFFFFFFF)
        emu.write_u32(STATE_ADDRESS + self.ram.offset["seed_ready"], 1)
        for _ in range(BEGIN_MAX_FRAMES):
            emu.run_frames(1)
            if self.ram.read(emu)["mode"] == MODE_OVERWORLD:
                emu.run_frames(1)  # the screen shows a frame's changes one frame later
                return
        raise MiniMonError(f"{self.name} did not start the episode within {BEGIN_MAX_FRAMES} frames of the seed.")

    def milestone_mask(self, emu: Emulator) -> int:
        return self.ram.read(emu)["milestones"] & ((1 << len(self.milestone_names)) - 1)

    def state_fingerprint(self, emu: Emulator, hasher) -> bool:
        """Both work RAMs, the VBlank counter zeroed: the engine's logic never reads the counter
        and keeps all its state in work RAM (the stack included), so equal bytes and an equal
        screen mean the same future for the same buttons."""
        counter = STATE_ADDRESS + self.ram.offset["frame_counter"]
        ewram = emu.ram_view(EWRAM_BASE, EWRAM_SIZE).copy()
        ewram[counter - EWRAM_BASE : counter - EWRAM_BASE + 4] = 0
        hasher.update(ewram)
        hasher.update(emu.ram_view(IWRAM_BASE, IWRAM_SIZE))
        return True

    def enemy_name(self, species: int) -> str:
        return self.enemy_names[species] if species < len(self.enemy_names) else "?"

    def engine_info(self, s: dict[str, Any], after_map=(), after_phase=(), after_turn=(), rest=()) -> dict[str, Any]:
        """The info fields every MiniMon game has, from `read_state`'s dict `s`, with the game's
        own (key, value) pairs placed after map_name, battle_phase, battle_turn and at the end."""
        mask = s["milestones"]
        count = len(self.milestone_names)
        starter = s["starter_id"]
        info = {
            "x": s["player_x"],
            "y": s["player_y"],
            "map": s["map_id"],
            "map_name": self.map_names[s["map_id"]] if s["map_id"] < len(self.map_names) else "?",
            **dict(after_map),
            "facing": FACINGS[s["facing"] & 3],
            "mode": self.modes[s["mode"]] if s["mode"] < len(self.modes) else "?",
            "walking": bool(s["walking"]),
            "milestones": {name: bool(mask >> i & 1) for i, name in enumerate(self.milestone_names)},
            "milestone_count": bin(mask & ((1 << count) - 1)).count("1"),
            "frame_count": s["frame_counter"],
            "dialog_id": s["dialog_id"],
            "dialog_page": s["dialog_page"],
            "dialog_pages": s["dialog_pages"],
            "menu_cursor": s["menu_cursor"],
            "choice_cursor": s["choice_cursor"],
            "starter": self.starter_names[starter] if starter < len(self.starter_names) else None,
            "battle_phase": BATTLE_PHASES[s["battle_phase"]] if s["battle_phase"] < 6 else "?",
            **dict(after_phase),
            "battle_cursor": s["battle_cursor"],
            "battle_turn": "enemy" if s["battle_turn"] else "player",
            **dict(after_turn),
            "player_hp": s["player_hp"],
            "player_max_hp": s["player_max_hp"],
            "enemy_hp": s["enemy_hp"],
            "enemy_max_hp": s["enemy_max_hp"],
            "enemy": self.enemy_name(s["enemy_species"]),
        }
        info.update(rest)
        return info
