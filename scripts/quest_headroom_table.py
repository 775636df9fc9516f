"""One markdown table from the quest demo's two final_eval.json reports: expert, BC alone and
BC + DAgger, per milestone (completion rate, mean steps to it) on the same seeds.

    python scripts/quest_headroom_table.py runs/demo_quest_bc__.../final_eval.json runs/demo_quest_dagger__.../final_eval.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pokeil_jax import evaluate


def load(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        sys.exit(f"cannot read the eval report {path}: {error}; run scripts/demo_quest.sh first")


def budget(run_args: dict) -> str:
    """What a run trained: its steps, where it started, its DAgger rounds."""
    text = f"{run_args.get('total_training_steps', '?')} steps"
    if run_args.get("init_checkpoint"):
        text += f" from {run_args['init_checkpoint']}"
    if run_args.get("anneal_lr"):
        text += ", learning rate annealed to 0"
    if run_args.get("dagger_rounds"):
        text += (f", {run_args['dagger_rounds']} DAgger rounds of {run_args.get('dagger_episodes', '?')} "
                 f"learner episodes (beta {run_args.get('dagger_beta', '?')})")
    return text


def unfinished_ends(report: dict) -> str:
    """Where the episodes that missed a milestone ended, by map: 'MAZE 5 (4 standing still), ...'."""
    ends = evaluate.unfinished_ends(report.get("milestones_reached", []), report.get("end_states", []))
    return ", ".join(f"{m} {n}" + (f" ({s} standing still)" if s else "") for m, n, s in ends) or "none"


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    bc, dagger = load(sys.argv[1]), load(sys.argv[2])
    expert = next((v for k, v in bc.items() if k.startswith("expert")), None)
    if expert is None or "BC policy" not in bc or "BC policy" not in dagger:
        sys.exit(f"{sys.argv[1]} needs an expert and a BC policy report, {sys.argv[2]} a BC policy report")
    columns = {"expert": expert, "BC": bc["BC policy"], "BC + DAgger": dagger["BC policy"]}
    if columns["BC"]["seeds"] != columns["BC + DAgger"]["seeds"]:
        sys.exit("the two runs were judged on different seeds; rerun with the same --eval-seeds")
    names = expert["milestone_names"]
    ex = expert["milestone_completion_rate"]
    print(f"{len(expert['seeds'])} unseen seeds; milestone completion: " + ", ".join(
        f"{k} {v['milestone_completion_rate']:.1%} ({v['milestone_completion_rate'] / ex:.0%} of the expert)"
        for k, v in columns.items()))
    print(f"budgets: BC {budget(bc.get('args', {}))}; BC + DAgger {budget(dagger.get('args', {}))}")
    stall = bc.get("args", {}).get("eval_stall_steps")
    if stall:
        print(f"episodes ended after {stall} steps without a new milestone (scored with what they reached): "
              + ", ".join(f"{k} {sum(v.get('stalled', []))}" for k, v in columns.items()))
    if any(v.get("end_states") for v in columns.values()):
        print("where the episodes that missed a milestone ended (standing still: on one tile for their last "
              f"{evaluate.STILL_STEPS} steps or more, e.g. walking into a wall):")
        for k, v in columns.items():
            print(f"  {k}: {unfinished_ends(v)}")
    print()
    print("| milestone | " + " | ".join(f"{k} reached / steps" for k in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name in names:
        cells = []
        for report in columns.values():
            steps = report.get("steps_to_milestone", {}).get(name)
            cells.append(f"{report['per_milestone_rates'][name]:.0%} / {'-' if steps is None else f'{steps:.0f}'}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
