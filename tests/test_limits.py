"""The size ceiling (``max_bytes``) of every entry point that reads a log or an
upload, gzip with NUL padding, records that name a field twice, and the
sequence of rejected lines."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from typing import Any

import logsorter
import pytest
from logsorter import CorruptInputError, InputTooLargeError, RuleSet
from logsorter._core import UploadParser, naive_classify

LOG = b"+ make\nerror: boom\n"
RULES = RuleSet.from_toml("[[rule]]\nname = 'err'\npattern = '^error: (.*)'\n")
SMS = UploadParser({"sms": ([("address", "str"), ("date", "int")], ["address", "date"])})


def test_input_too_large_is_exported_and_a_value_error() -> None:
    assert "InputTooLargeError" in logsorter.__all__
    assert issubclass(InputTooLargeError, ValueError)


CLASSIFIERS: dict[str, Callable[[bytes | str, int | None], Any]] = {
    "classify": lambda data, limit: RULES.classify(data, max_bytes=limit),
    "classify_all": lambda data, limit: RULES.classify_all(data, max_bytes=limit),
    "naive_classify": lambda data, limit: naive_classify(RULES, data, max_bytes=limit),
}


@pytest.mark.parametrize("entry", CLASSIFIERS)
@pytest.mark.parametrize("form", ["plain", "gzip", "str"])
def test_the_ceiling_counts_the_text_whatever_form_it_came_in(entry: str, form: str) -> None:
    data: bytes | str = {"plain": LOG, "gzip": gzip.compress(LOG), "str": LOG.decode()}[form]
    run = CLASSIFIERS[entry]
    assert run(data, len(LOG)) == run(data, None)
    assert run(data, None)
    with pytest.raises(InputTooLargeError, match=f"limit of {len(LOG) - 1} bytes"):
        run(data, len(LOG) - 1)


def test_the_ceiling_of_an_upload() -> None:
    text = b'{"log_type":"sms"}\n{"address":"a","date":1}\n'
    padded = text + b" " * (1 << 20)
    for data, bigger in [(text, padded), (gzip.compress(text), gzip.compress(padded))]:
        assert SMS.parse(data, len(text)).records == 1
        with pytest.raises(InputTooLargeError, match="limit of 1 MB when decompressed"):
            SMS.parse(bigger, max_bytes=1 << 20)


def test_nul_padding_after_the_last_member_is_accepted_and_other_junk_is_not() -> None:
    padded = gzip.compress(LOG) + bytes(4096)
    assert RULES.classify(padded) == RULES.classify(LOG)
    upload = gzip.compress(b'{"log_type":"sms"}\n{"address":"a","date":1}\n')
    assert SMS.parse(upload + bytes(100)).records == 1
    with pytest.raises(CorruptInputError, match="after the last member"):
        RULES.classify(gzip.compress(LOG) + b"\0\0junk")
    with pytest.raises(CorruptInputError, match="after the last member"):
        SMS.parse(upload + b"\n")


def test_a_field_named_twice_rejects_its_record_or_the_whole_header() -> None:
    parsed = SMS.parse(
        b'{"log_type":"sms"}\n'
        b'{"address":"a","date":1,"address":"b"}\n'
        b'{"address":"a","date":1,"meta":{"k":[{"x":1,"x":2}]}}\n'
        b'{"address":"a","date":2}\n'
    )
    assert list(parsed.rejected) == [(2, 'duplicate field "address"'), (3, 'duplicate field "x"')]
    assert parsed.records == 1
    with pytest.raises(CorruptInputError, match='duplicate field "log_type"'):
        SMS.parse(b'{"log_type":"sms","log_type":"contacts"}\n')


def test_rejected_lines_are_a_sequence() -> None:
    parsed = SMS.parse(b'{"log_type":"sms"}\n{}\n{}\nnot json\n\n{}\n')
    rejected = parsed.rejected
    assert isinstance(rejected, Sequence)
    missing = 'missing identity field "address"'
    as_list = [(2, missing), (3, missing), (4, rejected[2][1]), (6, missing)]
    assert rejected[2][1].startswith("invalid JSON")
    assert list(rejected) == as_list
    assert (len(rejected), rejected[-1], rejected[1:3], rejected[::-2]) == (
        4,
        as_list[-1],
        as_list[1:3],
        as_list[::-2],
    )
    assert (rejected.count((2, missing)), rejected.index((6, missing))) == (1, 3)
    assert (3, missing) in rejected
    assert list(reversed(rejected)) == as_list[::-1]
    with pytest.raises(IndexError):
        rejected[4]
    with pytest.raises(ValueError, match="not a rejected line"):
        rejected.index((2, missing), 1)
    assert not SMS.parse(b'{"log_type":"sms"}\n').rejected
