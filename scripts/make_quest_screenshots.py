"""Play MiniMon Quest with its scripted planner and save a labelled grid of its screens.

    python scripts/make_quest_screenshots.py [--out docs/minimon_quest.png] [--seed 0] [--scale 1]

Grabs the first screen of every map the planner enters (the MAZE twice: at its entrance and
once the camera has scrolled), the starter choice, the first wild battle's command box, the
shop and the gym leader's battle.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_screenshots import write_sheet  # noqa: E402

from pokeil_jax.env import PokemonEnv  # noqa: E402
from pokeil_jax.games.minimon.quest import ROM_PATH  # noqa: E402
from pokeil_jax.games.minimon.quest_planner import MiniMonQuestPlanner  # noqa: E402


@dataclass
class Args:
    out: Path = Path("docs/minimon_quest.png")
    """Where to write the PNG grid."""
    seed: int = 0
    """The game seed to play."""
    scale: int = 1
    """Each 240x160 frame is enlarged by this integer factor (nearest neighbour)."""


def capture(seed: int) -> list[tuple[str, object]]:
    env = PokemonEnv(rom_path=ROM_PATH, max_episode_steps=5000)
    planner = MiniMonQuestPlanner()
    obs, info = env.reset(seed=seed)
    shots = [("HOUSE (seeded start)", obs)]
    seen_maps, wanted = {"HOUSE"}, {"choice", "wild battle", "shop", "gym leader", "maze, scrolled"}
    maze_steps = 0
    while True:
        obs, _, terminated, truncated, info = env.step(planner.get_action(obs, info))
        name, mode = info["map_name"], info["mode"]
        if mode in ("overworld", "dialog") and name not in seen_maps:
            seen_maps.add(name)
            shots.append((f"{name} (milestones {info['milestone_count']}/15)", obs))
        if name == "MAZE" and mode == "overworld":
            maze_steps += 1
            if maze_steps == 30 and "maze, scrolled" in wanted:
                wanted.discard("maze, scrolled")
                shots.append((f"MAZE, scrolled (camera {info['camera']})", obs))
        if mode == "choice" and "choice" in wanted:
            wanted.discard("choice")
            shots.append(("starter choice", obs))
        if mode == "battle" and info["battle_phase"] == "command":
            kind = "gym leader" if info["battle_kind"] == "leader" else "wild battle" if info["battle_kind"] == "wild" else ""
            if kind in wanted:
                wanted.discard(kind)
                shots.append((f"{kind}: {info['enemy']} ({info['enemy_type']})", obs))
        if mode == "shop" and "shop" in wanted:
            wanted.discard("shop")
            shots.append((f"shop (${info['money']})", obs))
        if terminated or truncated:
            break
    env.close()
    return shots


def main(args: Args) -> None:
    write_sheet(capture(args.seed), args.out, args.scale, args.seed)


if __name__ == "__main__":
    import tyro

    main(tyro.cli(Args))
