"""The scripted MiniMon expert: a planner over the live tile map in `info` (RAM only, no pixels).

It decides every action from the current info alone, so it can take over from any state (a
random policy's wanderings, a half-finished dialog, a battle with the cursor elsewhere): online
DAgger relies on that. Plan, by mode:

- dialog: A turns the page.                  - START menu: B closes it.
- starter choice: move the cursor to the first starter, A.
- battle: in the command box move the cursor to TACKLE, A; every message: A.
- warp / boot: B (input is ignored; a fixed label keeps the demonstrations consistent).
- overworld: walk (breadth-first search over the 15x10 tile map, doors only as goals) to the
  next goal of the milestone order: HOUSE door -> LAB door -> professor (face him, A) ->
  TOWN north exit -> trainer in the hedge gap (face him, A) -> ROUTE's top exit.
"""

from __future__ import annotations

from collections import deque
from typing import Any

# Action indices (pokeil_jax.emulator.BUTTONS).
A, B, START, SELECT, UP, DOWN, LEFT, RIGHT, L, R = range(10)
STEPS = {UP: (0, -1), DOWN: (0, 1), LEFT: (-1, 0), RIGHT: (1, 0)}
FACING_ACTION = {"up": UP, "down": DOWN, "left": LEFT, "right": RIGHT}

WALKABLE = "."
DOOR = "D"
# TOWN's doors (the warp table in src/world.c): the house (4, 4), the lab (11, 4), the north gate (7, 0).
LAB_DOOR_IN_TOWN = (11, 4)


def bfs_first_step(tiles, start, goals, passable_goals: bool = True):
    """First action of a shortest path from `start` to any tile in `goals`, or None.

    Walks on '.' tiles; a door is entered only when it is a goal (and `passable_goals`).
    """
    goals = set(goals)
    if start in goals:
        return None
    height, width = len(tiles), len(tiles[0])
    first: dict[tuple[int, int], int | None] = {start: None}
    queue = deque([start])
    while queue:
        x, y = queue.popleft()
        for action, (dx, dy) in STEPS.items():
            nxt = (x + dx, y + dy)
            nx, ny = nxt
            if not (0 <= nx < width and 0 <= ny < height) or nxt in first:
                continue
            tile = tiles[ny][nx]
            if nxt in goals and (tile == WALKABLE or (passable_goals and tile == DOOR)):
                return first[(x, y)] if first[(x, y)] is not None else action
            if tile != WALKABLE:
                continue
            first[nxt] = first[(x, y)] if first[(x, y)] is not None else action
            queue.append(nxt)
    return None


def doors(tiles) -> list[tuple[int, int]]:
    return [(x, y) for y, row in enumerate(tiles) for x, c in enumerate(row) if c == DOOR]


class EnginePlanner:
    """What the planners of both MiniMon games share: the modes the engine runs the same way
    (dialog, START menu, starter choice) and talking to someone. A subclass gives `walkable`
    (tile chars to walk on), `first_step` (its path search), `_battle` and `_overworld`, and
    `_other_mode` for modes of its own."""

    walkable = WALKABLE
    first_step = staticmethod(bfs_first_step)

    def reset(self) -> None:
        pass

    def get_action(self, obs: Any, info: dict[str, Any]) -> int:
        mode = info["mode"]
        if mode == "dialog":
            return A
        if mode == "start_menu":
            return B
        if mode == "choice":
            return UP if info["choice_cursor"] > 0 else A
        if mode == "battle":
            return self._battle(info)
        if mode == "overworld":
            return self._overworld(info)
        return self._other_mode(info)

    def _other_mode(self, info) -> int:
        return B  # warp / boot: input is ignored

    def _talk(self, info, target) -> int:
        """Stand next to `target`, face it, press A."""
        x, y = info["x"], info["y"]
        for action, (dx, dy) in STEPS.items():
            if (x + dx, y + dy) == target:
                return A if FACING_ACTION[info["facing"]] == action else action
        tiles = info["tiles"]
        beside = [(target[0] + dx, target[1] + dy) for dx, dy in STEPS.values()]
        beside = [(bx, by) for bx, by in beside if 0 <= by < len(tiles) and 0 <= bx < len(tiles[0])
                  and tiles[by][bx] in self.walkable]
        action = self.first_step(tiles, (x, y), beside, passable_goals=False)
        return action if action is not None else A


class MiniMonPlanner(EnginePlanner):
    """Expert for the bundled game: `get_action(obs, info)` reads only `info` (the game's RAM)."""

    @staticmethod
    def _battle(info) -> int:
        if info["battle_phase"] != "command":
            return A
        cursor = info["battle_cursor"]  # 0 TACKLE (top-left), 1 top-right, 2 bottom-left, 3 bottom-right
        if cursor % 2 == 1:
            return LEFT
        if cursor >= 2:
            return UP
        return A

    def _overworld(self, info) -> int:
        tiles, here = info["tiles"], (info["x"], info["y"])
        milestones, map_name = info["milestones"], info["map_name"]
        if map_name == "HOUSE":
            return self._walk(tiles, here, doors(tiles))
        if map_name == "LAB":
            if not milestones["GOT_STARTER"]:
                return self._talk(info, tuple(info["professor_xy"]))
            return self._walk(tiles, here, doors(tiles))
        if map_name == "TOWN":
            all_doors = doors(tiles)
            if milestones["GOT_STARTER"]:
                target = [min(all_doors, key=lambda d: d[1])]  # the north exit is the topmost door
            else:
                target = [LAB_DOOR_IN_TOWN] if LAB_DOOR_IN_TOWN in all_doors else all_doors
            return self._walk(tiles, here, target)
        if map_name == "ROUTE":
            if not info["trainer_beaten"]:
                return self._talk(info, tuple(info["trainer_xy"]))
            return self._walk(tiles, here, [min(doors(tiles), key=lambda d: d[1])])
        return A  # NEXT_TOWN: the game is complete

    @staticmethod
    def _walk(tiles, here, goals) -> int:
        action = bfs_first_step(tiles, here, goals)
        return action if action is not None else A
