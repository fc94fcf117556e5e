"""Whole-triage throughput and which near-duplicate transforms are found, on a synth export.

    .venv/bin/python benchmarks/triage.py [--messages 2000] [--photos 120] [--seed 3]

Prints seconds per stage (hash, group, match, nudity, preview, ocr, text, dox), items per
second, and a table of every transform in the synth ground truth with how many copies landed
in their original's cluster and matched a list holding the original (found or missed):
crops, borders and screenshot frames included, reported honestly rather than hidden.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--photos", type=int, default=120)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("PERISAI_PASSPHRASE", "benchmark-only")

    from perisai.case import Case
    from perisai.findings import findings
    from perisai.hashlists import import_list
    from perisai.ingest.telegram_export import ingest
    from perisai.pipeline import all_stages, triage
    from perisai.store import models as m
    from perisai.synth import synth

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        synth(root / "export", messages=args.messages, photos=args.photos, seed=args.seed)
        truth = json.loads((root / "export" / "ground_truth.json").read_text())
        case = Case.open(root / "case")
        ingest(case, root / "export")
        media = {x["path"]: x for x in truth["media"] if x.get("path")}
        print(f"export: {args.messages} messages, {len(media)} files, workers {args.workers}")
        print(f"{'stage':<8} {'items':>7} {'seconds':>8} {'items/s':>9}")
        total = 0.0
        for stage in all_stages(case):
            if stage.name == "match":
                continue  # measured below, once the list exists
            started = time.perf_counter()
            done = triage(case, workers=args.workers, only=stage.name)["stages"][stage.name]
            took = time.perf_counter() - started
            total += took
            rate = done["items"] / took if took and done["items"] else 0.0
            print(f"{stage.name:<8} {done['items']:>7} {took:>8.2f} {rate:>9.1f}")
        print(f"{'all':<8} {'':>7} {total:>8.2f}")

        with case.engine.connect() as conn:
            pdq = dict(
                conn.execute(
                    select(m.MEDIA_FILES.c.sha256, m.MEDIA_ANALYSIS.c.pdq).join(
                        m.MEDIA_ANALYSIS, m.MEDIA_ANALYSIS.c.media_id == m.MEDIA_FILES.c.id
                    )
                ).all()
            )
            cluster = dict(
                conn.execute(
                    select(m.MEDIA_FILES.c.sha256, m.CLUSTER_MEMBERS.c.cluster_id).join(
                        m.CLUSTER_MEMBERS, m.CLUSTER_MEMBERS.c.media_id == m.MEDIA_FILES.c.id
                    )
                ).all()
            )
        originals = sorted({x["derived_from"] for x in media.values() if x.get("derived_from")})
        lines = [f"pdq {pdq[media[p]['sha256']]}" for p in originals if media[p]["sha256"] in pdq]
        (root / "list.txt").write_text("\n".join(lines) + "\n")
        import_list(case, root / "list.txt", "originals", "ncii")
        started = time.perf_counter()
        triage(case, workers=1, only="match")
        print(f"match    {len(lines):>7} list hashes {time.perf_counter() - started:>6.2f} s")
        matched = {f["media_sha256"] for f in findings(case, "media.match")}

        table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for x in media.values():
            origin = media.get(x.get("derived_from") or "")
            if not origin:
                continue
            row = table[x["transform"]["name"]]
            row[0] += 1
            row[1] += cluster.get(x["sha256"]) == cluster.get(origin["sha256"]) is not None
            row[2] += x["sha256"] in matched
        print(f"\n{'transform':<22} {'copies':>6} {'grouped':>8} {'matched':>8}")
        for name, (n, grouped, hit) in sorted(table.items()):
            print(f"{name:<22} {n:>6} {grouped:>8} {hit:>8}")


if __name__ == "__main__":
    main()
