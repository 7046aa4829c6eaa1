"""Fetching a task's audio the way Label Studio serves it, and nothing else.

What a task's audio value may be, and where it is read from:

==============================================  ===============================================
``/data/local-files/?d=<rel>``                  ``LOCAL_FILES_DOCUMENT_ROOT/<rel>`` on disk when
                                                that root is configured and holds the file; else
                                                downloaded from Label Studio with the API key
``/data/upload/…``, ``upload/…``,               downloaded from Label Studio with the API key
``/storage-data/uploaded/?filepath=…``
``s3://…``, ``gs://…``, ``azure-blob://…``      Label Studio's ``/tasks/<id>/presign/`` endpoint
                                                (with the API key); its one redirect to the
                                                presigned URL is followed without the key
``http(s)://<Label Studio host>/…``             as the relative forms above
``http(s)://…`` under a ``CASPER_MEDIA_ROOTS``  downloaded without credentials
URL prefix
an absolute path inside a ``CASPER_MEDIA_ROOTS``  read from disk
directory
==============================================  ===============================================

Everything else is refused with a :class:`MediaError` (HTTP 4xx): other hosts, ``file://`` and
other schemes, a path with a ``..`` segment, a path whose resolved form (symlinks followed)
leaves its root. Redirects are not followed, except the presign one. Downloads are streamed to a
temporary file under the cache directory, hashed on the way and limited to
``CASPER_MAX_AUDIO_MB``. The API key is sent to the Label Studio host only and never logged.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import requests

from casper_qc.errors import InputError

from .config import Settings
from .errors import UpstreamError

__all__ = ["MediaError", "LocalAudio", "MediaFetcher", "LabelStudioAuth", "file_digest"]

log = logging.getLogger("ml_backend.media")

_CLOUD_SCHEMES = ("s3", "gs", "azure-blob")
_CHUNK = 1 << 20


class MediaError(InputError):
    """A task's audio reference that cannot be served; ``status`` is the HTTP status (4xx)."""

    def __init__(self, problem: str, *, where: str | None = None, status: int = 400) -> None:
        super().__init__(problem, where=where)
        self.status = status

    def at(self, outer: str) -> "MediaError":
        clone = super().at(outer)
        clone.status = self.status  # type: ignore[attr-defined]
        return clone  # type: ignore[return-value]


