"""Save-state files: mGBA PNG slots and raw states, checked against the ROM header (no emulator)."""

import json
import struct
import zlib

import pytest

from pokeil_jax import savestates
from pokeil_jax.emulator import RomHeader
from pokeil_jax.savestates import STATE_SIZE, StateFileError

EMERALD = RomHeader("POKEMON EMER", "BPEE", "01", 0)


def raw_state(title=b"POKEMON EMER", code=b"BPEE", magic=0x01000007, iwram_byte=0x11, ewram_byte=0x22):
    state = bytearray(STATE_SIZE)
    struct.pack_into("<I", state, 0, magic)
    state[0x10 : 0x10 + len(title)] = title
    state[0x1C:0x20] = code
    state[0x19000] = iwram_byte  # first byte of IWRAM
    state[0x21000] = ewram_byte  # first byte of EWRAM
    return bytes(state)


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_state(state: bytes, with_state_chunk=True) -> bytes:
    ihdr = struct.pack(">IIBBBBB", 240, 160, 8, 2, 0, 0, 0)
    chunks = [chunk(b"IHDR", ihdr), chunk(b"IDAT", zlib.compress(b"\0" * 10))]
    if with_state_chunk:
        chunks.append(chunk(b"gbAs", zlib.compress(state)))
        chunks.append(chunk(b"gbAx", struct.pack("<II", 1, 4) + zlib.compress(b"abcd")))
    chunks.append(chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def test_raw_state_with_extdata_tail_reads_the_state(tmp_path):
    state = raw_state()
    path = tmp_path / "run.state"
    path.write_bytes(state + b"\x01\0\0\0" + b"\0" * 28)  # an extdata header after the state
    assert savestates.read_state_file(path, EMERALD) == state


def test_png_slot_reads_the_gbas_chunk(tmp_path):
    state = raw_state(ewram_byte=0x5A)
    path = tmp_path / "rom.ss1"
    path.write_bytes(png_state(state))
    loaded = savestates.read_state_file(path, EMERALD)
    assert loaded == state
    iwram, ewram = savestates.state_ram(loaded)
    assert (iwram[0], ewram[0], len(iwram), len(ewram)) == (0x11, 0x5A, 0x8000, 0x40000)


@pytest.mark.parametrize(
    "content, needle",
    [
        (raw_state()[: STATE_SIZE // 2], "not a GBA save state"),  # truncated
        (b"hello, I am a text file\n", "not a GBA save state"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "without a complete mGBA save-state"),  # a damaged PNG
        (raw_state(magic=0x12345678), "not an mGBA GBA save state"),
        (raw_state(title=b"POKEMON FIRE", code=b"BPRE"), "'POKEMON FIRE' (BPRE), not of the loaded ROM 'POKEMON EMER'"),
    ],
)
def test_bad_files_give_one_line_naming_the_file(tmp_path, content, needle):
    path = tmp_path / "bad.ss0"
    path.write_bytes(content)
    with pytest.raises(StateFileError) as error:
        savestates.read_state_file(path, EMERALD)
    message = str(error.value)
    assert needle in message and str(path) in message and "\n" not in message


def test_png_screenshot_without_state_and_missing_file(tmp_path):
    path = tmp_path / "shot.png"
    path.write_bytes(png_state(raw_state(), with_state_chunk=False))
    with pytest.raises(StateFileError, match="without a complete"):
        savestates.read_state_file(path, EMERALD)
    with pytest.raises(StateFileError, match="not found"):
        savestates.read_state_file(tmp_path / "nope.state", EMERALD)


def test_png_whose_state_chunk_is_not_zlib(tmp_path):
    path = tmp_path / "broken.ss2"
    data = png_state(raw_state())
    start = data.index(b"gbAs") + 4
    path.write_bytes(data[:start] + b"\xff" * 8 + data[start + 8 :])
    with pytest.raises(StateFileError, match="does not decompress"):
        savestates.read_state_file(path, EMERALD)


def test_recorded_milestones_of_the_pokeagent_kit(tmp_path):
    state = tmp_path / "02_starter.state"
    assert savestates.recorded_milestones(state) == set()
    record = {"milestones": {"LITTLEROOT_TOWN": {"completed": True}, "ROUTE_101": {"completed": False},
                             "GAME_RUNNING": {"completed": True}}}
    (tmp_path / "02_starter_milestones.json").write_text(json.dumps(record))
    assert savestates.recorded_milestones(state) == {"LITTLEROOT_TOWN", "GAME_RUNNING"}
    (tmp_path / "02_starter_milestones.json").write_text("{\n\n}")  # the kit's empty record
    assert savestates.recorded_milestones(state) == set()
    (tmp_path / "02_starter_milestones.json").write_text("[1, 2")
    with pytest.raises(StateFileError, match="02_starter_milestones.json is not a milestone record"):
        savestates.recorded_milestones(state)
