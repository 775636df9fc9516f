/* Declarations shared by MiniMon Quest's modules and the engine (engine/engine.h) it is
   built on. */
#ifndef QUEST_GAME_H
#define QUEST_GAME_H

#include "gba.h"
#include "state.h"

#define MAP_W 15 /* the screen in 16x16 metatiles (the engine's draw_metatiles) */
#define MAP_H 10

/* The engine's constants, for this game */
#define GAME_LAYOUT_VERSION QUEST_LAYOUT_VERSION
#define UI_WATCHED_BYTE ST.money /* its low byte: a change redraws the text layer */
#define STARTERS {0, 1, 3}       /* FLAMIN, AQUAPUP, GRASSY */
#define MENU_NO_MON_HINT "PROF. HAZEL is on ROUTE 1."
#define STARTER_RECEIVED_HINT "The gate north is open!"
#define ENEMY_MON(species) (species)
#define ENEMY_ATTACK_TEXT " attacked!"
#define PLAYER_BOX_ROW 8 /* one row higher: the box has a type line */

/* ui.c: dialog ids and what happens after a dialog's last page */
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

#include "engine.h"

/* ui.c */
void shop_open(void);
void shop_update(void);
extern const u8 mon_types[7];
extern const char *const type_names[3];

/* battle.c */
void battle_start(int kind, int species, int hp, int attack);

#endif
