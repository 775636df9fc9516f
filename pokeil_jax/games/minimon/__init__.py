"""MiniMon, the bundled open GBA game: where its ROM is and what its RAM means.

The game (C sources in src/, rules and RAM table in README.md) keeps all the state a host
needs in one packed struct at the start of EWRAM, 0x02000000, declared in src/state.h.
`LAYOUT` below mirrors that header field by field; tests/test_minimon.py parses the
header's `_Static_assert(offsetof(...))` lines and fails if the two drift apart.

Boot protocol: from power-on the game sets `magic` and waits in mode BOOT, halting each
frame. The host writes `seed`, then `seed_ready = 1`; the game builds the seeded world,
sets `seed_ready = 2` and starts in the HOUSE in mode OVERWORLD.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from pokeil_jax.emulator import Emulator
from pokeil_jax.games import GameAdapter

ROM_PATH = Path(__file__).resolve().with_name("minimon.gba")

STATE_ADDRESS = 0x02000000
MAGIC = 0x4E4D4E4D  # "MNMN" as little-endian bytes
LAYOUT_VERSION = 1
STATE_SIZE = 0xD8
MAP_W, MAP_H = 15, 10

# (field, byte offset, struct format): the fields of src/state.h's MiniMonState.
LAYOUT: tuple[tuple[str, int, str], ...] = (
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
    ("potion_used", 0x29, "B"),
    ("player_hp", 0x2A, "B"),
    ("player_max_hp", 0x2B, "B"),
    ("enemy_hp", 0x2C, "B"),
    ("enemy_max_hp", 0x2D, "B"),
    ("enemy_species", 0x2E, "B"),
    ("enemy_attack", 0x2F, "B"),
    ("professor_x", 0x30, "B"),
    ("professor_y", 0x31, "B"),
    ("trainer_x", 0x32, "B"),
    ("trainer_y", 0x33, "B"),
    ("trainer_beaten", 0x34, "B"),
    ("gap_x", 0x35, "B"),
    ("gate_open", 0x36, "B"),
    ("start_x", 0x37, "B"),
    ("start_y", 0x38, "B"),
    ("enemy_base_attack", 0x39, "B"),
    ("battles_lost", 0x3A, "B"),
    ("rng", 0x3C, "I"),
    ("tiles", 0x40, f"{MAP_W * MAP_H}s"),
)


def _struct_for(layout) -> struct.Struct:
    fmt, pos = "<", 0
    for _, offset, f in layout:
        assert offset >= pos, "LAYOUT must be sorted by offset without overlaps"
        fmt += "x" * (offset - pos) + f
        pos = offset + struct.calcsize("<" + f)
    return struct.Struct(fmt + "x" * (STATE_SIZE - pos))


_STRUCT = _struct_for(LAYOUT)
_NAMES = tuple(name for name, _, _ in LAYOUT)
_OFFSET = {name: offset for name, offset, _ in LAYOUT}

MODES = ("boot", "overworld", "dialog", "start_menu", "choice", "battle", "warp")
MAP_NAMES = ("HOUSE", "TOWN", "LAB", "ROUTE", "NEXT_TOWN")
FACINGS = ("down", "up", "left", "right")
# One char per tile kind (src/state.h enum TileKind): floor, wall, door/warp, closed gate,
# hedge, water, NPC, sign. Walkable: '.' and 'D'.
TILE_CHARS = ".#DGH~NS"
BATTLE_PHASES = ("intro", "command", "player_msg", "enemy_msg", "win", "lose")
BATTLE_COMMANDS = ("TACKLE", "GROWL", "POTION", "RUN")
STARTERS = ("FLAMIN", "AQUAPUP", "VOLTIK")
ENEMIES = ("GRASSY", "ROCKO", "BUZZLE", "PUFFIN")
MILESTONES = (
    "LEFT_HOUSE",
    "TALKED_TO_PROFESSOR",
    "GOT_STARTER",
    "REACHED_ROUTE",
    "WON_BATTLE",
    "REACHED_NEXT_TOWN",
)
STARTER_NONE = 0xFF
_TILE_TABLE = bytes.maketrans(bytes(range(len(TILE_CHARS))), TILE_CHARS.encode())

BOOT_MAX_FRAMES = 600
BEGIN_MAX_FRAMES = 60


class MiniMonError(RuntimeError):
    """The ROM did not follow MiniMon's boot protocol (wrong ROM, or a stale build)."""


def read_state(emu: Emulator) -> dict[str, Any]:
    """Every field of the RAM struct as raw numbers (tiles as bytes), in one read (~tens of µs)."""
    values = _STRUCT.unpack_from(emu.ram_view(STATE_ADDRESS, STATE_SIZE))
    return dict(zip(_NAMES, values))


