#!/usr/bin/env bash
# Regenerate the export test fixtures in Tests/Fixtures/export/ with
# scripts/export_timm.py (needs python with torch + timm 1.0.11 + safetensors,
# e.g. `. /work/.venv-torch/bin/activate`; override with PYTHON=...).
#
# Each fixture starts from timm's random init with the given model args; the
# normalisation parameters (BatchNorm / LayerNorm affine + running stats), the
# biases and the ViT cls_token / pos_embed are then randomised with a fixed
# seed so that no layer is an identity (timm zero-inits the last BN of every
# ResNet block and all biases). That state dict is passed to export_timm.py as
# --checkpoint. Output per fixture: model.safetensors, config.json,
# expected.safetensors (input (2,C,H,W) f32, logits (2,num_classes) f32,
# computed in float32 from the weights as stored).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
PYTHON=${PYTHON:-python}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/Tests/Fixtures/export}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# make_checkpoint MODEL_NAME MODEL_ARGS_JSON OUT_FILE SEED
make_checkpoint() {
    "$PYTHON" - "$@" <<'EOF'
import json, sys, torch, timm
name, margs, out, seed = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4])
torch.manual_seed(seed)
model = timm.create_model(name, **margs)
g = torch.Generator().manual_seed(seed)
sd = {}
for k, v in model.state_dict().items():
    v = v.clone()
    if v.is_floating_point():
        leaf = k.rsplit(".", 1)[-1]
        if leaf == "running_mean":
            v = 0.1 * torch.randn(v.shape, generator=g)
        elif leaf == "running_var":
            v = 0.5 + torch.rand(v.shape, generator=g)
        elif leaf == "weight" and v.ndim == 1:   # BN / LN scale
            v = 1.0 + 0.2 * torch.randn(v.shape, generator=g)
        elif leaf == "bias":
            v = 0.05 * torch.randn(v.shape, generator=g)
        elif k in ("cls_token", "pos_embed"):
            v = 0.1 * torch.randn(v.shape, generator=g)
    sd[k] = v
torch.save(sd, out)
EOF
}

# ViT: vit_tiny_patch16_224 shrunk to 32x32 input, 8x8 patches, 2 blocks, 10
# classes. embed_dim is lowered from 192 to 96 (num_heads stays 3, head_dim 32)
# so the f16 folder stays under 1 MB (at 192 the 2 blocks alone are ~1.8 MB).
VIT_ARGS='{"img_size": 32, "patch_size": 8, "depth": 2, "num_classes": 10, "embed_dim": 96}'
make_checkpoint vit_tiny_patch16_224 "$VIT_ARGS" "$TMP/vit.pth" 1
"$PYTHON" "$ROOT/scripts/export_timm.py" vit_tiny_patch16_224 --out "$OUT/vit_tiny_small" \
    --model-args "$VIT_ARGS" --dtype f16 --checkpoint "$TMP/vit.pth" --expected --seed 0

# ResNet-18 with stage widths 8/16/32/64 (timm's ResNet takes `channels`),
# 10 classes, bf16. The expected input is 2x3x64x64 (not the cfg's 224x224) to
# keep the folder small; ResNet is input-size agnostic.
RN_ARGS='{"num_classes": 10, "channels": [8, 16, 32, 64]}'
make_checkpoint resnet18 "$RN_ARGS" "$TMP/resnet.pth" 2
"$PYTHON" "$ROOT/scripts/export_timm.py" resnet18 --out "$OUT/resnet18_small" \
    --model-args "$RN_ARGS" --dtype bf16 --checkpoint "$TMP/resnet.pth" --expected --expected-size 64 64 --seed 0

du -sh "$OUT"/*
