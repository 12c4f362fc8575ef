"""The exceptions of the native core: input that cannot be read is a
`CorruptInputError`, a ruleset that does not load a `RuleSetError`; both are
`ValueError`s, as everything the core rejected used to be."""

from __future__ import annotations

import gzip

import pytest
from logsorter import CorruptInputError, RuleSet, RuleSetError
from logsorter._core import DEFAULT_CONTEXT_DEPTH, UploadParser, required_literals


def test_both_are_value_errors() -> None:
    assert issubclass(CorruptInputError, ValueError)
    assert issubclass(RuleSetError, ValueError)


def test_corrupt_gzip_and_malformed_uploads_are_corrupt_input() -> None:
    packed = gzip.compress(b"error: boom\n" * 100)
    with pytest.raises(CorruptInputError, match=r"^corrupt gzip input"):
        RuleSet.default().classify(packed[: len(packed) // 2])
    with pytest.raises(CorruptInputError, match=r"^malformed upload: the upload is empty"):
        UploadParser({}).parse(b"\n")
    with pytest.raises(CorruptInputError, match=r"^malformed upload: corrupt gzip input"):
        UploadParser({}).parse(packed[:-4])


@pytest.mark.parametrize(
    "toml",
    [
        "[[rule]\nname = 'a'\n",
        "[[rule]]\nname = 'broken'\npattern = 'a(b'\n",
        "[[rule]]\nname = 'huge'\npattern = '\\w{500}{500}'\n",
    ],
    ids=["toml", "bad-pattern", "too-big"],
)
def test_rulesets_that_do_not_load_are_ruleset_errors(toml: str) -> None:
    with pytest.raises(RuleSetError, match=r"^invalid ruleset"):
        RuleSet.from_toml(toml)


def test_a_pattern_that_does_not_parse_is_a_ruleset_error() -> None:
    with pytest.raises(RuleSetError, match="unclosed group"):
        required_literals("a(b")


def test_a_missing_ruleset_file_is_still_an_os_error() -> None:
    with pytest.raises(FileNotFoundError):
        RuleSet.from_file("/nonexistent/rules.toml")


def test_context_depth_defaults_to_the_exported_constant() -> None:
    ruleset = RuleSet.from_toml("[[rule]]\nname = 'err'\npattern = '^error'\n")
    log = "".join(f"+ step {i}\n" for i in range(DEFAULT_CONTEXT_DEPTH + 5)) + "error\n"
    match = ruleset.classify(log)
    assert match is not None
    assert DEFAULT_CONTEXT_DEPTH == 12
    assert len(match.context) == DEFAULT_CONTEXT_DEPTH
    assert match == ruleset.classify(log, DEFAULT_CONTEXT_DEPTH)
