"""MiniMon, the bundled GBA game, in the real emulator: ROM, RAM contract, rules, playthroughs."""

import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest

from pokeil_jax.emulator import BUTTONS, Emulator, read_rom_header
from pokeil_jax.games import adapter_for_code
from pokeil_jax.games import minimon
from pokeil_jax.games.minimon import ROM_PATH, MiniMonAdapter
from pokeil_jax.games.minimon.planner import bfs_first_step

GAME_DIR = Path(minimon.__file__).parent
A, B, START, UP, DOWN, LEFT, RIGHT = (BUTTONS.index(n) for n in ("A", "B", "START", "UP", "DOWN", "LEFT", "RIGHT"))
STEP = {UP: (0, -1), DOWN: (0, 1), LEFT: (-1, 0), RIGHT: (1, 0)}
FACING = {UP: "up", DOWN: "down", LEFT: "left", RIGHT: "right"}


class Game:
    """One emulator booted once; `start(seed)` reloads the boot state. `press` is one env step."""

    def __init__(self):
        self.emu = Emulator(ROM_PATH)
        self.adapter = MiniMonAdapter()
        self.adapter.boot(self.emu)
        self.boot_state = self.emu.save_state()

    def start(self, seed):
        self.emu.load_state(self.boot_state)
        self.adapter.begin_episode(self.emu, seed)
        return self.info

    @property
    def info(self):
        return self.adapter.read_info(self.emu)

    def press(self, button, hold=8, release=16):
        self.emu.set_buttons((button,))
        self.emu.run_frames(hold)
        self.emu.set_buttons(())
        self.emu.run_frames(release)
        return self.info


@pytest.fixture(scope="module")
def game():
    g = Game()
    yield g
    g.emu.close()


# -- a tiny route-following player, from RAM info only ---------------------------------------


def first_step(tiles, start, goals):
    """The button of the first step of a shortest walk onto any of `goals` (None: no path)."""
    return bfs_first_step(tiles, start, set(goals))


def approach(info, target):
    """Walk next to `target` and face it, then press A."""
    x, y = info["x"], info["y"]
    for button, (dx, dy) in STEP.items():
        if (x + dx, y + dy) == tuple(target):
            return A if info["facing"] == FACING[button] else button
    around = {(target[0] + dx, target[1] + dy) for dx, dy in STEP.values()}
    return first_step(info["tiles"], (x, y), around)


def scripted_action(info, battle_command=0):
    """One button that makes progress toward the next milestone (TACKLE-only battles)."""
    mode = info["mode"]
    if mode == "battle":
        if info["battle_phase"] == "command" and info["battle_cursor"] != battle_command:
            row, col = divmod(battle_command, 2)
            if info["battle_cursor"] // 2 != row:
                return DOWN if row else UP
            return RIGHT if col else LEFT
        return A
    if mode in ("dialog", "choice"):
        return A
    if mode != "overworld":
        return B
    done = info["milestones"]
    here = (info["x"], info["y"])
    goal = {
        "HOUSE": (7, 9),
        "TOWN": (7, 0) if done["GOT_STARTER"] else (11, 4),
        "LAB": (7, 9) if done["GOT_STARTER"] else None,
        "ROUTE": (7, 0) if info["trainer_beaten"] else None,
    }.get(info["map_name"])
    if info["map_name"] == "LAB" and goal is None:
        return approach(info, info["professor_xy"])
    if info["map_name"] == "ROUTE" and goal is None:
        return approach(info, info["trainer_xy"])
    return first_step(info["tiles"], here, {goal})


# -- ROM and layout -----------------------------------------------------------------------------


def test_rom_header_is_valid_and_logo_free():
    header = read_rom_header(ROM_PATH)
    assert (header.title, header.game_code, header.maker_code) == ("MINIMON", "MNMN", "PJ")
    raw = ROM_PATH.read_bytes()[:0xC0]
    assert raw[0xB2] == 0x96
    assert (sum(raw[0xA0:0xBD]) + 0x19 + raw[0xBD]) % 256 == 0
    assert raw[0x04:0xA0] == bytes(0x9C), "the Nintendo logo area must stay zero"
    assert adapter_for_code("MNMN").name == "MiniMon"


