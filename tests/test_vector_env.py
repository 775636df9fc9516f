"""Tests for pokeil_jax/vector_env.py: worker processes pinned round-robin, the parent never."""

import pytest


def test_worker_cpus_go_round_robin_over_the_allowed_cpus():
    import os

    from pokeil_jax.vector_env import worker_cpus

    if not hasattr(os, "sched_getaffinity"):
        assert worker_cpus(3) == [None, None, None]
        return
    allowed = sorted(os.sched_getaffinity(0))
    got = worker_cpus(2 * len(allowed) + 1)
    assert got == (allowed * 3)[: 2 * len(allowed) + 1]


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_setaffinity"), reason="CPU pinning is Linux-only")
def test_eval_env_workers_are_pinned_and_the_parent_is_not():
    import os

    from pokeil_jax.vector_env import make_eval_envs, worker_cpus

    before = os.sched_getaffinity(0)
    envs = make_eval_envs(2, max_episode_steps=5)
    try:
        envs.reset(seed=[0, 1])
        pinned = [os.sched_getaffinity(p.pid) for p in envs.processes]
        assert pinned == [{cpu} for cpu in worker_cpus(2)]
        # AsyncVectorEnv builds one env in the parent too (for the spaces): that one must not pin.
        assert os.sched_getaffinity(0) == before
    finally:
        envs.close()
    unpinned = make_eval_envs(2, pin_cpus=False, max_episode_steps=5)
    try:
        assert all(os.sched_getaffinity(p.pid) == before for p in unpinned.processes)
    finally:
        unpinned.close()


def test_close_on_exit_terminates_the_workers_only_when_the_block_fails():
    import contextlib

    from pokeil_jax.vector_env import close_on_exit

    class Recorder:
        calls = []

        def close(self, **kwargs):
            self.calls.append(kwargs)

    with contextlib.ExitStack() as stack:
        stack.push(close_on_exit(Recorder()))
    with pytest.raises(KeyboardInterrupt):
        with contextlib.ExitStack() as stack:
            stack.push(close_on_exit(Recorder()))
            raise KeyboardInterrupt
    assert Recorder.calls == [{"terminate": False}, {"terminate": True}]


@pytest.mark.filterwarnings("ignore:.*while waiting for a pending call:UserWarning")  # what is tested
def test_a_failure_mid_step_closes_real_workers_without_waiting_for_the_step():
    import contextlib

    import numpy as np

    from pokeil_jax.vector_env import close_on_exit, make_eval_envs

    envs = make_eval_envs(2, max_episode_steps=50)
    envs.reset(seed=[0, 1])
    processes = list(envs.processes)
    with pytest.raises(RuntimeError, match="policy failed"):
        with contextlib.ExitStack() as stack:
            stack.push(close_on_exit(envs))
            envs.step_async(np.zeros(2, np.int64))  # a step in flight when the error comes
            raise RuntimeError("policy failed")
    assert envs.closed
    for process in processes:
        process.join(timeout=10)
        assert not process.is_alive()


def test_workers_preprocess_the_frames_the_network_sees_and_keep_the_raw_ones():
    import numpy as np

    from pokeil_jax.preprocessing import FRAME_SHAPE, preprocess_frames
    from pokeil_jax.vector_env import NETWORK_FRAME_KEY, env_info, make_eval_envs, network_frames, unbatch_info

    envs = make_eval_envs(2, max_episode_steps=20)
    try:
        obs, infos = envs.reset(seed=[3, 4])
        assert obs.shape == (2, *FRAME_SHAPE) and obs.dtype == np.uint8  # raw, for videos and experts
        assert envs.get_attr("max_episode_steps") == (20, 20)  # attributes reach through the wrapper
        for _ in range(3):
            obs, _, _, _, infos = envs.step(np.array([1, 4]))
        info_list = [unbatch_info(infos, i) for i in range(2)]
        assert all(NETWORK_FRAME_KEY in info for info in info_list)
        np.testing.assert_array_equal(network_frames(obs, info_list), preprocess_frames(obs))
        expert_view = env_info(info_list[0])  # what experts get: the env's own info
        assert NETWORK_FRAME_KEY not in expert_view and set(expert_view) == set(info_list[0]) - {NETWORK_FRAME_KEY}
    finally:
        envs.close()
    # Without the workers' frames (a one-env vector env, or infos of another env) it preprocesses here.
    assert network_frames(obs, [{}, {}]).shape == (2, 84, 84, 3)
    np.testing.assert_array_equal(network_frames(obs, [{}, {}]), preprocess_frames(obs))


