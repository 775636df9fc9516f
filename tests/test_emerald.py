"""Emerald adapter over synthetic EWRAM/IWRAM images built from pret/pokeemerald's layouts (no ROM)."""

import json

import numpy as np
import pytest

from pokeil_jax import games
from pokeil_jax.emulator import EWRAM_BASE, EWRAM_SIZE, IWRAM_BASE, IWRAM_SIZE
from pokeil_jax.games import emerald as em
from pokeil_jax.games.emerald import EmeraldAdapter

# Where pokeemerald.sym puts the save blocks before SetSaveBlocksPointers adds its 0..124 shift.
GSAVEBLOCK1 = 0x02025A00
GSAVEBLOCK2 = 0x02024A54
PARTY_COUNT = 0x020244E9
IN_BATTLE_BYTE = 0x030026F9
CALLBACK2 = 0x030022C4
OVERWORLD = 0x08085E5C | 1
BATTLE = 0x08038420 | 1
TITLE = 0x080AA0C1  # any other callback, e.g. a title-screen one

PETALBURG, LITTLEROOT, ROUTE101, ROUTE104 = 0x0000, 0x0009, 0x0010, 0x0013
BRENDAN_1F, BRENDAN_2F, MAY_1F, MAY_2F, BIRCH_LAB = 0x0100, 0x0101, 0x0102, 0x0103, 0x0104
RUSTBORO_GYM = 0x0B03


class FakeEmulator:
    """The read/write/run surface of `Emulator` over bytearrays for EWRAM and IWRAM."""

    def __init__(self):
        self._ram = {EWRAM_BASE: bytearray(EWRAM_SIZE), IWRAM_BASE: bytearray(IWRAM_SIZE)}
        self.frames_run = 0
        self.buttons_during_runs = []

    def _locate(self, address, size):
        for base, block in self._ram.items():
            if base <= address and address + size <= base + len(block):
                return block, address - base
        raise ValueError(f"address 0x{address:08X}+{size} is outside EWRAM and IWRAM")

    def read_bytes(self, address, size):
        block, offset = self._locate(address, size)
        return bytes(block[offset : offset + size])

    def ram_view(self, address, size):
        block, offset = self._locate(address, size)
        return np.frombuffer(block, np.uint8)[offset : offset + size]

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

    @property
    def frame_count(self):
        return self.frames_run


class Image:
    """A game in RAM: save blocks placed at gSaveblockN + shift with the pointers set to them."""

    def __init__(self, shift=0):
        self.emu = FakeEmulator()
        self.sb1, self.sb2 = GSAVEBLOCK1 + shift, GSAVEBLOCK2 + shift
        self.emu.write_u32(0x03005D8C, self.sb1)
        self.emu.write_u32(0x03005D90, self.sb2)
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


def reached(image):
    return read_info(image)["milestones"]


def read_info(image):
    return EmeraldAdapter().read_info(image.emu)


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


def test_milestones_follow_the_pokeagent_order_with_unit_rewards():
    pokeagent = (
        "GAME_RUNNING PLAYER_NAME_SET INTRO_CUTSCENE_COMPLETE LITTLEROOT_TOWN PLAYER_HOUSE_ENTERED "
        "PLAYER_BEDROOM CLOCK_SET RIVAL_HOUSE RIVAL_BEDROOM ROUTE_101 STARTER_CHOSEN BIRCH_LAB_VISITED "
        "OLDALE_TOWN ROUTE_103 RECEIVED_POKEDEX ROUTE_102 PETALBURG_CITY DAD_FIRST_MEETING GYM_EXPLANATION "
        "ROUTE_104_SOUTH PETALBURG_WOODS TEAM_AQUA_GRUNT_DEFEATED ROUTE_104_NORTH RUSTBORO_CITY "
        "RUSTBORO_GYM_ENTERED ROXANNE_DEFEATED FIRST_GYM_COMPLETE"
    ).split()
    names = EmeraldAdapter.milestone_names
    assert list(names) == [n for n in pokeagent if n not in ("GAME_RUNNING", "PLAYER_NAME_SET")]
    assert EmeraldAdapter.milestone_rewards == (1.0,) * 25


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
    assert info["milestones"]["ROUTE_101"] and not info["milestones"]["LITTLEROOT_TOWN"]


@pytest.mark.parametrize("shift", [0, 124])
def test_money_is_decrypted_with_the_save_block2_key(shift):
    image = Image(shift)
    key = 0x9E3779B9
    image.emu.write_u32(image.sb2 + 0xAC, key)
    image.emu.write_u32(image.sb1 + 0x490, 3000 ^ key)
    assert read_info(image)["money"] == 3000


def test_unset_pointers_read_as_not_ready_without_error():
    emu = FakeEmulator()  # power-on: gSaveBlock1Ptr == 0, outside EWRAM
    info = EmeraldAdapter().read_info(emu)
    assert info["save_blocks_ready"] is False
    assert (info["x"], info["y"], info["map"], info["map_name"], info["money"]) == (0, 0, 0, None, 0)
    assert info["milestone_count"] == 0 and EmeraldAdapter().milestone_mask(emu) == 0
    # A pointer whose block would run past the end of EWRAM is not followed either.
    emu.write_u32(0x03005D8C, EWRAM_BASE + EWRAM_SIZE - 0x100)
    emu.write_u32(0x03005D90, GSAVEBLOCK2)
    assert EmeraldAdapter().read_info(emu)["save_blocks_ready"] is False


