"""`python -m pokeil_jax.data inspect|cache`: validate a folder of episodes, print a summary
table and save the action histogram; or build the preprocessed cache ahead of training.

    python -m pokeil_jax.data inspect expert_data/ [--plot PATH]   # validate + summarize
    python -m pokeil_jax.data cache expert_data/                   # build the cache ahead of training
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from pokeil_jax.actions import BUTTONS, NUM_ACTIONS
from pokeil_jax.atomic import save_figure_atomic
from pokeil_jax.data.cache import build_cache, default_cache_dir
from pokeil_jax.data.episodes import absent_keys, episode_paths, read_episode
from pokeil_jax.data.episode_format import ABSENT_KEY_COSTS, ABSENT_METADATA_COSTS, REQUIRED_METADATA, EpisodeFormatError


def _last_milestones(info: dict, names: Sequence[str]) -> dict[str, bool] | None:
    if isinstance(info.get("milestones"), dict):
        return {str(k): bool(v) for k, v in info["milestones"].items()}
    if "milestone_mask" in info and names:
        mask = int(info["milestone_mask"])
        return {name: bool(mask >> i & 1) for i, name in enumerate(names)}
    return None


def summarize_episodes(paths: Sequence[str | os.PathLike], verify_frames: bool = True) -> dict:
    """Validate every episode and gather the numbers `inspect` prints.

    Returns a dict: episodes, transitions, returns (list), lengths (list), action_counts and
    executed_action_counts (int64 (10,)), milestone_reached {name: episodes}, milestone_known
    (episodes with milestone info), seeds {seed: [file names]}, experts/games/rom_sha1s/
    frames_per_step/epsilons (value -> episodes), terminated (episodes), absent {optional key or
    'metadata[key]': episodes lacking it}, errors (list of messages for bad files; those files are
    left out of every other number).
    """
    summary = {
        "episodes": 0, "transitions": 0, "returns": [], "lengths": [],
        "action_counts": np.zeros(NUM_ACTIONS, np.int64),
        "executed_action_counts": np.zeros(NUM_ACTIONS, np.int64),
        "milestone_reached": {}, "milestone_known": 0, "seeds": {}, "experts": {}, "games": {},
        "rom_sha1s": {}, "frames_per_step": {}, "epsilons": {}, "terminated": 0, "terminated_known": 0,
        "absent": {}, "errors": [],
    }
    for path in paths:
        try:
            episode = read_episode(path, "verify" if verify_frames else "skip")
        except EpisodeFormatError as e:
            summary["errors"].append(str(e))
            continue
        metadata, length = episode.get("metadata"), int(episode["episode_length"])
        absent = [k for k in absent_keys(path) if k not in ("episode_return", "episode_length")]
        if metadata is not None:
            absent += [f"metadata[{k!r}]" for k in REQUIRED_METADATA if k not in metadata]
        for key in absent:
            summary["absent"][key] = summary["absent"].get(key, 0) + 1
        metadata = metadata or {}
        summary["episodes"] += 1
        summary["transitions"] += length
        summary["returns"].append(float(episode["episode_return"]))
        summary["lengths"].append(length)
        summary["action_counts"] += np.bincount(episode["actions"], minlength=NUM_ACTIONS)
        summary["executed_action_counts"] += np.bincount(episode.get("executed_actions", episode["actions"]),
                                                         minlength=NUM_ACTIONS)
        summary["terminated"] += bool(metadata.get("terminated", False))
        summary["terminated_known"] += "terminated" in metadata
        if "seed" in metadata:
            summary["seeds"].setdefault(int(metadata["seed"]), []).append(Path(path).name)
        for key, field in (("experts", "expert"), ("games", "game"), ("rom_sha1s", "rom_sha1"),
                           ("frames_per_step", "frames_per_step"), ("epsilons", "epsilon")):
            value = metadata.get(field, "unknown")
            summary[key][value] = summary[key].get(value, 0) + 1
        names = list(metadata.get("milestone_names", []))
        for name in names:
            summary["milestone_reached"].setdefault(name, 0)
        if "infos" not in episode:
            continue
        milestones = _last_milestones(json.loads(str(episode["infos"][-1])), names)
        if milestones is not None:
            summary["milestone_known"] += 1
            for name, reached in milestones.items():
                summary["milestone_reached"][name] = summary["milestone_reached"].get(name, 0) + int(reached)
    return summary


def _ranges(values: Sequence[int]) -> str:
    values = sorted(values)
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(str(start) if start == v else f"{start}-{v}")
            start = None
    return ", ".join(parts)


def format_summary(summary: dict, directory: str | os.PathLike) -> str:
    """The table `inspect` prints (plain text)."""
    lines = []
    n, total = summary["episodes"], summary["transitions"]
    bad = len(summary["errors"])
    lines.append(f"{directory}: {n} valid episode{'s' if n != 1 else ''}" + (f", {bad} bad" if bad else "")
                 + f", {total:,} transitions")
    if n:
        lines.append(f"  {'':<10}{'mean':>12}{'min':>12}{'max':>12}")
        for label, values in (("return", summary["returns"]), ("length", summary["lengths"])):
            v = np.asarray(values, np.float64)
            lines.append(f"  {label:<10}{v.mean():>12.3f}{v.min():>12.3f}{v.max():>12.3f}")
        known = summary.get("terminated_known", n)
        lines.append(f"  completed (terminated): {summary['terminated']}/{known}"
                     + (f" ({n - known} unknown)" if known < n else ""))
        if summary["milestone_reached"]:
            known = summary["milestone_known"]
            lines.append(f"  milestones reached (last info of {known}/{n} episodes):")
            width = max(len(name) for name in summary["milestone_reached"])
            for name, count in summary["milestone_reached"].items():
                rate = count / known if known else float("nan")
                lines.append(f"    {name:<{width}}  {count:>5}/{known:<5} {rate:7.1%}")
        lines.append(f"  {'actions':<11}{'intended (label)':>16}{'executed':>18}")
        labels, executed = summary["action_counts"], summary["executed_action_counts"]
        for i, button in enumerate(BUTTONS):
            lines.append(
                f"    {i} {button:<7}{labels[i]:>9,} {labels[i] / max(total, 1):6.1%}"
                f"{executed[i]:>11,} {executed[i] / max(total, 1):6.1%}"
            )
        seeds = summary["seeds"]
        lines.append(f"  seeds: {_ranges(list(seeds)) or 'none recorded'} ({len(seeds)} distinct)")
        for seed, files in sorted(seeds.items()):
            if len(files) > 1:
                lines.append(f"    warning: seed {seed} recorded {len(files)} times: {', '.join(files)}")
        for key, label in (("experts", "experts"), ("epsilons", "epsilon"), ("games", "games"),
                           ("rom_sha1s", "rom sha1"), ("frames_per_step", "frames/step")):
            values = ", ".join(f"{v} ({c})" for v, c in summary[key].items())
            lines.append(f"  {label}: {values}")
        for key, label in (("rom_sha1s", "ROMs"), ("frames_per_step", "frames per step")):
            if len(summary[key]) > 1:
                lines.append(f"  warning: episodes mix {len(summary[key])} {label}; train on one setting.")
        if summary["absent"]:
            lines.append("  optional keys absent (valid for training; what each costs):")
            for key, count in summary["absent"].items():
                cost = ABSENT_KEY_COSTS.get(key) or ABSENT_METADATA_COSTS.get(key[len("metadata['"):-2], "shown as unknown")
                lines.append(f"    {key} ({count}/{n} episodes): {cost}")
    return "\n".join(lines)


def plot_action_histogram(summary: dict, path: str | os.PathLike, title: str = "") -> Path:
    """Bar chart of intended (label) and executed action counts per button, saved as PNG (atomic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    x = np.arange(NUM_ACTIONS)
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    ax.bar(x - 0.2, summary["action_counts"], width=0.4, label="intended (label)")
    ax.bar(x + 0.2, summary["executed_action_counts"], width=0.4, label="executed")
    ax.set_xticks(x, BUTTONS)
    ax.set_ylabel("steps")
    ax.set_title(title or f"actions over {summary['episodes']} episodes, {summary['transitions']:,} steps")
    top = max(summary["action_counts"].max(), summary["executed_action_counts"].max(), 1)
    ax.set_ylim(0, top * 1.2)  # headroom so the legend never covers a bar
    ax.legend(loc="upper right", ncol=2)
    fig.tight_layout()
    return save_figure_atomic(fig, path)


def inspect_folder(directory: str | os.PathLike, plot: str | os.PathLike | None = None,
                   verify_frames: bool = True) -> int:
    """`python -m pokeil_jax.data inspect`: print the table and save the PNG; 0 if every file is valid, else 1."""
    directory = Path(directory)
    try:
        paths = episode_paths(directory)
    except EpisodeFormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    summary = summarize_episodes(paths, verify_frames=verify_frames)
    print(format_summary(summary, directory))
    if summary["episodes"]:
        plot_path = plot_action_histogram(
            summary, plot or directory / "action_histogram.png",
            f"{directory}: actions over {summary['episodes']} episode{'s' if summary['episodes'] != 1 else ''}, "
            f"{summary['transitions']:,} steps",
        )
        print(f"  action histogram: {plot_path}")
    if summary["errors"]:
        print(f"\n{len(summary['errors'])} of {len(paths)} episode files are bad:", file=sys.stderr)
        for message in summary["errors"]:
            print(f"  - {message}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pokeil_jax.data",
        description="Expert demonstrations: validate and summarize a folder, build its cache, export it to "
                    "Minari, or migrate old pickled episode files.")
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="validate every episode and print a summary table")
    inspect.add_argument("directory", help="folder of episode_XXXX.npz files")
    inspect.add_argument("--plot", default=None, help="PNG of the action histogram (default: DIRECTORY/action_histogram.png)")
    inspect.add_argument("--quick", action="store_true", help="check frame headers only, do not decompress frames")
    cache = commands.add_parser("cache", help="build the preprocessed cache (DIRECTORY/.cache) ahead of training")
    cache.add_argument("directory", help="folder of episode_XXXX.npz files")
    export = commands.add_parser(
        "export-minari", help="write the folder's episodes as a Minari dataset in Minari's local store "
                              "($MINARI_DATASETS_PATH or ~/.minari/datasets); needs requirements-extras.txt")
    export.add_argument("directory", help="folder of episode_XXXX.npz files")
    export.add_argument("--dataset-id", required=True, help="Minari id, namespace/name-vN, e.g. pokeil/minimon/expert-v0")
    export.add_argument("--author", default=None, help="dataset author (default: your login name)")
    export.add_argument("--author-email", default=None, help="contact e-mail stored with the dataset")
    export.add_argument("--description", default=None, help="dataset description (default: one written from the episodes)")
    export.add_argument("--code-permalink", default=None, help="link to the code that recorded the episodes")
    export.add_argument("--rom-path", default=None,
                        help="the ROM the episodes were recorded with, when it is not the bundled MiniMon")
    migrate = commands.add_parser(
        "migrate", help="rewrite episodes holding pickled object arrays (e.g. infos as a list of dicts) into the "
                        "safe format; unpickling runs code from the files, so only for files you made yourself")
    migrate.add_argument("source", help="folder of old episode_*.npz files (left as it is)")
    migrate.add_argument("target", help="new folder for the rewritten episodes")
    migrate.add_argument("--allow-pickle", action="store_true",
                         help="required: confirms the files are your own (a pickle can run any code)")
    args = parser.parse_args(argv)
    if args.command == "inspect":
        return inspect_folder(args.directory, args.plot, verify_frames=not args.quick)
    if args.command == "migrate":
        from pokeil_jax.data.migrate import migrate_folder

        return migrate_folder(args.source, args.target, allow_pickle=args.allow_pickle)
    if args.command == "export-minari":
        from pokeil_jax.data import minari_io

        try:
            target = minari_io.export_minari(
                args.directory, args.dataset_id, author=args.author, author_email=args.author_email,
                description=args.description, code_permalink=args.code_permalink, rom_path=args.rom_path)
        except (EpisodeFormatError, minari_io.MinariError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"Minari dataset {args.dataset_id}: {target}\nload it with minari.load_dataset({args.dataset_id!r})")
        return 0
    try:
        start = time.perf_counter()
        demos = build_cache(episode_paths(args.directory), default_cache_dir(args.directory))
    except EpisodeFormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"cache ready: {demos.num_episodes} episodes, {demos.num_transitions:,} transitions in "
          f"{default_cache_dir(args.directory)} ({time.perf_counter() - start:.1f} s)")
    return 0
