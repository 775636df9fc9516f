/* MiniMon Quest's overworld: the seeded world, maps of any size with a scrolling camera,
   the seeded MAZE, NPCs, tall grass, talking, milestones (walking and warps are
   engine/walk.c's). */
#include "game.h"
#include "assets.h"

/* Doors and exits (the MAZE's two are seeded: see maze_warp). */
static const Warp warps[] = {
    {MAP_HOUSE, 7, 9, MAP_HOME_TOWN, 4, 5, FACE_DOWN},
    {MAP_HOME_TOWN, 4, 4, MAP_HOUSE, 7, 8, FACE_UP},
    {MAP_HOME_TOWN, 11, 4, MAP_LAB, 7, 8, FACE_UP},
    {MAP_LAB, 7, 9, MAP_HOME_TOWN, 11, 5, FACE_DOWN},
    {MAP_HOME_TOWN, 7, 0, MAP_ROUTE_1, 7, 8, FACE_UP},
    {MAP_ROUTE_1, 7, 9, MAP_HOME_TOWN, 7, 1, FACE_DOWN},
    {MAP_ROUTE_1, 7, 0, MAP_OAK_TOWN, 7, 8, FACE_UP},
    {MAP_OAK_TOWN, 7, 9, MAP_ROUTE_1, 7, 1, FACE_DOWN},
    {MAP_OAK_TOWN, 0, 5, MAP_ROUTE_2, 13, 5, FACE_LEFT},
    {MAP_ROUTE_2, 14, 5, MAP_OAK_TOWN, 1, 5, FACE_RIGHT},
    {MAP_ROUTE_2, 7, 0, MAP_PINE_CITY, 7, 8, FACE_UP},
    {MAP_PINE_CITY, 7, 9, MAP_ROUTE_2, 7, 1, FACE_DOWN},
    {MAP_PINE_CITY, 7, 0, MAP_ROUTE_3, 7, 8, FACE_UP},
    {MAP_ROUTE_3, 7, 9, MAP_PINE_CITY, 7, 1, FACE_DOWN},
    {MAP_ROUTE_4, 7, 0, MAP_STONE_CITY, 7, 8, FACE_UP},
    {MAP_STONE_CITY, 7, 9, MAP_ROUTE_4, 7, 1, FACE_DOWN},
    {MAP_STONE_CITY, 7, 3, MAP_GYM, 7, 8, FACE_UP},
    {MAP_GYM, 7, 9, MAP_STONE_CITY, 7, 4, FACE_DOWN},
};
#define WARP_COUNT (sizeof(warps) / sizeof(warps[0]))

/* The milestone a first arrival on each map completes (0xFF: none). */
static const u8 arrival_milestone[MAP_COUNT] = {
    0xFF, MS_HOME_TOWN, 0xFF, MS_ROUTE_1, MS_OAK_TOWN, MS_ROUTE_2, MS_PINE_CITY, MS_ROUTE_3,
    MS_MAZE, MS_MAZE_EXIT, MS_STONE_CITY, MS_GYM_ENTERED,
};

/* Seeded choices (README "MiniMon Quest": seeds). */
static const u8 house_starts[4][2] = {{3, 3}, {11, 2}, {3, 7}, {11, 7}};
static const u8 professor_spots[4][2] = {{4, 4}, {10, 4}, {3, 8}, {11, 8}};
static const u8 rival_spots[4][2] = {{3, 4}, {6, 4}, {9, 6}, {12, 6}};
static const u8 item_spots[4][2] = {{2, 2}, {12, 2}, {2, 8}, {12, 8}};
static const u8 clerk_spots[3][2] = {{9, 4}, {10, 4}, {11, 4}};
static const u8 bridge_columns[3] = {3, 7, 11};
#define BRIDGE_ROW 4
#define GATE_X 7
#define GATE_Y 0
#define CUT_X 7
#define CUT_Y 1
#define ENCOUNTER_PERCENT 15
#define ITEM_MONEY 60

enum NpcKind { NPC_MOM, NPC_PROFESSOR, NPC_RIVAL, NPC_GUARD, NPC_NURSE, NPC_CLERK, NPC_RANGER, NPC_LEADER, NPC_ITEM };
typedef struct {
    u8 x, y, kind, pal;
} Npc;
#define NPC_MAX 4

