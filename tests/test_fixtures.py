"""The in-band fixture format, `fixtures check` and `fixtures bless`."""

from __future__ import annotations

import shutil
import string
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from logsorter import RuleSet
from logsorter.classifier import fixtures as fx
from logsorter.cli import main

OPEN, CLOSE = fx.OPEN, fx.CLOSE
STAMP = "2025-03-14T09:12:33.1234567Z "
PROJECT_FIXTURES = Path(__file__).parent / "fixtures" / "logs"


def ruleset(*patterns: str) -> RuleSet:
    return RuleSet.from_toml(
        "".join(f"[[rule]]\nname = 'r{i}'\npattern = '''{p}'''\n" for i, p in enumerate(patterns))
    )


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


# -- parsing ---------------------------------------------------------------


def test_parse_reads_source_lines_marker_and_captures(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.txt",
        f"#=SOURCE=# somewhere\nfirst\n#=SOURCE=# again\n"
        f"{fx.MATCH_PREFIX}{STAMP}\x1b[31m{OPEN}boom{CLOSE}\x1b[0m at "
        f"{OPEN}x\x1b[1my{CLOSE}\nlast\n",
    )
    fixture = fx.parse(path)
    assert fixture.expected == fx.Verdict(2, ("boom", "xy"))
    assert fixture.log == f"first\n{STAMP}\x1b[31mboom\x1b[0m at x\x1b[1my\nlast\n"
    assert fixture.text_with_lines(fixture.lines) == (
        f"#=SOURCE=# somewhere\nfirst\n#=SOURCE=# again\n{fixture.log.split(chr(10))[1]}\nlast\n"
    )


def test_no_marker_expects_no_match_and_keeps_missing_final_newline(tmp_path: Path) -> None:
    fixture = fx.parse(write(tmp_path / "a.txt", "#=SOURCE=# s\nfine\nstill fine"))
    assert fixture.expected == fx.Verdict(None)
    assert fixture.log == "fine\nstill fine"
    assert fixture.text_with_lines(fixture.lines) == "#=SOURCE=# s\nfine\nstill fine"


def test_nested_and_empty_captures_keep_group_order(tmp_path: Path) -> None:
    marked = f"{fx.MATCH_PREFIX}x{OPEN}{OPEN}a{CLOSE}b{CLOSE}{OPEN}{CLOSE}c\n"
    assert fx.parse(write(tmp_path / "a.txt", marked)).expected == fx.Verdict(1, ("ab", "a", ""))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"{fx.MATCH_PREFIX}a\n{fx.MATCH_PREFIX}b\n",
            "second #=MATCH=# line (the first is log line 1)",
        ),
        (f"x\n{fx.MATCH_PREFIX}a{CLOSE}\n", f"a.txt:2: {CLOSE} without a matching {OPEN}"),
        (f"{fx.MATCH_PREFIX}{OPEN}a\n", f"a.txt:1: {OPEN} without a matching {CLOSE}"),
    ],
)
def test_malformed_markers_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(fx.FixtureError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fx.parse(write(tmp_path / "a.txt", text))


def test_non_utf8_fixture_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"ok\n\xff\xfe\n")
    with pytest.raises(fx.FixtureError, match=r"a\.txt: not UTF-8 \(byte 3\)"):
        fx.parse(path)


# -- normalization: the Python mirror must agree with the engine -----------

