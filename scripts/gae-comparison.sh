#!/usr/bin/env bash
# Regenerates the README's GAE comparison: every applicable relevancy method on
# each bundled Fashion-MNIST model, over the first N test images (default 512),
# batch 32, 10 masking steps, seed 0, consistent pairing. Results and pictures
# land in out/gae-comparison/MODEL/; the markdown table is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-512}
swift build -c release --product abslrp >/dev/null
for model in vgg_fmnist resnet_fmnist vit_fmnist; do
    .build/release/abslrp evaluate --model "$model" --dataset fashion-mnist-test --limit "$N" \
        --methods all --batch-size 32 --seed 0 --out "out/gae-comparison/$model"
done
python3 - "$N" <<'PY'
import json, sys
n = sys.argv[1]
print(f"| model | method | local consistency | contrastiveness | GAE |")
print("|---|---|---|---|---|")
for model in ["vgg_fmnist", "resnet_fmnist", "vit_fmnist"]:
    report = json.load(open(f"out/gae-comparison/{model}/results.json"))
    rows = sorted(report["summary"], key=lambda s: -(s["gae"]["mean"] or 0))
    for s in rows:
        def cell(k):
            st = s[k]
            return f"{st['mean']:.4f} ± {(st['ci95_high'] - st['ci95_low']) / 2:.4f}"
        print(f"| {model} | {s['method']} | {cell('local_consistency')} | {cell('contrastiveness')} | {cell('gae')} |")
PY
