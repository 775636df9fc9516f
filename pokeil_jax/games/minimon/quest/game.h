/* Declarations shared by MiniMon Quest's modules. The engine files src/video.c and
   src/util.c are compiled against this header too (the Makefile copies them next to
   nothing, so their #include "game.h" finds this one): keep their API identical. */
#ifndef QUEST_GAME_H
#define QUEST_GAME_H

#include "gba.h"
#include "state.h"

#define ST minimon_state
#define MAP_W 15 /* the screen in 16x16 metatiles (the engine's draw_metatiles) */
#define MAP_H 10

/* main.c */
extern u16 keys_held, keys_pressed;

/* util.c (engine) */
u32 hash32(u32 seed, u32 salt);
u32 pick(u32 value, u32 n);
u32 rng_next(void);
char *str_put(char *dst, const char *src);
char *str_num(char *dst, u32 n);

/* video.c (engine) */
#define UI_COLS 32
extern u16 ui_map[32 * 32];
extern u16 bg_map[32 * 32];
extern u8 ui_dirty, bg_dirty;
extern u8 fade_level;
extern u32 zero_word;
void video_init(void);
void video_present(void);
void obj_begin(void);
void obj_end(void);
void obj_square16(int x, int y, u16 tile, int pal, int prio, int hflip);
void obj_square64(int x, int y, u16 tile, int pal, int prio, int hflip);
void draw_metatiles(const u8 *ids);

/* ui.c */
enum DialogEnd {
    END_OVERWORLD, END_CHOICE, END_RECEIVED, END_BATTLE, END_STEP_ASIDE, END_BLACKOUT, END_MENU,
    END_SHOP, END_OPEN_SHOP, END_GAME_DONE,
};
enum DialogId {
    DLG_NONE = 0, DLG_MOM = 1, DLG_PROF_INTRO = 2, DLG_PROF = 3, DLG_RECEIVED = 4,
    DLG_TRAINER_CHALLENGE = 5, DLG_TRAINER_LOST = 6, DLG_TRAINER_LATER = 7, DLG_BLACKOUT = 8,
    DLG_SIGN = 9, DLG_GATE_LOCKED = 10, DLG_MENU_MON = 11, DLG_MENU_BAG = 12, DLG_GUARD = 13,
    DLG_NURSE = 14, DLG_CLERK = 15, DLG_SHOP_MSG = 16, DLG_TASK = 17, DLG_TREE = 18,
    DLG_ITEM = 19, DLG_LEADER_CHALLENGE = 20, DLG_QUEST_DONE = 21,
};
typedef struct { const char *line1, *line2; } Page;
extern char dyn_text[4][32];
void ui_clear(void);
void ui_box(int col, int row, int w, int h);
void ui_text(int col, int row, const char *s, int pal);
void ui_fill(int col, int row, int w, int h, int pal);
void ui_hp_bar(int col, int row, int hp, int max_hp);
void ui_message_box(const char *line1, const char *line2);
void ui_arrow_sprite(void);
void ui_bump(void);
void ui_render(void);
void ui_sprites(void);
void dialog_open(u8 id, const Page *pages, int count, u8 end);
void dialog_update(void);
void menu_open(void);
void menu_update(void);
void choice_open(void);
void choice_update(void);
void shop_open(void);
void shop_update(void);
void title_draw(void);
extern const char *const mon_names[7];
extern const u8 mon_types[7];
extern const char *const type_names[3];

/* world.c */
void world_new_game(u32 seed);
void world_redraw(void);
void world_scroll_registers(void);
void overworld_update(void);
void warp_update(void);
void world_sprites(void);
void world_dialog_finished(u8 end);
void world_after_battle(int won);

/* battle.c */
void battle_start(int kind, int species, int hp, int attack);
void battle_update(void);
void battle_draw_ui(void);
void battle_sprites(void);

#endif
