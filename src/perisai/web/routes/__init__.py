"""Route modules of the web UI; each has a `router`, and every route depends on auth.Require."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from ...case import Case
from ..auth import User


def case_of(request: Request) -> Case:
    case: Case = request.app.state.case
    return case


def render(
    request: Request, name: str, user: User | None, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    ctx.update(user=user, csrf=user.csrf if user else None)
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, ctx, status_code=status_code
    )
    return response
