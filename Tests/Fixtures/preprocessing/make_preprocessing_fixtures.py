"""Writes the preprocessing fixtures of this folder (dev only; the Swift tests never run Python).

Needs the project's PyTorch environment (../shared/tools/pytorch-cpu-env.sh: torch, torchvision,
timm 1.0.11, Pillow 13.0.0, numpy, safetensors) and a checkout of the reference
(davor10105/relative-absolute-magnitude-propagation) on PYTHONPATH for `preprocess_image`:

    git -C <reference mirror> archive HEAD | tar -x -C /tmp/ref
    PYTHONPATH=/tmp/ref python make_preprocessing_fixtures.py

Everything here is synthetic (seeded): photo-like images made of gradients, soft and sharp
shapes, stripes and noise, written as JPEG and PNG in several sizes and aspect ratios
(`synthetic_WxH.jpg/png`). Outputs, all in `expected.safetensors`:

- `resample.SRC.FILTER.WxH` (U8, H x W x C): Pillow's `Image.resize((W, H), FILTER)` of the small
  sources `resample_rgb_37x23.png` (RGB) and `resample_grey_37x23.png` (L), for every filter and
  for reductions, enlargements and one-axis changes.
- `timm.CONFIG.IMAGE` (U8, H x W x C): timm's eval transform (`resolve_data_config` +
  `create_transform`) for the pretrained_cfg CONFIG (`CONFIGS` below), before `ToTensor`; the
  script checks that timm's float output equals `(byte / 255 - mean) / std` of these bytes.
- `timm_tensor.vit_base_patch16_224.IMAGE` (F32, 3 x 224 x 224): one full float output of timm.
- `reference_vit.IMAGE` (F32, 3 x 224 x 224): the reference's `preprocess_image(img, True)`.
- `reference_size.IMAGE.SIZE` (F32): torchvision `Resize((s*256//224,)*2, antialias=True)` on float,
  `CenterCrop(s)`, ViT statistics: the reference's proportions for inputs of other sizes.

The configuration of each case is in the file's `__metadata__` (`configs`).
"""
import json
import os

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from safetensors.numpy import save_file
from timm.data import create_transform, resolve_data_config

from abslrp_gae.utils import preprocess_image

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261201)

# (width, height, format): several aspect ratios, 176..512 pixels.
IMAGES = [(240, 176, "jpg"), (300, 400, "png"), (384, 384, "jpg"), (512, 341, "jpg"), (201, 333, "png")]