static u8 map_mt[TILES_MAX] __attribute__((section(".ewram")));  /* current map's metatiles */
static u8 maze_mt[TILES_MAX] __attribute__((section(".ewram"))); /* the seeded MAZE */
/* The MAZE's way through, entrance cell to exit cell: trail_path[k] is its k-th tile and
   trail_step[tile] is k + 1 for a tile on it, 0 off it. trail_walked: trail_path[0 ..
   trail_walked - 1] are faded (the player stands on trail_path[trail_walked - 1] or left the
   trail there); the rest is drawn. */
static u16 trail_path[TILES_MAX] __attribute__((section(".ewram")));
static u16 trail_step[TILES_MAX] __attribute__((section(".ewram")));
static u16 trail_walked;
static u8 npc_facing[NPC_MAX];
static u8 pending_kind, pending_species, pending_hp, pending_attack;
static u32 map_generation = 1, drawn_generation;
static int drawn_col = -32768, drawn_row = -32768; /* nothing drawn yet */

static int has(u32 flag) { return (ST.flags & flag) != 0; }
static void milestone(int m) { ST.milestones |= 1u << m; }

/* ---- maps and NPCs ------------------------------------------------------------------------ */

static int npcs_here(Npc *out) {
    int n = 0;
    switch (ST.map_id) {
    case MAP_HOUSE:
        out[n++] = (Npc){10, 4, NPC_MOM, OBJPAL_MOM};
        break;
    case MAP_LAB:
        if (ST.starter_id != STARTER_NONE) out[n++] = (Npc){7, 3, NPC_PROFESSOR, OBJPAL_PROFESSOR};
        break;
    case MAP_ROUTE_1:
        if (ST.starter_id == STARTER_NONE)
            out[n++] = (Npc){ST.professor_x, ST.professor_y, NPC_PROFESSOR, OBJPAL_PROFESSOR};
        break;
    case MAP_OAK_TOWN:
        out[n++] = (Npc){11, 4, NPC_NURSE, OBJPAL_NURSE};
        if (!has(FLAG_RIVAL_BEATEN)) /* beaten, BLAZE leaves: the screen shows the story moved on */
            out[n++] = (Npc){ST.rival_x, ST.rival_y, NPC_RIVAL, OBJPAL_TRAINER};
        out[n++] = (Npc){1, has(FLAG_GUARD_MOVED) ? 4 : 5, NPC_GUARD, OBJPAL_GUARD};
        break;
    case MAP_ROUTE_2:
        if (!has(FLAG_ITEM_TAKEN)) out[n++] = (Npc){ST.item_x, ST.item_y, NPC_ITEM, OBJPAL_MON_FLAMIN};
        break;
    case MAP_PINE_CITY:
        out[n++] = (Npc){3, 4, NPC_NURSE, OBJPAL_NURSE};
        out[n++] = (Npc){ST.clerk_x, ST.clerk_y, NPC_CLERK, OBJPAL_PROFESSOR};
        out[n++] = (Npc){has(FLAG_TASK_GIVEN) ? 6 : 7, 1, NPC_RANGER, OBJPAL_RANGER};
        break;
    case MAP_STONE_CITY:
        out[n++] = (Npc){3, 7, NPC_NURSE, OBJPAL_NURSE};
        break;
    case MAP_GYM:
        out[n++] = (Npc){7, 2, NPC_LEADER, OBJPAL_LEADER};
        break;
    default:
        break;
    }
    return n;
}

/* The current map's metatiles from its base data and the story so far; ST.tiles from them. */
static void rebuild_map(void) {
    int map = ST.map_id;
    if (map == MAP_MAZE) {
        ST.map_w = MAZE_W;
        ST.map_h = MAZE_H;
        memcpy(map_mt, maze_mt, MAZE_W * MAZE_H);
    } else {
        ST.map_w = quest_map_width[map];
        ST.map_h = quest_map_height[map];
        memcpy(map_mt, &quest_map_data[quest_map_offset[map]], ST.map_w * ST.map_h);
    }
    int w = ST.map_w;
    if (map == MAP_ROUTE_1)
        map_mt[GATE_Y * w + GATE_X] = ST.starter_id != STARTER_NONE ? MT_GATE_OPEN : MT_GATE_CLOSED;
    if (map == MAP_ROUTE_3) {
        for (int i = 0; i < 3; i++)
            if (bridge_columns[i] != ST.bridge_x) map_mt[BRIDGE_ROW * w + bridge_columns[i]] = MT_BOULDER;
        map_mt[CUT_Y * w + CUT_X] = has(FLAG_TREE_CUT) ? MT_CUT_STUMP : MT_CUT_TREE;
    }
    int n = ST.map_w * ST.map_h;
    for (int i = 0; i < n; i++) ST.tiles[i] = metatile_kinds[map_mt[i]];
    for (int i = n; i < TILES_MAX; i++) ST.tiles[i] = TILE_WALL;
    Npc npc[NPC_MAX];
    int count = npcs_here(npc);
    for (int i = 0; i < count; i++)
        ST.tiles[npc[i].y * w + npc[i].x] = npc[i].kind == NPC_ITEM ? TILE_ITEM : TILE_NPC;
    map_generation++;
}

