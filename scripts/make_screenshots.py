"""Play the bundled MiniMon ROM in mGBA and save a labelled grid of its screens.

    python scripts/make_screenshots.py [--out docs/screenshots.png] [--seed 0] [--scale 2]

Drives the real game through pokeil_jax's Emulator and the MiniMon adapter with a small
route-following script (RAM state -> buttons), and grabs the frame at each moment worth
showing: every map, a dialog page, the starter choice, the START menu, the battle.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
from PIL import Image, ImageDraw

from pokeil_jax.atomic import atomic_write
from pokeil_jax.emulator import BUTTONS, Emulator
from pokeil_jax.games.minimon import ROM_PATH, MiniMonAdapter
from pokeil_jax.games.minimon.planner import bfs_first_step

A, B, START, UP, DOWN, LEFT, RIGHT = (BUTTONS.index(n) for n in ("A", "B", "START", "UP", "DOWN", "LEFT", "RIGHT"))
STEPS = {UP: (0, -1), DOWN: (0, 1), LEFT: (-1, 0), RIGHT: (1, 0)}
FACING = {UP: "up", DOWN: "down", LEFT: "left", RIGHT: "right"}


@dataclass
class Args:
    out: Path = Path("docs/screenshots.png")
    """Where to write the PNG grid."""
    seed: int = 0
    """The game seed to play (it moves the start tile, professor, hedge gap and enemy)."""
    scale: int = 2
    """Each 240x160 frame is enlarged by this integer factor (nearest neighbour)."""


class Player:
    """Presses buttons like the env does (8 frames held, 16 released) and reads the info dict."""

    def __init__(self, seed: int):
        self.emu = Emulator(ROM_PATH)
        self.adapter = MiniMonAdapter()
        self.adapter.boot(self.emu)
        self.adapter.begin_episode(self.emu, seed)

    @property
    def info(self) -> dict:
        return self.adapter.read_info(self.emu)

    def press(self, button: int) -> dict:
        self.emu.set_buttons((button,))
        self.emu.run_frames(8)
        self.emu.set_buttons(())
        self.emu.run_frames(16)
        return self.info

    def frame(self) -> np.ndarray:
        return self.emu.frame()

    def walk_to(self, goals) -> None:
        """Walk a shortest path onto any tile in `goals`; stops early if a door warps elsewhere."""
        goals = set(goals)
        start_map = self.info["map"]
        for _ in range(100):
            info = self.info
            if (info["x"], info["y"]) in goals or info["mode"] != "overworld" or info["map"] != start_map:
                return
            step = bfs_first_step(info["tiles"], (info["x"], info["y"]), goals)
            if step is None:
                raise RuntimeError(f"no path from {(info['x'], info['y'])} to {goals}")
            self.press(step)
        raise RuntimeError(f"could not reach {goals}")

    def face(self, target) -> None:
        """From a tile next to `target`, turn toward it (pressing into a blocked tile only turns)."""
        info = self.info
        for button, (dx, dy) in STEPS.items():
            if (info["x"] + dx, info["y"] + dy) == tuple(target) and info["facing"] != FACING[button]:
                self.press(button)


def _neighbours(xy):
    return [(xy[0] + dx, xy[1] + dy) for dx, dy in STEPS.values()]


def capture(seed: int) -> list[tuple[str, np.ndarray]]:
    p = Player(seed)
    shots = [("HOUSE (seeded start)", p.frame())]
    p.press(START)
    shots.append(("START menu", p.frame()))
    p.press(B)
    p.walk_to([(7, 9)])
    shots.append(("TOWN (gate closed)", p.frame()))
    p.walk_to([(11, 4)])
    prof = p.info["professor_xy"]
    p.walk_to(_neighbours(prof))
    p.face(prof)
    shots.append(("LAB (seeded professor)", p.frame()))
    p.press(A)
    shots.append(("dialog, page 1/3", p.frame()))
    p.press(A)
    p.press(A)
    p.press(A)
    p.press(DOWN)
    shots.append(("starter choice", p.frame()))
    p.press(A)
    shots.append(("You received ...!", p.frame()))
    p.press(A)
    p.walk_to([(7, 9)])
    shots.append(("TOWN (gate open, party icon)", p.frame()))
    p.walk_to([(7, 0)])
    shots.append(("ROUTE (seeded gap + trainer)", p.frame()))
    trainer = p.info["trainer_xy"]
    p.walk_to([(trainer[0], trainer[1] + 1)])
    p.face(trainer)
    p.press(A)
    p.press(A)
    shots.append(("battle: intro", p.frame()))
    p.press(A)
    p.press(RIGHT)
    shots.append(("battle: your turn", p.frame()))
    p.press(LEFT)
    p.press(A)
    shots.append(("battle: your move", p.frame()))
    p.press(A)
    shots.append(("battle: enemy's move", p.frame()))
    for _ in range(60):
        if p.info["battle_phase"] == "win":
            break
        p.press(A)
    shots.append(("battle: won", p.frame()))
    p.press(A)
    p.press(A)
    shots.append(("ROUTE (KAI stepped aside)", p.frame()))
    p.walk_to([(7, 0)])
    shots.append(("CEDAR TOWN (the end)", p.frame()))
    return shots


def grid(shots, scale: int, columns: int = 4) -> Image.Image:
    w, h = 240 * scale, 160 * scale
    label_h, pad = 22, 8
    rows = (len(shots) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (w + pad) + pad, rows * (h + label_h + pad) + pad), (24, 24, 32))
    draw = ImageDraw.Draw(sheet)
    for i, (label, frame) in enumerate(shots):
        x = pad + (i % columns) * (w + pad)
        y = pad + (i // columns) * (h + label_h + pad)
        draw.text((x + 2, y + 4), label, fill=(232, 232, 240))
        sheet.paste(Image.fromarray(frame).resize((w, h), Image.NEAREST), (x, y + label_h))
    return sheet


def write_sheet(shots, out: Path, scale: int, seed: int) -> None:
    """Write the labelled grid of `shots` (frames played from game seed `seed`) to `out`, atomically."""
    image = grid(shots, scale)
    with atomic_write(out) as f:
        image.save(f, format="PNG")
    print(f"wrote {out} ({len(shots)} screens, seed {seed})")


def main(args: Args) -> None:
    write_sheet(capture(args.seed), args.out, args.scale, args.seed)


if __name__ == "__main__":
    import tyro

    main(tyro.cli(Args))
