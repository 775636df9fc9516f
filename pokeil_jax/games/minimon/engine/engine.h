/* The engine both MiniMon games are built on (this folder): input and the main loop, VRAM and
   sprites, small helpers, the text layer with its dialog, START menu and starter choice, the
   battle screen, walking and warps. Each game's game.h includes its state.h (whose struct
   starts with state_head.h's fields), defines its enums and the engine's constants
   (GAME_LAYOUT_VERSION, UI_WATCHED_BYTE, STARTERS, MENU_NO_MON_HINT, STARTER_RECEIVED_HINT,
   ENEMY_MON, ENEMY_ATTACK_TEXT, PLAYER_BOX_ROW, MAP_W, MAP_H), then includes this; its .c
   files define the hooks listed at the end. */
#ifndef MINIMON_ENGINE_H
#define MINIMON_ENGINE_H

#define ST minimon_state

/* main.c: input, edge-detected once per frame */
extern u16 keys_held, keys_pressed;

/* util.c */
u32 hash32(u32 seed, u32 salt);            /* a well-mixed 32-bit value per (seed, salt) */
u32 pick(u32 value, u32 n);                /* value mapped uniformly-ish to 0..n-1 */
u32 rng_next(void);                        /* advance ST.rng (xorshift32) */
char *str_put(char *dst, const char *src); /* copy src, return the end (NUL) */
char *str_num(char *dst, u32 n);           /* decimal, return the end */

/* video.c: shadow copies of VRAM, copied in during VBlank by video_present */
extern u16 ui_map[32 * 32]; /* BG0: text and boxes (priority 0) */
extern u16 bg_map[32 * 32]; /* BG1: the map or the battle background (priority 2) */
extern u8 ui_dirty, bg_dirty;
extern u8 fade_level;       /* 0 (normal) .. 16 (black) */
extern u32 zero_word;       /* always 0 */
void video_init(void);
void video_present(void);
void obj_begin(void);
void obj_end(void);
void obj_square16(int x, int y, u16 tile, int pal, int prio, int hflip);
void obj_square64(int x, int y, u16 tile, int pal, int prio, int hflip);
void draw_metatiles(const u8 *ids); /* 15x10 metatile ids into bg_map */

/* ui.c: the text layer (BG0), the paged dialog, the START menu, the starter choice */
typedef struct { const char *line1, *line2; } Page;
extern const char *const mon_names[7];
extern char dyn_text[4][32]; /* scratch lines for pages built at run time */
void ui_clear(void);
void ui_box(int col, int row, int w, int h);
void ui_text(int col, int row, const char *s, int pal);
void ui_fill(int col, int row, int w, int h, int pal);
void ui_hp_bar(int col, int row, int hp, int max_hp);
void ui_message_box(const char *line1, const char *line2); /* rows 14..19 */
void ui_arrow_sprite(void);
int ui_list_cursor(u8 *cursor, int count); /* UP/DOWN moved the cursor (no wrap) */
void ui_list_box(int col, int w, const char *const *entries, int fill_w); /* 3 entries, ST.menu_cursor */
void ui_list_cursor_sprite(int col);
void ui_bump(void);   /* force a text-layer redraw next frame */
void ui_render(void); /* redraw the text layer if anything it shows changed */
void ui_sprites(void);
void dialog_open(u8 id, const Page *pages, int count, u8 end);
void dialog_update(void);
void menu_open(void);
void menu_update(void);
void choice_open(void);
void choice_update(void);

/* battle.c: the battle screen, its turn phases and the enemy's attack */
extern char battle_line1[32], battle_line2[32]; /* the message box's two lines */
const char *player_mon_name(void);
const char *enemy_mon_name(void);
void battle_say(int phase, int turn); /* switch phase and turn, redraw */
void battle_intro(void);              /* "Go, <starter>!" and the intro phase */
char *damage_line(char *dst, const char *who, int dmg);
void battle_update(void);
void battle_draw_ui(void);
void battle_sprites(void);

/* walk.c: walking, warps, people on the map */
typedef struct {
    u8 map, x, y, to_map, to_x, to_y, to_facing;
} Warp;
extern const s8 DX[4], DY[4];  /* one tile in each Facing */
extern const u8 OPPOSITE[4];
void world_place_player(int x, int y); /* standing on (x, y), facing down */
void start_warp(int map, int x, int y, int facing, int blackout);
int take_warp(const Warp *warps, unsigned count); /* 1: the player stands on one, warping */
void overworld_update(void);
void warp_update(void);
void draw_human(int x, int y, int facing, int stepping, int parity, int pal);
void draw_party_and_player(int camera_x, int camera_y);

/* Hooks: each game defines these. */
void game_mode_update(void);            /* a frame in a mode the engine does not run */
void world_redraw(void);                /* each frame outside battles, after the sprites */
void world_scroll_registers(void);      /* in VBlank, right after video_present */
void world_new_game(u32 seed);
void world_sprites(void);
void title_draw(void);                  /* the background at power-on */
int world_walkable(int x, int y);
int world_step_done(void);              /* a walk landed: 1 if it started a warp or a battle */
void world_interact(void);              /* A in the overworld */
void world_enter_map(int map);          /* a warp's switch frame, the player already placed */
void world_warp_done(void);             /* a warp's last frame */
void world_dialog_finished(u8 end);
void world_after_battle(int won);
void ui_draw_game_mode(void);           /* the text layer in a mode the engine does not draw */
void ui_game_sprites(void);             /* UI sprites in a mode the engine does not draw */
const char *mon_type_label(int mon);    /* under a name in the starter choice */
const char *menu_type_line(int mon);    /* the START menu's MON page, second line */
Page menu_bag_page(void);
void starter_chosen(void);              /* the choice's A, ST.starter_id already set */
void battle_player_acts(int command);
void battle_won(void);                  /* the enemy fainted: rewards, battle_line2 */
const char *player_type_label(void);    /* under the HP in a status box, or 0 */
const char *enemy_type_label(void);
extern const char *const battle_commands[4];

#endif