static void load_map(int map) {
    ST.map_id = (u8)map;
    for (int i = 0; i < NPC_MAX; i++) npc_facing[i] = FACE_DOWN;
    if (map == MAP_PINE_CITY && has(FLAG_TASK_GIVEN)) npc_facing[2] = FACE_RIGHT;
    rebuild_map();
}

static void find_trail(void);

/* A perfect maze by a seeded depth-first search over MAZE_CELLS_W x MAZE_CELLS_H cells, with
   seeded patches of tall grass, an entrance at the bottom and an exit at the top. */
static void generate_maze(u32 seed) {
    static u8 visited[MAZE_CELLS_W * MAZE_CELLS_H];
    static u16 stack[MAZE_CELLS_W * MAZE_CELLS_H];
    u32 r = hash32(seed, 20) | 1;
    for (int i = 0; i < MAZE_W * MAZE_H; i++) maze_mt[i] = MT_MAZE_WALL;
    for (int i = 0; i < MAZE_CELLS_W * MAZE_CELLS_H; i++) visited[i] = 0;
    int top = 0;
    int start = (int)pick(hash32(seed, 21), MAZE_CELLS_W * MAZE_CELLS_H);
    stack[top++] = (u16)start;
    visited[start] = 1;
    while (top) {
        int c = stack[top - 1], cx = c % MAZE_CELLS_W, cy = c / MAZE_CELLS_W;
        maze_mt[(2 * cy + 1) * MAZE_W + 2 * cx + 1] = MT_MAZE_FLOOR;
        int options[4], count = 0;
        for (int d = 0; d < 4; d++) {
            int nx = cx + DX[d], ny = cy + DY[d];
            if (nx < 0 || nx >= MAZE_CELLS_W || ny < 0 || ny >= MAZE_CELLS_H) continue;
            if (!visited[ny * MAZE_CELLS_W + nx]) options[count++] = d;
        }
        if (!count) {
            top--;
            continue;
        }
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        int d = options[pick(r, (u32)count)];
        int nx = cx + DX[d], ny = cy + DY[d];
        maze_mt[(2 * cy + 1 + DY[d]) * MAZE_W + 2 * cx + 1 + DX[d]] = MT_MAZE_FLOOR;
        visited[ny * MAZE_CELLS_W + nx] = 1;
        stack[top++] = (u16)(ny * MAZE_CELLS_W + nx);
    }
    for (int i = 0; i < MAZE_W * MAZE_H; i++) {
        if (maze_mt[i] != MT_MAZE_FLOOR) continue;
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        if (pick(r, 16) == 0) maze_mt[i] = MT_MAZE_GRASS;
    }
    ST.maze_entry_x = (u8)(2 * pick(hash32(seed, 22), MAZE_CELLS_W) + 1);
    ST.maze_exit_x = (u8)(2 * pick(hash32(seed, 23), MAZE_CELLS_W) + 1);
    maze_mt[(MAZE_H - 1) * MAZE_W + ST.maze_entry_x] = MT_MAZE_EXIT;
    maze_mt[ST.maze_exit_x] = MT_MAZE_EXIT;
    maze_mt[(MAZE_H - 2) * MAZE_W + ST.maze_entry_x] = MT_MAZE_FLOOR; /* no battle on arrival */
    maze_mt[MAZE_W + ST.maze_exit_x] = MT_MAZE_FLOOR;
    find_trail();
}

/* One trail tile drawn (sand, or grass on sand) or faded (floor, or grass). The tile's kind
   never changes, so walking, encounters and the rng do not see the trail. */
