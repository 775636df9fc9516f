"""The scripted MiniMon Quest expert: a planner over `info` (the game's RAM, no pixels).

Every action is decided from the current info alone, so it can take over from any state
(DAgger needs that). By mode:

- dialog: A.   START menu: B.   warp / boot: B (input is ignored).   choice: A (the first starter).
- battle: in the command box, move the cursor to the move whose type beats the enemy's
  type (FIRE<-BUBBLE, WATER<-LEAF, GRASS<-EMBER) and press A; every message: A.
- shop: buy the SAW once it is affordable, a SODA when HP is low and money spare, else EXIT.
- overworld: the story so far (milestones, flags, items, money) names a goal (a map and
  someone to talk to there); the next exit toward that map comes from the map graph, the
  path inside the map from a breadth-first search over the live tile map. A nurse is
  visited first when HP is low (and always right before the gym). Short of money for the
  SAW, it walks back and forth in ROUTE 2's tall grass until wild battles pay enough.
"""

from __future__ import annotations

import functools
from collections import deque
from typing import Any

from pokeil_jax.games.minimon.planner import A, B, DOOR, DOWN, LEFT, RIGHT, STEPS, UP, EnginePlanner
from pokeil_jax.games.minimon.quest import MAZE_H

WALKABLE = ".,"

SAW_PRICE, SODA_PRICE = 300, 30
LOW_HP = 15  # below this, walk to the nearest nurse
TOP_UP_HP = 36  # passing a nurse, heal below this
# The move whose type beats each enemy type (battle.c's chart), as battle_cursor values.
BEST_MOVE = {"GRASS": 0, "FIRE": 1, "WATER": 2}

# Exits of each map: tile -> map it leads to (quest/world.c's warp table; the MAZE's are seeded).
EXITS = {
    "HOUSE": {(7, 9): "HOME_TOWN"},
    "HOME_TOWN": {(4, 4): "HOUSE", (11, 4): "LAB", (7, 0): "ROUTE_1"},
    "LAB": {(7, 9): "HOME_TOWN"},
    "ROUTE_1": {(7, 9): "HOME_TOWN", (7, 0): "OAK_TOWN"},
    "OAK_TOWN": {(7, 9): "ROUTE_1", (0, 5): "ROUTE_2"},
    "ROUTE_2": {(14, 5): "OAK_TOWN", (7, 0): "PINE_CITY"},
    "PINE_CITY": {(7, 9): "ROUTE_2", (7, 0): "ROUTE_3"},
    "ROUTE_3": {(7, 9): "PINE_CITY", (7, 0): "MAZE"},
    "MAZE": {},
    "ROUTE_4": {(7, 9): "MAZE", (7, 0): "STONE_CITY"},
    "STONE_CITY": {(7, 9): "ROUTE_4", (7, 3): "GYM"},
    "GYM": {(7, 9): "STONE_CITY"},
}
NURSES = {"OAK_TOWN": (11, 4), "PINE_CITY": (3, 4), "STONE_CITY": (3, 7)}
LAB_PROFESSOR = (7, 3)
GUARD = (1, 5)
RANGER = (7, 1)
CUT_TREE = (7, 1)
LEADER = (7, 2)


def exits_of(info) -> dict[tuple[int, int], str]:
    if info["map_name"] == "MAZE":
        return {(info["maze_entry_x"], MAZE_H - 1): "ROUTE_3", (info["maze_exit_x"], 0): "ROUTE_4"}
    return EXITS[info["map_name"]]


def next_map(here: str, target: str) -> str | None:
    """The neighbouring map on a shortest path of maps from `here` to `target`."""
    first: dict[str, str | None] = {here: None}
    queue = deque([here])
    while queue:
        m = queue.popleft()
        if m == target:
            return first[m]
        for n in EXITS[m].values() if m != "MAZE" else ("ROUTE_3", "ROUTE_4"):
            if n not in first:
                first[n] = first[m] if first[m] is not None else n
                queue.append(n)
    return None


@functools.lru_cache(maxsize=32)
def distance_field(tiles: tuple[str, ...], goals: frozenset, passable_goals: bool) -> dict:
    """Steps from every tile to the nearest goal, walking on '.' and ',' (doors only as goals).

    Cached: on a map that does not change, the planner pays for one search per goal, not
    one per step (the MAZE is 59x39 tiles).
    """
    height, width = len(tiles), len(tiles[0])
    dist = {}
    queue = deque()
    for gx, gy in goals:
        if 0 <= gx < width and 0 <= gy < height:
            tile = tiles[gy][gx]
            if tile in WALKABLE or (passable_goals and tile == DOOR):
                dist[(gx, gy)] = 0
                queue.append((gx, gy))
    while queue:
        x, y = queue.popleft()
        d = dist[(x, y)] + 1
        for dx, dy in STEPS.values():
            nx, ny = x + dx, y + dy
            if 0 <= nx < width and 0 <= ny < height and (nx, ny) not in dist and tiles[ny][nx] in WALKABLE:
                dist[(nx, ny)] = d
                queue.append((nx, ny))
    return dist


