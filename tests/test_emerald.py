"""Emerald adapter over synthetic EWRAM/IWRAM images built from pret/pokeemerald's layouts (no ROM),
and, opt-in, on a real ROM (POKEIL_EMERALD_ROM)."""

import json
import os

import numpy as np
import pytest

from pokeil_jax import games
from pokeil_jax.emulator import EWRAM_BASE, EWRAM_SIZE, IWRAM_BASE, IWRAM_SIZE
from pokeil_jax.games.emerald import EmeraldAdapter, intro, milestones as ms, ram as R

# Where pokeemerald.sym puts the save blocks before SetSaveBlocksPointers adds its 0..124 shift.
GSAVEBLOCK1 = 0x02025A00
GSAVEBLOCK2 = 0x02024A54
PARTY_COUNT = 0x020244E9
IN_BATTLE_BYTE = 0x030026F9
CALLBACK2 = 0x030022C4
SCRIPT_STATUS = 0x03000E38  # sGlobalScriptContextStatus: 0 running, 1 waiting, 2 shut down
LOCK_FIELD_CONTROLS = 0x03000F2C
TEXT_PRINTERS = 0x020201B0  # sTextPrinters, 0x24 bytes each, `active` at +0x1B
TASKS = 0x03005E00  # gTasks, 0x28 bytes each: func at +0, isActive at +4
OVERWORLD = 0x08085E5C | 1
BATTLE = 0x08038420 | 1
WALL_CLOCK = 0x08134C9C | 1
START_MENU_TASK = 0x0809FA34 | 1  # Task_ShowStartMenu
TITLE = 0x080AAB2C | 1  # the title screen's MainCB2

PETALBURG, RUSTBORO, LITTLEROOT, OLDALE = 0x0000, 0x0003, 0x0009, 0x000A
ROUTE101, ROUTE104 = 0x0010, 0x0013
BRENDAN_1F, BRENDAN_2F, MAY_1F, MAY_2F, BIRCH_LAB = 0x0100, 0x0101, 0x0102, 0x0103, 0x0104
RUSTBORO_GYM, PETALBURG_WOODS, TRUCK = 0x0B03, 0x180B, 0x1928

# sethkarten/pokeagent-speedrun, pokemon_env/emulator.py: COMPARISON_MILESTONES
POKEAGENT_SCORED = (
    "LITTLEROOT_TOWN ROUTE_101 STARTER_CHOSEN OLDALE_TOWN RIVAL_BATTLE_WON RECEIVED_POKEDEX ROUTE_102 "
    "PETALBURG_CITY DAD_FIRST_MEETING ROUTE_104_SOUTH PETALBURG_WOODS ROUTE_104_NORTH RUSTBORO_CITY "
    "RUSTBORO_GYM_ENTERED ROXANNE_DEFEATED"
).split()


class FakeEmulator:
    """The read/write/run surface of `Emulator` over bytearrays for EWRAM and IWRAM."""

    def __init__(self):
        self._ram = {EWRAM_BASE: bytearray(EWRAM_SIZE), IWRAM_BASE: bytearray(IWRAM_SIZE)}
        self.frames_run = 0
        self.buttons = ()
        self.buttons_during_runs = []

    def _locate(self, address, size):
        for base, block in self._ram.items():
            if base <= address and address + size <= base + len(block):
                return block, address - base
        raise ValueError(f"address 0x{address:08X}+{size} is outside EWRAM and IWRAM")

    def read_bytes(self, address, size):
        block, offset = self._locate(address, size)
        return bytes(block[offset : offset + size])

    def read_u32(self, address):
        return int.from_bytes(self.read_bytes(address, 4), "little")

    def write_bytes(self, address, data):
        block, offset = self._locate(address, len(data))
        block[offset : offset + len(data)] = data

    def write_u32(self, address, value):
        self.write_bytes(address, int(value & 0xFFFFFFFF).to_bytes(4, "little"))

    def set_buttons(self, buttons):
        self.buttons = tuple(buttons)

    def run_frames(self, n):
        self.frames_run += n
        self.buttons_during_runs.append(self.buttons)


