/* The overworld: seeded world setup, maps, NPCs, walking, warps, talking, milestones. */
#include "game.h"
#include "assets.h"

typedef struct {
    u8 map, x, y, to_map, to_x, to_y, to_facing;
} Warp;

/* Doors and exits: stepping onto (map, x, y) warps to (to_map, to_x, to_y), facing away. */
static const Warp warps[] = {
    {MAP_HOUSE, 7, 9, MAP_TOWN, 4, 5, FACE_DOWN},
    {MAP_TOWN, 4, 4, MAP_HOUSE, 7, 8, FACE_UP},
    {MAP_TOWN, 11, 4, MAP_LAB, 7, 8, FACE_UP},
    {MAP_LAB, 7, 9, MAP_TOWN, 11, 5, FACE_DOWN},
    {MAP_TOWN, 7, 0, MAP_ROUTE, 7, 8, FACE_UP},
    {MAP_ROUTE, 7, 9, MAP_TOWN, 7, 1, FACE_DOWN},
    {MAP_ROUTE, 7, 0, MAP_NEXT_TOWN, 7, 8, FACE_UP},
    {MAP_NEXT_TOWN, 7, 9, MAP_ROUTE, 7, 1, FACE_DOWN},
};
#define WARP_COUNT (sizeof(warps) / sizeof(warps[0]))

/* Seeded choices (see README "Seeds"). */
static const u8 house_starts[4][2] = {{3, 3}, {11, 2}, {3, 7}, {11, 7}};
static const u8 professor_spots[4][2] = {{7, 3}, {4, 3}, {10, 3}, {7, 5}};
#define GAP_MIN 2
#define GAP_COUNT 11 /* gap columns 2..12 */
#define HEDGE_ROW 4
#define MOM_X 10
#define MOM_Y 4
#define GATE_X 7
#define GATE_Y 0

enum NpcKind { NPC_MOM, NPC_PROFESSOR, NPC_TRAINER };
typedef struct {
    u8 x, y, kind, pal;
} Npc;

static const s8 DX[4] = {0, 0, -1, 1};
static const s8 DY[4] = {1, -1, 0, 0};
static const u8 OPPOSITE[4] = {FACE_UP, FACE_DOWN, FACE_RIGHT, FACE_LEFT};

static u8 map_mt[MAP_W * MAP_H]; /* metatile ids of the current map */
static u8 npc_facing;
static u8 step_parity;
static u8 warp_map, warp_x, warp_y, warp_facing, warp_blackout, greet_after_warp;

/* ---- maps and NPCs ------------------------------------------------------------------ */

/* The current map's one NPC, if it has one. */
static int npc_here(Npc *out) {
    switch (ST.map_id) {
    case MAP_HOUSE:
        out[0] = (Npc){MOM_X, MOM_Y, NPC_MOM, OBJPAL_MOM};
        return 1;
    case MAP_LAB:
        out[0] = (Npc){ST.professor_x, ST.professor_y, NPC_PROFESSOR, OBJPAL_PROFESSOR};
        return 1;
    case MAP_ROUTE:
        out[0] = (Npc){ST.trainer_x, ST.trainer_y, NPC_TRAINER, OBJPAL_TRAINER};
        return 1;
    default:
        return 0;
    }
}

/* ST.tiles = the metatiles' kinds with NPCs stamped on top. */
static void refresh_tiles(void) {
    for (int i = 0; i < MAP_W * MAP_H; i++) ST.tiles[i] = metatile_kinds[map_mt[i]];
    Npc npc;
    if (npc_here(&npc)) ST.tiles[npc.y * MAP_W + npc.x] = TILE_NPC;
}

static void load_map(int map) {
    ST.map_id = (u8)map;
    memcpy(map_mt, map_metatiles[map], sizeof(map_mt));
    if (map == MAP_TOWN)
        map_mt[GATE_Y * MAP_W + GATE_X] = ST.gate_open ? MT_GATE_OPEN : MT_GATE_CLOSED;
    if (map == MAP_ROUTE) map_mt[HEDGE_ROW * MAP_W + ST.gap_x] = MT_HEDGE_GAP;
    npc_facing = (map == MAP_ROUTE && ST.trainer_beaten) ? FACE_LEFT : FACE_DOWN;
    refresh_tiles();
    draw_metatiles(map_mt);
}

