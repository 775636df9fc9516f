/* MiniMon Quest's words in the engine's UI (engine/ui.c): the three types, the bag, the
   starter, and the shop (mode SHOP). */
#include "game.h"
#include "assets.h"

const u8 mon_types[7] = {TYPE_FIRE, TYPE_WATER, TYPE_FIRE, TYPE_GRASS, TYPE_FIRE, TYPE_GRASS, TYPE_WATER};
const char *const type_names[3] = {"FIRE", "WATER", "GRASS"};

const char *mon_type_label(int mon) { return type_names[mon_types[mon]]; }

const char *menu_type_line(int mon) {
    str_put(str_put(dyn_text[1], type_names[mon_types[mon]]), " type");
    return dyn_text[1];
}

Page menu_bag_page(void) {
    str_num(str_put(dyn_text[0], "MONEY $"), ST.money);
    char *s = str_put(dyn_text[1], "");
    if (ST.items & ITEM_PASS) s = str_put(s, "PASS ");
    if (ST.items & ITEM_SAW) s = str_put(s, "SAW ");
    if (!ST.items) str_put(s, "No items yet.");
    return (Page){dyn_text[0], dyn_text[1]};
}

void starter_chosen(void) { ST.milestones |= 1u << MS_STARTER_CHOSEN; }

/* ---- the shop (PINE CITY's clerk) ---------------------------------------------------------------- */

#define SODA_PRICE 30
#define SODA_HEAL 20
#define SAW_PRICE 300
static const char *const shop_entries[3] = {"SODA   $30", "SAW   $300", "EXIT"};
/* Once the SAW is yours its row says so, as a real shop shows what is in your bag: otherwise
   only the money line would tell "buy it" from "bought it, leave" (the status corner is hidden here). */
static const char *const shop_entries_owned[3] = {"SODA   $30", "SAW  OWNED", "EXIT"};
#define SHOP_COL 15

void shop_open(void) {
    ST.mode = MODE_SHOP;
}

void shop_update(void) {
    if (keys_pressed & KEY_B) {
        ST.mode = MODE_OVERWORLD;
        ST.menu_cursor = 0;
    } else if (ui_list_cursor(&ST.menu_cursor, 3)) {
        return;
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

/* Whether the money buys the SAW you do not have yet: the money is then shown on yellow. */
static int saw_affordable(void) { return !(ST.items & ITEM_SAW) && ST.money >= SAW_PRICE; }

/* One line of text, on a yellow bar fill_w tiles wide when highlighted, else on the box's white. */
static void draw_label(int col, int row, const char *text, int fill_w, int highlighted) {
    if (highlighted) ui_fill(col, row, fill_w, 1, BGPAL_UI_HI);
    ui_text(col, row, text, highlighted ? BGPAL_UI_HI : BGPAL_UI);
}

/* The money line is on yellow once it buys the SAW, as in the status corner (hidden here): else
   "buy the SAW" and "leave and battle for more" differ only in a few small digits. */
static void draw_shop(void) {
    ui_list_box(SHOP_COL, 15, (ST.items & ITEM_SAW) ? shop_entries_owned : shop_entries, 11);
    str_num(str_put(dyn_text[2], "MONEY $"), ST.money);
    ui_message_box("What would you like?", "");
    draw_label(2, 17, dyn_text[2], 12, saw_affordable());
}

/* The overworld's status corner (outside the MAZE, once you have a MiniMon): HP bar, money
   (yellow once it buys the SAW) and key items, the SAW in yellow from the RANGER's task until it
   is bought. The scripted expert decides on these (a nurse when HP is low, the shop or more
   battles, where the PASS lets you go); showing them keeps every screen enough to act on: without
   the task's SAW, ROUTE 2 short of $300 looks the same on the way to PINE CITY (walk on) as after
   the task (stay in the grass for battles). It covers map row 0 from x = 0 to 6, a wall on every
   map. */
static void draw_status(void) {
    ui_fill(0, 0, 14, 2, BGPAL_UI);
    ui_text(0, 0, "HP", BGPAL_UI);
    ui_hp_bar(2, 0, ST.player_hp, ST.player_max_hp);
    str_num(str_put(dyn_text[3], "$"), ST.money);
    draw_label(0, 1, dyn_text[3], 5, saw_affordable());
    if (ST.items & ITEM_PASS) ui_text(6, 1, "PASS", BGPAL_UI);
    if ((ST.items & ITEM_SAW) || (ST.flags & FLAG_TASK_GIVEN))
        draw_label(11, 1, "SAW", 3, !(ST.items & ITEM_SAW));
}

void ui_draw_game_mode(void) {
    if (ST.mode == MODE_SHOP) draw_shop();
    if ((ST.mode == MODE_OVERWORLD || ST.mode == MODE_WARP) && ST.map_id != MAP_MAZE &&
        ST.starter_id != STARTER_NONE)
        draw_status();
}

void ui_game_sprites(void) {
    if (ST.mode == MODE_SHOP) ui_list_cursor_sprite(SHOP_COL);
}

void game_mode_update(void) {
    if (ST.mode == MODE_SHOP) shop_update();
}

/* ---- title (MODE_BOOT) -------------------------------------------------------------------------- */

void title_draw(void) { draw_metatiles(&quest_map_data[quest_map_offset[MAP_HOME_TOWN]]); }
