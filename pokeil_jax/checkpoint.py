"""Checkpoints of a run: the whole TrainState plus the JSON that says what it is.

Layout (Orbax; one step directory per checkpoint, written to a temporary directory and renamed
when complete, so a killed save leaves no half checkpoint under a step name):

    checkpoints/<run_name>/
        periodic/<step>/   the last `max_to_keep` periodic saves (for resume)
        best/<step>/       one: the best evaluation so far
        final/<step>/      one: the end of training
    <step>/state/          TrainState: params, opt_state, step, rng
    <step>/extras/metadata JSON: {"kind", "step", "args", "metrics", "loader_state",
                                  "state_sha256" (checked on restore), "best_metric_keys" (best/)}

"Best" is lexicographic on (milestone completion rate, episodic return): the completion rate
decides and the return breaks ties; an equal pair keeps the older checkpoint. The comparison is
done here in Python, exactly (a combined float like `completion * 1e6 + return` is only right
while returns stay small), and `best/` then keeps only the newly saved step. Every save waits
for Orbax to finish before it returns, so the caller may donate or change the state right away.
A state holding NaN/inf is refused (CheckpointError), so a diverged run never overwrites its
last good checkpoint, even between two `check_finite` calls.

In a multi-process run every process calls the same saves with the same values (Orbax
coordinates the writes); `restore` places arrays like the target's (e.g. replicated on a mesh).
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import jax
import numpy as np
import orbax.checkpoint as ocp

KINDS = ("periodic", "best", "final")
#: Metric keys `save_best` ranks by, most important first (the evaluator's names).
BEST_METRIC_KEYS = ("eval/milestone_completion", "eval/episodic_return")
_STATE, _EXTRAS = "state", "extras"
_TMP_MARK = ".orbax-checkpoint-tmp"


class CheckpointError(Exception):
    """A checkpoint path that is missing, unreadable, or does not fit the target state."""


def _to_json(value: Any) -> Any:
    """Args dataclass / metrics / loader state -> plain JSON values (Paths as str, arrays as numbers)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif hasattr(value, "__dict__") and not isinstance(value, (dict, list, tuple, str)):
        value = vars(value)  # argparse.Namespace, SimpleNamespace

    def default(obj):
        if isinstance(obj, (np.ndarray, np.generic, jax.Array)):
            return np.asarray(obj).tolist()
        return str(obj)

    return json.loads(json.dumps(value, default=default))


def _host_value(leaf) -> np.ndarray:
    if isinstance(leaf, jax.Array):
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)  # stored as its raw uint32 words
        if not leaf.is_fully_addressable:  # replicated over processes: any local copy is whole
            leaf = leaf.addressable_data(0)
    return np.asarray(leaf)


