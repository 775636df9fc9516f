"""MiniMon Quest (pokeil/MiniMonQuest-v0) in the real emulator: ROM, RAM contract, seeds, the
maze, battles and types, the SAW gate, split states, the scripted planner."""

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import gymnasium
from gymnasium.utils.env_checker import check_env
import numpy as np
import pytest

import pokeil_jax  # noqa: F401  (registers the envs)
from pokeil_jax import splits
from pokeil_jax.emulator import read_rom_header
from pokeil_jax.env import PokemonEnv, rom_sha1
from pokeil_jax.games import adapter_for_code
from pokeil_jax.games.minimon import quest
from pokeil_jax.games.minimon.quest_planner import (
    A, DOWN, LEFT, RIGHT, UP, MiniMonQuestPlanner, bfs_first_step, next_map)

GAME_DIR = Path(quest.__file__).parent


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("splits")


@pytest.fixture(scope="module")
def env(split_dir):
    e = PokemonEnv(rom_path=quest.ROM_PATH, max_episode_steps=4000, split_cache_dir=split_dir)
    yield e
    e.close()


def play(env, obs, info, planner=None, limit=4000, until=None):
    planner = planner or MiniMonQuestPlanner()
    total, steps, terminated = 0.0, 0, False
    for steps in range(1, limit + 1):
        obs, reward, terminated, truncated, info = env.step(planner.get_action(obs, info))
        total += reward
        if terminated or truncated or (until is not None and until(info)):
            break
    return obs, info, steps, total, terminated


# -- ROM and layout -------------------------------------------------------------------------------


def test_rom_header_names_the_quest():
    header = read_rom_header(quest.ROM_PATH)
    assert (header.title, header.game_code, header.maker_code) == ("MINIMONQUEST", "MNMQ", "PJ")
    raw = quest.ROM_PATH.read_bytes()[:0xC0]
    assert (sum(raw[0xA0:0xBD]) + 0x19 + raw[0xBD]) % 256 == 0
    assert raw[0x04:0xA0] == bytes(0x9C)
    assert adapter_for_code("MNMQ").name == "MiniMon Quest"


def test_python_layout_matches_quest_state_h():
    text = (GAME_DIR / "quest" / "state.h").read_text() + (GAME_DIR / "engine" / "state_head.h").read_text()
    asserted = {n: int(v, 0) for n, v in re.findall(r"_Static_assert\(offsetof\(MiniMonState,\s*(\w+)\)\s*==\s*(\w+)", text)}
    assert asserted == {name: offset for name, offset, _ in quest.LAYOUT}
    assert int(re.search(r"sizeof\(MiniMonState\)\s*==\s*(\w+)", text).group(1), 0) == quest.STATE_SIZE
    sizes = {"8": 1, "16": 2, "32": 4}
    body = re.search(r"typedef struct[^{]*\{(.*?)\}\s*MiniMonState;", text, re.S).group(1)
    fields = re.findall(r"^\s*([us])(8|16|32)\s+(\w+)(?:\[([^\]]+)\])?;", body, re.M)
    c_sizes = {name: sizes[bits] * (eval(n, {"TILES_MAX": quest.TILES_MAX}) if n else 1) for _, bits, name, n in fields}
    c_signed = {name: sign == "s" for sign, _, name, n in fields if not n}
    for name, _, fmt in quest.LAYOUT:
        assert struct.calcsize("<" + fmt) == c_sizes[name], name
        if fmt in "bBhHiI":  # a signed C field is read signed (the MAZE's camera goes negative)
            assert fmt.islower() == c_signed[name], name
    assert int(re.search(r"QUEST_LAYOUT_VERSION (\d+)", text).group(1)) == quest.LAYOUT_VERSION
    assert int(re.search(r"MINIMON_MAGIC\s+(0x[0-9A-Fa-f]+)", text).group(1), 0) == quest.MAGIC
    maze = {k: int(v) for k, v in re.findall(r"#define MAZE_CELLS_(W|H) (\d+)", text)}
    assert (2 * maze["W"] + 1, 2 * maze["H"] + 1) == (quest.MAZE_W, quest.MAZE_H)
    for prefix, names in (("MODE_", quest.MODES), ("MS_", quest.MILESTONES), ("MAP_", quest.MAP_NAMES)):
        values = {m[0]: int(m[1]) for m in re.findall(rf"\b{prefix}(\w+) = (\d+)", text)}
        assert [values[n.upper()] for n in names] == list(range(len(names))), prefix


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("make") is None,
                    reason="arm-none-eabi-gcc not installed; CI runs make rom-check")
