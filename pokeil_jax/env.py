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
Episodes terminate when every rewarded milestone is done (Emerald's unscored extras do not
count) and truncate at `max_episode_steps`.

Where an episode starts: `reset(seed=s)` runs the game's own start for seed `s` (the adapter's
`begin_episode`; seeds s and s + `seed_space` are the same game), `reset(options={"state": PATH})`
or `PokemonEnv(initial_state=PATH)` loads a save-state file instead (mGBA's .ss0-.ss9 or a raw
.state), and `options={"snapshot": EnvSnapshot}` restores `save_state()`. Any other options are
the game's own start options (`adapter.start_options`).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

from pokeil_jax import games, savestates, splits
from pokeil_jax.actions import BUTTONS, NUM_ACTIONS
from pokeil_jax.atomic import atomic_write
from pokeil_jax.emulator import SCREEN_HEIGHT, SCREEN_WIDTH, Emulator, read_rom_header

REWARD_MODES = ("sparse", "dense")
START_CACHE_SIZE = 32  # episode starts kept per env (about 0.4 MB each)


def check_rom(rom_path: str | os.PathLike) -> games.GameAdapter:
    """The adapter for the ROM at `rom_path`; RomError / UnknownGameError naming the file when it
    is missing, not a GBA ROM, truncated, or a game no adapter knows. Loads no emulator."""
    header = read_rom_header(rom_path)
    adapter = games.adapter_for_code(header.game_code, str(rom_path))
    games.check_rom_size(adapter, rom_path)
    return adapter


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
    milestone_steps: tuple = ()  # (milestone index, step first reached) pairs


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
        initial_state: str | os.PathLike | None = None,
        split_cache_dir: str | os.PathLike | None = None,
        fingerprint: bool = False,
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
        if not base_fps > 0:  # also refuses NaN
            raise ValueError(f"base_fps must be positive, got {base_fps!r}")
        if not np.isfinite(new_tile_bonus):
            raise ValueError(f"new_tile_bonus must be a finite number, got {new_tile_bonus!r}")

        self.rom_path = Path(rom_path) if rom_path is not None else games.default_rom_path()
        self.adapter = check_rom(self.rom_path)  # a clear error for a missing, non-GBA or truncated file
        self.game_code = read_rom_header(self.rom_path).game_code
        self.frames_per_step = frames_per_step
        self.hold_frames = hold_frames
        self.max_episode_steps = max_episode_steps
        self.reward_mode = reward_mode
        self.new_tile_bonus = float(new_tile_bonus)
        self.render_mode = render_mode
        self.base_fps = float(base_fps)
        self.record_video_dir = Path(record_video_dir) if record_video_dir is not None else None
        self.seed_space = int(self.adapter.seed_space)
        self.split_cache_dir = Path(split_cache_dir) if split_cache_dir is not None else None
        self.fingerprint = bool(fingerprint)

        self.observation_space = gymnasium.spaces.Box(
            0, 255, (SCREEN_HEIGHT, SCREEN_WIDTH, 3), np.uint8
        )
        self.action_space = gymnasium.spaces.Discrete(NUM_ACTIONS)
        self.milestone_names = tuple(self.adapter.milestone_names)
        self._milestone_rewards = np.asarray(self.adapter.milestone_rewards, np.float64)
        # The episode's goal: every milestone with a reward (all of them when none has one).
        rewarded = [i for i, r in enumerate(self._milestone_rewards) if r > 0] or range(len(self.milestone_names))
        self._all_milestones = sum(1 << i for i in rewarded)

        self._emu = Emulator(self.rom_path)
        self.initial_state = Path(initial_state) if initial_state is not None else None
        if self.initial_state is not None:  # fail now, naming the file, rather than at the first reset
            savestates.read_state_file(self.initial_state, self._emu.header)
        self.adapter.boot(self._emu)
        self._boot_state = self._emu.save_state()
        self._starts: collections.OrderedDict = collections.OrderedDict()  # (seed, options) -> (state, frame)

        self._seed = 0
        self._steps = 0
        self._mask = 0
        self._milestone_steps: dict[int, int] = {}  # milestone index -> step it was first reached
        self._visited: set = set()
        self._obs: np.ndarray | None = None
        self._episode_frames: list[np.ndarray] = []
        self._episode_index = 0
        self._window = None
        self._last_render_time = 0.0

    # -- Gymnasium API ------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode of game seed `seed` (drawn from `np_random` when None).

        options: `{"snapshot": EnvSnapshot}` restores a snapshot (see `save_state`);
        `{"state": PATH}` starts from a save-state file (default: the env's `initial_state`),
        where an explicit `seed` reseeds the game's randomness (`adapter.reseed`) and None keeps
        the state's own; `{"start_milestone": k}` starts where the game's scripted expert first
        completes milestone k-1, milestones 0..k-1 done and unrewarded (pokeil_jax.splits;
        cached on disk); anything else goes to the game's start (`adapter.start_options`).
        Milestones the start's RAM (or a PokéAgent `NAME_milestones.json` beside a state) shows
        done count as done, without reward.
        """
        super().reset(seed=seed)
        self._flush_video()
        options = dict(options or {})
        if options.get("snapshot") is not None:
            return self.load_state(options["snapshot"])
        options.pop("snapshot", None)
        state_path = options.pop("state", None) or self.initial_state
        start = splits.check_start_milestone(options.pop("start_milestone", 0), self.milestone_names)
        self._seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        if state_path is not None:
            if options or start:
                extra = sorted(options) + (["start_milestone"] if start else [])
                raise ValueError(f"reset options {extra} do not apply when starting from a state file ({state_path})")
            self._start_from_file(state_path, self._seed if seed is not None else None)
        else:
            self._start_episode(self._seed, self.adapter.start_options(options))
            if start:
                state, self._obs = splits.split_state(self, self._seed, start, self.split_cache_dir)
                self._emu.load_state(state)
                self._mask = self.adapter.milestone_mask(self._emu)
        self._steps = 0
        self._milestone_steps = {i: 0 for i in range(len(self.milestone_names)) if self._mask >> i & 1}
        info = self._info()
        self._visited = {(info["map"], info["x"], info["y"])}
        self._add_fingerprint(info)
        self._record_frame()
        return self._obs, info

    def _start_from_file(self, path: str | os.PathLike, seed: int | None) -> None:
        """Load a save-state file; `seed` (when given) reseeds the game's randomness."""
        self._emu.load_state(savestates.read_state_file(path, self._emu.header))
        if seed is not None:
            self.adapter.reseed(self._emu, seed)
        self._emu.set_buttons(())
        self._emu.run_frames(1)  # the screen buffer is not part of a state: draw this state's frame
        self._obs = self._emu.frame()
        recorded = savestates.recorded_milestones(path)
        self._mask = self.adapter.milestone_mask(self._emu)
        self._mask |= sum(1 << i for i, n in enumerate(self.milestone_names) if n in recorded)

    def _start_episode(self, seed: int, options: dict[str, Any]) -> None:
        """The game's own start for `seed`, from the cache of starts when the adapter keeps one."""
        key = (seed % self.seed_space, tuple(sorted(options.items())))
        cached = self._starts.get(key) if self.adapter.cache_starts else None
        if cached is not None:
            self._starts.move_to_end(key)
            self._emu.load_state(cached[0])
            self._obs = cached[1].copy()
        else:
            self._emu.load_state(self._boot_state)
            self.adapter.begin_episode(self._emu, seed, options)
            self._obs = self._emu.frame()
            if self.adapter.cache_starts:
                self._starts[key] = (self._emu.save_state(), self._obs.copy())
                if len(self._starts) > START_CACHE_SIZE:
                    self._starts.popitem(last=False)
        self._mask = self.adapter.milestone_mask(self._emu)

    def step(self, action):
        # Discrete.contains takes a bool (an int subclass), so True would press B: refuse it.
        if isinstance(action, (bool, np.bool_)) or not self.action_space.contains(action):
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
        for i in range(len(self.milestone_names)):
            if newly >> i & 1:
                self._milestone_steps[i] = self._steps
        reward = float(sum(self._milestone_rewards[i] for i in range(len(self.milestone_names)) if newly >> i & 1))
        info = self._info()
        if self.reward_mode == "dense":
            tile = (info["map"], info["x"], info["y"])
            if tile not in self._visited:
                reward += self.new_tile_bonus
        self._visited.add((info["map"], info["x"], info["y"]))

        terminated = self._mask & self._all_milestones == self._all_milestones
        truncated = not terminated and self._steps >= self.max_episode_steps
        self._obs = emu.frame()
        self._add_fingerprint(info)
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
            self._emu.save_state(), self._seed, self._steps, self._mask, frozenset(self._visited),
            tuple(sorted(self._milestone_steps.items())),
        )

    def write_state_file(self, path: str | os.PathLike) -> Path:
        """Write the emulator state as a raw mGBA state file (the format `reset(options={"state": ...})`,
        mGBA and the PokéAgent kit read), atomically. The episode's bookkeeping is not in it."""
        with atomic_write(path) as f:
            f.write(self._emu.save_state())
        return Path(path)

    def load_state(self, snapshot: EnvSnapshot):
        """Restore a snapshot from `save_state`; returns (observation, info) like `reset`."""
        self._emu.load_state(snapshot.emulator_state)
        self._seed, self._steps, self._mask = snapshot.seed, snapshot.steps, snapshot.milestone_mask
        self._visited = set(snapshot.visited)
        self._milestone_steps = dict(snapshot.milestone_steps)
        self._obs = self._emu.frame()
        info = self._info()
        self._add_fingerprint(info)
        return self._obs, info

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
        # The speedrun split: the step each milestone was first reached (0: done at the start).
        # Reached milestones only: a vector env batches info values into arrays, and a None beside
        # an int in another env would not fit one.
        info["milestone_steps"] = {n: self._milestone_steps[i] for i, n in enumerate(self.milestone_names)
                                   if i in self._milestone_steps}
        return info

    def _add_fingerprint(self, info: dict[str, Any]) -> None:
        """With `fingerprint=True`, info["state_fingerprint"]: a hash of the game's state (what its
        adapter says decides its future), the screen and the episode's milestones. Equal
        fingerprints within an episode mean a memoryless, deterministic policy is in a loop it
        will never leave. Absent when the adapter cannot promise that (Emerald)."""
        if not self.fingerprint:
            return
        hasher = hashlib.blake2b(digest_size=16)
        if self.adapter.state_fingerprint(self._emu, hasher):
            hasher.update(self._obs)
            hasher.update(self._mask.to_bytes(8, "little"))
            info["state_fingerprint"] = hasher.hexdigest()

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