def test_unbatch_info_takes_apart_gymnasiums_key_by_key_batching():
    import numpy as np

    from pokeil_jax.vector_env import unbatch_info

    infos = {"a": np.array([1, 2]), "_a": np.array([True, True]),
             "m": {"x": np.array([True, False]), "_x": np.array([True, True])}, "_m": np.array([True, True]),
             "only0": np.array([5, 0]), "_only0": np.array([True, False])}
    assert unbatch_info(infos, 1) == {"a": 2, "m": {"x": False}}
    assert unbatch_info(infos, 0) == {"a": 1, "m": {"x": True}, "only0": 5}


@pytest.mark.parametrize("num_envs", [1, 2])
def test_whole_infos_are_the_envs_own_infos_and_batching_key_by_key_gives_the_same(num_envs):
    import numpy as np

    from pokeil_jax.env import PokemonEnv
    from pokeil_jax.vector_env import WHOLE_INFO_KEY, env_info, make_eval_envs, unbatch_info

    seeds, actions = [3, 4][:num_envs], [np.array([1, 4])[:num_envs], np.array([8, 8])[:num_envs]]
    got = {}
    for whole in (True, False):
        envs = make_eval_envs(num_envs, max_episode_steps=20, whole_info=whole)
        try:
            _, infos = envs.reset(seed=seeds)
            assert (WHOLE_INFO_KEY in infos) == whole
            for a in actions:
                _, _, _, _, infos = envs.step(a)
            got[whole] = [env_info(unbatch_info(infos, i)) for i in range(num_envs)]
        finally:
            envs.close()
    for i, seed in enumerate(seeds):  # the same env alone, in this process, with no vector env
        env = PokemonEnv(max_episode_steps=20, fingerprint=True)
        env.reset(seed=seed)
        for a in actions:
            *_, own = env.step(int(a[i]))
        env.close()
        assert got[True][i] == own
        assert set(got[False][i]) == set(own)
        assert got[False][i]["milestones"] == own["milestones"] and got[False][i]["x"] == own["x"]


def test_idle_action_leaves_the_env_unstepped_and_other_actions_step_it():
    import gymnasium
    import numpy as np

    from pokeil_jax.vector_env import IDLE_ACTION, IdleStep, idle_action

    class Counter(gymnasium.Env):
        observation_space = gymnasium.spaces.Box(0, 255, (1,), np.uint8)
        action_space = gymnasium.spaces.Discrete(3)

        def reset(self, *, seed=None, options=None):
            self.steps = 0
            return np.array([0], np.uint8), {"steps": 0}

        def step(self, action):
            self.steps += 1
            return np.array([self.steps], np.uint8), 1.0, self.steps == 2, False, {"steps": self.steps}

    env = IdleStep(Counter())
    env.reset(seed=0)
    assert env.step(1)[:4] == (np.array([1]), 1.0, False, False)
    obs, reward, terminated, truncated, info = env.step(IDLE_ACTION)
    assert (obs[0], reward, terminated, truncated, info) == (1, 0.0, False, False, {"steps": 1})
    assert env.unwrapped.steps == 1  # the emulator did not run
    assert env.step(np.int64(2))[2] is True  # a real action steps on from where it was
    envs = gymnasium.vector.SyncVectorEnv([lambda: IdleStep(Counter())])
    assert idle_action(envs) == IDLE_ACTION
    assert idle_action(gymnasium.vector.SyncVectorEnv([Counter])) is None  # envs without it are stepped with 0
    assert idle_action(object()) is None  # a vector env without metadata, as some fakes are


def test_eval_envs_announce_the_idle_action():
    from pokeil_jax.vector_env import IDLE_ACTION, idle_action, make_eval_envs

    for n in (1, 2):
        envs = make_eval_envs(n, max_episode_steps=20)
        try:
            assert idle_action(envs) == IDLE_ACTION
        finally:
            envs.close()
