"""The preprocessed cache of episodes and the demos training reads from it.

`build_cache` preprocesses each episode's frames once with the shared
`pokeil_jax.preprocessing.preprocess_frames` into `<expert_data_dir>/.cache/<sha1>-p<ver>-c<ver>/`
(one entry per episode, named by the sha1 of the NPZ's bytes and PREPROCESS_VERSION), as .npy
files opened read-only with mmap, so a data set larger than RAM trains and a new episode only
costs its own preprocessing. Deleting `.cache/` is always safe. `CachedDemos` is the cached
episodes as one flat set of transitions; `split_episodes`, `shard` and `load_demos` pick which
episodes a process trains and validates on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from pokeil_jax import preprocessing
from pokeil_jax.atomic import atomic_write
from pokeil_jax.data.episodes import episode_paths, iter_frame_chunks, load_member, open_npz, read_episode
from pokeil_jax.data.episode_format import NETWORK_INPUT_SHAPE, EpisodeFormatError, how_to_collect

#: Bump when the cache layout changes (PREPROCESS_VERSION covers the frames themselves).
CACHE_VERSION = 2


def default_cache_dir(expert_data_dir: str | os.PathLike) -> Path:
    """`<expert_data_dir>/.cache` (hidden, so episode listings ignore it)."""
    return Path(expert_data_dir) / ".cache"


def _sha1_file(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


class _HashMemo:
    """sha1 of files, remembered in `cache_dir/file_hashes.json` under (size, mtime_ns, inode) so
    an unchanged file is not hashed again; any of those changing forces a re-hash."""

    def __init__(self, cache_dir: Path):
        self.path = cache_dir / "file_hashes.json"
        try:
            self.table = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.table = {}
        self.dirty = False

    def sha1(self, path: Path) -> str:
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        key = str(path.resolve())
        known = self.table.get(key)
        if known and known[:3] == stamp:
            return known[3]
        digest = _sha1_file(path)
        self.table[key] = stamp + [digest]
        self.dirty = True
        return digest

    def save(self):
        if self.dirty:
            with atomic_write(self.path, "w") as f:
                json.dump(self.table, f)


def _entry_name(sha1: str) -> str:
    return f"{sha1}-p{preprocessing.PREPROCESS_VERSION}-c{CACHE_VERSION}"


_ENTRY_ARRAYS = ("actions", "executed_actions", "rewards", "dones", "terminals", "has_successor")


def _build_entry(path: Path, sha1: str, entry_dir: Path, chunk_frames: int, bar) -> None:
    """Preprocess one episode into `entry_dir` (written under a temp name, renamed when whole)."""
    episode = read_episode(path, "skip")
    length = int(episode["episode_length"])
    temp = entry_dir.with_name(f".tmp-{entry_dir.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    temp.mkdir(parents=True)
    try:
        frames = np.lib.format.open_memmap(temp / "frames.npy", mode="w+", dtype=np.uint8,
                                           shape=(length + 1, *NETWORK_INPUT_SHAPE))
        npz = open_npz(path)
        with npz:
            start = 0
            for chunk in iter_frame_chunks(npz, "observations", path, chunk_frames):
                frames[start:start + len(chunk)] = preprocessing.preprocess_frames(chunk)
                start += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
            has_final = "final_observation" in npz.files
            # Without a final observation the slot repeats the last frame; has_successor says it is none.
            if has_final:
                frames[length] = preprocessing.preprocess_frames(load_member(npz, "final_observation", path))
            else:
                frames[length] = frames[length - 1]
        frames.flush()
        del frames
        metadata = episode.get("metadata") or {}
        terminals = np.zeros(length, bool)
        terminals[-1] = metadata.get("terminated", False)
        has_successor = np.ones(length, bool)
        has_successor[-1] = has_final and "terminated" in metadata
        arrays = {"actions": episode["actions"], "executed_actions": episode.get("executed_actions", episode["actions"]),
                  "rewards": episode["rewards"], "dones": episode["dones"], "terminals": terminals,
                  "has_successor": has_successor}
        for key, value in arrays.items():
            np.save(temp / f"{key}.npy", value)
        entry = {
            "source": path.name, "sha1": sha1, "length": length,
            "preprocess_version": preprocessing.PREPROCESS_VERSION, "cache_version": CACHE_VERSION,
            "seed": metadata.get("seed"), "episode_return": float(episode["episode_return"]),
        }
        (temp / "entry.json").write_text(json.dumps(entry))
        try:
            os.replace(temp, entry_dir)
        except OSError:
            if not (entry_dir / "entry.json").exists():  # someone else finishing it first is fine
                raise
    finally:
        if temp.exists():
            shutil.rmtree(temp)


@dataclasses.dataclass(frozen=True)
class CachedEpisode:
    """One episode in the cache: `frames` is a read-only memmap uint8 (T+1, 84, 84, 3) holding the
    preprocessed observations and, last, the preprocessed final observation."""

    source: Path
    sha1: str
    seed: int | None
    frames: np.ndarray
    actions: np.ndarray
    executed_actions: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    terminals: np.ndarray
    has_successor: np.ndarray

    @property
    def length(self) -> int:
        return len(self.actions)


def _open_entry(entry_dir: Path, source: Path) -> CachedEpisode:
    meta = json.loads((entry_dir / "entry.json").read_text())
    arrays = {key: np.load(entry_dir / f"{key}.npy", allow_pickle=False) for key in _ENTRY_ARRAYS}
    frames = np.load(entry_dir / "frames.npy", mmap_mode="r", allow_pickle=False)
    return CachedEpisode(source=source, sha1=meta["sha1"], seed=meta["seed"], frames=frames, **arrays)


BATCH_KEYS = ("observations", "actions", "next_observations", "rewards", "dones", "terminals",
              "has_successor", "executed_actions", "episode_ids")


def empty_aligned(shape: tuple[int, ...], dtype, alignment: int = 64) -> np.ndarray:
    """`np.empty(shape, dtype)` whose data starts on an `alignment`-byte boundary. XLA:CPU aliases
    a 64-byte-aligned numpy array instead of copying it in (`jax.device_put`,
    `train.shard_batch`); numpy's own allocations are only 16-byte aligned, so every train
    batch was copied once more (measured: 0.6 vs 1.7 CPU ms per batch of 256 frames)."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(size + alignment, np.uint8)
    start = -raw.ctypes.data % alignment
    return raw[start:start + size].view(dtype).reshape(shape)


