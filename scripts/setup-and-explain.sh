#!/usr/bin/env bash
# A fresh machine to heatmaps in one command: installs what is missing, builds
# the release `abslrp`, and explains the bundled Fashion-MNIST samples with the
# bundled Vision Transformer. Pictures land in out/explain/. Puts `abslrp` on
# PATH as a link in /usr/local/bin (or says which folder to add when that is
# not writable).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh
swift build -c release --product abslrp
bin=/usr/local/bin
if [ -w "$bin" ]; then
    ln -sf "$PWD/.build/release/abslrp" "$bin/abslrp"
    echo "abslrp: $bin/abslrp -> $PWD/.build/release/abslrp"
else
    echo "abslrp: $bin is not writable; add $PWD/.build/release to PATH"
fi
.build/release/abslrp explain Samples/*.png --out out/explain --save-relevance out/explain/relevance.safetensors
