"""The README's Deploying section as data: the functions table and the
permissions table, which the template and the deployed stack must match."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from support.paths import ROOT

#: (who, action, resource, only when) as the README's permissions table
#: writes them; "only when" is a condition's key and values, or the template
#: condition a statement depends on, space-separated ("" for none).
Grant = tuple[str, str, str, str]


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n## {title}\n")
    return text[start : text.index("\n## ", start + 1)]


def table_rows(section: str, header: str) -> Iterator[list[str]]:
    """The cells of each row of the table whose header row starts with ``header``."""
    lines = section[section.index(header) :].splitlines()[2:]
    for line in lines:
        if not line.startswith("|"):
            return
        yield [cell.strip() for cell in line.strip("|").split("|")]


def backticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def readme_functions() -> dict[str, dict[str, Any]]:
    """The Deploying table by handler: name, memory (MB), timeout (s)."""
    rows = table_rows(readme_section("Deploying"), "| function | CMD |")
    return {
        backticked(cmd)[0]: {
            "name": name,
            "memory": int(re.match(r"\d+", memory)[0]),  # type: ignore[index]
            "timeout": int(re.match(r"\d+", timeout)[0]),  # type: ignore[index]
        }
        for name, cmd, memory, timeout, _ in rows
    }


def readme_grants() -> set[Grant]:
    """The permissions table: a ``who`` cell names functions (comma-separated)
    or, in backticks, one of the template's policies."""
    grants = set()
    rows = table_rows(readme_section("Deploying"), "| who | actions |")
    for who, actions, resources, only_when in rows:
        principals = backticked(who) or [name.strip() for name in who.split(",")]
        condition = " ".join(backticked(only_when))
        for principal in principals:
            for action in backticked(actions):
                grants.update((principal, action, r, condition) for r in backticked(resources))
    return grants
