"""W&B tracking (pokeil_jax/tracking.py, bc_pokemon_jax.py --track), offline: the run folder holds
the args as config, the tensorboard scalars and the eval GIF; without wandb, one clear line."""

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK_EXTRAS = "import sys; sys.modules.update(wandb=None, minari=None, h5py=None); "


def wandb_records(run_file: Path):
    """The protobuf records of an offline run file (`run-*.wandb`): a 7-byte header, then
    LevelDB-log framing in 32 KiB blocks (crc32c, length, kind; kinds 1 whole, 2-4 pieces)."""
    from wandb.proto import wandb_internal_pb2

    raw, pos, pending = run_file.read_bytes(), 7, b""
    while pos + 7 <= len(raw):
        if 32768 - pos % 32768 < 7:  # block trailer too short for a header: padding
            pos += 32768 - pos % 32768
            continue
        _, length, kind = struct.unpack("<IHB", raw[pos:pos + 7])
        chunk, pos = raw[pos + 7:pos + 7 + length], pos + 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending + chunk)
            pending = b""
            yield record
        elif kind in (2, 3):
            pending += chunk


def run_script(argv, env_extra=None, prelude=""):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    code = prelude + "import sys, runpy; sys.argv = ['bc_pokemon_jax.py'] + sys.argv[1:]; " \
                     "runpy.run_path('bc_pokemon_jax.py', run_name='__main__')"
    return subprocess.run([sys.executable, "-c", code, *map(str, argv)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)


def tiny_run_args(tmp_path, data_dir, steps=4):
    return ["--expert-data-dir", data_dir, "--checkpoint-dir", tmp_path / "ck", "--log-dir", tmp_path / "runs",
            "--batch-size", 8, "--total-training-steps", steps, "--log-frequency", 2, "--save-frequency", 0,
            "--eval-frequency", 0, "--final-eval-episodes", 0, "--kernels", "xla"]


def test_track_without_wandb_is_one_clear_line(tmp_path, synthetic_demos):
    out = run_script(tiny_run_args(tmp_path, synthetic_demos) + ["--track"], prelude=BLOCK_EXTRAS)
    assert out.returncode == 1, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert "--track" in last and "wandb" in last and "requirements-extras.txt" in last


@pytest.mark.slow
def test_track_offline_run_folder_has_config_scalars_and_the_eval_video(tmp_path, synthetic_demos):
    pytest.importorskip("wandb")
    pytest.importorskip("tensorboard")
    env = {"WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true"}
    argv = tiny_run_args(tmp_path, synthetic_demos) + [
        "--track", "--wandb-project-name", "pokeil-test", "--final-eval-episodes", 1, "--eval-max-steps", 3,
        "--eval-num-envs", 1, "--compare-expert", ""]
    out = run_script(argv, env_extra=env)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    records = list(wandb_records(next(runs[0].glob("run-*.wandb"))))
    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    config = {item.key: json.loads(item.value_json) for item in run.config.update}
    assert run.project == "pokeil-test" and run.display_name.startswith("bc_pokemon_jax__")
    assert config["total_training_steps"] == 4 and config["track"] is True and config["batch_size"] == 8
    history = [{item.key or "/".join(item.nested_key): item.value_json for item in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    losses = {json.loads(h["global_step"]): json.loads(h["train/bc_loss"]) for h in history if "train/bc_loss" in h}
    assert sorted(losses) == [2, 4] and all(v > 0 for v in losses.values())
    assert any("eval/milestone_completion" in h for h in history)
    videos = [h for h in history if h.get("eval/episode/_type") == '"video-file"']
    assert len(videos) == 1 and (runs[0] / "files" / json.loads(videos[0]["eval/episode/path"])).is_file()


def test_track_without_a_wandb_login_is_one_clear_line(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    pytest.importorskip("tensorboard")
    from pokeil_jax.tracking import TrackingUnavailableError, WandbTracker

    for name in ("WANDB_MODE", "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc: not logged in
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    with pytest.raises(TrackingUnavailableError, match="wandb login.*WANDB_MODE=offline"):
        WandbTracker(tmp_path / "runs" / "r", "r", {"seed": 1}, project="p")
