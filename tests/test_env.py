"""PokemonEnv over the bundled MiniMon ROM, in the real emulator."""

import os
import shutil
from pathlib import Path

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


def test_same_seed_and_actions_are_deterministic(env, play):
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
    for bad in (-1, 10, 3.5, "A", True, np.bool_(False), np.float32(2)):
        with pytest.raises(ValueError, match="action must be an int"):
            env.step(bad)
    env.step(np.int64(3))  # numpy ints are ints


def expert_actions_until_first_milestone(env, seed):
    from pokeil_jax.experts import make_expert

    expert = make_expert("scripted")
    expert.reset()
    obs, info = env.reset(seed=seed)
    actions = []
    while info["milestone_count"] == 0:
        actions.append(expert.get_action(obs, info))
        obs, _, _, _, info = env.step(actions[-1])
        assert len(actions) < 200, "the planner should leave the house within 200 steps"
    return actions


def test_reset_starts_every_episode_afresh():
    """Milestones and visited tiles belong to one episode: the same seed and presses after a
    reset pay the same rewards again (a mask or tile set carried over would pay nothing)."""
    e = PokemonEnv(reward_mode="dense", new_tile_bonus=0.5)
    actions = expert_actions_until_first_milestone(e, seed=4)
    runs = []
    for _ in range(2):
        _, info = e.reset(seed=4)
        assert info["milestone_count"] == 0 and not any(info["milestones"].values())
        rewards = [e.step(a)[1] for a in actions]
        runs.append(rewards)
    e.close()
    assert runs[0] == runs[1]
    assert runs[0][-1] >= 1.0, "the last press completes LEFT_HOUSE (reward 1)"
    assert sum(r == 0.5 for r in runs[0]) >= 2, "new tiles pay the bonus in each episode"


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


