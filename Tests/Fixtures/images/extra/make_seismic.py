"""Writes matplotlib's `seismic` colormap and one rendered heatmap.

Needs numpy and matplotlib (e.g. `pip install --target /tmp/mpl matplotlib`,
then `PYTHONPATH=/tmp/mpl python make_seismic.py` from this folder).

- seismic_lut.rgb: the 256 entries as bytes, cm.seismic(np.arange(256), bytes=True)[:, :3].
- heatmap_relevance_3x9x11.f32: a (3, 9, 11) float32 relevance, little-endian C order.
- heatmap_expected_11x9.rgb: its heatmap as `visualize_batch` maps it, 9 rows of
  11 RGB pixels: s = R.sum(0); v = s / (max|s| + 1e-9);
  cm.seismic(Normalize(-1, 1)(v), bytes=True)[..., :3].
"""
import numpy as np
from matplotlib import cm, colors

cm.seismic(np.arange(256), bytes=True)[:, :3].astype(np.uint8).tofile("seismic_lut.rgb")
rng = np.random.default_rng(7)
relevance = (rng.standard_normal((3, 9, 11)) * np.linspace(0.2, 3, 11)).astype(np.float32)
relevance.astype("<f4").tofile("heatmap_relevance_3x9x11.f32")
s = relevance.sum(0)
v = s / (np.abs(s).max() + np.float32(1e-9))
cm.seismic(colors.Normalize(-1, 1)(v), bytes=True)[..., :3].astype(np.uint8).tofile("heatmap_expected_11x9.rgb")
