#!/usr/bin/env bash
# The headroom measurement on MiniMon Quest (pokeil/MiniMonQuest-v0), end to end:
#   1. collect demonstrations with the quest's scripted planner (tops up $DATA to DEMO_EPISODES),
#   2. train BC alone, then BC + online DAgger from BC's network (the BC policy plays DAgger's first
#      round, as in Ross et al.: DAgger's first policy is trained on the demonstrations),
#   3. judge the expert, BC and BC + DAgger on the same unseen seeds and print one table per
#      milestone: completion rate and steps to the milestone (scripts/quest_headroom_table.py).
# Environment overrides: DEMO_EPISODES, DEMO_STEPS (BC's steps), DEMO_DAGGER_STEPS (DAgger's steps after
# BC's; 2000), DEMO_DAGGER_ROUNDS (4), DEMO_DAGGER_EPISODES (learner episodes per round, 12), DEMO_DAGGER_BETA (the
# share of the expert's own actions in round 1, squared in round 2...; 0 by default: the BC learner
# drives, the expert only labels, and takes over where the learner is stuck), DEMO_DAGGER_TAKEOVER,
# DEMO_DAGGER_FOCUS (the share of each batch drawn from the learner's mistakes, 0.25; 0: uniform),
# DEMO_DAGGER_ANNEAL (1, the default: DAgger's learning rate falls linearly to 0 over its steps,
# --anneal-lr; 0: constant, as BC's),
# DEMO_EVAL_EPISODES, DEMO_MAX_STEPS, DEMO_DATA, DEMO_EVAL_GREEDY (1: argmax actions, the default;
# 0: actions sampled from the policy's softmax, in the evaluations and in DAgger's learner episodes
# (--dagger-sample-learner), which escapes the loops a greedy policy falls into and is slower, since
# no episode ends early in a loop), DEMO_ESCAPE_LOOPS (with greedy actions: when a screen comes back
# in an episode, the next N actions are sampled from the policy's softmax, then argmax again; 8 by
# default, 0 for pure argmax, which ends looping episodes early), DEMO_EVAL_STALL (an evaluation
# episode with no new milestone in that many steps ends there, scored with what it reached; 700 by
# default, above the expert's longest gap between two milestones (635 steps on the eval seeds);
# 0: every episode runs to DEMO_MAX_STEPS).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export SDL_VIDEODRIVER=${SDL_VIDEODRIVER:-dummy}
ENV_ID=pokeil/MiniMonQuest-v0
DATA=${DEMO_DATA:-expert_data_quest}
EPISODES=${DEMO_EPISODES:-30}
STEPS=${DEMO_STEPS:-2000}
DAGGER_STEPS=${DEMO_DAGGER_STEPS:-2000}
DAGGER_ROUNDS=${DEMO_DAGGER_ROUNDS:-4}
DAGGER_EPISODES=${DEMO_DAGGER_EPISODES:-12}
DAGGER_BETA=${DEMO_DAGGER_BETA:-0}
DAGGER_TAKEOVER=${DEMO_DAGGER_TAKEOVER:-2}
DAGGER_FOCUS=${DEMO_DAGGER_FOCUS:-0.25}
DAGGER_ANNEAL=${DEMO_DAGGER_ANNEAL:-1}
EVAL_EPISODES=${DEMO_EVAL_EPISODES:-50}
MAX_STEPS=${DEMO_MAX_STEPS:-1500}
ESCAPE=${DEMO_ESCAPE_LOOPS:-8}
STALL=${DEMO_EVAL_STALL:-700}
for name in EPISODES STEPS DAGGER_STEPS DAGGER_ROUNDS DAGGER_EPISODES EVAL_EPISODES MAX_STEPS; do
  case "${!name}" in
    ''|*[!0-9]*|0) echo "DEMO_${name} must be a whole number >= 1, got '${!name}'" >&2; exit 2 ;;
  esac
done
if ! [[ "$DAGGER_BETA" =~ ^(0(\.[0-9]+)?|\.[0-9]+|1(\.0*)?)$ ]]; then
  echo "DEMO_DAGGER_BETA must be a probability in [0, 1], e.g. 0.5 (0: the learner drives), got '${DAGGER_BETA}'" >&2; exit 2
fi
if ! [[ "$DAGGER_FOCUS" =~ ^(0(\.[0-9]+)?|\.[0-9]+)$ ]]; then
  echo "DEMO_DAGGER_FOCUS must be a share of the batch in [0, 1), e.g. 0.25 (0: uniform batches), got '${DAGGER_FOCUS}'" >&2; exit 2
