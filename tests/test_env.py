"""PokemonEnv over the bundled MiniMon ROM, in the real emulator."""

import os
import shutil

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import pokeil_jax  # noqa: F401  (registers the env)
from pokeil_jax.emulator import RomError
from pokeil_jax.env import PokemonEnv
from pokeil_jax.games import UnknownGameError
from pokeil_jax.games.minimon import ROM_PATH

WALK = [7, 4, 6, 5, 0, 4, 4, 7, 1, 5]


@pytest.fixture(scope="module")
def env():
    e = PokemonEnv()
    yield e
    e.close()


def play(env, seed, actions):
    obs, info = env.reset(seed=seed)
    frames, infos = [obs], [info]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        frames.append(obs)
        infos.append(info)
    return frames, infos


def test_spaces_and_first_observation(env):
    assert env.observation_space.shape == (160, 240, 3)
    assert env.observation_space.dtype == np.uint8
    assert env.action_space.n == 10
    obs, info = env.reset(seed=3)
    assert obs.shape == (160, 240, 3) and obs.dtype == np.uint8
    assert obs.std() > 5, "the first frame should show the game, not a blank screen"
    for key in ("x", "y", "map", "facing", "mode", "milestones", "milestone_count", "frame_count"):
        assert key in info
    assert info["mode"] == "overworld" and info["milestone_count"] == 0
    assert set(info["milestones"]) == set(env.milestone_names) and len(env.milestone_names) >= 6


def test_passes_gymnasium_env_checker():
    e = PokemonEnv(max_episode_steps=50)
    check_env(e, skip_render_check=True)
    e.close()


def test_registered_and_makeable():
    e = gymnasium.make("pokeil/MiniMon-v0", max_episode_steps=20)
    obs, _ = e.reset(seed=0)
    assert obs.shape == (160, 240, 3)
    e.close()


def test_same_seed_and_actions_are_deterministic(env):
    frames_a, infos_a = play(env, 11, WALK)
    frames_b, infos_b = play(env, 11, WALK)
    for fa, fb in zip(frames_a, frames_b):
        np.testing.assert_array_equal(fa, fb)
    assert infos_a == infos_b


def test_seeds_change_the_game(env):
    _, info0 = env.reset(seed=0)
    starts = {(info0["x"], info0["y"])}
    worlds = {str(info0)}
    for seed in range(1, 12):
        _, info = env.reset(seed=seed)
        starts.add((info["x"], info["y"]))
        worlds.add(str({k: v for k, v in info.items() if k not in ("seed",)}))
    assert len(starts) > 1, "the seed should move the player's start tile"
    assert len(worlds) > 1


def test_step_walks_and_counts_frames(env):
    _, info = env.reset(seed=5)
    f0 = info["frame_count"]
    _, _, _, _, info1 = env.step(7)
    assert info1["frame_count"] - f0 == env.frames_per_step
    assert info1["step"] == 1


def test_invalid_action_is_rejected(env):
    env.reset(seed=0)
    for bad in (-1, 10, 3.5, "A"):
        with pytest.raises((ValueError, TypeError)):
            env.step(bad)


def test_truncates_at_max_episode_steps():
    e = PokemonEnv(max_episode_steps=5)
    e.reset(seed=0)
    flags = [e.step(1)[3] for _ in range(5)]
    assert flags == [False, False, False, False, True]
    e.close()


def test_save_and_load_state_round_trip(env):
    env.reset(seed=2)
    for a in WALK[:4]:
        env.step(a)
    snap = env.save_state()
    after = [env.step(a) for a in WALK[4:]]
    obs_restored, info_restored = env.load_state(snap)
    assert info_restored["step"] == 4
    again = [env.step(a) for a in WALK[4:]]
    for (o1, r1, _, _, i1), (o2, r2, _, _, i2) in zip(after, again):
        np.testing.assert_array_equal(o1, o2)
        assert i1 == i2 and r1 == r2
    obs, info = env.reset(options={"snapshot": snap})
    assert info["step"] == 4


def test_render_rgb_array_and_video(tmp_path):
    e = PokemonEnv(render_mode="rgb_array", record_video_dir=tmp_path)
    obs, _ = e.reset(seed=1)
    np.testing.assert_array_equal(e.render(), obs)
    for a in WALK:
        e.step(a)
    e.reset(seed=2)  # flushes the first episode's video
    gifs = list(tmp_path.glob("*.gif"))
    assert len(gifs) == 1 and gifs[0].stat().st_size > 1000
    from PIL import Image

    assert Image.open(gifs[0]).n_frames > 1
    e.close()


def test_fast_frame_copy_equals_reference(env):
    env.reset(seed=4)
    env.step(7)
    np.testing.assert_array_equal(env._emu.frame(), env._emu.frame_slow())


def test_rom_is_copied_not_touched(tmp_path):
    rom = tmp_path / "mygame.gba"
    shutil.copyfile(ROM_PATH, rom)
    e = PokemonEnv(rom_path=rom)
    e.reset(seed=0)
    e.step(0)
    e.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mygame.gba"]


def test_bad_rom_paths_give_clear_errors(tmp_path):
    with pytest.raises(RomError, match="not found"):
        PokemonEnv(rom_path=tmp_path / "missing.gba")
    junk = tmp_path / "junk.gba"
    junk.write_bytes(b"hello" * 100)
    with pytest.raises(RomError, match="not a GBA ROM"):
        PokemonEnv(rom_path=junk)
    other = bytearray(open(ROM_PATH, "rb").read())
    other[0xAC:0xB0] = b"ZZZZ"
    other[0xBD] = (-(sum(other[0xA0:0xBD]) + 0x19)) & 0xFF
    unknown = tmp_path / "other.gba"
    unknown.write_bytes(bytes(other))
    with pytest.raises(UnknownGameError, match="ZZZZ"):
        PokemonEnv(rom_path=unknown)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="hold_frames"):
        PokemonEnv(frames_per_step=4, hold_frames=8)
    with pytest.raises(ValueError, match="reward_mode"):
        PokemonEnv(reward_mode="shaped")
    with pytest.raises(ValueError, match="render_mode"):
        PokemonEnv(render_mode="ascii")


def test_dense_reward_pays_for_new_tiles():
    e = PokemonEnv(reward_mode="dense", new_tile_bonus=0.5)
    _, info = e.reset(seed=0)
    total, moved = 0.0, 0
    for a in WALK:
        _, r, _, _, new = e.step(a)
        total += r
        moved += (new["x"], new["y"]) != (info["x"], info["y"])
        info = new
    assert moved > 0 and total > 0
    e.close()


def test_async_vector_env_steps_two_emulators():
    envs = gymnasium.vector.AsyncVectorEnv([lambda: PokemonEnv() for _ in range(2)], context="spawn")
    obs, infos = envs.reset(seed=[0, 1])
    assert obs.shape == (2, 160, 240, 3)
    obs, rewards, term, trunc, infos = envs.step(np.array([7, 6]))
    assert obs.shape == (2, 160, 240, 3) and rewards.shape == (2,)
    envs.close()


def test_the_default_rom_comes_from_the_default_games_adapter():
    from pokeil_jax import games
    from pokeil_jax.games.minimon import ROM_PATH, MiniMonAdapter

    assert games.default_rom_path() == ROM_PATH
    assert isinstance(games.adapter_for_rom(None), MiniMonAdapter)