void world_draw_current_map(void) { draw_metatiles(map_mt); }

void world_new_game(u32 seed) {
    u32 i = pick(hash32(seed, 1), 4);
    ST.start_x = house_starts[i][0];
    ST.start_y = house_starts[i][1];
    i = pick(hash32(seed, 2), 4);
    ST.professor_x = professor_spots[i][0];
    ST.professor_y = professor_spots[i][1];
    ST.gap_x = (u8)(GAP_MIN + pick(hash32(seed, 3), GAP_COUNT));
    ST.trainer_x = ST.gap_x;
    ST.trainer_y = HEDGE_ROW;
    ST.trainer_beaten = 0;
    ST.enemy_species = (u8)pick(hash32(seed, 4), 4);
    ST.enemy_max_hp = (u8)(12 + pick(hash32(seed, 5), 9));   /* 12..20 */
    ST.enemy_base_attack = (u8)(2 + pick(hash32(seed, 6), 3)); /* 2..4 */
    ST.enemy_hp = ST.enemy_max_hp;
    ST.enemy_attack = ST.enemy_base_attack;
    ST.rng = hash32(seed, 7) | 1; /* xorshift must not be 0 */
    ST.player_max_hp = 25;
    ST.player_hp = 25;
    ST.starter_id = STARTER_NONE;
    ST.milestones = 0;
    ST.gate_open = 0;
    ST.battles_lost = 0;
    ST.player_x = ST.start_x;
    ST.player_y = ST.start_y;
    ST.facing = FACE_DOWN;
    ST.walking = 0;
    ST.walk_progress = 0;
    load_map(MAP_HOUSE);
    ST.mode = MODE_OVERWORLD;
}

/* ---- walking --------------------------------------------------------------------------- */

static int held_direction(void) {
    if (keys_held & KEY_DOWN) return FACE_DOWN;
    if (keys_held & KEY_UP) return FACE_UP;
    if (keys_held & KEY_LEFT) return FACE_LEFT;
    if (keys_held & KEY_RIGHT) return FACE_RIGHT;
    return -1;
}

static int walkable(int x, int y) {
    if (x < 0 || x >= MAP_W || y < 0 || y >= MAP_H) return 0;
    u8 k = ST.tiles[y * MAP_W + x];
    return k == TILE_FLOOR || k == TILE_DOOR;
}

static void start_warp(int map, int x, int y, int facing, int blackout) {
    warp_map = (u8)map;
    warp_x = (u8)x;
    warp_y = (u8)y;
    warp_facing = (u8)facing;
    warp_blackout = (u8)blackout;
    ST.mode = MODE_WARP;
    ST.warp_timer = 0;
}

static void try_walk(int dir);

/* One frame of a walk: 1 pixel; the 16th frame lands on the next tile. */
static void walk_step(void) {
    if (++ST.walk_progress < 16) return;
    ST.player_x = (u8)(ST.player_x + DX[ST.facing]);
    ST.player_y = (u8)(ST.player_y + DY[ST.facing]);
    ST.walking = 0;
    ST.walk_progress = 0;
    step_parity ^= 1;
    for (unsigned i = 0; i < WARP_COUNT; i++) {
        const Warp *w = &warps[i];
        if (w->map == ST.map_id && w->x == ST.player_x && w->y == ST.player_y) {
            start_warp(w->to_map, w->to_x, w->to_y, w->to_facing, 0);
            return;
        }
    }
    int dir = held_direction(); /* still held: keep walking, like the real games */
    if (dir >= 0) try_walk(dir);
}

static void try_walk(int dir) {
    ST.facing = (u8)dir;
    if (!walkable(ST.player_x + DX[dir], ST.player_y + DY[dir])) return;
    ST.walking = 1;
    ST.walk_progress = 0;
    walk_step();
}

/* ---- talking ---------------------------------------------------------------------------- */

