#!/usr/bin/env bash
# Regenerates the README's pictures with the commands the README documents:
# the first picture (four samples explained by the bundled ViT, `abslrp
# explain` figures tiled 2x2), a heatmap figure (title line, colour bar) and
# the GAE summary chart from `abslrp evaluate`. Run after the bundled weights
# change. Tiling needs ImageMagick's `convert` (Debian `imagemagick`; dev-only,
# the package and its tests never need it).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v convert >/dev/null || { echo "readme-figures.sh: needs ImageMagick's convert (apt-get install imagemagick)" >&2; exit 1; }
swift build -c release --product abslrp
abslrp=.build/release/abslrp
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$abslrp" explain Samples/00_tshirt.png Samples/01_trouser.png Samples/05_sandal.png Samples/07_sneaker.png \
    --out "$out/explain"
e="$out/explain"  # pictures are named image.model.method.class<k>.png
convert -background white \( "$e"/00_tshirt.*.png "$e"/01_trouser.*.png +append \) \
    \( "$e"/05_sandal.*.png "$e"/07_sneaker.*.png +append \) -append +repage -strip docs/images/explain-example.png
cp "$e"/07_sneaker.*.png docs/images/explain-sneaker.png
"$abslrp" evaluate --dataset fashion-mnist-test --limit 512 --methods abslrp,integrated-gradients,gradient,random \
    --out "$out/evaluate"
cp "$out/evaluate/gae_summary.svg" docs/images/gae-summary.svg
cp "$out/evaluate/gae_summary.png" docs/images/gae-summary.png
echo "wrote docs/images/explain-example.png, explain-sneaker.png, gae-summary.svg and .png"
