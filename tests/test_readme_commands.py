"""The README's "Step by step" commands, run as written (relative paths, `.venv/bin/python`) in
a fresh folder; only sizes are shrunk, by flags appended after the README's own. Also: the
tensorboard tags the README lists are in the run's event file, `--eval-only` twice gives the
same report, and `--resume` of a finished run says what to do."""

import json
import os
import re
import shlex
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()

#: Appended to a README command (tyro and argparse take the last value of a repeated flag).
SMALL = {
    "collect_expert_data.py": "--num-episodes 3",
    "bc_pokemon_jax.py": ("--total-training-steps 20 --batch-size 8 --log-frequency 5 --eval-frequency 10 "
                          "--eval-episodes 1 --final-eval-episodes 2 --eval-max-steps 15 --eval-num-envs 1 "
                          "--save-frequency 10"),
}


def readme_steps() -> list[str]:
    """The commands of the README's "Step by step" block, comments stripped."""
    block = README.split("## Step by step", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [shlex.join(shlex.split(line, comments=True)) for line in block.strip().splitlines() if line.strip()]


def run(command: str, cwd: Path, extra: str = "", ok: bool = True) -> subprocess.CompletedProcess:
    """Run a README command with SMALL's flags, then `extra`, appended."""
    script = next((name for name in SMALL if name in command), None)
    if script and "--eval-only" not in command:
        command = f"{command} {SMALL[script]}"
    elif "--eval-only" in command:
        command = f"{command} --final-eval-episodes 2 --eval-max-steps 15 --eval-num-envs 1"
    command = f"{command} {extra}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SDL_VIDEODRIVER": "dummy"}
    result = subprocess.run(shlex.split(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if ok:
        assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
        assert "Traceback" not in result.stderr, command
    return result


def read_events(event_file: Path) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, scalar value)]} of a tensorboard event file (TFRecord: length, crc, Event
    proto, crc); image summaries (the GIF) are listed with the value NaN."""
    from tensorboardX.proto import event_pb2

    events, raw, offset = {}, event_file.read_bytes(), 0
    while offset < len(raw):
        (length,) = struct.unpack_from("<Q", raw, offset)
        event = event_pb2.Event.FromString(raw[offset + 12: offset + 12 + length])
        for value in event.summary.value:
            scalar = value.simple_value if value.WhichOneof("value") == "simple_value" else float("nan")
            events.setdefault(value.tag, []).append((event.step, scalar))
        offset += 12 + length + 4
    return events


@pytest.mark.slow
def test_readme_step_by_step_as_written(tmp_path):
    (tmp_path / ".venv").symlink_to(sys.prefix)  # this interpreter's virtual environment
    for name in ("collect_expert_data.py", "bc_pokemon_jax.py"):
        (tmp_path / name).symlink_to(REPO / name)
    steps = readme_steps()
    collect, inspect, train = (next(s for s in steps if key in s) for key in
                               ("collect_expert_data.py", "pokeil_jax.data inspect", "--total-training-steps"))
    eval_only = next(s for s in steps if "--eval-only" in s)
    resume = next(s for s in steps if "--resume" in s)

    run(collect, tmp_path)
    assert "3 episodes" in run(inspect, tmp_path).stdout
    run(train, tmp_path)
    (run_dir,) = (tmp_path / "checkpoints").iterdir()

    # The tags the README's Logs paragraph names, read back from the run's event file.
    logs = README.split("**Logs**", 1)[1].split("\n- ", 1)[0]
    listed = [t for t in re.findall(r"`([a-z]+/[A-Za-z_*]+)`", logs)]
    (event_file,) = (tmp_path / "runs" / run_dir.name).glob("events.out.tfevents.*")
    events = read_events(event_file)
    written = set(events)
    assert len(listed) >= 8
    for tag in listed:
        if tag.endswith("*"):
            assert any(t.startswith(tag[:-1]) for t in written), tag
        else:
            assert tag in written, (tag, sorted(written))
    assert "eval/episode" in written  # the GIF

    # best/ holds the step whose evaluation ranked first (completion, then return; ties: the older).
    evaluations = {step: (value, dict(events["eval/episodic_return"])[step]) for step, value in events["eval/milestone_completion"]}
    assert sorted(evaluations) == [10, 20]
    best_step = max(sorted(evaluations), key=lambda step: (evaluations[step], -step))
    assert [p.name for p in (run_dir / "best").iterdir() if p.is_dir()] == [str(best_step)]

    # --eval-only with the relative path the README shows, twice: the same report.
    command = eval_only.replace("<run>", run_dir.name)
    reports = []
    for _ in range(2):
        run(command, tmp_path)
        reports.append(json.loads((run_dir / "best" / "eval_report.json").read_text()))
    assert reports[0] == reports[1]
    assert reports[0]["BC policy"]["seeds"] == [1000, 1001]

    # --resume continues the run to a larger step count; resuming a finished run says so.
    run(resume, tmp_path, extra="--total-training-steps 30 --kernels xla")
    assert sorted(int(p.name) for p in (run_dir / "final").iterdir()) == [30]
    again = run(resume, tmp_path, extra="--total-training-steps 30", ok=False)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "already finished" in again.stderr and "--total-training-steps" in again.stderr
