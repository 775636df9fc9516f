"""Save-state files from outside the env: mGBA's own `.ss0`-`.ss9` and raw `.state` files.

Two containers hold the same thing, mGBA's serialized GBA machine (`struct GBASerializedState`,
0x61000 bytes; layout in mGBA's include/mgba/internal/gba/serialize.h):

- raw: the struct itself, optionally followed by mGBA's extdata blocks. `core.save_raw_state()`
  writes this; the PokéAgent speedrun kit (sethkarten/pokeagent-speedrun,
  pokemon_env/emulator.py `save_state`) saves exactly these bytes as `NAME.state`, with its
  milestone record beside it as `NAME_milestones.json`.
- PNG: a screenshot whose `gbAs` chunk holds the zlib-compressed struct (mGBA
  src/core/serialize.c, `_savePNGState`); mGBA's "Save state" slots are these.

Nothing here imports mGBA: a file is read, checked against the ROM's cartridge header and
returned as the raw bytes `Emulator.load_state` takes.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

from pokeil_jax.emulator import EWRAM_SIZE, IWRAM_SIZE, RomHeader, read_rom_header

STATE_SIZE = 0x61000
_MAGIC_HIGH = 0x01000000  # versionMagic = 0x01000000 + format version
_TITLE, _CODE = slice(0x10, 0x1C), slice(0x1C, 0x20)
_IWRAM_OFFSET, _EWRAM_OFFSET = 0x19000, 0x21000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class StateFileError(ValueError):
    """A save-state file that is missing, truncated, not a state, or from another game."""


def read_state_file(path: str | os.PathLike, rom: RomHeader) -> bytes:
    """The raw machine state in `path` (mGBA PNG slot or raw state), checked to be of `rom`'s game.

    Raises StateFileError with one line naming the file and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise StateFileError(f"save state not found: {path}. Pass the path of an mGBA .ss0-.ss9 or a .state file.")
    data = path.read_bytes()
    if data.startswith(_PNG_SIGNATURE):
        state = _state_from_png(path, data)
    elif len(data) >= STATE_SIZE:
        state = data[:STATE_SIZE]  # what follows is mGBA's optional extdata (screenshot, save data)
    else:
        raise StateFileError(
            f"{path} is not a GBA save state: {len(data)} bytes, and an mGBA state is {STATE_SIZE} bytes "
            f"(raw) or a PNG with a gbAs chunk (truncated or another kind of file?)."
        )
    magic = struct.unpack_from("<I", state)[0]
    if magic & 0xFF000000 != _MAGIC_HIGH or magic & 0x00FFFFFF > 0xFF:
        raise StateFileError(
            f"{path} is not an mGBA GBA save state (version word 0x{magic:08X}, expected 0x01000000 + version)."
        )
    title = state[_TITLE].split(b"\0")[0].decode("ascii", "replace")
    code = state[_CODE].decode("ascii", "replace")
    if code != rom.game_code or title != rom.title:
        raise StateFileError(
            f"{path} is a save state of {title!r} ({code}), not of the loaded ROM {rom.title!r} ({rom.game_code}); "
            f"pass a state saved with this game."
        )
    return state


def check_for_rom(path: str | os.PathLike, rom_path: str | os.PathLike | None = None) -> None:
    """For command-line flags: raise StateFileError (or RomError) unless `path` is a save state of
    the ROM at `rom_path` (default: the bundled game)."""
    if rom_path is None:
        from pokeil_jax.games import default_rom_path

        rom_path = default_rom_path()
    read_state_file(path, read_rom_header(rom_path))


def _state_from_png(path: Path, data: bytes) -> bytes:
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            break
        if kind == b"gbAs":
            try:
                state = zlib.decompress(body)
            except zlib.error as e:
                raise StateFileError(f"{path}: its mGBA state chunk does not decompress ({e}); the file is damaged.") from None
            if len(state) != STATE_SIZE:
                raise StateFileError(f"{path}: its mGBA state chunk holds {len(state)} bytes, expected {STATE_SIZE}.")
            return state
        if kind == b"IEND":
            break
        pos += 12 + length  # length, type, body, CRC
    raise StateFileError(
        f"{path} is a PNG without a complete mGBA save-state (gbAs) chunk: a screenshot, or a truncated state file."
    )


def state_ram(state: bytes) -> tuple[bytes, bytes]:
    """(IWRAM, EWRAM) of a raw machine state, without loading it."""
    return (
        state[_IWRAM_OFFSET : _IWRAM_OFFSET + IWRAM_SIZE],
        state[_EWRAM_OFFSET : _EWRAM_OFFSET + EWRAM_SIZE],
    )


def recorded_milestones(path: str | os.PathLike) -> set[str]:
    """Milestone names marked completed in the PokéAgent kit's `NAME_milestones.json` beside
    `NAME.state` (its `{"milestones": {name: {"completed": bool, ...}}}`); empty when there is none."""
    path = Path(path)
    record = path.with_name(f"{path.stem}_milestones.json")
    if not record.is_file():
        return set()
    try:
        milestones = json.loads(record.read_text()).get("milestones", {})
        return {name for name, entry in milestones.items() if entry.get("completed")}
    except (ValueError, AttributeError) as e:
        raise StateFileError(
            f"{record} is not a milestone record ({{\"milestones\": {{name: {{\"completed\": bool}}}}}}): {e}. "
            f"Fix or remove it."
        ) from None
