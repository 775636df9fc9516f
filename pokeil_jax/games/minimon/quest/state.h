/* MiniMon Quest's RAM contract with the host (pokeil_jax/games/minimon/quest.py).
 *
 * One packed struct at the start of EWRAM (0x02000000). Its head is the engine's, the same
 * as the classic game's (engine/state_head.h): magic, version, size, seed handshake, frame
 * counter (crt0.s counts VBlanks at offset 0x10), milestones, the player, dialog, menu and
 * battle fields the engine reads. Every offset is asserted below (or there) and
 * parsed by the tests; README.md ("MiniMon Quest") documents every field. Bump
 * QUEST_LAYOUT_VERSION whenever an offset or a meaning changes.
 */
#ifndef QUEST_STATE_H
#define QUEST_STATE_H

#include <stddef.h>

#include "gba.h"

#define MINIMON_MAGIC        0x514E4D4Du /* "MMNQ" as little-endian bytes */
#define QUEST_LAYOUT_VERSION 2

#define MAZE_CELLS_W 29
#define MAZE_CELLS_H 19
#define MAZE_W (2 * MAZE_CELLS_W + 1) /* 59 tiles */
#define MAZE_H (2 * MAZE_CELLS_H + 1) /* 39 tiles */
#define TILES_MAX (MAZE_W * MAZE_H)   /* the largest map */

enum Mode {
    MODE_BOOT = 0, MODE_OVERWORLD = 1, MODE_DIALOG = 2, MODE_START_MENU = 3, MODE_CHOICE = 4,
    MODE_BATTLE = 5, MODE_WARP = 6, MODE_SHOP = 7,
};

enum MapId {
    MAP_HOUSE = 0, MAP_HOME_TOWN = 1, MAP_LAB = 2, MAP_ROUTE_1 = 3, MAP_OAK_TOWN = 4,
    MAP_ROUTE_2 = 5, MAP_PINE_CITY = 6, MAP_ROUTE_3 = 7, MAP_MAZE = 8, MAP_ROUTE_4 = 9,
    MAP_STONE_CITY = 10, MAP_GYM = 11, MAP_COUNT = 12,
};

enum Facing { FACE_DOWN = 0, FACE_UP = 1, FACE_LEFT = 2, FACE_RIGHT = 3 };

enum TileKind {
    TILE_FLOOR = 0, TILE_WALL = 1, TILE_DOOR = 2, TILE_GATE = 3, TILE_HEDGE = 4, TILE_WATER = 5,
    TILE_NPC = 6, TILE_SIGN = 7,
    TILE_GRASS = 8,    /* ',' tall grass: walkable, wild MiniMon may appear */
    TILE_BOULDER = 9,  /* 'O' a boulder on a bridge (blocked) */
    TILE_CUT_TREE = 10, /* 'C' a small tree (blocked; A with the SAW cuts it) */
    TILE_ITEM = 11,    /* 'I' an item ball (blocked; A picks it up) */
};

enum Milestone {
    MS_HOME_TOWN = 0, MS_ROUTE_1 = 1, MS_STARTER_CHOSEN = 2, MS_OAK_TOWN = 3, MS_RIVAL_BEATEN = 4,
    MS_GOT_PASS = 5, MS_ROUTE_2 = 6, MS_PINE_CITY = 7, MS_TASK_GIVEN = 8, MS_ROUTE_3 = 9,
    MS_MAZE = 10, MS_MAZE_EXIT = 11, MS_STONE_CITY = 12, MS_GYM_ENTERED = 13, MS_LEADER_BEATEN = 14,
    MS_COUNT = 15,
};

enum BattlePhase { BP_INTRO = 0, BP_COMMAND = 1, BP_PLAYER_MSG = 2, BP_ENEMY_MSG = 3, BP_WIN = 4, BP_LOSE = 5 };
enum BattleKind { BK_WILD = 0, BK_RIVAL = 1, BK_LEADER = 2 };
/* Moves in the 2x2 box: 0 EMBER (fire), 1 BUBBLE (water), 2 LEAF (grass), 3 TACKLE (normal). */
enum Move { MV_EMBER = 0, MV_BUBBLE = 1, MV_LEAF = 2, MV_TACKLE = 3 };
enum MonType { TYPE_FIRE = 0, TYPE_WATER = 1, TYPE_GRASS = 2 };

#define ITEM_PASS 1u /* bits of `items` */
#define ITEM_SAW 2u

#define STARTER_NONE 0xFF
#define SEED_READY_WRITTEN 1
#define SEED_READY_CONSUMED 2

