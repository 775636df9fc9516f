"""Where Pokémon Emerald (US) keeps what the adapter reads, and one read of it all.

Addresses are the retail US layout: pret/pokeemerald builds a ROM whose SHA-1 equals the US
cartridge, and its symbol map (`pokeemerald.map`) places every symbol below. Structures and
constants are cited to the pret/pokeemerald file that defines them.

Save blocks move: `src/load_save.c` (SetSaveBlocksPointers) shifts SaveBlock1/SaveBlock2 by a
random 0..124 bytes whenever a game starts or loads. Every save-block read goes through
gSaveBlock1Ptr / gSaveBlock2Ptr; no save-block address is fixed.
"""

from __future__ import annotations

import dataclasses

from pokeil_jax.emulator import EWRAM_BASE, EWRAM_SIZE

# -- live game state (pokeemerald.map) -----------------------------------------------------------
G_SAVE_BLOCK1_PTR = 0x03005D8C  # gSaveBlock1Ptr
G_SAVE_BLOCK2_PTR = 0x03005D90  # gSaveBlock2Ptr
G_RNG_VALUE = 0x03005D80  # gRngValue: u32 LCG state (src/random.c)
S_TRAINER_ID = 0x02020000  # sTrainerId (src/main.c): low half of a new game's trainer ID
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
# The field script engine (src/script.c): status 0 CONTEXT_RUNNING, 1 CONTEXT_WAITING, 2 CONTEXT_SHUTDOWN.
S_GLOBAL_SCRIPT_CONTEXT_STATUS = 0x03000E38
SCRIPT_CONTEXT_SHUTDOWN = 2
S_LOCK_FIELD_CONTROLS = 0x03000F2C  # bool8, set by LockPlayerFieldControls
# sTextPrinters[WINDOWS_MAX = 32] (src/text.c), struct TextPrinter (include/text.h): 0x24 bytes, `active` at +0x1B.
S_TEXT_PRINTERS = 0x020201B0
TEXT_PRINTER_SIZE, TEXT_PRINTER_COUNT, TEXT_PRINTER_ACTIVE = 0x24, 32, 0x1B
# gTasks[NUM_TASKS = 16] (include/task.h): TaskFunc func at +0, bool8 isActive at +4; 0x28 bytes each.
G_TASKS = 0x03005E00
TASK_SIZE, TASK_COUNT, TASK_IS_ACTIVE = 0x28, 16, 0x04

THUMB_BIT = 1  # function pointers in RAM carry the Thumb bit: compare with address | 1
# Main callbacks (gMain.callback2), ROM addresses from pokeemerald.map.
CB2_OVERWORLD = 0x08085E5C  # src/overworld.c, the field with the player in it
BATTLE_MAIN_CB2 = 0x08038420  # src/battle_main.c
# Full-screen menus: each screen's main callback (the file that defines it).
MENU_CALLBACKS = {
    0x081AAD8C: "bag",  # CB2_Bag (src/item_menu.c)
    0x081B01B0: "party",  # CB2_UpdatePartyMenu (src/party_menu.c)
    0x081BFAB4: "summary",  # MainCB2 (src/pokemon_summary_screen.c)
    0x080BB774: "pokedex",  # CB2_Pokedex (src/pokedex.c)
    0x080C2710: "trainer_card",  # CB2_TrainerCard (src/trainer_card.c)
    0x080BA4B0: "options",  # MainCB2 (src/option_menu.c)
    0x08134C9C: "wall_clock",  # CB2_WallClock (src/wallclock.c)
    0x081341E0: "starter_choice",  # CB2_StarterChoose (src/starter_choose.c), Birch's bag
    0x080E4F58: "naming",  # CB2_NamingScreen (src/naming_screen.c)
}
# Task functions (gTasks[i].func).
TASK_SHOW_START_MENU = 0x0809FA34  # Task_ShowStartMenu (src/start_menu.c): the START menu is open
START_MENU_TASK = 0x0809F9B4  # StartMenuTask: the START menu is being drawn

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
SB2_PLAYER_NAME, PLAYER_NAME_LENGTH = 0x00, 7  # u8 playerName[PLAYER_NAME_LENGTH + 1], EOS 0xFF
SB2_PLAYER_GENDER = 0x08  # 0 male (Brendan), 1 female (May)
SB2_TRAINER_ID = 0x0A  # u8 playerTrainerId[4], little-endian u32
SB2_ENCRYPTION_KEY = 0xAC  # u32
MALE, FEMALE = 0, 1


