/* The classic game's words in the engine's UI (engine/ui.c): type labels, the bag, the
   starter's gate, and the title screen. */
#include "game.h"
#include "assets.h"

static const char *const type_labels[3] = {"Fire type", "Water type", "Spark type"};

const char *mon_type_label(int mon) { return type_labels[mon]; }
const char *menu_type_line(int mon) { return type_labels[mon]; }

Page menu_bag_page(void) { return (Page){"POTION x1", "Heals 10 HP once a battle."}; }

void starter_chosen(void) {
    ST.milestones |= 1u << MS_GOT_STARTER;
    ST.gate_open = 1;
}

/* ---- title (MODE_BOOT) ------------------------------------------------------------------------ */

void title_draw(void) { draw_metatiles(map_metatiles[MAP_TOWN]); }

void ui_draw_game_mode(void) {
    if (ST.mode != MODE_BOOT) return;
    ui_box(7, 6, 16, 6);
    ui_text(11, 8, "MINIMON", BGPAL_UI);
    ui_text(9, 10, "a pokeil-jax game", BGPAL_UI);
}

void ui_game_sprites(void) {}
