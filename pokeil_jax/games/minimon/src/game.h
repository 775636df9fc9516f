/* Declarations shared by the classic game's modules and the engine (engine/engine.h) it is
   built on. Game state lives in the RAM contract (state.h, `ST`); the few private variables
   each module needs stay in that module. */
#ifndef MINIMON_GAME_H
#define MINIMON_GAME_H

#include "gba.h"
#include "state.h"

/* The engine's constants, for this game */
#define GAME_LAYOUT_VERSION MINIMON_LAYOUT_VERSION
#define UI_WATCHED_BYTE ST.enemy_max_hp /* a change redraws the text layer */
#define STARTERS {0, 1, 2}              /* the choice's three MiniMon (mon_names indices) */
#define MENU_NO_MON_HINT "Visit PROF. HAZEL's lab!"
#define STARTER_RECEIVED_HINT "The north gate is open!"
#define ENEMY_MON(species) (3 + (species)) /* enemies are the four non-starters */
#define ENEMY_ATTACK_TEXT " used TACKLE!"
#define PLAYER_BOX_ROW 9

/* ui.c: dialog ids and what happens after a dialog's last page */
enum DialogEnd {
    END_OVERWORLD, END_CHOICE, END_RECEIVED, END_BATTLE, END_TRAINER_STEPS_ASIDE,
    END_BLACKOUT, END_MENU,
};
enum DialogId {
    DLG_NONE = 0, DLG_MOM = 1, DLG_PROF_INTRO = 2, DLG_PROF_LATER = 3, DLG_RECEIVED = 4,
    DLG_TRAINER_CHALLENGE = 5, DLG_TRAINER_LOST = 6, DLG_TRAINER_LATER = 7, DLG_BLACKOUT = 8,
    DLG_SIGN = 9, DLG_GATE_LOCKED = 10, DLG_MENU_MON = 11, DLG_MENU_BAG = 12, DLG_ARRIVED = 13,
};

#include "engine.h"

/* battle.c */
void battle_start(void);

#endif
