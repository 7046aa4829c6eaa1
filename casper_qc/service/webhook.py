"""``POST /webhook``: Label Studio's project events update the report before the answer.

Set it up in Label Studio (project settings -> Webhooks, or ``client.webhooks.create``): URL
``http://<service>/webhook``, "send payload" on, the actions ``ANNOTATION_CREATED``,
``ANNOTATION_UPDATED``, ``ANNOTATIONS_CREATED``, ``ANNOTATIONS_DELETED``, ``TASKS_CREATED``,
``TASKS_DELETED``, and two headers: ``Authorization: Bearer <CASPER_QC_TOKEN>`` and
``X-Casper-QC-Webhook-Secret: <CASPER_QC_WEBHOOK_SECRET>``.

The event is applied synchronously (:meth:`casper_qc.qc.state.QCState.apply`: one task
recomputed, the aggregates updated), so when the answer arrives the report already holds it.
Answers: 200 ``{"action", "status": "updated"|"ignored", "recomputed", "removed", "left_out"}``;
400 for a body that is not an event; 403 for a missing or wrong secret; 409 for another
project's event.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from ..errors import FormatError
from .auth import check_webhook_secret, refused

__all__ = ["bp"]

bp = Blueprint("webhook", __name__)
log = logging.getLogger("casper_qc.service.webhook")


@bp.post("/webhook")
def receive() -> ResponseReturnValue:
    hub = current_app.extensions["casper_qc"]
    verdict = check_webhook_secret(request, hub.settings)
    if verdict is not None:
        return refused(*verdict)
    event = request.get_json(silent=True)
    if event is None:
        raise FormatError("the body is not JSON (send the event with Content-Type: application/json)",
                          where="webhook")
    result = hub.apply(event)
    log.info("webhook %s: recomputed %s, removed %s, left out %d", result.action, result.recomputed,
             result.removed, len(result.left_out))
    return jsonify(result.to_dict())
