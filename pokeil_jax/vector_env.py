"""Several PokemonEnvs at once: a Gymnasium vector env, one emulator per worker process, each
worker pinned to its own CPU (the evaluator's envs; benchmarks/env_speed.py measures them).
Each worker can also preprocess its own observation for the network (`NetworkFrameInfo`) and send
its info whole (`WholeInfo`), and skips the steps of an env with no episode left to play
(`IdleStep`); `unbatch_info` reads one env's info from a step's batched infos."""

from __future__ import annotations

import os
from typing import Any

import gymnasium
import numpy as np

from pokeil_jax.preprocessing import preprocess_frames

#: The info key under which `NetworkFrameInfo` puts the network's uint8 (84, 84, 3) frame.
NETWORK_FRAME_KEY = "network_frame"


class NetworkFrameInfo(gymnasium.Wrapper):
    """Adds `info["network_frame"]`: the observation preprocessed for the network
    (`preprocess_frames`), computed in the env's own process; the observation stays the raw frame.

    Why: an evaluation is bound by its parent process (the batched forward, then preprocessing,
    info batching), while each worker mostly waits; in the workers the preprocessing runs in
    parallel. Measured: 1.07-1.09x the evaluator's steps/s with 2-8 envs (benchmarks/eval_speed.py).
    """

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return obs, {**info, NETWORK_FRAME_KEY: preprocess_frames(obs)}

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, {**info, NETWORK_FRAME_KEY: preprocess_frames(obs)}


#: The info key under which `WholeInfo` sends the env's whole info dict (in a `WrappedInfo`).
WHOLE_INFO_KEY = "whole_info"


class WrappedInfo:
    """An env's info dict as one object: Gymnasium batches it as one object array entry."""

    __slots__ = ("info",)

    def __init__(self, info: dict):
        self.info = info


class WholeInfo(gymnasium.Wrapper):
    """The info goes to the vector env as one object (`info["whole_info"]`, a `WrappedInfo`)
    instead of key by key; `unbatch_info` gives it back as the env returned it.

    Why: a vector env batches each of the ~50 info keys (nested milestone dicts too) into arrays
    in the parent process, and the evaluator takes them apart again, every step of every env.
    That was ~0.6 ms per env step of the parent's time, on a budget of ~4 ms of CPU per step
    all told (benchmarks/eval_speed.py measures the evaluator with and without it).
    """

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return obs, {WHOLE_INFO_KEY: WrappedInfo(info)}

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, {WHOLE_INFO_KEY: WrappedInfo(info)}


def unbatch_info(infos: dict[str, Any], index: int) -> dict[str, Any]:
    """Env `index`'s info dict from a vector env's batched infos (sent whole by `WholeInfo`, or
    batched key by key as Gymnasium does)."""
    if WHOLE_INFO_KEY in infos:
        return infos[WHOLE_INFO_KEY][index].info
    out = {}
    for key, value in infos.items():
        if key.startswith("_") or not infos.get("_" + key, np.ones(index + 1, bool))[index]:
            continue
        if isinstance(value, dict):
            out[key] = unbatch_info(value, index)
        else:
            item = value[index]
            out[key] = item.item() if isinstance(item, np.generic) else item
    return out


def env_info(info: dict) -> dict:
    """`info` as the env itself returned it (without `NetworkFrameInfo`'s frame): what an expert sees."""
    return {k: v for k, v in info.items() if k != NETWORK_FRAME_KEY}


def network_frames(observations: np.ndarray, infos) -> np.ndarray:
    """uint8 (N, 84, 84, 3): the frames the envs' `NetworkFrameInfo` already made, else
    `preprocess_frames(observations)` here (same bytes either way)."""
    frames = [info.get(NETWORK_FRAME_KEY) for info in infos]
    if len(frames) == len(observations) and all(f is not None for f in frames):
        return np.stack(frames)
    return preprocess_frames(observations)


#: The action `IdleStep` answers without stepping its env, and the vector-env metadata key that says so.
IDLE_ACTION = -1
IDLE_ACTION_KEY = "idle_action"


class IdleStep(gymnasium.Wrapper):
    """Action `IDLE_ACTION` gives back the env's latest observation and info (reward 0, episode
    not over) without running the emulator; any other action steps the env as usual. The
    vector env's `metadata["idle_action"]` announces it (`idle_action`).

    Why: a vector env steps all its envs together, and at an evaluation's end the envs whose
    seeds have all been played idle while the last episodes run (~5-11% of the env steps of
    50 quest episodes in 8 envs); their emulators would take CPU from the ones still playing.
    """

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        self.metadata = {**env.metadata, IDLE_ACTION_KEY: IDLE_ACTION}
        self._latest = None

    def reset(self, **kwargs):
        self._latest = self.env.reset(**kwargs)
        return self._latest

    def step(self, action):
        if self._latest is not None and int(action) == IDLE_ACTION:
            observation, info = self._latest
            return observation, 0.0, False, False, info
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._latest = (observation, info)
        return observation, reward, terminated, truncated, info


