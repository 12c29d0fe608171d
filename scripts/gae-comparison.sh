#!/usr/bin/env bash
# Regenerates the README's GAE comparison: every applicable relevancy method
# (`--methods all`: on VGG and ResNet also Zennit's standard composites, on the
# ViT attention rollout and transformer attribution) on each bundled
# Fashion-MNIST model, over the first N test images (default 512), batch 32,
# 10 masking steps, seed 0, consistent pairing. Results and pictures land in
# out/gae-comparison/MODEL/; the markdown table (sorted by GAE per model) and
# each model's run time are printed at the end.
#
#   bash scripts/gae-comparison.sh 512
#   MODELS=vit_fmnist bash scripts/gae-comparison.sh 512   # rerun one model; the table
#                                                           # still lists every model
#                                                           # found in out/gae-comparison
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-512}
ALL="vgg_fmnist resnet_fmnist vit_fmnist"
swift build -c release --product abslrp >/dev/null
for model in ${MODELS:-$ALL}; do
    .build/release/abslrp evaluate --model "$model" --dataset fashion-mnist-test --limit "$N" \
        --methods all --batch-size 32 --seed 0 --out "out/gae-comparison/$model"
done
python3 - "$N" $ALL <<'PY'
import json, os, sys
n, models = int(sys.argv[1]), sys.argv[2:]
print("| model | method | local consistency | contrastiveness | GAE |")
print("|---|---|---|---|---|")
times = []
for model in models:
    path = f"out/gae-comparison/{model}/results.json"
    if not os.path.exists(path):
        continue
    report = json.load(open(path))
    if report["settings"]["dataset_count"] != n:
        sys.exit(f"{path} is a run over {report['settings']['dataset_count']} images, not {n}: rerun MODELS={model}")
    times.append(f"{model} {report['throughput']['seconds']:.0f} s")
    rows = sorted(report["summary"], key=lambda s: -(s["gae"]["mean"] or 0))
    for s in rows:
        def cell(k):
            st = s[k]
            return f"{st['mean']:.4f} ± {(st['ci95_high'] - st['ci95_low']) / 2:.4f}"
        print(f"| {model} | {s['method']} | {cell('local_consistency')} | {cell('contrastiveness')} | {cell('gae')} |")
print()
print("run times: " + ", ".join(times))
PY
