"""Victim-hash entry point: ``python -m perisai.media PATH... -o FILE`` on her own device."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from perisai.media.victim_hash import victim_hash


def main(argv: list[str] | None = None) -> int:
    """``python -m perisai.media PATH... -o FILE``: ``perisai victim-hash`` without the CLI."""
    ap = argparse.ArgumentParser(description="Hash your own pictures and videos; no pixels leave.")
    ap.add_argument("paths", nargs="+", type=Path, help="files or folders")
    ap.add_argument("-o", "--output", type=Path, required=True, help="the JSON file to write")
    args = ap.parse_args(argv)
    doc = victim_hash(args.paths)
    args.output.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    errors = sum(1 for item in doc["items"] if "error" in item)
    print(f"{len(doc['items']) - errors} files hashed, {errors} not hashed -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