static void draw_trail_tile(int i, int drawn) {
    u8 mt = maze_mt[i];
    if (mt == MT_MAZE_FLOOR || mt == MT_MAZE_TRAIL) mt = drawn ? MT_MAZE_TRAIL : MT_MAZE_FLOOR;
    else if (mt == MT_MAZE_GRASS || mt == MT_MAZE_TRAIL_GRASS) mt = drawn ? MT_MAZE_TRAIL_GRASS : MT_MAZE_GRASS;
    maze_mt[i] = mt;
    if (ST.map_id == MAP_MAZE) map_mt[i] = mt;
}

/* The trail drawn from trail_path[walked] on to the exit, faded before it. */
static void draw_trail_from(int walked) {
    while (trail_walked < walked) draw_trail_tile(trail_path[trail_walked++], 0);
    while (trail_walked > walked) draw_trail_tile(trail_path[--trail_walked], 1);
    map_generation++; /* world_redraw draws the changed tiles */
}

/* The way through the MAZE (a perfect maze has one path from the entrance's cell to the exit's)
   found once, when the maze is made, and drawn as a trail of path tiles, so which way to go at
   a fork is on the screen, not only in the part of the maze outside it. A breadth-first search
   over cells; the rng is not touched. */
static void find_trail(void) {
    enum { CELLS = MAZE_CELLS_W * MAZE_CELLS_H, UNSEEN = 0xffff };
    static u16 queue[CELLS];
    static u16 came_from[CELLS];
    for (int i = 0; i < CELLS; i++) came_from[i] = UNSEEN;
    int start = (MAZE_CELLS_H - 1) * MAZE_CELLS_W + (ST.maze_entry_x - 1) / 2;
    int goal = (ST.maze_exit_x - 1) / 2;
    int head = 0, tail = 0;
    queue[tail++] = (u16)start;
    came_from[start] = (u16)start;
    while (head < tail) {
        int c = queue[head++], cx = c % MAZE_CELLS_W, cy = c / MAZE_CELLS_W;
        if (c == goal) break;
        for (int d = 0; d < 4; d++) {
            int nx = cx + DX[d], ny = cy + DY[d];
            if (nx < 0 || nx >= MAZE_CELLS_W || ny < 0 || ny >= MAZE_CELLS_H) continue;
            int n = ny * MAZE_CELLS_W + nx;
            if (came_from[n] != UNSEEN) continue;
            if (maze_mt[(2 * cy + 1 + DY[d]) * MAZE_W + 2 * cx + 1 + DX[d]] == MT_MAZE_WALL) continue;
            came_from[n] = (u16)c;
            queue[tail++] = (u16)n;
        }
    }
    /* Walked back from the goal: the path's length first, then its tiles from the far end. */
    int length = 1;
    for (int c = goal; c != start; c = came_from[c]) length += 2;
    int k = length;
    for (int c = goal;; c = came_from[c]) {
        int cx = c % MAZE_CELLS_W, cy = c / MAZE_CELLS_W;
        trail_path[--k] = (u16)((2 * cy + 1) * MAZE_W + 2 * cx + 1);
        if (c == start) break;
        int p = came_from[c], px = p % MAZE_CELLS_W, py = p / MAZE_CELLS_W;
        trail_path[--k] = (u16)((cy + py + 1) * MAZE_W + cx + px + 1); /* the opening between the two cells */
    }
    for (int i = 0; i < MAZE_W * MAZE_H; i++) trail_step[i] = 0;
    for (k = 0; k < length; k++) trail_step[trail_path[k]] = (u16)(k + 1);
    trail_walked = (u16)length; /* nothing drawn yet: draw it all */
    draw_trail_from(0);
}

void world_new_game(u32 seed) {
    u32 i = pick(hash32(seed, 1), 4);
    ST.heal_map = MAP_HOUSE;
    ST.heal_x = house_starts[i][0];
    ST.heal_y = house_starts[i][1];
    i = pick(hash32(seed, 2), 4);
    ST.professor_x = professor_spots[i][0];
    ST.professor_y = professor_spots[i][1];
    i = pick(hash32(seed, 3), 4);
    ST.rival_x = rival_spots[i][0];
    ST.rival_y = rival_spots[i][1];
    i = pick(hash32(seed, 4), 4);
    ST.item_x = item_spots[i][0];
    ST.item_y = item_spots[i][1];
    i = pick(hash32(seed, 5), 3);
    ST.clerk_x = clerk_spots[i][0];
    ST.clerk_y = clerk_spots[i][1];
    ST.bridge_x = bridge_columns[pick(hash32(seed, 6), 3)];
    ST.rival_species = (u8)pick(hash32(seed, 7), 7);
    ST.leader_species = (u8)pick(hash32(seed, 8), 7);
    ST.rng = hash32(seed, 9) | 1; /* xorshift must not be 0 */
    generate_maze(seed);
    ST.player_max_hp = 40;
    ST.player_hp = 40;
    ST.money = 0;
    ST.items = 0;
    ST.flags = 0;
    ST.starter_id = STARTER_NONE;
    ST.milestones = 0;
    world_place_player(ST.heal_x, ST.heal_y);
    load_map(MAP_HOUSE);
    ST.mode = MODE_OVERWORLD;
}