class Image:
    """A running game in RAM: save blocks at gSaveblockN + shift, pointers set, a trainer ID (a
    game was started), the field callback, the script engine idle."""

    def __init__(self, shift=0, emu=None):
        self.emu = emu or FakeEmulator()
        self.sb1, self.sb2 = GSAVEBLOCK1 + shift, GSAVEBLOCK2 + shift
        self.emu.write_u32(0x03005D8C, self.sb1)
        self.emu.write_u32(0x03005D90, self.sb2)
        self.emu.write_u32(self.sb2 + 0x0A, 0x1234ABCD)  # playerTrainerId
        self.emu.write_bytes(SCRIPT_STATUS, bytes([2]))
        self.callback2(OVERWORLD)

    def place(self, map_id, x=5, y=7):
        self.emu.write_bytes(self.sb1, x.to_bytes(2, "little", signed=True) + y.to_bytes(2, "little", signed=True))
        self.emu.write_bytes(self.sb1 + 4, bytes([map_id >> 8, map_id & 0xFF]))

    def callback2(self, value):
        self.emu.write_u32(CALLBACK2, value)

    def set_flag(self, n):
        # include/constants/flags.h: flag n is bit (n & 7) of flags[n >> 3]
        address = self.sb1 + 0x1270 + (n >> 3)
        self.emu.write_bytes(address, bytes([self.emu.read_bytes(address, 1)[0] | 1 << (n & 7)]))

    def set_var(self, var_id, value):
        self.emu.write_bytes(self.sb1 + 0x139C + 2 * (var_id - 0x4000), value.to_bytes(2, "little"))

    def party(self, count):
        self.emu.write_bytes(PARTY_COUNT, bytes([count]))

    def gender(self, value):
        self.emu.write_bytes(self.sb2 + 0x08, bytes([value]))

    def task(self, slot, func, active=True):
        self.emu.write_u32(TASKS + slot * 0x28, func)
        self.emu.write_bytes(TASKS + slot * 0x28 + 4, bytes([active]))


def read_info(image):
    return EmeraldAdapter().read_info(image.emu)


def reached(image):
    return read_info(image)["milestones"]


def mask_names(image):
    mask = EmeraldAdapter().milestone_mask(image.emu)
    return {name for i, name in enumerate(EmeraldAdapter.milestone_names) if mask >> i & 1}


def true_names(image):
    return {name for name, value in reached(image).items() if value}


# -- registry ------------------------------------------------------------------------------------


def test_adapter_for_code_bpee_is_emerald():
    adapter = games.adapter_for_code("BPEE")
    assert isinstance(adapter, EmeraldAdapter)
    assert adapter.name == "Pokémon Emerald"


def test_unknown_code_error_lists_known_codes():
    with pytest.raises(games.UnknownGameError) as error:
        games.adapter_for_code("AXVE", "roms/ruby.gba")
    message = str(error.value)
    assert "roms/ruby.gba" in message and "'AXVE'" in message
    assert "BPEE (EmeraldAdapter)" in message and "MNMN (MiniMonAdapter)" in message


# -- milestone table -----------------------------------------------------------------------------


def test_the_pokeagent_scored_milestones_come_first_in_their_order_then_unscored_extras():
    names = EmeraldAdapter.milestone_names
    assert list(names[:15]) == POKEAGENT_SCORED and EmeraldAdapter.scored_milestones == tuple(POKEAGENT_SCORED)
    assert set(names[15:]) == {
        "INTRO_CUTSCENE_COMPLETE", "PLAYER_HOUSE_ENTERED", "PLAYER_BEDROOM", "CLOCK_SET", "RIVAL_HOUSE",
        "RIVAL_BEDROOM", "BIRCH_LAB_VISITED", "ROUTE_103", "GYM_EXPLANATION", "TEAM_AQUA_GRUNT_DEFEATED",
        "FIRST_GYM_COMPLETE",
    }
    assert EmeraldAdapter.milestone_rewards == (1.0,) * 15 + (0.0,) * 11
    assert len(set(names)) == len(names) == 26


# -- reading through the moving save blocks ------------------------------------------------------


@pytest.mark.parametrize("shift", [0, 124])
def test_read_info_follows_the_save_block_pointers(shift):
    image = Image(shift)
    # A decoy at the other candidate address: a reader with a fixed address would see Littleroot.
    decoy = GSAVEBLOCK1 + (124 if shift == 0 else 0)
    image.emu.write_bytes(decoy, (1).to_bytes(2, "little") * 2 + bytes([0, LITTLEROOT]))
    image.place(ROUTE101, x=-3, y=17)
    info = read_info(image)
    assert (info["x"], info["y"], info["map"]) == (-3, 17, ROUTE101)
    assert (info["map_group"], info["map_num"], info["map_name"]) == (0, 0x10, "ROUTE101")
    assert info["trainer_id"] == 0x1234ABCD
    assert info["milestones"]["ROUTE_101"] and not info["milestones"]["LITTLEROOT_TOWN"]


@pytest.mark.parametrize("shift", [0, 124])
def test_money_is_decrypted_with_the_save_block2_key(shift):
    image = Image(shift)
    key = 0x9E3779B9
    image.emu.write_u32(image.sb2 + 0xAC, key)
    image.emu.write_u32(image.sb1 + 0x490, 3000 ^ key)
    assert read_info(image)["money"] == 3000


GATED = ("x", "y", "map", "map_group", "map_num", "map_name", "money", "trainer_id")


