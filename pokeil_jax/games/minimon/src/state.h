/* The RAM contract between the game and the host (pokeil_jax/games/minimon/__init__.py).
 *
 * One packed struct at the very start of EWRAM (0x02000000, placed by gba.ld). Every
 * field's offset is asserted below (the head both games share, the fields the engine reads,
 * in engine/state_head.h); the Python side parses these asserts in its tests,
 * so a change here that is not mirrored there fails CI. Bump MINIMON_LAYOUT_VERSION
 * whenever an offset or a meaning changes. README.md documents every field.
 *
 * The host writes only `seed` and then `seed_ready` (= 1) while mode == MODE_BOOT.
 */
#ifndef MINIMON_STATE_H
#define MINIMON_STATE_H

#include <stddef.h> /* offsetof: a compiler header, fine without libc */

#include "gba.h"

#define MINIMON_MAGIC          0x4E4D4E4Du /* "MNMN" as little-endian bytes */
#define MINIMON_LAYOUT_VERSION 1

#define MAP_W 15
#define MAP_H 10

enum Mode {
    MODE_BOOT = 0,       /* waiting for the host's seed */
    MODE_OVERWORLD = 1,  /* walking around; D-pad, A, START act */
    MODE_DIALOG = 2,     /* text box; A turns the page */
    MODE_START_MENU = 3, /* START menu; UP/DOWN, A, B/START */
    MODE_CHOICE = 4,     /* starter choice; UP/DOWN, A */
    MODE_BATTLE = 5,     /* battle screen; see battle_phase */
    MODE_WARP = 6,       /* fading between maps; input ignored */
};

enum MapId { MAP_HOUSE = 0, MAP_TOWN = 1, MAP_LAB = 2, MAP_ROUTE = 3, MAP_NEXT_TOWN = 4, MAP_COUNT = 5 };

enum Facing { FACE_DOWN = 0, FACE_UP = 1, FACE_LEFT = 2, FACE_RIGHT = 3 };

/* Tile kinds in `tiles` (and the README's one-char names). */
enum TileKind {
    TILE_FLOOR = 0, /* '.' walkable: floor, grass, path, flowers */
    TILE_WALL = 1,  /* '#' blocked: wall, tree, building, furniture */
    TILE_DOOR = 2,  /* 'D' walkable; stepping on it warps (doors, exits, the open gate) */
    TILE_GATE = 3,  /* 'G' the closed north gate of TOWN (blocked) */
    TILE_HEDGE = 4, /* 'H' the ROUTE's hedge row (blocked) */
    TILE_WATER = 5, /* '~' blocked */
    TILE_NPC = 6,   /* 'N' an NPC stands here (blocked; A while facing it talks) */
    TILE_SIGN = 7,  /* 'S' a sign (blocked; A while facing it reads it) */
};

enum Milestone {
    MS_LEFT_HOUSE = 0,
    MS_TALKED_TO_PROFESSOR = 1,
    MS_GOT_STARTER = 2,
    MS_REACHED_ROUTE = 3,
    MS_WON_BATTLE = 4,
    MS_REACHED_NEXT_TOWN = 5,
    MS_COUNT = 6,
};

enum BattlePhase {
    BP_INTRO = 0,      /* "KAI sent out X!"; A -> COMMAND */
    BP_COMMAND = 1,    /* the player's turn: 2x2 command box, D-pad + A */
    BP_PLAYER_MSG = 2, /* message about the player's action; A -> ENEMY_MSG or WIN */
    BP_ENEMY_MSG = 3,  /* message about the enemy's attack; A -> COMMAND or LOSE */
    BP_WIN = 4,        /* "X fainted! You won!"; A -> overworld */
    BP_LOSE = 5,       /* "Y fainted!"; A -> overworld, blackout dialog, warp home */
};

enum BattleCommand { CMD_TACKLE = 0, CMD_GROWL = 1, CMD_POTION = 2, CMD_RUN = 3 };

#define STARTER_NONE 0xFF
#define SEED_READY_WRITTEN 1  /* the host has written `seed` */
#define SEED_READY_CONSUMED 2 /* the game has built the world from it */

