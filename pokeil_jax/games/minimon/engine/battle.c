/* The battle screen: the enemy's and your status boxes, a 2x2 command box, one message per
   action, and the turn phases (state.h's BattlePhase). What a command does, what a win pays
   and how a battle starts are the game's (its battle.c). */
#include "game.h"
#include "assets.h"

char battle_line1[32], battle_line2[32];

const char *player_mon_name(void) { return mon_names[ST.starter_id]; }
const char *enemy_mon_name(void) { return mon_names[ENEMY_MON(ST.enemy_species)]; }

void battle_say(int phase, int turn) {
    ST.battle_phase = (u8)phase;
    ST.battle_turn = (u8)turn;
    ui_bump();
}

void battle_intro(void) {
    str_put(str_put(str_put(battle_line2, "Go, "), player_mon_name()), "!");
    battle_say(BP_INTRO, 1);
}

char *damage_line(char *dst, const char *who, int dmg) {
    dst = str_put(dst, who);
    dst = str_put(dst, " took ");
    dst = str_num(dst, (u32)dmg);
    return str_put(dst, " damage.");
}

static void enemy_acts(void) {
    int dmg = ST.enemy_attack + (int)pick(rng_next(), 3);
    ST.player_hp = (u8)(ST.player_hp > dmg ? ST.player_hp - dmg : 0);
    str_put(str_put(battle_line1, enemy_mon_name()), ENEMY_ATTACK_TEXT);
    damage_line(battle_line2, player_mon_name(), dmg);
    battle_say(BP_ENEMY_MSG, 1);
}

void battle_update(void) {
    u16 k = keys_pressed;
    switch (ST.battle_phase) {
    case BP_INTRO:
        if (k & KEY_A) battle_say(BP_COMMAND, 0);
        break;
    case BP_COMMAND:
        if (k & KEY_UP) ST.battle_cursor &= (u8)~2;
        else if (k & KEY_DOWN) ST.battle_cursor |= 2;
        else if (k & KEY_LEFT) ST.battle_cursor &= (u8)~1;
        else if (k & KEY_RIGHT) ST.battle_cursor |= 1;
        else if (k & KEY_A) battle_player_acts(ST.battle_cursor);
        break;
    case BP_PLAYER_MSG:
        if (!(k & KEY_A)) break;
        if (ST.enemy_hp == 0) {
            battle_won();
            str_put(str_put(battle_line1, enemy_mon_name()), " fainted!");
            battle_say(BP_WIN, 0);
        } else {
            enemy_acts();
        }
        break;
    case BP_ENEMY_MSG:
        if (!(k & KEY_A)) break;
        if (ST.player_hp == 0) {
            ST.battles_lost++;
            str_put(str_put(battle_line1, player_mon_name()), " fainted!");
            str_put(battle_line2, "You lost the battle...");
            battle_say(BP_LOSE, 1);
        } else {
            battle_say(BP_COMMAND, 0);
        }
        break;
    case BP_WIN:
        if (k & KEY_A) world_after_battle(1);
        break;
    case BP_LOSE:
        if (k & KEY_A) world_after_battle(0);
        break;
    }
}

/* ---- drawing ------------------------------------------------------------------------------- */

#define ENEMY_BOX_COL 0
#define ENEMY_BOX_ROW 0
#define PLAYER_BOX_COL 16
#define CMD_BOX_COL 10
#define CMD_COL(i) (CMD_BOX_COL + 3 + ((i) & 1) * 9)
#define CMD_ROW(i) (15 + ((i) >> 1) * 2)

/* Name, HP bar, "HP n/m" and, where the game has types, the type. */
static void status_box(int col, int row, const char *name, const char *type, int hp, int max_hp) {
    ui_box(col, row, 14, type ? 6 : 5);
    ui_text(col + 2, row + 1, name, BGPAL_UI);
    ui_hp_bar(col + 2, row + 2, hp, max_hp);
    char buf[16];
    char *s = str_num(str_put(buf, "HP "), (u32)hp);
    s = str_put(s, "/");
    str_num(s, (u32)max_hp);
    ui_text(col + 2, row + 3, buf, BGPAL_UI);
    if (type) ui_text(col + 2, row + 4, type, BGPAL_UI_HI);
}

void battle_draw_ui(void) {
    status_box(ENEMY_BOX_COL, ENEMY_BOX_ROW, enemy_mon_name(), enemy_type_label(), ST.enemy_hp, ST.enemy_max_hp);
    status_box(PLAYER_BOX_COL, PLAYER_BOX_ROW, player_mon_name(), player_type_label(), ST.player_hp,
               ST.player_max_hp);
    if (ST.battle_phase == BP_COMMAND) {
        ui_box(0, 14, CMD_BOX_COL, 6);
        ui_text(2, 15, "YOUR", BGPAL_UI);
        ui_text(2, 17, "TURN!", BGPAL_UI);
        ui_box(CMD_BOX_COL, 14, 30 - CMD_BOX_COL, 6);
        for (int i = 0; i < 4; i++) {
            int sel = i == ST.battle_cursor;
            int pal = sel ? BGPAL_UI_HI : BGPAL_UI;
            if (sel) ui_fill(CMD_COL(i) - 1, CMD_ROW(i), 7, 2, pal);
            ui_text(CMD_COL(i), CMD_ROW(i), battle_commands[i], pal);
        }
    } else {
        ui_message_box(battle_line1, battle_line2);
    }
}

void battle_sprites(void) {
    if (ST.battle_phase == BP_COMMAND) {
        obj_square16(CMD_COL(ST.battle_cursor) * 8 - 18, CMD_ROW(ST.battle_cursor) * 8, OBJ_CURSOR, OBJPAL_UI, 0, 0);
    } else {
        ui_arrow_sprite();
    }
    /* The star marks whose turn it is. */
    if (ST.battle_phase == BP_COMMAND || ST.battle_phase == BP_PLAYER_MSG)
        obj_square16(PLAYER_BOX_COL * 8 - 18, PLAYER_BOX_ROW * 8 + 12, OBJ_STAR, OBJPAL_UI, 0, 0);
    else if (ST.battle_phase == BP_ENEMY_MSG)
        obj_square16(14 * 8 + 2, ENEMY_BOX_ROW * 8 + 12, OBJ_STAR, OBJPAL_UI, 0, 0);
    int enemy = ENEMY_MON(ST.enemy_species);
    if (ST.battle_phase != BP_WIN)
        obj_square64(156, 4, OBJ_MON_BASE + enemy * 64, OBJPAL_MON_FLAMIN + enemy, 1, 0);
    if (ST.battle_phase != BP_LOSE)
        obj_square64(32, 44, OBJ_MON_BASE + ST.starter_id * 64, OBJPAL_MON_FLAMIN + ST.starter_id, 1, 1);
}
