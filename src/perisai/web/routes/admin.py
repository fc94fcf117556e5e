"""Supervisor pages: the team's exposure totals, the budget, and user accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ...errors import PerisaiError
from ...users import ROLES, add_user, budget, exposure, list_users, set_budget
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
