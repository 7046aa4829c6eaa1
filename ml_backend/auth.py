"""Who may call the backend.

* With ``BASIC_AUTH_USER``/``BASIC_AUTH_PASS`` set, every route but ``/webhook`` requires those
  credentials (Label Studio sends them when the ML backend is connected with "Basic Auth").
* Without them, the backend answers loopback clients only (403 for anyone else): a backend
  without credentials must never be reachable from the network, whatever it is bound to.
* ``/webhook`` never gets basic-auth credentials from Label Studio; it checks the shared secret
  ``CASPER_WEBHOOK_SECRET`` in the ``X-Casper-Webhook-Secret`` header instead (Label Studio sends
  the extra headers configured on the webhook). Without a secret configured, webhooks are
  accepted only while basic auth is off as well (the loopback-only development setup).

Comparisons are constant-time. Nothing here logs a credential.
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import Request, Response

from .config import Settings
from .errors import problem

__all__ = ["WEBHOOK_SECRET_HEADER", "check_request", "check_basic_auth", "check_webhook"]

WEBHOOK_SECRET_HEADER = "X-Casper-Webhook-Secret"


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _loopback(request: Request) -> bool:
    try:
        return ipaddress.ip_address((request.remote_addr or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def check_request(request: Request, settings: Settings) -> Response | None:
    """None if ``request`` may proceed, else the 401/403 response to send (any route)."""
    if settings.auth_enabled:
        return None  # credentials are checked per route (see check_basic_auth / check_webhook)
    if _loopback(request):
        return None
    return problem(403, "this ML backend has no credentials configured (BASIC_AUTH_USER, "
                        "BASIC_AUTH_PASS) and answers only clients on this machine")


def check_basic_auth(request: Request, settings: Settings) -> Response | None:
    """None if basic auth is off or the request carries the right credentials, else a 401."""
    if not settings.auth_enabled:
        return None
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        # both compared, always: the time taken does not tell which one was wrong
        user_ok = _same(auth.username, settings.basic_auth_user or "")
        pass_ok = _same(auth.password, settings.basic_auth_pass or "")
        if user_ok and pass_ok:
            return None
    return problem(401, "authentication required: connect the ML backend in Label Studio with "
                        "Basic Auth and the backend's BASIC_AUTH_USER/BASIC_AUTH_PASS",
                   {"WWW-Authenticate": 'Basic realm="casper-qc ML backend", charset="UTF-8"'})


def check_webhook(request: Request, settings: Settings) -> Response | None:
    """None if the webhook request carries the shared secret (or none is needed), else a 401/403."""
    if settings.webhook_secret:
        if _same(request.headers.get(WEBHOOK_SECRET_HEADER), settings.webhook_secret):
            return None
        return problem(401, f"webhook refused: the {WEBHOOK_SECRET_HEADER} header is missing or wrong "
                            "(add it to the webhook's headers in Label Studio)")
    if settings.auth_enabled:
        return problem(403, "webhook refused: set CASPER_WEBHOOK_SECRET on the backend and send it in "
                            f"the {WEBHOOK_SECRET_HEADER} header")
    return None