def test_both_roms_rebuild_byte_identical(tmp_path):
    build = tmp_path / "build"
    result = subprocess.run(["make", "-s", "-C", str(GAME_DIR), f"BUILD={build}", "all"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (build / "minimon_quest.gba").read_bytes() == quest.ROM_PATH.read_bytes(), (
        "minimon_quest.gba is stale: run make -C pokeil_jax/games/minimon install and commit it")
    assert (build / "minimon.gba").read_bytes() == (GAME_DIR / "minimon.gba").read_bytes()


# -- the env -----------------------------------------------------------------------------------------


def test_registered_and_passes_the_gymnasium_env_checker():
    e = gymnasium.make("pokeil/MiniMonQuest-v0")
    try:
        assert e.unwrapped.adapter.name == "MiniMon Quest"
        assert len(e.unwrapped.milestone_names) == 15
        check_env(e.unwrapped, skip_render_check=True)
    finally:
        e.close()


def test_same_seed_and_actions_repeat_exactly_other_seeds_differ(env, play):
    actions = [DOWN, DOWN, RIGHT, DOWN, LEFT, DOWN, DOWN, DOWN, A, DOWN, UP, UP]

    def run(seed):
        return play(env, seed, actions)

    f1, i1 = run(11)
    f2, i2 = run(11)
    for a, b in zip(f1, f2):
        np.testing.assert_array_equal(a, b)
    assert i1 == i2
    f3, i3 = run(12)
    assert any(not np.array_equal(a, b) for a, b in zip(f1, f3)) or i1 != i3


def test_seeded_choices_vary_and_stay_in_range(env):
    keys = ("professor_xy", "rival_xy", "item_xy", "clerk_xy", "bridge_x", "maze_entry_x", "maze_exit_x")
    worlds = []
    for seed in range(24):
        info = env.reset(seed=seed)[1]
        worlds.append({k: info[k] for k in keys})
        assert info["bridge_x"] in (3, 7, 11)
        assert info["maze_entry_x"] % 2 == 1 and info["maze_exit_x"] % 2 == 1
        assert (info["player_hp"], info["money"], info["starter"]) == (40, 0, None)
    for key in keys:
        assert len({str(w[key]) for w in worlds}) > 1, f"{key} never changes with the seed"


# -- maze, battles, gate -------------------------------------------------------------------------


def test_maze_is_larger_than_the_screen_scrolls_and_depends_on_the_seed(env):
    mazes = []
    for seed in (0, 1):
        obs, info = env.reset(seed=seed, options={"start_milestone": 11})  # just entered the MAZE
        assert info["map_name"] == "MAZE" and info["map_size"] == (quest.MAZE_W, quest.MAZE_H)
        mazes.append(info["tiles"])
        cameras = {info["camera"]}
        obs, info, *_ = play(env, obs, info, limit=40)
        cameras.add(info["camera"])
        assert len(cameras) > 1, "the camera never moved in the maze"
    assert mazes[0] != mazes[1]


def _maze_way_through(tiles, start, exit_door):
    """The tiles of the one path ('.' and ',' only) from `start` to the maze's exit door."""
    from pokeil_jax.games.minimon.quest_planner import distance_field

    dist = distance_field(tuple(tiles), frozenset([exit_door]), True)
    path, here = {start}, start
    while dist[here] > 1:
        here = min(((here[0] + dx, here[1] + dy) for dx, dy in ((0, 1), (0, -1), (1, 0), (-1, 0))),
                   key=lambda t: dist.get(t, 1 << 30))
        path.add(here)
    return path


def _whole_tiles_on_screen(info):
    """The map's tiles wholly on screen (the camera can stop mid-tile while a walk scrolls, and
    show the forest past the MAZE's edge)."""
    (cam_x, cam_y), (w, h) = info["camera"], info["map_size"]
    return {(x, y) for y in range(max(0, -(-cam_y // 16)), min(h, (cam_y + 160) // 16))
            for x in range(max(0, -(-cam_x // 16)), min(w, (cam_x + 240) // 16))}


def _visible(info, tiles_xy):
    """The floor tiles of `tiles_xy` wholly on screen, the player's own left out."""
    on_screen = _whole_tiles_on_screen(info)
    return {(x, y) for x, y in tiles_xy
            if (x, y) in on_screen and info["tiles"][y][x] == "." and (x, y) != (info["x"], info["y"])}


def _sand_share(obs, info, x, y):
    """The share of tile (x, y)'s pixels drawn as sand (redder than green; grass is not)."""
    cam_x, cam_y = info["camera"]
    block = obs[y * 16 - cam_y: y * 16 - cam_y + 16, x * 16 - cam_x: x * 16 - cam_x + 16].astype(int)
    return float(np.mean(block[..., 0] > block[..., 1] + 10))


def _sand_on_screen(obs, info):
    """The floor tiles on screen drawn as sand (the player's own tile, under its sprite, left out)."""
    floor_tiles = _visible(info, _whole_tiles_on_screen(info))
    return {(x, y) for x, y in floor_tiles if _sand_share(obs, info, x, y) > 0.5}, len(floor_tiles)


@pytest.mark.parametrize("seed", [0, 3])
def test_maze_draws_the_way_ahead_as_a_trail_that_fades_underfoot(env, seed):
    """Every seeded fork is decided on screen: the floor tiles on the way from the player to the exit
    are sand and no others; tiles walked on fade, so the trail never also runs back to the entrance."""
    obs, info = env.reset(seed=seed, options={"start_milestone": 11})  # at the MAZE's entrance
    exit_door = next((x, 0) for x, c in enumerate(info["tiles"][0]) if c == "D")
    way = _maze_way_through(info["tiles"], (info["x"], info["y"]), exit_door)
    sand, floor = _sand_on_screen(obs, info)
    assert sand == _visible(info, way) and floor > 30 and len(way) > 20

    walked = {(info["x"], info["y"])}
    planner = MiniMonQuestPlanner()
    for _ in range(80):  # the planner walks the way (a perfect maze has one)
        obs, _, _, _, info = env.step(planner.get_action(obs, info))
        if info["map_name"] == "MAZE":
            walked.add((info["x"], info["y"]))
    while info["mode"] != "overworld" or info["walking"]:
        obs, _, _, _, info = env.step(planner.get_action(obs, info))
    assert info["map_name"] == "MAZE" and len(walked) > 10
    ahead = _maze_way_through(info["tiles"], (info["x"], info["y"]), exit_door)
    sand, _ = _sand_on_screen(obs, info)
    behind = _visible(info, walked)
    assert behind, "no walked tile on screen to check"
    assert sand == _visible(info, ahead) and not sand & behind


def test_maze_trail_comes_back_ahead_when_the_player_turns_round(env):
    """Walked some way along the trail and back, the player sees the trail again from where it
    stands on: the tiles it walked on and left are drawn again, the ones behind it stay faded."""
    obs, info = env.reset(seed=3, options={"start_milestone": 11})  # at the MAZE's entrance
    exit_door = next((x, 0) for x, c in enumerate(info["tiles"][0]) if c == "D")
    planner, path = MiniMonQuestPlanner(), [(info["x"], info["y"])]
    while len(path) < 9:  # eight tiles along the trail
        obs, _, _, _, info = env.step(planner.get_action(obs, info))
        if info["map_name"] == "MAZE" and (info["x"], info["y"]) != path[-1]:
            path.append((info["x"], info["y"]))
    back = {(-1, 0): LEFT, (1, 0): RIGHT, (0, -1): UP, (0, 1): DOWN}
    for here, there in zip(path[:-5:-1], path[-2:-6:-1]):  # four tiles back the way it came
        step = back[(there[0] - here[0], there[1] - here[1])]
        for _ in range(40):
            if info["mode"] == "overworld" and not info["walking"] and (info["x"], info["y"]) == there:
                break
            settled = info["mode"] == "overworld" and not info["walking"]
            obs, _, _, _, info = env.step(step if settled else planner.get_action(obs, info))
    assert info["map_name"] == "MAZE" and (info["x"], info["y"]) == path[4]
    ahead = _maze_way_through(info["tiles"], path[4], exit_door)
    sand, _ = _sand_on_screen(obs, info)
    assert set(path[5:]) <= ahead and set(path[5:]) & sand == _visible(info, path[5:]) != set()
    assert sand == _visible(info, ahead) and not sand & _visible(info, path[:4])


def test_maze_trail_is_drawn_over_tall_grass_too(env):
    """Where the way through crosses tall grass, the grass is drawn on the trail's sand, so the
    trail has no gap there; grass off the way stays plain grass."""
    grass_ahead = grass_off = 0
    for seed in (1014, 0):
        obs, info = env.reset(seed=seed, options={"start_milestone": 11})
        exit_door = next((x, 0) for x, c in enumerate(info["tiles"][0]) if c == "D")
        planner = MiniMonQuestPlanner()
        for _ in range(400):
            if info["map_name"] == "MAZE" and info["mode"] == "overworld" and not info["walking"]:
                ahead = _maze_way_through(info["tiles"], (info["x"], info["y"]), exit_door)
                for x, y in _whole_tiles_on_screen(info):
                    if info["tiles"][y][x] != "," or (x, y) == (info["x"], info["y"]):
                        continue
                    share = _sand_share(obs, info, x, y)
                    if (x, y) in ahead:
                        grass_ahead += 1
                        assert share > 0.2, f"seed {seed}: grass at {(x, y)} on the way ahead is not on sand"
                    else:
                        grass_off += 1
                        assert share < 0.05, f"seed {seed}: grass at {(x, y)} off the way is drawn on sand"
            obs, _, terminated, _, info = env.step(planner.get_action(obs, info))
            if info["map_name"] != "MAZE" and info["milestone_count"] > 11 or terminated:
                break
    assert grass_ahead > 5 and grass_off > 20


def test_leaving_the_maze_by_its_entrance_draws_the_whole_trail_again(env):
    """A second walk into the MAZE (back out of its entrance here; a blackout there does the same)
    shows the whole way through again: the tiles that faded on the first walk would otherwise hide
    the forks the player has already passed, on no screen at all."""
    obs, info = env.reset(seed=3, options={"start_milestone": 11})  # at the MAZE's entrance
    entrance = (info["x"], info["y"])
    door = next((x, len(info["tiles"]) - 1) for x, c in enumerate(info["tiles"][-1]) if c == "D")
    exit_door = next((x, 0) for x, c in enumerate(info["tiles"][0]) if c == "D")
    way = _maze_way_through(info["tiles"], entrance, exit_door)
    planner = MiniMonQuestPlanner()
    for _ in range(12):  # a few tiles along the trail: they fade
        obs, _, _, _, info = env.step(planner.get_action(obs, info))
    left = False
    for _ in range(300):  # back out through the entrance, then in again
        settled = info["mode"] == "overworld" and not info["walking"]
        if info["map_name"] == "MAZE" and settled and left:
            break
        if info["map_name"] == "MAZE" and settled:
            action = bfs_first_step(info["tiles"], (info["x"], info["y"]), {door})
        elif info["map_name"] == "ROUTE_3" and settled:
            left, action = True, UP
        else:
            action = planner.get_action(obs, info)  # a wild battle on the way, a warp's frames
        obs, _, _, _, info = env.step(A if action is None else action)
    assert left and info["map_name"] == "MAZE" and (info["x"], info["y"]) == entrance
    sand, _ = _sand_on_screen(obs, info)
    assert sand == _visible(info, way) and len(sand) > 5


def test_maze_camera_keeps_the_player_at_the_centre_even_at_its_edges(env):
    """In a map larger than the screen the player is always drawn at one place, as in the real
    games: the camera does not stop at the map's edge, the forest goes on past it."""
    obs, info = env.reset(seed=0, options={"start_milestone": 11})  # the entrance: the bottom edge
    planner, cameras, edge_frames = MiniMonQuestPlanner(), set(), 0
    for _ in range(1000):
        if info["map_name"] != "MAZE":
            break
        if info["mode"] == "overworld" and not info["walking"]:
            assert info["camera"] == (info["x"] * 16 - 112, info["y"] * 16 - 72)
            cameras.add(info["camera"])
            cam_x, cam_y = info["camera"]
            if cam_y + 160 > quest.MAZE_H * 16 or cam_y < 0 or cam_x < 0 or cam_x + 240 > quest.MAZE_W * 16:
                edge_frames += 1
                rows_past = [r for r in range(0, 160, 16) if not 0 <= cam_y + r < quest.MAZE_H * 16]
                assert all(obs[r:r + 16].std() > 10 for r in rows_past), "blank rows past the edge"
        obs, _, _, _, info = env.step(planner.get_action(obs, info))
    assert info["map_name"] == "ROUTE_4" and len(cameras) > 20 and edge_frames > 0


def _to_battle_command(env, seed):
    """From the rival's town, let the planner play until a battle waits for a command."""
    obs, info = env.reset(seed=seed, options={"start_milestone": 4})
    return play(env, obs, info, until=lambda i: i["mode"] == "battle" and i["battle_phase"] == "command")


def test_type_chart_the_move_that_beats_the_shown_type_hits_hardest(env):
    obs, info, *_ = _to_battle_command(env, 0)
    assert info["mode"] == "battle" and info["enemy_type"] in quest.TYPES
    start = env.save_state()
    damage = {}
    for move, (rows, cols) in enumerate(((UP, LEFT), (UP, RIGHT), (DOWN, LEFT), (DOWN, RIGHT))):
        env.load_state(start)
        for a in (rows, cols, A):
            obs, _, _, _, info = env.step(a)
        assert info["battle_phase"] == "player_msg"
        damage[quest.MOVES[move]] = start_hp(env, start) - info["enemy_hp"]
    best = {"GRASS": "EMBER", "FIRE": "BUBBLE", "WATER": "LEAF"}[env.load_state(start)[1]["enemy_type"]]
    assert damage[best] >= 10 and damage["TACKLE"] in (5, 6, 7)
    assert all(d <= 3 for m, d in damage.items() if m not in (best, "TACKLE")), damage


def start_hp(env, snapshot):
    return env.load_state(snapshot)[1]["enemy_hp"]


def test_tree_needs_the_saw(env):
    obs, info = env.reset(seed=2, options={"start_milestone": 10})  # just arrived on ROUTE 3, SAW bought
    assert info["map_name"] == "ROUTE_3" and info["items"]["SAW"]
    assert info["tiles"][1][7] == "C"
    obs, info, *_ = play(env, obs, info, until=lambda i: i["flags"]["tree_cut"])
    assert info["flags"]["tree_cut"] and info["tiles"][1][7] == "."


def test_the_shop_shows_whether_the_saw_is_already_yours(env):
    """With the cursor on the SAW the list box reads differently before and after buying it (the
    status corner is hidden in the shop; else only the money line tells "buy" from "leave")."""
    obs, info = env.reset(seed=3, options={"start_milestone": 9})  # the RANGER's task told
    on_saw = lambda owned: lambda i: i["mode"] == "shop" and i["menu_cursor"] == 1 and i["items"]["SAW"] == owned  # noqa: E731
    obs, info, *_ = play(env, obs, info, until=on_saw(False))
    before = obs[:72, 120:].copy()  # the list box: 9 tile rows at the screen's right
    obs, info, *_ = play(env, obs, info, until=on_saw(True))
    after = obs[:72, 120:]
    assert info["items"]["SAW"] and info["mode"] == "shop"
    rows_that_differ = np.flatnonzero((before != after).any(axis=(1, 2)))
    assert len(rows_that_differ) and rows_that_differ.min() >= 24 and rows_that_differ.max() < 40  # the SAW row only


def _on_yellow(pixels):
    """Whether a strip of text is on yellow paper (the highlight), not on white."""
    pixels = pixels.astype(int)
    yellow = (pixels[..., 0] > 200) & (pixels[..., 1] > 190) & (pixels[..., 2] < 160)
    return bool(yellow.mean() > 0.3)


SHOP_MONEY_LINE = np.s_[136:144, 16:96]  # text row 17, columns 2-11 of the shop's message box


def _shop_money_in_yellow(obs):
    """Whether the shop's money line is on yellow paper."""
    return _on_yellow(obs[SHOP_MONEY_LINE])


class _ToTheShopNow(MiniMonQuestPlanner):
    """The expert, but straight to the shop after the RANGER's task, whatever the money."""

    def _goal(self, info):
        if info["flags"]["task_given"] and not info["items"]["SAW"]:
            return "PINE_CITY", ("talk", tuple(info["clerk_xy"]))
        return super()._goal(info)


def test_the_shop_money_line_is_yellow_once_it_buys_the_saw(env):
    """The status corner is hidden in the shop, so the shop's own money line tells "buy the SAW"
    (on yellow, as in the corner) from "leave and battle for more" (on white)."""
    in_shop = lambda i: i["mode"] == "shop"  # noqa: E731
    obs, info = env.reset(seed=1000, options={"start_milestone": 9})  # the task told, short of $300
    obs, info, *_ = play(env, obs, info, planner=_ToTheShopNow(), until=in_shop)
    assert in_shop(info) and not info["items"]["SAW"] and info["money"] < 300
    assert not _shop_money_in_yellow(obs) and obs[SHOP_MONEY_LINE].std() > 10  # white, not gone
    obs, info, *_ = play(env, obs, info, until=lambda i: in_shop(i) and i["money"] >= 300)
    assert in_shop(info) and not info["items"]["SAW"]
    assert _shop_money_in_yellow(obs)
    obs, info, *_ = play(env, obs, info, until=lambda i: in_shop(i) and i["items"]["SAW"])
    assert not _shop_money_in_yellow(obs)


def _saw_in_yellow(obs):
    """Whether the status corner's SAW slot (text columns 11-13 of row 1) is on yellow paper."""
    return _on_yellow(obs[8:16, 88:112])


def test_status_corner_shows_the_rangers_task_until_the_saw_is_bought(env):
    """ROUTE 2 short of $300 reads differently on the way to PINE CITY (walk on) and after the
    RANGER's task (stay in the grass): the SAW is in the status corner, in yellow, from the task
    until it is bought, and in white after."""
    settled = lambda i: i["mode"] == "overworld" and not i["walking"]  # noqa: E731
    obs, info = env.reset(seed=1000, options={"start_milestone": 7})  # arrived on ROUTE 2
    obs, info, *_ = play(env, obs, info, limit=20, until=settled)
    assert info["map_name"] == "ROUTE_2" and not info["flags"]["task_given"] and not _saw_in_yellow(obs)
    obs, info = env.reset(seed=1000, options={"start_milestone": 9})  # the task told, no SAW
    obs, info, *_ = play(env, obs, info, until=lambda i: settled(i) and i["map_name"] == "ROUTE_2")
    assert info["flags"]["task_given"] and not info["items"]["SAW"] and info["money"] < 300
    assert _saw_in_yellow(obs)
    obs, info, *_ = play(env, obs, info, until=lambda i: settled(i) and i["items"]["SAW"])
    assert info["items"]["SAW"] and not _saw_in_yellow(obs) and obs[8:16, 88:112].std() > 10  # white, not gone


# -- splits ----------------------------------------------------------------------------------------


def test_start_milestone_starts_after_the_split_without_its_rewards(env, split_dir):
    obs, info = env.reset(seed=5, options={"start_milestone": 6})
    assert info["milestone_count"] == 6 and info["step"] == 0
    assert [info["milestones"][m] for m in quest.MILESTONES] == [True] * 6 + [False] * 9
    files = list(split_dir.glob("*.state"))
    assert len(files) >= 6  # every split the expert passed on the way is cached
    obs2, info2 = env.reset(seed=5, options={"start_milestone": 6})  # from the cache now
    np.testing.assert_array_equal(obs, obs2)
    obs, reward, *_ = env.step(A)
    assert reward in (0.0, 1.0)


def test_damaged_split_cache_is_recomputed(env, split_dir):
    obs, info = env.reset(seed=7, options={"start_milestone": 2})
    key = splits.cache_key(rom_sha1(env.rom_path), 7, 2, env.frames_per_step, env.hold_frames)
    path = split_dir / f"{key}.state"
    assert path.exists()
    path.write_bytes(path.read_bytes()[:100])
    obs2, info2 = env.reset(seed=7, options={"start_milestone": 2})
    np.testing.assert_array_equal(obs, obs2)
    assert info2["milestone_count"] == 2


@pytest.mark.parametrize("bad", [-1, 15, 2.0, "3", True])
def test_out_of_range_start_milestone_lists_the_valid_ones(env, bad):
    with pytest.raises(splits.SplitError, match=r"0\.\.14.*1 \(after HOME_TOWN\).*14 \(after GYM_ENTERED\)"):
        env.reset(seed=0, options={"start_milestone": bad})


# -- the planner -----------------------------------------------------------------------------------


def test_bfs_walks_grass_and_enters_only_goal_doors():
    tiles = ["#####",
             "#.,D#",
             "#,#.#",
             "#...#",
             "##D##"]  # fmt: skip
    assert bfs_first_step(tiles, (1, 1), [(2, 4)]) == DOWN
    assert bfs_first_step(tiles, (1, 1), [(3, 1)]) == RIGHT
    assert bfs_first_step(["#.#"], (1, 0), [(0, 0)]) is None
    assert next_map("HOUSE", "GYM") == "HOME_TOWN" and next_map("GYM", "LAB") == "STONE_CITY"
    assert next_map("ROUTE_4", "PINE_CITY") == "MAZE"


@pytest.mark.slow
def test_planner_plays_the_whole_quest(env):
    obs, info = env.reset(seed=0)
    obs, info, steps, total, terminated = play(env, obs, info)
    assert terminated and all(info["milestones"].values())
    assert total == pytest.approx(15.0)
    assert 400 < steps < 3000


@pytest.mark.slow
def test_planner_takes_over_after_random_wandering(env):
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=3, options={"start_milestone": 9})
    for _ in range(150):
        obs, _, _, _, info = env.step(int(rng.integers(0, 10)))
    obs, info, steps, total, terminated = play(env, obs, info)
    assert terminated and info["milestone_count"] == 15


# -- env ids -----------------------------------------------------------------------------------------


def test_env_ids_pick_the_rom_and_the_scripted_expert():
    from pokeil_jax import env_ids
    from pokeil_jax.experts import make_expert
    from pokeil_jax.games.minimon.planner import MiniMonPlanner

    rom = env_ids.rom_path_for("pokeil/MiniMonQuest-v0")
    assert Path(rom) == quest.ROM_PATH
    assert isinstance(make_expert("scripted", rom_path=rom), MiniMonQuestPlanner)
    assert isinstance(make_expert("scripted", rom_path=env_ids.rom_path_for("pokeil/MiniMon-v0")), MiniMonPlanner)
    assert env_ids.rom_path_for("pokeil/MiniMonQuest-v0", "other.gba") == "other.gba"
    with pytest.raises(env_ids.UnknownEnvIdError, match="pokeil/MiniMon-v0, pokeil/MiniMonQuest-v0"):
        env_ids.rom_path_for("pokeil/MiniMon-v1")


def test_collector_rejects_an_unknown_env_id_in_one_line(tmp_path):
    import collect_expert_data
    from pokeil_jax.cli import UsageError

    args = collect_expert_data.Args(env_id="CartPole-v1", expert_data_dir=str(tmp_path / "d"))
    with pytest.raises(UsageError, match="unknown --env-id 'CartPole-v1'; valid ids: pokeil/MiniMon-v0"):
        collect_expert_data.main(args)
    assert not (tmp_path / "d").exists()


# -- the demo's table and the planner benchmark --------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


def _report(rates, steps, seeds=(1000, 1001)):
    names = list(quest.MILESTONES[:2])
    return {"milestone_names": names, "seeds": list(seeds), "milestone_completion_rate": sum(rates) / len(rates),
            "per_milestone_rates": dict(zip(names, rates)), "steps_to_milestone": dict(zip(names, steps))}


def test_headroom_table_puts_expert_bc_and_dagger_side_by_side(tmp_path):
    import json

    bc = {"expert (scripted)": _report([1.0, 1.0], [6.0, 14.0]), "BC policy": _report([1.0, 0.5], [7.0, 30.0])}
    bc["args"] = {"total_training_steps": 2000, "dagger_rounds": 0}
    dagger = {"BC policy": _report([1.0, 0.0], [6.5, None]),
              "args": {"total_training_steps": 1500, "init_checkpoint": "checkpoints/b/final", "dagger_rounds": 3,
                       "dagger_episodes": 8, "dagger_beta": 0.0, "anneal_lr": True}}
    (tmp_path / "bc.json").write_text(json.dumps(bc))
    (tmp_path / "dagger.json").write_text(json.dumps(dagger))
    out = subprocess.run([os.sys.executable, "scripts/quest_headroom_table.py", str(tmp_path / "bc.json"),
                          str(tmp_path / "dagger.json")], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "| HOME_TOWN | 100% / 6 | 100% / 7 | 100% / 6 |" in out.stdout  # 6.5 rounds to even
    assert "| ROUTE_1 | 100% / 14 | 50% / 30 | 0% / - |" in out.stdout
    assert "BC 75.0% (75% of the expert)" in out.stdout
    assert ("budgets: BC 2000 steps; BC + DAgger 1500 steps from checkpoints/b/final, learning rate annealed "
            "to 0, 3 DAgger rounds of 8 learner episodes (beta 0.0)") in out.stdout
    assert "without a new milestone" not in out.stdout  # the runs were judged without a stall cut
    bc["args"]["eval_stall_steps"] = 700
    bc["expert (scripted)"]["stalled"], bc["BC policy"]["stalled"] = [False, False], [False, True]
    dagger["BC policy"]["stalled"] = [True, True]
    (tmp_path / "bc.json").write_text(json.dumps(bc))
    (tmp_path / "dagger.json").write_text(json.dumps(dagger))
    out = subprocess.run([os.sys.executable, "scripts/quest_headroom_table.py", str(tmp_path / "bc.json"),
                          str(tmp_path / "dagger.json")], cwd=REPO, capture_output=True, text=True)
    assert ("episodes ended after 700 steps without a new milestone (scored with what they reached): "
            "expert 0, BC 1, BC + DAgger 2") in out.stdout
    assert "missed a milestone ended" not in out.stdout  # reports without end states
    bc["BC policy"]["milestones_reached"] = [[True, True], [True, False]]
    bc["BC policy"]["end_states"] = [{"map": "ROUTE_1", "still": 0}, {"map": "ROUTE_1", "still": 300}]
    dagger["BC policy"]["milestones_reached"] = [[True, False], [True, False]]
    dagger["BC policy"]["end_states"] = [{"map": "MAZE", "still": 150}, {"map": "ROUTE_1", "still": 5}]
    (tmp_path / "bc.json").write_text(json.dumps(bc))
    (tmp_path / "dagger.json").write_text(json.dumps(dagger))
    out = subprocess.run([os.sys.executable, "scripts/quest_headroom_table.py", str(tmp_path / "bc.json"),
                          str(tmp_path / "dagger.json")], cwd=REPO, capture_output=True, text=True)
    assert "  expert: none\n  BC: ROUTE_1 1 (1 standing still)\n  BC + DAgger: MAZE 1 (1 standing still), ROUTE_1 1\n" \
        in out.stdout, out.stdout
    bad = subprocess.run([os.sys.executable, "scripts/quest_headroom_table.py", str(tmp_path / "nope.json"),
                          str(tmp_path / "dagger.json")], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode != 0 and "cannot read the eval report" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_planner_benchmark_prints_finish_rate_length_and_splits():
    out = subprocess.run([os.sys.executable, "benchmarks/quest_planner.py", "--seeds", "0-1"], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "finished 2/2 seeds (100.0%)" in out.stdout
    assert re.search(r"LEADER_BEATEN\s+2\s+\d+\.\d", out.stdout)


@pytest.mark.parametrize("bad", ["9-x", "5-2", "abc"])
def test_planner_benchmark_refuses_a_bad_seed_range_in_one_line(bad):
    out = subprocess.run([os.sys.executable, "benchmarks/quest_planner.py", f"--seeds={bad}"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"argument --seeds: '{bad}'" in out.stderr and "e.g. 0-199" in out.stderr