def test_unset_pointers_read_as_not_ready_with_no_position():
    emu = FakeEmulator()  # power-on: gSaveBlock1Ptr == 0, outside EWRAM
    info = EmeraldAdapter().read_info(emu)
    assert info["save_blocks_ready"] is False
    assert all(info[k] is None for k in GATED)
    assert info["milestone_count"] == 0 and EmeraldAdapter().milestone_mask(emu) == 0
    # A pointer whose block would run past the end of EWRAM is not followed either.
    emu.write_u32(0x03005D8C, EWRAM_BASE + EWRAM_SIZE - 0x100)
    emu.write_u32(0x03005D90, GSAVEBLOCK2)
    assert EmeraldAdapter().read_info(emu)["save_blocks_ready"] is False


def test_zeroed_save_blocks_at_the_title_are_not_petalburg():
    # Seen on the real game: the pointers are set long before a game starts, and the blocks are
    # zeros, which read as Petalburg City (0, 0) at x = y = 0.
    image = Image()
    image.emu.write_u32(image.sb2 + 0x0A, 0)  # no trainer ID, no encryption key: no game yet
    info = read_info(image)
    assert info["save_blocks_ready"] is False and all(info[k] is None for k in GATED)
    assert true_names(image) == set() and mask_names(image) == set()
    image.emu.write_u32(image.sb2 + 0xAC, 1)  # a key alone also marks a started game
    assert read_info(image)["save_blocks_ready"] and true_names(image) == {"PETALBURG_CITY", "ROUTE_102"}


# -- mode, facing, frame count -------------------------------------------------------------------


@pytest.mark.parametrize(
    "callback2, in_battle, mode",
    [
        (OVERWORLD, False, "overworld"),
        (BATTLE, False, "battle"),
        (TITLE, True, "battle"),  # a battle's own sub-screens (bag, party) keep gMain.inBattle
        (OVERWORLD, True, "battle"),
        (WALL_CLOCK, False, "menu"),  # a full-screen menu
        (TITLE, False, "other"),
        (OVERWORLD & ~1, False, "other"),  # stored callbacks carry the Thumb bit
        (0, False, "other"),
    ],
)
def test_mode_from_callback2_and_in_battle(callback2, in_battle, mode):
    image = Image()
    image.callback2(callback2)
    image.emu.write_bytes(IN_BATTLE_BYTE, bytes([0b10 if in_battle else 0b01]))  # bit 0 is oamLoadDisabled
    assert read_info(image)["mode"] == mode


def test_field_mode_from_the_script_engine_text_printers_and_start_menu():
    image = Image()
    assert read_info(image)["mode"] == "overworld"
    image.emu.write_bytes(LOCK_FIELD_CONTROLS, b"\x01")
    assert read_info(image)["mode"] == "other"  # a warp's fade: the field ignores the player
    for status in (0, 1):  # a script running, or waiting for a message
        image.emu.write_bytes(SCRIPT_STATUS, bytes([status]))
        assert read_info(image)["mode"] == "dialog"
    image.emu.write_bytes(SCRIPT_STATUS, b"\x02")
    image.emu.write_bytes(TEXT_PRINTERS + 3 * 0x24 + 0x1B, b"\x01")  # printer 3 active
    assert read_info(image)["mode"] == "dialog"
    image.task(5, START_MENU_TASK)
    assert read_info(image)["mode"] == "menu"
    image.task(5, START_MENU_TASK, active=False)  # a dead task's func does not count
    image.emu.write_bytes(TEXT_PRINTERS + 3 * 0x24 + 0x1B, b"\x00")
    image.emu.write_bytes(LOCK_FIELD_CONTROLS, b"\x00")
    assert read_info(image)["mode"] == "overworld"


def test_facing_of_the_player_object_and_frame_count():
    image = Image()
    image.emu.write_bytes(0x02037590 + 5, bytes([2]))  # gPlayerAvatar.objectEventId = 2
    image.emu.write_bytes(0x02037350 + 2 * 0x24 + 0x18, bytes([0x13]))  # movementDirection 1, facing 3
    image.emu.write_u32(0x030022C0 + 0x24, 123456)
    info = read_info(image)
    assert info["facing"] == "left" and info["frame_count"] == 123456
    image.emu.write_bytes(0x02037590 + 5, bytes([0]))
    assert read_info(image)["facing"] == "none"  # object 0 has facing 0 here


# -- milestones --------------------------------------------------------------------------------


def test_littleroot_then_route_101_and_the_visited_flag():
    image = Image()
    image.place(LITTLEROOT)
    assert true_names(image) == {"LITTLEROOT_TOWN"}
    image.place(ROUTE101)
    assert true_names(image) == {"ROUTE_101"}  # a "where" milestone: the env's mask keeps Littleroot
    image.set_flag(0x86F)  # FLAG_VISITED_LITTLEROOT_TOWN, set by Littleroot's on-transition script
    assert true_names(image) == {"ROUTE_101", "LITTLEROOT_TOWN"}


def test_where_milestones_need_a_running_game():
    image = Image()
    image.place(OLDALE)
    assert true_names(image) == {"OLDALE_TOWN"}
    image.callback2(TITLE)
    assert true_names(image) == set() and mask_names(image) == set()
    image.callback2(BATTLE)
    assert true_names(image) == {"OLDALE_TOWN"}


