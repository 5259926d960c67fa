"""The place report in a real browser: headless Chromium (Debian's ``/usr/bin/chromium``,
driven by playwright) opens a generated report from ``file://`` with every request that
is not ``file:`` or ``data:`` blocked and recorded, and checks that every chart rendered,
that nothing was fetched from the network and that the key figures are visible. Then
``attrbayes report --pdf`` prints a report to PDF.

Without Chromium the tests skip locally and fail under CI (like ``shared_file`` in
conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from attrbayes.cli import app
from attrbayes.reporting import report as rp

pytestmark = pytest.mark.slow
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PLACE = "0301"


@pytest.fixture(scope="module")
def run_dir(small_run_dir) -> Path:
    return small_run_dir


@pytest.fixture(scope="module")
def report_file(run_dir, tmp_path_factory) -> tuple[Path, rp.ReportBuilder]:
    builder = rp.ReportBuilder(rp.load_sources(run_dir), dpi=60)
    out = tmp_path_factory.mktemp("browser") / "report.html"
    rp.write_report(builder.build(PLACE, lang="en"), out)
    return out, builder


def test_report_renders_offline_in_chromium(chromium, report_file):
    from playwright.sync_api import sync_playwright

    path, builder = report_file
    blocked: list[str] = []
    requested: list[str] = []

    def route(r) -> None:
        url = r.request.url
        requested.append(url)
        if url.startswith(("file:", "data:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            page = context.new_page()
            page.route("**/*", route)
            failed: list[str] = []
            page.on("requestfailed", lambda req: failed.append(req.url))
            page.goto(path.resolve().as_uri(), wait_until="load")
            page.wait_for_load_state("networkidle")
            widths = page.evaluate(
                "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"
            )
            text = page.inner_text("body")
            title = page.title()
            context.close()
        finally:
            browser.close()
    assert blocked == [], f"network requests attempted: {blocked}"
    assert failed == []
    assert all(u.startswith(("file:", "data:")) for u in requested)
    assert len(widths) >= 8  # attractiveness, ranks, 2 decompositions, fans, age groups
    for complete, width, alt in widths:
        assert complete, f"chart not loaded: {alt}"
        assert width > 0, f"chart not rendered: {alt}"
    row = builder.attractiveness["residential"].loc[PLACE]
    assert f"Growth report: {builder.names[PLACE]} ({PLACE})" in title
    assert "Key figures" in text
    assert "Residential attractiveness" in text
    assert "Business attractiveness" in text
    assert f"rank {rp.texts_for('en').rank(row['rank_median'])} of {len(builder.places)}" in text
    assert "Historical scenario:" in text
    assert "did not pass its convergence checks" in text


def test_report_command_prints_pdf(chromium, run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTRBAYES_CHROMIUM", str(chromium))
    out = tmp_path / "place.html"
    result = CliRunner().invoke(app, ["report", str(run_dir), "--place", PLACE, "--out",
                                      str(out), "--pdf", "--no-xlsx", "--lang", "nb"])  # fmt: skip
    assert result.exit_code == 0, result.output
    pdf = out.with_suffix(".pdf").read_bytes()
    assert pdf[:5] == b"%PDF-"
    assert len(pdf) > 50_000
    assert not out.with_suffix(".xlsx").exists()
