/* MiniMon Quest's text layer (BG0): boxes, text, HP bars; dialog, START menu, starter
   choice and the shop. The drawing helpers are the classic game's (src/ui.c). */
#include "game.h"
#include "assets.h"

const char *const mon_names[7] = {"FLAMIN", "AQUAPUP", "VOLTIK", "GRASSY", "ROCKO", "BUZZLE", "PUFFIN"};
const u8 mon_types[7] = {TYPE_FIRE, TYPE_WATER, TYPE_FIRE, TYPE_GRASS, TYPE_FIRE, TYPE_GRASS, TYPE_WATER};
const char *const type_names[3] = {"FIRE", "WATER", "GRASS"};
static const u8 starters[3] = {0, 1, 3}; /* FLAMIN, AQUAPUP, GRASSY */

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

/* ---- redraw on change ---------------------------------------------------------------------- */

static u32 ui_generation;
static u32 ui_signature[4] = {0xFFFFFFFFu};

void ui_bump(void) { ui_generation++; }

static void draw_dialog(void);
static void draw_menu(void);
static void draw_choice(void);
static void draw_shop(void);

void ui_render(void) {
    u32 sig[4] = {
        ST.mode | (ST.dialog_id << 8) | (ST.dialog_page << 16) | (ST.dialog_pages << 24),
        ST.menu_cursor | (ST.choice_cursor << 8) | (ST.battle_phase << 16) | ((u32)ST.battle_cursor << 24),
        ST.player_hp | (ST.player_max_hp << 8) | (ST.enemy_hp << 16) | ((u32)ST.money << 24),
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
    case MODE_SHOP: draw_shop(); break;
    default: break;
    }
    ui_dirty = 1;
}

void ui_sprites(void) {
    if (ST.mode == MODE_DIALOG) {
        ui_arrow_sprite();
    } else if (ST.mode == MODE_START_MENU) {
        obj_square16(19 * 8 + 6, (2 + 2 * ST.menu_cursor) * 8 - 4, OBJ_CURSOR, OBJPAL_UI, 0, 0);
    } else if (ST.mode == MODE_SHOP) {
        obj_square16(15 * 8 + 6, (2 + 2 * ST.menu_cursor) * 8 - 4, OBJ_CURSOR, OBJPAL_UI, 0, 0);
    } else if (ST.mode == MODE_CHOICE) {
        obj_square16(15 * 8, (2 + 4 * ST.choice_cursor) * 8 + 4, OBJ_CURSOR, OBJPAL_UI, 0, 0);
        obj_square64(24, 24, OBJ_MON_BASE + starters[ST.choice_cursor] * 64,
                     OBJPAL_MON_FLAMIN + starters[ST.choice_cursor], 0, 0);
    }
}

/* ---- dialog -------------------------------------------------------------------------------------- */

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

void ui_arrow_sprite(void) { obj_square16(26 * 8, 18 * 8 - 2, OBJ_ARROW, OBJPAL_UI, 0, 0); }

/* ---- START menu ------------------------------------------------------------------------------- */

static const char *const menu_entries[3] = {"MON", "BAG", "EXIT"};
#define MENU_COL 19
#define MENU_ROW(i) (2 + 2 * (i))

void menu_open(void) {
    ST.mode = MODE_START_MENU;
    ST.menu_cursor = 0;
}

void menu_update(void) {
    if (keys_pressed & (KEY_B | KEY_START)) {
        ST.mode = MODE_OVERWORLD;
    } else if ((keys_pressed & KEY_UP) && ST.menu_cursor > 0) {
        ST.menu_cursor--;
    } else if ((keys_pressed & KEY_DOWN) && ST.menu_cursor < 2) {
        ST.menu_cursor++;
    } else if (keys_pressed & KEY_A) {
        Page page;
        if (ST.menu_cursor == 2) {
            ST.mode = MODE_OVERWORLD;
        } else if (ST.menu_cursor == 0) {
            if (ST.starter_id == STARTER_NONE) {
                page = (Page){"You have no MINIMON yet.", "PROF. HAZEL is on ROUTE 1."};
            } else {
                char *s = str_put(dyn_text[0], mon_names[ST.starter_id]);
                s = str_put(s, "  HP ");
                s = str_num(s, ST.player_hp);
                s = str_put(s, "/");
                str_num(s, ST.player_max_hp);
                str_put(str_put(dyn_text[1], type_names[mon_types[ST.starter_id]]), " type");
                page = (Page){dyn_text[0], dyn_text[1]};
            }
            dialog_open(DLG_MENU_MON, &page, 1, END_MENU);
        } else {
            str_num(str_put(dyn_text[0], "MONEY $"), ST.money);
            char *s = str_put(dyn_text[1], "");
            if (ST.items & ITEM_PASS) s = str_put(s, "PASS ");
            if (ST.items & ITEM_SAW) s = str_put(s, "SAW ");
            if (!ST.items) str_put(s, "No items yet.");
            page = (Page){dyn_text[0], dyn_text[1]};
            dialog_open(DLG_MENU_BAG, &page, 1, END_MENU);
        }
    }
}