fi
case "$DAGGER_ANNEAL" in
  1) ANNEAL=(--anneal-lr); ANNEAL_WORD="learning rate annealed to 0" ;;
  0) ANNEAL=(); ANNEAL_WORD="constant learning rate" ;;
  *) echo "DEMO_DAGGER_ANNEAL must be 1 (learning rate annealed to 0 over DAgger's steps) or 0 (constant), got '${DAGGER_ANNEAL}'" >&2; exit 2 ;;
esac
case "$STALL" in
  ''|*[!0-9]*) echo "DEMO_EVAL_STALL must be a whole number of steps without a new milestone (0: off), got '${STALL}'" >&2; exit 2 ;;
esac
case "$ESCAPE" in
  ''|*[!0-9]*) echo "DEMO_ESCAPE_LOOPS must be a whole number of sampled steps (0: pure argmax), got '${ESCAPE}'" >&2; exit 2 ;;
esac
case "${DEMO_EVAL_GREEDY:-1}" in
  1) EVAL_MODE=(--eval-greedy --eval-escape-loops "$ESCAPE"); DAGGER_MODE=()
     if [ "$ESCAPE" = 0 ]; then EVAL_WORD=greedy; else EVAL_WORD="greedy, $ESCAPE sampled steps where a screen comes back"; fi ;;
  0) EVAL_MODE=(--no-eval-greedy); DAGGER_MODE=(--dagger-sample-learner); EVAL_WORD="sampled from the policy" ;;
  *) echo "DEMO_EVAL_GREEDY must be 1 (argmax actions) or 0 (sampled actions), got '${DEMO_EVAL_GREEDY}'" >&2; exit 2 ;;
esac
COMMON=(--env-id "$ENV_ID" --expert-data-dir "$DATA" --learning-rate 5e-4
        --eval-frequency 0 --final-eval-episodes "$EVAL_EPISODES" --eval-max-steps "$MAX_STEPS" "${EVAL_MODE[@]}" --eval-stall-steps "$STALL"
        --eval-num-envs 8)  # a batch of 8 screens per forward: ~1.3x the steps/s of 4 on 2 cores (benchmarks/eval_speed.py)

echo "== 1/3 expert demonstrations: $EPISODES quest episodes of the scripted planner in $DATA/"
$PY collect_expert_data.py --env-id "$ENV_ID" --expert scripted --num-episodes "$EPISODES" --top-up \
    --num-workers 2 --expert-data-dir "$DATA"
$PY -m pokeil_jax.data inspect "$DATA"

echo "== 2/3 BC alone: $STEPS steps (the expert is judged on the same seeds)"
$PY bc_pokemon_jax.py --exp-name demo_quest_bc "${COMMON[@]}" --total-training-steps "$STEPS" --dagger-rounds 0
BC_RUN=$(ls -td checkpoints/demo_quest_bc__*/ 2>/dev/null | head -1 || true)
[ -n "$BC_RUN" ] || { echo "BC's run left no checkpoints/demo_quest_bc__*/ folder for DAgger to start from" >&2; exit 1; }

echo "== 2/3 BC + DAgger from ${BC_RUN}final: $DAGGER_ROUNDS rounds of $DAGGER_EPISODES learner episodes, the first before any step, $DAGGER_STEPS steps in all (beta $DAGGER_BETA, expert takeover after $DAGGER_TAKEOVER repeats, $DAGGER_FOCUS of each batch from the learner's mistakes, $ANNEAL_WORD)"
$PY bc_pokemon_jax.py --exp-name demo_quest_dagger "${COMMON[@]}" --total-training-steps "$DAGGER_STEPS" --compare-expert '' \
    --init-checkpoint "${BC_RUN}final" \
    --dagger-rounds "$DAGGER_ROUNDS" --dagger-episodes "$DAGGER_EPISODES" --dagger-beta "$DAGGER_BETA" \
    --dagger-max-steps "$MAX_STEPS" --dagger-takeover "$DAGGER_TAKEOVER" \
    --dagger-focus "$DAGGER_FOCUS" ${ANNEAL[@]+"${ANNEAL[@]}"} \
    ${DAGGER_MODE[@]+"${DAGGER_MODE[@]}"}

echo "== 3/3 expert vs BC vs BC + DAgger on $EVAL_EPISODES unseen seeds (policy actions $EVAL_WORD)"
$PY scripts/quest_headroom_table.py \
    "$(ls -td runs/demo_quest_bc__*/ | head -1)final_eval.json" \
    "$(ls -td runs/demo_quest_dagger__*/ | head -1)final_eval.json"
