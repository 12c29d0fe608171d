#!/usr/bin/env bash
# Regenerates the README's pictures with the commands the README documents:
# a heatmap figure from `abslrp explain` (title line, colour bar) and the GAE
# summary chart from `abslrp evaluate`. Run after the bundled weights change.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product abslrp
abslrp=.build/release/abslrp
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$abslrp" explain Samples/07_sneaker.png --out "$out/explain"
cp "$out"/explain/07_sneaker.*.png docs/images/explain-sneaker.png  # named image.model.method.class<k>.png
"$abslrp" evaluate --dataset fashion-mnist-test --limit 512 --methods abslrp,integrated-gradients,gradient,random \
    --out "$out/evaluate"
cp "$out/evaluate/gae_summary.svg" docs/images/gae-summary.svg
cp "$out/evaluate/gae_summary.png" docs/images/gae-summary.png
echo "wrote docs/images/explain-sneaker.png, docs/images/gae-summary.svg and .png"
