"""The QC service's settings, read from environment variables (or a mapping of the same names).

=============================  =============================================================
variable                       meaning
=============================  =============================================================
``CASPER_QC_TOKEN``            the API token; every route but ``/health`` requires
                               ``Authorization: Bearer <token>`` (pages also accept the session
                               cookie set by ``POST /login``). Unset: the service answers
                               clients on this machine only, and ``casper-qc serve`` refuses
                               to listen beyond loopback.
``CASPER_QC_WEBHOOK_SECRET``   the shared secret Label Studio sends in the
                               ``X-Casper-QC-Webhook-Secret`` header of ``POST /webhook``
                               (configure it among the webhook's headers). Unset: the webhook
                               is off (403).
``CASPER_QC_FROM``             a Label Studio JSON export file to report on, or
``CASPER_QC_PROJECT``          a Label Studio project id, read live from
``LABEL_STUDIO_URL``           the server (``http(s)://host:port``) with
``LABEL_STUDIO_API_KEY``       a legacy token or a personal access token (label-studio-sdk
                               sends each the way the server expects)
``CASPER_QC_REFERENCES``       a references directory (:mod:`casper_qc.qc.references`)
``CASPER_QC_LABEL_CONFIG``     a label config file or bundled name (default: the project's own
                               on a live pull, ``conversation`` for an export)
``CASPER_QC_THRESHOLDS``       a JSON file of review thresholds (:mod:`casper_qc.qc.settings`)
``CASPER_QC_NORMALIZER``       ``normalized`` (default) or ``verbatim`` WER
``CASPER_QC_MAX_BODY``         largest request body in bytes (default 64 MiB)
=============================  =============================================================

Nothing here is logged; :meth:`ServiceSettings.describe` leaves secrets out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ConfigError

__all__ = ["ServiceSettings", "WEBHOOK_SECRET_HEADER"]

#: The header carrying the webhook's shared secret.
WEBHOOK_SECRET_HEADER = "X-Casper-QC-Webhook-Secret"


def _text(env: Mapping[str, Any], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


@dataclass(frozen=True)
class ServiceSettings:
    """Settings of one service instance (module docstring)."""

    token: str | None = None
    webhook_secret: str | None = None
    export: str | None = None
    project: int | None = None
    labelstudio_url: str | None = None
    labelstudio_key: str | None = None
    references: str | None = None
    label_config: str | None = None
    thresholds: str | None = None
    normalizer: str = "normalized"
    max_body: int = 64 * 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, Any]) -> "ServiceSettings":
        """Settings from ``env`` (``os.environ`` or a mapping of the same names).

        Raises:
            ConfigError: a value that cannot be used (the message names the variable).
        """
        project = _text(env, "CASPER_QC_PROJECT")
        if project is not None:
            try:
                project_id = int(project)
            except ValueError:
                raise ConfigError(f"must be a project id (a number), not {project!r}", where="CASPER_QC_PROJECT") from None
        else:
            project_id = None
        normalizer = _text(env, "CASPER_QC_NORMALIZER") or "normalized"
        if normalizer not in ("normalized", "verbatim"):
            raise ConfigError(f"must be normalized or verbatim, not {normalizer!r}", where="CASPER_QC_NORMALIZER")
        max_body = _text(env, "CASPER_QC_MAX_BODY")
        try:
            body = int(max_body) if max_body is not None else 64 * 1024 * 1024
        except ValueError:
            raise ConfigError(f"must be a number of bytes, not {max_body!r}", where="CASPER_QC_MAX_BODY") from None
        token = _text(env, "CASPER_QC_TOKEN")
        if token is not None and len(token) < 16:
            raise ConfigError("is too short: use at least 16 characters (e.g. `python -c 'import secrets; "
                              "print(secrets.token_urlsafe(32))'`)", where="CASPER_QC_TOKEN")
        return cls(token=token, webhook_secret=_text(env, "CASPER_QC_WEBHOOK_SECRET"),
                   export=_text(env, "CASPER_QC_FROM"), project=project_id,
                   labelstudio_url=_text(env, "LABEL_STUDIO_URL"), labelstudio_key=_text(env, "LABEL_STUDIO_API_KEY"),
                   references=_text(env, "CASPER_QC_REFERENCES"), label_config=_text(env, "CASPER_QC_LABEL_CONFIG"),
                   thresholds=_text(env, "CASPER_QC_THRESHOLDS"), normalizer=normalizer, max_body=body)

    def describe(self) -> dict[str, Any]:
        """What the service runs with, without secrets."""
        return {"token": self.token is not None, "webhook": self.webhook_secret is not None,
                "export": self.export, "project": self.project, "labelstudio_url": self.labelstudio_url,
                "references": self.references, "label_config": self.label_config, "thresholds": self.thresholds,
                "normalizer": self.normalizer}

    def open_state(self):
        """The project's QC state as these settings describe it.

        Raises:
            InputError: no source, or a source or references that cannot be read.
        """
        from ..metrics.normalize import MODES
        from ..qc.settings import QCOptions, thresholds_from
        from ..qc.state import load_state

        if self.export is None and self.project is None:
            raise ConfigError("nothing to report on: set CASPER_QC_FROM (a JSON export) or CASPER_QC_PROJECT "
                              "(with LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY)")
        options = QCOptions(thresholds=thresholds_from(self.thresholds), normalizer=MODES[self.normalizer])
        return load_state(export=self.export, project=self.project, url=self.labelstudio_url,
                          api_key=self.labelstudio_key, references=self.references, config=self.label_config,
                          options=options)
