"""Experts: anything with `reset()` and `get_action(obs, info) -> int`.

- `scripted`: the scripted expert of the game being run, from its adapter
  (`GameAdapter.scripted_expert`; MiniMon's is a planner over the RAM state in `info`). It is
  queryable from any state, so DAgger can use it. A game without one raises a clear error.
- `human`: a pygame window; you play with the keyboard and every key press is one step.
- `random`: uniform random buttons (a floor for comparisons).
- `package.module:ClassName`: your own agent (an LLM code agent, say), constructed with no
  arguments, wrapped with a per-action timeout.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import time
from typing import Any, Protocol

import numpy as np

from pokeil_jax.actions import BUTTONS, NUM_ACTIONS
from pokeil_jax.emulator import SCREEN_HEIGHT, SCREEN_WIDTH


class Expert(Protocol):
    def reset(self) -> None:
        """A new episode starts."""

    def get_action(self, obs: np.ndarray, info: dict[str, Any]) -> int:
        """The button (index into BUTTONS) to press next."""


class StopCollection(Exception):
    """The user asked to stop (Esc in the human expert): save what was recorded and quit."""


class ExpertError(RuntimeError):
    """An expert that does not fit the protocol, returned a bad action, or took too long."""


class RandomExpert:
    """Uniform random buttons from a seeded generator."""

    def __init__(self, seed: int = 0):
        self._rng = np.random.default_rng(seed)

    def reset(self) -> None:
        pass

    def get_action(self, obs, info) -> int:
        return int(self._rng.integers(NUM_ACTIONS))


def _pygame():
    import os

    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    return pygame


class HumanKeyboardExpert:
    """Play in a pygame window; each key press (or held key, at game speed) is one step.

    Keys: Z=A, X=B, Enter=START, Right Shift=SELECT, arrows=D-pad, A=L, S=R; Esc saves and quits.
    """

    def __init__(self, scale: int = 3, steps_per_second: float = 2.5):
        pygame = _pygame()
        self.keymap = {
            pygame.K_z: 0, pygame.K_x: 1, pygame.K_RETURN: 2, pygame.K_RSHIFT: 3,
            pygame.K_UP: 4, pygame.K_DOWN: 5, pygame.K_LEFT: 6, pygame.K_RIGHT: 7,
            pygame.K_a: 8, pygame.K_s: 9,
        }  # fmt: skip
        pygame.display.init()
        self._window = pygame.display.set_mode((SCREEN_WIDTH * scale, SCREEN_HEIGHT * scale))
        pygame.display.set_caption("pokeil-jax: Z=A X=B Enter=START RShift=SELECT arrows A=L S=R  Esc=save+quit")
        # The env runs ~24 frames a step: 2.5 steps/s is the game's real-time speed at 60 fps.
        self._min_period = 1.0 / steps_per_second
        self._last = 0.0

    def reset(self) -> None:
        pass

    def _show(self, obs):
        pygame = _pygame()
        surface = pygame.surfarray.make_surface(np.asarray(obs).swapaxes(0, 1))
        self._window.blit(pygame.transform.scale(surface, self._window.get_size()), (0, 0))
        pygame.display.flip()

    def get_action(self, obs, info) -> int:
        pygame = _pygame()
        self._show(obs)
        while True:
            for event in pygame.event.get():
                if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE):
                    raise StopCollection("Esc pressed")
                if event.type == pygame.KEYDOWN and event.key in self.keymap:
                    return self._paced(self.keymap[event.key])
            held = pygame.key.get_pressed()
            for key, action in self.keymap.items():
                if held[key]:
                    return self._paced(action)
            time.sleep(0.005)

    def _paced(self, action: int) -> int:
        wait = self._last + self._min_period - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        self._last = time.perf_counter()
        return action

    def close(self):
        _pygame().display.quit()


class TimedExpert:
    """Wraps a user's expert: checks each action and enforces a per-action timeout."""

    def __init__(self, expert: Any, timeout_s: float, name: str):
        self.expert, self.timeout_s, self.name = expert, timeout_s, name
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def reset(self) -> None:
        self.expert.reset()

    def get_action(self, obs, info) -> int:
        future = self._pool.submit(self.expert.get_action, obs, info)
        try:
            action = future.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            raise ExpertError(
                f"expert {self.name} took longer than {self.timeout_s:g}s for one action; "
                f"raise --action-timeout or make get_action faster."
            ) from None
        if isinstance(action, np.integer):
            action = int(action)
        if not isinstance(action, int) or not 0 <= action < NUM_ACTIONS:
            raise ExpertError(
                f"expert {self.name} returned {action!r}; get_action must return an int in "
                f"0..{NUM_ACTIONS - 1} ({', '.join(BUTTONS)})."
            )
        return action


def load_expert_class(spec: str) -> Any:
    """Instantiate 'package.module:ClassName' (no arguments) and check it fits the protocol."""
    if ":" not in spec:
        raise ExpertError(
            f"unknown expert {spec!r}: use 'scripted', 'human', 'random' or an import path "
            f"'package.module:ClassName'."
        )
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ExpertError(f"cannot import module {module_name!r} for expert {spec!r}: {e}") from e
    cls = getattr(module, attr, None)
    if cls is None:
        raise ExpertError(f"module {module_name!r} has no attribute {attr!r} (expert {spec!r}).")
    # A class or factory function is called with no arguments; an instance is used as is.
    expert = cls if hasattr(cls, "get_action") and not isinstance(cls, type) else cls()
    missing = [m for m in ("reset", "get_action") if not callable(getattr(expert, m, None))]
    if missing:
        raise ExpertError(
            f"expert {spec!r} does not fit the protocol: it lacks {', '.join(missing)}. An expert needs "
            f"reset() and get_action(obs, info) -> int."
        )
    return expert


def make_expert(spec: str, seed: int = 0, action_timeout: float = 30.0, rom_path=None) -> Any:
    """Build an expert from a --expert value for the game in `rom_path` (default: the bundled
    game). Raises ExpertError naming the game and the other choices where "scripted" has none."""
    if spec == "scripted":
        from pokeil_jax import games

        try:
            return games.adapter_for_rom(rom_path).scripted_expert()
        except games.NoScriptedExpertError as error:
            raise ExpertError(str(error)) from None
    if spec == "human":
        return HumanKeyboardExpert()
    if spec == "random":
        return RandomExpert(seed)
    return TimedExpert(load_expert_class(spec), action_timeout, spec)
