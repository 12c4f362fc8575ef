"""The README's Deploying section as data: the functions table and the
permissions table, which the template and the deployed stack must match."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from support.paths import ROOT

#: (who, action, resource) as the README's permissions table writes them.
Grant = tuple[str, str, str]


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
    or, in backticks, the template's policy for a person."""
    grants = set()
    for who, actions, resources in table_rows(readme_section("Deploying"), "| who | actions |"):
        principals = backticked(who) or [name.strip() for name in who.split(",")]
        for principal in principals:
            for action in backticked(actions):
                grants.update((principal, action, res) for res in backticked(resources))
    return grants
