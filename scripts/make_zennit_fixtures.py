#!/usr/bin/env python3
"""Golden fixtures for the Zennit composites: Zennit 0.5.1's own attributions
on the small timm fixture models of Tests/Fixtures/reference.

Dev-only (the Swift package and its tests never run Python). Needs the
PyTorch environment of ../shared/tools/pytorch-cpu-env.sh plus
`pip install zennit==0.5.1 safetensors` (timm 1.0.11):

    python scripts/make_zennit_fixtures.py [--out Tests/Fixtures/zennit]

For each of vgg_mini, vgg_bn_mini, resnet_basic_mini, resnet_bottleneck_mini
it builds the timm model from NAME.config.json, loads NAME.weights.safetensors
strictly, takes `input` and `target` from NAME.expected.safetensors and writes
NAME.zennit.safetensors with, per composite, `relevance.METHOD` (B, C, H, W):
the relevance at the input of Zennit's `Gradient` attributor under that
composite with `SequentialMergeBatchNorm`, starting from
`attr_output = onehot(target) * logits` (the explained logit, the Swift
methods' convention). Composites and settings are Zennit's defaults
(epsilon 1e-6, stabilizer 1e-6, gamma 0.25); EpsilonGammaBox's bounds are the
[0, 1] pixel range through the model's normalisation (timm's ImageNet
defaults, as the Swift configurations of these fixtures use):
low = (0 - mean) / std, high = (1 - mean) / std per channel.

The residual addition of timm's ResNet (`x += shortcut`) is a tensor
operation, not a module, so Zennit takes its gradient (relevance is copied
to both summands); no ResNet canonizer is applied.
"""
import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models.resnet import BasicBlock, Bottleneck, ResNet
from timm.models.vgg import VGG
from zennit.attribution import Gradient
from zennit.canonizers import SequentialMergeBatchNorm
from zennit.composites import (EpsilonAlpha2Beta1, EpsilonAlpha2Beta1Flat, EpsilonGammaBox, EpsilonPlus,
                               EpsilonPlusFlat)

FIXTURES = ["vgg_mini", "vgg_bn_mini", "resnet_basic_mini", "resnet_bottleneck_mini"]


def build(config):
    args = dict(config["model_args"])
    if config["architecture"] == "vgg":
        if args.pop("norm_layer", None):
            args["norm_layer"] = torch.nn.BatchNorm2d
        return VGG(**args)
    if config["architecture"] == "resnet":
        args["block"] = {"basic": BasicBlock, "bottleneck": Bottleneck}[args["block"]]
        return ResNet(**args)
    raise SystemExit(f"unsupported architecture {config['architecture']}")


def composites(x):
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN)[None, :, None, None]
    std = torch.tensor(IMAGENET_DEFAULT_STD)[None, :, None, None]
    low, high = ((0 - mean) / std).expand_as(x).clone(), ((1 - mean) / std).expand_as(x).clone()
    return {
        "lrp-epsilon-plus": lambda: EpsilonPlus(canonizers=[SequentialMergeBatchNorm()]),
        "lrp-epsilon-plus-flat": lambda: EpsilonPlusFlat(canonizers=[SequentialMergeBatchNorm()]),
        "lrp-epsilon-alpha2-beta1": lambda: EpsilonAlpha2Beta1(canonizers=[SequentialMergeBatchNorm()]),
        "lrp-epsilon-alpha2-beta1-flat": lambda: EpsilonAlpha2Beta1Flat(canonizers=[SequentialMergeBatchNorm()]),
        "lrp-epsilon-gamma-box": lambda: EpsilonGammaBox(low=low, high=high, canonizers=[SequentialMergeBatchNorm()]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures"
    parser.add_argument("--out", type=Path, default=root / "zennit")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_grad_enabled(True)
    for name in FIXTURES:
        reference = root / "reference"
        config = json.loads((reference / f"{name}.config.json").read_text())
        model = build(config).eval()
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in load_file(reference / f"{name}.weights.safetensors").items()}, strict=True)
        expected = load_file(reference / f"{name}.expected.safetensors")
        x, target = expected["input"].float(), expected["target"].long()
        out = {}
        for method, make in composites(x).items():
            onehot = torch.nn.functional.one_hot(target, config["model_args"]["num_classes"]).float()
            with Gradient(model=model, composite=make()) as attributor:
                logits, relevance = attributor(x.clone().requires_grad_(), lambda y: y * onehot)
            out[f"relevance.{method}"] = relevance.detach().contiguous()
            print(f"{name} {method}: relevance sum {relevance.sum(dim=(1, 2, 3)).tolist()}, "
                  f"explained logit {(logits * onehot).sum(1).tolist()}")
        save_file(out, args.out / f"{name}.zennit.safetensors",
                  metadata={"zennit": "0.5.1", "source": "scripts/make_zennit_fixtures.py"})


if __name__ == "__main__":
    main()
