"""The review web UI: a FastAPI app over one case (see docs/web.md).

Server-rendered Jinja2 pages, autoescaped, with bidi and other invisible controls shown as
visible escapes; no JavaScript at all, so the Content-Security-Policy can forbid scripts.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from ..case import Case
from ..reports.common import neutralise
from .auth import Forbidden, NotLoggedIn
from .links import linkify

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; media-src 'none'; frame-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):  # already escaped and neutralised (e.g. by `linkify`)
        return value
    return neutralise(value) if isinstance(value, str) else value


def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(HERE / "templates"))
    t.env.autoescape = True
    t.env.finalize = _finalize
    t.env.filters["linkify"] = linkify
    return t


def routers() -> list[APIRouter]:
    """Every router of the app: the only place routes come from (tests enumerate them)."""
    from .routes import admin, network, pages, people, review

    return [module.router for module in (pages, review, people, network, admin)]


def create_app(case: Case) -> FastAPI:
    """The app for one open case. `app.state.lock` serialises writes (one custody chain)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.case = case
    app.state.lock = threading.Lock()
    app.state.templates = templates()

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.update(HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        if request.method in ("GET", "HEAD"):
            return RedirectResponse("/login", status_code=303)
        return HTMLResponse("not logged in", status_code=403)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return app.state.templates.TemplateResponse(
            request, "error.html", {"message": str(exc), "user": None}, status_code=403
        )

    for router in routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    return app


def serve(case: Case, host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    uvicorn.run(
        create_app(case),
        host=host,
        port=port,
        log_level="info",
        access_log=False,  # URLs carry search terms; the custody log records what matters
        server_header=False,
        proxy_headers=False,
    )