static void draw_menu(void) {
    ui_box(MENU_COL, 0, 11, 9);
    for (int i = 0; i < 3; i++) {
        int pal = i == ST.menu_cursor ? BGPAL_UI_HI : BGPAL_UI;
        if (i == ST.menu_cursor) ui_fill(MENU_COL + 3, MENU_ROW(i), 6, 1, pal);
        ui_text(MENU_COL + 3, MENU_ROW(i), menu_entries[i], pal);
    }
}

/* ---- starter choice ---------------------------------------------------------------------------- */

#define CHOICE_COL 15
#define CHOICE_ROW(i) (2 + 4 * (i))

void choice_open(void) {
    ST.mode = MODE_CHOICE;
    ST.choice_cursor = 0;
}

void choice_update(void) {
    if ((keys_pressed & KEY_UP) && ST.choice_cursor > 0) {
        ST.choice_cursor--;
    } else if ((keys_pressed & KEY_DOWN) && ST.choice_cursor < 2) {
        ST.choice_cursor++;
    } else if (keys_pressed & KEY_A) {
        Page page;
        ST.starter_id = starters[ST.choice_cursor];
        ST.milestones |= 1u << MS_STARTER_CHOSEN;
        str_put(str_put(str_put(dyn_text[1], "You received "), mon_names[ST.starter_id]), "!");
        page = (Page){dyn_text[1], "The gate north is open!"};
        dialog_open(DLG_RECEIVED, &page, 1, END_OVERWORLD);
    }
}

static void draw_choice(void) {
    ui_box(1, 1, 12, 12);
    ui_box(CHOICE_COL, 0, 15, 14);
    for (int i = 0; i < 3; i++) {
        int pal = i == ST.choice_cursor ? BGPAL_UI_HI : BGPAL_UI;
        if (i == ST.choice_cursor) ui_fill(CHOICE_COL + 2, CHOICE_ROW(i), 12, 3, pal);
        ui_text(CHOICE_COL + 3, CHOICE_ROW(i), mon_names[starters[i]], pal);
        ui_text(CHOICE_COL + 3, CHOICE_ROW(i) + 2, type_names[mon_types[starters[i]]], pal);
    }
    ui_message_box("Which MINIMON will you", "take? UP/DOWN, then A.");
}

/* ---- the shop (PINE CITY's clerk) ---------------------------------------------------------------- */

#define SODA_PRICE 30
#define SODA_HEAL 20
#define SAW_PRICE 300
static const char *const shop_entries[3] = {"SODA   $30", "SAW   $300", "EXIT"};
#define SHOP_COL 15

void shop_open(void) {
    ST.mode = MODE_SHOP;
}

void shop_update(void) {
    if (keys_pressed & KEY_B) {
        ST.mode = MODE_OVERWORLD;
        ST.menu_cursor = 0;
    } else if ((keys_pressed & KEY_UP) && ST.menu_cursor > 0) {
        ST.menu_cursor--;
    } else if ((keys_pressed & KEY_DOWN) && ST.menu_cursor < 2) {
        ST.menu_cursor++;
    } else if (keys_pressed & KEY_A) {
        Page page = {"You don't have enough", "money for that."};
        if (ST.menu_cursor == 2) {
            ST.mode = MODE_OVERWORLD;
            ST.menu_cursor = 0;
            return;
        }
        if (ST.menu_cursor == 0 && ST.money >= SODA_PRICE) {
            ST.money = (u16)(ST.money - SODA_PRICE);
            int hp = ST.player_hp + SODA_HEAL;
            ST.player_hp = (u8)(hp > ST.player_max_hp ? ST.player_max_hp : hp);
            page = (Page){"You drank a SODA!", "Your MINIMON got 20 HP back."};
        } else if (ST.menu_cursor == 1 && (ST.items & ITEM_SAW)) {
            page = (Page){"You already have a SAW.", ""};
        } else if (ST.menu_cursor == 1 && ST.money >= SAW_PRICE) {
            ST.money = (u16)(ST.money - SAW_PRICE);
            ST.items |= ITEM_SAW;
            page = (Page){"You bought a SAW!", "Now cut through to the forest."};
        }
        dialog_open(DLG_SHOP_MSG, &page, 1, END_SHOP);
    }
}

static void draw_shop(void) {
    ui_box(SHOP_COL, 0, 15, 9);
    for (int i = 0; i < 3; i++) {
        int pal = i == ST.menu_cursor ? BGPAL_UI_HI : BGPAL_UI;
        if (i == ST.menu_cursor) ui_fill(SHOP_COL + 3, 2 + 2 * i, 11, 1, pal);
        ui_text(SHOP_COL + 3, 2 + 2 * i, shop_entries[i], pal);
    }
    str_num(str_put(dyn_text[2], "MONEY $"), ST.money);
    ui_message_box("What would you like?", dyn_text[2]);
}

/* ---- title (MODE_BOOT) -------------------------------------------------------------------------- */

void title_draw(void) { draw_metatiles(&quest_map_data[quest_map_offset[MAP_HOME_TOWN]]); }