typedef struct __attribute__((packed, aligned(4))) MiniMonState {
    u32 magic;
    u16 layout_version;
    u16 state_size;
    u32 seed;
    u32 seed_ready;
    u32 frame_counter;
    u32 milestones;
    u8 mode;
    u8 map_id;
    u8 player_x;
    u8 player_y;
    u8 facing;
    u8 walking;
    u8 walk_progress;
    u8 warp_timer;
    u8 dialog_page;
    u8 dialog_pages;
    u8 dialog_id;
    u8 menu_cursor;        /* START menu 0..2, shop 0..2 */
    u8 choice_cursor;
    u8 starter_id;         /* 0 FLAMIN, 1 AQUAPUP, 2 GRASSY, or STARTER_NONE */
    u8 battle_phase;
    u8 battle_cursor;      /* enum Move */
    u8 battle_turn;
    u8 battle_kind;        /* enum BattleKind */
    u8 player_hp;
    u8 player_max_hp;
    u8 enemy_hp;
    u8 enemy_max_hp;
    u8 enemy_species;      /* index into the 7 MiniMon */
    u8 enemy_type;         /* enum MonType, shown in the enemy's box */
    u8 enemy_attack;
    u8 map_w;              /* live map size in tiles */
    u8 map_h;
    u8 items;              /* ITEM_* bits */
    u16 money;
    s16 camera_x;          /* pixels: the screen's top-left in the map (negative past its edge) */
    s16 camera_y;
    u8 professor_x;        /* ROUTE_1 tile of the professor (seeded) until the starter */
    u8 professor_y;
    u8 rival_x;            /* OAK_TOWN tile of the rival (seeded) */
    u8 rival_y;
    u8 item_x;             /* ROUTE_2 tile of the item ball (seeded) */
    u8 item_y;
    u8 clerk_x;            /* PINE_CITY tile of the shop clerk (seeded) */
    u8 clerk_y;
    u8 bridge_x;           /* ROUTE_3: the one bridge without a boulder, 3, 7 or 11 (seeded) */
    u8 maze_entry_x;       /* MAZE: bottom entrance column (seeded) */
    u8 maze_exit_x;        /* MAZE: top exit column (seeded) */
    u8 rival_species;      /* seeded */
    u8 leader_species;     /* seeded */
    u8 flags;              /* FLAG_* bits: story events done */
    u8 heal_map;           /* where a blackout returns you (the last nurse, or home) */
    u8 heal_x;
    u8 heal_y;
    u8 battles_won;
    u8 battles_lost;
    u8 wild_battles;
    u16 reserved0;
    u32 rng;               /* xorshift32: encounters, wild MiniMon, damage rolls */
    u8 tiles[TILES_MAX];   /* live tile kinds of the current map, tiles[y*map_w + x] */
    u8 reserved1[3];
} MiniMonState;

#define FLAG_RIVAL_BEATEN 1u
#define FLAG_GUARD_MOVED 2u
#define FLAG_ITEM_TAKEN 4u
#define FLAG_TASK_GIVEN 8u
#define FLAG_TREE_CUT 16u
#define FLAG_LEADER_BEATEN 32u

#include "state_head.h" /* the offsets both games share */
_Static_assert(offsetof(MiniMonState, battle_kind) == 0x29, "battle_kind");
_Static_assert(offsetof(MiniMonState, enemy_type) == 0x2F, "enemy_type");
_Static_assert(offsetof(MiniMonState, enemy_attack) == 0x30, "enemy_attack");
_Static_assert(offsetof(MiniMonState, map_w) == 0x31, "map_w");
_Static_assert(offsetof(MiniMonState, map_h) == 0x32, "map_h");
_Static_assert(offsetof(MiniMonState, items) == 0x33, "items");
_Static_assert(offsetof(MiniMonState, money) == 0x34, "money");
_Static_assert(offsetof(MiniMonState, camera_x) == 0x36, "camera_x");
_Static_assert(offsetof(MiniMonState, camera_y) == 0x38, "camera_y");
_Static_assert(offsetof(MiniMonState, professor_x) == 0x3A, "professor_x");
_Static_assert(offsetof(MiniMonState, professor_y) == 0x3B, "professor_y");
_Static_assert(offsetof(MiniMonState, rival_x) == 0x3C, "rival_x");
_Static_assert(offsetof(MiniMonState, rival_y) == 0x3D, "rival_y");
_Static_assert(offsetof(MiniMonState, item_x) == 0x3E, "item_x");
_Static_assert(offsetof(MiniMonState, item_y) == 0x3F, "item_y");
_Static_assert(offsetof(MiniMonState, clerk_x) == 0x40, "clerk_x");
_Static_assert(offsetof(MiniMonState, clerk_y) == 0x41, "clerk_y");
_Static_assert(offsetof(MiniMonState, bridge_x) == 0x42, "bridge_x");
_Static_assert(offsetof(MiniMonState, maze_entry_x) == 0x43, "maze_entry_x");
_Static_assert(offsetof(MiniMonState, maze_exit_x) == 0x44, "maze_exit_x");
_Static_assert(offsetof(MiniMonState, rival_species) == 0x45, "rival_species");
_Static_assert(offsetof(MiniMonState, leader_species) == 0x46, "leader_species");
_Static_assert(offsetof(MiniMonState, flags) == 0x47, "flags");
_Static_assert(offsetof(MiniMonState, heal_map) == 0x48, "heal_map");
_Static_assert(offsetof(MiniMonState, heal_x) == 0x49, "heal_x");
_Static_assert(offsetof(MiniMonState, heal_y) == 0x4A, "heal_y");
_Static_assert(offsetof(MiniMonState, battles_won) == 0x4B, "battles_won");
_Static_assert(offsetof(MiniMonState, battles_lost) == 0x4C, "battles_lost");
_Static_assert(offsetof(MiniMonState, wild_battles) == 0x4D, "wild_battles");
_Static_assert(offsetof(MiniMonState, rng) == 0x50, "rng");
_Static_assert(offsetof(MiniMonState, tiles) == 0x54, "tiles");
_Static_assert(sizeof(MiniMonState) == 0x954, "sizeof");

extern MiniMonState minimon_state;

#endif
