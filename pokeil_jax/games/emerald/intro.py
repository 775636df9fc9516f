"""The scripted new game: from the intro movie to the first frame the player controls, seeded.

The script reads the game's state every frame (main callback, tasks, script engine) rather than
counting frames, so it presses a button only where the game listens for it. Addresses and flow
are pret/pokeemerald's (src/main_menu.c's Birch speech, src/naming_screen.c, src/main.c).

Seeding: leaving the player's naming screen, the game seeds its RNG from hardware timer 1 and
keeps the same value as the low half of the trainer ID (src/main.c SeedRngAndSetTrainerId,
called from src/naming_screen.c MainState_Exit); NewGameInitData later draws the high half
with Random() (src/new_game.c InitPlayerTrainerId). At that fixed point of the script this
module overwrites gRngValue and sTrainerId with values chosen by the seed, so every later
random draw of the game (trainer ID, wild encounters, battles) follows the seed.
"""

from __future__ import annotations

from pokeil_jax.actions import BUTTONS
from pokeil_jax.games.emerald import ram as R

# Callbacks and task functions of the new-game flow (pokeemerald.map; stored with the Thumb bit).
CB2_MAIN_MENU = 0x0802F6B1  # CB2_MainMenu (src/main_menu.c)
CB2_NAMING_SCREEN = 0x080E4F59  # CB2_NamingScreen (src/naming_screen.c)
CB2_RETURN_FROM_NAMING_SCREEN = 0x08031679  # CB2_NewGameBirchSpeech_ReturnFromNamingScreen
CB2_NEW_GAME = 0x08085EF9  # CB2_NewGame (src/overworld.c)
TASK_RETURN_FROM_NAMING_SCREEN = 0x0803261D  # Task_NewGameBirchSpeech_ReturnFromNamingScreenShowTextbox
TASK_CHOOSE_GENDER = 0x08030E39  # Task_NewGameBirchSpeech_ChooseGender
# The tasks that lead to it: "Are you a boy or a girl?" is printed, then the menu opens.
TASK_BOY_OR_GIRL = 0x08030DC9  # Task_NewGameBirchSpeech_BoyOrGirl
TASK_WAIT_TO_SHOW_GENDER_MENU = 0x08030E09  # Task_NewGameBirchSpeech_WaitToShowGenderMenu

A, START, DOWN = (BUTTONS.index(b) for b in ("A", "START", "DOWN"))

# Emerald's character table (pret/pokeemerald charmap.txt) for the characters a name may use.
CHARMAP = {" ": 0x00, "!": 0xAB, "?": 0xAC, ".": 0xAD, "-": 0xAE}
CHARMAP.update({chr(ord("0") + i): 0xA1 + i for i in range(10)})
CHARMAP.update({chr(ord("A") + i): 0xBB + i for i in range(26)})
CHARMAP.update({chr(ord("a") + i): 0xD5 + i for i in range(26)})
EOS = 0xFF

SEED_SPACE = 2**32  # a seed chooses gRngValue (u32): seeds s and s + 2**32 are the same game


class EmeraldIntroError(RuntimeError):
    """The new-game script did not reach the point it waited for (not the US Emerald ROM?)."""


def encode_name(name: str) -> bytes:
    """`name` in Emerald's charset, padded to SaveBlock2.playerName's 8 bytes with EOS."""
    return bytes(CHARMAP[c] for c in name) + bytes([EOS]) * (R.PLAYER_NAME_LENGTH + 1 - len(name))


def check_name(name) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= R.PLAYER_NAME_LENGTH or any(c not in CHARMAP for c in name):
        raise ValueError(
            f"player_name must be 1-{R.PLAYER_NAME_LENGTH} characters of A-Z a-z 0-9 space ! ? . -, got {name!r}"
        )
    return name


def _mix32(x: int) -> int:
    """A bijection of 32-bit words (xorshift-multiply), so distinct seeds give distinct RNG states."""
    x &= 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    return x ^ (x >> 16)


def seed_words(seed: int) -> tuple[int, int]:
    """(gRngValue, sTrainerId) for game seed `seed` (taken modulo SEED_SPACE)."""
    rng = _mix32(seed % SEED_SPACE)
    return rng, _mix32(rng ^ 0x9E3779B9) & 0xFFFF


def _callback2(emu) -> int:
    return emu.read_u32(R.G_MAIN + R.MAIN_CALLBACK2)


