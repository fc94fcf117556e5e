"""Supervisor pages: the team's exposure totals, the budget, and user accounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ...errors import PerisaiError
from ...users import (
    ROLES,
    add_user,
    budget,
    exposure,
    list_users,
    set_budget,
    set_disabled,
    set_password,
)
from ..auth import ADMINS, User
from . import case_of, render

router = APIRouter()


@router.get("/admin")
def admin(request: Request, user: Annotated[User, Depends(ADMINS)], day: str = "") -> Response:
    case = case_of(request)
    day = day if len(day) == 10 and day[4] == "-" and day[7] == "-" else ""
    return render(
        request,
        "admin.html",
        user,
        team=exposure(case, day or None),
        budget=budget(case),
        users=list_users(case),
        roles=ROLES,
        day=day,
    )


@router.post("/admin/budget")
def admin_budget(
    request: Request,
    user: Annotated[User, Depends(ADMINS)],
    reveals: Annotated[int, Form(ge=0, le=10000)],
    minutes: Annotated[int, Form(ge=0, le=1440)],
) -> Response:
    with request.app.state.lock:
        set_budget(case_of(request), reveals, minutes, who=user.name)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/users")
def admin_add_user(
    request: Request,
    user: Annotated[User, Depends(ADMINS)],
    name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    try:
        with request.app.state.lock:
            add_user(case_of(request), name, role, password, who=user.name)
    except PerisaiError as exc:
        return render(request, "error.html", user, message=str(exc), status_code=400)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/users/{name}/disable")
def admin_disable_user(
    request: Request, name: str, user: Annotated[User, Depends(ADMINS)]
) -> Response:
    """Disable an account; its sessions end at once (the next request is logged out)."""
    return _change(request, user, lambda: set_disabled(case_of(request), name, True, user.name))


@router.post("/admin/users/{name}/enable")
def admin_enable_user(
    request: Request, name: str, user: Annotated[User, Depends(ADMINS)]
) -> Response:
    return _change(request, user, lambda: set_disabled(case_of(request), name, False, user.name))


@router.post("/admin/users/{name}/password")
def admin_set_password(
    request: Request,
    name: str,
    user: Annotated[User, Depends(ADMINS)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    """A new password for an account; ends its sessions (an admin changing her own password
    logs herself out too)."""
    return _change(request, user, lambda: set_password(case_of(request), name, password, user.name))


def _change(request: Request, user: User, action: Callable[[], object]) -> Response:
    try:
        with request.app.state.lock:
            action()
    except PerisaiError as exc:
        return render(request, "error.html", user, message=str(exc), status_code=400)
    return RedirectResponse("/admin", status_code=303)
