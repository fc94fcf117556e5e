"""Project VIC VICS 2.0 case JSON: hashes and categories, no files.

Shape (OData, as VICS 2.0 tools exchange it):
`{"@odata.context": ".../DataModels/2.0.xml/US/$metadata#Cases", "value": [{"CaseID", "CaseNumber",
"SourceApplicationName", "SourceApplicationVersion", "Media": [{"MediaID", "Category", "MD5",
"SHA1", "MediaSize", "MimeType", "IsPrecategorized", "RelativeFilePath", "MediaFiles":
[{"FileName", "FilePath"}], ...}]}]}`. MD5 and SHA1 are upper case as VICS tools write them.

Our categories are mapped per recipient: the default table follows the Project VIC US profile
(1 = child abuse material, 0 = non-pertinent); categories with no VICS meaning (ncii, voyeur,
doxx) and anything not yet categorised become null. `--category-map FILE` (JSON or TOML, our
category -> integer or null) replaces entries of the table.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

from .. import __version__
from ..case import Case
from ..errors import BadInput
from . import common as c

CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases"
DEFAULT_CATEGORY_MAP: dict[str, int | None] = {
    "csam": 1,
    "benign": 0,
    "none": 0,
    "ncii": None,
    "voyeur": None,
    "doxx": None,
    "uncategorised": None,
}


def load_category_map(path: Path | str | None) -> dict[str, int | None]:
    table = dict(DEFAULT_CATEGORY_MAP)
    if path is None:
        return table
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        given = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise BadInput(f"category map {path} is unreadable: {exc}") from None
    if not isinstance(given, dict):
        raise BadInput(f"category map {path} must map our categories to VICS codes")
    for key, value in given.items():
        if key not in table:
            raise BadInput(
                f"category map {path}: unknown category {key!r} "
                f"(ours are {', '.join(DEFAULT_CATEGORY_MAP)})"
            )
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise BadInput(f"category map {path}: {key} must map to an integer or null")
        table[key] = value
    return table


def vics_case(case: Case, category_map: Path | str | None = None) -> dict[str, Any]:
    table = load_category_map(category_map)
    with case.engine.connect() as conn:
        lk = c.Lookups(conn)
        media = c.media_index(case, conn, lk)
    items = []
    for n, x in enumerate(media, 1):
        paths = []
        for ref in x["where"]:
            p = ref.get("export_path")
            if p and p not in paths:
                paths.append(p)
        items.append(
            {
                "MediaID": n,
                "Category": table.get(x["category"]),
                "MD5": x["md5"].upper(),
                "SHA1": x["sha1"].upper(),
                "SHA256": x["sha256"],
                "MediaSize": x["size"],
                "MimeType": x["mime"],
                "IsPrecategorized": x["category_source"] == "list",
                "IsDistributed": len(x["where"]) > 0,
                "RelativeFilePath": paths[0] if paths else None,
                "MediaFiles": [{"FileName": PurePosixPath(p).name, "FilePath": p} for p in paths],
                "Comments": _comment(x),
            }
        )
    return {
        "@odata.context": CONTEXT,
        "value": [
            {
                "CaseID": case.meta.get("case_id"),
                "CaseNumber": case.meta.get("case_id"),
                "SourceApplicationName": "Perisai",
                "SourceApplicationVersion": __version__,
                "Media": items,
            }
        ],
    }


def _comment(x: dict[str, Any]) -> str:
    parts = [f"perisai category: {x['category']}"]
    if x["lists"]:
        parts.append("lists: " + ", ".join(x["lists"]))
    if x["vault_state"] != "stored":
        parts.append(f"bytes {x['vault_state']}: hash only")
    links = [r["link"] for r in x["where"] if r.get("link")][:5]
    if links:
        parts.append("posted at: " + " ".join(links))
    return "; ".join(parts)


def vics_json(case: Case, category_map: Path | str | None = None) -> bytes:
    doc = vics_case(case, category_map)
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
