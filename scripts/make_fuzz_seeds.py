# Dev-only: makes the small fuzz seeds of Tests/Fixtures/fuzz-seeds (safetensors, image, idx, csv).
# Needs ../shared/tools/pytorch-cpu-env.sh (numpy, safetensors, pillow). Usage:
#   python scripts/make_fuzz_seeds.py Tests/Fixtures/fuzz-seeds
# The results seeds are real runs on the GAE fixtures, e.g. for shard K of 2:
#   abslrp evaluate --dataset Tests/Fixtures/reference/gae_vit_mini_b4.expected.safetensors --model vit_mini \
#     --config Tests/Fixtures/reference/gae_vit_mini_b4.config.json \
#     --weights Tests/Fixtures/reference/gae_vit_mini_b4.weights.safetensors --batch-size 4 --steps 2 --shard K/2
# (two-methods.json: the whole run with --methods abslrp,gradient); configuration/vit_mini.json is a copy of the
# fixture's configuration (scripts/fuzz.sh adds every configuration and image fixture to the seeds).
import gzip, io, os, sys
import numpy as np
from safetensors.numpy import save
from PIL import Image
S = sys.argv[1]
def put(target, name, data):
    open(os.path.join(S, target, name), 'wb').write(data)
put('safetensors', 'dtypes.safetensors', save({
    'f32': np.arange(6, dtype=np.float32).reshape(2, 3), 'f16': np.array([1.5, -2], dtype=np.float16),
    'f64': np.array([0.25], dtype=np.float64), 'i64': np.array([-3, 7], dtype=np.int64),
    'i32': np.array([[1], [2]], dtype=np.int32), 'u8': np.array([0, 255, 9], dtype=np.uint8)}, metadata={'model': 'seed'}))
put('safetensors', 'empty-and-scalar.safetensors', save({'e': np.zeros((0, 4), np.float32), 's': np.array(2.0, np.float32)}))
put('safetensors', 'dataset.safetensors', save({'input': np.linspace(-1, 1, 2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4),
                                               'label': np.array([1, 0], np.int64)}))
def png(mode, size, name, **kw):
    b = io.BytesIO()
    im = Image.new(mode, size)
    im.putdata([(i * 37) % 251 if mode in ('L', 'P', 'I;16') else tuple(((i * k) % 251) for k in range(1, len(mode) + 1)) for i in range(size[0] * size[1])])
    im.save(b, format=kw.pop('format', 'PNG'), **kw)
    put('image', name, b.getvalue())
png('RGB', (5, 3), 'rgb.png')
png('RGBA', (4, 4), 'rgba.png')
png('L', (3, 7), 'gray.png')
png('LA', (2, 2), 'gray-alpha.png')
png('P', (6, 2), 'palette.png')
png('I;16', (3, 3), 'gray16.png')
png('RGB', (4, 4), 'interlaced.png', interlace=1)
png('RGB', (9, 5), 'baseline.jpg', format='JPEG', quality=80)
png('RGB', (9, 5), 'progressive.jpg', format='JPEG', progressive=True)
png('L', (4, 3), 'gray.jpg', format='JPEG')
png('CMYK', (3, 3), 'cmyk.jpg', format='JPEG')
def idx(n, h, w, labels=None):
    images = bytes([0, 0, 8, 3]) + n.to_bytes(4, 'big') + h.to_bytes(4, 'big') + w.to_bytes(4, 'big') + bytes((i * 7) % 256 for i in range(n * h * w))
    lab = bytes([0, 0, 8, 1]) + n.to_bytes(4, 'big') + bytes(i % 10 for i in range(n)) if labels is None else labels
    return images, lab
for name, (images, labels), zipped in [('plain', idx(3, 4, 5), False), ('gzipped', idx(2, 3, 3), True), ('one', idx(1, 1, 1), False)]:
    if zipped: images, labels = gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)
    put('idx', name, len(labels).to_bytes(2, 'little') + labels + images)
put('csv', 'header.csv', b'path,label\n"pics/a, b.png",3\n\n/abs/x.jpg,1\n')
put('csv', 'plain.csv', b'a.png,0\nb/c.png,12\r\nd.png, 4\n')
put('csv', 'quotes.csv', b'"say ""hi"".png",2\n')
# Paths into the fuzz target's folder of odd files (Sources/FuzzTargets, CSVImages) and the system's.
put('csv', 'images.csv', b'a.png,0\nsub/b.png,1\nlink.png,2\nsublink/b.png,3\n./a.png,4\nsub/../a.png,5\n')
put('csv', 'bad-files.csv', b'missing.png,0\nempty.png,1\ncut.png,2\ntext.png,3\ndir.png,4\nloop.png,5\nloop-a,6\n'
    b'dangling.png,7\nfifo.png,8\n')
put('csv', 'devices.csv', b'/dev/zero,0\n/dev/null,1\n/dev/stdin,2\n/proc/self/mem,3\n/,4\n/proc/self/fd/0,5\n')
put('csv', 'odd-names.csv', b'x' * 300 + b'.png,0\n' + b'a/' * 1500 + b'a.png,1\n' + '\u00fc\u65e5\u672c.png,2\n'.encode()
    + b'"a.png ",3\n a.png,4\na.png/,5\na.png/x,6\n..,7\n.,8\n' + b'../' * 40 + b'dev/zero,9\n')

