/* MiniMon Quest's battle rules: wild MiniMon, the rival and the gym leader; four moves and
   a three-type chart, HP that carries over, money for every win (the screen and the turns
   are engine/battle.c's).

   Type chart: FIRE beats GRASS, WATER beats FIRE, GRASS beats WATER. A typed move does
   5..7 damage, twice that against the type it beats, half (rounded down) against the
   other two; TACKLE does 5..7 against anything. So the right move is the one whose type
   beats the type shown in the enemy's box (README "MiniMon Quest": battle). */
#include "game.h"
#include "assets.h"

#define MOVE_MIN 5

const char *const battle_commands[4] = {"EMBER", "BUBBLE", "LEAF", "TACKLE"};
static const u8 beats[3] = {TYPE_GRASS, TYPE_FIRE, TYPE_WATER};
static u16 reward;

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
        str_put(str_put(str_put(battle_line1, "A wild "), enemy_mon_name()), " appeared!");
    } else {
        const char *trainer = kind == BK_RIVAL ? "BLAZE sent out " : "ROXY sent out ";
        str_put(str_put(str_put(battle_line1, trainer), enemy_mon_name()), "!");
    }
    battle_intro();
}

void battle_player_acts(int move) {
    str_put(str_put(str_put(str_put(battle_line1, player_mon_name()), " used "), battle_commands[move]), "!");
    int dmg = MOVE_MIN + (int)pick(rng_next(), 3);
    if (move != MV_TACKLE && beats[move] == ST.enemy_type) {
        dmg *= 2;
        str_num(str_put(battle_line2, "Super effective! -"), (u32)dmg);
    } else if (move != MV_TACKLE) {
        dmg /= 2;
        str_num(str_put(battle_line2, "Not very effective. -"), (u32)dmg);
    } else {
        damage_line(battle_line2, enemy_mon_name(), dmg);
    }
    ST.enemy_hp = (u8)(ST.enemy_hp > dmg ? ST.enemy_hp - dmg : 0);
    battle_say(BP_PLAYER_MSG, 0);
}

void battle_won(void) {
    ST.battles_won++;
    ST.money = (u16)(ST.money + reward > 9999 ? 9999 : ST.money + reward);
    if (ST.battle_kind == BK_RIVAL) ST.milestones |= 1u << MS_RIVAL_BEATEN;
    if (ST.battle_kind == BK_LEADER) ST.milestones |= 1u << MS_LEADER_BEATEN;
    str_put(str_num(str_put(battle_line2, "You won and got $"), reward), "!");
}

const char *player_type_label(void) { return type_names[mon_types[ST.starter_id]]; }
const char *enemy_type_label(void) { return type_names[ST.enemy_type]; }