/* ---- camera and drawing ---------------------------------------------------------------------- */

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The MAZE, the one map larger than the screen: it scrolls, and past its edges the forest goes on. */
static int map_scrolls(void) { return ST.map_w * 16 > 240 || ST.map_h * 16 > 160; }

static void update_camera(void) {
    int p = ST.walking ? ST.walk_progress : 0;
    int px = ST.player_x * 16 + DX[ST.facing] * p;
    int py = ST.player_y * 16 + DY[ST.facing] * p;
    if (map_scrolls()) {
        /* Larger than the screen: the player stays at the centre, as in the real games, and the
           forest goes on past the map's edge; so a policy finds itself at one place on screen. */
        ST.camera_x = (s16)(px - 112);
        ST.camera_y = (s16)(py - 72);
    } else {
        ST.camera_x = (s16)clamp(px - 112, 0, ST.map_w * 16 - 240);
        ST.camera_y = (s16)clamp(py - 72, 0, ST.map_h * 16 - 160);
    }
}

/* Redraw the visible window of metatiles (16x11, wrapping in the 32x32 BG) when the camera
   crosses a tile boundary or the map changed; the scroll registers do the rest. */
void world_redraw(void) {
    update_camera();
    int col = ST.camera_x >> 4, row = ST.camera_y >> 4; /* GCC shifts signed values arithmetically: floor */
    if (col == drawn_col && row == drawn_row && drawn_generation == map_generation) return;
    drawn_col = col;
    drawn_row = row;
    drawn_generation = map_generation;
    for (int my = row; my < row + 11; my++) {
        for (int mx = col; mx < col + 16; mx++) {
            u16 *dst = &bg_map[((2 * my) & 31) * 32 + ((2 * mx) & 31)];
            int outside = mx < 0 || my < 0 || mx >= ST.map_w || my >= ST.map_h;
            if (outside && !map_scrolls()) {
                dst[0] = dst[1] = dst[32] = dst[33] = 0;
                continue;
            }
            const u16 *e = &metatile_entries[(outside ? MT_MAZE_WALL : map_mt[my * ST.map_w + mx]) * 4];
            dst[0] = e[0];
            dst[1] = e[1];
            dst[32] = e[2];
            dst[33] = e[3];
        }
    }
    bg_dirty = 1;
}

/* Called in VBlank right after video_present: the battle screen is never scrolled. */
void world_scroll_registers(void) {
    int battle = ST.mode == MODE_BATTLE || ST.mode == MODE_BOOT;
    REG_BG1HOFS = battle ? 0 : ST.camera_x;
    REG_BG1VOFS = battle ? 0 : ST.camera_y;
}

/* ---- walking (engine/walk.c's hooks) ----------------------------------------------------------- */

static int tile_at(int x, int y) {
    if (x < 0 || x >= ST.map_w || y < 0 || y >= ST.map_h) return TILE_WALL;
    return ST.tiles[y * ST.map_w + x];
}

int world_walkable(int x, int y) {
    int k = tile_at(x, y);
    return k == TILE_FLOOR || k == TILE_DOOR || k == TILE_GRASS;
}

static int maze_warp(void) {
    if (ST.map_id == MAP_ROUTE_3 && ST.player_x == 7 && ST.player_y == 0) {
        start_warp(MAP_MAZE, ST.maze_entry_x, MAZE_H - 2, FACE_UP, 0);
    } else if (ST.map_id == MAP_ROUTE_4 && ST.player_x == 7 && ST.player_y == 9) {
        start_warp(MAP_MAZE, ST.maze_exit_x, 1, FACE_DOWN, 0);
    } else if (ST.map_id == MAP_MAZE && ST.player_y == MAZE_H - 1) {
        start_warp(MAP_ROUTE_3, 7, 1, FACE_DOWN, 0);
    } else if (ST.map_id == MAP_MAZE && ST.player_y == 0) {
        start_warp(MAP_ROUTE_4, 7, 8, FACE_UP, 0);
    } else {
        return 0;
    }
    return 1;
}

