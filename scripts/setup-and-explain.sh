#!/usr/bin/env bash
# A fresh machine to heatmaps in one command: installs what is missing, builds
# the release `abslrp`, and explains the bundled Fashion-MNIST samples with the
# bundled Vision Transformer. Pictures land in out/explain/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh
swift build -c release --product abslrp
.build/release/abslrp explain Samples/*.png --out out/explain --save-relevance out/explain/relevance.safetensors
