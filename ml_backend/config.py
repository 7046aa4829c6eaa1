"""Settings of the ML backend, read from environment variables.

The names Label Studio's own ML backends use are kept so that existing deployments carry over
(``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY``, ``BASIC_AUTH_USER``/``BASIC_AUTH_PASS``,
``LOCAL_FILES_DOCUMENT_ROOT``, ``MODEL_DIR``, ``LOG_LEVEL``); settings of our own start with
``CASPER_``. ``ml_backend/README.md`` documents every variable.

Contracts:

* :meth:`Settings.from_env` reads a mapping (``os.environ`` in production, a plain dict in
  tests) and raises :class:`~casper_qc.errors.ConfigError` naming the variable when a value is
  unusable. It creates nothing and touches no network (it only looks whether ``MODEL_DIR``
  holds a Whisper ``model.bin``).
* ``repr()`` of a :class:`Settings` never shows the API key, the basic-auth password or the
  webhook secret.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from casper_qc.errors import ConfigError

__all__ = ["Settings", "is_loopback_host", "default_cache_base"]

#: Pre-label parameters are read from ``CASPER_PRELABEL_<NAME>`` (upper-case field name).
PRELABEL_PREFIX = "CASPER_PRELABEL_"


def default_cache_base(env: Mapping[str, str]) -> Path:
    """``CASPER_QC_CACHE_DIR`` or ``~/.cache/casper-qc`` (where casper-qc keeps heavy state)."""
    base = env.get("CASPER_QC_CACHE_DIR")
    return Path(base).expanduser() if base else Path.home() / ".cache" / "casper-qc"


def is_loopback_host(host: str) -> bool:
    """True if ``host`` (a bind address or host name) only reaches this machine."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _text(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = env.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not value >= minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, not {raw}")
    return value


