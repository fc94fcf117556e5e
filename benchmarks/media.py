"""Image hashing speed and accuracy: perisai.media.hash_image next to python-threatexchange.

    .venv/bin/python benchmarks/media.py                  # 2,000 synthetic 1280x960 JPEGs
    .venv/bin/python benchmarks/media.py --count 500      # quicker
    .venv/bin/python benchmarks/media.py --workdir /tmp/media-bench   # keep and reuse the files

Both contenders run in this process, pinned to one core, BLAS limited to one thread, on the same
JPEG bytes held in memory (file reads are not timed). perisai does SHA-256 + MD5 + PDQ + the 8
dihedral hashes; python-threatexchange's ``pdq_from_bytes`` does PDQ only. Then: drift of the fast
decode path from a full decode (same code, ``allow_draft=False``), on the synthetic pictures and
on 1280x960 crops of the reference photos; and each contender's distance to the reference
hashes of Meta's test images (shared/corpus/pdq-reference).

python-threatexchange is a benchmark-only dependency: ``pip install threatexchange``; its
``pdqhash`` wheel needs numpy 1, so under numpy 2 build it from source first:
``pip install --no-binary pdqhash --force-reinstall --no-deps pdqhash``.
"""

from __future__ import annotations

import os

# Before numpy is imported: one BLAS thread, so "per core" means one core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TypeVar  # noqa: E402

from PIL import Image, ImageDraw  # noqa: E402

from perisai.media import hamming, hash_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(
    os.environ.get("PERISAI_PDQ_REFERENCE", ROOT.parent / "shared" / "corpus" / "pdq-reference")
)
T = TypeVar("T")
SIZE = (1280, 960)  # Telegram's photo size


