"""The ``--html`` reports of ``rules stats`` and ``rules diff`` in a real
headless Chromium (Debian's, which ``make browser`` installs), driven by
Playwright: the page renders without fetching anything, the chart has one
bar per rule, a verdict expands to its lines, and hostile log text stays
text. Screenshots are kept in ``.artifacts/``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from logsorter import RuleSet
from logsorter.cli import main
from support.paths import ROOT

pytestmark = pytest.mark.integration

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

#: Where the screenshots go (git-ignored).
ARTIFACTS = ROOT / ".artifacts"
CHROMIUM = os.environ.get("LOGSORTER_CHROMIUM") or shutil.which("chromium")

RULES = """
[[rule]]
name = "pytest failure"
pattern = '^FAILED (\\S+)'

[[rule]]
name = "error line"
pattern = '^error: (.*)'

[[rule]]
name = "never matches"
pattern = '^this text is in no log$'
"""
HOSTILE = "error: <script>window.pwned = 1</script> & <img src=x onerror='window.pwned = 2'>"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM:
        pytest.skip("no Chromium: `make browser` installs Debian's (apt-get install chromium)")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def corpus(root: Path) -> Path:
    logs = root / "corpus"
    logs.mkdir()
    (logs / "hostile.log").write_text(f"+ pytest\nbefore the error\n{HOSTILE}\n</pre>after\n")
    (logs / "pytest.log").write_text("+ pytest\nFAILED t.py::test_x\n")
    (logs / "quiet.log").write_text("all good\n")
    return logs


def open_page(browser: object, path: Path) -> tuple[object, list[str]]:
    """The page, and every URL it asked for other than itself."""
    page = browser.new_page()  # type: ignore[attr-defined]
    fetched: list[str] = []

    def refuse(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url != path.as_uri():
            fetched.append(url)
            route.abort()  # type: ignore[attr-defined]
        else:
            route.continue_()  # type: ignore[attr-defined]

    page.route("**/*", refuse)
    page.goto(path.as_uri())
    return page, fetched


def test_stats_report_renders_with_a_bar_per_rule_and_expandable_verdicts(
    browser: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    report = tmp_path / "stats.html"
    args = ["rules", "stats", "--ruleset", str(rules), "--html", str(report), str(corpus(tmp_path))]
    assert main(args) == 0
    capsys.readouterr()
    page, fetched = open_page(browser, report)
    assert page.title().startswith("logsorter rules stats")  # type: ignore[attr-defined]
    bars = page.locator("svg#rules-chart rect.bar")  # type: ignore[attr-defined]
    assert bars.count() == len(RuleSet.from_toml(RULES).rules)
    assert [float(bars.nth(i).get_attribute("width")) > 0 for i in range(3)] == [True, True, False]
    verdict = page.locator("details.verdict", has_text="hostile.log")  # type: ignore[attr-defined]
    context = verdict.locator("pre.context")
    assert not context.is_visible()
    verdict.locator("summary").click()
    assert context.is_visible()
    assert "before the error" in context.inner_text()
    assert "</pre>after" in context.inner_text()
    # The log's markup is shown as text, never run or parsed.
    assert HOSTILE in context.inner_text()
    assert page.evaluate("window.pwned") is None  # type: ignore[attr-defined]
    assert page.locator("script, img").count() == 0  # type: ignore[attr-defined]
    assert fetched == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "stats-report.png"), full_page=True)  # type: ignore[attr-defined]


def test_diff_report_shows_transitions_and_both_sides(
    browser: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.toml"
    old.write_text(RULES)
    new = tmp_path / "new.toml"
    new.write_text(RULES.replace("^error: (.*)", "^error: <script>(.*)"))
    report = tmp_path / "diff.html"
    logs = corpus(tmp_path)
    args = ["rules", "diff", "--base", str(old), "--ruleset", str(new), "--html", str(report)]
    assert main([*args, str(logs)]) == 0
    capsys.readouterr()
    page, fetched = open_page(browser, report)
    rows = page.locator("table.transitions tbody tr")  # type: ignore[attr-defined]
    assert rows.count() == 1
    assert rows.first.inner_text().split("\t") == ["error line", "error line", "1"]
    assert page.locator("svg#rules-chart rect.bar").count() == 3  # type: ignore[attr-defined]
    change = page.locator("details.verdict")  # type: ignore[attr-defined]
    assert change.count() == 1
    change.locator("summary").click()
    assert change.locator("pre.context").count() == 2
    assert HOSTILE in change.locator("pre.context").first.inner_text()
    assert page.evaluate("window.pwned") is None  # type: ignore[attr-defined]
    assert fetched == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "diff-report.png"), full_page=True)  # type: ignore[attr-defined]
