"""Who may call the QC service.

* ``/health`` is open. Every other route requires the API token (``CASPER_QC_TOKEN``):
  ``Authorization: Bearer <token>``. A missing token is answered 401 (with
  ``WWW-Authenticate: Bearer``), a wrong one 403, both with ``{"detail": ...}`` (HTML pages: the
  sign-in form, same status).
* Browsers: ``POST /login`` with the token in the form sets a signed session cookie
  (HttpOnly, SameSite=Strict) that ``GET``/``HEAD`` requests may use instead of the header; the
  signing key is derived from the token, so a new token ends every session. Other methods
  (``POST /webhook``) never accept the cookie, except ``POST /logout``.
* ``POST /webhook`` also requires the shared secret ``CASPER_QC_WEBHOOK_SECRET`` in the
  ``X-Casper-QC-Webhook-Secret`` header; without a secret configured the webhook is off (403).
* Without a token configured the service answers loopback clients only (403 for anyone else),
  and ``casper-qc serve`` refuses to listen beyond loopback.

Tokens and secrets are compared in constant time and never logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from flask import Request, Response, session

from .settings import WEBHOOK_SECRET_HEADER, ServiceSettings

__all__ = ["same", "session_key", "session_marker", "check", "check_webhook_secret", "OPEN_ENDPOINTS"]

#: Endpoints that need no credentials.
OPEN_ENDPOINTS = frozenset({"meta.health"})


def same(given: str | None, expected: str | None) -> bool:
    """Constant-time equality of two secrets (False when either is missing)."""
    if given is None or expected is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def session_key(token: str) -> bytes:
    """The session signing key derived from the API token."""
    return hmac.new(token.encode("utf-8"), b"casper-qc session signing key", hashlib.sha256).digest()


def session_marker(token: str) -> str:
    """What a signed-in session holds: proof the holder once presented the token."""
    return hmac.new(token.encode("utf-8"), b"casper-qc signed in", hashlib.sha256).hexdigest()


def loopback(request: Request) -> bool:
    try:
        return ipaddress.ip_address((request.remote_addr or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def check(request: Request, settings: ServiceSettings) -> tuple[int, str] | None:
    """None if ``request`` may proceed, else (status, detail) to refuse it with."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    token = settings.token
    if token is None:
        if loopback(request):
            return None
        return 403, ("this service has no API token configured (CASPER_QC_TOKEN) and answers only clients "
                     "on its own machine")
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return 401, "send the API token as 'Authorization: Bearer <token>'"
        if same(value.strip(), token):
            return None
        return 403, "the API token is wrong"
    cookie_ok = request.method in ("GET", "HEAD") or request.endpoint == "pages.logout"
    if cookie_ok and same(session.get("auth"), session_marker(token)):
        return None
    if request.endpoint == "pages.login" and request.method == "POST":
        return None  # the sign-in form carries the token itself (checked by the view)
    return 401, "authentication required: send 'Authorization: Bearer <token>' (the service's CASPER_QC_TOKEN)"


def check_webhook_secret(request: Request, settings: ServiceSettings) -> tuple[int, str] | None:
    """None if the webhook's shared secret is right, else (403, detail)."""
    if settings.webhook_secret is None:
        return 403, "the webhook is off: set CASPER_QC_WEBHOOK_SECRET and send it in the " \
                    f"{WEBHOOK_SECRET_HEADER} header"
    if same(request.headers.get(WEBHOOK_SECRET_HEADER), settings.webhook_secret):
        return None
    return 403, f"the {WEBHOOK_SECRET_HEADER} header is missing or wrong"


def refused(status: int, detail: str, *, html: str | None = None) -> Response:
    """The refusal response: JSON ``{"detail"}`` (or ``html`` for a browser page)."""
    from flask import jsonify

    if html is not None:
        response = Response(html, status=status, mimetype="text/html")
    else:
        response = jsonify(detail=detail)
        response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="casper-qc"'
    return response
