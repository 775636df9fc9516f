"""Generate MiniMon's graphics and map data as C: src/assets.c and src/assets.h.

Run from anywhere: `python pokeil_jax/games/minimon/tools/make_assets.py` (needs numpy and
pillow). The output is committed, so building the ROM needs only arm-none-eabi-gcc.
`--preview DIR` also writes PNG previews of the tiles, maps and sprites.

Everything is drawn here from code and ASCII art: the font (font.py), 16x16 map
metatiles, 16x16 characters, 64x64 MiniMon, the battle background and the UI pieces.
GBA formats (GBATEK "LCD VRAM Character Data", "LCD Color Palettes"): 4bpp tiles,
8x8 pixels, two pixels a byte (low nibble first); colours are BGR555.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from font import glyph_rows  # noqa: E402
import art  # noqa: E402

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


# ---------------------------------------------------------------------------------------
# tile banks


def to_tiles(img: np.ndarray) -> list[np.ndarray]:
    """Split an (h, w) index image into 8x8 tiles, row-major."""
    h, w = img.shape
    assert h % 8 == 0 and w % 8 == 0, img.shape
    return [img[y : y + 8, x : x + 8] for y in range(0, h, 8) for x in range(0, w, 8)]


def pack_tile(t: np.ndarray) -> list[int]:
    """One 4bpp 8x8 tile as 8 little-endian u32 words (pixel x at nibble x of its row)."""
    assert t.shape == (8, 8) and t.max() < 16 and t.min() >= 0
    words = []
    for row in t:
        v = 0
        for x in range(8):
            v |= int(row[x]) << (4 * x)
        words.append(v)
    return words


class TileBank:
    """A list of 8x8 tiles; `add` dedupes unless asked for a fixed slot."""

    def __init__(self):
        self.tiles: list[np.ndarray] = [np.zeros((8, 8), np.uint8)]
        self.index: dict[bytes, int] = {self.tiles[0].tobytes(): 0}

    def add(self, t: np.ndarray, dedupe: bool = True) -> int:
        key = t.astype(np.uint8).tobytes()
        if dedupe and key in self.index:
            return self.index[key]
        self.tiles.append(t.astype(np.uint8))
        self.index.setdefault(key, len(self.tiles) - 1)
        return len(self.tiles) - 1

    def add_block(self, img: np.ndarray, dedupe: bool = False) -> int:
        """Add an image's tiles consecutively (for OBJ sprites); returns the first index."""
        first = len(self.tiles)
        for t in to_tiles(img):
            self.add(t, dedupe=dedupe)
        return first


def bgr555(rgb) -> int:
    r, g, b = rgb
    return (r >> 3) | ((g >> 3) << 5) | ((b >> 3) << 10)


# ---------------------------------------------------------------------------------------
# BG: font, UI, metatiles, maps, battle background


def build_bg(map_grids=None, specials=None):
    """map_grids: per map, rows of map_cells() cells (None = a map drawn at run time)."""
    if map_grids is None:
        map_grids = [art.map_cells(name, rows) for name, rows, _ in art.MAPS]
    specials = art.special_metatiles() if specials is None else specials
    bank = TileBank()
    out = {}

    # Font: ASCII 32..127 at consecutive tiles. Ink 2 with a light shadow 3 on paper 1.
    font_base = len(bank.tiles)
    for code in range(32, 128):
        rows = glyph_rows(chr(code))
        t = np.ones((8, 8), np.uint8)
        ink = np.array([[c == "#" for c in r] for r in rows])
        shadow = np.zeros_like(ink)
        shadow[1:, 1:] = ink[:-1, :-1]
        t[shadow & ~ink] = 3
        t[ink] = 2
        bank.add(t, dedupe=False)
    out["FONT_BASE"] = font_base

    for name, img in art.ui_tiles().items():
        out["UI_" + name] = bank.add(img, dedupe=False)

    # Metatiles: 16x16 art + palette + kind, deduped as a whole.
    metatiles: list[tuple[list[int], int]] = []  # (4 screen entries, kind)
    mt_index: dict[tuple, int] = {}

    def metatile(img: np.ndarray, pal: int, kind: int) -> int:
        key = (img.tobytes(), pal, kind)
        if key not in mt_index:
            entries = [bank.add(t) | (pal << 12) for t in to_tiles(img)]
            metatiles.append((entries, kind))
            mt_index[key] = len(metatiles) - 1
        return mt_index[key]

    maps = []
    named = {}
    for cells in map_grids:
        ids = []
        for y, row in enumerate(cells or []):
            for x, (img, pal_name, kind) in enumerate(row):
                ids.append(metatile(img, art.BG_PAL_INDEX[pal_name], kind))
        maps.append(ids)
    # Metatiles the game swaps in at run time (gate, hedge gap).
    for key, (img, pal_name, kind) in specials.items():
        named[key] = metatile(img, art.BG_PAL_INDEX[pal_name], kind)

    # Battle background: a full 30x20-tile screen.
    battle_img = art.battle_background()
    pal = art.BG_PAL_INDEX["battle"]
    battle_map = [bank.add(t) | (pal << 12) for t in to_tiles(battle_img)]

    assert len(bank.tiles) <= 896, f"{len(bank.tiles)} BG tiles do not fit below screenblock 28"
    return bank, out, metatiles, maps, named, battle_map