static const Page mom_before[] = {{"MOM: Good morning, dear!", "PROF. HAZEL is waiting."}};
static const Page mom_after[] = {{"MOM: What a cute MINIMON!", "Be careful out there."}};
static const Page prof_intro[] = {
    {"PROF. HAZEL: Hello there!", "Welcome to my lab."},
    {"MINIMON are small friends", "who love a good battle."},
    {"Choose one of my three", "MINIMON to take along!"},
};
static const Page trainer_challenge[] = {{"KAI: This path is mine!", "Let's battle!"}};
static const Page trainer_lost[] = {{"KAI: Wow, you're strong!", "Go on, the path is yours."}};
static const Page trainer_later[] = {{"KAI: I'll train harder!", "CEDAR TOWN is up north."}};
static const Page blackout[] = {{"You blacked out!", "You hurry home to rest."}};
static const Page gate_locked[] = {{"The gate is locked.", "Get a MINIMON at the lab!"}};
static const Page arrived[] = {{"Welcome to CEDAR TOWN!", "Your journey is complete!"}};
static const Page sign_town[] = {{"PINE TOWN", "North gate: ROUTE 1"}};
static const Page sign_route[] = {{"ROUTE 1", "North: CEDAR TOWN"}};
static const Page sign_cedar[] = {{"CEDAR TOWN", "Where journeys end well."}};

static void talk(const Npc *npc) {
    switch (npc->kind) {
    case NPC_MOM:
        if (ST.starter_id == STARTER_NONE)
            dialog_open(DLG_MOM, mom_before, 1, END_OVERWORLD);
        else
            dialog_open(DLG_MOM, mom_after, 1, END_OVERWORLD);
        break;
    case NPC_PROFESSOR:
        if (ST.starter_id == STARTER_NONE) {
            dialog_open(DLG_PROF_INTRO, prof_intro, 3, END_CHOICE);
        } else {
            Page later;
            str_put(str_put(str_put(dyn_text[0], "Take good care of "), mon_names[ST.starter_id]), "!");
            later = (Page){dyn_text[0], "CEDAR TOWN is up north."};
            dialog_open(DLG_PROF_LATER, &later, 1, END_OVERWORLD);
        }
        break;
    case NPC_TRAINER:
        if (ST.trainer_beaten)
            dialog_open(DLG_TRAINER_LATER, trainer_later, 1, END_OVERWORLD);
        else
            dialog_open(DLG_TRAINER_CHALLENGE, trainer_challenge, 1, END_BATTLE);
        break;
    }
}

static void interact(void) {
    int fx = ST.player_x + DX[ST.facing], fy = ST.player_y + DY[ST.facing];
    if (fx < 0 || fx >= MAP_W || fy < 0 || fy >= MAP_H) return;
    Npc npc;
    if (npc_here(&npc) && npc.x == fx && npc.y == fy) {
        npc_facing = OPPOSITE[ST.facing];
        talk(&npc);
        return;
    }
    u8 kind = ST.tiles[fy * MAP_W + fx];
    if (kind == TILE_GATE) {
        dialog_open(DLG_GATE_LOCKED, gate_locked, 1, END_OVERWORLD);
    } else if (kind == TILE_SIGN) {
        const Page *p = ST.map_id == MAP_TOWN ? sign_town : ST.map_id == MAP_ROUTE ? sign_route : sign_cedar;
        dialog_open(DLG_SIGN, p, 1, END_OVERWORLD);
    }
}

void overworld_update(void) {
    if (ST.walking) {
        walk_step();
        return;
    }
    int dir = held_direction();
    if (dir >= 0) {
        try_walk(dir);
    } else if (keys_pressed & KEY_A) {
        interact();
    } else if (keys_pressed & KEY_START) {
        menu_open();
    }
}

/* ---- warps -------------------------------------------------------------------------------- */

/* 6 frames: 3 fading out, the map switches at black, 3 fading in. A walk onto a door plus
   its warp fit in one 24-frame env step (16 + 6), and since the screen shows a frame's
   changes one frame later, the step's last frame is already fully faded in. */
#define WARP_FRAMES 6
#define WARP_SWITCH 3
static const u8 warp_fade[WARP_FRAMES + 1] = {0, 6, 11, 16, 11, 6, 0};

