"""The house rules, held true by reading the code (imports with `ast`, never by importing it).

Each rule below names what it protects. The rules are strict; what the code breaks today, while
other lanes remove it, is listed in KNOWN_VIOLATIONS with who removes it. A new violation fails;
so does an entry that no longer happens (remove it: the list only shrinks). The figures behind
these rules: `.venv/bin/python -m tests.support.imports`.

Model: Datasette's tests/test_docs.py — docs and code that tests hold to each other.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.imports import ROOT, Graph, back_up, circles, layer_of, module_name, python_files, read_graph

MAX_LINES = 350
PROVIDER_PACKAGES = ("connhub.providers.evotor", "connhub.providers.vk")
ARCHITECTURE = ROOT / "docs" / "architecture.md"
ADDING_A_PROVIDER = ROOT / "docs" / "adding-a-provider.md"
# Where the declared capabilities live, whichever of these exists (lane synchouse creates it).
CAPABILITY_MODULES = ("connhub/capabilities.py", "connhub/providers/capabilities.py", "connhub/ports/capabilities.py")

# rule -> {violation: who removes it}. Emptied by the lead at merge, as the lanes land.
KNOWN_VIOLATIONS: dict[str, dict[str, str]] = {
    "circles": {},
    "back_up": {},
    "provider_packages": {},
    "page_sessions": {},
    "capability_lookups": {},
    "module_size": {},
    "documented_modules": {},
}


@pytest.fixture(scope="module")
def graph() -> Graph:
    return read_graph()


def check(rule: str, found: set[str]) -> None:
    """Fail on a violation not listed, and on a listed one that no longer happens."""
    known = KNOWN_VIOLATIONS[rule]
    new = sorted(found - set(known))
    gone = sorted(set(known) - found)
    assert not new, f"{rule}: new violations:\n  " + "\n  ".join(new)
    assert not gone, f"{rule}: fixed, remove from KNOWN_VIOLATIONS[{rule!r}]:\n  " + "\n  ".join(gone)


def connhub_modules(graph: Graph) -> set[str]:
    return {name for name in graph.modules if name.split(".")[0] == "connhub"}


# ----------------------------------------------------------------------------- imports

def test_no_import_circles_inside_connhub(graph):
    """A circle ties every module in it together: none can be read, tested or replaced alone."""
    inside = connhub_modules(graph)
    edges = {name: targets & inside for name, targets in graph.edges().items() if name in inside}
    check("circles", {", ".join(part) for part in circles(edges)})


def test_no_import_runs_back_up_the_layers(graph):
    """ground (config, db, models, crypto, ports, text, the sandbox's plumbing) -> providers -> runtime
    (the composition root) -> domain (health, catalog, sync, work, …) -> entry points and pages."""
    unplaced = sorted(name for name in graph.modules if layer_of(name) is None)
    assert not unplaced, f"modules on no floor (add them to LAYERS in tests/support/imports.py): {unplaced}"
    check("back_up", {f"{imp.source} -> {imp.target}" for imp in back_up(graph)})


def test_nothing_outside_the_providers_imports_a_provider_package(graph):
    """Only the registry knows the providers; everything else asks it (or a port) — so a new provider
    is one folder and one registry line."""
    found = set()
    for imp in graph.imports:
        if imp.source.startswith("connhub.providers.") or imp.source == "connhub.providers":
            continue
        if any(imp.target == package or imp.target.startswith(package + ".") for package in PROVIDER_PACKAGES):
            found.add(f"{imp.source} -> {imp.target}")
    check("provider_packages", found)


def test_connhub_never_imports_streamlit_or_the_pages(graph):
    """connhub/ is the domain: the checker, the CLI and cron run it without a browser."""
    bad = sorted(f"{imp.source}:{imp.line} -> {imp.target}" for imp in graph.imports
                 if imp.source.split(".")[0] == "connhub"
                 and imp.target.split(".")[0] in ("streamlit", "pages", "app"))
    assert not bad, bad


# ----------------------------------------------------------------------------- code shape

def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def test_pages_open_no_sessions():
    """Pages render and call one service door per area; a service owns its transaction."""
    found = set()
    for path in python_files(ROOT, ("pages",)):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _calls(tree):
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name == "sessions":
                found.add(path.relative_to(ROOT).as_posix())
    check("page_sessions", found)


def _capability_lookup(call: ast.Call, parents: dict[ast.AST, ast.AST]) -> str | None:
    """getattr/hasattr used to ask "can this object do X?" (a heuristic): on anything that names a
    provider, inside `callable(...)`, any hasattr, or a getattr defaulting to None (thread-locals aside)."""
    if not (isinstance(call.func, ast.Name) and call.func.id in ("getattr", "hasattr") and len(call.args) >= 2):
        return None
    target, attribute = ast.unparse(call.args[0]), call.args[1]
    name = repr(attribute.value) if isinstance(attribute, ast.Constant) else ast.unparse(attribute)
    parent = parents.get(call)
    in_callable = isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "callable"
    defaults_to_none = (len(call.args) == 3 and isinstance(call.args[2], ast.Constant) and call.args[2].value is None
                        and target != "_local")
    if "provider" in target or in_callable or call.func.id == "hasattr" or defaults_to_none:
        return f"{call.func.id}({target}, {name})"
    return None


def test_no_capability_found_by_getattr_or_hasattr(graph):
    """What a provider offers is declared and type-checked, not discovered by name at run time."""
    found = set()
    for name, path in graph.modules.items():
        if name.split(".")[0] != "connhub":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for call in _calls(tree):
            lookup = _capability_lookup(call, parents)
            if lookup:
                found.add(f"{name}: {lookup}")
    check("capability_lookups", found)


def test_no_module_over_the_line_budget(graph):
    """A module a person reads in one sitting: at most 350 lines, the emulations included."""
    found = {name for name in connhub_modules(graph)
             if len(graph.modules[name].read_text(encoding="utf-8").splitlines()) > MAX_LINES}
    check("module_size", found)


# ----------------------------------------------------------------------------- docs held true

ENTRY = re.compile(r"^(?P<indent> *)(?P<names>[\w.]+/?(?:, [\w.]+/?)*)(?:  |$)")


def documented_paths(text: str) -> dict[str, str]:
    """Every path the package trees of `docs/architecture.md` name -> the text that describes it.

    A tree is a fenced block whose entries start at column 0 (`connhub/`) or are indented under their
    package by two spaces; an entry's description may run on in lines indented to the description
    column. `evotor/, vk/` names two entries that share one description."""
    described: dict[str, str] = {}
    for block in re.findall(r"```\n(.*?)```", text, flags=re.S):
        stack: list[tuple[int, str]] = []
        last: list[str] = []
        for line in block.splitlines():
            match = ENTRY.match(line)
            indent = len(match.group("indent")) if match else 0
            if not match or indent > 12 or (stack and indent > stack[-1][0] + 2 and last):
                for path in last:
                    described[path] += " " + line.strip()
                continue
            while stack and stack[-1][0] >= indent:
                stack.pop()
            parent = stack[-1][1] if stack else ""
            last = []
            for name in match.group("names").split(", "):
                path = parent + name
                described[path] = line[match.end():].strip()
                last.append(path)
            if last[-1].endswith("/"):
                stack.append((indent, last[-1]))
    return described


def undocumented(modules: list[Path], described: dict[str, str]) -> list[str]:
    missing = []
    for path in modules:
        relative = path.relative_to(ROOT).as_posix()
        if relative.endswith("/__init__.py"):
            folder = relative.removesuffix("__init__.py")
            named = folder in described
        else:
            folder, _, file = relative.rpartition("/")
            named = relative in described or bool(
                re.search(rf"(?<![\w/]){re.escape(file)}\b", described.get(folder + "/", "")))
        if not named:
            missing.append(relative)
    return missing


def test_documented_paths_reads_a_tree():
    tree = "```\nconnhub/  the domain\n  a.py, b/   two things\n  c/        has d.py and\n            e.py\n```\n"
    described = documented_paths(tree)
    assert set(described) == {"connhub/", "connhub/a.py", "connhub/b/", "connhub/c/"}
    assert undocumented([ROOT / "connhub/c/e.py", ROOT / "connhub/c/f.py", ROOT / "connhub/b/__init__.py"],
                        described) == ["connhub/c/f.py"]


def test_every_module_is_named_in_the_architecture_doc(graph):
    """docs/architecture.md names every module of connhub/ (in its package's tree entry), so the map
    a newcomer reads is the territory."""
    described = documented_paths(ARCHITECTURE.read_text(encoding="utf-8"))
    paths = sorted(graph.modules[name] for name in connhub_modules(graph) if name != "connhub")
    check("documented_modules", set(undocumented(paths, described)))


def test_every_capability_is_in_the_adding_a_provider_doc():
    """Each capability a provider may offer is explained where a provider's author looks."""
    found = [ROOT / path for path in CAPABILITY_MODULES if (ROOT / path).exists()]
    if not found:
        pytest.skip(f"no capabilities module yet (one of {', '.join(CAPABILITY_MODULES)}; lane synchouse)")
    tree = ast.parse(found[0].read_text(encoding="utf-8"))
    capabilities = [node.name for node in tree.body if isinstance(node, ast.ClassDef) and any(
        "Protocol" in ast.unparse(base) for base in node.bases)]
    assert capabilities, f"{module_name(found[0])} declares no Protocol"
    doc = ADDING_A_PROVIDER.read_text(encoding="utf-8")
    missing = [name for name in capabilities if not re.search(rf"\b{name}\b", doc)]
    assert not missing, f"capabilities missing from docs/adding-a-provider.md: {missing}"
