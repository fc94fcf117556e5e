"""Login, logout, the summary page and message search."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, or_, select

from ...store import models as m
from ...users import LoginRefused, authenticate
from ..auth import (
    ANY,
    COOKIE,
    LOGIN_COOKIE,
    REVIEW,
    SESSION_HOURS,
    User,
    end_session,
    lookup,
    new_session,
    same,
)
from . import case_of, render

router = APIRouter()
PAGE = 100


def _login_page(request: Request, error: str | None, status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request, "login.html", None, status_code=status_code, login_csrf=token, error=error
    )
    response.set_cookie(
        LOGIN_COOKIE, token, max_age=900, secure=True, httponly=True, samesite="strict"
    )
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    if lookup(case_of(request), request.cookies.get(COOKIE)):
        return RedirectResponse("/", status_code=303)
    return _login_page(request, None)


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not same(csrf, request.cookies.get(LOGIN_COOKIE)):
        return _login_page(request, "The form expired: please try again.", 403)
    case = case_of(request)
    client = request.client.host if request.client else "unknown"
    try:
        user = authenticate(case, name, password, client, guard=request.app.state.lock)
    except LoginRefused as exc:
        return _login_page(request, str(exc), 401)
    with request.app.state.lock:
        token = new_session(case, user["id"])
        with case.begin() as conn:
            case.log(conn, "web.login", {"user": user["name"], "role": user["role"]}, user["name"])
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        secure=True,
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(LOGIN_COOKIE, secure=True, httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, user: Annotated[User, Depends(ANY)]) -> Response:
    end_session(case_of(request), request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, secure=True, httponly=True, samesite="strict")
    return response


@router.get("/")
def home(request: Request, user: Annotated[User, Depends(ANY)]) -> Response:
    from ...stats import stats

    return render(request, "home.html", user, stats=stats(case_of(request)))


@router.get("/out")
def leave(request: Request, user: Annotated[User, Depends(ANY)], to: str = "") -> Response:
    """The click-through warning for a link found in message text: the URL as escaped text
    and, only for http(s) and tg:// targets, a plain link onwards (no referrer)."""
    from ..links import MAX_URL, target

    shown = to[: MAX_URL + 1]
    return render(request, "out.html", user, url=shown, target=target(shown))


@router.get("/messages")
def messages(
    request: Request,
    user: Annotated[User, Depends(REVIEW)],
    q: str = "",
    chat: int = 0,
    page: int = 0,
) -> Response:
    """Message search over the newest version of each message; text is shown escaped and
    links are never live."""
    from ...stats import _latest

    M, CH, AN = m.MESSAGES, m.CHATS, m.ACTOR_NAMES
    latest = _latest()
    q = q.strip()[:200]
    stmt = (
        select(M.c.id, M.c.message_id, M.c.date_utc, M.c.text, CH.c.name.label("chat"))
        .join(latest, latest.c.id == M.c.id)
        .join(CH, CH.c.id == M.c.chat_id)
        .add_columns(M.c.sender_id)
    )
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(M.c.text.ilike(like, escape="\\")))
    if chat:
        stmt = stmt.where(M.c.chat_id == chat)
    page = max(0, page)
    case = case_of(request)
    with case.engine.connect() as conn:
        chats = conn.execute(select(CH.c.id, CH.c.name).order_by(CH.c.id)).all()
        total = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = conn.execute(
            stmt.order_by(M.c.date_utc, M.c.id).limit(PAGE).offset(page * PAGE)
        ).all()
        senders = {r.sender_id for r in rows if r.sender_id is not None}
        names: dict[int, str] = {}
        if senders:
            for r in conn.execute(
                select(AN.c.actor_id, AN.c.value)
                .where(AN.c.actor_id.in_(senders), AN.c.name_kind == "display_name")
                .order_by(AN.c.id)
            ):
                names[r.actor_id] = r.value
    return render(
        request,
        "messages.html",
        user,
        q=q,
        chat=chat,
        chats=chats,
        page=page,
        total=total,
        pages=(total + PAGE - 1) // PAGE,
        rows=[{**r._mapping, "sender": names.get(r.sender_id, "")} for r in rows],
    )