# timm pretrained_cfg input fields per case; the first three are the hub configurations.
CONFIGS = {
    "vgg11.tv_in1k": dict(input_size=(3, 224, 224), interpolation="bilinear", crop_pct=0.875),
    "resnet50.a1_in1k": dict(input_size=(3, 224, 224), interpolation="bicubic", crop_pct=0.95),
    "vit_base_patch16_224": dict(input_size=(3, 224, 224), interpolation="bicubic", crop_pct=0.9,
                                 mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    "bilinear_176": dict(input_size=(3, 176, 176), interpolation="bilinear", crop_pct=0.875),
    "bicubic_384": dict(input_size=(3, 384, 384), interpolation="bicubic", crop_pct=1.0,
                        mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    "bicubic_288": dict(input_size=(3, 288, 288), interpolation="bicubic", crop_pct=1.0),
    "lanczos_224": dict(input_size=(3, 224, 224), interpolation="lanczos", crop_pct=0.875),
    "nearest_224": dict(input_size=(3, 224, 224), interpolation="nearest", crop_pct=0.875),
    "squash_bicubic_224": dict(input_size=(3, 224, 224), interpolation="bicubic", crop_pct=0.9, crop_mode="squash"),
    "border_bilinear_224": dict(input_size=(3, 224, 224), interpolation="bilinear", crop_pct=0.9, crop_mode="border"),
    "nonsquare_192x256": dict(input_size=(3, 192, 256), interpolation="bicubic", crop_pct=0.9),
    "grey_bilinear_176": dict(input_size=(1, 176, 176), interpolation="bilinear", crop_pct=0.875,
                              mean=(0.5,), std=(0.25,)),
}
# Which images each configuration runs on (all for the hub configurations, two otherwise).
FIRST_THREE = list(CONFIGS)[:3]


def synthetic(width, height):
    """A photo-like RGB image: lit gradient background, soft blobs, hard-edged shapes, stripes, noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / width, y / height
    img = np.stack([0.2 + 0.6 * u, 0.3 + 0.5 * v, 0.7 - 0.4 * u * v], axis=-1)
    for _ in range(6):  # soft blobs
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.08, 0.3)
        colour = rng.uniform(0, 1, 3)
        w = np.exp(-((u - cx) ** 2 + (v - cy) ** 2) / (2 * r * r))[..., None]
        img = img * (1 - 0.8 * w) + colour * 0.8 * w
    for _ in range(4):  # hard-edged rectangles and discs
        colour = rng.uniform(0, 1, 3)
        cx, cy, r = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.2)
        if rng.uniform() < 0.5:
            mask = (abs(u - cx) < r) & (abs(v - cy) < r * 0.6)
        else:
            mask = (u - cx) ** 2 + ((v - cy) * height / width) ** 2 < r * r
        img[mask] = colour
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (x * 0.21 + y * 0.07))  # fine texture, near Nyquist after resizing
    band = (v > 0.7) & (v < 0.85)
    img[band] = img[band] * 0.6 + 0.4 * stripes[band][..., None]
    img += rng.normal(0, 0.03, img.shape)  # sensor noise
    return Image.fromarray(np.clip(np.round(img * 255), 0, 255).astype(np.uint8), "RGB")


def main():
    tensors, configs = {}, {}
    # Resampler cases on small sources.
    src = synthetic(37, 23)
    src.save(os.path.join(HERE, "resample_rgb_37x23.png"))
    src.convert("L").save(os.path.join(HERE, "resample_grey_37x23.png"))
    filters = {"nearest": Image.NEAREST, "box": Image.BOX, "bilinear": Image.BILINEAR,
               "hamming": Image.HAMMING, "bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS}
    for name, mode in [("rgb", "RGB"), ("grey", "L")]:
        image = Image.open(os.path.join(HERE, f"resample_{name}_37x23.png")).convert(mode)
        for fname, f in filters.items():
            for size in [(61, 17), (16, 40), (37, 11), (90, 23), (9, 9), (5, 70)]:
                out = np.asarray(image.resize(size, f))
                tensors[f"resample.{name}.{fname}.{size[0]}x{size[1]}"] = np.ascontiguousarray(
                    out.reshape(size[1], size[0], -1))

    names = []
    for (w, h, fmt) in IMAGES:
        name = f"synthetic_{w}x{h}.{fmt}"
        path = os.path.join(HERE, name)
        img = synthetic(w, h)
        if fmt == "jpg":
            img.save(path, quality=90)
        else:
            img.save(path, optimize=True)
        names.append(name)

    for cname, cfg in CONFIGS.items():
        data = resolve_data_config(pretrained_cfg=dict(cfg))
        configs[cname] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()}
        chosen = names if cname in FIRST_THREE else [names[1], names[3]]
        channels = cfg["input_size"][0]
        for name in chosen:
            img = Image.open(os.path.join(HERE, name)).convert("RGB" if channels == 3 else "L")
            geometry = create_transform(**data, is_training=False)
            full = geometry(img)  # timm's float output
            pil_stage = T.Compose(geometry.transforms[:-2])(img)  # before MaybeToTensor + Normalize
            pixels = np.asarray(pil_stage).reshape(pil_stage.size[1], pil_stage.size[0], -1)
            mean = torch.tensor(data["mean"]).view(-1, 1, 1)
            std = torch.tensor(data["std"]).view(-1, 1, 1)
            again = (torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255 - mean) / std
            assert torch.equal(again, full), f"{cname} {name}: timm's output is not normalise(bytes)"
            stem = name.rsplit(".", 1)[0]
            tensors[f"timm.{cname}.{stem}"] = np.ascontiguousarray(pixels)
            if cname == "vit_base_patch16_224" and name == names[0]:
                tensors[f"timm_tensor.{cname}.{stem}"] = full.numpy()

    for name in [names[0], names[1]]:
        img = Image.open(os.path.join(HERE, name)).convert("RGB")
        stem = name.rsplit(".", 1)[0]
        tensors[f"reference_vit.{stem}"] = preprocess_image(img, True).numpy()
    small = Image.open(os.path.join(HERE, names[4])).convert("RGB")
    stem = names[4].rsplit(".", 1)[0]
    for s in [28, 96]:
        t = torch.from_numpy(np.asarray(small).copy()).permute(2, 0, 1) / 255
        r = T.Compose([T.Resize((s * 256 // 224,) * 2, antialias=True), T.CenterCrop((s, s)),
                       T.Normalize((0.5,) * 3, (0.5,) * 3)])(t)
        tensors[f"reference_size.{stem}.{s}"] = r.numpy()

    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, os.path.join(HERE, "expected.safetensors"),
              metadata={"configs": json.dumps(configs, sort_keys=True)})
    print(f"{len(tensors)} tensors")


if __name__ == "__main__":
    main()