def _c_struct_fields(header_text):
    body = re.search(r"typedef struct[^{]*\{(.*?)\}\s*MiniMonState;", header_text, re.S).group(1)
    sizes = {"u8": 1, "u16": 2, "u32": 4}
    fields = {}
    for ctype, name, count in re.findall(r"^\s*(u8|u16|u32)\s+(\w+)(?:\[([^\]]+)\])?;", body, re.M):
        n = eval(count, {"MAP_W": 15, "MAP_H": 10}) if count else 1
        fields[name] = sizes[ctype] * n
    return fields


def test_python_layout_matches_state_h():
    text = (GAME_DIR / "src" / "state.h").read_text() + (GAME_DIR / "engine" / "state_head.h").read_text()
    asserted = {
        name: int(value, 0)
        for name, value in re.findall(r"_Static_assert\(offsetof\(MiniMonState,\s*(\w+)\)\s*==\s*(\w+)", text)
    }
    python = {name: offset for name, offset, _ in minimon.LAYOUT}
    assert asserted == python
    sizeof = int(re.search(r"_Static_assert\(sizeof\(MiniMonState\)\s*==\s*(\w+)", text).group(1), 0)
    assert sizeof == minimon.STATE_SIZE
    c_sizes = _c_struct_fields(text)
    for name, _, fmt in minimon.LAYOUT:
        assert struct.calcsize("<" + fmt) == c_sizes[name], name
    assert int(re.search(r"MINIMON_LAYOUT_VERSION (\d+)", text).group(1)) == minimon.LAYOUT_VERSION
    assert int(re.search(r"MINIMON_MAGIC\s+(0x[0-9A-Fa-f]+)", text).group(1), 0) == minimon.MAGIC
    # Enums the adapter names must follow the header's order.
    for prefix, names in (("MODE_", minimon.MODES), ("MS_", minimon.MILESTONES), ("MAP_", minimon.MAP_NAMES)):
        values = {m[0]: int(m[1]) for m in re.findall(rf"\b{prefix}(\w+) = (\d+)", text)}
        assert [values[n.upper()] for n in names] == list(range(len(names))), prefix


# -- boot and seeds -----------------------------------------------------------------------------


def test_boot_waits_for_the_seed(game):
    game.emu.load_state(game.boot_state)
    game.emu.run_frames(30)
    s = minimon.read_state(game.emu)
    assert (s["magic"], s["mode"], s["seed_ready"]) == (minimon.MAGIC, 0, 0)
    info = game.start(5)
    assert info["mode"] == "overworld" and info["map_name"] == "HOUSE"
    assert minimon.read_state(game.emu)["seed_ready"] == 2
    assert (info["x"], info["y"]) == info["start_xy"] and info["facing"] == "down"
    assert info["milestone_count"] == 0 and info["starter"] is None and info["player_hp"] == 25
    json.dumps(info)


def test_seeds_change_the_world_and_repeat_exactly(game):
    seeded = ("start_xy", "professor_xy", "gap_x", "enemy", "enemy_max_hp", "enemy_attack")
    worlds = {}
    for seed in range(16):
        info = game.start(seed)
        worlds[seed] = {k: info[k] for k in seeded}
        assert 2 <= info["gap_x"] <= 12 and info["trainer_xy"] == (info["gap_x"], 4)
        assert 12 <= info["enemy_max_hp"] <= 20 and 2 <= info["enemy_attack"] <= 4
    for key in seeded:
        assert len({str(w[key]) for w in worlds.values()}) > 1, f"{key} never changes with the seed"
    again = game.start(3)
    frame = game.emu.frame()
    assert {k: again[k] for k in seeded} == worlds[3]
    game.start(3)
    np.testing.assert_array_equal(game.emu.frame(), frame)
    assert game.adapter.read_info(game.emu) == again


# -- walking -------------------------------------------------------------------------------------