@dataclass(frozen=True)
class LocalAudio:
    """A task's audio on local disk: ``digest`` is the SHA-256 of its bytes."""

    path: Path
    digest: str
    size: int
    downloaded: bool


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def _jwt_claims(token: str) -> dict | None:
    """The (unverified) claims of a JWT, or None if ``token`` is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


class LabelStudioAuth:
    """The ``Authorization`` header for Label Studio, from ``LABEL_STUDIO_API_KEY``.

    A legacy token is sent as ``Token <key>``. A personal access token (a JWT refresh token) is
    exchanged at ``/api/token/refresh/`` for a short-lived access token, sent as ``Bearer``,
    and exchanged again shortly before it expires. Thread-safe.
    """

    def __init__(self, base_url: str, api_key: str, session: "_Sessions", timeout: float) -> None:
        self._base_url = base_url
        self._key = api_key
        self._sessions = session
        self._timeout = timeout
        self._lock = threading.Lock()
        self._access: str | None = None
        self._access_expires = 0.0
        claims = _jwt_claims(api_key)
        self._kind = "legacy" if claims is None else str(claims.get("token_type") or "access")

    def header(self) -> dict[str, str]:
        if self._kind == "legacy":
            return {"Authorization": f"Token {self._key}"}
        if self._kind != "refresh":
            return {"Authorization": f"Bearer {self._key}"}
        with self._lock:
            if self._access is None or time.time() > self._access_expires - 30:
                self._refresh()
            return {"Authorization": f"Bearer {self._access}"}

    def _refresh(self) -> None:
        url = f"{self._base_url}/api/token/refresh/"
        try:
            response = self._sessions.get().post(url, json={"refresh": self._key}, timeout=self._timeout,
                                                  allow_redirects=False)
        except requests.Timeout:
            raise UpstreamError("Label Studio did not answer the token refresh in time", status=504) from None
        except requests.RequestException as err:
            raise UpstreamError(f"cannot reach Label Studio at {self._base_url}: {type(err).__name__}") from None
        if response.status_code != 200:
            raise UpstreamError(f"Label Studio refused to exchange LABEL_STUDIO_API_KEY for an access token "
                                f"(HTTP {response.status_code}); is the personal access token valid?")
        try:
            access = response.json()["access"]
        except (ValueError, KeyError, TypeError):
            raise UpstreamError("Label Studio's token refresh answered without an access token") from None
        claims = _jwt_claims(access) or {}
        self._access = str(access)
        self._access_expires = float(claims.get("exp") or time.time() + 60)


class _Sessions:
    """One ``requests.Session`` per thread (sessions are not safe to share across threads)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = "casper-qc-ml-backend"
            session.trust_env = False  # no proxies or .netrc credentials picked up from the environment
            self._local.session = session
        return session


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def _checked_relative(raw: str, what: str) -> PurePosixPath:
    """A relative POSIX path with no ``..`` segment, no NUL and no backslash tricks."""
    if "\x00" in raw:
        raise MediaError(f"{what} contains a NUL byte")
    parts = [p for p in raw.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise MediaError(f"{what} {raw!r} contains '..'")
    if not parts:
        raise MediaError(f"{what} is empty")
    return PurePosixPath(*parts)


def _inside(root: Path, relative: PurePosixPath, what: str) -> Path:
    """``root/relative`` with symlinks resolved; refused if that leaves ``root``."""
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        raise MediaError(f"{what} leaves its root directory")
    return candidate


class MediaFetcher:
    """Resolves and fetches task audio (see the module docstring for the rules).

    :meth:`open` is a context manager that yields a :class:`LocalAudio` and removes a
    downloaded copy afterwards. Thread-safe; the digest of a local file is remembered by its
    path, size, inode and modification time.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._sessions = _Sessions()
        self._ls_url = settings.label_studio_url
        self._ls_origin = _origin(self._ls_url) if self._ls_url else None
        self._auth = (LabelStudioAuth(self._ls_url, settings.label_studio_api_key, self._sessions,
                                      settings.fetch_timeout)
                      if self._ls_url and settings.label_studio_api_key else None)
        self._digests: OrderedDict[tuple, str] = OrderedDict()
        self._digest_lock = threading.Lock()

    # -- public -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def open(self, value: object, *, task_id: object = None) -> Iterator[LocalAudio]:
        """The audio ``value`` of task ``task_id`` as a local file.

        Raises:
            MediaError: the reference is not allowed, not found or too large (4xx).
            UpstreamError: Label Studio or a media host failed or refused our API key (5xx).
        """
        audio = self._fetch(value, task_id)
        try:
            yield audio
        finally:
            if audio.downloaded:
                with contextlib.suppress(FileNotFoundError):
                    audio.path.unlink()

    # -- resolution ---------------------------------------------------------------------------

    def _fetch(self, value: object, task_id: object) -> LocalAudio:
        if not isinstance(value, str) or not value.strip():
            raise MediaError(f"audio reference must be a non-empty string, not {value!r}")
        value = value.strip()
        parts = urlsplit(value)
        scheme = parts.scheme.lower()
        if scheme == "file":
            raise MediaError("file:// audio URLs are refused; serve the file through Label Studio "
                             "(local-files storage) or a CASPER_MEDIA_ROOTS directory")
        if scheme in _CLOUD_SCHEMES:
            return self._presigned(value, task_id)
        if scheme in ("http", "https"):
            if not parts.hostname:
                raise MediaError(f"audio URL {value!r} has no host")
            if parts.username or parts.password:
                raise MediaError("audio URLs with credentials in them are refused")
            if self._ls_origin is not None and _origin(value) == self._ls_origin:
                return self._label_studio_path(parts.path, parts.query, value)
            for prefix in self._settings.media_url_prefixes:
                if _origin(value) == _origin(prefix) and parts.path.startswith(urlsplit(prefix).path):
                    _checked_relative(unquote(parts.path), "audio URL path")
                    return self._download(value, auth=False, what=value)
            raise MediaError(f"audio URL host {parts.hostname!r} is neither the Label Studio host "
                             "(LABEL_STUDIO_URL) nor a media root (CASPER_MEDIA_ROOTS)")
        if scheme or parts.netloc:
            raise MediaError(f"audio reference {value!r} has an unsupported scheme {scheme!r}")
        path = parts.path
        if path.startswith(("/data/", "data/", "upload/", "/upload/", "/storage-data/", "storage-data/")):
            if _is_label_studio_path(path):
                return self._label_studio_path("/" + path.lstrip("/"), parts.query, value)
        if path.startswith("/"):
            return self._media_root_file(value)
        raise MediaError(f"audio reference {value!r} is neither a Label Studio URL nor an absolute path "
                         "inside a media root")

    def _label_studio_path(self, path: str, query: str, original: str) -> LocalAudio:
        """A path served by Label Studio: local-files (maybe from disk), uploads, storage proxy."""
        if path.startswith("/upload/") or path.startswith("upload/"):
            path = "/data/" + path.lstrip("/")
        if path.rstrip("/") == "/data/local-files":
            values = parse_qs(query, keep_blank_values=True).get("d")
            if not values or not values[-1]:
                raise MediaError(f"local-files URL {original!r} has no ?d= path")
            relative = _checked_relative(values[-1], "local-files path")
            root = self._settings.local_files_document_root
            if root is not None:
                local = _inside(root, relative, f"local-files path {values[-1]!r}")
                if local.is_file():
                    return self._local(local)
                if self._ls_url is None:
                    raise MediaError(f"local-files path {values[-1]!r} is not under LOCAL_FILES_DOCUMENT_ROOT",
                                     status=404)
        elif not _is_label_studio_path(path):
            raise MediaError(f"{original!r} is not a Label Studio media URL (/data/local-files/, "
                             "/data/upload/, /storage-data/uploaded/)")
        else:
            _checked_relative(unquote(path), "Label Studio media path")
            for filepath in parse_qs(query).get("filepath", []):
                _checked_relative(filepath, "storage file path")
        if self._ls_url is None:
            raise MediaError(f"{original!r} is served by Label Studio, but LABEL_STUDIO_URL is not set")
        url = self._ls_url + path + (f"?{query}" if query else "")
        return self._download(url, auth=True, what=original)

    def _presigned(self, uri: str, task_id: object) -> LocalAudio:
        if self._ls_url is None:
            raise MediaError(f"cloud storage URI {uri!r} needs Label Studio to presign it; set LABEL_STUDIO_URL")
        if isinstance(task_id, bool) or not isinstance(task_id, int):
            raise MediaError("a cloud storage URI needs the task's numeric id to be presigned")
        encoded = base64.urlsafe_b64encode(uri.encode("utf-8")).decode("ascii")
        url = f"{self._ls_url}/tasks/{task_id}/presign/?fileuri={encoded}"
        return self._download(url, auth=True, what=uri, follow_presign=True)

    def _media_root_file(self, value: str) -> LocalAudio:
        path = unquote(value) if "%" in value else value
        for root in self._settings.media_roots:
            prefix = str(root).rstrip("/") + "/"
            if path.startswith(prefix):
                relative = _checked_relative(path[len(prefix):], "audio path")
                local = _inside(root, relative, f"audio path {value!r}")
                if not local.is_file():
                    raise MediaError(f"audio file {value!r} does not exist", status=404)
                return self._local(local)
        raise MediaError(f"audio path {value!r} is not inside a media root (CASPER_MEDIA_ROOTS)")

    # -- reading ------------------------------------------------------------------------------

    def _local(self, path: Path) -> LocalAudio:
        try:
            stat = path.stat()
        except OSError as err:
            raise MediaError(f"audio file {path.name!r} cannot be read ({err.strerror})", status=404) from None
        key = (str(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        with self._digest_lock:
            digest = self._digests.get(key)
            if digest is not None:
                self._digests.move_to_end(key)
        if digest is None:
            try:
                digest = file_digest(path)
            except OSError as err:
                raise MediaError(f"audio file {path.name!r} cannot be read ({err.strerror})", status=404) from None
            with self._digest_lock:
                self._digests[key] = digest
                while len(self._digests) > 4096:
                    self._digests.popitem(last=False)
        return LocalAudio(path=path, digest=digest, size=stat.st_size, downloaded=False)

    def _download(self, url: str, *, auth: bool, what: str, follow_presign: bool = False) -> LocalAudio:
        if auth and self._auth is None:
            raise MediaError(f"{what!r} is served by Label Studio, which needs LABEL_STUDIO_API_KEY to be set")
        headers = self._auth.header() if auth and self._auth is not None else {}
        response = self._get(url, headers, what)
        if follow_presign and response.status_code in (301, 302, 303, 307, 308):
            target = urljoin(url, response.headers.get("Location", ""))
            response.close()
            if urlsplit(target).scheme not in ("http", "https"):
                raise UpstreamError(f"Label Studio presigned {what!r} to a non-http(s) URL")
            # presigned URLs carry their own signature: never send our API key along
            headers = {} if _origin(target) != self._ls_origin else headers
            response = self._get(target, headers, what)
        with response:
            self._check_status(response, what, auth)
            return self._store(response, what)

    def _get(self, url: str, headers: dict[str, str], what: str) -> requests.Response:
        try:
            return self._sessions.get().get(url, headers=headers, stream=True, allow_redirects=False,
                                            timeout=(min(5.0, self._settings.fetch_timeout),
                                                     self._settings.fetch_timeout))
        except requests.Timeout:
            raise UpstreamError(f"fetching {what!r} timed out after {self._settings.fetch_timeout:g} s",
                                status=504) from None
        except requests.RequestException as err:
            host = urlsplit(url).netloc
            raise UpstreamError(f"cannot fetch {what!r}: {host} is unreachable ({type(err).__name__})") from None

    def _check_status(self, response: requests.Response, what: str, auth: bool) -> None:
        code = response.status_code
        if code == 200:
            return
        if code in (401, 403) and auth:
            raise UpstreamError(f"Label Studio refused LABEL_STUDIO_API_KEY when fetching {what!r} "
                                f"(HTTP {code}); check the key and that the project's storage serves the file")
        if code in (401, 403, 404, 410):
            raise MediaError(f"audio {what!r} was not found (HTTP {code})", status=404)
        if 300 <= code < 400:
            raise UpstreamError(f"fetching {what!r} was redirected (HTTP {code}); redirects are not followed")
        raise UpstreamError(f"fetching {what!r} failed with HTTP {code}")

    def _store(self, response: requests.Response, what: str) -> LocalAudio:
        limit = self._settings.max_audio_bytes
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            raise MediaError(f"audio {what!r} is larger than CASPER_MAX_AUDIO_MB "
                             f"({limit // 1024**2} MB)", status=413)
        folder = self._settings.cache_dir / "downloads"
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="audio-", suffix=".part", dir=folder)
        sha = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_content(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise MediaError(f"audio {what!r} is larger than CASPER_MAX_AUDIO_MB "
                                         f"({limit // 1024**2} MB)", status=413)
                    sha.update(chunk)
                    out.write(chunk)
        except requests.RequestException as err:
            os.unlink(name)
            raise UpstreamError(f"downloading {what!r} broke off ({type(err).__name__})") from None
        except BaseException:
            os.unlink(name)
            raise
        if size == 0:
            os.unlink(name)
            raise MediaError(f"audio {what!r} is empty", status=422)
        log.debug("downloaded %s (%d bytes)", what, size)
        return LocalAudio(path=Path(name), digest=sha.hexdigest(), size=size, downloaded=True)


def _is_label_studio_path(path: str) -> bool:
    path = "/" + path.lstrip("/")
    return (path.startswith(("/data/upload/", "/upload/", "/storage-data/uploaded"))
            or path.rstrip("/") == "/data/local-files")
