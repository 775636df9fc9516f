"""Pokémon Emerald (US, cartridge game code BPEE) for `PokemonEnv`.

- `ram`: the addresses and one read of everything the adapter reports.
- `milestones`: the PokéAgent speedrun's 15 scored milestones, then unscored extras.
- `intro`: the scripted new game that `reset` plays once per seed.

Episode start (`reset` options, checked by `EmeraldAdapter.start_options`):
- `start="new_game"` (default): the first overworld frame the player controls, in the moving
  truck, after a scripted new game (title, NEW GAME, `gender` "male"/"female", the name
  `player_name`, default BRENDAN or MAY). The seed chooses the game's RNG at a fixed point of
  that script (see `intro`), so seeds 0 .. 2**32 - 1 are distinct games (trainer ID included).
  `PokemonEnv` keeps each start it reached, so the same seed's next reset is a state load.
- `start="power_on"`: the intro movie, `boot_frames` after power-on, plus `seed % seed_frames`
  idle frames (the game seeds its RNG itself when the player leaves the naming screen, so a
  seed only shifts the timing: 256 distinct starts).

Which addresses and behaviours were checked on a ROM built from pret/pokeemerald (SHA-1 equal
to the US cartridge) and which only on synthetic memory is listed in the README's Emerald section.
"""

from __future__ import annotations

from typing import Any, Mapping

from pokeil_jax.emulator import Emulator
from pokeil_jax.games import GameAdapter
from pokeil_jax.games.emerald import intro
from pokeil_jax.games.emerald.milestones import (
    FLAG_BADGE01_GET,
    MAP_NAMES,
    MILESTONES,
    NUM_BADGES,
    milestones_reached,
)
from pokeil_jax.games.emerald.ram import FACING_NAMES, FEMALE, MALE, G_RNG_VALUE, read_ram

STARTS = ("new_game", "power_on")
GENDERS = {"male": MALE, "female": FEMALE}
DEFAULT_NAMES = {"male": "BRENDAN", "female": "MAY"}


class EmeraldAdapter(GameAdapter):
    """Pokémon Emerald (US): every answer is read from the emulator's RAM.

    The only state kept here is a memo of the save state at the end of the naming screen per
    gender (identical for every seed and name), so a new seed's start replays only Birch's
    farewell.
    """

    name = "Pokémon Emerald"
    milestone_names = tuple(m.name for m in MILESTONES)
    #: 1 for the PokéAgent speedrun's scored milestones, 0 for the extras after them.
    milestone_rewards = tuple(1.0 if m.scored else 0.0 for m in MILESTONES)
    scored_milestones = tuple(m.name for m in MILESTONES if m.scored)
    seed_space = intro.SEED_SPACE
    cache_starts = True
    rom_size = 16 * 1024 * 1024  # a 128 Mbit cartridge (pret/pokeemerald's pokeemerald.gba)

    def __init__(self, boot_frames: int = 600, seed_frames: int = 256):
        if not isinstance(boot_frames, int) or boot_frames < 0:
            raise ValueError(f"boot_frames must be an int >= 0 (frames from power-on), got {boot_frames!r}")
        if not isinstance(seed_frames, int) or seed_frames < 1:
            raise ValueError(f"seed_frames must be an int >= 1 (power-on seeds map to seed % seed_frames), got {seed_frames!r}")
        self.boot_frames = boot_frames
        self.seed_frames = seed_frames
        self._naming_exit: dict[int, bytes] = {}

    def boot(self, emu: Emulator) -> None:
        """Run `boot_frames` frames from power-on with no button held (into the intro movie)."""
        emu.set_buttons(())
        emu.run_frames(self.boot_frames)

    def start_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """start ("new_game" | "power_on"), gender ("male" | "female"), player_name (1-7 characters)."""
        unknown = set(options) - {"start", "gender", "player_name"}
        if unknown:
            raise ValueError(
                f"unknown reset option(s) {sorted(unknown)} for {self.name}; it takes start {STARTS}, "
                f"gender {tuple(GENDERS)}, player_name, state (a save-state file) and snapshot"
            )
        start = options.get("start", "new_game")
        if start not in STARTS:
            raise ValueError(f"start must be one of {STARTS}, got {start!r}")
        if start == "power_on":
            if set(options) - {"start"}:
                raise ValueError("gender and player_name apply to start='new_game' only")
            return {"start": start}
        gender = options.get("gender", "male")
        if gender not in GENDERS:
            raise ValueError(f"gender must be one of {tuple(GENDERS)}, got {gender!r}")
        name = intro.check_name(options.get("player_name", DEFAULT_NAMES[gender]))
        return {"start": start, "gender": gender, "player_name": name}

    def begin_episode(self, emu: Emulator, seed: int, options: Mapping[str, Any] | None = None) -> None:
        """Right after `boot`'s state: run the start `options` ask for (see the module docstring)."""
        options = self.start_options(options or {})
        if options["start"] == "power_on":
            emu.set_buttons(())
            emu.run_frames(int(seed) % self.seed_frames)
            return
        gender = GENDERS[options["gender"]]
        if gender in self._naming_exit:
            emu.load_state(self._naming_exit[gender])
        else:
            intro.play_to_naming_exit(emu, gender)
            self._naming_exit[gender] = emu.save_state()
        intro.play_to_control(emu, int(seed), options["player_name"])

    def reseed(self, emu: Emulator, seed: int) -> None:
        """Write gRngValue from `seed`: the randomness from a loaded state on follows the seed."""
        emu.write_u32(G_RNG_VALUE, intro.seed_words(int(seed))[0])

    def milestone_mask(self, emu: Emulator) -> int:
        """Bit i set when `MILESTONES[i]` holds in the current RAM (see `milestones`)."""
        return sum(1 << i for i, reached in enumerate(milestones_reached(read_ram(emu))) if reached)

    def read_info(self, emu: Emulator) -> dict[str, Any]:
        """JSON-serialisable state.

        Before a game runs with live save blocks (`save_blocks_ready` False: intro, title, menus
        of a new game) x, y, map, map_group, map_num, map_name, money and trainer_id are None.
        x, y: the player's map tile (SaveBlock1.pos). map: (group << 8) | num; map_name is None for
        maps no milestone names. facing: "down"/"up"/"left"/"right", or "none". mode: "overworld",
        "dialog" (a field script or message holds the player), "menu" (the START menu), "battle",
        or "other" (intro, title, new-game menus, map loads, full-screen menus). money in ¥
        (decrypted). badges: 8 bools, Stone..Rain. frame_count: VBlanks since power-on.
        """
        ram = read_ram(emu)
        reached = milestones_reached(ram)
        badges = [ram.flag(FLAG_BADGE01_GET + i) for i in range(NUM_BADGES)]
        live = ram.ready

        def gated(value):
            return value if live else None

        return {
            "x": gated(ram.x),
            "y": gated(ram.y),
            "map": gated(ram.map_id),
            "map_group": gated(ram.map_id >> 8),
            "map_num": gated(ram.map_id & 0xFF),
            "map_name": MAP_NAMES.get(ram.map_id) if live else None,
            "facing": FACING_NAMES.get(ram.facing, "none"),
            "mode": ram.mode,
            "party_count": ram.party_count,
            "badges": badges,
            "badge_count": sum(badges),
            "money": gated(ram.money),
            "trainer_id": gated(ram.trainer_id),
            "milestones": dict(zip(self.milestone_names, reached)),
            "milestone_count": sum(reached),
            "frame_count": ram.vblank_counter,
            "save_blocks_ready": live,
        }
