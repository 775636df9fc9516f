#!/usr/bin/env bash
# The main job, end to end on the bundled MiniMon game:
#   1. collect demonstrations with the scripted planner (tops up expert_data/ to DEMO_EPISODES),
#   2. train the BC policy (bc_pokemon_jax.py), evaluating in the env on the way,
#   3. judge the policy and the expert on the same unseen seeds and print the table.
# Environment overrides: DEMO_EPISODES, DEMO_STEPS, DEMO_EVAL_EPISODES, DEMO_DATA.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export SDL_VIDEODRIVER=${SDL_VIDEODRIVER:-dummy}
DATA=${DEMO_DATA:-expert_data}
EPISODES=${DEMO_EPISODES:-40}
STEPS=${DEMO_STEPS:-1200}
DAGGER_ROUNDS=${DEMO_DAGGER_ROUNDS:-3}
EVAL_EPISODES=${DEMO_EVAL_EPISODES:-50}

echo "== 1/3 expert demonstrations: $EPISODES episodes of the scripted planner in $DATA/"
$PY collect_expert_data.py --expert scripted --num-episodes "$EPISODES" --top-up \
    --num-workers 2 --expert-data-dir "$DATA"
$PY -m pokeil_jax.data inspect "$DATA"

echo "== 2/3 behavioral cloning: $STEPS steps with $DAGGER_ROUNDS DAgger rounds (then 3/3: evaluation on $EVAL_EPISODES unseen seeds)"
$PY bc_pokemon_jax.py --exp-name demo --expert-data-dir "$DATA" \
    --total-training-steps "$STEPS" --learning-rate 5e-4 --eval-frequency 0 \
    --dagger-rounds "$DAGGER_ROUNDS" --dagger-episodes 10 \
    --final-eval-episodes "$EVAL_EPISODES" --eval-max-steps 300