def state_digest(state, require_finite: bool = False) -> str:
    """SHA-256 of every leaf's name and values: Orbax stores raw chunks without a checksum, so a
    flipped byte would otherwise restore silently as a wrong weight. With `require_finite`,
    raise CheckpointError naming the first leaf holding a NaN or inf."""
    digest = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        value = _host_value(leaf)
        name = jax.tree_util.keystr(path, simple=True, separator=".")
        if require_finite and np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            raise CheckpointError(f"not saved: the state has NaN/inf in {name!r} (training diverged); the last good checkpoint stays the latest")
        digest.update(jax.tree_util.keystr(path).encode())
        # Scalars by value: a step saved as a Python int may come back as int32 or int64.
        digest.update(repr(value.item()).encode() if value.ndim == 0 else np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def _read_with_orbax(step_dir: Path, what: str, read):
    """Run an Orbax read; a failure becomes a short CheckpointError naming `step_dir`.

    Orbax reads leaves in parallel asyncio tasks, and each failed task logs a screenful from
    the `asyncio` logger when collected; the first error says it all, so those are muted here.
    """
    logger = logging.getLogger("asyncio")
    previous_level, failure = logger.level, None
    logger.setLevel(logging.CRITICAL)
    try:
        return read()
    except Exception as error:  # Orbax/tensorstore raise many types for a damaged directory.
        text = str(error).strip().splitlines()[0]
        for noise in (" [tensorstore_spec", " See full TensorStore details"):  # long specs
            text = text.split(noise)[0]
        failure = f"{type(error).__name__}: {text[:300]}"
    finally:
        if failure is not None:
            gc.collect()  # collect the failed tasks while the logger is muted
        logger.setLevel(previous_level)
    raise CheckpointError(f"{step_dir}: cannot read {what} ({failure}); the checkpoint is corrupt or truncated, restore another step")


class Checkpointer:
    """Saves a run's checkpoints under `run_dir` (`checkpoints/<run_name>`); see module doc."""

    def __init__(self, run_dir: str | Path, max_to_keep: int = 3, best_metric_keys: Sequence[str] = BEST_METRIC_KEYS):
        if max_to_keep < 1:
            raise ValueError(f"max_to_keep must be >= 1, got {max_to_keep}")
        self.run_dir = Path(run_dir).absolute()
        self.max_to_keep = max_to_keep
        self.best_metric_keys = tuple(best_metric_keys)
        self._managers: dict[str, ocp.CheckpointManager] = {}
        self._best_metrics: dict | None = None
        self._best_loaded = False

    def _manager(self, kind: str) -> ocp.CheckpointManager:
        if kind not in self._managers:
            options = ocp.CheckpointManagerOptions(
                max_to_keep=self.max_to_keep if kind == "periodic" else None,
                enable_async_checkpointing=False,
            )
            self._managers[kind] = ocp.CheckpointManager(
                self.run_dir / kind, options=options, item_names=(_STATE, _EXTRAS)
            )
        return self._managers[kind]

    def _save(self, kind: str, step: int, state, args, metrics, loader_state) -> Path:
        manager = self._manager(kind)
        step = int(step)
        extras = {
            "kind": kind,
            "step": step,
            "args": _to_json(args),
            "metrics": _to_json(dict(metrics or {})),
            "loader_state": _to_json(loader_state),
            "state_sha256": state_digest(state, require_finite=True),
        }
        if kind == "best":
            extras["best_metric_keys"] = list(self.best_metric_keys)
        if step in manager.all_steps():
            raise CheckpointError(f"{self.run_dir / kind / str(step)} already exists; use a new run name")
        # force: Orbax would silently skip a step below its latest (best/ after a resume).
        saved = manager.save(
            step,
            args=ocp.args.Composite(**{_STATE: ocp.args.StandardSave(state), _EXTRAS: ocp.args.JsonSave(extras)}),
            force=True,
        )
        manager.wait_until_finished()
        if not saved:
            raise CheckpointError(f"Orbax declined to save step {step} in {self.run_dir / kind}")
        return self.run_dir / kind / str(step)

    def save_periodic(self, step: int, state, args, metrics=None, loader_state=None) -> Path:
        """Save to `periodic/` (oldest beyond `max_to_keep` removed); returns the step directory.

        `loader_state` (a small JSON dict, e.g. {"sampler_step": k}) lets a resume continue the
        data stream exactly. `step` must be above every step already in `periodic/`.
        """
        latest = self._manager("periodic").latest_step()
        if latest is not None and int(step) <= latest:
            raise CheckpointError(
                f"{self.run_dir / 'periodic'} already holds step {latest} >= {int(step)}: resume "
                f"from the latest checkpoint, or train into a new run directory"
            )
        return self._save("periodic", step, state, args, metrics, loader_state)

    def best_metrics(self) -> dict | None:
        """The metrics of the current best checkpoint, or None when `best/` is empty.

        Read from disk once, then kept in memory: in a multi-process run a later read could see
        another process's newer save and make the processes disagree on whether to save.
        """
        if not self._best_loaded:
            best = _best_step_dir(self.run_dir / "best")
            self._best_metrics = None if best is None else _read_extras(best)["metrics"]
            self._best_loaded = True
        return self._best_metrics

    def save_best(self, step: int, state, args, metrics: Mapping[str, Any], loader_state=None) -> bool:
        """Save to `best/` if `metrics` beat the current best (see module doc); True if saved."""
        missing = [key for key in self.best_metric_keys if key not in metrics]
        if missing:
            raise KeyError(f"save_best needs metrics {missing}; got keys {sorted(metrics)}")
        candidate = _rank(metrics, self.best_metric_keys)
        current = self.best_metrics()
        if current is not None and candidate <= _rank(current, self.best_metric_keys):
            return False
        self._replace("best", step, state, args, metrics, loader_state)
        self._best_metrics = _to_json(dict(metrics))
        return True

    def save_final(self, step: int, state, args, metrics=None, loader_state=None) -> Path:
        """Save the end-of-training state to `final/` (replacing an older final)."""
        return self._replace("final", step, state, args, metrics, loader_state)

    def _replace(self, kind: str, step, state, args, metrics, loader_state) -> Path:
        """Save, then drop every other step of `kind`: the new one is complete before the old goes."""
        path = self._save(kind, step, state, args, metrics, loader_state)
        manager = self._manager(kind)
        for old in manager.all_steps():
            if old != int(step):
                manager.delete(old)
        return path

    def latest(self) -> Path | None:
        """The step directory a resume should use (see `resolve`), or None if nothing is saved."""
        try:
            return resolve(self.run_dir)
        except CheckpointError:
            return None

    def close(self) -> None:
        for manager in self._managers.values():
            manager.close()
        self._managers.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _rank(metrics: Mapping[str, Any], keys: Sequence[str]) -> tuple[float, ...]:
    """Comparable tuple of the ranking metrics; NaN ranks below everything."""
    values = tuple(float(metrics[key]) for key in keys)
    return tuple(-math.inf if math.isnan(v) else v for v in values)


def _step_dirs(kind_dir: Path) -> list[Path]:
    """Complete step directories of one kind, by increasing step (Orbax temp dirs skipped)."""
    if not kind_dir.is_dir():
        return []
    steps = [p for p in kind_dir.iterdir() if p.is_dir() and p.name.isdigit()]
    return sorted(steps, key=lambda p: int(p.name))


def _best_step_dir(kind_dir: Path) -> Path | None:
    """The best-ranked step of a `best/` directory (normally its only one; after a crash
    mid-replace, the better of two), ranked by the keys saved with it. Ties go to the lower step."""
    candidates = _step_dirs(kind_dir)
    if not candidates:
        return None

    def rank(step_dir):
        extras = _read_extras(step_dir)
        return _rank(extras["metrics"], extras.get("best_metric_keys", BEST_METRIC_KEYS))

    return max(reversed(candidates), key=rank)


def _is_step_dir(path: Path) -> bool:
    return (path / _STATE).is_dir()


def resolve(path: str | Path) -> Path:
    """A run dir, kind dir, or step dir -> the absolute step directory to restore.

    Relative paths, `~` and symlinks are resolved first (Orbax reads absolute paths only).
    Run dir: the newest step of `final/` and `periodic/` (final wins a tie; those carry the
    loader state a resume needs), else the best checkpoint. Kind dir: its newest step (for
    `best/`, the best one). Raises CheckpointError if there is no checkpoint there.
    """
    given = Path(path).expanduser()
    if not given.exists():
        raise CheckpointError(f"{path}: no such checkpoint path (expected a run, kind or step directory)")
    if not given.is_dir():
        raise CheckpointError(f"{path}: a file, not a checkpoint (expected a run, kind or step directory)")
    path = given.resolve()
    if _TMP_MARK in path.name:
        raise CheckpointError(f"{path}: an unfinished save (the process was killed while writing); use another step")
    if _is_step_dir(path):
        return path
    if any((path / kind).is_dir() for kind in KINDS):  # a run directory
        resumable = [(int(p.name), kind == "final", p) for kind in ("periodic", "final") for p in _step_dirs(path / kind)]
        if resumable:
            return max(resumable)[2]
        best = _best_step_dir(path / "best")
        if best is not None:
            return best
    else:  # a kind directory
        steps = _step_dirs(path)
        if steps:
            return _best_step_dir(path) if path.name == "best" else steps[-1]
    raise CheckpointError(
        f"{given}: no checkpoint found (looked for {', '.join(k + '/<step>' for k in KINDS)}, "
        f"<step>/, or a step directory holding {_STATE}/)"
    )


def read_extras(path: str | Path) -> dict:
    """The JSON saved with the checkpoint `resolve(path)` names (kind, step, args, metrics, ...),
    without reading the state; CheckpointError when there is none or it is unreadable."""
    return _read_extras(resolve(path))


def _read_extras(step_dir: Path) -> dict:
    metadata = step_dir / _EXTRAS / "metadata"
    try:
        return json.loads(metadata.read_text())
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{step_dir}: cannot read {metadata} ({error}); the checkpoint is corrupt or truncated") from error


def _leaf_shape(leaf) -> tuple[int, ...]:
    if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return tuple(jax.eval_shape(jax.random.key_data, leaf).shape)  # stored as raw uint32 words
    return tuple(np.shape(leaf))


def stored_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """{leaf name ("params.Dense_1.kernel", ...): shape} of the state saved in a checkpoint (a run,
    kind or step folder, see `resolve`), read from its metadata without loading any array."""
    step_dir = resolve(path)
    stored = _read_with_orbax(
        step_dir, "the state metadata", lambda: ocp.PyTreeCheckpointHandler().metadata(step_dir / _STATE).tree
    )
    return {leaf.name: tuple(leaf.shape) for leaf in jax.tree_util.tree_leaves(stored)}


def _check_fits(step_dir: Path, target_state) -> None:
    """Raise CheckpointError naming the first leaf whose name or shape differs from the target."""
    stored = stored_shapes(step_dir)
    target_shapes = {
        jax.tree_util.keystr(path, simple=True, separator="."): _leaf_shape(leaf)
        for path, leaf in jax.tree_util.tree_flatten_with_path(target_state)[0]
    }
    for name, shape in target_shapes.items():
        if name not in stored:
            raise CheckpointError(f"{step_dir} does not fit the target: it has no {name!r} (target shape {shape})")
        if stored[name] != shape:
            raise CheckpointError(
                f"{step_dir} does not fit the target: {name!r} has shape {stored[name]} in the "
                f"checkpoint but {shape} in the target (another network size? check hidden_dim / "
                f"num_actions in the run's args)"
            )
    extra = sorted(set(stored) - set(target_shapes))
    if extra:
        raise CheckpointError(f"{step_dir} does not fit the target: the target has no {extra[0]!r} (and {len(extra) - 1} more)")


def restore(path: str | Path, target_state) -> tuple[Any, dict]:
    """Restore a TrainState from a run, kind or step directory (see `resolve`).

    `target_state` gives the tree, shapes and placement (e.g. a fresh, replicated
    `create_train_state(...)`). Returns (state, extras) with extras = {"kind", "step", "args",
    "metrics", "loader_state", "path"}. Raises CheckpointError naming the path for a missing,
    corrupt or truncated checkpoint, or one whose tree or shapes do not fit the target.
    """
    step_dir = resolve(path)
    _check_fits(step_dir, target_state)
    extras = _read_extras(step_dir)
    restored = _read_with_orbax(
        step_dir,
        "the state",
        lambda: ocp.Checkpointer(ocp.CompositeCheckpointHandler()).restore(
            step_dir, args=ocp.args.Composite(**{_STATE: ocp.args.StandardRestore(target_state)})
        ),
    )[_STATE]
    if "state_sha256" in extras and state_digest(restored) != extras["state_sha256"]:
        raise CheckpointError(
            f"{step_dir}: the restored state does not match the checksum saved with it; the "
            f"checkpoint is corrupt, restore another step"
        )
    return restored, {**extras, "path": str(step_dir)}


def find_latest_run(checkpoint_root: str | Path, exp_name: str) -> Path | None:
    """The run directory of `exp_name` under `checkpoint_root` whose newest checkpoint was written
    last, or None. A run belongs to `exp_name` if that is one of its `__`-separated name fields
    (cleanrl's run_name `{env_id}__{exp_name}__{seed}__{time}`) or its whole name."""
    root = Path(checkpoint_root)
    if not root.is_dir():
        return None
    newest: tuple[float, Path] | None = None
    for run in root.iterdir():
        if not run.is_dir() or (exp_name != run.name and exp_name not in run.name.split("__")):
            continue
        for kind in KINDS:
            for step_dir in _step_dirs(run / kind):
                written = step_dir.stat().st_mtime
                if newest is None or written > newest[0]:
                    newest = (written, run)
    return None if newest is None else newest[1]
