"""The ruleset workbench on local corpora: ``rules stats``, ``rules diff``
(``--base`` and ``--base-ref`` in a real git repository), ``rules sample``
and ``fixtures add``, on small corpora the tests write; the survey the
engine runs over many logs against ``classify`` as the oracle."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from logsorter import RuleSet
from logsorter._core import survey
from logsorter.classifier import fixtures
from logsorter.classifier.fixtures import CLOSE, OPEN
from logsorter.cli import main
from support.paths import SHARED

RULES = """
[[rule]]
name = "pytest failure"
pattern = '^FAILED (\\S+::\\S+)'

[[rule]]
name = "compiler error"
pattern = '^(\\S+):\\d+:\\d+: error: (.*)'

[[rule]]
name = "make failed"
pattern = '^make: \\*\\*\\* (.*)'

[[rule]]
name = "error line"
pattern = '^error: (.*)'

[fallback]
enabled = true
wrappers = ["make failed"]
catch_alls = ["error line"]
min_score = 0.5
"""
#: The change under review: compiler errors no longer a rule of their own.
RULES_WITHOUT_COMPILER = RULES.replace(
    "[[rule]]\nname = \"compiler error\"\npattern = '^(\\S+):\\d+:\\d+: error: (.*)'\n\n", ""
)

PYTEST_LOG = "+ pytest\nsetup ok\nFAILED tests/test_a.py::test_one - assert 1 == 2\ndone\n"
COMPILER_LOG = (
    "+ make\ncc -c a.c\na.c:3:7: error: unknown type name 'foo'\nmake: *** [all] Error 1\n"
)
SUCCESS_LOG = "+ pytest\n3 passed\nerror: this one is printed by a passing test\n"
QUIET_LOG = "+ true\nall good\n"


def write_corpus(root: Path) -> Path:
    """A corpus as ``corpus pull`` leaves it (logs, some gzip, and
    ``jobs.jsonl``), with a labels table and an unreadable log."""
    corpus = root / "corpus"
    (corpus / "log").mkdir(parents=True)
    (corpus / "log" / "1").write_bytes(gzip.compress(PYTEST_LOG.encode()))
    (corpus / "log" / "2").write_text(COMPILER_LOG)
    (corpus / "log" / "3").write_bytes(gzip.compress(SUCCESS_LOG.encode()))
    (corpus / "log" / "4").write_text(QUIET_LOG)
    (corpus / "log" / "5").write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    jobs = [("log/1", "failure"), ("log/2", "failure"), ("log/3", "success"), ("log/4", "success")]
    (corpus / "jobs.jsonl").write_text(
        "".join(json.dumps({"key": k, "name": "test", "conclusion": c}) + "\n" for k, c in jobs)
    )
    return corpus


def write_rules(root: Path, text: str = RULES, name: str = "rules.toml") -> Path:
    path = root / name
    path.write_text(text)
    return path


def stats_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["rules", "stats", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_stats_reports_every_rule_in_priority_order_and_loses_no_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_corpus(tmp_path)
    rules = write_rules(tmp_path)
    assert main(["rules", "stats", "--format", "json", "--ruleset", str(rules), str(corpus)]) == 0
    captured = capsys.readouterr()
    stats = json.loads(captured.out)
    # The unreadable log is reported in one line and counted, not dropped.
    assert captured.err.count("\n") == 1
    assert "log/5: corrupt gzip input" in captured.err
    summary = stats["summary"]
    assert summary["logs"] == 5
    assert summary["error"] == {"logs": 1, "share": 0.2}
    assert summary["specific"]["logs"] == 2  # pytest, compiler error
    assert summary["fallback"]["logs"] == 1  # the passing job's "error:" line
    assert summary["none"]["logs"] == 1
    assert summary["conclusions"] == {"failure": 2, "success": 2}
    assert summary["accuracy"] == round(2 / 3, 4)
    by_name = {r["name"]: r for r in stats["rules"]}
    assert [r["name"] for r in stats["rules"]] == [n for n, _ in RuleSet.from_file(rules).rules]
    assert (by_name["compiler error"]["verdicts"], by_name["compiler error"]["matches"]) == (1, 1)
    # The wrapper matches but gives way to the compiler error's line.
    assert (by_name["make failed"]["verdicts"], by_name["make failed"]["matches"]) == (0, 1)
    assert by_name["make failed"]["role"] == "wrapper"
    assert by_name["error line"]["on_success"] == 1
    assert by_name["pytest failure"]["on_success"] == 0
    assert all(r["seconds"] is not None and r["seconds"] >= 0 for r in stats["rules"])


def test_stats_reads_fixture_markers_and_labels_tsv_as_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = write_rules(tmp_path)
    fixtures_dir = tmp_path / "fixtures"
    fixtures_dir.mkdir()
    (fixtures_dir / "right.txt").write_text(
        f"#=SOURCE=# made up\n+ pytest\n#=MATCH=# FAILED {OPEN}tests/a.py::t{CLOSE}\n"
    )
    (fixtures_dir / "wrong.txt").write_text("#=MATCH=# what a person names\nFAILED t.py::x\n")
    labeled = tmp_path / "labeled"
    (labeled / "logs").mkdir(parents=True)
    (labeled / "logs" / "a.log").write_text(COMPILER_LOG)
    (labeled / "logs" / "b.log").write_text(QUIET_LOG)
    (labeled / "labels.tsv").write_text(
        "file\tcategory\tlabel_lines\na.log\tcompile error\t2,3\nb.log\tno-failure\t\n"
    )
    stats = stats_json(capsys, "--ruleset", str(rules), str(fixtures_dir), str(labeled / "logs"))
    labels = stats["summary"]["labeled"]
    assert (labels["logs"], labels["right"]) == (4, 3)
    [wrong] = labels["wrong"]
    assert wrong["log"].endswith("wrong.txt")
    assert (wrong["labels"], wrong["verdict"]["line_num"]) == ([1], 2)
    assert stats["summary"]["conclusions"] == {"failure": 1, "success": 1}


def test_stats_table_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = write_corpus(tmp_path)
    assert main(["rules", "stats", "--ruleset", str(write_rules(tmp_path)), str(corpus)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("5 logs, ")
    assert "  wrapper or catch-all verdict        1   20.0%" in out
    assert "rules that match a log, in priority order (4 of 4):" in out


def test_a_missing_corpus_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "stats", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nowhere: no such file or folder" in err


def diff_json(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> dict:
    assert main(["rules", "diff", "--format", "json", *args]) == code
    return json.loads(capsys.readouterr().out)


def test_diff_groups_changed_verdicts_by_transition_and_tells_fixed_from_broken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(3):
        (corpus / f"cc-{n}.txt").write_text(
            f"#=SOURCE=# made up\n+ make\n#=MATCH=# {OPEN}a{n}.c{CLOSE}:3:7: error: "
            f"{OPEN}bad{CLOSE}\nmake: *** [all]\n"
        )
    (corpus / "pytest.log").write_text(PYTEST_LOG)
    old = write_rules(tmp_path, RULES_WITHOUT_COMPILER, "old.toml")
    new = write_rules(tmp_path, RULES, "new.toml")
    diff = diff_json(capsys, "--base", str(old), "--ruleset", str(new), str(corpus))
    assert diff["changed"] == 3
    assert (diff["fixed"], diff["broken"]) == (3, 0)
    [transition] = diff["transitions"]
    assert (transition["from"], transition["to"], transition["count"]) == (
        "make failed",
        "compiler error",
        3,
    )
    assert transition["examples"][0]["to_line"] == "2: a0.c:3:7: error: bad"
    assert {log["log"].rpartition("/")[2] for log in diff["logs"]} == {
        f"cc-{n}.txt" for n in range(3)
    }
    # The other way round the same logs break; --fail-on-change exits 1.
    back = diff_json(
        capsys, "--base", str(new), "--ruleset", str(old), "--fail-on-change", str(corpus), code=1
    )
    assert (back["changed"], back["fixed"], back["broken"]) == (3, 0, 3)
    same = diff_json(
        capsys, "--base", str(new), "--ruleset", str(new), "--fail-on-change", str(corpus)
    )
    assert (same["changed"], same["transitions"], same["logs"]) == (0, [], [])


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def test_diff_base_ref_reads_the_ruleset_at_that_ref_in_a_real_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "pkg" / "ruleset.toml").write_text(RULES_WITHOUT_COMPILER)
    (repo / "ruleset.toml").symlink_to("pkg/ruleset.toml")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "rules")
    git(repo, "checkout", "-q", "-b", "branch")
    (repo / "pkg" / "ruleset.toml").write_text(RULES)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "cc.log").write_text(COMPILER_LOG)
    monkeypatch.chdir(repo)
    # The branch's working tree against main, through the symbolic link.
    diff = diff_json(capsys, "--base-ref", "main", "--ruleset", "ruleset.toml", str(corpus))
    assert diff["base"] == "main:pkg/ruleset.toml"
    assert [(t["from"], t["to"]) for t in diff["transitions"]] == [
        ("located failure", "compiler error")
    ]
    # Without --ruleset's file in the repository: ruleset.toml at its top.
    elsewhere = write_rules(tmp_path, RULES, "new.toml")
    diff = diff_json(capsys, "--base-ref", "main", "--ruleset", str(elsewhere), str(corpus))
    assert (diff["base"], diff["changed"]) == ("main:pkg/ruleset.toml", 1)
    assert main(["rules", "diff", "--base-ref", "no-such-ref", str(corpus)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("logsorter: error: --base-ref no-such-ref: git ")
    assert err.count("\n") == 1


def test_sample_is_reproducible_and_shows_the_lines_around(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(30):
        (corpus / f"{n:02}.log").write_text(f"+ pytest\nline {n}\nFAILED t.py::test_{n}\nafter\n")
    rules = str(write_rules(tmp_path))

    def sample(*args: str) -> str:
        assert main(["rules", "sample", "pytest failure", *args, "--ruleset", rules]) == 0
        return capsys.readouterr().out

    first = sample(str(corpus), "-n", "5", "--seed", "7")
    assert first.startswith("5 of 30 verdicts of 'pytest failure' (seed 7)\n")
    assert first.count("\n== ") == 5
    assert ">      3  FAILED t.py::test_" in first
    assert "       2  line " in first
    files = sorted(str(p) for p in corpus.iterdir())
    assert sample(*reversed(files), "-n", "5", "--seed", "7").replace(str(corpus) + "/", "") == (
        first.replace(str(corpus) + "/", "")
    )
    assert sample(str(corpus), "-n", "5", "--seed", "8") != first
    assert main(["rules", "sample", "no such rule", str(corpus)]) == 2


def test_fixtures_add_cuts_blesses_and_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [f"step {n}" for n in range(1, 101)]
    lines[59] = "error: a confuser the catch-all would take"
    lines[79] = "FAILED tests/test_b.py::test_two - boom"
    log = tmp_path / "job.log.gz"
    log.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    out_dir = tmp_path / "fixtures"
    out_dir.mkdir()
    rules = str(write_rules(tmp_path))
    add = ["fixtures", "add", str(log), "--dir", str(out_dir), "--ruleset", rules]
    assert main([*add, "--line", "80", "--name", "pytest_two", "--before", "25"]) == 0
    assert "log line 80 -> fixture line 26, rule 'pytest failure'" in capsys.readouterr().out
    fixture = fixtures.parse(out_dir / "pytest_two.txt")
    assert fixture.expected == fixtures.Verdict(26, ("tests/test_b.py::test_two",))
    assert "a confuser" in fixture.log
    assert len(fixture.log.splitlines()) == 31
    assert main(["fixtures", "check", str(out_dir), "--ruleset", rules]) == 0
    capsys.readouterr()
    # A line the ruleset does not land on: blessed as it is, and exit 1.
    assert main([*add, "--line", "60", "--name", "confuser", "--after", "30"]) == 1
    assert "the verdict is not line 60" in capsys.readouterr().out
    assert main([*add, "--line", "80", "--name", "pytest_two"]) == 2
    assert main([*add, "--line", "500", "--name", "other"]) == 2
    assert "line 500 is not in the log (100 lines)" in capsys.readouterr().err
    assert main([*add, "--line", "80", "--name", "../escape"]) == 2


LINES = st.sampled_from(
    [
        "+ make",
        "plain",
        "FAILED t.py::x - e",
        "a.c:1:2: error: bad",
        "make: *** [all] Error 2",
        "error: generic",
        "##[error]Process completed with exit code 1.",
        "\x1b[31merror: red\x1b[0m",
        "",
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(LINES, max_size=12).map("\n".join), min_size=1, max_size=6))
def test_survey_gives_each_log_its_classify_verdict_and_matching_rules(logs: list[str]) -> None:
    ruleset = RuleSet.from_toml(RULES)
    names = [name for name, _ in ruleset.rules]
    [surveyed, again] = survey([ruleset, ruleset], [log.encode() for log in logs], threads=3)
    assert [s.verdict for s in again] == [s.verdict for s in surveyed]
    for log, found in zip(logs, surveyed, strict=True):
        assert found.error is None
        assert found.verdict == ruleset.classify(log)
        assert [names[i] for i in found.matched] == [m.rule for m in ruleset.classify_all(log)]


@pytest.mark.skipif(not (SHARED / "realworld").is_dir(), reason="shared realworld logs not present")
def test_stats_on_the_realworld_logs_agrees_with_their_score(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stats = stats_json(capsys, str(SHARED / "realworld" / "logs"))
    labeled = stats["summary"]["labeled"]
    assert labeled["logs"] == 21
    assert labeled["accuracy"] >= 0.9
