"""MiniMon Quest, the bundled long-horizon game: its ROM and what its RAM means.

The quest ROM (quest/*.c plus the classic game's engine files; README.md "MiniMon Quest")
keeps its state in one packed struct at 0x02000000 declared in quest/state.h. `LAYOUT`
mirrors it field by field; tests/test_minimon_quest.py parses the header's
`_Static_assert(offsetof(...))` lines and fails if the two drift apart. The boot protocol
is the classic game's: magic, then the host writes `seed` and `seed_ready = 1`.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from pokeil_jax.emulator import Emulator
from pokeil_jax.games import GameAdapter

ROM_PATH = Path(__file__).resolve().with_name("minimon_quest.gba")

STATE_ADDRESS = 0x02000000
MAGIC = 0x514E4D4D  # "MMNQ" as little-endian bytes
LAYOUT_VERSION = 1
STATE_SIZE = 0x954
MAZE_W, MAZE_H = 59, 39
TILES_MAX = MAZE_W * MAZE_H

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
    ("camera_x", 0x36, "H"),
    ("camera_y", 0x38, "H"),
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

MODES = ("boot", "overworld", "dialog", "start_menu", "choice", "battle", "warp", "shop")
MAP_NAMES = ("HOUSE", "HOME_TOWN", "LAB", "ROUTE_1", "OAK_TOWN", "ROUTE_2", "PINE_CITY", "ROUTE_3",
             "MAZE", "ROUTE_4", "STONE_CITY", "GYM")
FACINGS = ("down", "up", "left", "right")
# One char per tile kind (quest/state.h enum TileKind). Walkable: '.', 'D' and ',' (tall grass).
TILE_CHARS = ".#DGH~NS,OCI"
BATTLE_PHASES = ("intro", "command", "player_msg", "enemy_msg", "win", "lose")
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
STARTER_NONE = 0xFF
_TILE_TABLE = bytes.maketrans(bytes(range(len(TILE_CHARS))), TILE_CHARS.encode())

BOOT_MAX_FRAMES = 600
BEGIN_MAX_FRAMES = 60


def make_env(**kwargs):
    """`pokeil/MiniMonQuest-v0`: PokemonEnv on the quest ROM (kwargs as PokemonEnv's)."""
    from pokeil_jax.env import PokemonEnv

    kwargs.setdefault("rom_path", ROM_PATH)
    return PokemonEnv(**kwargs)


class MiniMonQuestError(RuntimeError):
    """The ROM did not follow the quest's boot protocol (wrong ROM, or a stale build)."""


def read_state(emu: Emulator) -> dict[str, Any]:
    """Every field of the RAM struct as raw numbers (tiles as bytes), in one read."""
    values = _STRUCT.unpack_from(emu.ram_view(STATE_ADDRESS, STATE_SIZE))
    return dict(zip(_NAMES, values))


class MiniMonQuestAdapter(GameAdapter):
    """MiniMon Quest's boot protocol, 15 milestones and info dict (README.md documents the game)."""

    name = "MiniMon Quest"
    milestone_names = MILESTONES
    milestone_rewards = (1.0,) * len(MILESTONES)
    bundled_rom = ROM_PATH

    def scripted_expert(self):
        """The planner over the live tile map and the story (quest_planner.py)."""
        from pokeil_jax.games.minimon.quest_planner import MiniMonQuestPlanner

        return MiniMonQuestPlanner()

    def boot(self, emu: Emulator) -> None:
        for _ in range(BOOT_MAX_FRAMES):
            emu.run_frames(1)
            s = read_state(emu)
            if s["magic"] == MAGIC and s["mode"] == 0:
                if s["layout_version"] != LAYOUT_VERSION or s["state_size"] != STATE_SIZE:
                    raise MiniMonQuestError(
                        f"ROM RAM layout v{s['layout_version']} ({s['state_size']} bytes) does not match "
                        f"this adapter's v{LAYOUT_VERSION} ({STATE_SIZE} bytes). Rebuild the ROM "
                        f"(make -C pokeil_jax/games/minimon install) or update the adapter."
                    )
                return
        raise MiniMonQuestError(
            f"MiniMon Quest did not reach its BOOT state within {BOOT_MAX_FRAMES} frames (magic "
            f"0x{s['magic']:08X}, expected 0x{MAGIC:08X}). Is this the quest ROM ({ROM_PATH})?"
        )

    def begin_episode(self, emu: Emulator, seed: int, options=None) -> None:
        if read_state(emu)["mode"] != 0:
            raise MiniMonQuestError("begin_episode needs the BOOT state from boot(); load it first.")
        emu.write_u32(STATE_ADDRESS + _OFFSET["seed"], int(seed) & 0xFFFFFFFF)
        emu.write_u32(STATE_ADDRESS + _OFFSET["seed_ready"], 1)
        for _ in range(BEGIN_MAX_FRAMES):
            emu.run_frames(1)
            if read_state(emu)["mode"] == 1:
                emu.run_frames(1)
                return
        raise MiniMonQuestError(f"MiniMon Quest did not start the episode within {BEGIN_MAX_FRAMES} frames.")

    def milestone_mask(self, emu: Emulator) -> int:
        return read_state(emu)["milestones"] & ((1 << len(MILESTONES)) - 1)

    def read_info(self, emu: Emulator) -> dict[str, Any]:
        return info_from_state(read_state(emu))


def info_from_state(s: dict[str, Any]) -> dict[str, Any]:
    mask = s["milestones"]
    w, h = s["map_w"], s["map_h"]
    tiles = s["tiles"][: w * h].translate(_TILE_TABLE).decode("ascii")
    starter = s["starter_id"]
    return {
        "x": s["player_x"],
        "y": s["player_y"],
        "map": s["map_id"],
        "map_name": MAP_NAMES[s["map_id"]] if s["map_id"] < len(MAP_NAMES) else "?",
        "map_size": (w, h),
        "camera": (s["camera_x"], s["camera_y"]),
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
        "starter": MONS[starter] if starter < len(MONS) else None,
        "battle_phase": BATTLE_PHASES[s["battle_phase"]] if s["battle_phase"] < 6 else "?",
        "battle_kind": BATTLE_KINDS[s["battle_kind"]] if s["battle_kind"] < 3 else "?",
        "battle_cursor": s["battle_cursor"],
        "battle_turn": "enemy" if s["battle_turn"] else "player",
        "player_hp": s["player_hp"],
        "player_max_hp": s["player_max_hp"],
        "enemy_hp": s["enemy_hp"],
        "enemy_max_hp": s["enemy_max_hp"],
        "enemy": MONS[s["enemy_species"]] if s["enemy_species"] < len(MONS) else "?",
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
    }