def build_obj(extra_palettes=None):
    bank = TileBank()
    out = {}
    for name, img in art.obj_sprites().items():
        out["OBJ_" + name] = bank.add_block(img)
    mons = art.mon_images()
    out["OBJ_MON_BASE"] = len(bank.tiles)
    for img in mons:
        bank.add_block(img)
    assert len(bank.tiles) <= 1024
    return bank, out, len(mons)


# ---------------------------------------------------------------------------------------
# C output


def palettes(extra_obj=None):
    """Both 256-colour palette banks as BGR555; `extra_obj` palettes follow art's."""
    bg_pal = [0] * 256
    for name, i in art.BG_PAL_INDEX.items():
        for j, rgb in enumerate(art.BG_PALETTES[name]):
            bg_pal[i * 16 + j] = bgr555(rgb)
    obj_pal = [0] * 256
    obj_all = dict(art.OBJ_PALETTES, **(extra_obj or {}))
    assert len(obj_all) <= 16
    for i, (name, pal) in enumerate(obj_all.items()):
        for j, rgb in enumerate(pal):
            obj_pal[i * 16 + j] = bgr555(rgb)
    return bg_pal, obj_pal


def c_array(ctype: str, name: str, values: list[int], per_line: int = 8, fmt: str = "0x{:08X}") -> str:
    lines = []
    for i in range(0, len(values), per_line):
        lines.append("    " + ", ".join(fmt.format(v) for v in values[i : i + per_line]) + ",")
    return f"const {ctype} {name}[{len(values)}] = {{\n" + "\n".join(lines) + "\n};\n"


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def header_lines(gen: str, guard: str, bg, obj, metatiles, mon_count: int, extra_counts: list[str],
                 names: dict, named: dict, obj_pal_index: dict, map_externs: list[str]) -> list[str]:
    """assets.h's lines: counts, tile/metatile/palette names, the tables both games have, then
    the game's own map tables (`map_externs`) and the battle background."""
    h = [gen, f"#ifndef {guard}", f"#define {guard}", '#include "gba.h"', ""]
    h.append(f"#define BG_TILE_COUNT {len(bg.tiles)}")
    h.append(f"#define OBJ_TILE_COUNT {len(obj.tiles)}")
    h.append(f"#define METATILE_COUNT {len(metatiles)}")
    h.append(f"#define MON_COUNT {mon_count}")
    h += extra_counts
    h += [f"#define {k} {v}" for k, v in names.items()]
    h += [f"#define MT_{k} {v}" for k, v in named.items()]
    h += [f"#define BGPAL_{k.upper()} {v}" for k, v in art.BG_PAL_INDEX.items()]
    h += [f"#define OBJPAL_{k.upper()} {v}" for k, v in obj_pal_index.items()]
    return h + [
        "",
        "extern const u32 bg_tiles[BG_TILE_COUNT * 8];",
        "extern const u32 obj_tiles[OBJ_TILE_COUNT * 8];",
        "extern const u16 bg_palettes[256];",
        "extern const u16 obj_palettes[256];",
        "extern const u16 metatile_entries[METATILE_COUNT * 4]; /* TL, TR, BL, BR screen entries */",
        "extern const u8 metatile_kinds[METATILE_COUNT];",
        *map_externs,
        "extern const u16 battle_bg_map[20 * 30];",
        "",
        "#endif",
        "",
    ]