class CachedDemos:
    """The cached episodes as one flat set of N transitions.

    Transition i belongs to episode `episode_ids[i]`; its observation is frame
    `frame_index[i]` and its next observation frame `next_frame_index[i] = frame_index[i] + 1`,
    which is the next step's observation or, at the episode's last step, its final observation
    (frames are laid out per episode as T observations then the final one). Flat arrays
    (actions int32, executed_actions int32, rewards float32, dones bool, terminals bool:
    done by termination, not truncation; has_successor bool: False where next_observations is
    not a real next frame (the last step of an episode without final_observation, or one whose
    end is unknown), which TD targets must leave out; episode_ids int32; frame indices int64)
    live in RAM, frames stay in the read-only memmaps.
    """

    def __init__(self, episodes: Sequence[CachedEpisode]):
        if not episodes:
            raise EpisodeFormatError("no episodes to load (empty list). Fix: pass at least one episode path.")
        self.episodes = list(episodes)
        lengths = np.array([e.length for e in self.episodes], np.int64)
        self.episode_lengths = lengths
        self.transition_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.frame_starts = self.transition_starts + np.arange(len(lengths))
        self.episode_ids = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
        self.frame_index = np.arange(lengths.sum(), dtype=np.int64) + self.episode_ids
        self.next_frame_index = self.frame_index + 1
        for key in _ENTRY_ARRAYS:
            setattr(self, key, np.concatenate([getattr(e, key) for e in self.episodes]))

    @property
    def num_transitions(self) -> int:
        return len(self.actions)

    def __len__(self) -> int:
        return self.num_transitions

    @property
    def num_episodes(self) -> int:
        return len(self.episodes)

    @property
    def sources(self) -> list[Path]:
        return [e.source for e in self.episodes]

    def off_expert_indices(self) -> np.ndarray:
        """int64: the transitions whose executed action is not their label, i.e. states where
        whoever drove did not do what the expert says (a DAgger learner's mistakes, epsilon steps)."""
        return np.flatnonzero(self.actions != self.executed_actions)

    def frames(self, frame_indices: np.ndarray) -> np.ndarray:
        """uint8 (len, 84, 84, 3): frames by global frame index (a fresh array, not a memmap view,
        its data 64-byte aligned: JAX on CPU then takes it as a device array without copying it,
        so it must not be written to once handed to JAX)."""
        frame_indices = np.asarray(frame_indices, np.int64)
        out = empty_aligned((len(frame_indices), *NETWORK_INPUT_SHAPE), np.uint8)
        owner = np.searchsorted(self.frame_starts, frame_indices, side="right") - 1
        for e in np.unique(owner):
            rows = np.flatnonzero(owner == e)
            out[rows] = self.episodes[e].frames[frame_indices[rows] - self.frame_starts[e]]
        return out

    def batch(self, indices: np.ndarray, keys: Sequence[str] = ("observations", "actions")) -> dict[str, np.ndarray]:
        """The transitions `indices` (int, (B,)) as a dict of arrays with leading axis B; `keys` from BATCH_KEYS."""
        indices = np.asarray(indices, np.int64)
        out = {}
        for key in keys:
            if key == "observations":
                out[key] = self.frames(self.frame_index[indices])
            elif key == "next_observations":
                out[key] = self.frames(self.next_frame_index[indices])
            else:
                out[key] = getattr(self, key)[indices]
        return out

    def eval_batches(self, batch_size: int, keys: Sequence[str] = ("observations", "actions")) -> Iterator[dict]:
        """Every transition once, in order, as fixed-shape batches; the last one wraps around and
        its float32 `mask` (B,) is 0 on the repeats, so averages weight each transition once."""
        n = self.num_transitions
        for start in range(0, n, batch_size):
            indices = np.arange(start, start + batch_size)
            batch = self.batch(indices % n, keys)
            batch["mask"] = (indices < n).astype(np.float32)
            yield batch


