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
