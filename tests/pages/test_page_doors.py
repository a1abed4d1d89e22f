"""Pages only render: they call one service door per area and never hold a database session
(issue 16.4), and their markup goes through the Markup type (issue 15.1)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE_FILES = sorted([ROOT / "app.py", *(ROOT / "pages").rglob("*.py")])


def test_no_page_opens_a_session() -> None:
    offenders = []
    for path in PAGE_FILES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in ("sessions", "engine"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module in ("sqlalchemy", "sqlalchemy.orm", "connhub.db"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {node.module}")
    assert offenders == []


def test_no_page_interpolates_into_markdown_with_an_f_string() -> None:
    """Outside text enters markup only through Markup.format / escape: an f-string passed straight
    to st.markdown and friends would paste provider text in unescaped (or, escaped whole, show the
    app's own badges as `:green-badge[…]`)."""
    renderers = {"markdown", "caption", "info", "warning", "error", "success", "toast"}
    offenders = []
    for path in PAGE_FILES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in renderers
                    and node.args and isinstance(node.args[0], ast.JoinedStr)
                    and any(isinstance(part, ast.FormattedValue) for part in node.args[0].values)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
