"""connhub's import graph, read with `ast` (never by importing): what the architecture test checks.

Every `import` and `from … import` counts, at module level and inside functions alike; only
imports under `if TYPE_CHECKING:` are left out of the circles (they never run), though they
still count as a dependency for the layers. Importing `a.b.c` also runs `a/__init__.py` and
`a/b/__init__.py`, so those are edges too.

    .venv/bin/python -m tests.support.imports [ROOT]    # the figures: circles, back-up imports, sizes
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The floors, lowest first. A module may import its own floor or any floor below, never above.
# The longest prefix that matches a module names its floor; a module no prefix matches is on no floor
# (the architecture test fails until it is placed).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # The sandbox's plumbing is ground too: each provider's emulation is built on it.
    ("ground", ("connhub.config", "connhub.db", "connhub.models", "connhub.crypto", "connhub.ports",
                "connhub.text", "connhub.export", "connhub.background", "connhub.capabilities",
                "connhub.sandbox", "connhub.metrics", "connhub.ratelimit")),
    ("providers", ("connhub.providers",)),
    # The composition root: one object every service takes; it builds the registry.
    ("runtime", ("connhub.runtime",)),
    ("domain", ("connhub.health", "connhub.catalog", "connhub.sync", "connhub.work", "connhub.users",
                "connhub.oauth", "connhub.connections", "connhub.keys", "connhub.journal", "connhub.notify",
                "connhub.admin", "connhub.observe", "connhub.orders")),
    ("entry", ("connhub.sandbox.__main__", "connhub.sync.__main__", "connhub.__main__",
               "app", "checker", "pages", "run")),
)
# Listed here, not derived: entry points that sit inside a package of a lower floor.
ENTRY_MODULES = ("connhub.sandbox.__main__", "connhub.sync.__main__")


def layer_of(module: str) -> int | None:
    if module == "connhub":
        return 0  # the package's own __init__ imports nothing of connhub
    if module in ENTRY_MODULES:
        return len(LAYERS) - 1
    best: tuple[int, int] | None = None  # (prefix length, floor)
    for floor, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), floor)
    return None if best is None else best[1]


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a module of the tree, or an outside name as written)
    line: int
    in_function: bool
    type_only: bool  # under `if TYPE_CHECKING:`


@dataclass
class Graph:
    modules: dict[str, Path] = field(default_factory=dict)  # dotted name -> file
    imports: list[Import] = field(default_factory=list)

    def edges(self, *, runtime_only: bool = True) -> dict[str, set[str]]:
        """Module -> the modules of the tree it makes Python run."""
        out: dict[str, set[str]] = {name: set() for name in self.modules}
        for imp in self.imports:
            if imp.target not in self.modules or (runtime_only and imp.type_only):
                continue
            for target in (*parents(imp.target), imp.target):
                if target in self.modules and target != imp.source and not is_parent(target, imp.source):
                    out[imp.source].add(target)
        return out


def parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def is_parent(package: str, module: str) -> bool:
    return module.startswith(package + ".")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(root: Path, tops: Iterable[str]) -> Iterator[Path]:
    for top in tops:
        path = root / top
        if path.suffix == ".py" and path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Visitor(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, known: set[str]) -> None:
        self.module, self.is_package, self.known = module, is_package, known
        self.found: list[Import] = []
        self._function = 0
        self._type_only = 0

    def _add(self, target: str, line: int) -> None:
        self.found.append(Import(self.module, target, line, self._function > 0, self._type_only > 0))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function += 1
        self.generic_visit(node)
        self._function -= 1

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self._type_only += 1
            for child in node.body:
                self.visit(child)
            self._type_only -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(self._resolve(alias.name), node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self.module.split(".") if self.is_package else self.module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            self._add(candidate if candidate in self.known else self._resolve(base), node.lineno)

    def _resolve(self, name: str) -> str:
        """The deepest module of the tree that `name` names, else `name` itself."""
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in self.known:
                return candidate
        return name


def read_graph(root: Path = ROOT, tops: Iterable[str] = ("connhub", "pages", "app.py", "checker.py", "run")
               ) -> Graph:
    graph = Graph()
    for path in python_files(root, tops):
        graph.modules[module_name(path, root)] = path
    known = set(graph.modules)
    for name, path in graph.modules.items():
        visitor = _Visitor(name, path.name == "__init__.py", known)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        graph.imports.extend(visitor.found)
    return graph


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def strong(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                strong(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(edges):
        if node not in index:
            strong(node)
    return sorted(found)


def back_up(graph: Graph) -> list[Import]:
    """Imports from a lower floor to a higher one (TYPE_CHECKING imports included)."""
    found: list[Import] = []
    seen: set[tuple[str, str, int]] = set()
    for imp in graph.imports:
        if imp.target not in graph.modules or (imp.source, imp.target, imp.line) in seen:
            continue
        seen.add((imp.source, imp.target, imp.line))
        source, target = layer_of(imp.source), layer_of(imp.target)
        if source is not None and target is not None and target > source:
            found.append(imp)
    return found


def sizes(graph: Graph, top: str = "connhub") -> list[tuple[int, str]]:
    return sorted(((len(path.read_text(encoding="utf-8").splitlines()), name)
                   for name, path in graph.modules.items() if name.split(".")[0] == top), reverse=True)


def main(argv: list[str]) -> int:
    graph = read_graph(Path(argv[0]).resolve() if argv else ROOT)
    connhub = {name for name in graph.modules if name.split(".")[0] == "connhub"}
    edges = {name: targets & connhub for name, targets in graph.edges().items() if name in connhub}
    parts = circles(edges)
    print(f"modules in connhub/: {len(connhub)}")
    print(f"import circles inside connhub/: {len(parts)}")
    for part in parts:
        print(f"  {len(part)} modules: {', '.join(part)}")
    ups = back_up(graph)
    print(f"imports back up the layers: {len(ups)}")
    for imp in ups:
        print(f"  {imp.source}:{imp.line} -> {imp.target}")
    big = [(lines, name) for lines, name in sizes(graph) if lines > 350]
    print(f"modules over 350 lines: {len(big)}")
    for lines, name in big:
        print(f"  {lines:4d} {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
