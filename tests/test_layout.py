"""The layout's rules, checked on the sources: no module of the package, in
Python or in Rust, imports one that imports it back (directly or through
others). Imports inside functions and under ``TYPE_CHECKING`` count too: a
cycle hidden in a function is still a cycle."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "python" / "logsorter"
RUST = ROOT / "rust"

Graph = dict[str, set[str]]


def python_imports() -> Graph:
    modules = {
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(
            ".__init__"
        ): path
        for path in PACKAGE.rglob("*.py")
    }
    graph: Graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
        # A package's own __init__ importing its submodules is how it exports them.
        graph[name] = {
            m for m in found if m in modules and m != name and not m.startswith(name + ".")
        }
    return graph


def rust_imports() -> Graph:
    """``use crate::a::b`` and ``use super::b`` (in ``a``) name module
    ``a::b`` or one of its items: the longest prefix that is a module file."""
    modules = {
        "::".join(path.relative_to(RUST).with_suffix("").parts).removesuffix("::mod"): path
        for path in RUST.rglob("*.rs")
        if path.name != "lib.rs"
    }
    graph: Graph = {}
    for name, path in modules.items():
        parent = name if path.name == "mod.rs" else name.rpartition("::")[0]
        text = re.sub(r"#\[cfg\(test\)\]\s*mod tests \{.*", "", path.read_text(), flags=re.S)
        text = re.sub(r"//[^\n]*", "", text)  # comments name modules too
        found = set()
        for root, tree in re.findall(r"\b(crate|super)::([^;]+);", text):
            base = "" if root == "crate" else parent
            for used in _expand(tree):
                parts = [p for p in f"{base}::{used}".split("::") if p]
                for end in range(len(parts), 0, -1):
                    candidate = "::".join(parts[:end])
                    if candidate in modules:
                        found.add(candidate)
                        break
        graph[name] = {m for m in found if m != name and not m.startswith(name + "::")}
    return graph


def _expand(tree: str) -> list[str]:
    """``a::{b, c::{d, e}}`` as ``a::b``, ``a::c::d``, ``a::c::e``."""
    tree = re.sub(r"\s+", "", tree)
    prefix, brace, rest = tree.partition("{")
    if not brace:
        return [tree]
    inner = rest[: rest.rindex("}")]
    items, depth, current = [], 0, ""
    for char in inner:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [f"{prefix}{item}" for part in items if part for item in _expand(part)]


def cycles(graph: Graph) -> list[list[str]]:
    """Each module that can reach itself, with one path back."""
    found = []
    for start in sorted(graph):
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, path = stack.pop()
            for target in sorted(graph.get(node, ())):
                if target == start:
                    found.append([*path, start])
                    stack.clear()
                    break
                if target not in seen:
                    seen.add(target)
                    stack.append((target, [*path, target]))
    return found


def describe(found: Iterable[list[str]]) -> str:
    return "; ".join(" -> ".join(path) for path in found)


def test_no_python_module_imports_one_that_imports_it_back() -> None:
    graph = python_imports()
    assert "logsorter.collator.commit" in graph
    assert not cycles(graph), describe(cycles(graph))


def test_no_rust_module_imports_one_that_imports_it_back() -> None:
    graph = rust_imports()
    assert "classify::engine" in graph["binding"]
    assert {"classify::prefilter", "classify::ruleset"} <= graph["classify::lint"]
    assert not cycles(graph), describe(cycles(graph))


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c", "a"],
        ["b", "c", "a", "b"],
        ["c", "a", "b", "c"],
    ]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert _expand("a::{b, c::{d, self}}") == ["a::b", "a::c::d", "a::c::self"]