def _fallback_picture(rng: random.Random) -> Image.Image:
    img = Image.linear_gradient("L").rotate(rng.randint(0, 359)).resize(SIZE).convert("RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(5, 25)):
        x, y = rng.randint(0, SIZE[0] - 50), rng.randint(0, SIZE[1] - 50)
        box = (x, y, x + rng.randint(20, 500), y + rng.randint(20, 400))
        fill = tuple(rng.randint(0, 255) for _ in range(3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)(box, fill=fill)
    return img


def synthetic_jpegs(count: int, workdir: Path | None, seed: int = 7) -> list[bytes]:
    """Benign 1280x960 JPEGs from perisai.synth (gradients, skylines, shapes), else a fallback."""
    try:
        from perisai.synth.images import make_original

        def make(rng: random.Random) -> Image.Image:
            img = make_original(rng).convert("RGB")
            return img if img.size == SIZE else img.resize(SIZE, Image.Resampling.BILINEAR)

        source = "perisai.synth.images"
    except ImportError:
        make, source = _fallback_picture, "fallback drawing"
    rng = random.Random(seed)
    out = []
    for i in range(count):
        path = workdir / f"{i:05d}.jpg" if workdir else None
        if path is not None and path.exists():
            out.append(path.read_bytes())
            continue
        buf = io.BytesIO()
        make(rng).save(buf, "JPEG", quality=rng.choice([70, 80, 85, 90, 95]))
        out.append(buf.getvalue())
        if path is not None:
            path.write_bytes(out[-1])
    print(f"{count} synthetic {SIZE[0]}x{SIZE[1]} JPEGs from {source}")
    return out


def photo_crops(count: int, seed: int = 11) -> list[bytes]:
    """1280x960 JPEGs cropped from the reference photos: more texture than synthetic shapes."""
    names = ["bridge-mods/aaa-orig.jpg", "misc-images/modes/original.jpg"]
    sources = [Image.open(REFERENCE / "data" / n).convert("RGB") for n in names]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        src = rng.choice(sources)
        w, h = src.size
        cw, ch = int(w * rng.uniform(0.4, 1)), int(h * rng.uniform(0.4, 1))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        img = src.crop((x, y, x + cw, y + ch)).resize(SIZE, Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.choice([75, 85, 95]))
        out.append(buf.getvalue())
    return out


def per_second(fn: Callable[[bytes], T], files: list[bytes]) -> tuple[float, list[T]]:
    fn(files[0])  # warm caches (filter matrices, imports)
    start = time.perf_counter()
    results = [fn(f) for f in files]
    return len(files) / (time.perf_counter() - start), results


def summary(d: list[int]) -> str:
    d = sorted(d)
    p95 = d[min(len(d) - 1, int(0.95 * len(d)))]
    return f"median {statistics.median(d):g}, p95 {p95}, max {d[-1]} (n={len(d)})"


def drift(files: list[bytes], label: str) -> None:
    fast = [hash_image(f) for f in files]
    full = [hash_image(f, allow_draft=False) for f in files]
    paths = sorted({h.decode for h in fast})
    print(f"drift from a full decode, {label} (decode paths {', '.join(paths)}):")
    print(
        "  all:          "
        + summary([hamming(a.pdq, b.pdq) for a, b in zip(fast, full, strict=True)])
    )
    good = [hamming(a.pdq, b.pdq) for a, b in zip(fast, full, strict=True) if b.quality >= 50]
    if good:
        print(f"  quality >= 50: {summary(good)}")


def reference_distances(te: Callable[[bytes], str] | None) -> None:
    table = REFERENCE / "wasm" / "test" / "TestData" / "PDQMD5TestData.csv"
    if not table.is_file():
        print(f"pdq-reference corpus not found at {REFERENCE}: skipped")
        return
    print("\ndistance to the reference hashes (shared/corpus/pdq-reference):")
    print(f"| image | perisai | {'threatexchange' if te else 'threatexchange (not installed)'} |")
    print("| --- | --- | --- |")
    ours, theirs = [], []
    with open(table) as fh:
        for row in csv.DictReader(fh):
            path = REFERENCE / row["FilePath"].replace("../../../../", "")
            if path.suffix.lower() not in (".jpg", ".png") or not path.is_file():
                continue
            data = path.read_bytes()
            mine = hamming(hash_image(data).pdq, row["Hash"])
            ours.append(mine)
            other = ""
            if te is not None:
                theirs.append(hamming(te(data), row["Hash"]))
                other = str(theirs[-1])
            print(f"| {path.relative_to(REFERENCE / 'data')} | {mine} | {other} |")
    print(f"| mean / max | {statistics.mean(ours):.1f} / {max(ours)} |", end="")
    print(f" {statistics.mean(theirs):.1f} / {max(theirs)} |" if theirs else " |")


def load_threatexchange() -> Callable[[bytes], str] | None:
    try:
        from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes
    except Exception as exc:  # ImportError, or pdqhash's numpy-1 wheel failing under numpy 2
        print(f"python-threatexchange unavailable: {type(exc).__name__}: {exc}")
        return None

    def te(data: bytes) -> str:
        return str(pdq_from_bytes(data)[0])

    return te


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--crops", type=int, default=300, help="photo crops for the drift check")
    ap.add_argument("--workdir", type=Path, help="keep the generated JPEGs here and reuse them")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus, ")
    print(f"python {platform.python_version()}, commit {commit or 'unknown'}, pinned to one core")
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    files = synthetic_jpegs(args.count, args.workdir)
    te = load_threatexchange()

    ours_rate, ours = per_second(hash_image, files)
    print("\n| contender | images/s per core | ms per image |")
    print("| --- | --- | --- |")
    print(f"| perisai hash_image (SHA-256+MD5+PDQ+8 dihedral) | {ours_rate:.0f} | ", end="")
    print(f"{1000 / ours_rate:.2f} |")
    if te is not None:
        te_rate, theirs = per_second(te, files)
        print(
            f"| threatexchange pdq_from_bytes (PDQ only) | {te_rate:.0f} | {1000 / te_rate:.2f} |"
        )
        print(f"speed-up: {ours_rate / te_rate:.1f}x")
        d = [hamming(a.pdq, b) for a, b in zip(ours, theirs, strict=True)]
        print(f"perisai (fast path) vs threatexchange on the same files: {summary(d)}")
    print()
    drift(files, "synthetic JPEGs")
    if (REFERENCE / "data").is_dir() and args.crops:
        drift(photo_crops(args.crops), "1280x960 crops of the reference photos")
    reference_distances(te)


if __name__ == "__main__":
    main()
