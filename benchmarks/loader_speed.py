"""Data loader speed: first-run preprocessing into the cache, then batches/s from the cache.

    python benchmarks/loader_speed.py [--data-dir expert_data] [--episodes 4] [--length 1500]
                                      [--batch-size 64] [--seconds 5]

Without --data-dir it writes synthetic episodes in the real format (scrolling tile maps, so the
NPZ compression and the resize see game-like frames) into a temp folder. The cache is always
built fresh in a temp folder so the first-run time is a real first run.

Printed, all measured in this run:
  preprocessing   frames/s of build_cache on a cold cache (read NPZ + resize + write memmap)
  reference       samples/s of a plain numpy gather from frames already in RAM (the ceiling)
  loader          batches/s and samples/s of BatchSampler (memmap cache, prefetch thread)
  train step      samples/s of pokeil_jax.train's jitted step on this machine, on the loader's batches
  ratio           loader samples/s / train step samples/s (target >= 20)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# Run as a script from anywhere (`python benchmarks/loader_speed.py`): the package is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pokeil_jax import data  # noqa: E402

def synthetic_episode(length: int, seed: int) -> dict:
    """An episode in the real format whose frames scroll over a random 8x8-tile map."""
    rng = np.random.default_rng(seed)
    tiles = rng.integers(0, 256, (16, 8, 8, 3), dtype=np.uint8)
    layout = rng.integers(0, len(tiles), (64, 64))
    world = tiles[layout].transpose(0, 2, 1, 3, 4).reshape(512, 512, 3)
    moves = rng.integers(-1, 2, (length + 1, 2)).cumsum(axis=0) * 4
    frames = np.empty((length + 1, 160, 240, 3), np.uint8)
    for t, (dy, dx) in enumerate(moves % (512 - 240)):
        frames[t] = world[dy:dy + 160, dx:dx + 240]
    actions = rng.integers(0, data.NUM_ACTIONS, length).astype(np.int32)
    rewards = np.zeros(length, np.float32)
    dones = np.zeros(length, bool)
    dones[-1] = True
    metadata = {
        "format_version": data.EPISODE_FORMAT_VERSION, "game": "synthetic", "rom_sha1": "0" * 40,
        "frames_per_step": 24, "expert": "benchmark", "seed": seed, "epsilon": 0.0,
        "milestone_names": [], "terminated": False, "truncated": True,
    }
    return {
        "observations": frames[:length], "actions": actions, "executed_actions": actions,
        "rewards": rewards, "dones": dones,
        "infos": np.asarray([json.dumps({"step": t + 1}) for t in range(length)], dtype=np.str_),
        "episode_return": np.float32(0), "episode_length": np.int64(length),
        "final_observation": frames[length], "metadata": metadata,
    }


def loader_rate(demos: data.CachedDemos, batch_size: int, seconds: float, keys) -> tuple[float, float]:
    """(batches/s, samples/s) pulled from a prefetching BatchSampler for `seconds`."""
    with data.BatchSampler(demos, batch_size, seed=0, keys=keys) as sampler:
        for _ in range(20):  # warm up: thread started, pages touched once
            next(sampler)
        start, batches = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            next(sampler)
            batches += 1
        elapsed = time.perf_counter() - start
    return batches / elapsed, batches * batch_size / elapsed


def reference_rate(demos: data.CachedDemos, batch_size: int, seconds: float) -> float:
    """samples/s of `frames[idx]` + `actions[idx]` with every frame already in one RAM array."""
    frames = np.concatenate([np.asarray(e.frames[:-1]) for e in demos.episodes])
    rng = np.random.default_rng(0)
    start, batches = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        idx = rng.integers(0, len(frames), batch_size)
        frames[idx], demos.actions[idx]
        batches += 1
    return batches * batch_size / (time.perf_counter() - start)


def train_step_rate(demos: data.CachedDemos, batch_size: int, steps: int) -> float:
    """samples/s of the BC train step (pokeil_jax.train, jitted for this machine's devices) on
    batches from the cache; compilation and the first step excluded."""
    import jax

    from pokeil_jax import train

    mesh = train.make_mesh()
    state = train.replicate(mesh, train.create_train_state(jax.random.key(0), train.TrainConfig()))
    step = train.jit_train_step(mesh)
    with data.BatchSampler(demos, batch_size, seed=0) as sampler:
        state, metrics = step(state, train.shard_batch(mesh, next(sampler)))
        jax.block_until_ready(metrics)
        start = time.perf_counter()
        for _ in range(steps):
            state, metrics = step(state, train.shard_batch(mesh, next(sampler)))
        jax.block_until_ready(metrics)
    return steps * batch_size / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None, help="a folder of episode_XXXX.npz (default: synthetic episodes)")
    parser.add_argument("--episodes", type=int, default=4, help="synthetic episodes to write")
    parser.add_argument("--length", type=int, default=1500, help="steps per synthetic episode")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per throughput measurement")
    parser.add_argument("--train-steps", type=int, default=10, help="train steps timed for the reference")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="loader_speed_") as tmp:
        tmp = Path(tmp)
        if args.data_dir is None:
            start = time.perf_counter()
            for i in range(args.episodes):
                data.write_episode(tmp / f"episode_{i + 1:04d}.npz", synthetic_episode(args.length, i))
            written = args.episodes * args.length
            size = sum(p.stat().st_size for p in tmp.glob("episode_*.npz"))
            print(f"wrote {args.episodes} synthetic episodes x {args.length} steps: "
                  f"{written / (time.perf_counter() - start):,.0f} steps/s, {size / written / 1024:.1f} KiB/step on disk")
            paths = data.episode_paths(tmp)
        else:
            paths = data.episode_paths(args.data_dir)

        cache_dir = tmp / "cache"
        start = time.perf_counter()
        demos = data.build_cache(paths, cache_dir)
        cold = time.perf_counter() - start
        frames = demos.num_transitions + demos.num_episodes
        start = time.perf_counter()
        data.build_cache(paths, cache_dir, progress=False)
        warm = time.perf_counter() - start

        reference = reference_rate(demos, args.batch_size, args.seconds)
        bc_batches, bc_samples = loader_rate(demos, args.batch_size, args.seconds, ("observations", "actions"))
        dqn_keys = ("observations", "actions", "next_observations", "rewards", "dones", "terminals")
        dqn_batches, dqn_samples = loader_rate(demos, args.batch_size, args.seconds, dqn_keys)
        step_samples = train_step_rate(demos, args.batch_size, args.train_steps)

    print()
    print(f"data: {demos.num_episodes} episodes, {demos.num_transitions:,} transitions, batch {args.batch_size}")
    print(f"preprocessing (cold cache): {frames / cold:10,.0f} frames/s  ({frames:,} frames in {cold:.1f} s)")
    print(f"cache hit (second build):   {warm:10.2f} s")
    print(f"reference in-RAM gather:    {reference:10,.0f} samples/s")
    print(f"loader, BC batch:           {bc_samples:10,.0f} samples/s  {bc_batches:8,.0f} batches/s"
          f"  ({bc_samples / reference:.2f}x the in-RAM gather)")
    print(f"loader, DQN-BC batch:       {dqn_samples:10,.0f} samples/s  {dqn_batches:8,.0f} batches/s")
    print(f"train step (JAX, this machine): {step_samples:6,.0f} samples/s")
    ratio = bc_samples / step_samples
    print(f"ratio = loader samples/s / train step samples/s = {ratio:.1f}x "
          f"(target >= 20x: {'met' if ratio >= 20 else 'NOT met'})")


if __name__ == "__main__":
    main()
