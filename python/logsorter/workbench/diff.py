"""What a ruleset change moves (``logsorter rules diff``): every log whose
verdict (rule, line or captures) differs between two rulesets, grouped by
transition (old rule -> new rule), and for labeled logs whether the change
fixes or breaks them."""

from __future__ import annotations

import os
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from logsorter.workbench.run import LogResult, Run
from logsorter.workbench.stats import verdict_dict

#: Examples kept per transition.
EXAMPLES = 3
#: Where ``--base-ref`` reads the ruleset when ``--ruleset`` names none in
#: the repository.
RULESET_FILE = "ruleset.toml"


class GitError(ValueError):
    """A ruleset that cannot be read at a git ref; one-line message."""


def _key(result: LogResult) -> tuple[str, int, tuple[str, ...]] | None:
    v = result.verdict
    return None if v is None else (v.rule, v.line_num, tuple(v.captures))


def _label_change(old: LogResult, new: LogResult) -> str | None:
    if old.label is None:
        return None
    was = old.label.right(old.verdict.line_num if old.verdict else None)
    now = new.label.right(new.verdict.line_num if new.verdict else None) if new.label else was
    if was == now:
        return None
    return "fixed" if now else "broken"


def compute_diff(
    old: Sequence[LogResult], new: Sequence[LogResult], run: Run, digests: tuple[str, str]
) -> dict[str, Any]:
    """The JSON object ``rules diff --format json`` prints."""
    logs: list[dict[str, Any]] = []
    groups: dict[tuple[str | None, str | None], list[dict[str, Any]]] = defaultdict(list)
    for before, after in zip(old, new, strict=True):
        if _key(before) == _key(after) and before.error == after.error:
            continue
        entry = {
            "log": before.name,
            "from": verdict_dict(before),
            "to": verdict_dict(after),
            "label": _label_change(before, after),
            "labels": list(before.label.lines) if before.label else None,
            "error": after.error or before.error,
            "from_window": [list(line) for line in before.window],
            "to_window": [list(line) for line in after.window],
        }
        logs.append(entry)
        groups[(_rule(before), _rule(after))].append(entry)
    transitions = [
        {
            "from": rules[0],
            "to": rules[1],
            "count": len(entries),
            "examples": [
                {
                    "log": e["log"],
                    "from_line": _where(e["from"]),
                    "to_line": _where(e["to"]),
                }
                for e in entries[:EXAMPLES]
            ],
        }
        for rules, entries in sorted(groups.items(), key=lambda g: (-len(g[1]), str(g[0])))
    ]
    text_bytes = sum(r.bytes for r in new)
    return {
        "changed": len(logs),
        "logs_surveyed": len(new),
        "fixed": sum(e["label"] == "fixed" for e in logs),
        "broken": sum(e["label"] == "broken" for e in logs),
        "base_digest": digests[0],
        "ruleset_digest": digests[1],
        "seconds": round(run.seconds, 3),
        "mb_per_s": round(text_bytes / run.seconds / 1e6, 1) if run.seconds else None,
        "peak_rss_bytes": run.peak_rss_bytes,
        "transitions": transitions,
        "logs": logs,
    }


def _rule(result: LogResult) -> str | None:
    return result.verdict.rule if result.verdict else None


def _where(verdict: dict[str, Any] | None) -> str | None:
    return None if verdict is None else f"{verdict['line_num']}: {verdict['line']}"


def ruleset_at_ref(ref: str, ruleset_path: str | None) -> tuple[str, str]:
    """The text of the ruleset at git ``ref``, and where it was read
    (``REF:PATH``): the file ``ruleset_path`` names, when it is inside a
    git repository, else ``ruleset.toml`` at the top of the repository
    around the current directory. A symbolic link is followed within the
    ref's tree."""
    top, path = _repository_path(ruleset_path)
    for _ in range(8):  # links to links, but not forever
        listing = _git(top, "ls-tree", ref, "--", path).split(maxsplit=3)
        if not listing:
            raise GitError(f"{ref}: no {path} in that commit")
        mode, _, _, _ = listing
        text = _git(top, "show", f"{ref}:{path}")
        if mode != "120000":
            return text, f"{ref}:{path}"
        path = os.path.normpath(Path(path).parent / text.strip())
    raise GitError(f"{ref}:{path}: too many symbolic links")


def _repository_path(ruleset_path: str | None) -> tuple[Path, str]:
    """The top of the repository and the ruleset's path in it."""
    if ruleset_path:
        resolved = Path(ruleset_path).resolve()
        try:
            top = Path(_git(resolved.parent, "rev-parse", "--show-toplevel").strip())
            return top, resolved.relative_to(top.resolve()).as_posix()
        except (GitError, ValueError):
            pass  # a ruleset outside any repository: the repository's own
    return Path(_git(Path.cwd(), "rev-parse", "--show-toplevel").strip()), RULESET_FILE


def _git(where: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(where), *args], capture_output=True, text=True, check=False
        )
    except OSError as err:
        raise GitError(f"cannot run git: {err}") from err
    if done.returncode:
        message = done.stderr.strip().splitlines()
        raise GitError(f"git {' '.join(args)}: {message[-1] if message else 'failed'}")
    return done.stdout