@dataclasses.dataclass(frozen=True)
class EmeraldRam:
    """What the milestone rules and `read_info` need, read once from RAM.

    `ready` is False until the game runs with live save blocks: the pointers point into EWRAM
    *and* a game has been started or loaded (SaveBlock2.encryptionKey or trainer ID non-zero;
    before that the save blocks are zeros, which read as Petalburg City (0, 0)).
    """

    ready: bool
    x: int
    y: int
    map_id: int  # (mapGroup << 8) | mapNum
    gender: int
    trainer_id: int
    money: int
    flags: bytes  # SaveBlock1.flags, NUM_FLAG_BYTES
    vars: bytes  # SaveBlock1.vars, NUM_VARS u16 little-endian
    party_count: int
    callback2: int
    in_battle: bool
    facing: int  # DIR_* of the player's object event, 0 when unknown
    vblank_counter: int
    script_running: bool  # the field script context is running or waiting (not shut down)
    controls_locked: bool
    text_printing: bool  # some text printer is active (a message is being printed or waits for A)
    start_menu_open: bool

    def flag(self, flag_id: int) -> bool:
        return bool(self.flags[flag_id >> 3] >> (flag_id & 7) & 1)

    def var(self, var_id: int) -> int:
        i = 2 * (var_id - VARS_START)
        return int.from_bytes(self.vars[i : i + 2], "little")

    @property
    def mode(self) -> str:
        """battle, dialog, menu (the START menu or a full-screen menu: bag, party, clock, ...),
        overworld (the player has control) or other (intro, title, new-game speech, map loads, warps).

        `callback2` stays CB2_Overworld through field messages, scripts and the START menu, so
        those are told apart by the script engine, the text printers and the start-menu task.
        """
        if self.in_battle or self.callback2 == BATTLE_MAIN_CB2 | THUMB_BIT:
            return "battle"
        if self.callback2 == CB2_OVERWORLD | THUMB_BIT:
            if self.start_menu_open:
                return "menu"
            if self.script_running or self.text_printing:
                return "dialog"
            if self.controls_locked:  # a warp's fade or a door: the field runs but ignores the player
                return "other"
            return "overworld"
        if self.callback2 & ~THUMB_BIT in MENU_CALLBACKS:
            return "menu"
        return "other"

    @property
    def on_map(self) -> int | None:
        """The current map while a game runs (overworld or battle), else None."""
        return self.map_id if self.ready and self.mode != "other" else None


def _save_block(emu, pointer_address: int, size: int) -> int | None:
    address = emu.read_u32(pointer_address)
    return address if EWRAM_BASE <= address and address + size <= EWRAM_BASE + EWRAM_SIZE else None


def active_task_funcs(emu) -> set[int]:
    """The `func` of every active task (with the Thumb bit, as stored)."""
    raw = emu.read_bytes(G_TASKS, TASK_SIZE * TASK_COUNT)
    return {
        int.from_bytes(raw[i * TASK_SIZE : i * TASK_SIZE + 4], "little")
        for i in range(TASK_COUNT)
        if raw[i * TASK_SIZE + TASK_IS_ACTIVE]
    }


def read_ram(emu) -> EmeraldRam:
    """Read everything the adapter reports, following the moving save-block pointers."""
    main = emu.read_bytes(G_MAIN, MAIN_IN_BATTLE_BYTE + 1)
    sb1 = _save_block(emu, G_SAVE_BLOCK1_PTR, SAVE_BLOCK1_SIZE)
    sb2 = _save_block(emu, G_SAVE_BLOCK2_PTR, SAVE_BLOCK2_SIZE)
    ready = False
    x = y = map_id = money = gender = trainer_id = 0
    flags, vars_ = bytes(NUM_FLAG_BYTES), bytes(2 * NUM_VARS)
    if sb1 is not None and sb2 is not None:
        key = emu.read_u32(sb2 + SB2_ENCRYPTION_KEY)
        trainer_id = emu.read_u32(sb2 + SB2_TRAINER_ID)
        ready = key != 0 or trainer_id != 0
    if ready:
        head = emu.read_bytes(sb1 + SB1_POS, 6)
        x = int.from_bytes(head[0:2], "little", signed=True)
        y = int.from_bytes(head[2:4], "little", signed=True)
        map_id = head[4] << 8 | head[5]
        money = emu.read_u32(sb1 + SB1_MONEY) ^ key
        gender = emu.read_bytes(sb2 + SB2_PLAYER_GENDER, 1)[0]
        flags = emu.read_bytes(sb1 + SB1_FLAGS, NUM_FLAG_BYTES)
        vars_ = emu.read_bytes(sb1 + SB1_VARS, 2 * NUM_VARS)
    object_id = emu.read_bytes(G_PLAYER_AVATAR + PLAYER_AVATAR_OBJECT_EVENT_ID, 1)[0]
    facing = 0
    if object_id < OBJECT_EVENT_COUNT:
        address = G_OBJECT_EVENTS + object_id * OBJECT_EVENT_SIZE + OBJECT_EVENT_FACING
        facing = emu.read_bytes(address, 1)[0] & 0x0F
    printers = emu.read_bytes(S_TEXT_PRINTERS, TEXT_PRINTER_SIZE * TEXT_PRINTER_COUNT)
    tasks = active_task_funcs(emu)
    return EmeraldRam(
        ready=ready,
        x=x,
        y=y,
        map_id=map_id,
        gender=gender,
        trainer_id=trainer_id,
        money=money,
        flags=flags,
        vars=vars_,
        party_count=emu.read_bytes(G_PLAYER_PARTY_COUNT, 1)[0],
        callback2=int.from_bytes(main[MAIN_CALLBACK2 : MAIN_CALLBACK2 + 4], "little"),
        in_battle=bool(main[MAIN_IN_BATTLE_BYTE] & IN_BATTLE_BIT),
        facing=facing,
        vblank_counter=int.from_bytes(main[MAIN_VBLANK_COUNTER2 : MAIN_VBLANK_COUNTER2 + 4], "little"),
        script_running=emu.read_bytes(S_GLOBAL_SCRIPT_CONTEXT_STATUS, 1)[0] != SCRIPT_CONTEXT_SHUTDOWN,
        controls_locked=bool(emu.read_bytes(S_LOCK_FIELD_CONTROLS, 1)[0]),
        text_printing=any(printers[i * TEXT_PRINTER_SIZE + TEXT_PRINTER_ACTIVE] for i in range(TEXT_PRINTER_COUNT)),
        start_menu_open=bool(tasks & {TASK_SHOW_START_MENU | THUMB_BIT, START_MENU_TASK | THUMB_BIT}),
    )
