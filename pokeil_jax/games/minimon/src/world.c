/* The classic overworld: seeded world setup, maps, NPCs, talking, milestones (walking and
   warps are engine/walk.c's). */
#include "game.h"
#include "assets.h"

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

static u8 map_mt[MAP_W * MAP_H]; /* metatile ids of the current map */
static u8 npc_facing;
static u8 greet_after_warp;

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
    world_place_player(ST.start_x, ST.start_y);
    load_map(MAP_HOUSE);
    ST.mode = MODE_OVERWORLD;
}

/* ---- walking (engine/walk.c's hooks) ------------------------------------------------------ */

int world_walkable(int x, int y) {
    if (x < 0 || x >= MAP_W || y < 0 || y >= MAP_H) return 0;
    u8 k = ST.tiles[y * MAP_W + x];
    return k == TILE_FLOOR || k == TILE_DOOR;
}

int world_step_done(void) { return take_warp(warps, WARP_COUNT); }

void world_redraw(void) {}           /* the map never scrolls: drawn whole by load_map */
void world_scroll_registers(void) {}
void game_mode_update(void) {}       /* no modes beyond the engine's */

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

void world_interact(void) {
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

/* ---- warps (engine/walk.c's hooks) ----------------------------------------------------------- */

void world_enter_map(int map) {
    load_map(map);
    if (map == MAP_TOWN) ST.milestones |= 1u << MS_LEFT_HOUSE;
    if (map == MAP_ROUTE) ST.milestones |= 1u << MS_REACHED_ROUTE;
    if (map == MAP_NEXT_TOWN) {
        greet_after_warp = !(ST.milestones & (1u << MS_REACHED_NEXT_TOWN));
        ST.milestones |= 1u << MS_REACHED_NEXT_TOWN;
    }
}

void world_warp_done(void) {
    if (greet_after_warp) dialog_open(DLG_ARRIVED, arrived, 1, END_OVERWORLD);
    greet_after_warp = 0;
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
    draw_metatiles(map_mt); /* the battle screen drew over the map */
    ST.mode = MODE_OVERWORLD;
    npc_facing = OPPOSITE[ST.facing];
    if (won)
        dialog_open(DLG_TRAINER_LOST, trainer_lost, 1, END_TRAINER_STEPS_ASIDE);
    else
        dialog_open(DLG_BLACKOUT, blackout, 1, END_BLACKOUT);
}

/* ---- sprites -------------------------------------------------------------------------------- */

void world_sprites(void) {
    draw_party_and_player(0, 0);
    Npc npc;
    if (npc_here(&npc)) draw_human(npc.x * 16, npc.y * 16, npc_facing, 0, 0, npc.pal);
}