def _directory(env: Mapping[str, str], name: str, raw: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise ConfigError(f"{name} must be an absolute path, not {raw!r}")
    resolved = path.resolve()
    if resolved == Path(resolved.anchor):
        raise ConfigError(f"{name} must not be the file-system root")
    return resolved


def _base_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL such as http://label-studio:8080, not {raw!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"{name} must be a plain http(s) URL without credentials, query or fragment")
    return raw.rstrip("/")


@dataclass(frozen=True)
class Settings:
    """What the backend needs to know; see ``ml_backend/README.md`` for each variable.

    ``media_roots`` are local directories (resolved) and ``media_url_prefixes`` http(s) URL
    prefixes, both from ``CASPER_MEDIA_ROOTS``. ``prelabel`` holds the raw
    ``CASPER_PRELABEL_*`` values (lower-case names without the prefix); the predictor parses them.
    ``draft_field`` is the task data field that may hold a draft transcript; ``asr_engine`` the
    local speech recognizer that drafts transcripts for tasks without one (None: no ASR).
    """

    label_studio_url: str | None = None
    label_studio_api_key: str | None = field(default=None, repr=False)
    basic_auth_user: str | None = None
    basic_auth_pass: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    local_files_document_root: Path | None = None
    media_roots: tuple[Path, ...] = ()
    media_url_prefixes: tuple[str, ...] = ()
    model_dir: Path = field(default_factory=lambda: default_cache_base({}) / "ml-backend")
    cache_dir: Path = field(default_factory=lambda: default_cache_base({}) / "ml-backend" / "cache")
    log_level: str = "INFO"
    fetch_timeout: float = 30.0
    max_audio_bytes: int = 2 * 1024**3
    max_concurrent_predictions: int = 2
    max_request_bytes: int = 64 * 1024**2
    prelabel: Mapping[str, str] = field(default_factory=dict)
    draft_field: str = "draft"
    asr_engine: str | None = None
    asr_model_dir: Path | None = None

    @property
    def auth_enabled(self) -> bool:
        """Basic auth is on when both ``BASIC_AUTH_USER`` and ``BASIC_AUTH_PASS`` are set."""
        return bool(self.basic_auth_user and self.basic_auth_pass)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        """Settings from environment variables; raises ConfigError naming a bad variable."""
        user = _text(env, "BASIC_AUTH_USER")
        password = _text(env, "BASIC_AUTH_PASS")
        if bool(user) != bool(password):
            raise ConfigError("set both BASIC_AUTH_USER and BASIC_AUTH_PASS, or neither")
        if user and ":" in user:
            raise ConfigError("BASIC_AUTH_USER must not contain ':'")

        url = _text(env, "LABEL_STUDIO_URL", "LABEL_STUDIO_HOST")
        base_url = _base_url("LABEL_STUDIO_URL", url) if url else None

        root_raw = _text(env, "LOCAL_FILES_DOCUMENT_ROOT", "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT")
        document_root = _directory(env, "LOCAL_FILES_DOCUMENT_ROOT", root_raw) if root_raw else None

        roots: list[Path] = []
        prefixes: list[str] = []
        for entry in (_text(env, "CASPER_MEDIA_ROOTS") or "").split(","):
            entry = entry.strip()
            if not entry:
                continue
            if entry.lower().startswith(("http://", "https://")):
                prefix = _base_url("CASPER_MEDIA_ROOTS", entry)
                prefixes.append(prefix + "/")
            elif "://" in entry:
                raise ConfigError(f"CASPER_MEDIA_ROOTS: {entry!r} is neither a directory nor an http(s) URL")
            else:
                roots.append(_directory(env, "CASPER_MEDIA_ROOTS", entry))

        model_raw = _text(env, "MODEL_DIR")
        model_dir = Path(model_raw).expanduser().resolve() if model_raw else default_cache_base(env) / "ml-backend"
        cache_raw = _text(env, "CASPER_CACHE_DIR")
        cache_dir = Path(cache_raw).expanduser().resolve() if cache_raw else model_dir / "cache"

        level = (_text(env, "LOG_LEVEL") or "INFO").upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {level!r}")

        prelabel = {name[len(PRELABEL_PREFIX):].lower(): value.strip()
                    for name, value in env.items() if name.startswith(PRELABEL_PREFIX) and value.strip()}

        draft_field = _text(env, "CASPER_DRAFT_FIELD") or "draft"
        engine = _text(env, "CASPER_ASR_ENGINE")
        if engine is not None and engine.lower() in ("none", "off"):
            engine = None
        asr_dir_raw = _text(env, "CASPER_ASR_MODEL_DIR")
        asr_model_dir = Path(asr_dir_raw).expanduser().resolve() if asr_dir_raw else None
        if asr_model_dir is None and (model_dir / "model.bin").is_file():
            asr_model_dir = model_dir  # a Whisper model kept in MODEL_DIR, as casper_qc.asr reads it

        return cls(
            label_studio_url=base_url,
            label_studio_api_key=_text(env, "LABEL_STUDIO_API_KEY", "LABEL_STUDIO_ACCESS_TOKEN"),
            basic_auth_user=user,
            basic_auth_pass=password,
            webhook_secret=_text(env, "CASPER_WEBHOOK_SECRET"),
            local_files_document_root=document_root,
            media_roots=tuple(roots),
            media_url_prefixes=tuple(prefixes),
            model_dir=model_dir,
            cache_dir=cache_dir,
            log_level=level,
            fetch_timeout=_number(env, "CASPER_FETCH_TIMEOUT", 30.0, minimum=0.1),
            max_audio_bytes=int(_number(env, "CASPER_MAX_AUDIO_MB", 2048, minimum=1) * 1024**2),
            max_concurrent_predictions=int(_number(
                env, "CASPER_MAX_CONCURRENT_PREDICTIONS", max(1, min(4, os.cpu_count() or 1)), minimum=1)),
            max_request_bytes=int(_number(env, "CASPER_MAX_REQUEST_MB", 64, minimum=1) * 1024**2),
            prelabel=prelabel,
            draft_field=draft_field,
            asr_engine=engine,
            asr_model_dir=asr_model_dir,
        )
