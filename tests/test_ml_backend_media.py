"""Fetching task audio: what may be read, from where, and how refusals read.

Local reads use real files and symlinks; downloads use a real HTTP server on loopback (Python's
``http.server``) standing in for a media host. Fetching through Label Studio itself (uploads,
local-files over HTTP, presign of a URI no storage holds, personal access tokens) is in
test_ml_backend_e2e.py. The one stand-in for Label Studio here is its presign redirect (303 to a
presigned cloud URL): the test Label Studio has no cloud storage that could presign anything.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from casper_qc.labelstudio_server import free_port
from ml_backend.config import Settings
from ml_backend.errors import UpstreamError
from ml_backend.media import LabelStudioAuth, MediaError, MediaFetcher, _Sessions

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "michaelandsickmichael.wav"
DIGEST = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a directory; under ``/corpus/``: ``redirect*`` redirects, ``slow*`` stalls,
    ``stream*`` sends the sample without a Content-Length, ``empty.wav`` is empty."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.startswith("/corpus/redirect"):
            self.send_response(302)
            self.send_header("Location", "/corpus/michael.wav")
            self.end_headers()
            return
        if self.path.startswith("/corpus/stream"):  # no Content-Length: read until the connection closes
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.end_headers()
            self.wfile.write(SAMPLE.read_bytes())
            return
        if self.path.startswith("/corpus/slow"):
            time.sleep(2.0)
            self.path = "/corpus/michael.wav"
        self.server.seen_headers.append(dict(self.headers))  # type: ignore[attr-defined]
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (the timeout test) is not an error here


@pytest.fixture()
def media_host(tmp_path: Path):
    """A real HTTP server on 127.0.0.1 serving ``<tmp>/site`` (with ``corpus/michael.wav``)."""
    site = tmp_path / "site"
    (site / "corpus").mkdir(parents=True)
    (site / "private").mkdir()
    shutil.copy(SAMPLE, site / "corpus" / "michael.wav")
    shutil.copy(SAMPLE, site / "private" / "michael.wav")
    (site / "corpus" / "empty.wav").write_bytes(b"")
    handler = lambda *a, **k: _Handler(*a, directory=str(site), **k)  # noqa: E731
    server = _Server(("127.0.0.1", free_port()), handler)
    server.seen_headers = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A local-files document root with the sample in ``audio/``."""
    path = tmp_path / "root"
    (path / "audio").mkdir(parents=True)
    shutil.copy(SAMPLE, path / "audio" / "michael.wav")
    return path


def fetcher(tmp_path: Path, **variables: str) -> MediaFetcher:
    return MediaFetcher(Settings.from_env({"CASPER_CACHE_DIR": str(tmp_path / "cache"), **variables}))


def refused(f: MediaFetcher, value: object, status: int = 400, task_id: object = 1) -> str:
    with pytest.raises(MediaError) as caught:
        with f.open(value, task_id=task_id):
            pass
    assert caught.value.status == status, str(caught.value)
    return str(caught.value)


# ----------------------------------------------------------------------------- local files


def test_local_files_are_read_from_the_shared_document_root(tmp_path, root):
    f = fetcher(tmp_path, LOCAL_FILES_DOCUMENT_ROOT=str(root))
    for value in ("/data/local-files/?d=audio/michael.wav", "/data/local-files?d=audio%2Fmichael.wav",
                  "/data/local-files/?d=/audio/michael.wav", "data/local-files/?d=./audio/michael.wav"):
        with f.open(value) as audio:
            assert audio.path == root / "audio" / "michael.wav"
            assert (audio.digest, audio.downloaded) == (DIGEST, False)
    assert (root / "audio" / "michael.wav").exists()  # never removed


@pytest.mark.parametrize("value", [
    "/data/local-files/?d=../root/audio/michael.wav",
    "/data/local-files/?d=audio/../../etc/passwd",
    "/data/local-files/?d=audio/%2e%2e/%2e%2e/etc/passwd",
    "/data/local-files/?d=audio\\..\\..\\etc\\passwd",
])
def test_dot_dot_is_refused(tmp_path, root, value):
    assert "'..'" in refused(fetcher(tmp_path, LOCAL_FILES_DOCUMENT_ROOT=str(root)), value)


def test_a_symlink_out_of_the_root_is_refused(tmp_path, root):
    outside = tmp_path / "outside.wav"
    shutil.copy(SAMPLE, outside)
    os.symlink(outside, root / "audio" / "link.wav")
    os.symlink(tmp_path, root / "escape")
    f = fetcher(tmp_path, LOCAL_FILES_DOCUMENT_ROOT=str(root))
    assert "leaves its root" in refused(f, "/data/local-files/?d=audio/link.wav")
    assert "leaves its root" in refused(f, "/data/local-files/?d=escape/outside.wav")


