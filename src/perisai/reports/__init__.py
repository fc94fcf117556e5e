"""Reports: police, victims (caseworkers), takedown, and the VICS and NCMEC exchange formats.

`render(case, kind, out)` is the one entry point. HTML reports come from Jinja templates in
`templates/` (autoescaped; bidi controls shown as visible escapes) and PDFs from the same HTML
through WeasyPrint with every non-`data:` URL refused. Each file is written atomically and
recorded as a `report.write` custody event with its SHA-256.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from .. import __version__
from ..case import Case
from ..errors import BadInput
from . import common

KINDS = ("police", "victims", "takedown", "vics", "ncmec")
HTML_KINDS = ("police", "victims", "takedown")
TEMPLATES = Path(__file__).with_name("templates")


def _finalize(value: Any) -> Any:
    # Markup comes from our own macros, whose expressions were finalised already.
    if isinstance(value, str) and not isinstance(value, Markup):
        return common.neutralise(value)
    return value


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = common.when
    env.filters["bidi"] = common.neutralise
    env.globals["display_names"] = common.display_names
    env.globals["version"] = __version__
    return env


def render_html(kind: str, ctx: dict[str, Any]) -> str:
    return environment().get_template(f"{kind}.html.j2").render(**ctx)


def _context(case: Case, kind: str, include_identities: bool, who: str | None) -> dict:
    if kind == "police":
        from .police import context
    elif kind == "victims":
        from .victims import context
    else:
        from .takedown import context
    return context(case, include_identities=include_identities, who=who)


def _targets(kind: str, out: Path, fmt: str | None) -> list[tuple[Path, str]]:
    suffix = out.suffix.lower()
    if kind in HTML_KINDS:
        if fmt not in (None, "html", "pdf", "both"):
            raise BadInput(f"unknown format {fmt!r} for {kind}: choose html, pdf or both")
        if suffix in (".html", ".htm", ".pdf"):
            if fmt == "both":
                raise BadInput(f"{out} names one file: give a folder for both HTML and PDF")
            return [(out, "pdf" if suffix == ".pdf" else "html")]
        wanted = ("html", "pdf") if fmt in (None, "both") else (fmt,)
        return [(out / f"{kind}.{f}", f) for f in wanted]
    ext = "json" if kind == "vics" else "xml"
    if fmt not in (None, ext):
        raise BadInput(f"{kind} is written as {ext}, not {fmt}")
    if suffix == f".{ext}":
        return [(out, ext)]
    return [(out / f"{kind}.{ext}", ext)]


def _writable(path: Path) -> None:
    """Make PATH's folder, or say in one line why OUT cannot be written (a file in the way,
    no permission, a read-only disk), before any report is written or logged."""
    if path.is_dir():
        raise BadInput(f"{path} is a folder: give a file name or the folder above it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    if not path.parent.is_dir():
        raise BadInput(f"cannot write {path}: {path.parent} is not a folder")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _pdf_bytes(html: str, path: Path) -> bytes:
    from .pdf import write_pdf

    tmp = path.with_name(f".{path.name}.{os.getpid()}.pdf.tmp")
    try:
        write_pdf(html, tmp)
        return tmp.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)


def render(
    case: Case,
    kind: str,
    out: Path | str,
    *,
    include_identities: bool = False,
    fmt: str | None = None,
    who: str | None = None,
    category_map: Path | str | None = None,
    thumbnails: bool = True,
) -> list[Path]:
    """Write one report; returns the files written.

    police/victims/takedown: OUT ending .html or .pdf is that one file, otherwise a folder that
    gets `<kind>.html` and `<kind>.pdf`. vics: OUT .json or folder/vics.json. ncmec: OUT .xml
    or folder/ncmec.xml. `include_identities` shows victims' identifiers unmasked in the police
    report. `category_map` (vics): a JSON file mapping our categories to VICS codes.
    `thumbnails=False` leaves out every embedded image (the evidence bundle carries no pixels)."""
    if kind not in KINDS:
        raise BadInput(f"unknown report kind {kind!r}: choose from {', '.join(KINDS)}")
    out = Path(out)
    if out.exists() and not out.is_dir() and out.suffix == "":
        raise BadInput(f"{out} exists and is not a folder")
    targets = _targets(kind, out, fmt)
    for path, _ in targets:
        _writable(path)
    payloads: list[tuple[Path, str, bytes]] = []
    if kind in HTML_KINDS:
        ctx = _context(case, kind, include_identities, who)
        html = render_html(kind, ctx if thumbnails else common.without_images(ctx))
        for path, f in targets:
            data = html.encode("utf-8") if f == "html" else _pdf_bytes(html, path)
            payloads.append((path, f, data))
    elif kind == "vics":
        from .vics import vics_json

        payloads.append((targets[0][0], "json", vics_json(case, category_map=category_map)))
    else:
        from .ncmec import ncmec_xml

        payloads.append((targets[0][0], "xml", ncmec_xml(case, who=who)))
    written = []
    for path, f, data in payloads:
        _atomic_write(path, data)
        sha = hashlib.sha256(data).hexdigest()
        with case.begin() as conn:
            case.log(
                conn,
                "report.write",
                {
                    "kind": kind,
                    "format": f,
                    "path": str(path),
                    "sha256": sha,
                    "size": len(data),
                    "include_identities": include_identities,
                    "thumbnails": thumbnails and kind == "police",
                },
                who,
            )
        written.append(path)
    return written


def describe(paths: list[Path]) -> list[dict[str, Any]]:
    """[{"path", "sha256", "size"}] for the --json output."""
    out = []
    for p in paths:
        data = p.read_bytes()
        out.append({"path": str(p), "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    return out


__all__ = ["KINDS", "describe", "render", "render_html"]