void warp_update(void) {
    int t = ++ST.warp_timer;
    fade_level = warp_fade[t];
    if (t == WARP_SWITCH) {
        load_map(warp_map);
        ST.player_x = warp_x;
        ST.player_y = warp_y;
        ST.facing = warp_facing;
        if (warp_blackout) ST.player_hp = ST.player_max_hp;
        if (warp_map == MAP_TOWN) ST.milestones |= 1u << MS_LEFT_HOUSE;
        if (warp_map == MAP_ROUTE) ST.milestones |= 1u << MS_REACHED_ROUTE;
        if (warp_map == MAP_NEXT_TOWN) {
            greet_after_warp = !(ST.milestones & (1u << MS_REACHED_NEXT_TOWN));
            ST.milestones |= 1u << MS_REACHED_NEXT_TOWN;
        }
        warp_blackout = 0;
    }
    if (t >= WARP_FRAMES) {
        ST.warp_timer = 0;
        ST.mode = MODE_OVERWORLD;
        if (greet_after_warp) dialog_open(DLG_ARRIVED, arrived, 1, END_OVERWORLD);
        greet_after_warp = 0;
    }
}

/* ---- after dialogs and battles ---------------------------------------------------------- */

void world_dialog_finished(u8 end) {
    ST.mode = MODE_OVERWORLD;
    switch (end) {
    case END_CHOICE:
        ST.milestones |= 1u << MS_TALKED_TO_PROFESSOR;
        choice_open();
        break;
    case END_BATTLE:
        battle_start();
        break;
    case END_TRAINER_STEPS_ASIDE:
        /* Out of the gap to the tile beside the player (row 5 is always open grass). */
        ST.trainer_x = (u8)(ST.gap_x + 1);
        ST.trainer_y = HEDGE_ROW + 1;
        npc_facing = FACE_LEFT;
        refresh_tiles();
        break;
    case END_BLACKOUT:
        start_warp(MAP_HOUSE, ST.start_x, ST.start_y, FACE_DOWN, 1);
        break;
    case END_MENU:
        ST.mode = MODE_START_MENU;
        break;
    default:
        break;
    }
}

void world_after_battle(int won) {
    world_draw_current_map();
    ST.mode = MODE_OVERWORLD;
    npc_facing = OPPOSITE[ST.facing];
    if (won)
        dialog_open(DLG_TRAINER_LOST, trainer_lost, 1, END_TRAINER_STEPS_ASIDE);
    else
        dialog_open(DLG_BLACKOUT, blackout, 1, END_BLACKOUT);
}

/* ---- sprites -------------------------------------------------------------------------------- */

static void draw_human(int x, int y, int facing, int stepping, int parity, int pal) {
    u16 tile;
    int flip = 0;
    if (facing == FACE_DOWN || facing == FACE_UP) {
        int down = facing == FACE_DOWN;
        tile = stepping ? (down ? OBJ_HUMAN_DOWN_STEP : OBJ_HUMAN_UP_STEP) : (down ? OBJ_HUMAN_DOWN : OBJ_HUMAN_UP);
        flip = stepping && parity;
    } else {
        tile = stepping ? OBJ_HUMAN_SIDE_STEP : OBJ_HUMAN_SIDE;
        flip = facing == FACE_LEFT;
    }
    obj_square16(x, y, tile, pal, 1, flip);
}

void world_sprites(void) {
    /* The party icon on the (always blocked) top-left tile: you have a MiniMon, in its colour. */
    if (ST.starter_id != STARTER_NONE) obj_square16(0, 0, OBJ_BALL, OBJPAL_MON_FLAMIN + ST.starter_id, 1, 0);
    int p = ST.walking ? ST.walk_progress : 0;
    int px = ST.player_x * 16 + DX[ST.facing] * p;
    int py = ST.player_y * 16 + DY[ST.facing] * p;
    draw_human(px, py, ST.facing, ST.walking && p >= 4 && p < 12, step_parity, OBJPAL_PLAYER);
    Npc npc;
    if (npc_here(&npc)) draw_human(npc.x * 16, npc.y * 16, npc_facing, 0, 0, npc.pal);
}
