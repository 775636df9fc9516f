"""MiniMon's art, drawn from code: palettes, UI pieces, map metatiles, maps, sprites, MiniMon.

Images are numpy uint8 arrays of palette indices (0 = transparent on sprites and on the
UI layer). Tile kinds match src/state.h: 0 floor, 1 wall, 2 door, 3 gate, 4 hedge,
5 water, 6 NPC (never in map data), 7 sign.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

FLOOR, WALL, DOOR, GATE, HEDGE, WATER, NPC, SIGN = range(8)

# ---------------------------------------------------------------------------------------
# palettes (index 0 is transparent / unused)

MAGENTA = (255, 0, 255)
GRASS3 = [(168, 224, 120), (120, 200, 88), (72, 152, 64)]

UI = [
    MAGENTA,
    (248, 248, 240),  # 1 paper
    (40, 40, 48),  # 2 ink
    (200, 200, 208),  # 3 ink shadow
    (40, 56, 104),  # 4 frame dark
    (104, 136, 216),  # 5 frame mid
    (80, 208, 96),  # 6 HP fill
    (88, 88, 96),  # 7 HP empty
    (40, 144, 64),  # 8 HP fill shade
    (232, 56, 56),  # 9 red
    (248, 216, 64),  # 10 yellow
    (16, 16, 24),  # 11 black
    (200, 216, 248),  # 12 frame light
    (160, 160, 168),
    (120, 120, 128),
    (255, 255, 255),
]


def _variant(base, changes):
    pal = list(base)
    for i, rgb in changes.items():
        pal[i] = rgb
    return pal


def _building(roof):
    return [MAGENTA, *GRASS3, *roof,
            (248, 240, 216), (224, 208, 176), (168, 144, 112),  # 7-9 wall
            (176, 112, 64), (112, 64, 40),  # 10-11 wood
            (176, 224, 248), (88, 144, 208),  # 12-13 glass
            (248, 248, 248), (48, 40, 48)]  # 14 white, 15 outline


def _indoor(floor, wall):
    return [MAGENTA, *floor, *wall,
            (184, 120, 72), (120, 72, 48),  # 7-8 wood
            (128, 168, 240), (72, 104, 192),  # 9-10 blue
            (248, 248, 248), (96, 176, 88), (216, 80, 72), (160, 168, 176),  # 11 white 12 green 13 red 14 gray
            (56, 40, 40)]  # 15 outline


BG_PALETTES = {
    "ui": UI,
    "ui_hi": _variant(UI, {1: (255, 224, 112), 3: (224, 184, 88)}),
    "ui_hp_mid": _variant(UI, {6: (248, 200, 40), 8: (184, 136, 24)}),
    "ui_hp_low": _variant(UI, {6: (248, 80, 64), 8: (176, 40, 32)}),
    "out": [MAGENTA, *GRASS3,
            (32, 88, 56), (56, 136, 72),  # 4-5 tree
            (120, 80, 48), (200, 152, 96),  # 6-7 brown
            (240, 216, 160), (208, 176, 120),  # 8-9 path
            (152, 200, 248), (80, 136, 232), (48, 88, 184),  # 10-12 water
            (232, 80, 80), (248, 240, 160), (24, 48, 40)],  # 13 red 14 cream 15 outline
    "house": _building([(240, 128, 104), (208, 80, 64), (144, 48, 48)]),
    "lab": _building([(136, 184, 240), (80, 128, 208), (48, 72, 152)]),
    "cedar": _building([(120, 208, 208), (56, 152, 168), (32, 96, 120)]),
    "house_in": _indoor([(232, 200, 152), (208, 168, 120), (160, 120, 80)],
                        [(248, 236, 208), (224, 204, 168), (104, 80, 72)]),
    "lab_in": _indoor([(236, 240, 244), (208, 216, 228), (160, 170, 192)],
                      [(224, 240, 236), (176, 212, 204), (56, 88, 96)]),
    "battle": [MAGENTA, (248, 248, 232), (232, 240, 208), (176, 224, 128), (128, 192, 96),
               (80, 144, 72), (48, 88, 48), (216, 232, 184), (200, 224, 168),
               MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA],
}
BG_PAL_INDEX = {name: i for i, name in enumerate(BG_PALETTES)}
OG, OM, OD = 1, 2, 3  # grass indices shared by "out" and the building palettes

# ---------------------------------------------------------------------------------------
# drawing helpers


def ascii_img(rows, legend, mirror=False):
    """Rows of characters -> index image. `mirror`: rows are the left half of a symmetric image."""
    if mirror:
        rows = [r + r[::-1] for r in rows]
    w = len(rows[0])
    for r in rows:
        assert len(r) == w, (r, len(r), w)
    return np.array([[legend[c] for c in r] for r in rows], np.uint8)


def shaded_disc(img, cx, cy, rx, ry, light, mid, dark, outline=None, highlight=None):
    """Fill an ellipse lit from the upper left; outline its rim. Works on any index image."""
    h, w = img.shape
    ys, xs = np.mgrid[0:h, 0:w]
    u = (xs + 0.5 - cx) / rx
    v = (ys + 0.5 - cy) / ry
    inside = u * u + v * v <= 1.0
    lit = -(u * 0.6 + v * 0.8)
    img[inside] = mid
    img[inside & (lit > 0.35)] = light
    img[inside & (lit < -0.45)] = dark
    if highlight is not None:
        img[inside & (lit > 0.75)] = highlight
    if outline is not None:
        rim = inside & ~_erode(inside)
        img[rim] = outline
    return inside


def _erode(mask):
    m = mask.copy()
    m[1:, :] &= mask[:-1, :]
    m[:-1, :] &= mask[1:, :]
    m[:, 1:] &= mask[:, :-1]
    m[:, :-1] &= mask[:, 1:]
    return m


def _dilate(mask):
    m = mask.copy()
    m[1:, :] |= mask[:-1, :]
    m[:-1, :] |= mask[1:, :]
    m[:, 1:] |= mask[:, :-1]
    m[:, :-1] |= mask[:, 1:]
    return m


def rect(img, x0, y0, x1, y1, c):
    img[y0 : y1 + 1, x0 : x1 + 1] = c


def frame(img, x0, y0, x1, y1, c):
    img[y0, x0 : x1 + 1] = c
    img[y1, x0 : x1 + 1] = c
    img[y0 : y1 + 1, x0] = c
    img[y0 : y1 + 1, x1] = c


# ---------------------------------------------------------------------------------------
# UI layer tiles (palette "ui": 1 paper, 2 ink, 4/5/12 frame, 6/7/8 HP bar)


def ui_tiles():
    tiles = {}
    # A 3x3-tile box: rounded frame dark/mid/light, then paper.
    box = np.ones((24, 24), np.uint8)
    for y in range(24):
        for x in range(24):
            d = min(x, y, 23 - x, 23 - y)
            box[y, x] = {0: 4, 1: 5, 2: 12}.get(d, 1)
    for cx, cy in ((0, 0), (23, 0), (0, 23), (23, 23)):
        for y in range(3):
            for x in range(3):
                px, py = abs(cx - x) if cx else x, abs(cy - y) if cy else y
                if x + y < 2:
                    box[py, px] = 0
                elif x + y == 2:
                    box[py, px] = 4
    names = ["BOX_TL", "BOX_T", "BOX_TR", "BOX_L", "BOX_C", "BOX_R", "BOX_BL", "BOX_B", "BOX_BR"]
    for i, name in enumerate(names):
        ty, tx = divmod(i, 3)
        tiles[name] = box[ty * 8 : ty * 8 + 8, tx * 8 : tx * 8 + 8].copy()
    # HP bar: 8 segment tiles of 0..8 filled columns between two end caps. Rows 1 and 7 outline.
    for n in range(9):
        t = np.ones((8, 8), np.uint8)
        t[1, :] = 11
        t[7, :] = 11
        t[2:7, :] = 7
        t[2:6, :n] = 6
        t[6, :n] = 8
        tiles[f"HP_{n}"] = t
    cap = np.ones((8, 8), np.uint8)
    cap[1:8, 6] = 11
    cap[1, 7] = cap[7, 7] = 11
    cap[2:7, 7] = 7
    tiles["HP_LCAP"] = cap
    tiles["HP_RCAP"] = cap[:, ::-1].copy()
    return tiles


# ---------------------------------------------------------------------------------------
# outdoor metatiles (palette "out")


def grass(seed=0):
    a = np.full((16, 16), OM, np.uint8)
    tufts = [(1, 2), (9, 1), (5, 6), (12, 7), (2, 11), (8, 12), (13, 13)]
    for i, (x, y) in enumerate(tufts):
        x = (x + 5 * seed) % 14
        a[y + 1, x] = OD
        a[y, x + 1] = OD
        a[y + 1, x + 2] = OD
        a[y - 1 if y else 0, x + 1] = OG if i % 2 else OM
    return a


def path_tile():
    a = np.full((16, 16), 8, np.uint8)
    for x, y in [(2, 3), (11, 2), (6, 8), (13, 10), (3, 13), (9, 14), (7, 4), (1, 9)]:
        a[y, x] = 9
        a[y, x + 1] = 9 if x % 2 else 8
    return a


def flowers():
    a = grass(1)
    for cx, cy in ((4, 4), (11, 10)):
        for dx, dy in ((0, -1), (0, 1), (-1, 0), (1, 0)):
            a[cy + dy, cx + dx] = 13
        a[cy, cx] = 14
        a[cy + 2, cx] = OD
    return a


def tree():
    a = grass(2)
    rect(a, 6, 11, 9, 14, 6)
    a[11:15, 6] = 15
    a[11:15, 9] = 15
    a[14, 5:11] = 4  # shadow at the foot
    shaded_disc(a, 8, 6.5, 7.8, 6.6, light=OG, mid=5, dark=4, outline=15)
    for x, y in [(5, 4), (9, 3), (4, 8), (10, 7), (7, 9)]:
        a[y, x] = 4
    return a


def hedge():
    a = grass(3)
    h = np.zeros((16, 16), np.uint8)
    for cx in (4, 12):
        shaded_disc(h, cx, 7, 5.2, 6.5, light=OG, mid=OM, dark=5, outline=15)
    shaded_disc(h, 8, 9.5, 8.2, 6.2, light=OG, mid=OM, dark=5, outline=15)
    a[h > 0] = h[h > 0]
    for x, y in [(3, 5), (11, 4), (7, 9), (13, 11), (4, 12)]:
        a[y, x] = 5
    return a


def water(phase=0):
    a = np.full((16, 16), 11, np.uint8)
    for y0, x0 in ((3, 1), (8, 9), (12, 3)):
        x0 = (x0 + phase) % 16
        for i, dy in enumerate((1, 0, 0, 1)):
            a[y0 + dy, (x0 + i) % 16] = 10
        a[y0 + 2, (x0 + 1) % 16] = 12
        a[y0 + 2, (x0 + 2) % 16] = 12
    return a


def fence_posts(a, x):
    rect(a, x, 2, x + 2, 14, 7)
    a[2:15, x] = 15
    a[2:15, x + 2] = 6
    a[2, x : x + 3] = 15
    a[14, x : x + 3] = 15


def gate_closed():
    """A red-and-white barrier between two posts: impossible to miss, even at 84x84."""
    a = path_tile()
    for y0 in (3, 9):
        rect(a, 0, y0, 15, y0 + 3, 14)
        for x in range(16):
            if (x // 3) % 2 == 0:
                a[y0 : y0 + 4, x] = 13
        a[y0 - 1, :] = 15
        a[y0 + 4, :] = 15
    fence_posts(a, 0)
    fence_posts(a, 13)
    return a


def gate_open():
    a = path_tile()
    fence_posts(a, 0)
    fence_posts(a, 13)
    return a


def fence():
    a = grass(4)
    for y in (5, 10):
        rect(a, 0, y, 15, y + 1, 7)
        a[y + 1, :] = 6
    for x in (2, 11):
        rect(a, x, 3, x + 2, 14, 7)
        a[3:15, x] = 6
        a[3:15, x + 2] = 6
        a[3, x : x + 3] = 15
    return a


def sign():
    a = grass(5)
    rect(a, 7, 9, 8, 14, 6)
    rect(a, 2, 2, 13, 9, 7)
    frame(a, 2, 2, 13, 9, 15)
    for y in (4, 6):
        a[y, 4:12] = 6
    a[14, 6:10] = 3
    return a


# ---------------------------------------------------------------------------------------
# buildings (palettes "house", "lab", "cedar": 4-6 roof, 7-9 wall, 10-11 wood, 12-13 glass)


def roof(top, bottom, left, right):
    a = np.full((16, 16), 5, np.uint8)
    for y in range(16):
        band = y // 4
        if y % 4 == 3:
            a[y, :] = 6
        elif y % 4 == 0:
            a[y, :] = 4
        for x in range(16):
            if (x + 4 * (band % 2)) % 8 == 0 and y % 4 != 3:
                a[y, x] = 6
    if top:
        a[0:3, :] = OM
        a[3, :] = 15
        a[4, :] = 4
    if bottom:
        a[12:14, :] = 6
        a[14, :] = 15
        a[15, :] = 9
    if left:
        a[:, 0] = 15
        if top:
            a[0:3, 0] = OM
    if right:
        a[:, 15] = 15
        if top:
            a[0:3, 15] = OM
    return a


def wall(kind, left, right):
    a = np.full((16, 16), 7, np.uint8)
    for y in (3, 7, 11):
        a[y, :] = 8
    a[14:16, :] = 9
    if kind == "window":
        rect(a, 3, 2, 12, 10, 14)
        rect(a, 4, 3, 11, 9, 12)
        a[3:10, 7:9] = 14
        a[6, 4:12] = 14
        rect(a, 4, 7, 6, 9, 13)
        rect(a, 9, 7, 11, 9, 13)
        frame(a, 3, 2, 12, 10, 15)
    elif kind in ("door", "door_closed"):
        rect(a, 3, 1, 12, 15, 10)
        frame(a, 3, 1, 12, 16 - 1, 15)
        a[2:15, 8] = 11
        rect(a, 5, 3, 6, 6, 11)
        rect(a, 10, 3, 11, 6, 11)
        a[9, 6] = 14
        a[9, 10] = 14
        if kind == "door":
            rect(a, 4, 14, 11, 15, 9)  # door step
    if left:
        a[:, 0] = 15
    if right:
        a[:, 15] = 15
    return a


# ---------------------------------------------------------------------------------------
# indoor metatiles (palettes "house_in" / "lab_in": 1-3 floor, 4-6 wall, 7-8 wood,
# 9-10 blue, 11 white, 12 green, 13 red, 14 gray, 15 outline)


def wood_floor():
    a = np.full((16, 16), 1, np.uint8)
    for y in (3, 7, 11, 15):
        a[y, :] = 2
    for y0, x in ((0, 5), (4, 12), (8, 2), (12, 9)):
        a[y0 : y0 + 3, x] = 3
    for x, y in ((2, 1), (9, 5), (14, 9), (6, 13)):
        a[y, x] = 2
    return a


def tile_floor():
    a = np.full((16, 16), 1, np.uint8)
    a[7, :] = 2
    a[15, :] = 2
    a[:, 7] = 2
    a[:, 15] = 2
    a[0:2, 0:2] = 11
    a[8:10, 8:10] = 11
    return a


def wall_top():
    a = np.full((16, 16), 6, np.uint8)
    a[::4, :] = 15
    for y in range(0, 16, 4):
        for x in range(0, 16, 8):
            a[y + 1 : y + 4, (x + 4 * (y // 4 % 2)) % 16] = 15
    return a


def wall_face(kind="plain"):
    a = np.full((16, 16), 4, np.uint8)
    a[:, ::4] = 5
    rect(a, 0, 12, 15, 15, 8)
    a[12, :] = 7
    a[0, :] = 15
    if kind == "window":
        rect(a, 3, 2, 12, 9, 11)
        rect(a, 4, 3, 11, 8, 9)
        a[3:9, 7:9] = 11
        a[4, 5] = a[4, 10] = 11
        frame(a, 3, 2, 12, 9, 15)
    elif kind == "shelf":
        rect(a, 1, 1, 14, 15, 8)
        frame(a, 1, 1, 14, 15, 15)
        for y in (2, 7):
            colors = [13, 9, 12, 14, 13, 10, 12]
            for i, c in enumerate(colors):
                x = 2 + 2 * i
                rect(a, x, y + 1, x + 1, y + 4, c)
            a[y + 5, 2:14] = 7
        a[13, 2:14] = 7
    elif kind == "tv":
        rect(a, 2, 4, 13, 13, 14)
        frame(a, 2, 4, 13, 13, 15)
        rect(a, 4, 6, 11, 11, 10)
        a[6:8, 4:6] = 9
        a[13:16, 6:10] = 8
    elif kind == "machine":
        rect(a, 1, 2, 14, 15, 14)
        frame(a, 1, 2, 14, 15, 15)
        rect(a, 3, 4, 12, 8, 10)
        a[5, 4:8] = 9
        for i, c in enumerate((13, 12, 9, 11)):
            a[11, 3 + 3 * i : 5 + 3 * i] = c
    return a


def on_floor(floor_img):
    return floor_img.copy()


def table(floor_img, lab=False):
    a = floor_img.copy()
    top = 11 if lab else 7
    rect(a, 1, 3, 14, 10, top)
    frame(a, 1, 3, 14, 10, 15)
    a[9, 2:14] = 14 if lab else 8
    rect(a, 2, 11, 3, 14, 8)
    rect(a, 12, 11, 13, 14, 8)
    if lab:
        rect(a, 4, 5, 7, 7, 9)  # papers and a flask
        a[5, 10:12] = 12
        a[6:8, 9:13] = 12
    else:
        rect(a, 6, 4, 9, 6, 11)  # a plate
        a[5, 7:9] = 13
    return a


def bed(floor_img, top):
    a = floor_img.copy()
    if top:
        rect(a, 1, 1, 14, 15, 8)
        rect(a, 2, 2, 13, 15, 11)
        rect(a, 3, 3, 12, 7, 11)
        frame(a, 3, 3, 12, 7, 14)
        rect(a, 2, 10, 13, 15, 9)
        a[10, 2:14] = 10
        frame(a, 1, 1, 14, 16 - 1, 15)
        a[15, 2:14] = 9
    else:
        rect(a, 1, 0, 14, 12, 9)
        a[0:13, 1] = 15
        a[0:13, 14] = 15
        a[12, 1:15] = 15
        a[4, 2:14] = 10
        rect(a, 1, 13, 2, 15, 8)
        rect(a, 13, 13, 14, 15, 8)
    return a


def plant(floor_img):
    a = floor_img.copy()
    rect(a, 5, 10, 10, 15, 13)
    frame(a, 5, 10, 10, 15, 15)
    a[11, 6:10] = 7
    leaves = np.zeros((16, 16), np.uint8)
    shaded_disc(leaves, 8, 6, 6.5, 5.5, light=11, mid=12, dark=12, outline=15)
    leaves[leaves == 11] = 12
    a[leaves > 0] = leaves[leaves > 0]
    for x, y in ((6, 4), (10, 6), (8, 8)):
        a[y, x] = 15
    return a


def rug(floor_img):
    a = np.full((16, 16), 13, np.uint8)
    a[2::6, :] = 14
    a[:, 2::6] = 14
    a[4::6, 4::6] = 11
    return a


def doormat(floor_img):
    a = floor_img.copy()
    rect(a, 1, 4, 14, 13, 13)
    frame(a, 1, 4, 14, 13, 8)
    a[7:11, 3:13] = 7
    a[8:10, 5:11] = 13
    return a


# ---------------------------------------------------------------------------------------
# maps: 10 rows of 15 symbols each


MAPS = [
    ("HOUSE", [
        "###############",
        "#=SS=w=V==w=SS#",
        "#b...........p#",
        "#c............#",
        "#.....tt......#",
        "#.............#",
        "#....rrrrr....#",
        "#....rrrrr....#",
        "#p...........p#",
        "#######D#######",
    ], None),
    ("TOWN", [
        "TTTTTTTGTTTTTTT",
        "T......:......T",
        "T.rrrr.:.RRRRRT",
        "T.rrrr.:.RRRRRT",
        "T.owdo.:.WOEOWT",
        "T...::::::::..T",
        "Tf..S..:....f.T",
        "T.~~...:...FFFT",
        "T.~~...:..f...T",
        "TTTTTTTTTTTTTTT",
    ], None),
    ("LAB", [
        "###############",
        "#SSMM=w=w=MMSS#",
        "#.............#",
        "#.............#",
        "#.tt.......tt.#",
        "#.............#",
        "#.............#",
        "#p...........p#",
        "#.............#",
        "#######D#######",
    ], None),
    ("ROUTE", [
        "TTTTTTTXTTTTTTT",
        "T..f...:....~~T",
        "T......:....~~T",
        "T.............T",
        "THHHHHHHHHHHHHT",
        "T.............T",
        "T.~~......S...T",
        "T.~~...:..f...T",
        "T......:......T",
        "TTTTTTTXTTTTTTT",
    ], None),
    ("NEXT_TOWN", [
        "TTTTTTTTTTTTTTT",
        "T.ccc.....ccc.T",
        "T.ccc.f.f.ccc.T",
        "T.ini.....ini.T",
        "T..:.~~~~~.:..T",
        "T..:.~~~~~.:..T",
        "T..:::::::::..T",
        "Tf....S:....f.T",
        "T......:......T",
        "TTTTTTTXTTTTTTT",
    ], None),
]

OUTDOOR = {"TOWN", "ROUTE", "NEXT_TOWN"}


def map_cells(name, rows, outdoor=None, lab=None, extra=None):
    """[(image, palette name, kind)] for each cell of a map (rows of equal length).

    `outdoor` / `lab` default to the classic maps' names; `extra` maps more symbols to a
    function (x, y) -> (image, palette name, kind), tried first (the quest's tiles).
    """
    height, width = len(rows), len(rows[0])
    assert all(len(r) == width for r in rows), name
    outdoor = name in OUTDOOR if outdoor is None else outdoor
    lab = name == "LAB" if lab is None else lab
    extra = extra or {}
    cells = []
    floor_in = tile_floor() if lab else wood_floor()
    pal_in = "lab_in" if lab else "house_in"

    def sym(x, y):
        return rows[y][x] if 0 <= x < width and 0 <= y < height else " "

    roof_pal = {"r": "house", "R": "lab", "c": "cedar"}
    wall_pal = {"o": "house", "w": "house", "d": "house", "W": "lab", "O": "lab", "E": "lab",
                "i": "cedar", "n": "cedar"}
    for y in range(height):
        row = []
        for x in range(width):
            s = sym(x, y)
            if s in extra:
                row.append(extra[s](x, y))
            elif outdoor:
                if s in roof_pal:
                    same = lambda c: c in roof_pal and roof_pal[c] == roof_pal[s]
                    img = roof(not same(sym(x, y - 1)), not same(sym(x, y + 1)),
                               not same(sym(x - 1, y)), not same(sym(x + 1, y)))
                    row.append((img, roof_pal[s], WALL))
                elif s in wall_pal:
                    kind = {"o": "window", "O": "window", "i": "window", "w": "plain", "W": "plain",
                            "d": "door", "E": "door", "n": "door_closed"}[s]
                    left = sym(x - 1, y) not in wall_pal
                    right = sym(x + 1, y) not in wall_pal
                    row.append((wall(kind, left, right), wall_pal[s], DOOR if kind == "door" else WALL))
                elif s == "T":
                    row.append((tree(), "out", WALL))
                elif s == ".":
                    row.append((grass((x * 7 + y * 3) % 3), "out", FLOOR))
                elif s == ":":
                    row.append((path_tile(), "out", FLOOR))
                elif s == "X":
                    row.append((path_tile(), "out", DOOR))
                elif s == "f":
                    row.append((flowers(), "out", FLOOR))
                elif s == "~":
                    row.append((water((x + y) % 2 * 4), "out", WATER))
                elif s == "G":
                    row.append((gate_closed(), "out", GATE))
                elif s == "H":
                    row.append((hedge(), "out", HEDGE))
                elif s == "F":
                    row.append((fence(), "out", WALL))
                elif s == "S":
                    row.append((sign(), "out", SIGN))
                else:
                    raise ValueError(f"{name}: unknown outdoor symbol {s!r} at {x},{y}")
            else:
                if s == "#":
                    row.append((wall_top(), pal_in, WALL))
                elif s == "=":
                    row.append((wall_face(), pal_in, WALL))
                elif s == "w":
                    row.append((wall_face("window"), pal_in, WALL))
                elif s == "S":
                    row.append((wall_face("shelf"), pal_in, WALL))
                elif s == "V":
                    row.append((wall_face("tv"), pal_in, WALL))
                elif s == "M":
                    row.append((wall_face("machine"), pal_in, WALL))
                elif s == ".":
                    row.append((floor_in, pal_in, FLOOR))
                elif s == "t":
                    row.append((table(floor_in, lab=name == "LAB"), pal_in, WALL))
                elif s == "b":
                    row.append((bed(floor_in, True), pal_in, WALL))
                elif s == "c":
                    row.append((bed(floor_in, False), pal_in, WALL))
                elif s == "p":
                    row.append((plant(floor_in), pal_in, WALL))
                elif s == "r":
                    row.append((rug(floor_in), pal_in, FLOOR))
                elif s == "D":
                    row.append((doormat(floor_in), pal_in, DOOR))
                else:
                    raise ValueError(f"{name}: unknown indoor symbol {s!r} at {x},{y}")
        cells.append(row)
    return cells


def special_metatiles():
    """Metatiles the game swaps in at run time: the open gate and the ROUTE's hedge gap."""
    return {
        "GATE_OPEN": (gate_open(), "out", DOOR),
        "GATE_CLOSED": (gate_closed(), "out", GATE),
        "HEDGE_GAP": (grass(0), "out", FLOOR),
    }


# ---------------------------------------------------------------------------------------
# battle background (palette "battle"), 240x160


def battle_background():
    h, w = 160, 240
    a = np.full((h, w), 1, np.uint8)
    ys, xs = np.mgrid[0:h, 0:w]
    a[(ys // 4) % 4 == 0] = 2
    a[ys >= 112] = 7
    a[(ys >= 112) & ((ys // 4) % 3 == 0)] = 8
    for cx, cy, rx, ry in ((188, 62, 56, 13), (64, 106, 64, 14)):
        u = (xs + 0.5 - cx) / rx
        v = (ys + 0.5 - cy) / ry
        inside = u * u + v * v <= 1
        a[inside] = 4
        a[inside & (v < -0.2)] = 3
        a[inside & (v > 0.55)] = 5
        a[inside & ~_erode(inside)] = 6
    return a


# ---------------------------------------------------------------------------------------
# sprites (OBJ palettes)

OBJ_PALETTES = {
    "player": [MAGENTA, (32, 32, 40), (248, 208, 168), (232, 56, 56), (160, 32, 40),
               (64, 112, 216), (40, 72, 160), (56, 56, 88), (248, 248, 248), (72, 48, 40),
               MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA],
    "professor": [MAGENTA, (32, 32, 40), (248, 208, 168), (208, 208, 216), (152, 152, 168),
                  (240, 240, 240), (176, 184, 200), (120, 88, 64), (248, 248, 248), (152, 152, 168),
                  MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA],
    "trainer": [MAGENTA, (32, 32, 40), (240, 192, 152), (72, 184, 88), (32, 120, 56),
                (248, 200, 64), (200, 144, 32), (88, 72, 56), (248, 248, 248), (96, 64, 40),
                MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA],
    "mom": [MAGENTA, (32, 32, 40), (248, 208, 168), (176, 88, 64), (128, 56, 40),
            (240, 136, 176), (200, 88, 136), (96, 80, 144), (248, 248, 248), (128, 56, 40),
            MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA],
    "ui": [MAGENTA, (16, 16, 24), (240, 40, 40), (168, 16, 24), (248, 248, 248), (248, 216, 48),
           (232, 136, 24), MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA, MAGENTA,
           MAGENTA, MAGENTA],
}

# MiniMon: name, body colours (light, mid, dark), accent colours (light, mid, dark)
MONS = [
    ("FLAMIN", [(248, 152, 104), (232, 88, 56), (168, 48, 40)], [(255, 240, 120), (248, 184, 48), (224, 112, 24)]),
    ("AQUAPUP", [(136, 200, 248), (72, 136, 232), (40, 80, 168)], [(240, 248, 255), (200, 232, 248), (120, 176, 224)]),
    ("VOLTIK", [(255, 240, 128), (248, 208, 48), (192, 144, 24)], [(255, 255, 240), (96, 88, 96), (48, 40, 56)]),
    ("GRASSY", [(168, 232, 128), (96, 192, 80), (48, 128, 56)], [(255, 168, 200), (232, 96, 144), (168, 48, 96)]),
    ("ROCKO", [(200, 184, 160), (152, 136, 112), (96, 84, 72)], [(232, 224, 208), (176, 160, 136), (120, 104, 88)]),
    ("BUZZLE", [(200, 160, 240), (152, 104, 216), (96, 64, 160)], [(240, 248, 255), (200, 224, 248), (144, 176, 216)]),
    ("PUFFIN", [(255, 200, 224), (240, 144, 184), (192, 88, 136)], [(255, 248, 252), (255, 224, 236), (232, 176, 200)]),
]
MON_PAL = [MAGENTA, (24, 24, 32)]  # 1 outline; 2-4 body L/M/D; 5-7 accent L/M/D; 8 eye white, 9 cheek


def _mon_palette(body, accent):
    pal = [MAGENTA, (24, 24, 32), *body, *accent, (248, 248, 248), (248, 120, 120)]
    return pal + [MAGENTA] * (16 - len(pal))


for _name, _body, _accent in MONS:
    OBJ_PALETTES["mon_" + _name.lower()] = _mon_palette(_body, _accent)
OBJ_PAL_INDEX = {name: i for i, name in enumerate(OBJ_PALETTES)}

HUMAN_LEGEND = {".": 0, "k": 1, "s": 2, "h": 3, "H": 4, "c": 5, "C": 6, "p": 7, "w": 8, "e": 9}

_HEAD_FRONT = [
    "........",
    ".....kkk",
    "....khhh",
    "...khhhh",
    "...khhhw",
    "..kHHHHH",
    "...kesss",
    "...kskss",
    "....ksss",
]
_HEAD_BACK = [
    "........",
    ".....kkk",
    "....khhh",
    "...khhhh",
    "...khhhh",
    "...kHhhh",
    "...keeee",
    "...keeee",
    "....keee",
]
_BODY = [
    "...kkccc",
    "..kscccc",
    "..kscCCC",
]
_LEGS_STAND = ["...kppppppppk...", "...kppk..kppk...", "...kkkk..kkkk..."]
_LEGS_STEP = ["...kppppppppk...", "...kppk..kppk...", "...kkkk...kkk..."]
_SIDE = [
    "................",
    ".....kkkkk......",
    "....khhhhhk.....",
    "...khhhhhhhk....",
    "...khhhhhhhhk...",
    "...kHHHHHHHHHHk.",
    "...keeesssssk...",
    "...keesssksk....",
    "....kesssssk....",
    ".....kkcccck....",
    "....kcccsscck...",
    "....kcccsskk....",
    "....kpppppppk...",
]
_SIDE_LEGS_STAND = [".....kppkppk....", ".....kkkkkkk....", "................"]
_SIDE_LEGS_STEP = ["....kppk..kppk..", "...kkkk....kkkk.", "................"]


def _human(head, legs):
    top = ascii_img(head + _BODY, HUMAN_LEGEND, mirror=True)
    bottom = ascii_img(legs, HUMAN_LEGEND)
    img = np.concatenate([top, bottom, np.zeros((16 - top.shape[0] - bottom.shape[0], 16), np.uint8)])
    return img


def human_frames():
    """6 frames of 16x16: down, down-step, up, up-step, right, right-step."""
    side = ascii_img(_SIDE, HUMAN_LEGEND)
    return {
        "DOWN": _human(_HEAD_FRONT, _LEGS_STAND),
        "DOWN_STEP": _human(_HEAD_FRONT, _LEGS_STEP),
        "UP": _human(_HEAD_BACK, _LEGS_STAND),
        "UP_STEP": _human(_HEAD_BACK, _LEGS_STEP),
        "SIDE": np.concatenate([side, ascii_img(_SIDE_LEGS_STAND, HUMAN_LEGEND)]),
        "SIDE_STEP": np.concatenate([side, ascii_img(_SIDE_LEGS_STEP, HUMAN_LEGEND)]),
    }


def _fix16(img):
    assert img.shape == (16, 16), img.shape
    return img


UI_LEGEND = {".": 0, "k": 1, "r": 2, "R": 3, "w": 4, "y": 5, "o": 6}

CURSOR = [  # a big right-pointing arrow
    "................",
    "..kk............",
    "..krk...........",
    "..krrk..........",
    "..krrrk.........",
    "..krrrrk........",
    "..krrrrrk.......",
    "..krrrrrrk......",
    "..krrrrrrRk.....",
    "..krrrrrRk......",
    "..krrrrRk.......",
    "..krrrRk........",
    "..krrRk.........",
    "..krRk..........",
    "..kRk...........",
    "..kk............",
]
ARROW_DOWN = [  # the "more text" arrow
    "................",
    "................",
    ".kkkkkkkkkkkkkk.",
    ".krrrrrrrrrrrrk.",
    "..krrrrrrrrrrk..",
    "..krrrrrrrrrRk..",
    "...krrrrrrrRk...",
    "...krrrrrrRRk...",
    "....krrrrRRk....",
    "....krrrRRRk....",
    ".....krRRRk.....",
    ".....krRRRk.....",
    "......kRRk......",
    "......kkkk......",
    "................",
    "................",
]
TURN_MARKER = [  # a star beside whoever acts
    ".......kk.......",
    "......kyyk......",
    "......kyyk......",
    ".....kyyyyk.....",
    "kkkkkkyyyyykkkkk",
    "kyyyyyyyyyyyyyyk",
    ".kyyyyyyyyyyyyk.",
    "..kyyyyyyyyyyk..",
    "...kyyyyyyyyk...",
    "...kyyyyyyyyk...",
    "..kyyyyookyyyk..",
    "..kyyyokkkoyyk..",
    ".kyyyok..koyyyk.",
    ".kyyok....koyyk.",
    "kyyok......koyyk",
    "kkkk........kkkk",
]


BALL = [  # the party icon, drawn with the starter's own palette (3 body, 8 white, 1 outline)
    "................",
    ".....111111.....",
    "...1133333311...",
    "..133332333331..",
    "..133323333331..",
    ".13333333333331.",
    ".13333333333331.",
    ".11111188111111.",
    ".11111811811111.",
    ".18888188188881.",
    ".18888811888881.",
    "..188888888881..",
    "..188888888881..",
    "...1188888811...",
    ".....111111.....",
    "................",
]


def obj_sprites():
    """Named OBJ images (16x16 each) in load order."""
    out = {}
    for name, img in human_frames().items():
        out["HUMAN_" + name] = _fix16(img)
    out["CURSOR"] = _fix16(ascii_img(CURSOR, UI_LEGEND))
    out["ARROW"] = _fix16(ascii_img(ARROW_DOWN, UI_LEGEND))
    out["STAR"] = _fix16(ascii_img(TURN_MARKER, UI_LEGEND))
    out["BALL"] = _fix16(np.array([[int(c, 16) if c != "." else 0 for c in r] for r in BALL], np.uint8))
    return out


# ---------------------------------------------------------------------------------------
# MiniMon 64x64 (palette: 1 outline, 2-4 body L/M/D, 5-7 accent L/M/D, 8 eye white, 9 cheek)

BODY, ACCENT = (2, 3, 4), (5, 6, 7)


class MonCanvas:
    """Paint parts back to front; each part gets its own outline, so overlaps read clearly."""

    def __init__(self):
        self.img = np.zeros((64, 64), np.uint8)
        ys, xs = np.mgrid[0:64, 0:64]
        self.xs, self.ys = xs + 0.5, ys + 0.5

    def _paint(self, mask, shade_u, shade_v, colors):
        light, mid, dark = colors
        ring = _dilate(mask) & ~mask
        self.img[ring] = 1
        lit = -(shade_u * 0.6 + shade_v * 0.8)
        self.img[mask] = mid
        self.img[mask & (lit > 0.4)] = light
        self.img[mask & (lit < -0.5)] = dark

    def ellipse(self, cx, cy, rx, ry, colors=BODY, angle=0.0):
        c, s = math.cos(angle), math.sin(angle)
        dx, dy = self.xs - cx, self.ys - cy
        u = (dx * c + dy * s) / rx
        v = (-dx * s + dy * c) / ry
        self._paint(u * u + v * v <= 1, u, v, colors)

    def polygon(self, points, colors=ACCENT):
        im = Image.new("L", (64, 64), 0)
        ImageDraw.Draw(im).polygon(points, fill=1)
        mask = np.array(im, bool)
        cx = sum(p[0] for p in points) / len(points)
        cy = sum(p[1] for p in points) / len(points)
        span = max(8.0, max(abs(p[0] - cx) + abs(p[1] - cy) for p in points))
        self._paint(mask, (self.xs - cx) / span, (self.ys - cy) / span, colors)

    def eye(self, cx, cy, r=4.0, look=1.0):
        self.ellipse(cx, cy, r, r * 1.25, colors=(8, 8, 8))
        pupil = ((self.xs - cx - look) / (r * 0.62)) ** 2 + ((self.ys - cy - 0.5) / (r * 0.85)) ** 2 <= 1
        self.img[pupil] = 1
        glint = ((self.xs - cx - look + 1.2) ** 2 + (self.ys - cy + 1.6) ** 2) <= 1.3
        self.img[glint] = 8

    def cheek(self, cx, cy):
        self.img[((self.xs - cx) / 3.0) ** 2 + ((self.ys - cy) / 1.8) ** 2 <= 1] = 9

    def smile(self, cx, cy, w=3):
        for dx in range(-w, w + 1):
            y = int(round(cy - (dx * dx) / (w * 2.0)))
            self.img[y, int(cx + dx)] = 1


def _flamin(m):
    m.polygon([(44, 40), (58, 26), (60, 12), (52, 22), (50, 8), (44, 24), (40, 36)], ACCENT)  # tail flame
    m.ellipse(46, 44, 10, 5, BODY, angle=-0.6)  # tail
    m.ellipse(30, 44, 15, 14)  # body
    m.ellipse(30, 48, 9, 8, ACCENT)  # belly
    m.ellipse(21, 58, 6, 4)
    m.ellipse(38, 58, 6, 4)  # feet
    m.ellipse(28, 22, 15, 13)  # head
    m.polygon([(20, 12), (23, 2), (28, 10)], BODY)
    m.polygon([(30, 10), (36, 2), (37, 12)], BODY)
    m.eye(22, 21)
    m.eye(34, 21)
    m.smile(28, 28)
    m.cheek(17, 27)
    m.cheek(39, 27)
    m.ellipse(16, 42, 4, 6, BODY, angle=0.5)


def _aquapup(m):
    m.polygon([(48, 44), (62, 34), (60, 52)], ACCENT)  # tail fin
    m.ellipse(32, 46, 17, 13)
    m.ellipse(32, 50, 10, 7, ACCENT)
    m.ellipse(20, 58, 6, 4)
    m.ellipse(44, 58, 6, 4)
    m.ellipse(14, 24, 6, 12, ACCENT, angle=0.35)  # ears
    m.ellipse(50, 24, 6, 12, ACCENT, angle=-0.35)
    m.ellipse(32, 24, 16, 14)
    m.ellipse(32, 30, 7, 4, ACCENT)  # muzzle
    m.img[28:30, 31:34] = 1
    m.eye(25, 21)
    m.eye(39, 21)
    m.cheek(19, 29)
    m.cheek(45, 29)


def _voltik(m):
    m.polygon([(46, 44), (56, 38), (52, 34), (62, 26), (58, 36), (62, 38), (50, 48)], ACCENT)  # bolt tail
    m.ellipse(32, 40, 20, 20)
    m.ellipse(32, 47, 12, 10, (8, 8, 2))
    m.polygon([(20, 22), (14, 4), (24, 12), (22, 2), (28, 18)], ACCENT)  # zigzag antennae
    m.polygon([(44, 22), (50, 4), (40, 12), (42, 2), (36, 18)], ACCENT)
    m.ellipse(32, 40, 20, 20)
    m.ellipse(32, 48, 11, 9, (8, 8, 2))
    m.polygon([(28, 36), (36, 36), (32, 42)], (5, 6, 7))  # beak
    m.eye(24, 30)
    m.eye(40, 30)
    m.cheek(16, 40)
    m.cheek(48, 40)
    m.ellipse(22, 60, 5, 3, ACCENT)
    m.ellipse(42, 60, 5, 3, ACCENT)


def _grassy(m):
    m.ellipse(32, 44, 20, 15)
    m.ellipse(18, 58, 5, 4)
    m.ellipse(46, 58, 5, 4)
    m.polygon([(32, 28), (20, 10), (26, 6), (32, 18)], BODY)  # leaves
    m.polygon([(32, 28), (44, 10), (38, 6), (32, 18)], BODY)
    m.ellipse(32, 14, 6, 5, ACCENT)  # flower bud
    m.eye(24, 40)
    m.eye(40, 40)
    m.smile(32, 48, 4)
    m.cheek(16, 48)
    m.cheek(48, 48)


def _rocko(m):
    m.polygon([(8, 56), (6, 36), (16, 20), (34, 12), (52, 20), (60, 38), (56, 56)], BODY)
    m.polygon([(14, 30), (22, 22), (26, 30)], ACCENT)
    m.polygon([(44, 40), (54, 36), (52, 48)], ACCENT)
    m.ellipse(6, 46, 5, 7, BODY)
    m.ellipse(58, 46, 5, 7, BODY)
    m.img[30:32, 20:30] = 1  # angry brows
    m.img[30:32, 36:46] = 1
    m.eye(25, 37, 3.5)
    m.eye(41, 37, 3.5)
    m.img[48, 26:40] = 1


def _buzzle(m):
    m.ellipse(16, 24, 12, 9, ACCENT, angle=-0.5)  # wings
    m.ellipse(48, 24, 12, 9, ACCENT, angle=0.5)
    m.ellipse(32, 50, 11, 10)  # abdomen
    m.img[46:48, 23:42] = 4
    m.img[52:54, 23:42] = 4
    m.ellipse(32, 32, 14, 12)  # head
    m.polygon([(26, 22), (18, 6), (22, 6), (30, 20)], BODY)
    m.polygon([(38, 22), (46, 6), (42, 6), (34, 20)], BODY)
    m.ellipse(19, 6, 3, 3, ACCENT)
    m.ellipse(45, 6, 3, 3, ACCENT)
    m.eye(26, 31, 4.5)
    m.eye(38, 31, 4.5)
    m.smile(32, 38, 2)


def _puffin(m):
    for ang in range(0, 360, 45):
        a = math.radians(ang)
        m.ellipse(32 + 20 * math.cos(a), 36 + 18 * math.sin(a), 8, 8)
    m.ellipse(32, 36, 22, 20)
    m.ellipse(32, 14, 6, 6, ACCENT)  # tuft
    m.ellipse(32, 44, 10, 6, ACCENT)
    m.eye(24, 32)
    m.eye(40, 32)
    m.smile(32, 40, 3)
    m.cheek(16, 40)
    m.cheek(48, 40)


_DRAW = [_flamin, _aquapup, _voltik, _grassy, _rocko, _buzzle, _puffin]


def mon_images():
    imgs = []
    for draw in _DRAW:
        m = MonCanvas()
        draw(m)
        imgs.append(m.img)
    return imgs


# ---------------------------------------------------------------------------------------
# previews


def _rgb(img, pal):
    lut = np.array(pal, np.uint8)
    out = lut[img]
    out[img == 0] = (40, 40, 40)
    return out


def write_previews(folder):
    import PIL.Image as PI

    for map_id, (name, rows, _) in enumerate(MAPS):
        cells = map_cells(name, rows)
        canvas = np.zeros((160, 240, 3), np.uint8)
        for y, row in enumerate(cells):
            for x, (img, pal, kind) in enumerate(row):
                canvas[y * 16 : y * 16 + 16, x * 16 : x * 16 + 16] = np.array(BG_PALETTES[pal], np.uint8)[img]
        PI.fromarray(canvas).resize((480, 320), PI.NEAREST).save(folder / f"map_{map_id}_{name}.png")
    sheet = np.zeros((64, 64 * len(MONS), 3), np.uint8)
    for i, img in enumerate(mon_images()):
        sheet[:, i * 64 : i * 64 + 64] = _rgb(img, OBJ_PALETTES["mon_" + MONS[i][0].lower()])
    PI.fromarray(sheet).resize((sheet.shape[1] * 3, 192), PI.NEAREST).save(folder / "mons.png")
    sprites = obj_sprites()
    sheet = np.zeros((16, 16 * len(sprites), 3), np.uint8)
    for i, (name, img) in enumerate(sprites.items()):
        pal = OBJ_PALETTES["ui" if not name.startswith("HUMAN") else "player"]
        sheet[:, i * 16 : i * 16 + 16] = _rgb(img, pal)
    PI.fromarray(sheet).resize((sheet.shape[1] * 6, 96), PI.NEAREST).save(folder / "sprites.png")
    PI.fromarray(np.array(BG_PALETTES["battle"], np.uint8)[battle_background()]).save(folder / "battle_bg.png")
