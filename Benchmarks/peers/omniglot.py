"""Omniglot from the published zips, preprocessed as MetaJIT does (`Sources/EpisodeData`):
ink = 1 - gray/255 (strokes 1.0), exact area-averaging resize 105 -> 28 (`ImageOps.resizeArea`), one class per
(character, rotation) with counter-clockwise quarter turns (numpy.rot90 convention)."""
from __future__ import annotations

import io
import os
import re
import zipfile

import numpy as np
from PIL import Image

TRAIN_ALPHABETS = ["Balinese", "Early_Aramaic", "Greek", "Korean", "Japanese_(katakana)", "Sanskrit"]
TEST_ALPHABETS = ["Latin", "Tagalog"]
DEFAULT_ZIPS = ["images_background_small1.zip", "images_background_small2.zip"]


def default_data_dir() -> str:
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    bundled = os.path.join(repo, "data", "omniglot")
    if os.path.isdir(bundled):
        return bundled
    return os.path.join(os.path.dirname(repo), "shared", "data", "omniglot")


def _area_weights(n: int, m: int) -> np.ndarray:
    """`[m, n]` exact area-averaging weights from n to m samples (MetaJIT's `BoxWeights`):
    output x covers [x·n/m, (x+1)·n/m) of the input, each input pixel weighted by its overlap."""
    s = n / m
    w = np.zeros((m, n), np.float64)
    for x in range(m):
        a, b = x * s, (x + 1) * s
        for k in range(int(np.floor(a)), min(n, int(np.ceil(b)))):
            w[x, k] = (min(b, k + 1) - max(a, k)) / s
    return w


_WEIGHTS: dict = {}


def preprocess(png: bytes, size: int = 28) -> np.ndarray:
    gray = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32)
    ink = 1.0 - gray / 255.0
    if ink.shape == (size, size):
        return ink
    # Exact area averaging as `ImageOps.resizeArea` (PIL's BOX filter is not: up to 0.23 apart
    # on Omniglot's 105 -> 28), clamped to [0, 1] like MetaJIT.
    h, w = ink.shape
    wy = _WEIGHTS.setdefault((h, size), _area_weights(h, size))
    wx = _WEIGHTS.setdefault((w, size), _area_weights(w, size))
    return np.clip(wy @ ink.astype(np.float64) @ wx.T, 0.0, 1.0).astype(np.float32)


def load_alphabets(zip_paths, size: int = 28) -> dict:
    """{alphabet: [array [20, size, size] per character, in character order]}; alphabets that
    appear in several zips (Greek, Latin) are taken from the first."""
    out: dict = {}
    for zp in zip_paths:
        with zipfile.ZipFile(zp) as zf:
            chars: dict = {}
            for name in sorted(zf.namelist()):
                m = re.match(r"[^/]+/([^/]+)/([^/]+)/[^/]+\.png$", name)
                if not m or m.group(1) in out:
                    continue
                chars.setdefault((m.group(1), m.group(2)), []).append(preprocess(zf.read(name), size))
            for (alpha, _), imgs in sorted(chars.items()):
                out.setdefault(alpha, []).append(np.stack(imgs))
    return out


def make_classes(alphabets: dict, names, rotations=(0,)) -> np.ndarray:
    """`[classes, drawers, size, size]`, character-major: class c*len(rotations)+r."""
    missing = [n for n in names if n not in alphabets]
    if missing:
        raise KeyError(f"alphabets not found: {missing}; have {sorted(alphabets)}")
    classes = []
    for n in names:
        for ch in alphabets[n]:
            for r in rotations:
                classes.append(np.rot90(ch, k=r // 90, axes=(1, 2)))
    return np.ascontiguousarray(np.stack(classes), dtype=np.float32)


class EpisodeSampler:
    def __init__(self, classes: np.ndarray, seed: int):
        self.classes = classes
        self.rng = np.random.default_rng(seed)

    def sample(self, tasks: int, ways: int, shots: int, queries: int):
        """Class-major support/query `[T, N*K, 1, H, W]`, labels `[T, N*K]` (int64)."""
        n_cls, n_draw, h, w = self.classes.shape
        sx = np.empty((tasks, ways * shots, 1, h, w), np.float32)
        qx = np.empty((tasks, ways * queries, 1, h, w), np.float32)
        for t in range(tasks):
            cls = self.rng.choice(n_cls, ways, replace=False)
            for j, c in enumerate(cls):
                d = self.rng.choice(n_draw, shots + queries, replace=False)
                sx[t, j * shots:(j + 1) * shots, 0] = self.classes[c, d[:shots]]
                qx[t, j * queries:(j + 1) * queries, 0] = self.classes[c, d[shots:]]
        sy = np.tile(np.repeat(np.arange(ways, dtype=np.int64), shots), (tasks, 1))
        qy = np.tile(np.repeat(np.arange(ways, dtype=np.int64), queries), (tasks, 1))
        return sx, sy, qx, qy