def test_an_absolute_d_path_stays_inside_the_root(tmp_path, root):
    f = fetcher(tmp_path, LOCAL_FILES_DOCUMENT_ROOT=str(root))
    message = refused(f, f"/data/local-files/?d={SAMPLE}", status=404)
    assert "not under LOCAL_FILES_DOCUMENT_ROOT" in message


def test_local_files_without_a_root_or_label_studio_say_what_to_set(tmp_path):
    assert "LABEL_STUDIO_URL" in refused(fetcher(tmp_path), "/data/local-files/?d=audio/michael.wav")
    assert "no ?d= path" in refused(fetcher(tmp_path), "/data/local-files/?x=1")
    no_key = fetcher(tmp_path, LABEL_STUDIO_URL="http://127.0.0.1:9")
    assert "LABEL_STUDIO_API_KEY" in refused(no_key, "/data/upload/1/a.wav")


def test_media_root_directories_serve_absolute_paths_inside_them_only(tmp_path, root):
    f = fetcher(tmp_path, CASPER_MEDIA_ROOTS=str(root / "audio"))
    with f.open(str(root / "audio" / "michael.wav")) as audio:
        assert audio.digest == DIGEST
    assert "not inside a media root" in refused(f, str(SAMPLE))
    assert "'..'" in refused(f, str(root / "audio" / ".." / "audio" / "michael.wav"))
    os.symlink(SAMPLE, root / "audio" / "sample-link.wav")
    assert "leaves its root" in refused(f, str(root / "audio" / "sample-link.wav"))
    assert "does not exist" in refused(f, str(root / "audio" / "nothing.wav"), status=404)


@pytest.mark.parametrize("value, words", [
    ("file:///etc/passwd", "file://"),
    ("FILE:///etc/passwd", "file://"),
    ("ftp://example.org/a.wav", "unsupported scheme"),
    ("data:audio/wav;base64,UklGRg==", "unsupported scheme"),
    ("//evil.example/a.wav", "unsupported scheme"),
    ("audio/michael.wav", "neither a Label Studio URL nor an absolute path"),
    ("https://evil.example/a.wav", "neither the Label Studio host"),
    ("http://u:p@127.0.0.1:8080/data/upload/1/a.wav", "credentials"),
    ("", "non-empty string"),
    (None, "non-empty string"),
])
def test_other_references_are_refused(tmp_path, root, value, words):
    f = fetcher(tmp_path, LOCAL_FILES_DOCUMENT_ROOT=str(root), LABEL_STUDIO_URL="http://127.0.0.1:8080",
                LABEL_STUDIO_API_KEY="k")
    assert words in refused(f, value)


def test_cloud_uris_need_label_studio_and_a_task_id(tmp_path):
    assert "LABEL_STUDIO_URL" in refused(fetcher(tmp_path), "s3://bucket/a.wav")
    f = fetcher(tmp_path, LABEL_STUDIO_URL="http://127.0.0.1:9", LABEL_STUDIO_API_KEY="k")
    assert "numeric id" in refused(f, "gs://bucket/a.wav", task_id=None)


# ----------------------------------------------------------------------------- downloads


def test_media_url_prefixes_are_downloaded_without_credentials_and_removed_after(tmp_path, media_host):
    base = f"http://127.0.0.1:{media_host.server_port}"
    f = fetcher(tmp_path, CASPER_MEDIA_ROOTS=f"{base}/corpus", LABEL_STUDIO_URL="http://127.0.0.1:9",
                LABEL_STUDIO_API_KEY="key-not-for-media-hosts")
    with f.open(f"{base}/corpus/michael.wav") as audio:
        assert (audio.digest, audio.downloaded, audio.size) == (DIGEST, True, SAMPLE.stat().st_size)
        assert audio.path.is_relative_to(tmp_path / "cache")
        downloaded = audio.path
    assert not downloaded.exists()
    assert all("Authorization" not in headers for headers in media_host.seen_headers)
    assert "neither the Label Studio host" in refused(f, f"{base}/private/michael.wav")
    assert "'..'" in refused(f, f"{base}/corpus/../private/michael.wav")
    assert "not found (HTTP 404)" in refused(f, f"{base}/corpus/nothing.wav", status=404)
    assert "empty" in refused(f, f"{base}/corpus/empty.wav", status=422)
    assert not list((tmp_path / "cache" / "downloads").iterdir())


def test_redirects_are_not_followed(tmp_path, media_host):
    base = f"http://127.0.0.1:{media_host.server_port}"
    f = fetcher(tmp_path, CASPER_MEDIA_ROOTS=f"{base}/corpus")
    with pytest.raises(UpstreamError, match="redirected"):
        with f.open(f"{base}/corpus/redirect.wav"):
            pass


