/* The text layer (BG0): boxes, text, HP bars; the paged dialog, the START menu and the
   starter choice. What each game says in them comes from its hooks (engine.h). */
#include "game.h"
#include "assets.h"

const char *const mon_names[7] = {"FLAMIN", "AQUAPUP", "VOLTIK", "GRASSY", "ROCKO", "BUZZLE", "PUFFIN"};
static const u8 starters[3] = STARTERS;

char dyn_text[4][32];

/* ---- drawing on the text layer --------------------------------------------------------- */

#define ENTRY(tile, pal) ((u16)((tile) | ((pal) << 12)))

void ui_clear(void) {
    dma3_fill32(ui_map, &zero_word, sizeof(ui_map) / 4);
}

void ui_box(int col, int row, int w, int h) {
    for (int y = 0; y < h; y++) {
        int r = y == 0 ? 0 : y == h - 1 ? 2 : 1;
        for (int x = 0; x < w; x++) {
            int c = x == 0 ? 0 : x == w - 1 ? 2 : 1;
            ui_map[(row + y) * 32 + col + x] = ENTRY(UI_BOX_TL + r * 3 + c, BGPAL_UI);
        }
    }
}

void ui_text(int col, int row, const char *s, int pal) {
    u16 *dst = &ui_map[row * 32 + col];
    for (; *s && col < 30; s++, col++) {
        int c = (u8)*s;
        if (c < 32 || c > 127) c = '?';
        *dst++ = ENTRY(FONT_BASE + c - 32, pal);
    }
}

void ui_fill(int col, int row, int w, int h, int pal) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) ui_map[(row + y) * 32 + col + x] = ENTRY(FONT_BASE, pal);
}

/* End caps plus 8 segments (64 px). Green above 1/2, yellow above 1/5, red below. */
void ui_hp_bar(int col, int row, int hp, int max_hp) {
    int pal = hp * 2 > max_hp ? BGPAL_UI : hp * 5 > max_hp ? BGPAL_UI_HP_MID : BGPAL_UI_HP_LOW;
    int px = max_hp ? (hp * 64 + max_hp - 1) / max_hp : 0;
    u16 *dst = &ui_map[row * 32 + col];
    dst[0] = ENTRY(UI_HP_LCAP, pal);
    for (int i = 0; i < 8; i++) {
        int fill = px - i * 8;
        fill = fill < 0 ? 0 : fill > 8 ? 8 : fill;
        dst[1 + i] = ENTRY(UI_HP_0 + fill, pal);
    }
    dst[9] = ENTRY(UI_HP_RCAP, pal);
}

/* ---- lists of three (the START menu, a game's shop) ------------------------------------------ */

#define LIST_ROW(i) (2 + 2 * (i))
#define MENU_COL 19
#define CHOICE_COL 15
#define CHOICE_ROW(i) (2 + 4 * (i))

int ui_list_cursor(u8 *cursor, int count) {
    if ((keys_pressed & KEY_UP) && *cursor > 0) {
        (*cursor)--;
        return 1;
    }
    if ((keys_pressed & KEY_DOWN) && *cursor < count - 1) {
        (*cursor)++;
        return 1;
    }
    return 0;
}

void ui_list_box(int col, int w, const char *const *entries, int fill_w) {
    ui_box(col, 0, w, 9);
    for (int i = 0; i < 3; i++) {
        int pal = i == ST.menu_cursor ? BGPAL_UI_HI : BGPAL_UI;
        if (i == ST.menu_cursor) ui_fill(col + 3, LIST_ROW(i), fill_w, 1, pal);
        ui_text(col + 3, LIST_ROW(i), entries[i], pal);
    }
}

void ui_list_cursor_sprite(int col) {
    obj_square16(col * 8 + 6, LIST_ROW(ST.menu_cursor) * 8 - 4, OBJ_CURSOR, OBJPAL_UI, 0, 0);
}

/* ---- redraw on change ---------------------------------------------------------------------- */

static u32 ui_generation;
static u32 ui_signature[4] = {0xFFFFFFFFu};

void ui_bump(void) { ui_generation++; }

static void draw_dialog(void);
static void draw_menu(void);
static void draw_choice(void);

void ui_render(void) {
    u32 sig[4] = {
        ST.mode | (ST.dialog_id << 8) | (ST.dialog_page << 16) | (ST.dialog_pages << 24),
        ST.menu_cursor | (ST.choice_cursor << 8) | (ST.battle_phase << 16) | ((u32)ST.battle_cursor << 24),
        ST.player_hp | (ST.player_max_hp << 8) | (ST.enemy_hp << 16) | ((u32)UI_WATCHED_BYTE << 24),
        ui_generation,
    };
    if (sig[0] == ui_signature[0] && sig[1] == ui_signature[1] && sig[2] == ui_signature[2] &&
        sig[3] == ui_signature[3])
        return;
    memcpy(ui_signature, sig, sizeof(sig));
    ui_clear();
    switch (ST.mode) {
    case MODE_DIALOG: draw_dialog(); break;
    case MODE_START_MENU: draw_menu(); break;
    case MODE_CHOICE: draw_choice(); break;
    case MODE_BATTLE: battle_draw_ui(); break;
    default: ui_draw_game_mode(); break;
    }
    ui_dirty = 1;
}

