"""`logsorter rules check`: compile and lint a ruleset."""

from __future__ import annotations

from pathlib import Path

import pytest
from logsorter import DEFAULT_RULESET_PATH
from logsorter.cli import main


def check(tmp_path: Path, toml: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(toml, encoding="utf-8")
    return path


def rules(*entries: tuple[str, str]) -> str:
    return "".join(f"[[rule]]\nname = '{n}'\npattern = '''{p}'''\n" for n, p in entries)


def test_default_ruleset_has_no_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert ": 0 errors, " in out[-1]
    assert all(": error" not in line for line in out)
    assert main(["rules", "check", "--ruleset", DEFAULT_RULESET_PATH]) == 0


def test_clean_ruleset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = check(tmp_path, rules(("a", r"^FAILED (\S+)"), ("b", r"^error: (.*)")))
    assert main(["rules", "check", "--ruleset", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 rules, digest ")
    assert out.endswith(": 0 errors, 0 warnings\n")


def test_duplicate_and_shadowed_rules_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = check(
        tmp_path,
        rules(
            ("boom", "^boom"),
            ("again", "^boom"),
            ("narrower", r"^boom at (\S+)"),
            ("unrelated", r"^bang (\S+)"),
        ),
    )
    assert main(["rules", "check", "--ruleset", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "rule 1 (again): duplicate-pattern: same pattern as rule 0 (boom)"
    assert out[1].startswith(
        "rule 2 (narrower): shadowed: every line it matches also matches rule 0"
    )
    assert out[2].endswith(": 2 errors, 0 warnings")
    assert len(out) == 3


def test_warnings_alone_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = check(
        tmp_path, rules(("words", r"^\w+ \w+$"), ("spaces", r"^boom\s+bang"), ("w", "^x12"))
    )
    assert main(["rules", "check", "--ruleset", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("rule 0 (words): no-literal: ")
    assert out[1].startswith("rule 1 (spaces): class-matches-newline: 1 character class")
    assert out[2].endswith(": 0 errors, 2 warnings")


def test_a_rule_for_empty_lines_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = check(tmp_path, rules(("blank", r"^\s*$"), ("w", "^x12")))
    assert main(["rules", "check", "--ruleset", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("rule 0 (blank): matches-empty-line: it matches empty lines")
    assert out[-1].endswith(": 0 errors, 3 warnings")  # and no-literal, class-matches-newline


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (rules(("ok", "^x"), ("broken", "a(b")), 'rule 1 ("broken"): unclosed group'),
        ("[[rule]]\nname = 'a'\npatern = 'x'\n", "unknown field `patern`"),
        (rules(("ok", "^x"), ("all", ".*")), 'rule 1 ("all"): ".*" matches every line'),
        ("# no rules yet\n", "no rules"),
    ],
)
def test_ruleset_that_does_not_load_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, message: str
) -> None:
    assert main(["rules", "check", "--ruleset", str(check(tmp_path, toml))]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("logsorter: error: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1


def test_missing_ruleset_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", "--ruleset", str(tmp_path / "none.toml")]) == 2
    assert "none.toml" in capsys.readouterr().err
