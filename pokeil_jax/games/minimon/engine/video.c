/* VRAM setup and the once-per-VBlank copy of the shadow buffers (OAM, BG0, BG1, fade).
   Logic writes only the shadows; video_present copies them while the screen is not drawn. */
#include "game.h"
#include "assets.h"

#define SBB_UI 28  /* BG0 screenblock: 0x0600E000 */
#define SBB_MAP 30 /* BG1 screenblock: 0x0600F000 */
#define SCREENBLOCK(n) ((volatile u16 *)(0x06000000 + (n) * 0x800))

u16 ui_map[32 * 32] __attribute__((section(".ewram"), aligned(4)));
u16 bg_map[32 * 32] __attribute__((section(".ewram"), aligned(4)));
u8 ui_dirty, bg_dirty, fade_level;
u32 zero_word; /* a DMA fill source: it must live in RAM */

static u16 oam_shadow[128 * 4] __attribute__((aligned(4)));
static int obj_count, obj_prev_count;
static u8 oam_dirty;

void video_init(void) {
    REG_DISPCNT = DCNT_BLANK;
    dma3_copy32(VRAM, bg_tiles, BG_TILE_COUNT * 8);
    dma3_copy32(VRAM_OBJ, obj_tiles, OBJ_TILE_COUNT * 8);
    dma3_copy32(PAL_BG, bg_palettes, 128);
    dma3_copy32(PAL_OBJ, obj_palettes, 128);
    for (int i = 0; i < 128; i++) oam_shadow[i * 4] = ATTR0_HIDE;
    dma3_copy32(OAM, oam_shadow, 256);
    dma3_fill32(SCREENBLOCK(SBB_UI), &zero_word, 512);
    dma3_fill32(SCREENBLOCK(SBB_MAP), &zero_word, 512);
    REG_BG0CNT = BGCNT_PRIO(0) | BGCNT_CBB(0) | BGCNT_SBB(SBB_UI);
    REG_BG1CNT = BGCNT_PRIO(2) | BGCNT_CBB(0) | BGCNT_SBB(SBB_MAP);
    REG_BLDCNT = 0;
    REG_BLDY = 0;
    REG_DISPCNT = DCNT_MODE0 | DCNT_OBJ_1D | DCNT_BG0 | DCNT_BG1 | DCNT_OBJ;
}

void video_present(void) {
    /* Every OAM write costs the emulator a sprite re-parse: copy only when something moved. */
    if (oam_dirty) {
        dma3_copy32(OAM, oam_shadow, 256);
        oam_dirty = 0;
    }
    if (bg_dirty) {
        dma3_copy32(SCREENBLOCK(SBB_MAP), bg_map, 512);
        bg_dirty = 0;
    }
    if (ui_dirty) {
        dma3_copy32(SCREENBLOCK(SBB_UI), ui_map, 512);
        ui_dirty = 0;
    }
    /* The blend unit costs the emulator time on every pixel: only enable it while fading. */
    REG_BLDCNT = fade_level ? BLD_ALL_DARKEN : 0;
    REG_BLDY = fade_level;
}

/* A frame's sprites: obj_begin, then obj_square*, then obj_end hides the leftovers. */
void obj_begin(void) {
    obj_prev_count = obj_count;
    obj_count = 0;
}

static void obj_add(int x, int y, u16 shape, u16 size, u16 tile, int pal, int prio, int hflip) {
    if (obj_count >= 128) return;
    u16 *o = &oam_shadow[obj_count++ * 4];
    u16 a0 = (u16)((y & 0xFF) | shape);
    u16 a1 = (u16)((x & 0x1FF) | size | (hflip ? ATTR1_HFLIP : 0));
    u16 a2 = (u16)(tile | ATTR2_PRIO(prio) | ATTR2_PAL(pal));
    if (o[0] != a0 || o[1] != a1 || o[2] != a2) {
        o[0] = a0;
        o[1] = a1;
        o[2] = a2;
        oam_dirty = 1;
    }
}

void obj_end(void) {
    for (int i = obj_count; i < obj_prev_count; i++) {
        oam_shadow[i * 4] = ATTR0_HIDE;
        oam_dirty = 1;
    }
}

void obj_square16(int x, int y, u16 tile, int pal, int prio, int hflip) {
    obj_add(x, y, ATTR0_SQUARE, ATTR1_SIZE(1), tile, pal, prio, hflip);
}

void obj_square64(int x, int y, u16 tile, int pal, int prio, int hflip) {
    obj_add(x, y, ATTR0_SQUARE, ATTR1_SIZE(3), tile, pal, prio, hflip);
}

void draw_metatiles(const u8 *ids) {
    for (int y = 0; y < MAP_H; y++) {
        for (int x = 0; x < MAP_W; x++) {
            const u16 *e = &metatile_entries[ids[y * MAP_W + x] * 4];
            u16 *row = &bg_map[(2 * y) * 32 + 2 * x];
            row[0] = e[0];
            row[1] = e[1];
            row[32] = e[2];
            row[33] = e[3];
        }
    }
    bg_dirty = 1;
}
