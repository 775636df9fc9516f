"""Pokémon Emerald (US, cartridge game code BPEE): what its RAM means, for `PokemonEnv`.

Nothing here has been run against a retail ROM (the project cannot ship one). Every address and
layout below is taken from pret/pokeemerald and cited where it is defined; tests/test_emerald.py
checks the reading against synthetic memory images built from those layouts.

Save blocks move: `src/load_save.c` (SetSaveBlocksPointers) shifts SaveBlock1/SaveBlock2 by a
random 0..124 bytes when a game starts or is saved. Every save-block read here goes through
gSaveBlock1Ptr / gSaveBlock2Ptr; no save-block address is fixed.

Milestones follow the PokeAgent speedrun order (sethkarten/pokeagent-speedrun,
pokemon_env/emulator.py) up to the first badge; bit i of `milestone_mask` is `MILESTONES[i]`.
Each has a RAM rule (see `MILESTONES`), of two kinds:

- sticky in RAM: an event flag, a story var or the party count, which the game never undoes;
- "where": the current map (SaveBlock1.location, (group << 8) | num), counted only while the game
  runs the overworld or a battle (at the title with no save file the save block is zeros, read as Petalburg
  City (0, 0)). These are true while the player is there, not afterwards: `PokemonEnv` ORs
  `milestone_mask` over the episode (`info["milestone_mask"]`), which is what makes them stick.
  `read_info(...)["milestones"]` is this adapter's reading of the current RAM.

Left out, with why:
- GAME_RUNNING: PokeAgent counts it unconditionally; it carries no information.
- PLAYER_NAME_SET: the game writes a random default name into SaveBlock2.playerName when the
  naming screen opens (src/main_menu.c, Task_NewGameBirchSpeech_StartNamingScreen), before the
  player chooses, and no flag marks the choice.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from pokeil_jax.emulator import EWRAM_BASE, EWRAM_SIZE, Emulator
from pokeil_jax.games import GameAdapter

# -- live game state (US addresses from pret/pokeemerald's pokeemerald.sym) --------------------
G_SAVE_BLOCK1_PTR = 0x03005D8C  # gSaveBlock1Ptr
G_SAVE_BLOCK2_PTR = 0x03005D90  # gSaveBlock2Ptr
G_MAIN = 0x030022C0  # gMain, struct Main (include/main.h)
MAIN_CALLBACK2 = 0x004  # gMain.callback2
MAIN_VBLANK_COUNTER2 = 0x024  # gMain.vblankCounter2: +1 every VBlank since power-on (src/main.c VBlankIntr)
MAIN_IN_BATTLE_BYTE, IN_BATTLE_BIT = 0x439, 1 << 1  # gMain.inBattle: bit 1 of the byte at +0x439
G_PLAYER_PARTY_COUNT = 0x020244E9  # gPlayerPartyCount (u8)
G_PLAYER_AVATAR = 0x02037590  # gPlayerAvatar, struct PlayerAvatar (include/global.fieldmap.h)
PLAYER_AVATAR_OBJECT_EVENT_ID = 0x05  # gPlayerAvatar.objectEventId
G_OBJECT_EVENTS = 0x02037350  # gObjectEvents[16], struct ObjectEvent, 0x24 bytes each
OBJECT_EVENT_SIZE, OBJECT_EVENT_COUNT = 0x24, 16
OBJECT_EVENT_FACING = 0x18  # low nibble: facingDirection
# Main callbacks (ROM addresses); gMain.callback2 holds them with the Thumb bit set.
CB2_OVERWORLD = 0x08085E5C
BATTLE_MAIN_CB2 = 0x08038420
THUMB_BIT = 1

# DIR_* (include/constants/event_object_movement.h)
FACING_NAMES = {1: "down", 2: "up", 3: "left", 4: "right"}

# -- save blocks (include/global.h) ----------------------------------------------------------
SAVE_BLOCK1_SIZE = 0x3D88
SB1_POS = 0x000  # struct Coords16 pos: s16 x, s16 y (map tile of the player)
SB1_LOCATION = 0x004  # struct WarpData location: s8 mapGroup, s8 mapNum, ...
SB1_MONEY = 0x490  # u32, XOR SaveBlock2.encryptionKey
SB1_FLAGS, NUM_FLAG_BYTES = 0x1270, 300  # flag n is bit (n & 7) of flags[n >> 3]
SB1_VARS, NUM_VARS, VARS_START = 0x139C, 256, 0x4000  # u16 vars[var - VARS_START]
SAVE_BLOCK2_SIZE = 0xF2C
SB2_PLAYER_GENDER = 0x08  # 0 male (Brendan), 1 female (May)
SB2_ENCRYPTION_KEY = 0xAC  # u32
MALE = 0

# -- flags (include/constants/flags.h, include/constants/opponents.h) ---------------------------
FLAG_SET_WALL_CLOCK = 0x51  # set by PlayersHouse_2F_EventScript_WallClock (data/scripts/players_house.inc)
TRAINER_FLAGS_START = 0x500  # flag of trainer t is TRAINER_FLAGS_START + t
TRAINER_GRUNT_PETALBURG_WOODS = 10
FLAG_DEFEATED_RUSTBORO_GYM = 0x4F0
FLAG_SYS_POKEDEX_GET = 0x861
FLAG_BADGE01_GET = 0x867  # .. FLAG_BADGE08_GET 0x86E
NUM_BADGES = 8
# Set by each town's MAP_SCRIPT_ON_TRANSITION on every entry (e.g. data/maps/LittlerootTown/scripts.inc).
FLAG_VISITED_LITTLEROOT_TOWN = 0x86F
FLAG_VISITED_OLDALE_TOWN = 0x870
FLAG_VISITED_PETALBURG_CITY = 0x876
FLAG_VISITED_RUSTBORO_CITY = 0x879

# -- vars (include/constants/vars.h) and the values the story scripts give them ---------------
# VAR_LITTLEROOT_INTRO_STATE: 1 or 2 walking out of the truck (data/maps/InsideOfTruck/scripts.inc),
# 3 entering the house with Mom (data/maps/LittlerootTown/scripts.inc), 4 Mom's "set the clock",
# 5 on reaching the 2F (PlayersHouse_2F_EventScript_BlockStairsUntilClockIsSet), 6 clock set, 7 TV.
VAR_LITTLEROOT_INTRO_STATE = 0x4092
INTRO_STATE_LEFT_TRUCK, INTRO_STATE_ENTERED_HOUSE, INTRO_STATE_REACHED_BEDROOM = 1, 3, 5
# VAR_PETALBURG_GYM_STATE (data/maps/PetalburgCity_Gym/scripts.inc): 1 after Dad's first talk
# (before Wally's catching tutorial), 2 after Dad's "go collect badges, start in Rustboro"; then
# +1 with each badge (data/maps/RustboroCity_Gym/scripts.inc), so it only grows.
VAR_PETALBURG_GYM_STATE = 0x4085
GYM_STATE_MET_DAD, GYM_STATE_GYM_EXPLAINED = 1, 2

# -- maps: (group << 8) | num, from the order of data/maps/map_groups.json ----------------------
MAP_PETALBURG_CITY = 0x0000
MAP_RUSTBORO_CITY = 0x0003
MAP_LITTLEROOT_TOWN = 0x0009
MAP_OLDALE_TOWN = 0x000A
MAP_ROUTE101 = 0x0010
MAP_ROUTE102 = 0x0011
MAP_ROUTE103 = 0x0012
MAP_ROUTE104 = 0x0013
MAP_BRENDANS_HOUSE_1F = 0x0100
MAP_BRENDANS_HOUSE_2F = 0x0101
MAP_MAYS_HOUSE_1F = 0x0102
MAP_MAYS_HOUSE_2F = 0x0103
MAP_PROFESSOR_BIRCHS_LAB = 0x0104
MAP_PETALBURG_CITY_GYM = 0x0801
MAP_RUSTBORO_CITY_GYM = 0x0B03
MAP_PETALBURG_WOODS = 0x180B
MAP_INSIDE_OF_TRUCK = 0x1928

MAP_NAMES = {
    MAP_PETALBURG_CITY: "PETALBURG_CITY",
    MAP_RUSTBORO_CITY: "RUSTBORO_CITY",
    MAP_LITTLEROOT_TOWN: "LITTLEROOT_TOWN",
    MAP_OLDALE_TOWN: "OLDALE_TOWN",
    MAP_ROUTE101: "ROUTE101",
    MAP_ROUTE102: "ROUTE102",
    MAP_ROUTE103: "ROUTE103",
    MAP_ROUTE104: "ROUTE104",
    MAP_BRENDANS_HOUSE_1F: "LITTLEROOT_TOWN_BRENDANS_HOUSE_1F",
    MAP_BRENDANS_HOUSE_2F: "LITTLEROOT_TOWN_BRENDANS_HOUSE_2F",
    MAP_MAYS_HOUSE_1F: "LITTLEROOT_TOWN_MAYS_HOUSE_1F",
    MAP_MAYS_HOUSE_2F: "LITTLEROOT_TOWN_MAYS_HOUSE_2F",
    MAP_PROFESSOR_BIRCHS_LAB: "LITTLEROOT_TOWN_PROFESSOR_BIRCHS_LAB",
    MAP_PETALBURG_CITY_GYM: "PETALBURG_CITY_GYM",
    MAP_RUSTBORO_CITY_GYM: "RUSTBORO_CITY_GYM",
    MAP_PETALBURG_WOODS: "PETALBURG_WOODS",
    MAP_INSIDE_OF_TRUCK: "INSIDE_OF_TRUCK",
}

# Route 104 is one map that Petalburg Woods splits in two: its warps into the woods are at
# y = 30 (north door) and y = 38 / 42 (south doors) (data/maps/Route104/map.json, warp_events).
ROUTE104_NORTH_MAX_Y = 30
ROUTE104_SOUTH_MIN_Y = 38


@dataclasses.dataclass(frozen=True)
class EmeraldRam:
    """What the milestone rules and `read_info` need, read once from RAM.

    `ready` is False while the save-block pointers do not point into EWRAM (the first frames after
    power-on); the save-block fields are then zeros.
    """

    ready: bool
    x: int
    y: int
    map_id: int  # (mapGroup << 8) | mapNum
    gender: int
    money: int
    flags: bytes  # SaveBlock1.flags, NUM_FLAG_BYTES
    vars: bytes  # SaveBlock1.vars, NUM_VARS u16 little-endian
    party_count: int
    callback2: int
    in_battle: bool
    facing: int  # DIR_* of the player's object event, 0 when unknown
    vblank_counter: int

    def flag(self, flag_id: int) -> bool:
        return bool(self.flags[flag_id >> 3] >> (flag_id & 7) & 1)

    def var(self, var_id: int) -> int:
        i = 2 * (var_id - VARS_START)
        return int.from_bytes(self.vars[i : i + 2], "little")

    @property
    def mode(self) -> str:
        if self.in_battle or self.callback2 == BATTLE_MAIN_CB2 | THUMB_BIT:
            return "battle"
        if self.callback2 == CB2_OVERWORLD | THUMB_BIT:
            return "overworld"
        return "other"

    @property
    def on_map(self) -> int | None:
        """The current map while a game runs (overworld or battle), else None."""
        return self.map_id if self.ready and self.mode != "other" else None


def read_ram(emu: Emulator) -> EmeraldRam:
    """Read everything the adapter reports, following the moving save-block pointers."""
    main = emu.read_bytes(G_MAIN, MAIN_IN_BATTLE_BYTE + 1)
    sb1 = _save_block(emu, G_SAVE_BLOCK1_PTR, SAVE_BLOCK1_SIZE)
    sb2 = _save_block(emu, G_SAVE_BLOCK2_PTR, SAVE_BLOCK2_SIZE)
    ready = sb1 is not None and sb2 is not None
    if ready:
        head = emu.read_bytes(sb1 + SB1_POS, 6)
        x = int.from_bytes(head[0:2], "little", signed=True)
        y = int.from_bytes(head[2:4], "little", signed=True)
        map_id = head[4] << 8 | head[5]
        key = emu.read_u32(sb2 + SB2_ENCRYPTION_KEY)
        money = emu.read_u32(sb1 + SB1_MONEY) ^ key
        gender = emu.read_bytes(sb2 + SB2_PLAYER_GENDER, 1)[0]
        flags = emu.read_bytes(sb1 + SB1_FLAGS, NUM_FLAG_BYTES)
        vars_ = emu.read_bytes(sb1 + SB1_VARS, 2 * NUM_VARS)
    else:
        x = y = map_id = money = gender = 0
        flags, vars_ = bytes(NUM_FLAG_BYTES), bytes(2 * NUM_VARS)
    object_id = emu.read_bytes(G_PLAYER_AVATAR + PLAYER_AVATAR_OBJECT_EVENT_ID, 1)[0]
    facing = 0
    if object_id < OBJECT_EVENT_COUNT:
        address = G_OBJECT_EVENTS + object_id * OBJECT_EVENT_SIZE + OBJECT_EVENT_FACING
        facing = emu.read_bytes(address, 1)[0] & 0x0F
    return EmeraldRam(
        ready=ready,
        x=x,
        y=y,
        map_id=map_id,
        gender=gender,
        money=money,
        flags=flags,
        vars=vars_,
        party_count=emu.read_bytes(G_PLAYER_PARTY_COUNT, 1)[0],
        callback2=int.from_bytes(main[MAIN_CALLBACK2 : MAIN_CALLBACK2 + 4], "little"),
        in_battle=bool(main[MAIN_IN_BATTLE_BYTE] & IN_BATTLE_BIT),
        facing=facing,
        vblank_counter=int.from_bytes(main[MAIN_VBLANK_COUNTER2 : MAIN_VBLANK_COUNTER2 + 4], "little"),
    )


def _save_block(emu: Emulator, pointer_address: int, size: int) -> int | None:
    address = emu.read_u32(pointer_address)
    return address if EWRAM_BASE <= address and address + size <= EWRAM_BASE + EWRAM_SIZE else None


# -- milestone rules ---------------------------------------------------------------------------


def _at(map_id: int) -> Callable[[EmeraldRam], bool]:
    return lambda r: r.on_map == map_id


_HOUSES = (MAP_BRENDANS_HOUSE_1F, MAP_BRENDANS_HOUSE_2F), (MAP_MAYS_HOUSE_1F, MAP_MAYS_HOUSE_2F)


def _player_house(r: EmeraldRam, floor: int) -> int:
    """Brendan's house for a boy, May's for a girl; floor 0 is 1F."""
    return _HOUSES[0 if r.gender == MALE else 1][floor]


def _rival_house(r: EmeraldRam, floor: int) -> int:
    return _HOUSES[1 if r.gender == MALE else 0][floor]


def _on_route104(r: EmeraldRam, north: bool) -> bool:
    if r.on_map != MAP_ROUTE104:
        return False
    return r.y <= ROUTE104_NORTH_MAX_Y if north else r.y >= ROUTE104_SOUTH_MIN_Y


@dataclasses.dataclass(frozen=True)
class Milestone:
    name: str
    rule: str  # the rule in words
    reached: Callable[[EmeraldRam], bool]


MILESTONES: tuple[Milestone, ...] = (
    Milestone(
        "INTRO_CUTSCENE_COMPLETE", "in the moving truck, or VAR_LITTLEROOT_INTRO_STATE >= 1",
        lambda r: r.on_map == MAP_INSIDE_OF_TRUCK or r.var(VAR_LITTLEROOT_INTRO_STATE) >= INTRO_STATE_LEFT_TRUCK,
    ),
    Milestone(
        "LITTLEROOT_TOWN", "in Littleroot Town, or FLAG_VISITED_LITTLEROOT_TOWN",
        lambda r: r.on_map == MAP_LITTLEROOT_TOWN or r.flag(FLAG_VISITED_LITTLEROOT_TOWN),
    ),
    Milestone(
        "PLAYER_HOUSE_ENTERED", "in the player's house 1F (by gender), or VAR_LITTLEROOT_INTRO_STATE >= 3",
        lambda r: r.on_map == _player_house(r, 0) or r.var(VAR_LITTLEROOT_INTRO_STATE) >= INTRO_STATE_ENTERED_HOUSE,
    ),
    Milestone(
        "PLAYER_BEDROOM", "in the player's house 2F, or VAR_LITTLEROOT_INTRO_STATE >= 5",
        lambda r: r.on_map == _player_house(r, 1) or r.var(VAR_LITTLEROOT_INTRO_STATE) >= INTRO_STATE_REACHED_BEDROOM,
    ),
    Milestone("CLOCK_SET", "FLAG_SET_WALL_CLOCK", lambda r: r.flag(FLAG_SET_WALL_CLOCK)),
    Milestone("RIVAL_HOUSE", "in the rival's house 1F", lambda r: r.on_map == _rival_house(r, 0)),
    Milestone("RIVAL_BEDROOM", "in the rival's house 2F", lambda r: r.on_map == _rival_house(r, 1)),
    Milestone("ROUTE_101", "on Route 101", _at(MAP_ROUTE101)),
    Milestone("STARTER_CHOSEN", "gPlayerPartyCount > 0", lambda r: r.party_count > 0),
    Milestone(
        # The rescue on Route 101 ends in the lab; the lab is open before that too, hence the party.
        "BIRCH_LAB_VISITED", "in Birch's lab with a Pokémon in the party",
        lambda r: r.on_map == MAP_PROFESSOR_BIRCHS_LAB and r.party_count > 0,
    ),
    Milestone(
        "OLDALE_TOWN", "in Oldale Town, or FLAG_VISITED_OLDALE_TOWN",
        lambda r: r.on_map == MAP_OLDALE_TOWN or r.flag(FLAG_VISITED_OLDALE_TOWN),
    ),
    Milestone("ROUTE_103", "on Route 103", _at(MAP_ROUTE103)),
    Milestone("RECEIVED_POKEDEX", "FLAG_SYS_POKEDEX_GET", lambda r: r.flag(FLAG_SYS_POKEDEX_GET)),
    Milestone("ROUTE_102", "on Route 102", _at(MAP_ROUTE102)),
    Milestone(
        "PETALBURG_CITY", "in Petalburg City, or FLAG_VISITED_PETALBURG_CITY",
        lambda r: r.on_map == MAP_PETALBURG_CITY or r.flag(FLAG_VISITED_PETALBURG_CITY),
    ),
    Milestone(
        "DAD_FIRST_MEETING", "VAR_PETALBURG_GYM_STATE >= 1 (Dad's first talk is over)",
        lambda r: r.var(VAR_PETALBURG_GYM_STATE) >= GYM_STATE_MET_DAD,
    ),
    Milestone(
        "GYM_EXPLANATION", "VAR_PETALBURG_GYM_STATE >= 2 (Dad sent the player to Rustboro's gym)",
        lambda r: r.var(VAR_PETALBURG_GYM_STATE) >= GYM_STATE_GYM_EXPLAINED,
    ),
    Milestone(
        "ROUTE_104_SOUTH", f"on Route 104 at y >= {ROUTE104_SOUTH_MIN_Y}", lambda r: _on_route104(r, north=False),
    ),
    Milestone("PETALBURG_WOODS", "in Petalburg Woods", _at(MAP_PETALBURG_WOODS)),
    Milestone(
        "TEAM_AQUA_GRUNT_DEFEATED", "trainer flag of TRAINER_GRUNT_PETALBURG_WOODS",
        lambda r: r.flag(TRAINER_FLAGS_START + TRAINER_GRUNT_PETALBURG_WOODS),
    ),
    Milestone(
        "ROUTE_104_NORTH", f"on Route 104 at y <= {ROUTE104_NORTH_MAX_Y}", lambda r: _on_route104(r, north=True),
    ),
    Milestone(
        "RUSTBORO_CITY", "in Rustboro City, or FLAG_VISITED_RUSTBORO_CITY",
        lambda r: r.on_map == MAP_RUSTBORO_CITY or r.flag(FLAG_VISITED_RUSTBORO_CITY),
    ),
    Milestone("RUSTBORO_GYM_ENTERED", "in Rustboro Gym", _at(MAP_RUSTBORO_CITY_GYM)),
    Milestone("ROXANNE_DEFEATED", "FLAG_DEFEATED_RUSTBORO_GYM", lambda r: r.flag(FLAG_DEFEATED_RUSTBORO_GYM)),
    Milestone(
        # Roxanne's script sets the badge and the defeat flag together; PokeAgent completes the gym
        # once the player, badge in hand, is out of it.
        "FIRST_GYM_COMPLETE", "FLAG_BADGE01_GET, and the game runs on a map other than Rustboro Gym",
        lambda r: r.flag(FLAG_BADGE01_GET) and r.on_map not in (None, MAP_RUSTBORO_CITY_GYM),
    ),
)


def milestones_reached(ram: EmeraldRam) -> tuple[bool, ...]:
    """One bool per `MILESTONES` entry, in order."""
    return tuple(bool(m.reached(ram)) for m in MILESTONES)


class EmeraldAdapter(GameAdapter):
    """Pokémon Emerald (US). Stateless: every answer is read from the emulator's RAM.

    Episode start: Emerald powers on into its copyright screen and intro movie, and nothing in
    the game can be chosen by a seed. `boot` runs `boot_frames` frames from power-on with no
    button held (this is the state `PokemonEnv.reset` caches); `begin_episode` then runs
    `seed % seed_frames` more idle frames and returns, so episodes of different seeds start
    from different frame counts and so different RNG states (Emerald advances its RNG every
    VBlank, src/main.c VBlankIntr). Neither reaches the point where the player has control:
    to start after the intro, restore a save state (`PokemonEnv.reset(options={"snapshot": ...})`
    or `PokemonEnv.load_state`).
    """

    name = "Pokémon Emerald"
    milestone_names = tuple(m.name for m in MILESTONES)
    milestone_rewards = (1.0,) * len(MILESTONES)
    rom_size = 16 * 1024 * 1024  # a 128 Mbit cartridge (pret/pokeemerald's pokeemerald.gba)

    def __init__(self, boot_frames: int = 600, seed_frames: int = 256):
        if not isinstance(boot_frames, int) or boot_frames < 0:
            raise ValueError(f"boot_frames must be an int >= 0 (frames from power-on), got {boot_frames!r}")
        if not isinstance(seed_frames, int) or seed_frames < 1:
            raise ValueError(f"seed_frames must be an int >= 1 (seeds map to seed % seed_frames), got {seed_frames!r}")
        self.boot_frames = boot_frames
        self.seed_frames = seed_frames

    def boot(self, emu: Emulator) -> None:
        """Run `boot_frames` frames from power-on with no button held."""
        emu.set_buttons(())
        emu.run_frames(self.boot_frames)

    def begin_episode(self, emu: Emulator, seed: int) -> None:
        """Run `seed % seed_frames` idle frames (the only thing a seed changes in Emerald)."""
        emu.set_buttons(())
        emu.run_frames(int(seed) % self.seed_frames)

    def milestone_mask(self, emu: Emulator) -> int:
        """Bit i set when `MILESTONES[i]` holds in the current RAM (see the module docstring)."""
        return sum(1 << i for i, reached in enumerate(milestones_reached(read_ram(emu))) if reached)

    def read_info(self, emu: Emulator) -> dict[str, Any]:
        """JSON-serialisable state.

        x, y: the player's map tile (SaveBlock1.pos, s16). map: (group << 8) | num, with map_group,
        map_num and map_name (None for maps no milestone names). facing: "down"/"up"/"left"/"right",
        or "none" when no player object is set up. mode: "battle", "overworld" or "other" (menus,
        title, map loads). money in ¥ (decrypted). badges: 8 bools, Stone..Rain. frame_count:
        gMain.vblankCounter2, VBlanks since power-on. save_blocks_ready: False in the first frames
        after power-on, when every save-block field reads 0.
        """
        ram = read_ram(emu)
        reached = milestones_reached(ram)
        badges = [ram.flag(FLAG_BADGE01_GET + i) for i in range(NUM_BADGES)]
        return {
            "x": ram.x,
            "y": ram.y,
            "map": ram.map_id,
            "map_group": ram.map_id >> 8,
            "map_num": ram.map_id & 0xFF,
            "map_name": MAP_NAMES.get(ram.map_id) if ram.ready else None,
            "facing": FACING_NAMES.get(ram.facing, "none"),
            "mode": ram.mode,
            "party_count": ram.party_count,
            "badges": badges,
            "badge_count": sum(badges),
            "money": ram.money,
            "milestones": dict(zip(self.milestone_names, reached)),
            "milestone_count": sum(reached),
            "frame_count": ram.vblank_counter,
            "save_blocks_ready": ram.ready,
        }
