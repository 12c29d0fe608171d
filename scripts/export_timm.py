#!/usr/bin/env python3
"""Export a timm model to DIR/model.safetensors + DIR/config.json.

    python scripts/export_timm.py MODEL_NAME --out DIR [--pretrained]
        [--checkpoint FILE] [--model-args JSON] [--dtype f32|f16|bf16]
        [--expected [--expected-size H W] [--seed N]]

model.safetensors holds model.state_dict() with timm's keys; floating point
tensors are cast to --dtype, integer buffers (e.g. BatchNorm
num_batches_tracked, I64) are kept as they are.

config.json follows the layout of timm's Hugging Face hub config.json (it is
written by timm's own timm.models._hub.save_config_for_hf):
    {"architecture", "num_classes", "num_features", ["global_pool"],
     ["model_args" (only if --model-args is given)], "pretrained_cfg": {...}}
pretrained_cfg comes from model.pretrained_cfg with source fields (url,
hf_hub_id, ...) removed. Two fields are corrected so that they describe the
exported weights rather than the original pretrained checkpoint:
"num_classes" is set to the model's head size, and "input_size" follows an
"img_size" / "in_chans" given in --model-args.

--expected additionally writes DIR/expected.safetensors with "input"
(2, C, H, W float32, torch.randn with --seed) and "logits" (2, num_classes
float32): the stored tensors are read back from model.safetensors, upcast to
float32 and loaded into a fresh float32 model, so the logits are those of the
weights exactly as stored (after f16/bf16 rounding).
"""
import argparse
import json
import os
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

import timm
from timm.models._hub import save_config_for_hf

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def create(name, model_args, pretrained=False, checkpoint=None):
    kwargs = dict(model_args)
    if checkpoint:
        kwargs["checkpoint_path"] = checkpoint
    model = timm.create_model(name, pretrained=pretrained, **kwargs)
    return model.eval()


def export_state_dict(model, dtype):
    out = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        if v.is_floating_point():
            v = v.to(dtype)
        out[k] = v.clone().contiguous()  # clone: safetensors refuses shared storage
    return out


def fixed_pretrained_cfg(model, model_args):
    cfg = dict(model.pretrained_cfg)
    cfg["num_classes"] = model.num_classes
    if "input_size" in cfg and ("img_size" in model_args or "in_chans" in model_args):
        c, h, w = cfg["input_size"]
        c = model_args.get("in_chans", c)
        if "img_size" in model_args:
            s = model_args["img_size"]
            h, w = (s, s) if isinstance(s, int) else tuple(s)
        cfg["input_size"] = (c, h, w)
        cfg.pop("test_input_size", None)  # would refer to the original resolution
    return cfg


def write_expected(name, model_args, out_dir, size, seed):
    model = create(name, model_args)  # fresh float32 model, random init, replaced below
    stored = load_file(os.path.join(out_dir, "model.safetensors"))
    ref = model.state_dict()
    sd = {k: (v.to(torch.float32) if v.is_floating_point() else v) for k, v in stored.items()}
    assert set(sd) == set(ref), "stored keys differ from the model's state_dict keys"
    model.load_state_dict(sd, strict=True)
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((2, *size), generator=gen, dtype=torch.float32)
    with torch.no_grad():
        logits = model(x).to(torch.float32)
    save_file({"input": x.contiguous(), "logits": logits.contiguous()},
              os.path.join(out_dir, "expected.safetensors"))
    return x, logits


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_name")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--pretrained", action="store_true", help="load timm's pretrained weights")
    p.add_argument("--checkpoint", help="checkpoint file (.pth/.safetensors) loaded with timm")
    p.add_argument("--model-args", default=None, help="JSON dict of kwargs for timm.create_model")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    p.add_argument("--expected", action="store_true", help="also write expected.safetensors")
    p.add_argument("--expected-size", type=int, nargs=2, metavar=("H", "W"),
                   help="spatial size of the expected input (default: pretrained_cfg input_size)")
    p.add_argument("--seed", type=int, default=0, help="seed for the expected input")
    args = p.parse_args()

    model_args = json.loads(args.model_args) if args.model_args else {}
    if not isinstance(model_args, dict):
        p.error("--model-args must be a JSON object")
    model = create(args.model_name, model_args, args.pretrained, args.checkpoint)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state = export_state_dict(model, DTYPES[args.dtype])
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})

    model.pretrained_cfg = fixed_pretrained_cfg(model, model_args)
    save_config_for_hf(model, out / "config.json", model_args=model_args or None)

    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.model_name}: {n_params} params, {len(state)} tensors, dtype {args.dtype} -> {out}")

    if args.expected:
        c, h, w = model.pretrained_cfg["input_size"]
        if args.expected_size:
            h, w = args.expected_size
        x, logits = write_expected(args.model_name, model_args, str(out), (c, h, w), args.seed)
        print(f"expected: input {tuple(x.shape)} logits {tuple(logits.shape)}")


if __name__ == "__main__":
    main()