def test_audio_over_the_size_limit_is_a_413_and_leaves_nothing(tmp_path, media_host):
    base = f"http://127.0.0.1:{media_host.server_port}"
    f = fetcher(tmp_path, CASPER_MEDIA_ROOTS=f"{base}/corpus", CASPER_MAX_AUDIO_MB="1")
    assert "CASPER_MAX_AUDIO_MB" in refused(f, f"{base}/corpus/michael.wav", status=413)
    downloads = tmp_path / "cache" / "downloads"
    assert not downloads.exists() or not list(downloads.iterdir())
    # without a Content-Length the limit is enforced while streaming, and the part file goes
    assert "CASPER_MAX_AUDIO_MB" in refused(f, f"{base}/corpus/stream.wav", status=413)
    assert downloads.exists() and not list(downloads.iterdir())
    unlimited = fetcher(tmp_path, CASPER_MEDIA_ROOTS=f"{base}/corpus")
    with unlimited.open(f"{base}/corpus/stream.wav") as audio:
        assert audio.digest == DIGEST


def test_a_slow_host_is_a_504_and_an_unreachable_one_a_502(tmp_path, media_host):
    base = f"http://127.0.0.1:{media_host.server_port}"
    f = fetcher(tmp_path, CASPER_MEDIA_ROOTS=f"{base}/corpus", CASPER_FETCH_TIMEOUT="0.5")
    with pytest.raises(UpstreamError) as slow:
        with f.open(f"{base}/corpus/slow.wav"):
            pass
    assert slow.value.status == 504 and "timed out" in str(slow.value)
    closed = f"http://127.0.0.1:{free_port()}"
    g = fetcher(tmp_path, LABEL_STUDIO_URL=closed, LABEL_STUDIO_API_KEY="key-Zz")
    with pytest.raises(UpstreamError) as unreachable:
        with g.open("/data/upload/3/a.wav"):
            pass
    assert unreachable.value.status == 502 and "unreachable" in str(unreachable.value)
    assert "key-Zz" not in str(unreachable.value)


def test_the_api_key_goes_only_to_the_label_studio_host(tmp_path, media_host):
    ls_like = f"http://127.0.0.1:{media_host.server_port}"
    f = fetcher(tmp_path, LABEL_STUDIO_URL=ls_like, LABEL_STUDIO_API_KEY="legacy-key-1")
    with pytest.raises(MediaError):  # http.server has no /data/upload: a 404, after sending the key
        with f.open("/data/upload/1/michael.wav"):
            pass
    assert media_host.seen_headers[-1]["Authorization"] == "Token legacy-key-1"


def test_token_kinds_are_told_apart():
    import base64
    import json

    def jwt(claims: dict) -> str:
        part = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return f"eyJhbGciOiJIUzI1NiJ9.{part}.c2ln"

    sessions = _Sessions()
    legacy = LabelStudioAuth("http://ls", "0123456789abcdef", sessions, 1.0)
    assert legacy.header() == {"Authorization": "Token 0123456789abcdef"}
    access = jwt({"token_type": "access", "exp": 9999999999})
    assert LabelStudioAuth("http://ls", access, sessions, 1.0).header() == {"Authorization": f"Bearer {access}"}
    refresh = LabelStudioAuth(f"http://127.0.0.1:{free_port()}", jwt({"token_type": "refresh"}), sessions, 1.0)
    with pytest.raises(UpstreamError, match="cannot reach Label Studio"):  # it must be exchanged first
        refresh.header()


class _Presigner(http.server.BaseHTTPRequestHandler):
    """Answers ``/tasks/<id>/presign/?fileuri=<base64>`` as Label Studio does for a storage with
    presigned URLs: 303 to the presigned location (here: the media host), recording what it got."""

    def do_GET(self) -> None:  # noqa: N802
        import base64
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(self.path)
        self.server.seen.append((parts.path, dict(self.headers),  # type: ignore[attr-defined]
                                 base64.urlsafe_b64decode(parse_qs(parts.query)["fileuri"][0]).decode()))
        self.send_response(303)
        self.send_header("Location", self.server.target)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_cloud_uri_is_presigned_by_label_studio_and_the_redirect_followed_without_the_key(tmp_path,
                                                                                           media_host):
    presigner = _Server(("127.0.0.1", free_port()), _Presigner)
    presigner.seen = []  # type: ignore[attr-defined]
    presigner.target = f"http://127.0.0.1:{media_host.server_port}/corpus/michael.wav?X-Signature=abc"  # type: ignore[attr-defined]
    threading.Thread(target=presigner.serve_forever, daemon=True).start()
    try:
        f = fetcher(tmp_path, LABEL_STUDIO_URL=f"http://127.0.0.1:{presigner.server_port}",
                    LABEL_STUDIO_API_KEY="legacy-key-2")
        with f.open("s3://bucket/calls/michael.wav", task_id=42) as audio:
            assert audio.digest == DIGEST and audio.downloaded
    finally:
        presigner.shutdown()
        presigner.server_close()
    (path, headers, uri), = presigner.seen  # type: ignore[attr-defined]
    assert (path, uri) == ("/tasks/42/presign/", "s3://bucket/calls/michael.wav")
    assert headers["Authorization"] == "Token legacy-key-2"
    assert "Authorization" not in media_host.seen_headers[-1]  # the presigned URL gets no key
