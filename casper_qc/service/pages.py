"""HTML pages for QC leads (inline SVG plots; no script, nothing loaded from elsewhere).

* ``GET /`` - project figures, the agreement distribution, the annotator x annotator matrix,
  WER per annotator, flagged tasks (plot and list), what the report left out;
* ``GET /tasks/<id>`` - one task: annotators, pairs, flags, adopted annotation, downloads;
* ``GET /annotators`` - per-annotator table;
* ``POST /login`` (form field ``token``) - checks the API token and sets the session cookie,
  then redirects to ``next`` (a path on this service); ``POST /logout`` ends the session.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, request, session
from flask.typing import ResponseReturnValue

from .auth import refused, same, session_marker
from .render import login_page, render

__all__ = ["bp"]

bp = Blueprint("pages", __name__)


def _hub():
    return current_app.extensions["casper_qc"]


def _page(html: str) -> Response:
    return Response(html, mimetype="text/html")


@bp.get("/")
def overview() -> ResponseReturnValue:
    return _page(render("overview.html", **_hub().page_context(), standalone=False))


@bp.get("/annotators")
def annotators() -> ResponseReturnValue:
    return _page(render("annotators.html", **_hub().page_context(), standalone=False))


@bp.get("/tasks/<task_id>")
def task(task_id: str) -> ResponseReturnValue:
    hub = _hub()
    entry = hub.task(task_id)
    return _page(render("task.html", task=entry, project=hub.page_context()["project"], standalone=False))


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@bp.post("/login")
def login() -> ResponseReturnValue:
    settings = _hub().settings
    given = request.form.get("token", "")
    target = _safe_next(request.form.get("next"))
    if settings.token is None:
        return redirect(target, code=303)
    if not same(given.strip(), settings.token):
        return refused(403, "the API token is wrong", html=login_page("the API token is wrong", target))
    session.clear()
    session["auth"] = session_marker(settings.token)
    return redirect(target, code=303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect("/", code=303)
