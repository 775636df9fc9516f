/* The trainer battle: its own screen, a 2x2 command box, one message per action.

   Balance (README "Battle"): the player has 25 HP and TACKLE does 4-6; the enemy has
   12-20 HP and hits for attack+0..2 with attack 2-4 (seeded). Always choosing TACKLE
   needs at most 5 hits, so the enemy hits at most 4 times for at most 6: 24 < 25, a win
   for every seed. Every command uses the turn (RUN and an empty POTION too), so random
   commands often lose. */
#include "game.h"
#include "assets.h"

#define TACKLE_MIN 4
#define POTION_HEAL 10

static const char *const commands[4] = {"TACKLE", "GROWL", "POTION", "RUN"};
static char line1[32], line2[32];

static const char *player_name(void) { return mon_names[ST.starter_id]; }
static const char *enemy_name(void) { return mon_names[3 + ST.enemy_species]; }

static void say(int phase, int turn) {
    ST.battle_phase = (u8)phase;
    ST.battle_turn = (u8)turn;
    ui_bump();
}

void battle_start(void) {
    ST.mode = MODE_BATTLE;
    ST.battle_cursor = CMD_TACKLE;
    ST.potion_used = 0;
    ST.enemy_hp = ST.enemy_max_hp;
    ST.enemy_attack = ST.enemy_base_attack;
    for (int r = 0; r < 20; r++)
        for (int c = 0; c < 30; c++) bg_map[r * 32 + c] = battle_bg_map[r * 30 + c];
    bg_dirty = 1;
    str_put(str_put(str_put(line1, "KAI sent out "), enemy_name()), "!");
    str_put(str_put(str_put(line2, "Go, "), player_name()), "!");
    say(BP_INTRO, 1);
}

static char *damage_line(char *dst, const char *who, int dmg) {
    dst = str_put(dst, who);
    dst = str_put(dst, " took ");
    dst = str_num(dst, (u32)dmg);
    return str_put(dst, " damage.");
}

static void player_acts(int cmd) {
    line2[0] = 0;
    char *s = str_put(str_put(str_put(line1, player_name()), " used "), commands[cmd]);
    str_put(s, "!");
    switch (cmd) {
    case CMD_TACKLE: {
        int dmg = TACKLE_MIN + (int)pick(rng_next(), 3);
        ST.enemy_hp = (u8)(ST.enemy_hp > dmg ? ST.enemy_hp - dmg : 0);
        damage_line(line2, enemy_name(), dmg);
        break;
    }
    case CMD_GROWL:
        if (ST.enemy_attack > 1) {
            ST.enemy_attack--;
            str_put(str_put(line2, enemy_name()), "'s attack fell!");
        } else {
            str_put(line2, "It has no effect now.");
        }
        break;
    case CMD_POTION:
        if (!ST.potion_used) {
            int heal = ST.player_max_hp - ST.player_hp;
            heal = heal > POTION_HEAL ? POTION_HEAL : heal;
            ST.player_hp = (u8)(ST.player_hp + heal);
            ST.potion_used = 1;
            str_put(line1, "You used a POTION!");
            str_put(str_num(str_put(str_put(line2, player_name()), " got back "), (u32)heal), " HP.");
        } else {
            str_put(line1, "No potions left!");
            str_put(line2, "The turn is lost.");
        }
        break;
    default:
        str_put(line1, "Can't run from a");
        str_put(line2, "trainer battle!");
        break;
    }
    say(BP_PLAYER_MSG, 0);
}

static void enemy_acts(void) {
    int dmg = ST.enemy_attack + (int)pick(rng_next(), 3);
    ST.player_hp = (u8)(ST.player_hp > dmg ? ST.player_hp - dmg : 0);
    str_put(str_put(line1, enemy_name()), " used TACKLE!");
    damage_line(line2, player_name(), dmg);
    say(BP_ENEMY_MSG, 1);
}

void battle_update(void) {
    u16 k = keys_pressed;
    switch (ST.battle_phase) {
    case BP_INTRO:
        if (k & KEY_A) say(BP_COMMAND, 0);
        break;
    case BP_COMMAND:
        if (k & KEY_UP) ST.battle_cursor &= (u8)~2;
        else if (k & KEY_DOWN) ST.battle_cursor |= 2;
        else if (k & KEY_LEFT) ST.battle_cursor &= (u8)~1;
        else if (k & KEY_RIGHT) ST.battle_cursor |= 1;
        else if (k & KEY_A) player_acts(ST.battle_cursor);
        break;
    case BP_PLAYER_MSG:
        if (!(k & KEY_A)) break;
        if (ST.enemy_hp == 0) {
            ST.milestones |= 1u << MS_WON_BATTLE;
            ST.trainer_beaten = 1;
            str_put(str_put(line1, enemy_name()), " fainted!");
            str_put(line2, "You won the battle!");
            say(BP_WIN, 0);
        } else {
            enemy_acts();
        }
        break;
    case BP_ENEMY_MSG:
        if (!(k & KEY_A)) break;
        if (ST.player_hp == 0) {
            ST.battles_lost++;
            str_put(str_put(line1, player_name()), " fainted!");
            str_put(line2, "You lost the battle...");
            say(BP_LOSE, 1);
        } else {
            say(BP_COMMAND, 0);
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
#define PLAYER_BOX_ROW 9
#define CMD_BOX_COL 10
#define CMD_COL(i) (CMD_BOX_COL + 3 + ((i) & 1) * 9)
#define CMD_ROW(i) (15 + ((i) >> 1) * 2)

static void status_box(int col, int row, const char *name, int hp, int max_hp) {
    ui_box(col, row, 14, 5);
    ui_text(col + 2, row + 1, name, BGPAL_UI);
    ui_hp_bar(col + 2, row + 2, hp, max_hp);
    char buf[16];
    char *s = str_num(str_put(buf, "HP "), (u32)hp);
    s = str_put(s, "/");
    str_num(s, (u32)max_hp);
    ui_text(col + 2, row + 3, buf, BGPAL_UI);
}

void battle_draw_ui(void) {
    status_box(ENEMY_BOX_COL, ENEMY_BOX_ROW, enemy_name(), ST.enemy_hp, ST.enemy_max_hp);
    status_box(PLAYER_BOX_COL, PLAYER_BOX_ROW, player_name(), ST.player_hp, ST.player_max_hp);
    if (ST.battle_phase == BP_COMMAND) {
        ui_box(0, 14, CMD_BOX_COL, 6);
        ui_text(2, 15, "YOUR", BGPAL_UI);
        ui_text(2, 17, "TURN!", BGPAL_UI);
        ui_box(CMD_BOX_COL, 14, 30 - CMD_BOX_COL, 6);
        for (int i = 0; i < 4; i++) {
            int sel = i == ST.battle_cursor;
            int pal = sel ? BGPAL_UI_HI : BGPAL_UI;
            if (sel) ui_fill(CMD_COL(i) - 1, CMD_ROW(i), 7, 2, pal);
            ui_text(CMD_COL(i), CMD_ROW(i), commands[i], pal);
        }
    } else {
        ui_message_box(line1, line2);
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
    if (ST.battle_phase != BP_WIN)
        obj_square64(156, 4, OBJ_MON_BASE + (3 + ST.enemy_species) * 64, OBJPAL_MON_FLAMIN + 3 + ST.enemy_species, 1, 0);
    if (ST.battle_phase != BP_LOSE)
        obj_square64(32, 44, OBJ_MON_BASE + ST.starter_id * 64, OBJPAL_MON_FLAMIN + ST.starter_id, 1, 1);
}