def _seed_with_start(game, start):
    for seed in range(200):
        if game.start(seed)["start_xy"] == start:
            return seed
    raise AssertionError(f"no seed below 200 starts at {start}")


def test_walking_into_a_wall_only_turns(game):
    _seed_with_start(game, (11, 2))  # the wall is right above
    info = game.press(UP)
    assert (info["x"], info["y"], info["facing"], info["walking"]) == (11, 2, "up", False)


def test_walking_moves_exactly_one_tile_per_step(game):
    _seed_with_start(game, (11, 2))
    for expected_y in (3, 4, 5):
        info = game.press(DOWN)
        assert (info["x"], info["y"], info["walking"]) == (11, expected_y, False)
    info = game.press(LEFT)
    assert (info["x"], info["y"], info["facing"]) == (10, 5, "left")
    # Frame by frame: the tile changes on the 16th frame of the walk.
    game.emu.set_buttons((LEFT,))
    game.emu.run_frames(1)
    game.emu.set_buttons(())
    game.emu.run_frames(14)
    info = game.info
    assert (info["x"], info["walking"]) == (10, True)
    game.emu.run_frames(1)
    info = game.info
    assert (info["x"], info["walking"]) == (9, False)


def test_a_door_step_warps_within_the_step_and_the_screen_settles(game):
    info = _walk_until(game, 6, lambda i: i["map_name"] == "HOUSE" and (i["x"], i["y"]) == (7, 8))
    info = game.press(DOWN)  # onto the door mat
    assert (info["map_name"], info["x"], info["y"], info["facing"], info["mode"]) == ("TOWN", 4, 5, "down", "overworld")
    after_warp = game.emu.frame()
    game.press(B)  # nothing happens
    np.testing.assert_array_equal(game.emu.frame(), after_warp)


def test_held_direction_keeps_walking(game):
    _seed_with_start(game, (11, 2))
    info = game.press(DOWN, hold=40, release=30)  # held past the first walk's end
    assert info["y"] > 3 and not info["walking"]


def test_npcs_block_their_tile_and_talk(game):
    _seed_with_start(game, (11, 2))
    assert game.info["tiles"][4][10] == "N"  # MOM
    game.press(DOWN)
    game.press(LEFT)
    info = game.press(DOWN)  # MOM stands below: the press only turns
    assert (info["x"], info["y"], info["facing"]) == (10, 3, "down")
    info = game.press(A)
    assert (info["mode"], info["dialog_id"], info["dialog_pages"]) == ("dialog", 1, 1)
    info = game.press(A)
    assert info["mode"] == "overworld"


# -- dialogs, menus -------------------------------------------------------------------------------


def _walk_until(game, seed, done, limit=300):
    info = game.start(seed)
    for _ in range(limit):
        if done(info):
            return info
        info = game.press(scripted_action(info))
    raise AssertionError(f"condition not reached in {limit} steps (seed {seed}): {info}")


def test_professor_dialog_needs_one_a_per_page(game):
    info = _walk_until(game, 7, lambda i: i["mode"] == "dialog" and i["dialog_id"] == 2)
    assert (info["dialog_page"], info["dialog_pages"]) == (0, 3)
    info = game.press(A, hold=60, release=10)  # holding A turns one page only
    assert info["dialog_page"] == 1
    for button in (B, START, UP, DOWN):
        info = game.press(button)
    assert info["mode"] == "dialog" and info["dialog_page"] == 1
    info = game.press(A)
    assert info["dialog_page"] == 2 and not info["milestones"]["TALKED_TO_PROFESSOR"]
    info = game.press(A)
    assert info["mode"] == "choice" and info["milestones"]["TALKED_TO_PROFESSOR"]
    info = game.press(DOWN)
    info = game.press(DOWN)
    info = game.press(DOWN)  # no wrap-around
    assert info["choice_cursor"] == 2
    info = game.press(UP)
    info = game.press(A)
    assert info["starter"] == "AQUAPUP" and info["gate_open"] and info["mode"] == "dialog"
    assert info["dialog_id"] == 4 and info["dialog_pages"] == 1
    info = game.press(A)
    assert info["mode"] == "overworld"
    info = game.press(A)  # facing the professor again: his short dialog
    assert (info["mode"], info["dialog_id"], info["dialog_pages"]) == ("dialog", 3, 1)


