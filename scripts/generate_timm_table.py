#!/usr/bin/env python3
"""Generate the table of timm model names that absLRP-Swift knows.

Dev-only: needs the PyTorch environment of ../shared/tools/pytorch-cpu-env.sh
(torch 2.13 CPU, timm 1.0.11). The Swift package only reads the JSON this
writes (Sources/AbsLRPCore/Resources/timm_models.json).

For every model registered in timm's `vgg`, `resnet`, `vision_transformer`,
`deit`, `eva` and `beit` modules it builds the model on PyTorch's `meta`
device (shapes only: no memory, no download, `pretrained=False`) with the
constructors of the model classes wrapped, and records

- `class`: the class the entrypoint builds (`VGG`, `ResNet`,
  `VisionTransformer`, or a relative such as `VisionTransformerDistilled`,
  `Eva`, `Beit`);
- `model_args`: the keyword arguments the entrypoint passed to that class,
  made JSON (classes and functions by name, torch's as `nn.NAME`, `functools.partial` as
  `{"partial": name, **keywords}`);
- `pretrained`: the pretrained tags (`default_tag` first) and, per tag, the default config's input
  fields (`input_size`, `interpolation`, `crop_pct`, `crop_mode`, `mean`,
  `std`, `num_classes`);
- `parameters`: the number of parameter values, as PyTorch counts them
  (`sum(p.numel() for p in model.parameters())`: resnet50 25,557,032),
  `buffers`: the values of the buffers in the state dict (BatchNorm's running
  statistics; `num_batches_tracked` excluded), and `shapes_fnv1a64`: the 64-bit FNV-1a
  hash (hex) of the state dict's `key:d0,d1,...` lines, sorted, joined by
  newlines (a checksum for the shape tests, not a cryptographic digest).

    python scripts/generate_timm_table.py [--out PATH]
"""
import argparse
import functools
import inspect
import json
import pathlib
import sys

import timm
import torch

MODULES = ["vgg", "resnet", "vision_transformer", "deit", "eva", "beit"]
INPUT_FIELDS = ["input_size", "interpolation", "crop_pct", "crop_mode", "mean", "std", "num_classes"]


def jsonable(value):
    """Constructor arguments as JSON: classes and functions by name."""
    if isinstance(value, functools.partial):
        return {"partial": jsonable(value.func), **{k: jsonable(v) for k, v in value.keywords.items()}}
    if inspect.isclass(value) or inspect.isfunction(value) or inspect.isbuiltin(value):
        # torch.nn's layers apart from timm's namesakes (nn.LayerNorm has eps
        # 1e-5, timm's LayerNorm 1e-6).
        return ("nn." if value.__module__.startswith("torch.nn") else "") + value.__name__
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return type(value).__name__


class ConstructorCapture:
    """Wraps the `__init__` of every nn.Module subclass defined in the
    modules above and keeps the outermost call's class and keyword arguments."""

    def __init__(self):
        self.depth = 0
        self.captured = None
        for module_name in MODULES:
            module = sys.modules[f"timm.models.{module_name}"]
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, torch.nn.Module) and cls.__module__ == module.__name__ and "__init__" in cls.__dict__:
                    cls.__init__ = self.wrap(cls.__init__)

    def wrap(self, init):
        capture = self

        @functools.wraps(init)
        def wrapped(module, *args, **kwargs):
            outermost = capture.depth == 0 and capture.captured is None
            if outermost:
                capture.captured = (type(module).__name__, args, kwargs)
            capture.depth += 1
            try:
                init(module, *args, **kwargs)
            finally:
                capture.depth -= 1
        return wrapped

    def build(self, name):
        self.captured = None
        # Stochastic-depth rates are read with `.item()` from a linspace,
        # which a meta tensor cannot give: that one stays on the CPU.
        linspace = torch.linspace
        torch.linspace = functools.partial(linspace, device="cpu")
        try:
            with torch.device("meta"):
                model = timm.create_model(name, pretrained=False)
        finally:
            torch.linspace = linspace
        cls, args, kwargs = self.captured
        assert not args, f"{name}: positional constructor arguments {args}"
        return model, cls, kwargs


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def shapes_digest(model):
    """The checksum of the state dict's shapes, its parameter values and its buffer values."""
    lines, state_values = [], 0
    for key, tensor in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        lines.append(f"{key}:{','.join(str(d) for d in tensor.shape)}")
        state_values += tensor.numel()
    parameters = sum(p.numel() for p in model.parameters())
    return fnv1a64("\n".join(sorted(lines)).encode()), parameters, state_values - parameters


def pretrained_tags(name):
    """Tag -> input fields, in timm's order (the first is the default)."""
    tags = {}
    for full_name, cfg in timm.models.get_arch_pretrained_cfgs(name).items():
        d = cfg.to_dict()
        tags[timm.models.split_model_name_tag(full_name)[1]] = {k: jsonable(d.get(k)) for k in INPUT_FIELDS if d.get(k) is not None}
    return tags


def default_tag(name):
    """The tag `create_model(name)` uses, or None for models without pretrained configs."""
    cfg = timm.models.get_pretrained_cfg(name)
    return cfg.tag if cfg is not None else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parent.parent
                                              / "Sources/AbsLRPCore/Resources/timm_models.json"))
    out = pathlib.Path(parser.parse_args().out)
    capture = ConstructorCapture()
    models = []
    for module_name in MODULES:
        for name in timm.list_models(module=module_name):
            model, cls, kwargs = capture.build(name)
            digest, count, buffers = shapes_digest(model)
            models.append({
                "name": name, "module": module_name, "class": cls,
                "model_args": jsonable(kwargs),
                "pretrained": pretrained_tags(name),
                "default_tag": default_tag(name),
                "parameters": count, "buffers": buffers, "shapes_fnv1a64": digest,
            })
            print(f"{name}: {cls}, {count} parameters, {buffers} buffer values", file=sys.stderr)
    table = {"timm_version": timm.__version__, "torch_version": torch.__version__.split("+")[0],
             "models": sorted(models, key=lambda m: m["name"])}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {len(models)} models to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
