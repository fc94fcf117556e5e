"""Region PDQ and ORB verification against plain PDQ: crops, borders, bars, screenshots, collages.

Every picture here is drawn procedurally by perisai.synth.images (gradients, shapes, skylines,
patterns: no people). Sources stand for her photos; each gets one variant of every kind; the
distractors are unrelated pictures from another seed, queried exactly like the variants: any
match of a distractor, or of a variant to the wrong source, is a false match.

    .venv/bin/python benchmarks/regions.py --sources 60 --distractors 1000

Methods, all measured in the same run on the same decoded pictures:
  pdq       the query's whole-image PDQ against the source's 8 dihedral hashes, <= 31 bits
  region    also the query's region hashes against the source's whole and region hashes
            (dihedral), <= 31 bits, both sides with PDQ quality >= 50
  features  ORB keypoints (whole + regions) of the query against one index of all sources'
            keypoints, verified by RANSAC homography (media/features.py)
  any       region or features
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from perisai.media import features as ft  # noqa: E402
from perisai.media import regions as rg  # noqa: E402
from perisai.media.decode import decode_luma  # noqa: E402
from perisai.media.image import pdq_of_luma  # noqa: E402
from perisai.media.index import PDQIndex  # noqa: E402
from perisai.synth.images import make_original  # noqa: E402

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
KINDS = ["crop", "border", "caption", "screenshot", "collage2", "collage3", "manipulated"]
THRESHOLD = 31


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        return ImageFont.load_default(size=size)


def crop(img: Image.Image, rng: random.Random, _: Callable) -> Image.Image:
    w, h = img.size
    cut = rng.uniform(0.05, 0.30)  # share of each dimension removed, split unevenly
    a, b = rng.random(), rng.random()
    return img.crop(
        (int(w * cut * a), int(h * cut * b), w - int(w * cut * (1 - a)), h - int(h * cut * (1 - b)))
    )


def border(img: Image.Image, rng: random.Random, _: Callable) -> Image.Image:
    colour = rng.choice([(0, 0, 0), (255, 255, 255), (200, 30, 60), (30, 90, 200)])
    px = int(min(img.size) * rng.uniform(0.02, 0.12))
    return ImageOps.expand(img, border=px, fill=colour)


def caption(img: Image.Image, rng: random.Random, _: Callable) -> Image.Image:
    w, h = img.size
    bar = int(h * rng.uniform(0.08, 0.2))
    bg, fg = rng.choice([((0, 0, 0), (255, 255, 255)), ((255, 255, 255), (0, 0, 0))])
    out = Image.new("RGB", (w, h + bar), bg)
    top = rng.random() < 0.5
    out.paste(img, (0, bar if top else 0))
    d = ImageDraw.Draw(out)
    y = (0 if top else h) + bar // 4
    d.text(
        (16, y),
        rng.choice(["look who it is", "siapa ni?", "send more"])
        + " @user_"
        + str(rng.randrange(1000)),
        fill=fg,
        font=_font(max(12, bar // 3)),
    )
    return out


def screenshot(img: Image.Image, rng: random.Random, _: Callable) -> Image.Image:
    cw, ch = 720, rng.choice([1280, 1480, 1560])
    dark = rng.random() < 0.4
    bg, fg = ((18, 18, 18), (240, 240, 240)) if dark else ((255, 255, 255), (20, 20, 20))
    canvas = Image.new("RGB", (cw, ch), bg)
    d = ImageDraw.Draw(canvas)
    d.text((24, 10), f"{rng.randrange(24):02d}:{rng.randrange(60):02d}", fill=fg, font=_font(26))
    d.text((cw - 170, 10), "4G 87%", fill=fg, font=_font(26))
    d.ellipse((20, 70, 80, 130), fill=(200, 120, 60))
    d.text((96, 84), "user_" + str(rng.randrange(10_000)), fill=fg, font=_font(28))
    margin = rng.choice([0, 0, 24])
    pw = cw - 2 * margin
    ph = min(round(img.height * pw / img.width), ch - 420)
    photo = (
        ImageOps.fit(img, (pw, ph), Image.Resampling.BICUBIC)
        if ph < img.height * pw / img.width
        else img.resize((pw, ph), Image.Resampling.BICUBIC)
    )
    top = 150
    canvas.paste(photo, (margin, top))
    y = top + ph + 16
    for i in range(4):
        d.ellipse((24 + i * 64, y, 60 + i * 64, y + 36), outline=fg, width=3)
    d.text((24, y + 50), f"{rng.randrange(50, 9000):,} likes", fill=fg, font=_font(26))
    for k in range(3):
        d.text(
            (24, y + 90 + 36 * k),
            f"user{k} " + rng.choice(["nice", "who is she", "wow 🔥"]),
            fill=fg,
            font=_font(24),
        )
    return canvas


def _collage(img: Image.Image, rng: random.Random, other: Callable, n: int) -> Image.Image:
    side = rng.choice([1080, 1200]) if n == 3 else rng.choice([800, 1080])
    gap = rng.randrange(4, 14)
    cell = (side - gap * (n + 1)) // n
    canvas = Image.new("RGB", (side, side), rng.choice([(255, 255, 255), (0, 0, 0)]))
    where = rng.randrange(n * n)
    for k in range(n * n):
        pic = img if k == where else other()
        tile = ImageOps.fit(pic, (cell, cell), Image.Resampling.BICUBIC)
        canvas.paste(tile, (gap + (k % n) * (cell + gap), gap + (k // n) * (cell + gap)))
    return canvas


def collage2(img: Image.Image, rng: random.Random, other: Callable) -> Image.Image:
    return _collage(img, rng, other, 2)


def collage3(img: Image.Image, rng: random.Random, other: Callable) -> Image.Image:
    return _collage(img, rng, other, 3)


def manipulated(img: Image.Image, rng: random.Random, other: Callable) -> Image.Image:
    """Replace 20-50% of the picture with a patch of another picture."""
    w, h = img.size
    share = rng.uniform(0.2, 0.5)
    if rng.random() < 0.5:  # a band from one side
        pw, ph = (int(w * share), h) if rng.random() < 0.5 else (w, int(h * share))
    else:
        r = share**0.5
        pw, ph = int(w * r), int(h * r)
    x, y = rng.randrange(0, w - pw + 1), rng.randrange(0, h - ph + 1)
    out = img.copy()
    out.paste(other().resize((pw, ph)), (x, y))
    return out


MAKERS = {k: globals()[k] for k in KINDS}


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


class Prepared:
    """Everything the three methods need for one picture, with timings."""

    def __init__(self, data: bytes, her: bool) -> None:
        t0 = time.perf_counter()
        luma = decode_luma(data)
        self.pdq, self.quality, self.dihedral = pdq_of_luma(luma)
        t1 = time.perf_counter()
        # Regions and keypoints on a full decode (boxes in full-resolution pixels).
        full = decode_luma(data, allow_draft=False).plane if luma.scale > 1 else luma.plane
        self.regions = rg.region_hashes(full, dihedral=her)
        t2 = time.perf_counter()
        # Her photo is the whole picture: its keypoints alone (what victim-hash stores).
        self.features = ft.extract(full, [] if her else [r.box for r in self.regions])
        t3 = time.perf_counter()
        self.ms = {"pdq": 1000 * (t1 - t0), "regions": 1000 * (t2 - t1), "orb": 1000 * (t3 - t2)}

    def region_pdqs(self) -> list[str]:
        return [h for r in self.regions if r.quality >= 50 for h in r.pdq]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=60)
    ap.add_argument("--distractors", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=8)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    filler = random.Random(args.seed + 1)
    other = lambda: make_original(filler)  # noqa: E731 - content for collages and edits

    t = time.perf_counter()
    originals = [make_original(rng) for _ in range(args.sources)]
    sources = [Prepared(_jpeg(img, 90), her=True) for img in originals]
    queries: list[tuple[str, int, Prepared]] = []
    for i, img in enumerate(originals):
        for kind in KINDS:
            queries.append((kind, i, Prepared(_jpeg(MAKERS[kind](img, rng, other), 80), her=False)))
    drng = random.Random(args.seed + 2)
    for _ in range(args.distractors):
        queries.append(("distractor", -1, Prepared(_jpeg(make_original(drng), 80), her=False)))
    print(
        f"prepared {len(sources)} sources and {len(queries)} queries in "
        f"{time.perf_counter() - t:.0f} s",
        flush=True,
    )

    # Source-side PDQ index: whole (dihedral) hashes, and whole + region hashes.
    whole_owner: list[int] = []
    whole: list[str] = []
    region_owner: list[int] = []
    region_hashes: list[str] = []
    for i, s in enumerate(sources):
        for h in s.dihedral:
            whole.append(h)
            whole_owner.append(i)
        for h in list(s.dihedral) + s.region_pdqs():
            region_hashes.append(h)
            region_owner.append(i)
    whole_index = PDQIndex(whole, threshold=THRESHOLD)
    region_index = PDQIndex(region_hashes, threshold=THRESHOLD)
    t = time.perf_counter()
    feature_index = ft.FeatureIndex([s.features for s in sources])
    build_ms = 1000 * (time.perf_counter() - t)

    results: dict[str, dict[str, list[int]]] = {}
    cost = {"pdq": 0.0, "region": 0.0, "features": 0.0}
    wrong = {"pdq": 0, "region": 0, "features": 0, "any": 0}
    for kind, owner, q in queries:
        t0 = time.perf_counter()
        hit_pdq = {whole_owner[p] for hits in whole_index.query([q.pdq]) for p, _ in hits}
        t1 = time.perf_counter()
        probes = [q.pdq] + q.region_pdqs() if q.quality >= 50 else q.region_pdqs()
        hit_region = (
            {region_owner[p] for hits in region_index.query(probes) for p, _ in hits}
            if probes
            else set()
        )
        t2 = time.perf_counter()
        hit_feat = {i for i, _ in feature_index.query(q.features)}
        t3 = time.perf_counter()
        cost["pdq"] += t1 - t0
        cost["region"] += t2 - t1
        cost["features"] += t3 - t2
        row = results.setdefault(kind, {m: [] for m in ("pdq", "region", "features", "any")})
        for method, hits in (
            ("pdq", hit_pdq),
            ("region", hit_region),
            ("features", hit_feat),
            ("any", hit_region | hit_feat),
        ):
            row[method].append(int(owner in hits))
            wrong[method] += int(bool(hits - {owner}))

    n = len(queries)
    print(f"\n{'kind':12} {'n':>5} {'pdq':>7} {'region':>7} {'features':>9} {'any':>7}")
    for kind in KINDS:
        r = results[kind]
        cells = [f"{100 * np.mean(r[m]):6.1f}%" for m in ("pdq", "region", "features", "any")]
        print(
            f"{kind:12} {len(r['pdq']):5d} {cells[0]:>7} {cells[1]:>7} {cells[2]:>9} {cells[3]:>7}"
        )
    print(
        f"{'false':12} {n:5d} {wrong['pdq']:7d} {wrong['region']:7d} "
        f"{wrong['features']:9d} {wrong['any']:7d}"
        "   (queries matched to a wrong source or a distractor matched)"
    )
    prep = [q for _, _, q in queries]
    nreg = [len(q.regions) for q in prep]
    dist = [len(q.regions) for k, _, q in queries if k == "distractor"]
    print(
        f"\nregions per picture: mean {np.mean(nreg):.2f}, max {max(nreg)}; "
        f"distractors (ordinary photos) mean {np.mean(dist):.2f}, "
        f"with none {100 * np.mean([d == 0 for d in dist]):.0f}%"
    )
    for step in ("pdq", "regions", "orb"):
        print(
            f"ms per picture, {step:8}: mean {np.mean([q.ms[step] for q in prep]):6.1f}, "
            f"median {np.median([q.ms[step] for q in prep]):6.1f}"
        )
    for m in ("pdq", "region", "features"):
        print(
            f"ms per query, match {m:8}: {1000 * cost[m] / n:6.2f} (against {len(sources)} sources)"
        )
    per_image = sum(np.mean([q.ms[k] for q in prep]) for k in ("pdq", "regions", "orb"))
    per_image += 1000 * (cost["region"] + cost["features"]) / n
    print(
        f"per case of 100,000 photos, one core: {per_image * 100_000 / 3.6e6:.1f} h "
        f"({per_image:.0f} ms per photo: whole PDQ, regions, ORB, region and feature matching)"
    )
    kp = [len(s.features) for s in sources]
    packed = [len(ft.pack(s.features)) for s in sources]
    print(
        f"source keypoints: mean {np.mean(kp):.0f}; "
        f"packed orb string mean {np.mean(packed) / 1024:.1f} KiB; "
        f"feature index build {build_ms:.0f} ms"
    )


if __name__ == "__main__":
    main()