def _press(emu, button: int, hold: int = 2, release: int = 4) -> None:
    emu.set_buttons((button,))
    emu.run_frames(hold)
    emu.set_buttons(())
    emu.run_frames(release)


def _press_until(emu, button: int, done, what: str, max_presses: int) -> None:
    """Press `button` until `done(emu)` holds: held 6 frames (text prints fast while A or B is
    held), released 2 (so the next press is a new one), `done` checked before each press."""
    for _ in range(max_presses):
        for _ in range(2):
            if done(emu):
                return
            emu.run_frames(1)
        if done(emu):
            return
        emu.set_buttons((button,))
        emu.run_frames(6)
        emu.set_buttons(())
    raise EmeraldIntroError(
        f"the new-game script did not reach {what} (main callback 0x{_callback2(emu):08X}); "
        f"is this the US Pokémon Emerald ROM (SHA-1 f3ae088181bf583e55daf962a92bb46f4f1d07b7)?"
    )


def _wait_until(emu, done, what: str, max_frames: int) -> None:
    for _ in range(max_frames):
        if done(emu):
            return
        emu.run_frames(1)
    raise EmeraldIntroError(f"the new-game script waited {max_frames} frames for {what} in vain.")


def _gender_menu_open(emu) -> bool:
    return TASK_CHOOSE_GENDER in R.active_task_funcs(emu)


def _naming_screen_left(emu) -> bool:
    return (
        _callback2(emu) == CB2_RETURN_FROM_NAMING_SCREEN
        or TASK_RETURN_FROM_NAMING_SCREEN in R.active_task_funcs(emu)
    )


def _gender_question(emu) -> bool:
    return bool(R.active_task_funcs(emu) & {TASK_BOY_OR_GIRL, TASK_WAIT_TO_SHOW_GENDER_MENU, TASK_CHOOSE_GENDER})


def play_to_naming_exit(emu, gender: int) -> None:
    """From power-on or the intro movie: title, NEW GAME, Birch's speech, `gender`, the naming
    screen (its default name accepted), up to the first frame after the game seeded its RNG."""
    _press_until(emu, START, lambda e: _callback2(e) == CB2_MAIN_MENU, "the main menu", 200)
    # Stop pressing A once the question is on its way: an A that lands as the menu opens picks BOY.
    _press_until(emu, A, _gender_question, "Birch's boy-or-girl question", 300)
    _wait_until(emu, _gender_menu_open, "Birch's boy-or-girl menu", 600)
    emu.run_frames(4)
    if gender == R.FEMALE:
        _press(emu, DOWN)
        _wait_until(emu, _gender_menu_open, "the gender menu after moving to GIRL", 240)
        emu.run_frames(4)
    _press(emu, A)
    _press_until(emu, A, lambda e: _callback2(e) == CB2_NAMING_SCREEN, "the naming screen", 100)
    emu.run_frames(60)  # the naming screen fades in before it takes input
    # START puts the cursor on OK; A there accepts the default name (src/naming_screen.c).
    _press(emu, START, release=8)
    _press(emu, A, release=0)
    _wait_until(emu, _naming_screen_left, "the end of the naming screen", 300)
    if emu.read_bytes(emu.read_u32(R.G_SAVE_BLOCK2_PTR) + R.SB2_PLAYER_GENDER, 1)[0] != gender:
        raise EmeraldIntroError(f"the new-game script chose the wrong gender (wanted {gender}).")


def play_to_control(emu, seed: int, name: str) -> None:
    """Right after `play_to_naming_exit`: choose the game by `seed`, name the player `name`,
    and press through Birch's farewell to the first overworld frame with the player in control."""
    sb2 = emu.read_u32(R.G_SAVE_BLOCK2_PTR)
    emu.write_bytes(sb2 + R.SB2_PLAYER_NAME, encode_name(name))
    rng, trainer_id_low = seed_words(seed)
    emu.write_u32(R.G_RNG_VALUE, rng)
    emu.write_bytes(R.S_TRAINER_ID, trainer_id_low.to_bytes(2, "little"))
    # "So it's NAME?" defaults to YES; A through the speech until the new game starts.
    _press_until(emu, A, lambda e: _callback2(e) == CB2_NEW_GAME, "the new game", 200)
    _wait_until(emu, in_control, "the player's control in the truck", 1200)


def in_control(emu) -> bool:
    """A game runs and the field takes the player's input (no script, message or warp holds it)."""
    r = R.read_ram(emu)
    return r.ready and r.mode == "overworld"
