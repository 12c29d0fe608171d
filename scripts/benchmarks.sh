#!/usr/bin/env bash
# Runs `abslrp bench --json` for resnet50, vgg16 and vit_base_patch16_224 at
# batch 1 and 4 (random weights, release build) and prints the markdown table
# of docs/benchmarks.md. JSON reports land in out/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
ITERATIONS=${ITERATIONS:-3}
swift build -c release --product abslrp >/dev/null
mkdir -p out/bench
for model in resnet50 vgg16 vit_base_patch16_224; do
    for batch in 1 4; do
        .build/release/abslrp bench --model "$model" --batch "$batch" --iterations "$ITERATIONS" --json \
            > "out/bench/$model-b$batch.json" 2>/dev/null
    done
done
python3 - <<'PY'
import json
print("| model | batch | forward s/image | absLRP s/image | limit s/image | fraction of limit | peak sgemm GFLOP/s | peak RSS GB | kernels |")
print("|---|---|---|---|---|---|---|---|---|")
for model in ["resnet50", "vgg16", "vit_base_patch16_224"]:
    for batch in [1, 4]:
        r = json.load(open(f"out/bench/{model}-b{batch}.json"))
        print(f"| {model} | {batch} | {r['forwardSecondsPerImage']:.3f} | {r['relevanceSecondsPerImage']:.3f} | "
              f"{r['limitSecondsPerImage']:.3f} | {100 * r['fractionOfLimit']:.0f}% | {r['peakSgemmGFLOPS']:.0f} | "
              f"{r['peakResidentBytes'] / 1e9:.2f} | {r['blasKernel']} |")
PY
