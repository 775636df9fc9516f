"""Experts: the human keyboard expert (headless, injected keys) and user agents by import path."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest

from pokeil_jax.experts import (
    ExpertError,
    HumanKeyboardExpert,
    RandomExpert,
    StopCollection,
    load_expert_class,
    make_expert,
)

OBS = np.zeros((160, 240, 3), np.uint8)


def test_human_keys_map_to_actions_and_esc_stops():
    import pygame

    human = HumanKeyboardExpert(steps_per_second=1000)
    expected = {pygame.K_z: 0, pygame.K_x: 1, pygame.K_RETURN: 2, pygame.K_RSHIFT: 3, pygame.K_UP: 4,
                pygame.K_DOWN: 5, pygame.K_LEFT: 6, pygame.K_RIGHT: 7, pygame.K_a: 8, pygame.K_s: 9}
    for key, action in expected.items():
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))
        assert human.get_action(OBS, {}) == action
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q))  # unmapped: ignored
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE))
    with pytest.raises(StopCollection):
        human.get_action(OBS, {})
    human.close()


def test_import_path_expert_fits_protocol():
    expert = make_expert("fake_agents:AlwaysRight")
    expert.reset()
    assert expert.get_action(OBS, {}) == 7


def test_import_path_errors_are_clear():
    with pytest.raises(ExpertError, match="lacks get_action"):
        load_expert_class("fake_agents:NoGetAction")
    with pytest.raises(ExpertError, match="cannot import module 'no_such_pkg.agent'"):
        load_expert_class("no_such_pkg.agent:Agent")
    with pytest.raises(ExpertError, match="has no attribute 'Nope'"):
        load_expert_class("fake_agents:Nope")
    with pytest.raises(ExpertError, match="unknown expert 'chatgpt'"):
        make_expert("chatgpt")


def test_timeout_and_bad_actions_are_caught():
    slow = make_expert("fake_agents:Slow", action_timeout=0.1)
    with pytest.raises(ExpertError, match="took longer than 0.1s"):
        slow.get_action(OBS, {})
    bad = make_expert("fake_agents:OutOfRange")
    with pytest.raises(ExpertError, match="returned 12"):
        bad.get_action(OBS, {})


def test_random_expert_is_seeded():
    a = [RandomExpert(3).get_action(OBS, {}) for _ in range(1)]
    r1, r2 = RandomExpert(3), RandomExpert(3)
    seq1 = [r1.get_action(OBS, {}) for _ in range(50)]
    seq2 = [r2.get_action(OBS, {}) for _ in range(50)]
    assert seq1 == seq2 and len(set(seq1)) > 5 and a[0] == seq1[0]


def header_only_rom(path, game_code: str):
    """A 192-byte file with a valid GBA cartridge header for `game_code` (no game in it)."""
    header = bytearray(0xC0)
    header[0xA0:0xAC] = b"HEADER ONLY\0"
    header[0xAC:0xB0] = game_code.encode()
    header[0xB2] = 0x96
    header[0xBD] = (-(sum(header[0xA0:0xBD]) + 0x19)) & 0xFF
    path.write_bytes(bytes(header))
    return path


def test_scripted_asks_the_adapter_of_the_game_being_run(tmp_path):
    from pokeil_jax.games.minimon.planner import MiniMonPlanner

    assert isinstance(make_expert("scripted"), MiniMonPlanner)  # the bundled game's
    emerald = header_only_rom(tmp_path / "emerald_header.gba", "BPEE")
    with pytest.raises(ExpertError, match=r"Pokémon Emerald has no scripted expert.*'human', 'random'.*package\.module:Class"):
        make_expert("scripted", rom_path=emerald)
