"""Tests for pokeil_jax/data/inspect.py: `python -m pokeil_jax.data inspect`, its table and plot."""

from __future__ import annotations

import json
import re

import numpy as np
from episode_factory import episode_with, make_episode, save_raw, write_folder

from pokeil_jax import data


def test_inspect_prints_the_numbers_and_saves_the_histogram(tmp_path, capsys):
    actions = [np.array([0] * 5 + [4] * 5, np.int32), np.array([0] * 2 + [7] * 8, np.int32),
               np.array([9] * 10, np.int32)]
    reached = [(True, False, False), (True, True, False), (False, False, False)]
    for i in range(3):
        episode = make_episode(10, seed=i + 40, actions=actions[i], reached=reached[i], terminated=i == 1)
        data.write_episode(tmp_path / f"episode_{i + 1:04d}.npz", episode)

    summary = data.summarize_episodes(data.episode_paths(tmp_path))
    assert summary["episodes"] == 3 and summary["transitions"] == 30
    np.testing.assert_array_equal(summary["action_counts"], [7, 0, 0, 0, 5, 0, 0, 8, 0, 10])
    assert summary["executed_action_counts"].sum() == 30
    assert summary["milestone_reached"] == {"got_starter": 2, "won_battle": 1, "reached_town": 0}
    assert sorted(summary["seeds"]) == [40, 41, 42] and summary["terminated"] == 1

    assert data.main(["inspect", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 valid episodes, 30 transitions" in out
    assert re.search(r"0 A +7  23.3% +\d+ +\d+.\d%\n", out)
    assert re.search(r"9 R +10  33.3% +\d+ +\d+.\d%\n", out)
    assert re.search(r"7 RIGHT +8  26.7%", out)
    assert re.search(r"got_starter +2/3 +66.7%", out)
    assert "seeds: 40-42 (3 distinct)" in out
    assert "completed (terminated): 1/3" in out
    png = tmp_path / "action_histogram.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000

    custom = tmp_path / "plots" / "actions.png"
    assert data.main(["inspect", str(tmp_path), "--plot", str(custom)]) == 0
    assert custom.exists()


def test_inspect_lists_every_bad_file_and_fails(tmp_path, capsys):
    write_folder(tmp_path, (10, 10))
    (tmp_path / "episode_0003.npz").write_text("garbage")
    save_raw(tmp_path / "episode_0004.npz", episode_with(actions=lambda e: e["actions"] + 20)())
    assert data.main(["inspect", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "2 valid episodes, 2 bad, 20 transitions" in captured.out
    assert "2 of 4 episode files are bad" in captured.err
    assert "episode_0003.npz: not an NPZ" in captured.err
    assert "episode_0004.npz: actions[0]" in captured.err


def test_inspect_reads_milestones_from_the_mask_when_no_dict(tmp_path):
    episode = make_episode(10)
    infos = list(episode["infos"])
    infos[-1] = json.dumps({"milestone_mask": 0b101})
    episode["infos"] = np.asarray(infos, dtype=np.str_)
    data.write_episode(tmp_path / "episode_0001.npz", episode)
    summary = data.summarize_episodes(data.episode_paths(tmp_path))
    assert summary["milestone_reached"] == {"got_starter": 1, "won_battle": 0, "reached_town": 1}
