/* The trainer battle's rules (the screen and the turns are engine/battle.c's).

   Balance (README "Battle"): the player has 25 HP and TACKLE does 4-6; the enemy has
   12-20 HP and hits for attack+0..2 with attack 2-4 (seeded). Always choosing TACKLE
   needs at most 5 hits, so the enemy hits at most 4 times for at most 6: 24 < 25, a win
   for every seed. Every command uses the turn (RUN and an empty POTION too), so random
   commands often lose. */
#include "game.h"
#include "assets.h"

#define TACKLE_MIN 4
#define POTION_HEAL 10

const char *const battle_commands[4] = {"TACKLE", "GROWL", "POTION", "RUN"};

void battle_start(void) {
    ST.mode = MODE_BATTLE;
    ST.battle_cursor = CMD_TACKLE;
    ST.potion_used = 0;
    ST.enemy_hp = ST.enemy_max_hp;
    ST.enemy_attack = ST.enemy_base_attack;
    for (int r = 0; r < 20; r++)
        for (int c = 0; c < 30; c++) bg_map[r * 32 + c] = battle_bg_map[r * 30 + c];
    bg_dirty = 1;
    str_put(str_put(str_put(battle_line1, "KAI sent out "), enemy_mon_name()), "!");
    battle_intro();
}

void battle_player_acts(int cmd) {
    char *line1 = battle_line1, *line2 = battle_line2;
    line2[0] = 0;
    char *s = str_put(str_put(str_put(line1, player_mon_name()), " used "), battle_commands[cmd]);
    str_put(s, "!");
    switch (cmd) {
    case CMD_TACKLE: {
        int dmg = TACKLE_MIN + (int)pick(rng_next(), 3);
        ST.enemy_hp = (u8)(ST.enemy_hp > dmg ? ST.enemy_hp - dmg : 0);
        damage_line(line2, enemy_mon_name(), dmg);
        break;
    }
    case CMD_GROWL:
        if (ST.enemy_attack > 1) {
            ST.enemy_attack--;
            str_put(str_put(line2, enemy_mon_name()), "'s attack fell!");
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
            str_put(str_num(str_put(str_put(line2, player_mon_name()), " got back "), (u32)heal), " HP.");
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
    battle_say(BP_PLAYER_MSG, 0);
}

void battle_won(void) {
    ST.milestones |= 1u << MS_WON_BATTLE;
    ST.trainer_beaten = 1;
    str_put(battle_line2, "You won the battle!");
}

const char *player_type_label(void) { return 0; } /* no types in the classic game */
const char *enemy_type_label(void) { return 0; }
