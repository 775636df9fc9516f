/* The head of the RAM contract both games share: the engine (and the host's boot protocol)
   reads these fields at these offsets in either game's MiniMonState. Each game's state.h
   includes this after its struct; the tests read these asserts with the game's own. */
#ifndef MINIMON_STATE_HEAD_H
#define MINIMON_STATE_HEAD_H

_Static_assert(offsetof(MiniMonState, magic) == 0x00, "magic");
_Static_assert(offsetof(MiniMonState, layout_version) == 0x04, "layout_version");
_Static_assert(offsetof(MiniMonState, state_size) == 0x06, "state_size");
_Static_assert(offsetof(MiniMonState, seed) == 0x08, "seed");
_Static_assert(offsetof(MiniMonState, seed_ready) == 0x0C, "seed_ready");
_Static_assert(offsetof(MiniMonState, frame_counter) == 0x10, "frame_counter");
_Static_assert(offsetof(MiniMonState, milestones) == 0x14, "milestones");
_Static_assert(offsetof(MiniMonState, mode) == 0x18, "mode");
_Static_assert(offsetof(MiniMonState, map_id) == 0x19, "map_id");
_Static_assert(offsetof(MiniMonState, player_x) == 0x1A, "player_x");
_Static_assert(offsetof(MiniMonState, player_y) == 0x1B, "player_y");
_Static_assert(offsetof(MiniMonState, facing) == 0x1C, "facing");
_Static_assert(offsetof(MiniMonState, walking) == 0x1D, "walking");
_Static_assert(offsetof(MiniMonState, walk_progress) == 0x1E, "walk_progress");
_Static_assert(offsetof(MiniMonState, warp_timer) == 0x1F, "warp_timer");
_Static_assert(offsetof(MiniMonState, dialog_page) == 0x20, "dialog_page");
_Static_assert(offsetof(MiniMonState, dialog_pages) == 0x21, "dialog_pages");
_Static_assert(offsetof(MiniMonState, dialog_id) == 0x22, "dialog_id");
_Static_assert(offsetof(MiniMonState, menu_cursor) == 0x23, "menu_cursor");
_Static_assert(offsetof(MiniMonState, choice_cursor) == 0x24, "choice_cursor");
_Static_assert(offsetof(MiniMonState, starter_id) == 0x25, "starter_id");
_Static_assert(offsetof(MiniMonState, battle_phase) == 0x26, "battle_phase");
_Static_assert(offsetof(MiniMonState, battle_cursor) == 0x27, "battle_cursor");
_Static_assert(offsetof(MiniMonState, battle_turn) == 0x28, "battle_turn");
_Static_assert(offsetof(MiniMonState, player_hp) == 0x2A, "player_hp");
_Static_assert(offsetof(MiniMonState, player_max_hp) == 0x2B, "player_max_hp");
_Static_assert(offsetof(MiniMonState, enemy_hp) == 0x2C, "enemy_hp");
_Static_assert(offsetof(MiniMonState, enemy_max_hp) == 0x2D, "enemy_max_hp");
_Static_assert(offsetof(MiniMonState, enemy_species) == 0x2E, "enemy_species");

#endif
