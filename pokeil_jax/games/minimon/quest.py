"""MiniMon Quest, the bundled long-horizon game: its ROM and what its RAM means.

The quest ROM (quest/*.c on the engine both games share, engine/; README.md "MiniMon Quest")
keeps its state in one packed struct at 0x02000000 declared in quest/state.h. `LAYOUT`
mirrors it field by field; tests/test_minimon_quest.py parses the header's
`_Static_assert(offsetof(...))` lines and fails if the two drift apart. The boot protocol
and the shared head of the struct are the engine's (protocol.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pokeil_jax.emulator import Emulator
from pokeil_jax.games.minimon.protocol import HEAD_LAYOUT, EngineAdapter, RamLayout

ROM_PATH = Path(__file__).resolve().with_name("minimon_quest.gba")

MAGIC = 0x514E4D4D  # "MMNQ" as little-endian bytes
LAYOUT_VERSION = 2
STATE_SIZE = 0x954
MAZE_W, MAZE_H = 59, 39
TILES_MAX = MAZE_W * MAZE_H

LAYOUT: tuple[tuple[str, int, str], ...] = HEAD_LAYOUT + (
    ("battle_kind", 0x29, "B"),
    ("player_hp", 0x2A, "B"),
    ("player_max_hp", 0x2B, "B"),
    ("enemy_hp", 0x2C, "B"),
    ("enemy_max_hp", 0x2D, "B"),
    ("enemy_species", 0x2E, "B"),
    ("enemy_type", 0x2F, "B"),
    ("enemy_attack", 0x30, "B"),
    ("map_w", 0x31, "B"),
    ("map_h", 0x32, "B"),
    ("items", 0x33, "B"),
    ("money", 0x34, "H"),
    ("camera_x", 0x36, "h"),
    ("camera_y", 0x38, "h"),
    ("professor_x", 0x3A, "B"),
    ("professor_y", 0x3B, "B"),
    ("rival_x", 0x3C, "B"),
    ("rival_y", 0x3D, "B"),
    ("item_x", 0x3E, "B"),
    ("item_y", 0x3F, "B"),
    ("clerk_x", 0x40, "B"),
    ("clerk_y", 0x41, "B"),
    ("bridge_x", 0x42, "B"),
    ("maze_entry_x", 0x43, "B"),
    ("maze_exit_x", 0x44, "B"),
    ("rival_species", 0x45, "B"),
    ("leader_species", 0x46, "B"),
    ("flags", 0x47, "B"),
    ("heal_map", 0x48, "B"),
    ("heal_x", 0x49, "B"),
    ("heal_y", 0x4A, "B"),
    ("battles_won", 0x4B, "B"),
    ("battles_lost", 0x4C, "B"),
    ("wild_battles", 0x4D, "B"),
    ("rng", 0x50, "I"),
    ("tiles", 0x54, f"{TILES_MAX}s"),
)


RAM = RamLayout(LAYOUT, STATE_SIZE)

MODES = ("boot", "overworld", "dialog", "start_menu", "choice", "battle", "warp", "shop")
MAP_NAMES = ("HOUSE", "HOME_TOWN", "LAB", "ROUTE_1", "OAK_TOWN", "ROUTE_2", "PINE_CITY", "ROUTE_3",
             "MAZE", "ROUTE_4", "STONE_CITY", "GYM")
# One char per tile kind (quest/state.h enum TileKind). Walkable: '.', 'D' and ',' (tall grass).
TILE_CHARS = ".#DGH~NS,OCI"
BATTLE_KINDS = ("wild", "rival", "leader")
MOVES = ("EMBER", "BUBBLE", "LEAF", "TACKLE")
TYPES = ("FIRE", "WATER", "GRASS")
MONS = ("FLAMIN", "AQUAPUP", "VOLTIK", "GRASSY", "ROCKO", "BUZZLE", "PUFFIN")
ITEMS = ("PASS", "SAW")
FLAGS = ("rival_beaten", "guard_moved", "item_taken", "task_given", "tree_cut", "leader_beaten")
MILESTONES = (
    "HOME_TOWN",
    "ROUTE_1",
    "STARTER_CHOSEN",
    "OAK_TOWN",
    "RIVAL_BEATEN",
    "GOT_PASS",
    "ROUTE_2",
    "PINE_CITY",
    "TASK_GIVEN",
    "ROUTE_3",
    "MAZE",
    "MAZE_EXIT",
    "STONE_CITY",
    "GYM_ENTERED",
    "LEADER_BEATEN",
)
_TILE_TABLE = bytes.maketrans(bytes(range(len(TILE_CHARS))), TILE_CHARS.encode())


def make_env(**kwargs):
    """`pokeil/MiniMonQuest-v0`: PokemonEnv on the quest ROM (kwargs as PokemonEnv's)."""
    from pokeil_jax.env import PokemonEnv

    kwargs.setdefault("rom_path", ROM_PATH)
    return PokemonEnv(**kwargs)


read_state = RAM.read  # every field of the RAM struct as raw numbers (tiles as bytes), in one read


class MiniMonQuestAdapter(EngineAdapter):
    """MiniMon Quest's 15 milestones and info dict (README.md documents the game)."""

    name = "MiniMon Quest"
    milestone_names = MILESTONES
    milestone_rewards = (1.0,) * len(MILESTONES)
    bundled_rom = ROM_PATH
    magic, layout_version, ram = MAGIC, LAYOUT_VERSION, RAM
    modes, map_names, starter_names, enemy_names = MODES, MAP_NAMES, MONS, MONS

    def scripted_expert(self):
        """The planner over the live tile map and the story (quest_planner.py)."""
        from pokeil_jax.games.minimon.quest_planner import MiniMonQuestPlanner

        return MiniMonQuestPlanner()

    def read_info(self, emu: Emulator) -> dict[str, Any]:
        s = read_state(emu)
        w, h = s["map_w"], s["map_h"]
        tiles = s["tiles"][: w * h].translate(_TILE_TABLE).decode("ascii")
        return self.engine_info(
            s,
            after_map={"map_size": (w, h), "camera": (s["camera_x"], s["camera_y"])},
            after_phase={"battle_kind": BATTLE_KINDS[s["battle_kind"]] if s["battle_kind"] < 3 else "?"},
            rest={
                "enemy_type": TYPES[s["enemy_type"]] if s["enemy_type"] < 3 else "?",
                "enemy_attack": s["enemy_attack"],
                "money": s["money"],
                "items": {name: bool(s["items"] >> i & 1) for i, name in enumerate(ITEMS)},
                "flags": {name: bool(s["flags"] >> i & 1) for i, name in enumerate(FLAGS)},
                "professor_xy": (s["professor_x"], s["professor_y"]),
                "rival_xy": (s["rival_x"], s["rival_y"]),
                "item_xy": (s["item_x"], s["item_y"]),
                "clerk_xy": (s["clerk_x"], s["clerk_y"]),
                "bridge_x": s["bridge_x"],
                "maze_entry_x": s["maze_entry_x"],
                "maze_exit_x": s["maze_exit_x"],
                "heal_point": (s["heal_map"], s["heal_x"], s["heal_y"]),
                "battles_won": s["battles_won"],
                "battles_lost": s["battles_lost"],
                "wild_battles": s["wild_battles"],
                "tiles": tuple(tiles[r * w : (r + 1) * w] for r in range(h)),
            },
        )
