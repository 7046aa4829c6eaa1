"""The QC pages in a real headless Chromium (Debian's ``chromium``), served by a real
``casper-qc serve`` process: pages render, plots are there, flagged tasks are listed, no console
error, nothing is loaded from anywhere else, and the token is required."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from test_qc_cli import _start
from test_qc_helpers import SECRET, TOKEN, bad_tasks, hand_task, users_export, write_export

from casper_qc.cli import main

pytestmark = [pytest.mark.browser]  # the ``browser`` fixture is in conftest.py


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    export = write_export(root / "export.json", users_export([hand_task(), *bad_tasks()]))
    refs = root / "refs"
    refs.mkdir()
    (refs / "hand.ch1.txt").write_text("so i think we go", encoding="utf-8")
    (refs / "hand.ch2.txt").write_text("yeah right", encoding="utf-8")
    env = {**os.environ, "CASPER_QC_TOKEN": TOKEN, "CASPER_QC_WEBHOOK_SECRET": SECRET}
    process, url = _start(["--from", str(export), "--references", str(refs)], env, root / "serve.log")
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


class Watched:
    """A page with its console errors, page errors and every URL it requested."""

    def __init__(self, context) -> None:
        self.page = context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))


def _signed_in(browser, service):
    context = browser.new_context()
    watched = Watched(context)
    page = watched.page
    answer = page.goto(f"{service}/")
    assert answer.status == 401
    assert page.locator("input[name=token]").count() == 1
    assert "ann.lee" not in page.content()  # nothing of the report before signing in
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{service}/")
    assert watched.errors == ["Failed to load resource: the server responded with a status of 401 (UNAUTHORIZED)"]
    watched.errors.clear()  # the 401 of the sign-in page was expected
    return context, watched


def test_overview_renders_plots_and_flagged_tasks(browser, service):
    context, watched = _signed_in(browser, service)
    page = watched.page
    assert page.locator("h1").inner_text() == "QC report"
    for plot in ("histogram", "matrix", "wer", "pair-wer", "flags"):
        svg = page.locator(f'svg[data-plot="{plot}"]')
        assert svg.count() == 1, plot
        box = svg.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50, plot
    # The histogram: one bar per bin, task 1's alpha in the top bin; tasks 2 and 3 undefined.
    counts = [int(c) for c in page.locator('svg[data-plot="histogram"] rect.bar').evaluate_all(
        "bars => bars.map(b => b.getAttribute('data-count'))")]
    assert len(counts) == 12 and sum(counts) == 1 and counts[-1] == 1
    assert "2 task(s) undefined" in page.locator('svg[data-plot="histogram"]').text_content()
    # The matrix: the three pairs of annotators, both halves.
    assert page.locator('svg[data-plot="matrix"] rect.cell').count() == 6
    # Flagged tasks: all three, each with its reasons.
    flagged = page.locator("tr.flagged-task")
    assert flagged.evaluate_all("rows => rows.map(r => r.dataset.task)") == ["1", "2", "3"]
    assert "pairwise WER 0.200 is above 0.15" in flagged.nth(0).inner_text()
    assert page.locator("#flagged-count").inner_text() == "3"
    assert page.locator("#partial").is_visible()
    # WER per annotator: cara's bar is over the 0.15 limit (2/7), the others at 0.
    bars = page.locator('svg[data-plot="wer"] rect.bar')
    values = sorted(float(v) for v in bars.evaluate_all("bars => bars.map(b => b.getAttribute('data-value'))"))
    assert values == pytest.approx([0.0, 0.0, 2 / 7], abs=1e-5)
    assert watched.errors == []
    assert all(url.startswith(service) for url in watched.requests), watched.requests
    context.close()


def test_task_and_annotator_pages(browser, service):
    context, watched = _signed_in(browser, service)
    page = watched.page
    page.click('#flagged a[href="/tasks/1"]')
    page.wait_for_url(f"{service}/tasks/1")
    assert page.locator("h1").inner_text() == "Task 1: hand"
    assert page.locator('#flags li[data-code="high-pairwise-wer"]').count() == 1
    assert "annotation 101 by ann.lee@example.com: consensus" in page.locator("#adopted").inner_text()
    assert page.locator("#task-annotators tr").count() == 4  # header + 3 annotators
    with page.expect_download() as download:
        page.click('a[href="/api/export/tasks/1.TextGrid"]')
    saved = download.value.path()
    assert Path(saved).read_text().startswith('File type = "ooTextFile"')
    page.goto(f"{service}/annotators")
    assert page.locator("tr.annotator").count() == 3
    assert page.locator('svg[data-plot="wer"]').count() == 1
    assert watched.errors == []
    assert all(url.startswith(service) for url in watched.requests), watched.requests
    context.close()


def test_wrong_token_and_bearer_header(browser, service):
    context = browser.new_context()
    watched = Watched(context)
    page = watched.page
    page.goto(f"{service}/annotators")
    page.fill("input[name=token]", "not-the-right-token")
    page.click("button[type=submit]")
    assert page.locator("#detail").inner_text() == "the API token is wrong"
    assert page.locator("tr.annotator").count() == 0
    assert page.request.get(f"{service}/api/report").status == 401
    context.close()
    direct = browser.new_context(extra_http_headers={"Authorization": f"Bearer {TOKEN}"})
    page = direct.new_page()
    assert page.goto(f"{service}/tasks/2").status == 200
    assert "unreadable-annotation" in page.content() or "left out" in page.content()
    assert page.goto(f"{service}/tasks/99").status == 404
    direct.close()


def test_standalone_report_opens_offline(browser, tmp_path):
    export = write_export(tmp_path / "export.json", users_export([hand_task(), *bad_tasks()]))
    out = tmp_path / "out"
    assert main(["qc", "--from", str(export), "--out", str(out)]) == 0
    context = browser.new_context()
    watched = Watched(context)
    page = watched.page
    page.goto((out / "report.html").as_uri())
    for plot in ("histogram", "matrix", "wer", "flags"):
        assert page.locator(f'svg[data-plot="{plot}"]').count() == 1
    assert page.locator("tr.flagged-task").count() == 3
    assert page.locator('a[href="textgrids.zip"]').count() == 1
    assert watched.errors == []
    assert watched.requests == [(out / "report.html").as_uri()]
    context.close()
    shutil.rmtree(out)
