"""Escaping by type: the app's own markup renders, outside text never becomes markup."""

from __future__ import annotations

import re

import pytest

from pages.ui.markup import COLON, Markup, escape, lines

HOSTILE = ["**жирный**", ":red[красный]", ":green-badge[Готово]", ":material/home:", "[ссылка](http://x)",
           "# заголовок", "- пункт", "`код`", "<b>тег</b>", "$x$", "a\n\n# b"]


def test_app_markup_stays_markup_and_outside_text_is_escaped() -> None:
    line = Markup(":green-badge[{}] **{}**").format("Готово", "Синхронизация")
    assert line == ":green-badge[Готово] **Синхронизация**"  # what the run list must render as a badge
    assert isinstance(line, Markup)


@pytest.mark.parametrize("text", HOSTILE)
def test_outside_text_cannot_open_markup(text: str) -> None:
    escaped = escape(text)
    bare = re.sub(r"\\.", "", escaped.replace(COLON, ""))  # what is left once every escaped character is taken out
    assert not set(bare) & set("*_[]():`<>#$-!|~"), escaped
    assert "\n" not in escaped
    assert escape(escaped) == escaped  # Markup is never escaped twice
    assert Markup("**{}**").format(text) == f"**{escaped}**"


def test_concatenation_and_join_escape_the_plain_side() -> None:
    assert Markup("**a** ") + "**b**" == "**a** \\*\\*b\\*\\*"
    assert "**b** " + Markup("**a**") == "\\*\\*b\\*\\* **a**"
    assert Markup(", ").join(["a_b", Markup("**c**")]) == "a\\_b, **c**"
    assert lines(["x*", "y"], bullet=True) == "- x\\*\n- y"


def test_format_spec_and_markup_arguments() -> None:
    assert Markup("{:03}").format(7) == "007"
    assert Markup("{} {}").format(Markup(":blue-badge[Идёт]"), "*") == ":blue-badge[Идёт] \\*"


def test_a_colon_is_a_character_reference_so_no_icon_or_emoji_code_survives() -> None:
    """Found by the browser test: Streamlit drew `\\:material/home\\:` as an icon."""
    assert escape(":material/home: 11:34") == "&#58;material/home&#58; 11&#58;34"
    assert escape("\\:") == "\\\\&#58;"  # a backslash of the text stays a backslash
