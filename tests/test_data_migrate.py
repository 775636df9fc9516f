"""python -m pokeil_jax.data migrate (pokeil_jax/data/migrate.py): episodes that the seed plan's
collector loop saved with `infos` as a list of dicts (a pickled object array) are refused by every
loader, whose error names migrate; migrate refuses without --allow-pickle and otherwise rewrites
them, after a warning, into files inspect accepts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from plan_collector import collect_like_the_plan
from pokeil_jax import data

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plan_folder_with_infos(tmp_path_factory):
    return collect_like_the_plan(tmp_path_factory.mktemp("plan_infos") / "expert_data", num_episodes=2,
                                 max_steps=6, with_infos=True)


def run_data_cli(*argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pokeil_jax.data", *map(str, argv)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_pickled_infos_are_refused_and_the_error_names_migrate(plan_folder_with_infos):
    with pytest.raises(data.EpisodeFormatError, match="migrate --allow-pickle"):
        data.load_episode(plan_folder_with_infos / "episode_0000.npz")
    out = run_data_cli("inspect", plan_folder_with_infos)
    assert out.returncode == 1 and "migrate --allow-pickle" in out.stderr and "Traceback" not in out.stderr


def test_migrate_refuses_without_allow_pickle_and_writes_nothing(plan_folder_with_infos, tmp_path):
    out = run_data_cli("migrate", plan_folder_with_infos, tmp_path / "new")
    assert out.returncode == 1 and "--allow-pickle" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "new").exists()


def test_migrate_rewrites_pickled_infos_into_files_inspect_accepts(plan_folder_with_infos, tmp_path):
    new = tmp_path / "new"
    out = run_data_cli("migrate", "--allow-pickle", plan_folder_with_infos, new)
    assert out.returncode == 0, out.stderr
    assert "WARNING" in out.stderr and "runs code" in out.stderr
    assert sorted(p.name for p in new.glob("*.npz")) == ["episode_0000.npz", "episode_0001.npz"]
    with np.load(new / "episode_0000.npz", allow_pickle=False) as npz:  # no pickle left anywhere
        assert not any(npz[k].dtype.hasobject for k in npz.files)
    episode = data.load_episode(new / "episode_0000.npz")
    infos = [json.loads(text) for text in episode["infos"]]
    assert len(infos) == 6 and all(set(i["milestones"]) >= {"LEFT_HOUSE", "WON_BATTLE"} for i in infos)
    assert [i["step"] for i in infos] == [1, 2, 3, 4, 5, 6]
    inspected = run_data_cli("inspect", new)
    assert inspected.returncode == 0, inspected.stderr
    assert "milestones reached (last info of 2/2 episodes)" in inspected.stdout
