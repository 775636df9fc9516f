"""MiniMon, the bundled open GBA game: where its ROM is and what its RAM means.

The game (C sources in src/ on the shared engine in engine/, rules and RAM table in
README.md) keeps all the state a host needs in one packed struct at the start of EWRAM,
0x02000000, declared in src/state.h. `LAYOUT` below mirrors that header field by field;
tests/test_minimon.py parses the header's `_Static_assert(offsetof(...))` lines and fails if
the two drift apart. The boot protocol and the shared head of the struct: protocol.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pokeil_jax.emulator import Emulator
from pokeil_jax.games.minimon.protocol import HEAD_LAYOUT, EngineAdapter, RamLayout

ROM_PATH = Path(__file__).resolve().with_name("minimon.gba")

MAGIC = 0x4E4D4E4D  # "MNMN" as little-endian bytes
LAYOUT_VERSION = 1
STATE_SIZE = 0xD8
MAP_W, MAP_H = 15, 10

# (field, byte offset, struct format): the fields of src/state.h's MiniMonState.
LAYOUT: tuple[tuple[str, int, str], ...] = HEAD_LAYOUT + (
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
RAM = RamLayout(LAYOUT, STATE_SIZE)

MODES = ("boot", "overworld", "dialog", "start_menu", "choice", "battle", "warp")
MAP_NAMES = ("HOUSE", "TOWN", "LAB", "ROUTE", "NEXT_TOWN")
# One char per tile kind (src/state.h enum TileKind): floor, wall, door/warp, closed gate,
# hedge, water, NPC, sign. Walkable: '.' and 'D'.
TILE_CHARS = ".#DGH~NS"
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
_TILE_TABLE = bytes.maketrans(bytes(range(len(TILE_CHARS))), TILE_CHARS.encode())


read_state = RAM.read  # every field of the RAM struct as raw numbers (tiles as bytes), in one read


class MiniMonAdapter(EngineAdapter):
    """MiniMon's milestones and info dict (README.md documents the game)."""

    name = "MiniMon"
    milestone_names = MILESTONES
    milestone_rewards = (1.0,) * len(MILESTONES)
    rom_size = ROM_PATH.stat().st_size  # the committed build (`make check` keeps it byte-identical to its sources)
    bundled_rom = ROM_PATH
    magic, layout_version, ram = MAGIC, LAYOUT_VERSION, RAM
    modes, map_names, starter_names, enemy_names = MODES, MAP_NAMES, STARTERS, ENEMIES

    def scripted_expert(self):
        """The BFS planner over the live tile map (pokeil_jax.games.minimon.planner)."""
        from pokeil_jax.games.minimon.planner import MiniMonPlanner

        return MiniMonPlanner()

    def enemy_name(self, species: int) -> str:
        return ENEMIES[species & 3]

    def read_info(self, emu: Emulator) -> dict[str, Any]:
        s = read_state(emu)
        tiles = s["tiles"].translate(_TILE_TABLE).decode("ascii")
        return self.engine_info(
            s,
            after_turn={"potion_used": bool(s["potion_used"])},
            rest={
                "enemy_attack": s["enemy_attack"],
                "professor_xy": (s["professor_x"], s["professor_y"]),
                "trainer_xy": (s["trainer_x"], s["trainer_y"]),
                "trainer_beaten": bool(s["trainer_beaten"]),
                "gap_x": s["gap_x"],
                "gate_open": bool(s["gate_open"]),
                "start_xy": (s["start_x"], s["start_y"]),
                "battles_lost": s["battles_lost"],
                "tiles": tuple(tiles[r * MAP_W : (r + 1) * MAP_W] for r in range(MAP_H)),
            },
        )
