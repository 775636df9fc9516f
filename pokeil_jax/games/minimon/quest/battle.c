/* MiniMon Quest's battles: wild MiniMon, the rival and the gym leader; four moves and a
   three-type chart, HP that carries over, money for every win.

   Type chart: FIRE beats GRASS, WATER beats FIRE, GRASS beats WATER. A typed move does
   5..7 damage, twice that against the type it beats, half (rounded down) against the
   other two; TACKLE does 5..7 against anything. So the right move is the one whose type
   beats the type shown in the enemy's box (README "MiniMon Quest": battle). */
#include "game.h"
#include "assets.h"

#define MOVE_MIN 5

static const char *const move_names[4] = {"EMBER", "BUBBLE", "LEAF", "TACKLE"};
static const u8 beats[3] = {TYPE_GRASS, TYPE_FIRE, TYPE_WATER};
static char line1[32], line2[32];
static u16 reward;

static const char *player_name(void) { return mon_names[ST.starter_id]; }
static const char *enemy_name(void) { return mon_names[ST.enemy_species]; }

static void say(int phase, int turn) {
    ST.battle_phase = (u8)phase;
    ST.battle_turn = (u8)turn;
    ui_bump();
}

void battle_start(int kind, int species, int hp, int attack) {
    ST.mode = MODE_BATTLE;
    ST.battle_kind = (u8)kind;
    ST.enemy_species = (u8)species;
    ST.enemy_type = mon_types[species];
    ST.enemy_max_hp = (u8)hp;
    ST.enemy_hp = (u8)hp;
    ST.enemy_attack = (u8)attack;
    ST.battle_cursor = MV_TACKLE;
    reward = kind == BK_WILD ? (u16)(8 + pick(rng_next(), 9)) : kind == BK_RIVAL ? 100 : 300;
    for (int r = 0; r < 20; r++)
        for (int c = 0; c < 30; c++) bg_map[r * 32 + c] = battle_bg_map[r * 30 + c];
    for (int r = 20; r < 32; r++)
        for (int c = 0; c < 32; c++) bg_map[r * 32 + c] = 0;
    for (int r = 0; r < 20; r++) bg_map[r * 32 + 30] = bg_map[r * 32 + 31] = 0;
    bg_dirty = 1;
    if (kind == BK_WILD) {
        str_put(str_put(str_put(line1, "A wild "), enemy_name()), " appeared!");
    } else {
        str_put(str_put(str_put(line1, kind == BK_RIVAL ? "BLAZE sent out " : "ROXY sent out "), enemy_name()), "!");
    }
    str_put(str_put(str_put(line2, "Go, "), player_name()), "!");
    say(BP_INTRO, 1);
}

static char *damage_line(char *dst, const char *who, int dmg) {
    dst = str_put(dst, who);
    dst = str_put(dst, " took ");
    dst = str_num(dst, (u32)dmg);
    return str_put(dst, " damage.");
}

static void player_acts(int move) {
    str_put(str_put(str_put(str_put(line1, player_name()), " used "), move_names[move]), "!");
    int dmg = MOVE_MIN + (int)pick(rng_next(), 3);
    if (move != MV_TACKLE && beats[move] == ST.enemy_type) {
        dmg *= 2;
        str_num(str_put(line2, "Super effective! -"), (u32)dmg);
    } else if (move != MV_TACKLE) {
        dmg /= 2;
        str_num(str_put(line2, "Not very effective. -"), (u32)dmg);
    } else {
        damage_line(line2, enemy_name(), dmg);
    }
    ST.enemy_hp = (u8)(ST.enemy_hp > dmg ? ST.enemy_hp - dmg : 0);
    say(BP_PLAYER_MSG, 0);
}

static void enemy_acts(void) {
    int dmg = ST.enemy_attack + (int)pick(rng_next(), 3);
    ST.player_hp = (u8)(ST.player_hp > dmg ? ST.player_hp - dmg : 0);
    str_put(str_put(line1, enemy_name()), " attacked!");
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
            ST.battles_won++;
            ST.money = (u16)(ST.money + reward > 9999 ? 9999 : ST.money + reward);
            if (ST.battle_kind == BK_RIVAL) ST.milestones |= 1u << MS_RIVAL_BEATEN;
            if (ST.battle_kind == BK_LEADER) ST.milestones |= 1u << MS_LEADER_BEATEN;
            str_put(str_put(line1, enemy_name()), " fainted!");
            str_put(str_num(str_put(line2, "You won and got $"), reward), "!");
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

/* ---- drawing --------------------------------------------------------------------------------- */

#define ENEMY_BOX_COL 0
#define ENEMY_BOX_ROW 0
#define PLAYER_BOX_COL 16
#define PLAYER_BOX_ROW 9
#define CMD_BOX_COL 10
#define CMD_COL(i) (CMD_BOX_COL + 3 + ((i) & 1) * 9)
#define CMD_ROW(i) (15 + ((i) >> 1) * 2)

static void status_box(int col, int row, const char *name, const char *type, int hp, int max_hp) {
    ui_box(col, row, 14, 6);
    ui_text(col + 2, row + 1, name, BGPAL_UI);
    ui_hp_bar(col + 2, row + 2, hp, max_hp);
    char buf[16];
    char *s = str_num(str_put(buf, "HP "), (u32)hp);
    s = str_put(s, "/");
    str_num(s, (u32)max_hp);
    ui_text(col + 2, row + 3, buf, BGPAL_UI);
    ui_text(col + 2, row + 4, type, BGPAL_UI_HI);
}

void battle_draw_ui(void) {
    status_box(ENEMY_BOX_COL, ENEMY_BOX_ROW, enemy_name(), type_names[ST.enemy_type], ST.enemy_hp, ST.enemy_max_hp);
    status_box(PLAYER_BOX_COL, PLAYER_BOX_ROW - 1, player_name(), type_names[mon_types[ST.starter_id]],
               ST.player_hp, ST.player_max_hp);
    if (ST.battle_phase == BP_COMMAND) {
        ui_box(0, 14, CMD_BOX_COL, 6);
        ui_text(2, 15, "YOUR", BGPAL_UI);
        ui_text(2, 17, "TURN!", BGPAL_UI);
        ui_box(CMD_BOX_COL, 14, 30 - CMD_BOX_COL, 6);
        for (int i = 0; i < 4; i++) {
            int sel = i == ST.battle_cursor;
            int pal = sel ? BGPAL_UI_HI : BGPAL_UI;
            if (sel) ui_fill(CMD_COL(i) - 1, CMD_ROW(i), 7, 2, pal);
            ui_text(CMD_COL(i), CMD_ROW(i), move_names[i], pal);
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
    if (ST.battle_phase == BP_COMMAND || ST.battle_phase == BP_PLAYER_MSG)
        obj_square16(PLAYER_BOX_COL * 8 - 18, PLAYER_BOX_ROW * 8 + 4, OBJ_STAR, OBJPAL_UI, 0, 0);
    else if (ST.battle_phase == BP_ENEMY_MSG)
        obj_square16(14 * 8 + 2, ENEMY_BOX_ROW * 8 + 12, OBJ_STAR, OBJPAL_UI, 0, 0);
    if (ST.battle_phase != BP_WIN)
        obj_square64(156, 4, OBJ_MON_BASE + ST.enemy_species * 64, OBJPAL_MON_FLAMIN + ST.enemy_species, 1, 0);
    if (ST.battle_phase != BP_LOSE)
        obj_square64(32, 44, OBJ_MON_BASE + ST.starter_id * 64, OBJPAL_MON_FLAMIN + ST.starter_id, 1, 1);
}