def test_truncated_rom_names_the_file_and_both_sizes(tmp_path):
    whole = ROM_PATH.read_bytes()
    truncated = tmp_path / "half.gba"
    truncated.write_bytes(whole[: len(whole) // 2])  # the header (and its checksum) survives
    with pytest.raises(RomError) as error:
        PokemonEnv(rom_path=truncated)
    message = str(error.value)
    assert message.startswith(f"{truncated} is truncated: {len(whole) // 2:,} bytes")
    assert f"{len(whole):,}" in message


def test_rom_copies_of_dead_processes_are_removed(tmp_path, monkeypatch):
    import subprocess
    import sys
    import tempfile

    from pokeil_jax import emulator

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"pokeil_rom_{int(dead.stdout)}_abc"
    live = tmp_path / f"pokeil_rom_{os.getpid()}_def"
    for folder in (stale, live):
        folder.mkdir()
        (folder / "rom.gba").write_bytes(b"x")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    emu = emulator.Emulator(ROM_PATH)  # sweeps on start
    assert not stale.exists() and live.exists()
    assert Path(emu._tmpdir).parent == tmp_path and Path(emu._tmpdir).name.startswith(f"pokeil_rom_{os.getpid()}_")
    emu.close()
    assert not Path(emu._tmpdir).exists()


def test_an_emulator_left_open_at_exit_removes_its_rom_copy_quietly(tmp_path):
    """A script that never closes its env: the ROM copy goes at interpreter exit, with nothing on
    stderr (a __del__ that ran after the modules were torn down printed a traceback here)."""
    import subprocess
    import sys

    script = ("import tempfile, sys; tempfile.tempdir = sys.argv[1]\n"
              "import jax, gymnasium, pokeil_jax.env\n"  # with jax loaded the old __del__ ran too late
              "env = gymnasium.make('pokeil/MiniMon-v0'); env.reset(seed=1)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("pokeil_rom_")]
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="hold_frames"):
        PokemonEnv(frames_per_step=4, hold_frames=8)
    with pytest.raises(ValueError, match="reward_mode"):
        PokemonEnv(reward_mode="shaped")
    with pytest.raises(ValueError, match="render_mode"):
        PokemonEnv(render_mode="ascii")
    with pytest.raises(ValueError, match="new_tile_bonus must be a finite number, got nan"):
        PokemonEnv(new_tile_bonus=float("nan"))
    with pytest.raises(ValueError, match="base_fps"):
        PokemonEnv(base_fps=float("nan"))


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


def planned(env, seed, steps):
    """`steps` steps of the scripted planner from seed `seed`; the infos."""
    from pokeil_jax.games.minimon.planner import MiniMonPlanner

    planner = MiniMonPlanner()
    obs, info = env.reset(seed=seed)
    infos = [info]
    for _ in range(steps):
        obs, _, _, _, info = env.step(planner.get_action(obs, info))
        infos.append(info)
    return infos


def test_state_file_resume_counts_earlier_milestones_without_reward(env, tmp_path):
    infos = planned(env, 5, 30)
    saved = infos[-1]
    assert 0 < saved["milestone_count"] < len(saved["milestones"])
    path = env.write_state_file(tmp_path / "mid.state")
    assert path.stat().st_size == 0x61000
    obs, info = env.reset(options={"state": str(path)})
    assert (info["x"], info["y"], info["map"], info["step"]) == (saved["x"], saved["y"], saved["map"], 0)
    assert info["milestones"] == saved["milestones"]
    assert all(info["milestone_steps"].get(n) == (0 if done else None) for n, done in info["milestones"].items())
    # The same file as the env's initial state: every reset starts there.
    other = PokemonEnv(initial_state=path)
    try:
        assert other.reset(seed=9)[1]["milestones"] == saved["milestones"]
        with pytest.raises(ValueError, match="do not apply when starting from a state file"):
            other.reset(options={"start": "power_on"})
    finally:
        other.close()


def test_bad_state_files_name_the_file(env, tmp_path):
    truncated = tmp_path / "cut.state"
    env.reset(seed=1)
    truncated.write_bytes(env.write_state_file(tmp_path / "ok.state").read_bytes()[:1000])
    with pytest.raises(ValueError, match="cut.state is not a GBA save state"):
        env.reset(options={"state": str(truncated)})
    foreign = tmp_path / "emerald.ss0"
    data = bytearray((tmp_path / "ok.state").read_bytes())
    data[0x10:0x20] = b"POKEMON EMERBPEE"
    foreign.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"emerald.ss0 is a save state of 'POKEMON EMER' \(BPEE\)"):
        env.reset(options={"state": str(foreign)})
    with pytest.raises(ValueError, match="missing.state"):
        PokemonEnv(initial_state=tmp_path / "missing.state")
    with pytest.raises(ValueError, match="takes no reset options"):
        env.reset(seed=0, options={"gender": "female"})


def test_milestone_steps_are_the_speedrun_split(env):
    infos = planned(env, 5, 30)
    first = {}
    for info in infos[1:]:
        for name, done in info["milestones"].items():
            if done and name not in first:
                first[name] = info["step"]
    assert len(first) >= 2 and {n: infos[-1]["milestone_steps"][n] for n in first} == first
    assert env.seed_space == 2**32


def test_the_default_rom_comes_from_the_default_games_adapter():
    from pokeil_jax import games
    from pokeil_jax.games.minimon import ROM_PATH, MiniMonAdapter

    assert games.default_rom_path() == ROM_PATH
    assert isinstance(games.adapter_for_rom(None), MiniMonAdapter)


def test_fingerprint_repeats_exactly_when_the_state_does(play):
    """With fingerprint=True, info carries a hash of the game's state and screen: walking
    back and forth between two tiles repeats it with period 2; the VBlank counter, which keeps
    counting, is left out; another seed differs. Off by default."""
    assert "state_fingerprint" not in PokemonEnv(max_episode_steps=5).reset(seed=0)[1]
    env = PokemonEnv(fingerprint=True)
    left, right = 6, 7
    _, infos = play(env, 0, [left, right] * 4)
    prints = [info["state_fingerprint"] for info in infos[1:]]
    assert len(set(prints)) == 2 and prints[0] != prints[1]
    assert prints[2:] == prints[:-2]
    assert infos[1]["frame_count"] != infos[3]["frame_count"]  # the counter moved, the print did not
    _, other = play(env, 1, [left, right])
    assert other[1]["state_fingerprint"] not in prints
    env.close()
