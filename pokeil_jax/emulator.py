"""The only module that talks to mGBA.

mGBA's Python bindings are deprecated upstream; everything the project needs from an
emulator goes through `Emulator` here so the bindings can be swapped in one place.
One `Emulator` per process (mGBA cores are not thread-safe); vectorise with processes.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Iterable

import numpy as np

from pokeil_jax.actions import BUTTONS  # the env's action order: action i presses BUTTONS[i]

SCREEN_HEIGHT, SCREEN_WIDTH = 160, 240

# GBA address map (GBATEK, "GBA Memory Map"): region base -> mGBA memory block id.
EWRAM_BASE, EWRAM_SIZE = 0x02000000, 0x40000
IWRAM_BASE, IWRAM_SIZE = 0x03000000, 0x8000
_BLOCK_IDS = {EWRAM_BASE: 2, IWRAM_BASE: 3}  # mGBA's REGION_WORKING_RAM / REGION_WORKING_IRAM

# GBA cartridge header (GBATEK, "GBA Cartridge Header").
_HEADER_SIZE = 0xC0
_FIXED_BYTE_OFFSET, _FIXED_BYTE = 0xB2, 0x96


class RomError(ValueError):
    """A ROM path that is missing or is not a GBA ROM."""


#: Private ROM copies live in `<tempdir>/pokeil_rom_<pid>_<random>/`; the pid lets a later
#: process remove the copies of processes that died without cleaning up (SIGKILL, OOM).
_ROM_COPY_PREFIX = "pokeil_rom_"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_rom_copies(tempdir: str | os.PathLike | None = None) -> list[Path]:
    """Delete this user's private ROM folders whose process is gone; returns what was removed."""
    removed = []
    for folder in Path(tempdir or tempfile.gettempdir()).glob(f"{_ROM_COPY_PREFIX}*_*"):
        pid_text = folder.name[len(_ROM_COPY_PREFIX):].split("_")[0]
        try:
            owned = folder.is_dir() and folder.stat().st_uid == os.getuid()
        except OSError:  # removed meanwhile by another process's sweep
            continue
        if pid_text.isdigit() and owned and not _process_alive(int(pid_text)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@dataclasses.dataclass(frozen=True)
class RomHeader:
    title: str
    game_code: str
    maker_code: str
    version: int


def read_rom_header(rom_path: str | os.PathLike) -> RomHeader:
    """Read and check a GBA ROM's cartridge header; raise RomError naming the path if it is not one."""
    path = Path(rom_path)
    if not path.is_file():
        raise RomError(
            f"ROM not found: {path}. Pass --rom-path pointing to a .gba file, "
            f"or leave it unset to use the bundled MiniMon game."
        )
    with open(path, "rb") as f:
        header = f.read(_HEADER_SIZE)
    if len(header) < _HEADER_SIZE or header[_FIXED_BYTE_OFFSET] != _FIXED_BYTE:
        raise RomError(
            f"{path} is not a GBA ROM (no valid cartridge header: byte 0xB2 must be 0x96). "
            f"Check the file is an uncompressed .gba image."
        )
    # The complement check (GBATEK): sum of bytes 0xA0..0xBC plus 0x19 plus the byte at 0xBD is 0 mod 256.
    if (sum(header[0xA0:0xBD]) + 0x19 + header[0xBD]) & 0xFF:
        raise RomError(f"{path} has a corrupt GBA header (complement check at 0xBD fails).")

    def text(a: int, b: int) -> str:
        return header[a:b].split(b"\0")[0].decode("ascii", "replace")

    return RomHeader(text(0xA0, 0xAC), text(0xAC, 0xB0), text(0xB0, 0xB2), header[0xBC])


_SILENT_LOG_FILTER = None


def _silence_mgba_natively() -> None:
    """Install a default mGBA logger whose filter drops every message inside mGBA.

    mGBA must never call back into Python here: the bindings' callbacks (frame ended, key read,
    log) enter Python through cffi's start-up spin lock, which waits for
    `PyCapsule_Type.tp_version_tag` to be 0. On Python 3.11 importing torch sets that field, so
    the first callback after `import torch` spins forever (seen: the first frame of a core never
    returned). `mgba.log.silence()` alone still calls a Python no-op for each message; with a
    filter whose levels are all off, mGBA's `mLog` drops messages before the call.
    """
    global _SILENT_LOG_FILTER
    import mgba.log
    from mgba._pylib import ffi, lib

    if _SILENT_LOG_FILTER is not None:
        return
    mgba.log.silence()
    log_filter = ffi.new("struct mLogFilter*")
    lib.mLogFilterInit(log_filter)
    log_filter.defaultLevels = 0
    mgba.log.Logger._DEFAULT_LOGGER._native.filter = log_filter
    _SILENT_LOG_FILTER = log_filter  # the default logger points at it for the life of the process


class Emulator:
    """One mGBA GBA core running a private copy of a ROM.

    The ROM is copied into a temporary folder before loading, so mGBA never writes a save
    file next to the user's ROM. `frame()` returns RGB uint8 (160, 240, 3).
    """

    def __init__(self, rom_path: str | os.PathLike):
        import mgba.core
        import mgba.image
        from mgba._pylib import ffi

        self.header = read_rom_header(rom_path)
        self._ffi = ffi
        _silence_mgba_natively()
        remove_stale_rom_copies()
        self._tmpdir = tempfile.mkdtemp(prefix=f"{_ROM_COPY_PREFIX}{os.getpid()}_")
        # finalize, not __del__: it also runs at interpreter exit, before the modules it needs go away
        self._remove_tmpdir = weakref.finalize(self, shutil.rmtree, self._tmpdir, ignore_errors=True)
        private_rom = os.path.join(self._tmpdir, "rom.gba")
        shutil.copyfile(rom_path, private_rom)
        core = mgba.core.load_path(private_rom)
        if core is None:
            self._remove_tmpdir()
            raise RomError(f"mGBA could not load {rom_path} as a ROM.")
        self._core = core
        # The bindings register Python callbacks for every frame end and key read; nothing here
        # uses them, and calling back into Python can hang (see _silence_mgba_natively).
        native = core._core
        native.clearCoreCallbacks(native)
        self._image = mgba.image.Image(SCREEN_WIDTH, SCREEN_HEIGHT)
        core.set_video_buffer(self._image)
        core.reset()
        self._key_bits = [getattr(core, "KEY_" + name) for name in BUTTONS]
        # Zero-copy views of the frame buffer and the work RAMs (mGBA owns the memory).
        pixels = np.frombuffer(ffi.buffer(self._image.buffer), np.uint8)
        self._pixels = pixels.reshape(SCREEN_HEIGHT, SCREEN_WIDTH, 4)
        self._pixels_u32 = pixels.view(np.uint32)
        self._ram = {base: self._memory_block(base) for base in _BLOCK_IDS}

    def _memory_block(self, base: int) -> np.ndarray:
        size = self._ffi.new("size_t*")
        native = self._core._core
        pointer = native.getMemoryBlock(native, _BLOCK_IDS[base], size)
        return np.frombuffer(self._ffi.buffer(pointer, size[0]), np.uint8)

    # -- running -------------------------------------------------------------------------

    def set_buttons(self, buttons: Iterable[int]) -> None:
        """Hold exactly these buttons (indices into BUTTONS) until changed."""
        bits = 0
        for b in buttons:
            bits |= 1 << self._key_bits[b]
        native = self._core._core
        native.setKeys(native, bits)

    def run_frames(self, n: int) -> None:
        """Advance the emulation by n frames with the buttons currently held."""
        # The bindings' run_frame wraps the native call in two Python decorators (~2 us a frame);
        # calling the native function directly keeps the env close to raw emulation speed.
        native = self._core._core
        run = native.runFrame
        for _ in range(n):
            run(native)

    @property
    def frame_count(self) -> int:
        return self._core.frame_counter

    def frame(self) -> np.ndarray:
        """The last rendered frame as a new RGB uint8 (160, 240, 3) array."""
        # mGBA's buffer is RGBX, 4 bytes a pixel. Dropping X with a strided numpy copy costs
        # ~370 us; writing each pixel as one u32 at a 3-byte stride, in order, lets the next
        # pixel's R overwrite the stray X byte and costs ~30 us.
        n = SCREEN_HEIGHT * SCREEN_WIDTH
        out = np.empty(3 * n + 1, np.uint8)
        np.ndarray(buffer=out, shape=(n,), strides=(3,), dtype=np.uint32)[:] = self._pixels_u32
        return out[:-1].reshape(SCREEN_HEIGHT, SCREEN_WIDTH, 3)

    def frame_slow(self) -> np.ndarray:
        """Reference implementation of `frame` (a plain strided copy), for tests."""
        return np.ascontiguousarray(self._pixels[:, :, :3])

    # -- memory ----------------------------------------------------------------------------

    def _locate(self, address: int, size: int) -> tuple[np.ndarray, int]:
        for base, block in self._ram.items():
            if base <= address and address + size <= base + len(block):
                return block, address - base
        raise ValueError(f"address 0x{address:08X}+{size} is outside EWRAM and IWRAM")

    def read_bytes(self, address: int, size: int) -> bytes:
        block, offset = self._locate(address, size)
        return block[offset : offset + size].tobytes()

    def ram_view(self, address: int, size: int) -> np.ndarray:
        """A live uint8 view of `size` bytes of work RAM at `address` (no copy; do not keep across loads)."""
        block, offset = self._locate(address, size)
        return block[offset : offset + size]

    def read_u32(self, address: int) -> int:
        return int.from_bytes(self.read_bytes(address, 4), "little")

    def write_bytes(self, address: int, data: bytes) -> None:
        block, offset = self._locate(address, len(data))
        block[offset : offset + len(data)] = np.frombuffer(data, np.uint8)

    def write_u32(self, address: int, value: int) -> None:
        self.write_bytes(address, int(value & 0xFFFFFFFF).to_bytes(4, "little"))

    # -- state -----------------------------------------------------------------------------

    def save_state(self) -> bytes:
        """The whole machine state as bytes (about 400 KB)."""
        return bytes(self._core.save_raw_state())

    def load_state(self, state: bytes) -> None:
        if not self._core.load_raw_state(self._ffi.from_buffer(state)):
            raise ValueError("mGBA rejected the save state (wrong size or from another core).")

    def close(self) -> None:
        self._core = None
        self._remove_tmpdir()