typedef struct __attribute__((packed, aligned(4))) MiniMonState {
    u32 magic;             /* MINIMON_MAGIC once the game has initialised */
    u16 layout_version;    /* MINIMON_LAYOUT_VERSION */
    u16 state_size;        /* sizeof(MiniMonState) */
    u32 seed;              /* written by the host */
    u32 seed_ready;        /* host writes 1 after `seed`; the game sets 2 when it used it */
    u32 frame_counter;     /* +1 every VBlank (by the IRQ handler in crt0.s) */
    u32 milestones;        /* bit i = milestone i done (enum Milestone) */
    u8 mode;               /* enum Mode */
    u8 map_id;             /* enum MapId */
    u8 player_x;           /* tile column 0..14; the destination once a walk completes */
    u8 player_y;           /* tile row 0..9 */
    u8 facing;             /* enum Facing */
    u8 walking;            /* 1 while a 16-frame tile walk is under way */
    u8 walk_progress;      /* pixels walked so far in this walk, 0..15 */
    u8 warp_timer;         /* frames into the current warp fade */
    u8 dialog_page;        /* 0-based page shown (MODE_DIALOG) */
    u8 dialog_pages;       /* page count of the open dialog */
    u8 dialog_id;          /* which text is open (README: dialog ids) */
    u8 menu_cursor;        /* START menu entry 0 MON, 1 BAG, 2 EXIT */
    u8 choice_cursor;      /* starter choice 0..2 */
    u8 starter_id;         /* 0..2, or STARTER_NONE */
    u8 battle_phase;       /* enum BattlePhase */
    u8 battle_cursor;      /* enum BattleCommand: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right */
    u8 battle_turn;        /* 0 the player's turn, 1 the enemy's */
    u8 potion_used;        /* 1 once the battle's one potion is used */
    u8 player_hp;
    u8 player_max_hp;
    u8 enemy_hp;
    u8 enemy_max_hp;
    u8 enemy_species;      /* 0..3 (seeded) */
    u8 enemy_attack;       /* current attack (seeded, lowered by GROWL) */
    u8 professor_x;        /* LAB tile of the professor (seeded) */
    u8 professor_y;
    u8 trainer_x;          /* ROUTE tile of the trainer: in the hedge gap until beaten */
    u8 trainer_y;
    u8 trainer_beaten;     /* 1 after the battle was won */
    u8 gap_x;              /* column of the ROUTE hedge's one gap (seeded) */
    u8 gate_open;          /* 1 once TOWN's north gate is open (after GOT_STARTER) */
    u8 start_x;            /* HOUSE start tile (seeded); also where a blackout returns you */
    u8 start_y;
    u8 enemy_base_attack;  /* seeded attack before GROWL */
    u8 battles_lost;       /* blackouts so far this episode */
    u8 reserved0;
    u32 rng;               /* the game's xorshift32 state (battle rolls) */
    u8 tiles[MAP_H * MAP_W]; /* live tile kinds of the current map, row-major: tiles[y*15+x] */
    u8 reserved1[2];
} MiniMonState;

#include "state_head.h" /* the offsets both games share */
_Static_assert(offsetof(MiniMonState, potion_used) == 0x29, "potion_used");
_Static_assert(offsetof(MiniMonState, enemy_attack) == 0x2F, "enemy_attack");
_Static_assert(offsetof(MiniMonState, professor_x) == 0x30, "professor_x");
_Static_assert(offsetof(MiniMonState, professor_y) == 0x31, "professor_y");
_Static_assert(offsetof(MiniMonState, trainer_x) == 0x32, "trainer_x");
_Static_assert(offsetof(MiniMonState, trainer_y) == 0x33, "trainer_y");
_Static_assert(offsetof(MiniMonState, trainer_beaten) == 0x34, "trainer_beaten");
_Static_assert(offsetof(MiniMonState, gap_x) == 0x35, "gap_x");
_Static_assert(offsetof(MiniMonState, gate_open) == 0x36, "gate_open");
_Static_assert(offsetof(MiniMonState, start_x) == 0x37, "start_x");
_Static_assert(offsetof(MiniMonState, start_y) == 0x38, "start_y");
_Static_assert(offsetof(MiniMonState, enemy_base_attack) == 0x39, "enemy_base_attack");
_Static_assert(offsetof(MiniMonState, battles_lost) == 0x3A, "battles_lost");
_Static_assert(offsetof(MiniMonState, rng) == 0x3C, "rng");
_Static_assert(offsetof(MiniMonState, tiles) == 0x40, "tiles");
_Static_assert(sizeof(MiniMonState) == 0xD8, "sizeof");

extern MiniMonState minimon_state;
#define S (&minimon_state)

#endif
