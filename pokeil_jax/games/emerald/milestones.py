"""Emerald's milestones: the PokéAgent speedrun's 15 scored splits first, then unscored extras.

The scored list and its order are the kit's `COMPARISON_MILESTONES` (sethkarten/pokeagent-speedrun,
pokemon_env/emulator.py). Each milestone has a RAM rule of one of two kinds:

- sticky in RAM: an event flag, a story var or the party count, which the game never undoes,
  including progress that the story only allows after the milestone (Oldale's visited flag
  implies Route 101 was walked);
- "where": the current map (SaveBlock1.location, (group << 8) | num), counted only while the game
  runs the overworld or a battle. These hold while the player is there; `PokemonEnv` ORs
  `milestone_mask` over the episode, which is what makes them stick.

So a state loaded mid-game has every milestone its RAM proves done already counted.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from pokeil_jax.games.emerald.ram import MALE, EmeraldRam

# -- flags (include/constants/flags.h, include/constants/opponents.h) ---------------------------
FLAG_SET_WALL_CLOCK = 0x51  # set by PlayersHouse_2F_EventScript_WallClock (data/scripts/players_house.inc)
FLAG_DEFEATED_RIVAL_ROUTE103 = 0x82  # set by Route103_EventScript_RivalEnd after the won battle
TRAINER_FLAGS_START = 0x500  # flag of trainer t is TRAINER_FLAGS_START + t
TRAINER_GRUNT_PETALBURG_WOODS = 10
FLAG_DEFEATED_RUSTBORO_GYM = 0x4F0
FLAG_SYS_POKEMON_GET = 0x860  # set as Birch's bag opens on Route 101 (data/maps/Route101/scripts.inc)
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


def _player_house(r: EmeraldRam, floor: int) -> int:
    """Brendan's house for a boy, May's for a girl; floor 0 is 1F."""
    houses = (MAP_BRENDANS_HOUSE_1F, MAP_BRENDANS_HOUSE_2F), (MAP_MAYS_HOUSE_1F, MAP_MAYS_HOUSE_2F)
    return houses[0 if r.gender == MALE else 1][floor]


def _rival_house(r: EmeraldRam, floor: int) -> int:
    houses = (MAP_MAYS_HOUSE_1F, MAP_MAYS_HOUSE_2F), (MAP_BRENDANS_HOUSE_1F, MAP_BRENDANS_HOUSE_2F)
    return houses[0 if r.gender == MALE else 1][floor]


def _on_route104(r: EmeraldRam, north: bool) -> bool:
    if r.on_map != MAP_ROUTE104:
        return False
    return r.y <= ROUTE104_NORTH_MAX_Y if north else r.y >= ROUTE104_SOUTH_MIN_Y


# Story progress that is only possible after a milestone (each implies all before it).
def _starter(r: EmeraldRam) -> bool:
    # Not FLAG_SYS_POKEMON_GET: Route101_EventScript_BirchsBag sets it as the bag opens, before the choice.
    return r.party_count > 0 or _rival_beaten(r)


def _rival_beaten(r: EmeraldRam) -> bool:
    return r.flag(FLAG_DEFEATED_RIVAL_ROUTE103) or _pokedex(r)


def _pokedex(r: EmeraldRam) -> bool:
    return r.flag(FLAG_SYS_POKEDEX_GET) or _petalburg(r)


def _petalburg(r: EmeraldRam) -> bool:
    return r.flag(FLAG_VISITED_PETALBURG_CITY) or _rustboro(r)


def _rustboro(r: EmeraldRam) -> bool:
    return r.flag(FLAG_VISITED_RUSTBORO_CITY) or _roxanne(r)


def _roxanne(r: EmeraldRam) -> bool:
    return r.flag(FLAG_DEFEATED_RUSTBORO_GYM) or r.flag(FLAG_BADGE01_GET)


@dataclasses.dataclass(frozen=True)
class Milestone:
    name: str
    rule: str  # the rule in words
    reached: Callable[[EmeraldRam], bool]
    scored: bool  # one of the PokéAgent speedrun's COMPARISON_MILESTONES


def _m(name: str, rule: str, reached: Callable[[EmeraldRam], bool], scored: bool = True) -> Milestone:
    return Milestone(name, rule, reached, scored)


MILESTONES: tuple[Milestone, ...] = (
    # -- scored: the kit's COMPARISON_MILESTONES, in its order ---------------------------------
    _m("LITTLEROOT_TOWN", "in Littleroot Town, or FLAG_VISITED_LITTLEROOT_TOWN",
       lambda r: r.on_map == MAP_LITTLEROOT_TOWN or r.flag(FLAG_VISITED_LITTLEROOT_TOWN) or _starter(r)),
    _m("ROUTE_101", "on Route 101, or the starter (given there) or later progress",
       lambda r: r.on_map == MAP_ROUTE101 or r.flag(FLAG_SYS_POKEMON_GET) or _starter(r)),
    _m("STARTER_CHOSEN", "gPlayerPartyCount > 0, or later progress", _starter),
    _m("OLDALE_TOWN", "in Oldale Town, or FLAG_VISITED_OLDALE_TOWN",
       lambda r: r.on_map == MAP_OLDALE_TOWN or r.flag(FLAG_VISITED_OLDALE_TOWN) or _rival_beaten(r)),
    _m("RIVAL_BATTLE_WON", "FLAG_DEFEATED_RIVAL_ROUTE103 (the Route 103 battle won), or later progress",
       _rival_beaten),
    _m("RECEIVED_POKEDEX", "FLAG_SYS_POKEDEX_GET, or later progress", _pokedex),
    _m("ROUTE_102", "on Route 102, or Petalburg City reached",
       lambda r: r.on_map in (MAP_ROUTE102, MAP_PETALBURG_CITY) or _petalburg(r)),
    _m("PETALBURG_CITY", "in Petalburg City, or FLAG_VISITED_PETALBURG_CITY",
       lambda r: r.on_map == MAP_PETALBURG_CITY or _petalburg(r)),
    _m("DAD_FIRST_MEETING", "VAR_PETALBURG_GYM_STATE >= 1 (Dad's first talk is over)",
       lambda r: r.var(VAR_PETALBURG_GYM_STATE) >= GYM_STATE_MET_DAD),
    _m("ROUTE_104_SOUTH", f"on Route 104 at y >= {ROUTE104_SOUTH_MIN_Y}, or Rustboro reached",
       lambda r: _on_route104(r, north=False) or r.on_map == MAP_PETALBURG_WOODS or _rustboro(r)),
    _m("PETALBURG_WOODS", "in Petalburg Woods, or Rustboro reached",
       lambda r: r.on_map == MAP_PETALBURG_WOODS or _rustboro(r)),
    _m("ROUTE_104_NORTH", f"on Route 104 at y <= {ROUTE104_NORTH_MAX_Y}, or Rustboro reached",
       lambda r: _on_route104(r, north=True) or _rustboro(r)),
    _m("RUSTBORO_CITY", "in Rustboro City, or FLAG_VISITED_RUSTBORO_CITY",
       lambda r: r.on_map == MAP_RUSTBORO_CITY or _rustboro(r)),
    _m("RUSTBORO_GYM_ENTERED", "in Rustboro Gym, or Roxanne beaten",
       lambda r: r.on_map == MAP_RUSTBORO_CITY_GYM or _roxanne(r)),
    _m("ROXANNE_DEFEATED", "FLAG_DEFEATED_RUSTBORO_GYM or FLAG_BADGE01_GET", _roxanne),
    # -- unscored extras, in story order ------------------------------------------------------
    _m("INTRO_CUTSCENE_COMPLETE", "in the moving truck, or VAR_LITTLEROOT_INTRO_STATE >= 1",
       lambda r: r.on_map == MAP_INSIDE_OF_TRUCK or r.var(VAR_LITTLEROOT_INTRO_STATE) >= INTRO_STATE_LEFT_TRUCK,
       scored=False),
    _m("PLAYER_HOUSE_ENTERED", "in the player's house 1F (by gender), or VAR_LITTLEROOT_INTRO_STATE >= 3",
       lambda r: r.on_map == _player_house(r, 0) or r.var(VAR_LITTLEROOT_INTRO_STATE) >= INTRO_STATE_ENTERED_HOUSE,
       scored=False),
    _m("PLAYER_BEDROOM", "in the player's house 2F, or VAR_LITTLEROOT_INTRO_STATE >= 5",
       lambda r: r.on_map == _player_house(r, 1) or r.var(VAR_LITTLEROOT_INTRO_STATE) >= INTRO_STATE_REACHED_BEDROOM,
       scored=False),
    _m("CLOCK_SET", "FLAG_SET_WALL_CLOCK", lambda r: r.flag(FLAG_SET_WALL_CLOCK), scored=False),
    _m("RIVAL_HOUSE", "in the rival's house 1F", lambda r: r.on_map == _rival_house(r, 0), scored=False),
    _m("RIVAL_BEDROOM", "in the rival's house 2F", lambda r: r.on_map == _rival_house(r, 1), scored=False),
    _m("BIRCH_LAB_VISITED", "in Birch's lab with a Pokémon in the party (the lab is open before the rescue too)",
       lambda r: r.on_map == MAP_PROFESSOR_BIRCHS_LAB and r.party_count > 0, scored=False),
    _m("ROUTE_103", "on Route 103, or the rival beaten there",
       lambda r: r.on_map == MAP_ROUTE103 or _rival_beaten(r), scored=False),
    _m("GYM_EXPLANATION", "VAR_PETALBURG_GYM_STATE >= 2 (Dad sent the player to Rustboro's gym)",
       lambda r: r.var(VAR_PETALBURG_GYM_STATE) >= GYM_STATE_GYM_EXPLAINED, scored=False),
    _m("TEAM_AQUA_GRUNT_DEFEATED", "trainer flag of TRAINER_GRUNT_PETALBURG_WOODS",
       lambda r: r.flag(TRAINER_FLAGS_START + TRAINER_GRUNT_PETALBURG_WOODS), scored=False),
    # Roxanne's script sets the badge and the defeat flag together; PokéAgent completes the gym
    # once the player, badge in hand, is out of it.
    _m("FIRST_GYM_COMPLETE", "FLAG_BADGE01_GET, and the game runs on a map other than Rustboro Gym",
       lambda r: r.flag(FLAG_BADGE01_GET) and r.on_map not in (None, MAP_RUSTBORO_CITY_GYM), scored=False),
)


def milestones_reached(ram: EmeraldRam) -> tuple[bool, ...]:
    """One bool per `MILESTONES` entry, in order."""
    return tuple(bool(m.reached(ram)) for m in MILESTONES)