static void wild_encounter(void) {
    pending_kind = BK_WILD;
    pending_species = (u8)pick(rng_next(), 7);
    pending_hp = (u8)(12 + pick(rng_next(), 9));    /* 12..20 */
    pending_attack = (u8)(2 + pick(rng_next(), 3)); /* 2..4 */
    ST.wild_battles++;
    battle_start(pending_kind, pending_species, pending_hp, pending_attack);
}

/* The MAZE's trail is drawn from where the player stands on it on to the exit, and faded
   behind, so the trail on screen always leads on toward the exit: without that, a policy
   standing on the trail sees it run both ways (back to the entrance and on to the exit) and
   cannot tell which way is ahead. A step back along the trail draws again the tile just left,
   so a policy that walked too far one way and turned round still sees the way on; off the
   trail (in a dead end), the trail stays as it was where the player left it. */
static void follow_trail(void) {
    if (ST.map_id != MAP_MAZE) return;
    int k = trail_step[ST.player_y * MAZE_W + ST.player_x];
    if (k != 0 && k != trail_walked) draw_trail_from(k);
}

int world_step_done(void) {
    follow_trail();
    if (maze_warp() || take_warp(warps, WARP_COUNT)) return 1;
    if (tile_at(ST.player_x, ST.player_y) == TILE_GRASS && ST.starter_id != STARTER_NONE &&
        pick(rng_next(), 100) < ENCOUNTER_PERCENT) {
        wild_encounter();
        return 1;
    }
    return 0;
}

/* ---- talking -------------------------------------------------------------------------------------- */

static const Page mom_text[] = {{"MOM: Good morning, dear!", "PROF. HAZEL is on ROUTE 1."}};
static const Page prof_intro[] = {
    {"PROF. HAZEL: There you are!", "The world is full of MINIMON."},
    {"Choose one of these three", "to take on your journey!"},
};
static const Page prof_rival[] = {{"PROF. HAZEL: Your rival BLAZE", "waits for you in OAK TOWN."}};
static const Page prof_pass[] = {
    {"PROF. HAZEL: You beat BLAZE!", "You are ready to travel."},
    {"You received a PASS!", "Show it to the OAK TOWN guard."},
};
static const Page prof_later[] = {{"PROF. HAZEL: The gym is in", "STONE CITY, past the forest."}};
static const Page rival_challenge[] = {{"BLAZE: Finally! Let me see", "your MINIMON. Let's battle!"}};
static const Page rival_lost[] = {{"BLAZE: You're good! PROF.", "HAZEL has something for you."}};
static const Page guard_no[] = {{"GUARD: Nobody passes west", "without PROF. HAZEL's PASS!"}};
static const Page guard_yes[] = {{"GUARD: A PASS! All right,", "go ahead to ROUTE 2."}};
static const Page guard_later[] = {{"GUARD: Safe travels!", ""}};
static const Page nurse_text[] = {{"NURSE: Your MINIMON is", "fully healed! Come again."}};
static const Page clerk_text[] = {{"CLERK: Welcome to the shop!", "What would you like?"}};
static const Page ranger_task[] = {
    {"RANGER: The forest north of", "ROUTE 3 is overgrown."},
    {"Buy a SAW at the shop and", "cut your way through!"},
};
static const Page ranger_later[] = {{"RANGER: The shop sells SAWs.", "Mind the tall grass!"}};
static const Page leader_challenge[] = {{"LEADER ROXY: So you made it", "through the forest. Battle!"}};
static const Page leader_later[] = {{"LEADER ROXY: You earned that", "STONE BADGE. Well done!"}};
static const Page leader_lost[] = {{"You received the STONE BADGE!", "Your quest is complete!"}};
static const Page tree_cut[] = {{"You cut the small tree", "with your SAW!"}};
static const Page tree_blocked[] = {{"A small tree blocks the way.", "A SAW could cut it."}};
static const Page item_found[] = {{"You found $60 in the", "item ball!"}};
static const Page boulder_text[] = {{"A huge boulder blocks the", "bridge. Try another one."}};
static const Page gate_locked[] = {{"The gate is shut. Choose a", "MINIMON from PROF. HAZEL!"}};
static const Page blackout[] = {{"You blacked out!", "You hurry back to heal."}};
static const Page sign_home[] = {{"LEAF TOWN", "North: ROUTE 1"}};
static const Page sign_route1[] = {{"ROUTE 1", "North: OAK TOWN"}};
static const Page sign_oak[] = {{"OAK TOWN", "West: ROUTE 2, PINE CITY"}};
static const Page sign_pine[] = {{"PINE CITY", "North: ROUTE 3, the forest"}};
static const Page sign_route4[] = {{"ROUTE 4", "North: STONE CITY"}};
static const Page sign_stone[] = {{"STONE CITY", "The GYM is up north."}};

