/* Walking and warps: one tile in 16 frames, held directions keep walking, a warp fades out
   and in around the map switch; people drawn on the map. Which tiles are walkable, where
   warps lead and what a step or an arrival sets off are the game's (its world.c). */
#include "game.h"
#include "assets.h"

const s8 DX[4] = {0, 0, -1, 1};
const s8 DY[4] = {1, -1, 0, 0};
const u8 OPPOSITE[4] = {FACE_UP, FACE_DOWN, FACE_RIGHT, FACE_LEFT};

static u8 step_parity;
static u8 warp_map, warp_x, warp_y, warp_facing, warp_blackout;

void world_place_player(int x, int y) {
    ST.player_x = (u8)x;
    ST.player_y = (u8)y;
    ST.facing = FACE_DOWN;
    ST.walking = 0;
    ST.walk_progress = 0;
}

/* ---- walking --------------------------------------------------------------------------- */

static int held_direction(void) {
    if (keys_held & KEY_DOWN) return FACE_DOWN;
    if (keys_held & KEY_UP) return FACE_UP;
    if (keys_held & KEY_LEFT) return FACE_LEFT;
    if (keys_held & KEY_RIGHT) return FACE_RIGHT;
    return -1;
}

void start_warp(int map, int x, int y, int facing, int blackout) {
    warp_map = (u8)map;
    warp_x = (u8)x;
    warp_y = (u8)y;
    warp_facing = (u8)facing;
    warp_blackout = (u8)blackout;
    ST.mode = MODE_WARP;
    ST.warp_timer = 0;
}

int take_warp(const Warp *warps, unsigned count) {
    for (unsigned i = 0; i < count; i++) {
        const Warp *w = &warps[i];
        if (w->map == ST.map_id && w->x == ST.player_x && w->y == ST.player_y) {
            start_warp(w->to_map, w->to_x, w->to_y, w->to_facing, 0);
            return 1;
        }
    }
    return 0;
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
    if (world_step_done()) return;
    int dir = held_direction(); /* still held: keep walking, like the real games */
    if (dir >= 0) try_walk(dir);
}

static void try_walk(int dir) {
    ST.facing = (u8)dir;
    if (!world_walkable(ST.player_x + DX[dir], ST.player_y + DY[dir])) return;
    ST.walking = 1;
    ST.walk_progress = 0;
    walk_step();
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
        world_interact();
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
        ST.player_x = warp_x;
        ST.player_y = warp_y;
        ST.facing = warp_facing;
        world_enter_map(warp_map);
        if (warp_blackout) ST.player_hp = ST.player_max_hp;
        warp_blackout = 0;
    }
    if (t >= WARP_FRAMES) {
        ST.warp_timer = 0;
        ST.mode = MODE_OVERWORLD;
        world_warp_done();
    }
}

/* ---- sprites -------------------------------------------------------------------------------- */

/* A 16x16 person at screen (x, y); nothing when off screen. */
void draw_human(int x, int y, int facing, int stepping, int parity, int pal) {
    if (x <= -16 || x >= 240 || y <= -16 || y >= 160) return;
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

/* The party icon on the (always blocked) top-left tile once you have a MiniMon, in its
   colour, then the player, the map seen from (camera_x, camera_y). */
void draw_party_and_player(int camera_x, int camera_y) {
    if (ST.starter_id != STARTER_NONE) obj_square16(0, 0, OBJ_BALL, OBJPAL_MON_FLAMIN + ST.starter_id, 1, 0);
    int p = ST.walking ? ST.walk_progress : 0;
    int px = ST.player_x * 16 + DX[ST.facing] * p - camera_x;
    int py = ST.player_y * 16 + DY[ST.facing] * p - camera_y;
    draw_human(px, py, ST.facing, ST.walking && p >= 4 && p < 12, step_parity, OBJPAL_PLAYER);
}