def test_starter_chosen_from_party_count_not_from_the_bag_flag():
    image = Image()
    image.place(BIRCH_LAB)
    image.set_flag(0x860)  # FLAG_SYS_POKEMON_GET: set as Birch's bag opens, before the choice
    assert true_names(image) == {"ROUTE_101"}  # the bag is on Route 101
    image.party(1)
    assert true_names(image) == {"LITTLEROOT_TOWN", "ROUTE_101", "STARTER_CHOSEN", "BIRCH_LAB_VISITED"}
    assert read_info(image)["party_count"] == 1


def test_rival_battle_won_from_its_flag():
    image = Image()
    image.place(0x0012)  # Route 103
    assert true_names(image) == {"ROUTE_103"}
    image.set_flag(0x82)  # FLAG_DEFEATED_RIVAL_ROUTE103
    assert true_names(image) == {"LITTLEROOT_TOWN", "ROUTE_101", "STARTER_CHOSEN", "OLDALE_TOWN",
                                 "RIVAL_BATTLE_WON", "ROUTE_103"}


def test_later_progress_implies_the_milestones_the_story_puts_before_it():
    # A save loaded in Rustboro: every place milestone on the way counts, without the player there.
    image = Image()
    image.place(PETALBURG_WOODS)
    image.callback2(TITLE)  # not even on a map
    image.set_flag(0x879)  # FLAG_VISITED_RUSTBORO_CITY
    assert true_names(image) == {
        "LITTLEROOT_TOWN", "ROUTE_101", "STARTER_CHOSEN", "OLDALE_TOWN", "RIVAL_BATTLE_WON", "RECEIVED_POKEDEX",
        "ROUTE_102", "PETALBURG_CITY", "ROUTE_104_SOUTH", "PETALBURG_WOODS", "ROUTE_104_NORTH", "RUSTBORO_CITY",
        "ROUTE_103",
    }  # Dad's talk and the gym are story vars/flags of their own


def test_pokedex_and_badge_flags_use_the_flags_bit_rule():
    image = Image()
    image.place(RUSTBORO_GYM)
    # Neighbouring bits must not count: 0x862 is FLAG_SYS_POKENAV_GET.
    image.set_flag(0x862)
    assert not reached(image)["RECEIVED_POKEDEX"]
    image.set_flag(0x861)  # FLAG_SYS_POKEDEX_GET: flags[0x10C] bit 1
    assert image.emu.read_bytes(image.sb1 + 0x1270 + 0x10C, 1)[0] == 0b110
    assert reached(image)["RECEIVED_POKEDEX"]

    image.set_flag(0x867)  # FLAG_BADGE01_GET: flags[0x10C] bit 7
    image.set_flag(0x869)  # FLAG_BADGE03_GET: flags[0x10D] bit 1
    info = read_info(image)
    assert info["badges"] == [True, False, True, False, False, False, False, False]
    assert info["badge_count"] == 2
    assert info["milestones"]["ROXANNE_DEFEATED"] and info["milestones"]["RUSTBORO_GYM_ENTERED"]
    assert not info["milestones"]["FIRST_GYM_COMPLETE"]  # still inside the gym
    image.place(RUSTBORO)
    assert reached(image)["FIRST_GYM_COMPLETE"] and reached(image)["RUSTBORO_CITY"]


def test_story_vars_and_other_flags():
    image = Image()
    image.callback2(TITLE)  # these need no map, so they hold in menus too
    image.set_var(0x4092, 3)  # VAR_LITTLEROOT_INTRO_STATE: entered the house with Mom
    assert true_names(image) == {"INTRO_CUTSCENE_COMPLETE", "PLAYER_HOUSE_ENTERED"}
    image.set_var(0x4092, 6)
    image.set_flag(0x51)  # FLAG_SET_WALL_CLOCK
    assert true_names(image) == {"INTRO_CUTSCENE_COMPLETE", "PLAYER_HOUSE_ENTERED", "PLAYER_BEDROOM", "CLOCK_SET"}

    image = Image()
    image.callback2(TITLE)
    image.set_var(0x4085, 1)  # VAR_PETALBURG_GYM_STATE
    assert true_names(image) == {"DAD_FIRST_MEETING"}
    image.set_var(0x4085, 2)
    image.set_flag(0x500 + 10)  # trainer flag of TRAINER_GRUNT_PETALBURG_WOODS
    assert true_names(image) == {"DAD_FIRST_MEETING", "GYM_EXPLANATION", "TEAM_AQUA_GRUNT_DEFEATED"}


