"""Review queue: text description first, then the blurred preview; reveal; decisions."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ...decisions import CATEGORIES, decide
from ...errors import PerisaiError
from .. import review as rv
from ..auth import REVIEW, User
from . import case_of, render

router = APIRouter()
PAGE = 25
NO_STORE = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}


CACHE_SECONDS = 5.0


def clusters(request: Request) -> list[dict[str, Any]]:
    """The queue, computed at most every CACHE_SECONDS per process (and after each decision).
    Only the descriptions come from here: image routes check `blocked()` in the database."""
    state = request.app.state
    now = time.monotonic()
    cached = getattr(state, "clusters", None)
    if cached is None or now - cached[0] > CACHE_SECONDS:
        cached = (now, rv.clusters(case_of(request)))
        state.clusters = cached
    return cached[1]


def _forget(request: Request) -> None:
    request.app.state.clusters = None


def _find(request: Request, sha: str) -> dict[str, Any] | None:
    return next((c for c in clusters(request) if c["sha256"] == sha), None)


def _touch(request: Request, user: User) -> dict:
    case = case_of(request)
    rv.touch_review(case, user.id)  # its own short transaction; no custody event
    return rv.meter(case, user.id)


@router.get("/review")
def queue(request: Request, user: Annotated[User, Depends(REVIEW)], page: int = 0) -> Response:
    meter = _touch(request, user)
    if meter["stopped"]:
        return render(request, "stop.html", user, meter=meter, status_code=403)
    items = clusters(request)
    page = max(0, page)
    return render(
        request,
        "queue.html",
        user,
        meter=meter,
        items=items[page * PAGE : (page + 1) * PAGE],
        total=len(items),
        undecided=sum(1 for c in items if c["decision"] is None),
        page=page,
        pages=(len(items) + PAGE - 1) // PAGE,
    )


@router.get("/review/{sha}")
def item(
    request: Request,
    sha: str,
    user: Annotated[User, Depends(REVIEW)],
    reveal: int | None = None,
) -> Response:
    meter = _touch(request, user)
    if meter["stopped"]:
        return render(request, "stop.html", user, meter=meter, status_code=403)
    case = case_of(request)
    found = _find(request, sha)
    if found is None:
        return render(request, "error.html", user, message="no such cluster", status_code=404)
    with case.engine.connect() as conn:
        why = rv.blocked(conn, sha)  # live, not from the cached queue
    if why is not None:
        found = {**found, "blocked": why, "has_preview": False, "keyframes": False}
    active = rv.active_reveal(case, user.id, reveal) if reveal else None
    if active and active["sha256"] != sha:
        active = None
    return render(
        request,
        "item.html",
        user,
        meter=meter,
        c=found,
        categories=CATEGORIES,
        active=active,
        refresh=active["seconds_left"] if active else None,
    )


@router.get("/media/{sha}/preview.jpg")
def preview(request: Request, sha: str, user: Annotated[User, Depends(REVIEW)]) -> Response:
    meter = _touch(request, user)
    data = None if meter["stopped"] else rv.preview_bytes(case_of(request), sha)
    if data is None:
        return Response("no preview", status_code=404, headers=NO_STORE)
    return Response(data, media_type="image/jpeg", headers=NO_STORE)


@router.get("/media/{sha}/keyframes.jpg")
def keyframes(request: Request, sha: str, user: Annotated[User, Depends(REVIEW)]) -> Response:
    """A video's blurred greyscale keyframe strip (never the video itself)."""
    meter = _touch(request, user)
    data = None if meter["stopped"] else rv.keyframe_bytes(case_of(request), sha)
    if data is None:
        return Response("no keyframes", status_code=404, headers=NO_STORE)
    return Response(data, media_type="image/jpeg", headers=NO_STORE)


@router.post("/review/{sha}/reveal")
def reveal(request: Request, sha: str, user: Annotated[User, Depends(REVIEW)]) -> Response:
    _touch(request, user)
    case = case_of(request)
    try:
        with request.app.state.lock:
            made = rv.reveal(case, user.id, user.name, sha)
    except rv.Refused as exc:
        meter = rv.meter(case, user.id)
        return render(
            request, "refused.html", user, meter=meter, message=str(exc), sha=sha, status_code=403
        )
    return RedirectResponse(f"/review/{sha}?reveal={made['id']}", status_code=303)


@router.get("/reveal/{reveal_id}.jpg")
def reveal_image(
    request: Request, reveal_id: int, user: Annotated[User, Depends(REVIEW)]
) -> Response:
    case = case_of(request)
    active = rv.active_reveal(case, user.id, reveal_id)
    data = rv.reveal_bytes(case, active["sha256"]) if active else None
    if data is None:
        return Response("reveal expired or not allowed", status_code=404, headers=NO_STORE)
    return Response(data, media_type="image/jpeg", headers=NO_STORE)


@router.post("/review/{sha}/decide")
def decision(
    request: Request,
    sha: str,
    user: Annotated[User, Depends(REVIEW)],
    category: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    case = case_of(request)
    if _find(request, sha) is None:
        return render(request, "error.html", user, message="no such cluster", status_code=404)
    try:
        with request.app.state.lock:
            decide(case, sha, category, note.strip() or None, who=user.name)
        _forget(request)
    except PerisaiError as exc:
        return render(request, "error.html", user, message=str(exc), status_code=400)
    return RedirectResponse("/review", status_code=303)


@router.post("/wellbeing/break")
def took_break(request: Request, user: Annotated[User, Depends(REVIEW)]) -> Response:
    with request.app.state.lock:
        rv.took_break(case_of(request), user.id, user.name)
    return RedirectResponse("/review", status_code=303)