def bfs_first_step(tiles, start, goals, passable_goals: bool = True):
    """First action of a shortest path from `start` to any tile in `goals`, or None.

    Walks on '.' and ',' tiles; a door is entered only when it is a goal.
    """
    goals = frozenset(goals)
    if start in goals:
        return None
    dist = distance_field(tuple(tiles), goals, passable_goals)
    best, best_d = None, None
    for action, (dx, dy) in STEPS.items():
        d = dist.get((start[0] + dx, start[1] + dy))
        if d is not None and (best_d is None or d < best_d):
            best, best_d = action, d
    return best


class MiniMonQuestPlanner(EnginePlanner):
    """Expert for MiniMon Quest: `get_action(obs, info)` reads only `info`."""

    walkable = WALKABLE
    first_step = staticmethod(bfs_first_step)

    def _other_mode(self, info) -> int:
        return self._shop(info) if info["mode"] == "shop" else B

    # ---- menus ------------------------------------------------------------------------------

    @staticmethod
    def _cursor_to(cursor: int, target: int) -> int:
        """2x2 box: cursor = row * 2 + column."""
        if cursor // 2 != target // 2:
            return DOWN if target // 2 > cursor // 2 else UP
        if cursor % 2 != target % 2:
            return RIGHT if target % 2 > cursor % 2 else LEFT
        return A

    def _battle(self, info) -> int:
        if info["battle_phase"] != "command":
            return A
        return self._cursor_to(info["battle_cursor"], BEST_MOVE.get(info["enemy_type"], 3))

    @staticmethod
    def _shop(info) -> int:
        money, cursor = info["money"], info["menu_cursor"]
        spare = money - (0 if info["items"]["SAW"] else SAW_PRICE)
        if not info["items"]["SAW"] and money >= SAW_PRICE:
            want = 1
        elif info["player_hp"] <= LOW_HP and spare >= SODA_PRICE:
            want = 0
        else:
            want = 2
        if cursor != want:
            return DOWN if want > cursor else UP
        return A

    # ---- overworld --------------------------------------------------------------------------

    def _goal(self, info) -> tuple[str, Any]:
        """(map, what to do there): ('talk', tile) or ('grind', None) or ('done', None)."""
        flags, items = info["flags"], info["items"]
        if info["starter"] is None:
            return "ROUTE_1", ("talk", tuple(info["professor_xy"]))
        if not flags["rival_beaten"]:
            return "OAK_TOWN", ("talk", tuple(info["rival_xy"]))
        if not items["PASS"]:
            return "LAB", ("talk", LAB_PROFESSOR)
        if not flags["guard_moved"]:
            return "OAK_TOWN", ("talk", GUARD)
        if info["map_name"] == "ROUTE_2" and not flags["item_taken"]:
            return "ROUTE_2", ("talk", tuple(info["item_xy"]))
        if not flags["task_given"]:
            return "PINE_CITY", ("talk", RANGER)
        if not items["SAW"]:
            if info["money"] >= SAW_PRICE:
                return "PINE_CITY", ("talk", tuple(info["clerk_xy"]))
            return "ROUTE_2", ("grind", None)
        if not flags["tree_cut"]:
            return "ROUTE_3", ("talk", CUT_TREE)
        if not flags["leader_beaten"]:
            return "GYM", ("talk", LEADER)
        return "GYM", ("done", None)

    def _overworld(self, info) -> int:
        here_map = info["map_name"]
        target_map, (what, where) = self._goal(info)
        hp, max_hp = info["player_hp"], info["player_max_hp"]
        nurse = NURSES.get(here_map)
        if nurse is not None and info["starter"] is not None:
            before_gym = here_map == "STONE_CITY" and target_map == "GYM" and what == "talk"
            if hp <= TOP_UP_HP or (before_gym and hp < max_hp):
                return self._talk(info, nurse)
        if hp <= LOW_HP and info["starter"] is not None and here_map != "MAZE":
            target_map = self._nearest_nurse(info)
        if here_map != target_map:
            hop = next_map(here_map, target_map)
            doors = [tile for tile, dest in exits_of(info).items() if dest == hop]
            return self._walk(info, doors)
        if what == "talk":
            return self._talk(info, where)
        if what == "grind":
            here = (info["x"], info["y"])
            grass = [(x, y) for y, row in enumerate(info["tiles"]) for x, c in enumerate(row)
                     if c == "," and (x, y) != here]
            return self._walk(info, grass)
        return A

    @staticmethod
    def _nearest_nurse(info) -> str:
        """The closest town with a nurse that the story has already opened (by map hops)."""
        ms = info["milestones"]
        towns = [t for t, m in (("OAK_TOWN", "OAK_TOWN"), ("PINE_CITY", "PINE_CITY"),
                                ("STONE_CITY", "MAZE_EXIT")) if ms[m]]
        if not towns:
            return "HOUSE"  # nowhere to heal yet (the game has no nurse before OAK TOWN)

        def hops(target):
            n, m = 0, info["map_name"]
            while m != target and n < 20:
                m, n = next_map(m, target), n + 1
            return n

        return min(towns, key=hops)

    @staticmethod
    def _walk(info, goals) -> int:
        action = bfs_first_step(info["tiles"], (info["x"], info["y"]), goals)
        return action if action is not None else A
