"""Writes the extra image fixtures of this folder and Pillow's decoding of each.

Run from this folder with a Python that has numpy and Pillow (the project's
PyTorch venv has both) and with clang + libjpeg headers on the machine:

    python make_extra.py

For every image NAME.png / NAME.jpg it writes NAME.rgb: the raw bytes of
np.asarray(Image.open(NAME).convert('RGB')) (H x W x 3, row-major), the
reference the Swift decoder must equal byte for byte. The sizes are in the
names (WxH). PNGs are assembled chunk by chunk here (Pillow cannot write
16-bit colour, low bit depths with tRNS or interlacing), so the files
exercise libpng's paths rather than Pillow's encoder. The generator is
deterministic (fixed seed).
"""
import os
import struct
import subprocess
import tempfile
import zlib

import numpy as np
from PIL import Image

rng = np.random.default_rng(20240611)
HERE = os.path.dirname(os.path.abspath(__file__))


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_rows(samples, bit_depth):
    """samples: (H, W*channels) integers -> list of row bytes (no filter byte)."""
    rows = []
    for row in samples:
        if bit_depth == 16:
            rows.append(row.astype(">u2").tobytes())
        elif bit_depth == 8:
            rows.append(row.astype(np.uint8).tobytes())
        else:
            per_byte = 8 // bit_depth
            padded = np.zeros(-(-len(row) // per_byte) * per_byte, dtype=np.uint8)
            padded[: len(row)] = row
            packed = np.zeros(len(padded) // per_byte, dtype=np.uint8)
            for k in range(per_byte):
                packed |= (padded[k::per_byte] << (8 - bit_depth * (k + 1))).astype(np.uint8)
            rows.append(packed.tobytes())
    return rows


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(name, pixels, bit_depth, color_type, extra=(), interlace=False, palette=None, trns=None):
    """pixels: (H, W, channels) sample values."""
    h, w, ch = pixels.shape
    raw = b""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = pixels[y0::dy, x0::dx, :]
        if sub.size == 0:
            continue
        for row in pack_rows(sub.reshape(sub.shape[0], -1), bit_depth):
            raw += b"\x00" + row
    data = b"\x89PNG\r\n\x1a\n"
    data += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    for kind, payload in extra:
        data += chunk(kind, payload)
    if palette is not None:
        data += chunk(b"PLTE", np.asarray(palette, dtype=np.uint8).tobytes())
    if trns is not None:
        data += chunk(b"tRNS", trns)
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def expected(name):
    im = Image.open(os.path.join(HERE, name))
    rgb = np.asarray(im.convert("RGB"))
    base = os.path.splitext(name)[0]
    with open(os.path.join(HERE, base + ".rgb"), "wb") as f:
        f.write(rgb.tobytes())
    print(f"{name}: Pillow mode {im.mode}, {im.size[0]}x{im.size[1]}")


def samples(h, w, ch, bit_depth):
    return rng.integers(0, 2**bit_depth, (h, w, ch))


GAMMA_1 = (b"gAMA", struct.pack(">I", 100000))  # gamma 1.0: a colour-managed decoder would change pixels
W, H = 13, 7

# Grey at every bit depth; 16-bit grey mixes small values (< 256) with large ones,
# because Pillow clips "I;16" to 255 instead of taking the high byte.
for depth in (1, 2, 4, 8):
    write_png(f"gray{depth}_{W}x{H}.png", samples(H, W, 1, depth), depth, 0)
gray16 = samples(H, W, 1, 16)
gray16[::2] = rng.integers(0, 300, gray16[::2].shape)
write_png(f"gray16_{W}x{H}.png", gray16, 16, 0, extra=[GAMMA_1])
write_png(f"gray8trns_{W}x{H}.png", samples(H, W, 1, 8), 8, 0, trns=struct.pack(">H", 7))
write_png(f"graya8_{W}x{H}.png", samples(H, W, 2, 8), 8, 4)
write_png(f"graya16_{W}x{H}.png", samples(H, W, 2, 16), 16, 4)
write_png(f"rgb16_{W}x{H}.png", samples(H, W, 3, 16), 16, 2, extra=[GAMMA_1])
write_png(f"rgb8trns_{W}x{H}.png", samples(H, W, 3, 8), 8, 2, trns=struct.pack(">HHH", 1, 2, 3))
rgba8 = samples(H, W, 4, 8)
rgba8[..., 3][::2] = 0  # fully transparent pixels keep their colour in convert('RGB')
write_png(f"rgba8_{W}x{H}.png", rgba8, 8, 6)
write_png(f"rgba16_{W}x{H}.png", samples(H, W, 4, 16), 16, 6, extra=[GAMMA_1])
for depth in (1, 2, 4):
    write_png(f"palette{depth}_{W}x{H}.png", samples(H, W, 1, depth), depth, 3,
              palette=rng.integers(0, 256, (2**depth, 3)))
write_png(f"palette8trns_{W}x{H}.png", rng.integers(0, 40, (H, W, 1)), 8, 3,
          palette=rng.integers(0, 256, (40, 3)), trns=bytes(rng.integers(0, 256, 20, dtype=np.uint8)))
write_png("rgb8interlaced_19x11.png", samples(11, 19, 3, 8), 8, 2, interlace=True)
write_png("graya16interlaced_19x11.png", samples(11, 19, 2, 16), 16, 4, interlace=True)

# JPEG chroma subsampling variants (the fixtures cover 4:2:0): 4:4:4 and 4:2:2.
smooth = np.clip(np.add.outer(np.arange(30) * 7, np.arange(41) * 5)[..., None] + rng.integers(0, 60, (30, 41, 3)), 0, 255)
Image.fromarray(smooth.astype(np.uint8)).save(os.path.join(HERE, "rgb444_41x30.jpg"), quality=90, subsampling=0)
Image.fromarray(smooth.astype(np.uint8)).save(os.path.join(HERE, "rgb422_41x30.jpg"), quality=90, subsampling=1)

# CMYK JPEG as Pillow writes it (Adobe marker, inverted values), and YCCK
# written by libjpeg from the same stored values (make_ycck.c).
cmyk = rng.integers(0, 256, (16, 24, 4), dtype=np.uint8)
cmyk[..., :3] = np.clip(cmyk[..., :3].astype(int) // 2 + np.arange(24)[None, :, None] * 5, 0, 255)
Image.fromarray(cmyk, "CMYK").save(os.path.join(HERE, "cmyk_24x16.jpg"), quality=95)
with tempfile.TemporaryDirectory() as tmp:
    tool = os.path.join(tmp, "make_ycck")
    subprocess.run(["clang", "-O1", "-o", tool, os.path.join(HERE, "make_ycck.c"), "-ljpeg"], check=True)
    raw = os.path.join(tmp, "cmyk.raw")
    with open(raw, "wb") as f:
        f.write((255 - cmyk).tobytes())  # the inverted (Adobe) values Pillow stores
    subprocess.run([tool, raw, "24", "16", os.path.join(HERE, "ycck_24x16.jpg")], check=True)

for name in sorted(os.listdir(HERE)):
    if name.endswith((".png", ".jpg")) and not name.startswith("huge"):
        expected(name)

# Headers that announce 60000 x 60000 pixels with no image data behind them:
# a decoder that refuses them from the header reports "too large"; one that
# decodes first reports truncation.
with open(os.path.join(HERE, "huge_60000x60000.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(64))) + chunk(b"IEND", b""))
with open(os.path.join(HERE, "..", "scene_640x427.jpg"), "rb") as f:
    jpeg = bytearray(f.read())
sof = jpeg.index(b"\xff\xc0")
jpeg[sof + 5: sof + 9] = struct.pack(">HH", 60000, 60000)
sos = jpeg.index(b"\xff\xda")
sos_end = sos + 2 + struct.unpack(">H", jpeg[sos + 2: sos + 4])[0]
with open(os.path.join(HERE, "huge_60000x60000.jpg"), "wb") as f:
    f.write(bytes(jpeg[:sos_end]))