void ui_sprites(void) {
    switch (ST.mode) {
    case MODE_DIALOG:
        ui_arrow_sprite();
        break;
    case MODE_START_MENU:
        ui_list_cursor_sprite(MENU_COL);
        break;
    case MODE_CHOICE:
        obj_square16(CHOICE_COL * 8, CHOICE_ROW(ST.choice_cursor) * 8 + 4, OBJ_CURSOR, OBJPAL_UI, 0, 0);
        obj_square64(24, 24, OBJ_MON_BASE + starters[ST.choice_cursor] * 64,
                     OBJPAL_MON_FLAMIN + starters[ST.choice_cursor], 0, 0);
        break;
    default:
        ui_game_sprites();
        break;
    }
}

/* ---- dialog ----------------------------------------------------------------------------------- */

#define MAX_PAGES 4
static Page pages[MAX_PAGES];
static u8 dialog_end;

void dialog_open(u8 id, const Page *p, int count, u8 end) {
    if (count > MAX_PAGES) count = MAX_PAGES;
    for (int i = 0; i < count; i++) pages[i] = p[i];
    ST.dialog_id = id;
    ST.dialog_page = 0;
    ST.dialog_pages = (u8)count;
    ST.mode = MODE_DIALOG;
    dialog_end = end;
    ui_bump();
}

void dialog_update(void) {
    if (!(keys_pressed & KEY_A)) return;
    if (ST.dialog_page + 1 < ST.dialog_pages) {
        ST.dialog_page++;
        return;
    }
    ST.dialog_id = DLG_NONE;
    ST.dialog_page = 0;
    ST.dialog_pages = 0;
    world_dialog_finished(dialog_end);
}

/* The bottom text box shared by dialogs and battle messages: rows 14..19. */
void ui_message_box(const char *line1, const char *line2) {
    ui_box(0, 14, 30, 6);
    ui_text(2, 15, line1, BGPAL_UI);
    ui_text(2, 17, line2, BGPAL_UI);
}

static void draw_dialog(void) {
    const Page *p = &pages[ST.dialog_page];
    ui_message_box(p->line1, p->line2);
    char *s = str_num(dyn_text[3], ST.dialog_page + 1u);
    *s++ = '/';
    str_num(s, ST.dialog_pages);
    ui_text(22, 18, dyn_text[3], BGPAL_UI);
}

/* The big "press A" arrow at the box's bottom right. */
void ui_arrow_sprite(void) { obj_square16(26 * 8, 18 * 8 - 2, OBJ_ARROW, OBJPAL_UI, 0, 0); }

/* ---- START menu --------------------------------------------------------------------------- */

static const char *const menu_entries[3] = {"MON", "BAG", "EXIT"};

void menu_open(void) {
    ST.mode = MODE_START_MENU;
    ST.menu_cursor = 0;
}

void menu_update(void) {
    if (keys_pressed & (KEY_B | KEY_START)) {
        ST.mode = MODE_OVERWORLD;
    } else if (ui_list_cursor(&ST.menu_cursor, 3)) {
        return;
    } else if (keys_pressed & KEY_A) {
        Page page; /* dialog_open copies it; its text must outlive it (dyn_text) */
        if (ST.menu_cursor == 2) {
            ST.mode = MODE_OVERWORLD;
        } else if (ST.menu_cursor == 0) {
            if (ST.starter_id == STARTER_NONE) {
                page = (Page){"You have no MINIMON yet.", MENU_NO_MON_HINT};
            } else {
                char *s = str_put(dyn_text[0], mon_names[ST.starter_id]);
                s = str_put(s, "  HP ");
                s = str_num(s, ST.player_hp);
                s = str_put(s, "/");
                str_num(s, ST.player_max_hp);
                page = (Page){dyn_text[0], menu_type_line(ST.starter_id)};
            }
            dialog_open(DLG_MENU_MON, &page, 1, END_MENU);
        } else {
            page = menu_bag_page();
            dialog_open(DLG_MENU_BAG, &page, 1, END_MENU);
        }
    }
}

static void draw_menu(void) { ui_list_box(MENU_COL, 11, menu_entries, 6); }

/* ---- starter choice ------------------------------------------------------------------------- */

void choice_open(void) {
    ST.mode = MODE_CHOICE;
    ST.choice_cursor = 0;
}

void choice_update(void) {
    if (ui_list_cursor(&ST.choice_cursor, 3)) {
        return;
    } else if (keys_pressed & KEY_A) {
        Page page; /* dialog_open copies it; its text must outlive it (dyn_text) */
        ST.starter_id = starters[ST.choice_cursor];
        starter_chosen();
        str_put(str_put(str_put(dyn_text[1], "You received "), mon_names[ST.starter_id]), "!");
        page = (Page){dyn_text[1], STARTER_RECEIVED_HINT};
        dialog_open(DLG_RECEIVED, &page, 1, END_OVERWORLD);
    }
}

static void draw_choice(void) {
    ui_box(1, 1, 12, 12); /* preview of the highlighted MiniMon */
    ui_box(CHOICE_COL, 0, 15, 14);
    for (int i = 0; i < 3; i++) {
        int pal = i == ST.choice_cursor ? BGPAL_UI_HI : BGPAL_UI;
        if (i == ST.choice_cursor) ui_fill(CHOICE_COL + 2, CHOICE_ROW(i), 12, 3, pal);
        ui_text(CHOICE_COL + 3, CHOICE_ROW(i), mon_names[starters[i]], pal);
        ui_text(CHOICE_COL + 3, CHOICE_ROW(i) + 2, mon_type_label(starters[i]), pal);
    }
    ui_message_box("Which MINIMON will you", "take? UP/DOWN, then A.");
}