static void open_battle(int kind, int species, int hp, int attack, const Page *intro) {
    pending_kind = (u8)kind;
    pending_species = (u8)species;
    pending_hp = (u8)hp;
    pending_attack = (u8)attack;
    dialog_open(kind == BK_RIVAL ? DLG_TRAINER_CHALLENGE : DLG_LEADER_CHALLENGE, intro, 1, END_BATTLE);
}

static void talk(const Npc *npc) {
    switch (npc->kind) {
    case NPC_MOM:
        dialog_open(DLG_MOM, mom_text, 1, END_OVERWORLD);
        break;
    case NPC_PROFESSOR:
        if (ST.starter_id == STARTER_NONE) {
            dialog_open(DLG_PROF_INTRO, prof_intro, 2, END_CHOICE);
        } else if (!has(FLAG_RIVAL_BEATEN)) {
            dialog_open(DLG_PROF, prof_rival, 1, END_OVERWORLD);
        } else if (!(ST.items & ITEM_PASS)) {
            ST.items |= ITEM_PASS;
            milestone(MS_GOT_PASS);
            dialog_open(DLG_RECEIVED, prof_pass, 2, END_OVERWORLD);
        } else {
            dialog_open(DLG_PROF, prof_later, 1, END_OVERWORLD);
        }
        break;
    case NPC_RIVAL: /* only there until beaten (npcs_here) */
        open_battle(BK_RIVAL, ST.rival_species, 24, 4, rival_challenge);
        break;
    case NPC_GUARD:
        if (has(FLAG_GUARD_MOVED))
            dialog_open(DLG_GUARD, guard_later, 1, END_OVERWORLD);
        else if (ST.items & ITEM_PASS)
            dialog_open(DLG_GUARD, guard_yes, 1, END_STEP_ASIDE);
        else
            dialog_open(DLG_GUARD, guard_no, 1, END_OVERWORLD);
        break;
    case NPC_NURSE:
        ST.player_hp = ST.player_max_hp;
        ST.heal_map = ST.map_id;
        ST.heal_x = ST.player_x;
        ST.heal_y = ST.player_y;
        dialog_open(DLG_NURSE, nurse_text, 1, END_OVERWORLD);
        break;
    case NPC_CLERK:
        dialog_open(DLG_CLERK, clerk_text, 1, END_OPEN_SHOP);
        break;
    case NPC_RANGER:
        if (has(FLAG_TASK_GIVEN)) {
            dialog_open(DLG_TASK, ranger_later, 1, END_OVERWORLD);
        } else {
            milestone(MS_TASK_GIVEN);
            dialog_open(DLG_TASK, ranger_task, 2, END_STEP_ASIDE);
        }
        break;
    case NPC_LEADER:
        if (has(FLAG_LEADER_BEATEN))
            dialog_open(DLG_TRAINER_LATER, leader_later, 1, END_OVERWORLD);
        else
            open_battle(BK_LEADER, ST.leader_species, 36, 5, leader_challenge);
        break;
    case NPC_ITEM:
        ST.flags |= FLAG_ITEM_TAKEN;
        ST.money = (u16)(ST.money + ITEM_MONEY);
        dialog_open(DLG_ITEM, item_found, 1, END_OVERWORLD);
        break;
    }
}

static const Page *sign_for_map(void) {
    switch (ST.map_id) {
    case MAP_HOME_TOWN: return sign_home;
    case MAP_ROUTE_1: return sign_route1;
    case MAP_OAK_TOWN: return sign_oak;
    case MAP_PINE_CITY: return sign_pine;
    case MAP_ROUTE_4: return sign_route4;
    default: return sign_stone;
    }
}

