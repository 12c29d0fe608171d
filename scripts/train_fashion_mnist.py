#!/usr/bin/env python3
"""Train the small Fashion-MNIST models shipped in Weights/
(Sources/AbsLRPCore/Resources/Weights, the package's resource).

Uses timm's own model classes (timm 1.0.11) and writes, per model,
Weights/NAME.safetensors (float32 state_dict, timm keys) and Weights/NAME.json
(the config read by the Swift side).

Usage:
    python scripts/train_fashion_mnist.py --model all
    python scripts/train_fashion_mnist.py --model vit --epochs 20

Preprocessing (train and test): uint8 / 255, then (x - 0.2860) / 0.3530,
1x28x28, no resize. Training additionally uses random horizontal flips and
random 28x28 crops from the image zero-padded by 2 pixels (padding applied in
[0, 1] pixel space, i.e. black). Evaluation uses exactly the preprocessing
above in float32.
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

import timm
from timm.models.resnet import BasicBlock, ResNet
from timm.models.vgg import VGG
from timm.models.vision_transformer import VisionTransformer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN = 0.2860
STD = 0.3530
LABEL_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SEED = 0

# Per-model definition: JSON model_args (what the Swift side reads), the
# training hyper-parameters and the default number of epochs.
MODELS = {
    "vgg": dict(
        name="vgg_fmnist",
        architecture="vgg",
        model_args={"cfg": [32, 32, "M", 64, 64, "M"], "mlp_ratio": 1 / 128,
                    "num_classes": 10, "in_chans": 1, "norm_layer": "batchnorm2d"},
        epochs=8, lr=2e-3, weight_decay=0.05, batch_size=128,
    ),
    "resnet": dict(
        name="resnet_fmnist",
        architecture="resnet",
        model_args={"block": "basic", "layers": [1, 1, 1, 1], "channels": [64, 64, 64, 64],
                    "output_stride": 8, "num_classes": 10, "in_chans": 1},
        epochs=8, lr=3e-3, weight_decay=0.05, batch_size=128,
    ),
    "vit": dict(
        name="vit_fmnist",
        architecture="vision_transformer",
        model_args={"img_size": 28, "patch_size": 4, "embed_dim": 64, "depth": 4,
                    "num_heads": 4, "mlp_ratio": 2.0, "num_classes": 10, "in_chans": 1},
        epochs=30, lr=2e-3, weight_decay=0.05, batch_size=128,
    ),
}


def build_model(key):
    a = dict(MODELS[key]["model_args"])
    if key == "vgg":
        norm = {"batchnorm2d": nn.BatchNorm2d, None: None}[a.pop("norm_layer", None)]
        return VGG(norm_layer=norm, **a)
    if key == "resnet":
        assert a.pop("block") == "basic"
        return ResNet(block=BasicBlock, **a)
    if key == "vit":
        return VisionTransformer(**a)
    raise ValueError(key)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    assert (magic >> 8) == 0x08, "expected unsigned byte IDX data"
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))


def preprocess(x_u8):
    """uint8 (N, 28, 28) -> normalized float32 (N, 1, 28, 28)."""
    x = x_u8.to(torch.float32).div_(255.0).unsqueeze(1)
    return (x - MEAN) / STD


def augment(x_u8, gen):
    """Random h-flip + random crop with 2px zero padding, then normalize."""
    n = x_u8.shape[0]
    x = x_u8.to(torch.float32).div_(255.0)
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None], x.flip(-1), x)
    pad = 2
    xp = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    ar = torch.arange(28)
    rows = (dy[:, None] + ar)[:, :, None]
    cols = (dx[:, None] + ar)[:, None, :]
    x = xp[torch.arange(n)[:, None, None], rows, cols]
    return ((x - MEAN) / STD).unsqueeze(1)


@torch.no_grad()
def evaluate(model, x_test, y_test, batch_size=1000):
    model.eval()
    correct = 0
    for i in range(0, x_test.shape[0], batch_size):
        logits = model(x_test[i:i + batch_size])
        correct += (logits.argmax(-1) == y_test[i:i + batch_size]).sum().item()
    return 100.0 * correct / x_test.shape[0]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def train(key, epochs, out_dir, data, init=None, lr=None):
    spec = dict(MODELS[key])
    epochs = epochs or spec["epochs"]
    spec["lr"] = lr or spec["lr"]
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    x_train, y_train, x_test, y_test = data

    model = build_model(key)
    if init:  # continue from earlier weights (a second, low-rate stage)
        from safetensors.torch import load_file
        model.load_state_dict(load_file(init))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"== {spec['name']}: {type(model).__name__} {spec['model_args']} params={n_params}", flush=True)

    bs = spec["batch_size"]
    steps_per_epoch = math.ceil(x_train.shape[0] / bs)
    # No weight decay on biases / norm params / embeddings (1-D or token tensors).
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or n in ("cls_token", "pos_embed") else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": spec["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=spec["lr"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=spec["lr"], total_steps=epochs * steps_per_epoch, pct_start=0.15,
        anneal_strategy="cos", div_factor=25.0, final_div_factor=1e3)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)

    t0, c0 = time.time(), time.process_time()
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(x_train.shape[0], generator=gen)
        total_loss, seen = 0.0, 0
        te = time.time()
        for i in range(0, x_train.shape[0], bs):
            idx = perm[i:i + bs]
            xb = augment(x_train[idx], gen)
            yb = y_train[idx]
            loss = criterion(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * idx.numel()
            seen += idx.numel()
        acc = evaluate(model, x_test, y_test)
        print(f"[{spec['name']}] epoch {epoch}/{epochs} train_loss={total_loss / seen:.4f} "
              f"test_acc={acc:.2f}% epoch_time={time.time() - te:.1f}s", flush=True)
    train_time, cpu_time = time.time() - t0, time.process_time() - c0

    model.eval()
    acc = evaluate(model, x_test, y_test)
    state = {k: v.detach().to(torch.float32).contiguous() if v.is_floating_point() else v.detach().contiguous()
             for k, v in model.state_dict().items()}
    os.makedirs(out_dir, exist_ok=True)
    st_path = os.path.join(out_dir, spec["name"] + ".safetensors")
    save_file(state, st_path)
    config = {
        "architecture": spec["architecture"],
        "model_args": spec["model_args"],
        "input_size": [1, 28, 28],
        "mean": [MEAN],
        "std": [STD],
        "crop_pct": 1.0,
        "interpolation": "bilinear",
        "label_names": LABEL_NAMES,
        "test_accuracy": round(acc, 2),
        "dataset": "fashion-mnist",
    }
    with open(os.path.join(out_dir, spec["name"] + ".json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    print(f"== {spec['name']} done: params={n_params} epochs={epochs} test_acc={acc:.2f}% "
          f"train_time={train_time:.0f}s (wall) cpu_time={cpu_time:.0f}s size={os.path.getsize(st_path)} sha256={sha256(st_path)}",
          flush=True)
    return acc


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["vgg", "resnet", "vit", "all"], default="all")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs (default per model: vgg %d, resnet %d, vit %d)" % tuple(
                       MODELS[k]["epochs"] for k in ("vgg", "resnet", "vit")))
    p.add_argument("--out", default=os.path.join(REPO, "Weights"))
    p.add_argument("--init", help="start from this safetensors state dict instead of timm's initialisation")
    p.add_argument("--lr", type=float, help="peak learning rate of the one-cycle schedule (default per model)")
    p.add_argument("--threads", type=int, default=2,
                   help="torch threads (1 is several times faster on a loaded machine: OpenMP barriers wait for descheduled threads)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__} timm {timm.__version__} threads={torch.get_num_threads()}", flush=True)
    x_train, y_train = load_split("train")
    x_test_u8, y_test = load_split("test")
    x_test = preprocess(x_test_u8)
    data = (x_train, y_train, x_test, y_test)
    keys = ["vgg", "resnet", "vit"] if args.model == "all" else [args.model]
    for k in keys:
        train(k, args.epochs, args.out, data, init=args.init, lr=args.lr)


if __name__ == "__main__":
    main()