class MiniMonAdapter(GameAdapter):
    """MiniMon's boot protocol, milestones and info dict (README.md documents the game)."""

    name = "MiniMon"
    milestone_names = MILESTONES
    milestone_rewards = (1.0,) * len(MILESTONES)
    bundled_rom = ROM_PATH

    def scripted_expert(self):
        """The BFS planner over the live tile map (pokeil_jax.games.minimon.planner)."""
        from pokeil_jax.games.minimon.planner import MiniMonPlanner

        return MiniMonPlanner()

    def boot(self, emu: Emulator) -> None:
        """Run from power-on until the game waits for a seed (magic set, mode BOOT)."""
        for _ in range(BOOT_MAX_FRAMES):
            emu.run_frames(1)
            s = read_state(emu)
            if s["magic"] == MAGIC and s["mode"] == 0:
                if s["layout_version"] != LAYOUT_VERSION or s["state_size"] != STATE_SIZE:
                    raise MiniMonError(
                        f"ROM RAM layout v{s['layout_version']} ({s['state_size']} bytes) does not "
                        f"match this adapter's v{LAYOUT_VERSION} ({STATE_SIZE} bytes). Rebuild the "
                        f"ROM (make -C pokeil_jax/games/minimon install) or update the adapter."
                    )
                return
        raise MiniMonError(
            f"MiniMon did not reach its BOOT state within {BOOT_MAX_FRAMES} frames (magic at "
            f"0x{STATE_ADDRESS:08X} is 0x{s['magic']:08X}, expected 0x{MAGIC:08X}). Is this the "
            f"MiniMon ROM ({ROM_PATH})?"
        )

    def begin_episode(self, emu: Emulator, seed: int) -> None:
        """Write the seed and run until the player stands in the HOUSE (mode OVERWORLD)."""
        if read_state(emu)["mode"] != 0:
            raise MiniMonError("begin_episode needs the BOOT state from boot(); load it first.")
        emu.write_u32(STATE_ADDRESS + _OFFSET["seed"], int(seed) & 0xFFFFFFFF)
        emu.write_u32(STATE_ADDRESS + _OFFSET["seed_ready"], 1)
        for _ in range(BEGIN_MAX_FRAMES):
            emu.run_frames(1)
            if read_state(emu)["mode"] == 1:
                emu.run_frames(1)  # the screen shows a frame's changes one frame later
                return
        raise MiniMonError(f"MiniMon did not start the episode within {BEGIN_MAX_FRAMES} frames of the seed.")

    def milestone_mask(self, emu: Emulator) -> int:
        return read_state(emu)["milestones"] & ((1 << len(MILESTONES)) - 1)

    def read_info(self, emu: Emulator) -> dict[str, Any]:
        s = read_state(emu)
        mask = s["milestones"]
        tiles = s["tiles"].translate(_TILE_TABLE).decode("ascii")
        starter = s["starter_id"]
        return {
            "x": s["player_x"],
            "y": s["player_y"],
            "map": s["map_id"],
            "map_name": MAP_NAMES[s["map_id"]] if s["map_id"] < len(MAP_NAMES) else "?",
            "facing": FACINGS[s["facing"] & 3],
            "mode": MODES[s["mode"]] if s["mode"] < len(MODES) else "?",
            "walking": bool(s["walking"]),
            "milestones": {name: bool(mask >> i & 1) for i, name in enumerate(MILESTONES)},
            "milestone_count": bin(mask & ((1 << len(MILESTONES)) - 1)).count("1"),
            "frame_count": s["frame_counter"],
            "dialog_id": s["dialog_id"],
            "dialog_page": s["dialog_page"],
            "dialog_pages": s["dialog_pages"],
            "menu_cursor": s["menu_cursor"],
            "choice_cursor": s["choice_cursor"],
            "starter": STARTERS[starter] if starter < len(STARTERS) else None,
            "battle_phase": BATTLE_PHASES[s["battle_phase"]] if s["battle_phase"] < 6 else "?",
            "battle_cursor": s["battle_cursor"],
            "battle_turn": "enemy" if s["battle_turn"] else "player",
            "potion_used": bool(s["potion_used"]),
            "player_hp": s["player_hp"],
            "player_max_hp": s["player_max_hp"],
            "enemy_hp": s["enemy_hp"],
            "enemy_max_hp": s["enemy_max_hp"],
            "enemy": ENEMIES[s["enemy_species"] & 3],
            "enemy_attack": s["enemy_attack"],
            "professor_xy": (s["professor_x"], s["professor_y"]),
            "trainer_xy": (s["trainer_x"], s["trainer_y"]),
            "trainer_beaten": bool(s["trainer_beaten"]),
            "gap_x": s["gap_x"],
            "gate_open": bool(s["gate_open"]),
            "start_xy": (s["start_x"], s["start_y"]),
            "battles_lost": s["battles_lost"],
            "tiles": tuple(tiles[r * MAP_W : (r + 1) * MAP_W] for r in range(MAP_H)),
        }