def idle_action(envs) -> int | None:
    """The action that leaves an env of `envs` (a vector env) unstepped (`IdleStep`), or None
    when its envs have none."""
    metadata = getattr(envs, "metadata", None) or {}
    return metadata.get(IDLE_ACTION_KEY)


def worker_cpus(num_envs: int) -> list[int | None]:
    """The CPU each of `num_envs` env worker processes is pinned to: round-robin over the CPUs
    this process may use; None each where the OS cannot pin (not Linux)."""
    if not hasattr(os, "sched_setaffinity"):
        return [None] * num_envs
    cpus = sorted(os.sched_getaffinity(0))
    return [cpus[i % len(cpus)] for i in range(num_envs)]


class PinnedEnvFactory:
    """Builds a PokemonEnv in a vector-env worker after pinning that process to one CPU.

    Why pin: each worker steps ~1 ms and then sleeps on its pipe, so Linux often wakes both
    workers of a 2-core machine on the same core; measured, 2 unpinned workers gave 0.99-1.74x
    one worker's steps/s, pinned ones 1.92-2.06x (benchmarks/env_speed.py).
    """

    def __init__(self, cpu: int | None, env_kwargs: dict, network_frame_info: bool = False,
                 whole_info: bool = False, idle_step: bool = True):
        self.cpu, self.env_kwargs = cpu, env_kwargs
        self.network_frame_info, self.whole_info, self.idle_step = network_frame_info, whole_info, idle_step
        self.creator_pid = os.getpid()

    def __call__(self):
        from pokeil_jax.env import PokemonEnv

        # Only in a worker: AsyncVectorEnv also calls the first factory in the parent (to read
        # the spaces), and a pinned parent would hand its one CPU to every process it starts.
        if self.cpu is not None and os.getpid() != self.creator_pid:
            os.sched_setaffinity(0, {self.cpu})
        env = PokemonEnv(**self.env_kwargs)
        if self.network_frame_info:
            env = NetworkFrameInfo(env)
        if self.whole_info:
            env = WholeInfo(env)
        return IdleStep(env) if self.idle_step else env


def worker_env_factories(num_envs: int, pin_cpus: bool = True, network_frame_info: bool = False,
                         whole_info: bool = False, idle_step: bool = True, **env_kwargs) -> list[PinnedEnvFactory]:
    """One PokemonEnv factory per vector-env worker process, each pinned to its `worker_cpus`
    CPU (none pinned when `pin_cpus` is False), wrapped in `NetworkFrameInfo` and `WholeInfo`
    if asked, and in `IdleStep` unless `idle_step` is False."""
    cpus = worker_cpus(num_envs) if pin_cpus else [None] * num_envs
    return [PinnedEnvFactory(cpu, env_kwargs, network_frame_info, whole_info, idle_step) for cpu in cpus]


def make_eval_envs(num_envs: int, pin_cpus: bool = True, network_frame_info: bool = True,
                   whole_info: bool = True, idle_step: bool = True, **env_kwargs) -> gymnasium.vector.VectorEnv:
    """A vector env of `num_envs` PokemonEnvs with autoreset disabled (the evaluator resets by seed)
    and, unless `idle_step` is False, `IdleStep` (the evaluator does not step the envs it has no
    seed left for).

    With more than one env, each runs in its own process, pinned round-robin to this process's
    CPUs (`worker_cpus`) unless `pin_cpus` is False, and preprocesses its frames for the network
    there unless `network_frame_info` is False (`NetworkFrameInfo`; read them with
    `network_frames`); one env runs in this process, unpinned, as it is. Infos come whole
    (`WholeInfo`; read them with `unbatch_info`) unless `whole_info` is False. The envs report
    `state_fingerprint` (unless `fingerprint=False` is passed: it costs ~0.5 ms a step, and only
    a deterministic agent's loop stopping reads it), so the evaluator can end episodes stuck in a loop.
    """
    env_kwargs.setdefault("fingerprint", True)
    mode = gymnasium.vector.AutoresetMode.DISABLED
    if num_envs == 1:
        return gymnasium.vector.SyncVectorEnv([PinnedEnvFactory(None, env_kwargs, whole_info=whole_info,
                                                                 idle_step=idle_step)],
                                             autoreset_mode=mode)
    fns = worker_env_factories(num_envs, pin_cpus, network_frame_info, whole_info, idle_step, **env_kwargs)
    # spawn, not fork: the parent may hold JAX's threads, which fork does not survive.
    return gymnasium.vector.AsyncVectorEnv(fns, context="spawn", autoreset_mode=mode)


def close_on_exit(envs):
    """An `ExitStack.push` callback that closes `envs` (a vector env, or anything whose
    `close(terminate=...)` closes one): normally when the block ends, and by terminating the
    worker processes at once when it ends in an error (Ctrl-C included), since a plain close
    would first wait for a step still running in a worker, which may never end."""

    def close(exc_type, exc, traceback) -> bool:
        envs.close(terminate=exc_type is not None)
        return False  # never swallow the error

    return close