# -- mode, facing, frame count -------------------------------------------------------------------


@pytest.mark.parametrize(
    "callback2, in_battle, mode",
    [
        (OVERWORLD, False, "overworld"),
        (BATTLE, False, "battle"),
        (TITLE, True, "battle"),  # a battle's own sub-screens (bag, party) keep gMain.inBattle
        (OVERWORLD, True, "battle"),
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
    image.place(PETALBURG, x=0, y=0)  # what a zeroed save block reads as at the title screen
    assert true_names(image) == {"PETALBURG_CITY"}
    image.callback2(TITLE)
    assert true_names(image) == set() and mask_names(image) == set()
    image.callback2(BATTLE)
    assert true_names(image) == {"PETALBURG_CITY"}


def test_starter_chosen_from_party_count():
    image = Image()
    image.place(BIRCH_LAB)
    image.party(0)
    assert true_names(image) == set()  # the lab before the rescue does not count
    image.party(1)
    assert true_names(image) == {"STARTER_CHOSEN", "BIRCH_LAB_VISITED"}
    assert read_info(image)["party_count"] == 1


def test_pokedex_and_badge_flags_use_the_flags_bit_rule():
    image = Image()
    image.place(RUSTBORO_GYM)
    # Neighbouring bits must not count: 0x860 is FLAG_SYS_POKEMON_GET, 0x862 FLAG_SYS_POKENAV_GET.
    image.set_flag(0x860)
    image.set_flag(0x862)
    assert image.emu.read_bytes(image.sb1 + 0x1270 + 0x10C, 1)[0] == 0b101
    assert not reached(image)["RECEIVED_POKEDEX"]
    image.set_flag(0x861)  # FLAG_SYS_POKEDEX_GET: flags[0x10C] bit 1
    assert image.emu.read_bytes(image.sb1 + 0x1270 + 0x10C, 1)[0] == 0b111
    assert reached(image)["RECEIVED_POKEDEX"]

    image.set_flag(0x867)  # FLAG_BADGE01_GET: flags[0x10C] bit 7
    image.set_flag(0x869)  # FLAG_BADGE03_GET: flags[0x10D] bit 1
    image.set_flag(0x4F0)  # FLAG_DEFEATED_RUSTBORO_GYM
    info = read_info(image)
    assert info["badges"] == [True, False, True, False, False, False, False, False]
    assert info["badge_count"] == 2
    assert info["milestones"]["ROXANNE_DEFEATED"] and info["milestones"]["RUSTBORO_GYM_ENTERED"]
    assert not info["milestones"]["FIRST_GYM_COMPLETE"]  # still inside the gym
    image.place(0x0003)  # Rustboro City
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
        (0, 0x1928, "INTRO_CUTSCENE_COMPLETE"),  # inside the moving truck
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
    assert mask == expected and bin(mask).count("1") == info["milestone_count"] == 6
    assert true_names(image) == {"LITTLEROOT_TOWN", "ROUTE_101", "STARTER_CHOSEN", "RECEIVED_POKEDEX",
                                 "DAD_FIRST_MEETING", "GYM_EXPLANATION"}


def test_read_info_has_the_protocol_keys_and_is_json():
    image = Image()
    image.place(LITTLEROOT)
    info = read_info(image)
    for key in ("x", "y", "map", "facing", "mode", "milestones", "milestone_count", "frame_count"):
        assert key in info
    assert set(info["milestones"]) == set(EmeraldAdapter.milestone_names)
    assert json.loads(json.dumps(info)) == info


# -- episode start -------------------------------------------------------------------------------


def test_boot_and_begin_episode_run_idle_frames():
    adapter = EmeraldAdapter(boot_frames=100, seed_frames=16)
    emu = FakeEmulator()
    adapter.boot(emu)
    assert emu.frames_run == 100
    adapter.begin_episode(emu, seed=21)
    assert emu.frames_run == 100 + 21 % 16
    adapter.begin_episode(emu, seed=3)
    assert emu.frames_run == 100 + 5 + 3
    assert set(emu.buttons_during_runs) == {()}
    assert EmeraldAdapter().boot_frames == 600 and EmeraldAdapter().seed_frames == 256


@pytest.mark.parametrize("kwargs, needle", [({"boot_frames": -1}, "boot_frames"), ({"seed_frames": 0}, "seed_frames"),
                                            ({"boot_frames": 1.5}, "boot_frames")])
def test_constructor_rejects_bad_frame_counts(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        EmeraldAdapter(**kwargs)


def test_addresses_match_the_documented_layout():
    # A second spelling of the facts in /work/shared/EMERALD_FACTS.md, so a typo in either shows.
    assert (em.G_SAVE_BLOCK1_PTR, em.G_SAVE_BLOCK2_PTR) == (0x03005D8C, 0x03005D90)
    assert em.G_MAIN + em.MAIN_CALLBACK2 == CALLBACK2
    assert em.G_MAIN + em.MAIN_IN_BATTLE_BYTE == IN_BATTLE_BYTE
    assert (em.SB1_MONEY, em.SB1_FLAGS, em.SB1_VARS, em.SB2_ENCRYPTION_KEY) == (0x490, 0x1270, 0x139C, 0xAC)
    assert (em.MAP_PETALBURG_WOODS, em.MAP_RUSTBORO_CITY_GYM, em.MAP_LITTLEROOT_TOWN) == (0x180B, 0x0B03, 0x0009)