def shared_arrays(gen: str, bg, obj, bg_pal, obj_pal, metatiles) -> list[str]:
    """assets.c's first part: the tiles, palettes and metatiles both games define alike."""
    return [
        gen, '#include "assets.h"', "",
        c_array("u32", "bg_tiles", [w for t in bg.tiles for w in pack_tile(t)]),
        c_array("u32", "obj_tiles", [w for t in obj.tiles for w in pack_tile(t)]),
        c_array("u16", "bg_palettes", bg_pal, 16, "0x{:04X}"),
        c_array("u16", "obj_palettes", obj_pal, 16, "0x{:04X}"),
        c_array("u16", "metatile_entries", [e for m, _ in metatiles for e in m], 8, "0x{:04X}"),
        c_array("u8", "metatile_kinds", [k for _, k in metatiles], 16, "{}"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preview", type=Path, help="also write PNG previews into this folder")
    parser.add_argument("--game", choices=("classic", "quest"), default="classic",
                        help="classic: src/assets.[ch]; quest: quest/assets.[ch] (MiniMon Quest)")
    args = parser.parse_args()
    if args.game == "quest":
        return main_quest(args)

    bg, bg_names, metatiles, maps, named, battle_map = build_bg()
    obj, obj_names, mon_count = build_obj()
    bg_pal, obj_pal = palettes()

    gen = "/* Generated by tools/make_assets.py: do not edit; rerun it. */\n"
    h = header_lines(gen, "MINIMON_ASSETS_H", bg, obj, metatiles, mon_count, [],
                     {**bg_names, **obj_names}, named, art.OBJ_PAL_INDEX,
                     ["extern const u8 map_metatiles[5][150];"])
    c = shared_arrays(gen, bg, obj, bg_pal, obj_pal, metatiles)
    rows = []
    for ids in maps:
        rows.append("    {" + ", ".join(str(i) for i in ids) + "},")
    c.append("const u8 map_metatiles[5][150] = {\n" + "\n".join(rows) + "\n};\n")
    c.append(c_array("u16", "battle_bg_map", battle_map, 15, "0x{:04X}"))
    write_atomic(SRC / "assets.h", "\n".join(h))
    write_atomic(SRC / "assets.c", "\n".join(c))
    print(
        f"wrote {SRC/'assets.c'}: {len(bg.tiles)} BG tiles, {len(metatiles)} metatiles, "
        f"{len(obj.tiles)} OBJ tiles, {mon_count} MiniMon"
    )

    if args.preview:
        args.preview.mkdir(parents=True, exist_ok=True)
        art.write_previews(args.preview)


def main_quest(args):
    """MiniMon Quest's assets: the same tiles, UI and sprites, the quest's maps."""
    import quest_art

    out_dir = HERE.parent / "quest"
    grids = [None if rows is None else quest_art.map_cells(name, rows, outdoor, lab)
             for name, rows, outdoor, lab in quest_art.QUEST_MAPS]
    bg, bg_names, metatiles, maps, named, battle_map = build_bg(grids, quest_art.special_metatiles())
    obj, obj_names, mon_count = build_obj()
    bg_pal, obj_pal = palettes(quest_art.EXTRA_OBJ_PALETTES)
    obj_pal_names = list(art.OBJ_PALETTES) + list(quest_art.EXTRA_OBJ_PALETTES)

    gen = "/* Generated by tools/make_assets.py --game quest: do not edit; rerun it. */\n"
    h = header_lines(gen, "QUEST_ASSETS_H", bg, obj, metatiles, mon_count, [f"#define QUEST_MAP_COUNT {len(maps)}"],
                     {**bg_names, **obj_names}, named, {k: i for i, k in enumerate(obj_pal_names)},
                     ["extern const u8 quest_map_width[QUEST_MAP_COUNT];  /* 0: drawn at run time (the MAZE) */",
                      "extern const u8 quest_map_height[QUEST_MAP_COUNT];",
                      "extern const u16 quest_map_offset[QUEST_MAP_COUNT]; /* into quest_map_data */",
                      "extern const u8 quest_map_data[];"])
    widths = [0 if rows is None else len(rows[0]) for _, rows, _, _ in quest_art.QUEST_MAPS]
    heights = [0 if rows is None else len(rows) for _, rows, _, _ in quest_art.QUEST_MAPS]
    offsets, data = [], []
    for ids in maps:
        offsets.append(len(data))
        data += ids
    c = shared_arrays(gen, bg, obj, bg_pal, obj_pal, metatiles)
    c.append(c_array("u8", "quest_map_width", widths, 16, "{}"))
    c.append(c_array("u8", "quest_map_height", heights, 16, "{}"))
    c.append(c_array("u16", "quest_map_offset", offsets, 16, "{}"))
    c.append(c_array("u8", "quest_map_data", data, 15, "{}"))
    c.append(c_array("u16", "battle_bg_map", battle_map, 15, "0x{:04X}"))
    out_dir.mkdir(exist_ok=True)
    write_atomic(out_dir / "assets.h", "\n".join(h))
    write_atomic(out_dir / "assets.c", "\n".join(c))
    print(f"wrote {out_dir / 'assets.c'}: {len(bg.tiles)} BG tiles, {len(metatiles)} metatiles, "
          f"{len(obj.tiles)} OBJ tiles, {len(maps)} maps")
    if args.preview:
        args.preview.mkdir(parents=True, exist_ok=True)
        quest_art.write_previews(args.preview)


if __name__ == "__main__":
    main()