@pytest.mark.parametrize(
    "gender, map_id, expected",
    [
        (0, BRENDAN_1F, "PLAYER_HOUSE_ENTERED"),
        (0, BRENDAN_2F, "PLAYER_BEDROOM"),
        (0, MAY_1F, "RIVAL_HOUSE"),
        (0, MAY_2F, "RIVAL_BEDROOM"),
        (1, MAY_1F, "PLAYER_HOUSE_ENTERED"),
        (1, MAY_2F, "PLAYER_BEDROOM"),
        (1, BRENDAN_1F, "RIVAL_HOUSE"),
        (1, BRENDAN_2F, "RIVAL_BEDROOM"),
        (0, TRUCK, "INTRO_CUTSCENE_COMPLETE"),  # inside the moving truck
    ],
)
def test_houses_follow_the_player_gender(gender, map_id, expected):
    image = Image()
    image.gender(gender)
    image.place(map_id)
    assert true_names(image) == {expected}


@pytest.mark.parametrize("y, expected", [(60, {"ROUTE_104_SOUTH"}), (38, {"ROUTE_104_SOUTH"}),
                                         (34, set()), (30, {"ROUTE_104_NORTH"}), (3, {"ROUTE_104_NORTH"})])
def test_route_104_is_split_by_petalburg_woods(y, expected):
    image = Image()
    image.place(ROUTE104, x=10, y=y)
    assert true_names(image) == expected


def test_milestone_mask_matches_read_info():
    image = Image(shift=64)
    image.place(ROUTE101)
    image.party(1)
    image.set_flag(0x86F)
    image.set_flag(0x861)
    image.set_var(0x4085, 2)
    mask = EmeraldAdapter().milestone_mask(image.emu)
    info = read_info(image)
    expected = sum(1 << i for i, name in enumerate(EmeraldAdapter.milestone_names) if info["milestones"][name])
    assert mask == expected and bin(mask).count("1") == info["milestone_count"] == 9
    assert true_names(image) == {"LITTLEROOT_TOWN", "ROUTE_101", "STARTER_CHOSEN", "OLDALE_TOWN", "RIVAL_BATTLE_WON",
                                 "RECEIVED_POKEDEX", "DAD_FIRST_MEETING", "GYM_EXPLANATION", "ROUTE_103"}


def test_read_info_has_the_protocol_keys_and_is_json():
    image = Image()
    image.place(LITTLEROOT)
    info = read_info(image)
    for key in ("x", "y", "map", "facing", "mode", "milestones", "milestone_count", "frame_count"):
        assert key in info
    assert set(info["milestones"]) == set(EmeraldAdapter.milestone_names)
    assert json.loads(json.dumps(info)) == info


# -- episode start -------------------------------------------------------------------------------


def test_start_options_defaults_and_errors():
    adapter = EmeraldAdapter()
    assert adapter.start_options({}) == {"start": "new_game", "gender": "male", "player_name": "BRENDAN"}
    assert adapter.start_options({"gender": "female"})["player_name"] == "MAY"
    assert adapter.start_options({"start": "power_on"}) == {"start": "power_on"}
    for options, needle in [({"start": "title"}, "start must be one of"), ({"gender": "robot"}, "gender must be"),
                            ({"player_name": "ABCDEFGH"}, "player_name"), ({"player_name": "Zoë"}, "player_name"),
                            ({"player_name": ""}, "player_name"), ({"speed": 2}, "unknown reset option"),
                            ({"start": "power_on", "gender": "male"}, "apply to start='new_game' only")]:
        with pytest.raises(ValueError, match=needle):
            adapter.start_options(options)


def test_power_on_start_runs_idle_frames():
    adapter = EmeraldAdapter(boot_frames=100, seed_frames=16)
    emu = FakeEmulator()
    adapter.boot(emu)
    assert emu.frames_run == 100
    adapter.begin_episode(emu, seed=21, options={"start": "power_on"})
    assert emu.frames_run == 100 + 21 % 16
    assert set(emu.buttons_during_runs) == {()}
    assert EmeraldAdapter().boot_frames == 600 and EmeraldAdapter().seed_frames == 256


@pytest.mark.parametrize("kwargs, needle", [({"boot_frames": -1}, "boot_frames"), ({"seed_frames": 0}, "seed_frames"),
                                            ({"boot_frames": 1.5}, "boot_frames")])