def build_cache(paths: Sequence[str | os.PathLike], cache_dir: str | os.PathLike | None = None, *,
                chunk_frames: int = 32, progress: bool = True) -> CachedDemos:
    """Validate the episodes, preprocess the frames of any not cached yet (in chunks of
    `chunk_frames`, one episode at a time, a tqdm bar over frames), and open them all read-only.

    Cache entries are keyed by the sha1 of each file's bytes and PREPROCESS_VERSION, so a changed
    file or preprocessing gets a new entry and a new episode only adds its own; an entry is only
    ever made from a file that passed validation, so a hit needs no re-validation. Every file to
    build is validated before any preprocessing starts. `cache_dir` defaults to
    `<folder of the first episode>/.cache`.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise EpisodeFormatError(
            f"no episodes given to build_cache. Fix: pass episode_paths(folder); create demonstrations "
            f"with `{how_to_collect('expert_data')}`."
        )
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir(paths[0].parent)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for temp in cache_dir.glob(".tmp-*"):  # left by a killed build; a day old cannot be in progress
        if time.time() - temp.stat().st_mtime > 86400:
            shutil.rmtree(temp, ignore_errors=True)
    memo = _HashMemo(cache_dir)
    entries, todo = [], []
    for path in paths:
        if not path.is_file():
            open_npz(path)  # raises the file-not-found message
        entry_dir = cache_dir / _entry_name(memo.sha1(path))
        entries.append(entry_dir)
        if not (entry_dir / "entry.json").exists():
            # Headers and small arrays only: cheap, and a bad file fails before any preprocessing.
            todo.append((path, entry_dir, int(read_episode(path, "skip")["episode_length"])))
    memo.save()
    if todo:
        from tqdm import tqdm

        total = sum(length + 1 for _, _, length in todo)
        with tqdm(total=total, unit="frame", desc=f"preprocess {len(todo)} episodes", disable=not progress,
                  dynamic_ncols=True) as bar:
            for path, entry_dir, length in todo:
                if (entry_dir / "entry.json").exists():  # a second copy of a file already built
                    bar.update(length + 1)
                    continue
                _build_entry(path, entry_dir.name.split("-")[0], entry_dir, chunk_frames, bar)
                bar.update(1)
    return CachedDemos([_open_entry(entry_dir, path) for path, entry_dir in zip(paths, entries)])


def split_episodes(paths_or_ids: Sequence, val_fraction: float, seed: int) -> tuple[list, list]:
    """Deterministic episode-level (train, val) split; both keep the input order.

    Episodes are ranked by a hash of (seed, file name or id), so an episode's side depends only on
    the seed and its name, not on what else is in the folder. With val_fraction > 0 and at least
    2 episodes, val gets at least 1 and train at least 1.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    items = list(paths_or_ids)
    n = len(items)
    n_val = min(max(round(val_fraction * n), 1), n - 1) if val_fraction > 0 and n >= 2 else 0

    def rank(i):
        name = Path(items[i]).name if isinstance(items[i], (str, os.PathLike)) else str(items[i])
        return hashlib.sha1(f"{seed}:{name}".encode()).hexdigest(), i

    val_set = set(sorted(range(n), key=rank)[:n_val])
    return [x for i, x in enumerate(items) if i not in val_set], [x for i, x in enumerate(items) if i in val_set]


def shard(items: Sequence, process_index: int, process_count: int) -> list:
    """This process's share of `items`: items[process_index::process_count] (disjoint, covering)."""
    if process_count < 1 or not 0 <= process_index < process_count:
        raise ValueError(f"need 0 <= process_index < process_count, got {process_index} of {process_count}")
    mine = list(items)[process_index::process_count]
    if not mine:
        raise EpisodeFormatError(
            f"process {process_index} of {process_count} gets no episode ({len(items)} in all). "
            f"Fix: collect at least {process_count} episodes or run on fewer processes."
        )
    return mine


def load_demos(expert_data_dir: str | os.PathLike, *, val_fraction: float = 0.1, seed: int = 0,
               process_index: int = 0, process_count: int = 1, cache_dir: str | os.PathLike | None = None,
               progress: bool = True, env_id: str | None = None) -> tuple[CachedDemos, CachedDemos | None]:
    """(train, val) demos from a folder: episode split by `seed`, train sharded over processes
    (each loads only its episodes), val whole on every process (None when val_fraction is 0).
    `env_id`: the env the demos are for, named in the fix when the folder holds none."""
    paths = episode_paths(expert_data_dir, env_id)
    train, val = split_episodes(paths, val_fraction, seed)
    cache_dir = cache_dir if cache_dir is not None else default_cache_dir(expert_data_dir)
    train_demos = build_cache(shard(train, process_index, process_count), cache_dir, progress=progress)
    val_demos = build_cache(val, cache_dir, progress=progress) if val else None
    return train_demos, val_demos
