"""`PokemonEnv`: a Gymnasium env over a GBA game running in mGBA.

The env is game-agnostic: it reads the ROM header's game code and gets a `GameAdapter`
(pokeil_jax.games) that knows the game's RAM. By default it runs the default game's bundled ROM
(`games.default_rom_path()`: MiniMon).

Observation: the screen, uint8 (160, 240, 3) RGB.
Action: Discrete(10), buttons in the order A, B, START, SELECT, UP, DOWN, LEFT, RIGHT, L, R.
One step holds the button for `hold_frames` frames, releases it and lets the game run for
the rest of `frames_per_step` frames (defaults 8 + 16 = 24, as Pokémon RL envs use ~24; a tile
walk takes 16 frames, so a direction press walks exactly one tile per step).
Reward: the weight of each milestone newly completed this step (sparse); with
`reward_mode="dense"`, also `new_tile_bonus` for each (map, x, y) first visited in the episode.
Episodes terminate at the last milestone and truncate at `max_episode_steps`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

from pokeil_jax import games, splits
from pokeil_jax.actions import BUTTONS, NUM_ACTIONS
from pokeil_jax.emulator import SCREEN_HEIGHT, SCREEN_WIDTH, Emulator, read_rom_header

REWARD_MODES = ("sparse", "dense")


def rom_sha1(rom_path: str | os.PathLike) -> str:
    return hashlib.sha1(Path(rom_path).read_bytes()).hexdigest()


@dataclasses.dataclass(frozen=True)
class EnvSnapshot:
    """Everything needed to put the env back exactly where it was (emulator and episode bookkeeping)."""

    emulator_state: bytes
    seed: int
    steps: int
    milestone_mask: int
    visited: frozenset


class PokemonEnv(gymnasium.Env):
    """Gymnasium env over a GBA game in mGBA (see module docstring for the contract)."""

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 60}

    def __init__(
        self,
        rom_path: str | os.PathLike | None = None,
        frames_per_step: int = 24,
        hold_frames: int = 8,
        max_episode_steps: int = 10_000,
        reward_mode: str = "sparse",
        new_tile_bonus: float = 0.01,
        render_mode: str | None = None,
        base_fps: float = 60.0,
        record_video_dir: str | os.PathLike | None = None,
        split_cache_dir: str | os.PathLike | None = None,
    ):
        if not isinstance(frames_per_step, int) or frames_per_step < 1:
            raise ValueError(f"frames_per_step must be a positive int, got {frames_per_step!r}")
        if not isinstance(hold_frames, int) or not 1 <= hold_frames <= frames_per_step:
            raise ValueError(
                f"hold_frames must be an int in [1, frames_per_step={frames_per_step}], got {hold_frames!r}"
            )
        if not isinstance(max_episode_steps, int) or max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be a positive int, got {max_episode_steps!r}")
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        if base_fps <= 0:
            raise ValueError(f"base_fps must be positive, got {base_fps!r}")

        self.rom_path = Path(rom_path) if rom_path is not None else games.default_rom_path()
        header = read_rom_header(self.rom_path)  # a clear RomError for a missing or non-GBA file
        self.adapter = games.adapter_for_code(header.game_code, str(self.rom_path))
        self.game_code = header.game_code
        self.frames_per_step = frames_per_step
        self.hold_frames = hold_frames
        self.max_episode_steps = max_episode_steps
        self.reward_mode = reward_mode
        self.new_tile_bonus = float(new_tile_bonus)
        self.render_mode = render_mode
        self.base_fps = float(base_fps)
        self.record_video_dir = Path(record_video_dir) if record_video_dir is not None else None
        self.split_cache_dir = Path(split_cache_dir) if split_cache_dir is not None else None

        self.observation_space = gymnasium.spaces.Box(
            0, 255, (SCREEN_HEIGHT, SCREEN_WIDTH, 3), np.uint8
        )
        self.action_space = gymnasium.spaces.Discrete(NUM_ACTIONS)
        self.milestone_names = tuple(self.adapter.milestone_names)
        self._milestone_rewards = np.asarray(self.adapter.milestone_rewards, np.float64)
        self._all_milestones = (1 << len(self.milestone_names)) - 1

        self._emu = Emulator(self.rom_path)
        self.adapter.boot(self._emu)
        self._boot_state = self._emu.save_state()

        self._seed = 0
        self._steps = 0
        self._mask = 0
        self._visited: set = set()
        self._obs: np.ndarray | None = None
        self._episode_frames: list[np.ndarray] = []
        self._episode_index = 0
        self._window = None
        self._last_render_time = 0.0

    # -- Gymnasium API ------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode of game seed `seed` (drawn from `np_random` when None).

        `options={"snapshot": EnvSnapshot}` starts from a snapshot instead (see `save_state`);
        `options={"start_milestone": k}` starts where the game's scripted expert first completes
        milestone k-1, milestones 0..k-1 done and unrewarded (pokeil_jax.splits; cached on disk).
        """
        super().reset(seed=seed)
        self._flush_video()
        if options and options.get("snapshot") is not None:
            return self.load_state(options["snapshot"])
        start = splits.check_start_milestone((options or {}).get("start_milestone", 0), self.milestone_names)
        self._seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        self._emu.load_state(self._boot_state)
        self.adapter.begin_episode(self._emu, self._seed)
        self._obs = None
        if start:
            state, self._obs = splits.split_state(self, self._seed, start, self.split_cache_dir)
            self._emu.load_state(state)
        self._steps = 0
        self._mask = self.adapter.milestone_mask(self._emu)
        info = self._info()
        self._visited = {(info["map"], info["x"], info["y"])}
        self._obs = self._emu.frame() if self._obs is None else self._obs
        self._record_frame()
        return self._obs, info

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(
                f"action must be an int in [0, {self.action_space.n - 1}] "
                f"({', '.join(BUTTONS)}), got {action!r}"
            )
        emu = self._emu
        emu.set_buttons((int(action),))
        emu.run_frames(self.hold_frames)
        emu.set_buttons(())
        emu.run_frames(self.frames_per_step - self.hold_frames)
        self._steps += 1

        old_mask = self._mask
        self._mask |= self.adapter.milestone_mask(emu)
        newly = self._mask & ~old_mask
        reward = float(sum(self._milestone_rewards[i] for i in range(len(self.milestone_names)) if newly >> i & 1))
        info = self._info()
        if self.reward_mode == "dense":
            tile = (info["map"], info["x"], info["y"])
            if tile not in self._visited:
                reward += self.new_tile_bonus
        self._visited.add((info["map"], info["x"], info["y"]))

        terminated = self._mask == self._all_milestones
        truncated = not terminated and self._steps >= self.max_episode_steps
        self._obs = emu.frame()
        self._record_frame()
        if self.render_mode == "human":
            self.render()
        return self._obs, reward, terminated, truncated, info

    def render(self):
        if self.render_mode == "rgb_array":
            return None if self._obs is None else self._obs.copy()
        if self.render_mode == "human":
            self._render_window()
        return None

    def close(self):
        self._flush_video()
        if self._window is not None:
            import pygame

            pygame.display.quit()
            self._window = None
        if self._emu is not None:
            self._emu.close()
            self._emu = None

    # -- state -----------------------------------------------------------------------------

    def save_state(self) -> EnvSnapshot:
        """A snapshot of the emulator and the episode's bookkeeping."""
        return EnvSnapshot(
            self._emu.save_state(), self._seed, self._steps, self._mask, frozenset(self._visited)
        )

    def load_state(self, snapshot: EnvSnapshot):
        """Restore a snapshot from `save_state`; returns (observation, info) like `reset`."""
        self._emu.load_state(snapshot.emulator_state)
        self._seed, self._steps, self._mask = snapshot.seed, snapshot.steps, snapshot.milestone_mask
        self._visited = set(snapshot.visited)
        self._obs = self._emu.frame()
        return self._obs, self._info()

    # -- internals -----------------------------------------------------------------------------

    def _info(self) -> dict[str, Any]:
        info = self.adapter.read_info(self._emu)
        # Milestones are the episode's (sticky) mask, not the adapter's reading of the RAM now:
        # a place-based milestone (Emerald's routes) stays reached after the player leaves.
        info["milestones"] = {n: bool(self._mask >> i & 1) for i, n in enumerate(self.milestone_names)}
        info["milestone_count"] = bin(self._mask).count("1")
        info["seed"] = self._seed
        info["step"] = self._steps
        info["milestone_mask"] = self._mask
        return info

    def _record_frame(self):
        if self.record_video_dir is not None:
            self._episode_frames.append(self._obs)

    def _flush_video(self):
        if self.record_video_dir is None or not self._episode_frames:
            return
        from pokeil_jax.video import save_video

        path = self.record_video_dir / f"episode_{self._episode_index:04d}_seed{self._seed}.gif"
        save_video(self._episode_frames, path, fps=self.base_fps / self.frames_per_step)
        self._episode_frames = []
        self._episode_index += 1

    def _render_window(self):
        import pygame

        scale = 3
        if self._window is None:
            pygame.display.init()
            self._window = pygame.display.set_mode((SCREEN_WIDTH * scale, SCREEN_HEIGHT * scale))
            pygame.display.set_caption(f"pokeil-jax: {self.adapter.name}")
        pygame.event.pump()
        surface = pygame.surfarray.make_surface(self._obs.swapaxes(0, 1))
        self._window.blit(pygame.transform.scale(surface, self._window.get_size()), (0, 0))
        pygame.display.flip()
        # Pace to base_fps emulated frames per second.
        period = self.frames_per_step / self.base_fps
        wait = self._last_render_time + period - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        self._last_render_time = time.perf_counter()