def test_constructor_rejects_bad_frame_counts(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        EmeraldAdapter(**kwargs)


def test_seed_words_are_distinct_over_the_seed_space():
    words = [intro.seed_words(s) for s in range(20_000)]
    assert len({rng for rng, _ in words}) == 20_000  # a bijection: no two seeds share an RNG state
    assert len({intro.seed_words(s)[0] for s in (0, 256, 1024, 2**31 - 1, 2**32 - 1)}) == 5
    assert intro.seed_words(7) == intro.seed_words(7 + 2**32)  # seeds wrap at seed_space
    assert all(0 <= low < 2**16 for _, low in words)
    assert EmeraldAdapter.seed_space == 2**32


def test_names_in_the_game_charset():
    assert intro.encode_name("ASH") == bytes([0xBB, 0xCD, 0xC2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    assert intro.encode_name("May-7") == bytes([0xC7, 0xD5, 0xED, 0xAE, 0xA8, 0xFF, 0xFF, 0xFF])
    assert len(intro.encode_name("BRENDAN")) == 8


class IntroGame(FakeEmulator):
    """Plays the end of the new-game flow: after `frames_to_new_game` frames the main callback is
    CB2_NewGame, then a running field with the player in control in the truck."""

    def __init__(self, frames_to_new_game=40):
        super().__init__()
        self.image = Image(shift=8, emu=self)
        self.image.emu.write_u32(self.image.sb2 + 0x0A, 0)
        self.image.callback2(0x0802F6B1)  # CB2_MainMenu (Birch's speech)
        self.frames_to_new_game = frames_to_new_game
        self.seen_at_first_press = None

    def set_buttons(self, buttons):
        if buttons and self.seen_at_first_press is None:
            self.seen_at_first_press = (self.read_u32(0x03005D80), self.read_bytes(0x02020000, 2),
                                        self.read_bytes(self.image.sb2, 8))
        super().set_buttons(buttons)

    def run_frames(self, n):
        super().run_frames(n)
        if self.frames_run >= self.frames_to_new_game:
            self.image.callback2(0x08085EF8 | 1)  # CB2_NewGame
        if self.frames_run >= self.frames_to_new_game + 30:
            self.image.callback2(OVERWORLD)
            self.image.emu.write_u32(self.image.sb2 + 0x0A, 0xCAFE0000)
            self.image.place(TRUCK, 2, 2)


def test_play_to_control_writes_name_and_seed_before_the_game_goes_on():
    game = IntroGame()
    intro.play_to_control(game, seed=1024, name="ASH")
    rng, low = intro.seed_words(1024)
    assert game.seen_at_first_press == (rng, low.to_bytes(2, "little"), intro.encode_name("ASH"))
    info = EmeraldAdapter().read_info(game)
    assert (info["map_name"], info["x"], info["y"], info["mode"]) == ("INSIDE_OF_TRUCK", 2, 2, "overworld")

    stuck = IntroGame(frames_to_new_game=10**9)
    with pytest.raises(intro.EmeraldIntroError, match="did not reach the new game"):
        intro.play_to_control(stuck, seed=0, name="ASH")


def test_reseed_writes_the_rng_word():
    emu = FakeEmulator()
    EmeraldAdapter().reseed(emu, 256)
    assert emu.read_u32(0x03005D80) == intro.seed_words(256)[0]


def test_addresses_match_the_documented_layout():
    # A second spelling of the facts (pret/pokeemerald's symbol map), so a typo in either shows.
    assert (R.G_SAVE_BLOCK1_PTR, R.G_SAVE_BLOCK2_PTR, R.G_RNG_VALUE) == (0x03005D8C, 0x03005D90, 0x03005D80)
    assert R.G_MAIN + R.MAIN_CALLBACK2 == CALLBACK2
    assert R.G_MAIN + R.MAIN_IN_BATTLE_BYTE == IN_BATTLE_BYTE
    assert (R.S_GLOBAL_SCRIPT_CONTEXT_STATUS, R.S_LOCK_FIELD_CONTROLS, R.S_TEXT_PRINTERS, R.G_TASKS) == (
        SCRIPT_STATUS, LOCK_FIELD_CONTROLS, TEXT_PRINTERS, TASKS)
    assert (R.SB1_MONEY, R.SB1_FLAGS, R.SB1_VARS, R.SB2_ENCRYPTION_KEY) == (0x490, 0x1270, 0x139C, 0xAC)
    assert (ms.MAP_PETALBURG_WOODS, ms.MAP_RUSTBORO_CITY_GYM, ms.MAP_LITTLEROOT_TOWN) == (0x180B, 0x0B03, 0x0009)


# -- on a real ROM (opt-in: POKEIL_EMERALD_ROM=path/to/emerald.gba) ---------------------------------
# The ROM never enters the repo; build it from the public pret/pokeemerald decompilation.

ROM = os.environ.get("POKEIL_EMERALD_ROM")
needs_rom = pytest.mark.skipif(not ROM, reason="set POKEIL_EMERALD_ROM to a US Pokémon Emerald ROM")

A_, B_, START, UP, DOWN, LEFT, RIGHT, WAIT = 0, 1, 2, 4, 5, 6, 7, 9  # WAIT: the R shoulder, unused here


@pytest.fixture(scope="module")
def rom_env():
    from pokeil_jax.env import PokemonEnv

    env = PokemonEnv(rom_path=ROM, max_episode_steps=2000)
    yield env
    env.close()


class Walker:
    """Steps the env and keeps every info, so a test can ask what it saw."""

    def __init__(self, env):
        self.env, self.infos, self.rewards = env, [], []

    def press(self, action, times=1):
        for _ in range(times):
            _, reward, _, _, info = self.env.step(action)
            self.infos.append(info)
            self.rewards.append(reward)
        return self.infos[-1]

    def walk(self, direction, tiles):
        """Turn-before-walk: a press in a direction the player does not face only turns them."""
        facing = self.infos[-1]["facing"] if self.infos else self.env.unwrapped.adapter.read_info(self.env._emu)["facing"]
        turn = facing != {UP: "up", DOWN: "down", LEFT: "left", RIGHT: "right"}[direction]
        return self.press(direction, tiles + turn)

    def until_control(self, limit=120):
        """A through dialogs, wait through cutscenes and warps, until the player has control."""
        for _ in range(limit):
            info = self.press(A_ if self.infos and self.infos[-1]["mode"] == "dialog" else WAIT)
            if info["mode"] == "overworld":
                return info
        raise AssertionError(f"no control after {limit} steps: {self.infos[-1]}")

    def modes(self):
        return {i["mode"] for i in self.infos}


@needs_rom
@pytest.mark.slow
def test_rom_reset_is_a_playable_truck_start_and_seeds_are_distinct_games(rom_env):
    env = rom_env
    trainer_ids = {}
    for seed in (0, 256, 1024):
        obs, info = env.reset(seed=seed)
        assert (info["map_name"], info["x"], info["y"], info["mode"]) == ("INSIDE_OF_TRUCK", 2, 2, "overworld")
        assert info["money"] == 3000 and info["save_blocks_ready"]
        assert info["milestones"]["INTRO_CUTSCENE_COMPLETE"] and info["milestone_steps"]["INTRO_CUTSCENE_COMPLETE"] == 0
        trainer_ids[seed] = info["trainer_id"]
    assert len(set(trainer_ids.values())) == 3
    assert env.seed_space == 2**32
    # The next reset of a seed is the cached state: begin_episode does not run again.
    first_obs, _ = env.reset(seed=0)
    original, env.adapter.begin_episode = env.adapter.begin_episode, None
    try:
        obs, info = env.reset(seed=0)
    finally:
        env.adapter.begin_episode = original
    assert info["trainer_id"] == trainer_ids[0] and np.array_equal(obs, first_obs)
    # A step moves: the first RIGHT turns, the second walks.
    assert env.step(RIGHT)[4]["x"] == 2 and env.step(RIGHT)[4]["x"] == 3
    assert env.step(START)[4]["mode"] == "menu"  # the START menu
    assert env.step(B_)[4]["mode"] == "overworld"


@needs_rom
@pytest.mark.slow
def test_rom_power_on_start_and_state_file_resume(rom_env, tmp_path):
    env = rom_env
    obs, info = env.reset(seed=3, options={"start": "power_on"})
    assert info["mode"] == "other" and not info["save_blocks_ready"]
    assert (info["map"], info["map_name"], info["x"], info["money"]) == (None, None, None, None)
    assert info["milestone_count"] == 0
    with pytest.raises(ValueError, match="start must be one of"):
        env.reset(seed=0, options={"start": "title"})
    with pytest.raises(ValueError, match="player_name"):
        env.reset(seed=0, options={"player_name": "TOOLONGNAME"})
    obs, info = env.reset(seed=0, options={"gender": "female", "player_name": "ASH"})
    sb2 = env._emu.read_u32(0x03005D90)
    assert (info["map_name"], info["x"], info["y"], info["mode"]) == ("INSIDE_OF_TRUCK", 2, 2, "overworld")
    assert env._emu.read_bytes(sb2, 9) == intro.encode_name("ASH") + b"\x01"  # the name, then gender 1
    # A file that is not a state of this game: one line naming it.
    bad = tmp_path / "notes.ss1"
    bad.write_bytes(b"not a state")
    with pytest.raises(ValueError, match="notes.ss1"):
        env.reset(options={"state": str(bad)})


@needs_rom
@pytest.mark.slow
def test_rom_walk_from_the_truck_to_the_starter(rom_env, tmp_path):
    env = rom_env
    env.reset(seed=0)
    w = Walker(env)
    w.walk(RIGHT, 3)  # out of the truck: the third tile is the warp
    info = w.until_control()  # Mom walks the player into the house and talks
    assert info["map_name"] == "LITTLEROOT_TOWN_BRENDANS_HOUSE_1F" and "dialog" in w.modes()
    assert info["milestones"]["LITTLEROOT_TOWN"] and info["milestones"]["PLAYER_HOUSE_ENTERED"]
    w.walk(UP, 5)  # the stairs at (8, 2)
    info = w.until_control()
    assert info["map_name"] == "LITTLEROOT_TOWN_BRENDANS_HOUSE_2F" and info["milestones"]["PLAYER_BEDROOM"]
    w.walk(DOWN, 1)
    w.walk(LEFT, 2)
    w.walk(UP, 1)  # (5, 2), facing the wall clock
    w.press(A_, 2)
    for _ in range(20):  # the clock screen is a full-screen menu
        if w.press(WAIT)["mode"] == "menu":
            break
    # A accepts the time; "Is this the correct time?" defaults to NO, UP picks YES.
    for _ in range(10):
        w.press(A_)  # the time shown is fine
        w.press(WAIT, 3)
        w.press(UP)
        w.press(A_)
        if w.press(WAIT, 3)["mode"] != "menu":
            break
    info = w.until_control()
    assert info["milestones"]["CLOCK_SET"] and "menu" in w.modes()
    w.walk(RIGHT, 2)
    w.walk(UP, 1)  # the stairs down; Mom and the TV
    info = w.until_control()
    w.walk(RIGHT, 4)
    w.walk(DOWN, 4)  # through the door
    info = w.until_control()
    assert info["map_name"] == "LITTLEROOT_TOWN"
    w.walk(RIGHT, 9)
    w.walk(UP, 1)  # the rival's door at (14, 8)
    info = w.until_control()
    assert info["map_name"] == "LITTLEROOT_TOWN_MAYS_HOUSE_1F" and info["milestones"]["RIVAL_HOUSE"]
    w.walk(UP, 6)
    info = w.until_control()
    assert info["milestones"]["RIVAL_BEDROOM"]
    w.walk(DOWN, 2)
    w.walk(RIGHT, 3)
    w.press(A_)  # the rival's Poké Ball: the rival comes in
    info = w.until_control()
    w.walk(LEFT, 3)
    w.walk(UP, 3)
    info = w.until_control()
    w.walk(DOWN, 6)  # out of the rival's house
    info = w.until_control()
    w.walk(LEFT, 3)
    w.walk(UP, 8)  # north edge of town: a neighbour points to Route 101
    info = w.until_control()
    state_file = env.write_state_file(tmp_path / "littleroot_north.state")
    done_before = {n for n, v in info["milestones"].items() if v}
    w.walk(UP, 3)
    info = w.until_control()  # Birch chased by a Zigzagoon
    assert info["map_name"] == "ROUTE101" and info["milestones"]["ROUTE_101"]
    assert not info["milestones"]["STARTER_CHOSEN"]
    w.walk(LEFT, 4)
    w.walk(UP, 1)
    w.press(A_)  # Birch's bag: the starter choice
    for _ in range(10):
        if w.press(WAIT)["mode"] == "menu":
            break
    w.press(A_)
    w.press(WAIT, 2)
    info = w.press(A_)
    assert info["milestones"]["STARTER_CHOSEN"] and info["party_count"] == 1
    for _ in range(12):
        if w.press(WAIT)["mode"] == "battle":
            break
    assert w.infos[-1]["mode"] == "battle"
    steps = w.infos[-1]["milestone_steps"]
    assert 0 < steps["LITTLEROOT_TOWN"] < steps["ROUTE_101"] < steps["STARTER_CHOSEN"] <= len(w.infos)
    scored_reward = sum(w.rewards)
    assert scored_reward == 3.0  # LITTLEROOT_TOWN, ROUTE_101, STARTER_CHOSEN (the rest is unscored)

    # Resume from the state saved at the north edge of town: earlier milestones count as done.
    obs, info = env.reset(options={"state": str(state_file)})
    assert info["map_name"] == "LITTLEROOT_TOWN" and info["mode"] in ("overworld", "dialog")
    reached = {n for n, v in info["milestones"].items() if v}
    assert {"LITTLEROOT_TOWN", "INTRO_CUTSCENE_COMPLETE", "PLAYER_HOUSE_ENTERED", "PLAYER_BEDROOM", "CLOCK_SET"} <= reached
    assert not info["milestones"]["ROUTE_101"] and reached <= done_before
    w = Walker(env)
    w.walk(UP, 3)
    info = w.until_control()
    assert info["milestones"]["ROUTE_101"] and w.rewards.count(1.0) == 1


@needs_rom
@pytest.mark.slow
def test_rom_episode_ends_when_the_scored_milestones_are_done(rom_env):
    env = rom_env
    env.reset(seed=0)
    emu = env.unwrapped._emu
    sb1 = emu.read_u32(R.G_SAVE_BLOCK1_PTR)
    flags = bytearray(emu.read_bytes(sb1 + R.SB1_FLAGS, R.NUM_FLAG_BYTES))
    flags[ms.FLAG_DEFEATED_RUSTBORO_GYM >> 3] |= 1 << (ms.FLAG_DEFEATED_RUSTBORO_GYM & 7)
    emu.write_bytes(sb1 + R.SB1_FLAGS, bytes(flags))
    emu.write_bytes(sb1 + R.SB1_VARS + 2 * (ms.VAR_PETALBURG_GYM_STATE - R.VARS_START), (2).to_bytes(2, "little"))
    _, reward, terminated, truncated, info = env.step(WAIT)
    assert terminated and not truncated and reward == 15.0
    assert not info["milestones"]["RIVAL_HOUSE"] and not info["milestones"]["FIRST_GYM_COMPLETE"]
