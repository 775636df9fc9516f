/* Boot protocol, the once-per-VBlank main loop, and input. The game's hooks run the modes
   the engine does not know and a scrolling map (engine.h). */
#include "game.h"

MiniMonState minimon_state __attribute__((section(".ewram_state")));

u16 keys_held, keys_pressed;
static u16 keys_prev;

static void keys_update(void) {
    u16 k = (u16)(~REG_KEYINPUT & KEY_MASK);
    keys_pressed = k & (u16)~keys_prev;
    keys_held = k;
    keys_prev = k;
}

static void game_update(void) {
    switch (ST.mode) {
    case MODE_BOOT:
        if (ST.seed_ready == SEED_READY_WRITTEN) {
            world_new_game(ST.seed);
            ST.seed_ready = SEED_READY_CONSUMED;
        }
        break;
    case MODE_OVERWORLD: overworld_update(); break;
    case MODE_DIALOG: dialog_update(); break;
    case MODE_START_MENU: menu_update(); break;
    case MODE_CHOICE: choice_update(); break;
    case MODE_BATTLE: battle_update(); break;
    case MODE_WARP: warp_update(); break;
    default: game_mode_update(); break;
    }
}

static void game_render(void) {
    obj_begin();
    if (ST.mode == MODE_BATTLE) {
        battle_sprites();
    } else if (ST.mode != MODE_BOOT) {
        ui_sprites(); /* first: UI sprites win over map sprites */
        world_sprites();
        world_redraw();
    }
    obj_end();
    ui_render();
}

int main(void) {
    video_init();
    ST.layout_version = GAME_LAYOUT_VERSION;
    ST.state_size = sizeof(MiniMonState);
    ST.mode = MODE_BOOT;
    ST.starter_id = STARTER_NONE;
    title_draw();
    REG_DISPSTAT = DSTAT_VBL_IRQ;
    REG_IE = IRQ_VBLANK;
    REG_IME = 1;
    ST.magic = MINIMON_MAGIC; /* last: the host waits for it */
    for (;;) {
        vblank_intr_wait(); /* halt: the emulator idles until the next frame */
        video_present();
        world_scroll_registers();
        keys_update();
        game_update();
        game_render();
    }
}