LINE_PIECES = st.lists(
    st.one_of(
        st.text(alphabet=string.ascii_letters + string.digits + " :[]()'-", max_size=6),
        st.sampled_from(
            [
                "\x1b[0m",
                "\x1b[1;31m",
                "\x1b[38;5;200m",
                "\x1b[",
                "\x1bM",
                "\x1b",
                "\x1b[?25h",
                "\x9b31m",
                "\x9b",
                "\x85",
                "\x9c",
                "é",
                "ü",
                "\r",
                OPEN,
            ]
        ),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(stamped=st.booleans(), pieces=LINE_PIECES)
def test_normalized_with_offsets_agrees_with_the_engine(stamped: bool, pieces: list[str]) -> None:
    raw = (STAMP if stamped else "") + "".join(pieces)
    # Any line, the empty one too (`^` alone matches every line and does not load).
    match = ruleset("^(?:.|$)").classify(raw + "\n")
    assert match is not None
    normalized, offsets = fx.normalized_with_offsets(raw)
    assert normalized == match.line
    assert "".join(raw[i] for i in offsets) == normalized


# -- bless: markers go onto the raw line so that check is clean after ------


@settings(max_examples=200, deadline=None)
@given(stamped=st.booleans(), before=LINE_PIECES, inside=LINE_PIECES)
def test_bless_then_check_is_clean_around_escapes(
    tmp_path_factory: pytest.TempPathFactory, stamped: bool, before: list[str], inside: list[str]
) -> None:
    if OPEN in "".join(before + inside) or CLOSE in "".join(before + inside):
        return
    raw = (STAMP if stamped else "") + "".join(before) + "BOOM" + "".join(inside) + "END\r"
    rules = ruleset(r"BOOM(.*)END", r"(BO)(OM)")
    path = write(tmp_path_factory.mktemp("bless") / "a.txt", f"#=SOURCE=# s\nok\n{raw}\nafter\n")
    outcome = fx.parse(path).check(rules)
    # A dangling escape right before the text can swallow its first letter.
    assume(outcome.moved)
    path.write_bytes(fx.bless(outcome).encode("utf-8"))
    again = fx.parse(path).check(rules)
    assert not again.moved, again.describe()
    assert again.got.line_num == 2
    assert fx.parse(path).log == f"ok\n{raw}\nafter\n"


def test_bless_marks_nested_empty_and_whole_match_captures(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", f"pre\n{STAMP}\x1b[1mxabc\x1b[0m tail\n")
    for pattern, marked in [
        # Captures are placed by text, each at or after the previous one's
        # start, so the empty group lands at the earliest place that keeps
        # the group order; what check compares is the same.
        (r"x((a)b)()c", f"\x1b[1mx{OPEN}{OPEN}{OPEN}{CLOSE}a{CLOSE}b{CLOSE}c\x1b[0m tail"),
        (r"^xab", f"\x1b[1m{OPEN}xab{CLOSE}c\x1b[0m tail"),
        (r"c tail$", f"\x1b[1mxab{OPEN}c\x1b[0m tail{CLOSE}"),
    ]:
        outcome = fx.parse(path).check(ruleset(pattern))
        text = fx.bless(outcome)
        assert text == f"pre\n{fx.MATCH_PREFIX}{STAMP}{marked}\n", pattern
        blessed = write(tmp_path / "b.txt", text)
        assert not fx.parse(blessed).check(ruleset(pattern)).moved


def test_bless_to_no_match_removes_the_marker(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", f"#=SOURCE=# s\n{fx.MATCH_PREFIX}{OPEN}boom{CLOSE}\n")
    outcome = fx.parse(path).check(ruleset("^nothing"))
    assert fx.bless(outcome) == "#=SOURCE=# s\nboom\n"


def test_bless_refuses_a_line_that_contains_marker_characters(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", f"boom {OPEN}quoted{CLOSE}\n")
    outcome = fx.parse(path).check(ruleset("^boom"))
    with pytest.raises(fx.FixtureError, match="itself contains"):
        fx.bless(outcome)


def test_project_fixtures_survive_unmark_and_bless(tmp_path: Path) -> None:
    """Stripping every marker and blessing with the default ruleset gives back
    the very same files: the markers are exactly what bless writes."""
    default = RuleSet.default()
    for path in fx.discover(PROJECT_FIXTURES):
        fixture = fx.parse(path)
        bare = write(tmp_path / path.name, fixture.text_with_lines(fixture.lines))
        assert fx.bless(fx.parse(bare).check(default)) == path.read_text(encoding="utf-8"), (
            path.name
        )


# -- the command line --------------------------------------------------------


def fixture_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "fx"
    (directory / "nested").mkdir(parents=True)
    write(directory / "good.txt", f"#=SOURCE=# s\nok\n{fx.MATCH_PREFIX}{OPEN}boom{CLOSE} one\n")
    write(directory / "nested" / "moved.txt", f"{fx.MATCH_PREFIX}{OPEN}boom{CLOSE} a\nboom b\n")
    write(directory / "quiet.txt", "nothing here\n")
    write(directory / "notes.md", "not a fixture: boom\n")
    write(tmp_path / "rules.toml", "[[rule]]\nname = 'boom'\npattern = '^boom'\n")
    return directory


def test_check_lists_moved_fixtures_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = fixture_dir(tmp_path)
    code = main(["fixtures", "check", str(directory), "--ruleset", str(tmp_path / "rules.toml")])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out == [
        f"{directory}/nested/moved.txt: "
        "expected line 1 ['boom'], got line 2 ['boom'] (rule 'boom')",
        "3 fixtures, 1 moved",
    ]


def test_bless_rewrites_moved_fixtures_then_check_is_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = fixture_dir(tmp_path)
    args = [str(directory), "--ruleset", str(tmp_path / "rules.toml")]
    good_before = (directory / "good.txt").read_bytes()
    assert main(["fixtures", "bless", *args]) == 0
    out = capsys.readouterr().out
    assert "blessed " in out
    assert out.endswith("3 fixtures, 1 blessed\n")
    assert (
        directory / "nested" / "moved.txt"
    ).read_text() == f"boom a\n{fx.MATCH_PREFIX}{OPEN}boom{CLOSE} b\n"
    assert (directory / "good.txt").read_bytes() == good_before
    assert sorted(p.name for p in directory.rglob("*")) == [
        "good.txt",
        "moved.txt",
        "nested",
        "notes.md",
        "quiet.txt",
    ]
    assert main(["fixtures", "check", *args]) == 0
    assert capsys.readouterr().out == "3 fixtures, 0 moved\n"


def test_bless_writes_nothing_when_one_fixture_cannot_be_blessed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = fixture_dir(tmp_path)
    write(directory / "zz.txt", f"boom {OPEN}x{CLOSE}\n")
    before = {p: p.read_bytes() for p in directory.rglob("*.txt")}
    code = main(["fixtures", "bless", str(directory), "--ruleset", str(tmp_path / "rules.toml")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "itself contains" in err
    assert {p: p.read_bytes() for p in directory.rglob("*.txt")} == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fixtures", "check", "{tmp}/absent"], "absent: not a directory"),
        (["fixtures", "check", "{tmp}", "--ruleset", "{tmp}/none.toml"], "none.toml"),
        (["fixtures", "bless", "{tmp}/absent"], "absent: not a directory"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main([a.format(tmp=tmp_path) for a in args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("logsorter: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_project_fixtures_pass_check_with_the_default_ruleset(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["fixtures", "check", str(PROJECT_FIXTURES)]) == 0
    assert capsys.readouterr().out.endswith(" 0 moved\n")


def test_check_does_not_touch_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "logs"
    shutil.copytree(PROJECT_FIXTURES, copy)
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    write(tmp_path / "x.toml", "[[rule]]\nname = 'x'\npattern = '^never'\n")
    assert main(["fixtures", "check", str(copy), "--ruleset", str(tmp_path / "x.toml")]) == 1
    capsys.readouterr()
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before
