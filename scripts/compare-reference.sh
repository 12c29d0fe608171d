#!/usr/bin/env bash
# Speed and memory of the PyTorch reference and of `abslrp`, side by side,
# measured alternately in one invocation on the same weights and inputs, and
# written into docs/benchmarks.md (the section between the compare-reference
# markers). Dev-only: nothing in the package, its tests or CI runs it.
#
#   REFERENCE=DIR bash scripts/compare-reference.sh [REFERENCE_DIR]
#
# REFERENCE_DIR (argument or $REFERENCE): a checkout of
#   davor10105/relative-absolute-magnitude-propagation, or its git directory
#   (then HEAD is extracted with `git archive` into $WORK/reference).
# VENV: the PyTorch environment; made with ../shared/tools/pytorch-cpu-env.sh
#   (plus matplotlib, which the reference imports) when it does not exist.
#   Default .venv-torch.
# WORK: weights, inputs and reports (default out/compare-reference).
# ROUNDS (3), ITERATIONS (3): alternating rounds, timed runs per process.
# GAE_MODELS ("resnet50 vit_base_patch16_224"), GAE_IMAGES (32), GAE_BATCH
#   (16), GAE_VIT_IMAGES (32), GAE_VIT_BATCH (16): the GAE runs (10 masking
#   steps); MODELS, BATCHES: subsets (default all three, "4 1").
# Every measurement is appended to $WORK/measurements.jsonl as it is made;
# the tables are rendered from it (so a second invocation with the same
# WORK adds rows; remove the file to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
REFERENCE=${1:-${REFERENCE:-}}
[ -n "$REFERENCE" ] || { echo "usage: $0 REFERENCE_DIR (a checkout or git directory of the reference)" >&2; exit 2; }
VENV=${VENV:-.venv-torch}
WORK=${WORK:-out/compare-reference}
ENV_SCRIPT=${PYTORCH_ENV_SCRIPT:-../shared/tools/pytorch-cpu-env.sh}
mkdir -p "$WORK"

if [ ! -x "$VENV/bin/python" ]; then
    [ -f "$ENV_SCRIPT" ] || { echo "no $VENV and no $ENV_SCRIPT to make it" >&2; exit 1; }
    bash "$ENV_SCRIPT" "$VENV"
fi
"$VENV/bin/python" -c "import matplotlib" 2>/dev/null || "$VENV/bin/pip" install -q matplotlib

if [ -d "$REFERENCE/abslrp_gae" ]; then
    REFERENCE_CHECKOUT=$REFERENCE
elif git --git-dir="$REFERENCE" rev-parse HEAD >/dev/null 2>&1; then
    REFERENCE_CHECKOUT=$WORK/reference
    rm -rf "$REFERENCE_CHECKOUT" && mkdir -p "$REFERENCE_CHECKOUT"
    git --git-dir="$REFERENCE" archive HEAD | tar -x -C "$REFERENCE_CHECKOUT"
else
    echo "$REFERENCE is neither a checkout (with abslrp_gae/) nor a git directory" >&2; exit 1
fi

swift build -c release --product abslrp >/dev/null
PYTHONPATH="$(cd "$REFERENCE_CHECKOUT" && pwd)" "$VENV/bin/python" scripts/compare_reference.py run \
    --abslrp .build/release/abslrp --work "$WORK" --markdown docs/benchmarks.md \
    --rounds "${ROUNDS:-3}" --iterations "${ITERATIONS:-3}" \
    --models ${MODELS:-resnet50 vgg16 vit_base_patch16_224} --batches ${BATCHES:-4 1} \
    --gae-models ${GAE_MODELS:-resnet50 vit_base_patch16_224} --gae-batch "${GAE_BATCH:-16}" --gae-images "${GAE_IMAGES:-32}" --gae-vit-images "${GAE_VIT_IMAGES:-32}" --gae-vit-batch "${GAE_VIT_BATCH:-16}"
