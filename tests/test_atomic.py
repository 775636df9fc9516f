"""Tests for pokeil_jax/atomic.py: whole files or none."""

import os

import pytest

from pokeil_jax.atomic import atomic_write, write_text_atomic


def test_atomic_write_replaces_the_file_only_when_the_block_ends(tmp_path):
    path = tmp_path / "sub" / "out.bin"
    with atomic_write(path) as f:
        f.write(b"first")
        assert not path.exists()  # nothing under the real name while writing
    assert path.read_bytes() == b"first"
    assert write_text_atomic(path, "second") == path
    assert path.read_text() == "second"
    assert sorted(os.listdir(path.parent)) == ["out.bin"]


def test_an_error_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path, "w") as f:
            f.write("half")
            raise KeyboardInterrupt
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]


def test_a_writer_that_needs_a_name_writes_to_the_temp_file(tmp_path):
    path = tmp_path / "lib.so"
    with atomic_write(path) as f:
        with open(f.name, "wb") as by_name:  # what a compiler's `-o f.name` does
            by_name.write(b"built")
    assert path.read_bytes() == b"built"


def test_atomic_write_refuses_other_modes(tmp_path):
    with pytest.raises(ValueError, match="'wb' or 'w'"):
        with atomic_write(tmp_path / "x", "a"):
            pass
