"""pokeil_jax.emulator: mGBA never calls back into Python, so nothing imported before it can hang it."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Looking up an attribute on a PyCapsule gives PyCapsule_Type a version tag, as `import torch`
# does; cffi's start-up spin lock for mGBA's Python callbacks then never opens.
FIRST_FRAMES_AFTER_CAPSULE_LOOKUP = textwrap.dedent("""
    import datetime
    getattr(datetime.datetime_CAPI, "anything", None)
    from pokeil_jax.emulator import Emulator
    from pokeil_jax.games.minimon import ROM_PATH
    emu = Emulator(ROM_PATH)
    emu.run_frames(120)
    print("frames", emu.frame_count)
""")


def assert_first_frames_run(code: str, what: str) -> None:
    try:
        result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the first frames {what} hung: mGBA called back into Python through cffi's start-up lock")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "frames 120" in result.stdout


def test_frames_run_after_pycapsule_gets_a_version_tag():
    assert_first_frames_run(FIRST_FRAMES_AFTER_CAPSULE_LOOKUP, "after a PyCapsule attribute lookup")


@pytest.mark.torch
def test_frames_run_after_importing_torch():
    pytest.importorskip("torch", reason="needs PyTorch (pip install torch==2.13.0)")
    assert_first_frames_run("import torch\n" + FIRST_FRAMES_AFTER_CAPSULE_LOOKUP, "after `import torch`")


def test_no_python_callbacks_registered():
    from pokeil_jax.emulator import Emulator
    from pokeil_jax.games.minimon import ROM_PATH

    emu = Emulator(ROM_PATH)
    calls = []
    emu._core.add_frame_callback(lambda: calls.append(1))  # the bindings' list, no longer wired to mGBA
    emu.run_frames(5)
    assert calls == []