def test_gate_is_closed_until_the_starter(game):
    info = _walk_until(game, 2, lambda i: i["map_name"] == "TOWN")
    assert info["tiles"][0][7] == "G" and info["milestones"]["LEFT_HOUSE"]
    info = _walk_until(game, 2, lambda i: i["gate_open"] and i["map_name"] == "TOWN")
    assert info["tiles"][0][7] == "D"


def test_start_menu(game):
    game.start(1)
    info = game.press(START)
    assert info["mode"] == "start_menu" and info["menu_cursor"] == 0
    info = game.press(DOWN)
    assert info["menu_cursor"] == 1
    info = game.press(A)
    assert (info["mode"], info["dialog_id"]) == ("dialog", 12)
    info = game.press(A)
    assert info["mode"] == "start_menu"
    info = game.press(B)
    assert info["mode"] == "overworld"
    game.press(START)
    game.press(DOWN)
    game.press(DOWN)
    info = game.press(A)  # EXIT
    assert info["mode"] == "overworld"


# -- playthroughs and battles ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 12345])
def test_scripted_playthrough_reaches_every_milestone_in_order(game, seed):
    info = game.start(seed)
    order = []
    for _ in range(200):
        info = game.press(scripted_action(info))
        for i, name in enumerate(minimon.MILESTONES):
            if info["milestones"][name] and name not in order:
                order.append(name)
        if info["milestone_count"] == 6:
            break
    assert order == list(minimon.MILESTONES), f"seed {seed}: {order}"
    assert info["map_name"] == "NEXT_TOWN" and info["battles_lost"] == 0
    assert game.adapter.milestone_mask(game.emu) == 0b111111


def test_losing_a_battle_warps_home_with_full_hp(game):
    info = _walk_until(game, 4, lambda i: i["mode"] == "battle")
    gap = info["gap_x"]
    for _ in range(100):  # RUN every turn: the enemy hits until we faint
        if info["mode"] != "battle":
            break
        info = game.press(scripted_action(info, battle_command=3))
    assert info["mode"] == "dialog" and info["dialog_id"] == 8 and info["player_hp"] == 0
    info = game.press(A)
    assert info["mode"] == "overworld" and info["map_name"] == "HOUSE"
    assert (info["x"], info["y"]) == info["start_xy"] and info["player_hp"] == 25
    assert info["milestone_count"] == 4 and not info["trainer_beaten"]
    assert info["trainer_xy"] == (gap, 4) and info["battles_lost"] == 1


def test_random_commands_sometimes_lose_tackle_always_wins(game):
    info = _walk_until(game, 9, lambda i: i["mode"] == "battle")
    battle_state = game.emu.save_state()
    rng = np.random.default_rng(0)
    outcomes = []
    for trial in range(12):
        game.emu.load_state(battle_state)
        info = game.info
        while info["mode"] == "battle":
            info = game.press(int(rng.choice([A, A, UP, DOWN, LEFT, RIGHT, B])))
        outcomes.append(info["trainer_beaten"])
    assert not all(outcomes), "mashing should sometimes lose"
    game.emu.load_state(battle_state)
    info = game.info
    while info["mode"] == "battle":
        info = game.press(scripted_action(info))
    assert info["trainer_beaten"] and info["player_hp"] > 0


# -- the committed ROM matches its sources ------------------------------------------------------


@pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("make") is None,
    reason="arm-none-eabi-gcc not installed (scripts/setup.sh toolchain); CI runs make rom-check",
)
def test_rom_rebuilds_byte_identical(tmp_path):
    build = tmp_path / "build"
    result = subprocess.run(
        ["make", "-s", "-C", str(GAME_DIR), f"BUILD={build}", "all"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (build / "minimon.gba").read_bytes() == ROM_PATH.read_bytes(), (
        "minimon.gba is stale: run make -C pokeil_jax/games/minimon install and commit it"
    )
