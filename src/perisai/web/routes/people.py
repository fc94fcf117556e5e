"""Pages for people: the at-risk register, registered victims, offenders; reports."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from ...custody import utc_now
from ...errors import PerisaiError
from ..auth import ADMIN, CASEWORKER, INVESTIGATOR, PEOPLE, REPORTS, REVIEW, User
from . import case_of, render

router = APIRouter()

# Which roles may generate which report: caseworkers get the victims' report only.
REPORT_ROLES = {
    "police": {ADMIN, INVESTIGATOR},
    "takedown": {ADMIN, INVESTIGATOR},
    "vics": {ADMIN, INVESTIGATOR},
    "ncmec": {ADMIN, INVESTIGATOR},
    "victims": {ADMIN, CASEWORKER},
}
FORMATS = {"police": "html", "takedown": "html", "victims": "html", "vics": "json", "ncmec": "xml"}
MEDIA_TYPES = {
    "html": "text/html",
    "pdf": "application/pdf",
    "json": "application/json",
    "xml": "application/xml",
    "zip": "application/zip",
}


@router.get("/atrisk")
def atrisk(request: Request, user: Annotated[User, Depends(PEOPLE)]) -> Response:
    from ...analysis.atrisk import STATUSES, at_risk

    return render(request, "atrisk.html", user, people=at_risk(case_of(request)), statuses=STATUSES)


@router.post("/atrisk/{person_id}/status")
def atrisk_status(
    request: Request,
    person_id: int,
    user: Annotated[User, Depends(PEOPLE)],
    status: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    from ...analysis.atrisk import set_status

    try:
        with request.app.state.lock:
            set_status(case_of(request), person_id, status, note.strip() or None, who=user.name)
    except PerisaiError as exc:
        return render(request, "error.html", user, message=str(exc), status_code=400)
    return RedirectResponse(f"/atrisk#p{person_id}", status_code=303)


@router.get("/victims")
def victims(request: Request, user: Annotated[User, Depends(PEOPLE)]) -> Response:
    from ...victims import list_victims

    return render(request, "victims.html", user, victims=list_victims(case_of(request)))


@router.get("/offenders")
def offenders(request: Request, user: Annotated[User, Depends(REVIEW)]) -> Response:
    from ...analysis.offenders import profiles

    return render(request, "offenders.html", user, offenders=profiles(case_of(request)))


@router.get("/reports")
def reports(request: Request, user: Annotated[User, Depends(REPORTS)]) -> Response:
    kinds = [k for k, roles in REPORT_ROLES.items() if user.role in roles]
    return render(
        request, "reports.html", user, kinds=kinds, bundle=user.role in (ADMIN, INVESTIGATOR)
    )


def _out_dir(request: Request) -> Path:
    folder = case_of(request).root / "web-reports"
    folder.mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=utc_now().replace(":", "") + "-", dir=folder))


@router.post("/reports/{kind}")
def make_report(
    request: Request,
    kind: str,
    user: Annotated[User, Depends(REPORTS)],
    fmt: Annotated[str, Form(max_length=8)] = "html",
) -> Response:
    from ...reports import render as render_report

    if user.role not in REPORT_ROLES.get(kind, set()):
        return render(request, "error.html", user, message="not for your role", status_code=403)
    fmt = fmt if FORMATS[kind] == "html" and fmt in ("html", "pdf") else FORMATS[kind]
    target = _out_dir(request) / f"{kind}.{fmt}"
    try:
        with request.app.state.lock:
            written = render_report(case_of(request), kind, target, fmt=fmt, who=user.name)
    except PerisaiError as exc:
        return render(request, "error.html", user, message=str(exc), status_code=400)
    path = written[0]
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[fmt],
        filename=path.name,
        headers={"Cache-Control": "no-store"},
    )


@router.post("/bundle")
def make_bundle(request: Request, user: Annotated[User, Depends(REVIEW)]) -> Response:
    from ...evidence.bundle import create_bundle

    target = _out_dir(request) / "bundle.zip"
    try:
        with request.app.state.lock:
            create_bundle(case_of(request), target, who=user.name)
    except PerisaiError as exc:
        return render(request, "error.html", user, message=str(exc), status_code=400)
    return FileResponse(
        target,
        media_type=MEDIA_TYPES["zip"],
        filename="bundle.zip",
        headers={"Cache-Control": "no-store"},
    )