void world_interact(void) {
    int fx = ST.player_x + DX[ST.facing], fy = ST.player_y + DY[ST.facing];
    if (fx < 0 || fx >= ST.map_w || fy < 0 || fy >= ST.map_h) return;
    Npc npc[NPC_MAX];
    int count = npcs_here(npc);
    for (int i = 0; i < count; i++) {
        if (npc[i].x == fx && npc[i].y == fy) {
            npc_facing[i] = OPPOSITE[ST.facing];
            talk(&npc[i]);
            return;
        }
    }
    switch (tile_at(fx, fy)) {
    case TILE_GATE: dialog_open(DLG_GATE_LOCKED, gate_locked, 1, END_OVERWORLD); break;
    case TILE_SIGN: dialog_open(DLG_SIGN, sign_for_map(), 1, END_OVERWORLD); break;
    case TILE_BOULDER: dialog_open(DLG_SIGN, boulder_text, 1, END_OVERWORLD); break;
    case TILE_CUT_TREE:
        if (ST.items & ITEM_SAW) {
            ST.flags |= FLAG_TREE_CUT;
            rebuild_map();
            dialog_open(DLG_TREE, tree_cut, 1, END_OVERWORLD);
        } else {
            dialog_open(DLG_TREE, tree_blocked, 1, END_OVERWORLD);
        }
        break;
    default: break;
    }
}

/* ---- warps (engine/walk.c's hooks) ------------------------------------------------------------- */

void world_enter_map(int map) {
    /* Leaving the MAZE other than by its exit (a blackout there, or back out of its entrance)
       draws its whole trail again, for the next walk from the entrance. */
    if (ST.map_id == MAP_MAZE && map != MAP_ROUTE_4) draw_trail_from(0);
    load_map(map);
    follow_trail(); /* arriving in the MAZE: the entrance's trail tile is behind */
    if (arrival_milestone[map] != 0xFF) milestone(arrival_milestone[map]);
}

void world_warp_done(void) {}

/* ---- after dialogs and battles --------------------------------------------------------------------- */

void world_dialog_finished(u8 end) {
    ST.mode = MODE_OVERWORLD;
    switch (end) {
    case END_CHOICE:
        choice_open();
        break;
    case END_BATTLE:
        battle_start(pending_kind, pending_species, pending_hp, pending_attack);
        break;
    case END_STEP_ASIDE:
        if (ST.map_id == MAP_OAK_TOWN) ST.flags |= FLAG_GUARD_MOVED;
        if (ST.map_id == MAP_PINE_CITY) {
            ST.flags |= FLAG_TASK_GIVEN;
            npc_facing[2] = FACE_RIGHT;
        }
        break;
    case END_BLACKOUT:
        start_warp(ST.heal_map, ST.heal_x, ST.heal_y, FACE_DOWN, 1);
        break;
    case END_MENU:
        ST.mode = MODE_START_MENU;
        break;
    case END_SHOP:
    case END_OPEN_SHOP:
        shop_open();
        break;
    default:
        break;
    }
    rebuild_map(); /* the story may have moved someone: the professor, the guard, an item */
}

void world_after_battle(int won) {
    map_generation++; /* the battle screen drew over the map */
    ST.mode = MODE_OVERWORLD;
    if (!won) {
        ST.money = (u16)(ST.money / 2);
        dialog_open(DLG_BLACKOUT, blackout, 1, END_BLACKOUT);
    } else if (ST.battle_kind == BK_RIVAL) {
        ST.flags |= FLAG_RIVAL_BEATEN;
        dialog_open(DLG_TRAINER_LOST, rival_lost, 1, END_OVERWORLD);
    } else if (ST.battle_kind == BK_LEADER) {
        ST.flags |= FLAG_LEADER_BEATEN;
        dialog_open(DLG_QUEST_DONE, leader_lost, 1, END_OVERWORLD);
    }
}

/* ---- sprites ------------------------------------------------------------------------------------------ */

void world_sprites(void) {
    update_camera();
    int cx = ST.camera_x, cy = ST.camera_y;
    draw_party_and_player(cx, cy);
    Npc npc[NPC_MAX];
    int count = npcs_here(npc);
    for (int i = 0; i < count; i++) {
        int x = npc[i].x * 16 - cx, y = npc[i].y * 16 - cy;
        if (npc[i].kind == NPC_ITEM)
            obj_square16(x, y, OBJ_BALL, npc[i].pal, 1, 0);
        else
            draw_human(x, y, npc_facing[i], 0, 0, npc[i].pal);
    }
}
