/* Declarations shared by MiniMon's modules. Game state lives in the RAM contract
   (state.h, `ST`); the few private variables each module needs stay in that module. */
#ifndef MINIMON_GAME_H
#define MINIMON_GAME_H

#include "gba.h"
#include "state.h"

#define ST minimon_state

/* main.c: input, edge-detected once per frame */
extern u16 keys_held, keys_pressed;

/* util.c */
u32 hash32(u32 seed, u32 salt);           /* a well-mixed 32-bit value per (seed, salt) */
u32 pick(u32 value, u32 n);               /* value mapped uniformly-ish to 0..n-1 */
u32 rng_next(void);                       /* advance ST.rng (xorshift32) */
char *str_put(char *dst, const char *src); /* copy src, return the end (NUL) */
char *str_num(char *dst, u32 n);          /* decimal, return the end */

/* video.c: shadow copies of VRAM, copied in during VBlank by video_present */
#define UI_COLS 32
extern u16 ui_map[32 * 32];  /* BG0: text and boxes (priority 0) */
extern u16 bg_map[32 * 32];  /* BG1: the map or the battle background (priority 2) */
extern u8 ui_dirty, bg_dirty;
extern u8 fade_level;        /* 0 (normal) .. 16 (black) */
extern u32 zero_word;        /* always 0 */
void video_init(void);
void video_present(void);
void obj_begin(void);
void obj_end(void);
void obj_square16(int x, int y, u16 tile, int pal, int prio, int hflip);
void obj_square64(int x, int y, u16 tile, int pal, int prio, int hflip);
void draw_metatiles(const u8 *ids); /* 15x10 metatile ids into bg_map */

/* ui.c: text layer, dialog, START menu, starter choice */
enum DialogEnd {
    END_OVERWORLD, END_CHOICE, END_RECEIVED, END_BATTLE, END_TRAINER_STEPS_ASIDE,
    END_BLACKOUT, END_MENU,
};
enum DialogId {
    DLG_NONE = 0, DLG_MOM = 1, DLG_PROF_INTRO = 2, DLG_PROF_LATER = 3, DLG_RECEIVED = 4,
    DLG_TRAINER_CHALLENGE = 5, DLG_TRAINER_LOST = 6, DLG_TRAINER_LATER = 7, DLG_BLACKOUT = 8,
    DLG_SIGN = 9, DLG_GATE_LOCKED = 10, DLG_MENU_MON = 11, DLG_MENU_BAG = 12, DLG_ARRIVED = 13,
};
typedef struct { const char *line1, *line2; } Page;
extern char dyn_text[4][32]; /* scratch lines for pages built at run time */
void ui_clear(void);
void ui_box(int col, int row, int w, int h);
void ui_text(int col, int row, const char *s, int pal);
void ui_fill(int col, int row, int w, int h, int pal);
void ui_hp_bar(int col, int row, int hp, int max_hp);
void ui_message_box(const char *line1, const char *line2); /* rows 14..19 */
void ui_arrow_sprite(void);
void ui_bump(void);   /* force a text-layer redraw next frame */
void ui_render(void); /* redraw the text layer if anything it shows changed */
void ui_sprites(void);
void dialog_open(u8 id, const Page *pages, int count, u8 end);
void dialog_update(void);
void menu_open(void);
void menu_update(void);
void choice_open(void);
void choice_update(void);
void title_draw(void);
extern const char *const mon_names[7];

/* world.c */
void world_new_game(u32 seed);
void world_draw_current_map(void);
void overworld_update(void);
void warp_update(void);
void world_sprites(void);
void world_dialog_finished(u8 end);
void world_after_battle(int won);

/* battle.c */
void battle_start(void);
void battle_update(void);
void battle_draw_ui(void);
void battle_sprites(void);

#endif
