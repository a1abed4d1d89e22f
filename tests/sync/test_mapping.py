"""Evotor product facts → VK item fields: names, descriptions, prices, policies, stock, fingerprints."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from connhub.sync.mapping import (
    DEFAULT_TEMPLATE,
    MappingPolicy,
    NotForSale,
    ProductFacts,
    Skipped,
    SkipReason,
    VkItem,
    ZeroPrice,
    cut_to,
    format_price,
    has_link,
    map_product,
    policy_problems,
    template_problems,
    to_decimal,
    to_kopecks,
    vk_length,
)

PID = "01ba18b6-8707-5f47-3d9c-4db058054cb2"


def facts(**changes) -> ProductFacts:
    base = dict(id=PID, name="Сидр", measure="шт", article="СДР-ЯБЛЧ", description="Вкусный яблочный сидр",
                price=D("123.12"), quantity=D("12"), allow_to_sell=True, type="NORMAL")
    base.update(changes)
    return ProductFacts(**base)


def published(product: ProductFacts, policy: MappingPolicy | None = None) -> VkItem:
    item = map_product(product, policy or MappingPolicy())
    assert isinstance(item, VkItem), item
    return item


# --- names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "choices", "expected"),
    [
        ("Сидр", (), "Сидр"),
        ("  Сидр   яблочный\t\n", (), "Сидр яблочный"),
        ("Джинсы", ("Красный", "S"), "Джинсы (Красный, S)"),
        ("Джинсы", ("", " Синий "), "Джинсы (Синий)"),
        ("Чай", (), "Чай (шт)"),  # shorter than 4: the measure makes it long enough
        ("", (), f"Товар {PID[:8]}"),
    ],
    ids=["plain", "whitespace-collapsed", "modification-choices-in-title", "empty-choices-dropped",
         "short-name-padded-with-measure", "empty-name-falls-back-to-id"],
)
def test_item_name_follows_evotor_name_and_modification_choices(name, choices, expected):
    assert published(facts(name=name, choices=choices)).name == expected


def test_short_name_without_measure_is_still_four_characters():
    assert published(facts(name="Ём", measure="")).name == "Товар Ём"


@pytest.mark.parametrize(
    ("name", "choices"),
    [
        ("Очень длинное название товара " * 5, ()),
        ("Слово" * 40, ()),
        ("Джинсы классические прямые с высокой посадкой и потёртостями " * 2, ("Тёмно-синий", "XXL")),
        ("Кофе ☕ в зёрнах 🫘 " * 10, ()),
        ("Товар", tuple(f"Вариант {n}" for n in range(30))),
    ],
    ids=["long-words", "long-no-spaces", "long-with-choices", "emoji-count-as-entities", "huge-choice-list"],
)
def test_long_names_are_cut_to_100_vk_characters_with_an_ellipsis(name, choices):
    title = published(facts(name=name, choices=choices)).name
    assert 4 <= vk_length(title) <= 100
    assert "…" in title


def test_cut_name_keeps_the_modification_choices():
    title = published(facts(name="Джинсы " + "очень " * 30, choices=("Красный", "S"))).name
    assert title.endswith("… (Красный, S)")


def test_cut_prefers_a_word_boundary():
    assert cut_to("Сок яблочный осветлённый восстановленный", 30) == "Сок яблочный осветлённый…"


@pytest.mark.parametrize(
    ("text", "length"),
    [("Сидр", 4), ("Ёжик №5 «Ё» — €", 15), ("☕", len("&#9749;")), ("😀", len("&#128512;"))],
    ids=["cyrillic", "cp1251-punctuation", "bmp-symbol-as-entity", "emoji-as-entity"],
)
def test_vk_counts_cp1251_characters_once_and_others_as_html_entities(text, length):
    assert vk_length(text) == length


# --- descriptions --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("template", "product", "expected"),
    [
        (DEFAULT_TEMPLATE, facts(), "Сидр (цена за шт)"),
        ("{description}. Артикул {article}", facts(), "Вкусный яблочный сидр. Артикул СДР-ЯБЛЧ"),
        ("{name}: {price}", facts(price=D("1234.5")), "Сидр: 1 234,50 ₽"),
        ("{{акция}} {name} за {price}", facts(), "{акция} Сидр за 123,12 ₽"),
        ("{description}", facts(description=None), "Сидр (цена за шт)"),  # too short: the default
        ("{description}", facts(description="Свежий\r\n\r\n\r\n  урожай   2024 "), "Свежий\n\nурожай 2024"),
        ("{description}", facts(description="Подробнее на https://shop.example.ru/cider?id=1 и www.x.com"),
         "Подробнее на и"),
    ],
    ids=["default-template", "description-and-article", "price-formatted-in-rubles", "escaped-braces",
         "empty-description-falls-back-to-default", "whitespace-normalised", "links-removed"],
)
def test_description_is_rendered_from_the_template(template, product, expected):
    description = published(product, MappingPolicy(template=template)).description
    assert description == expected
    assert len(description) >= 10
    assert not has_link(description)


def test_description_uses_the_price_after_the_multiplier():
    item = published(facts(price=D("100")), MappingPolicy(template="{name} — {price}", multiplier=D("1.25")))
    assert item.description == "Сидр — 125,00 ₽"


@pytest.mark.parametrize(
    "text",
    ["http://a.ru", "https://vk.com/club1", "www.shop.com", "магазин.рф", "vk.com/market-1", "shop@mail.ru",
     "Заходите на Shop.Example.COM/path"],
)
def test_links_of_every_shape_are_found(text):
    assert has_link(text)


@pytest.mark.parametrize(
    "text",
    ["г.Москва, ул.Ленина, д.5", "Coca-Cola.Zero 1.5 л", "т.е. и т.д.", "Вес 0.5кг", "Сидр 4.5%", "ИП Иванов И.И."],
)
def test_ordinary_text_is_not_mistaken_for_a_link(text):
    assert not has_link(text)


def test_description_never_shorter_than_ten_characters_even_with_tiny_name_and_no_measure():
    item = published(facts(name="Ёж", measure="", description=None), MappingPolicy(template="{description}"))
    assert item.description == "Товар Ёж. Цена: 123,12 ₽"


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{name} {colour}", "{colour}"),
        ("{name!r}", "{name!r}"),
        ("{price:.2f}", "{price:.2f}"),
        ("{name.__class__}", "{name.__class__}"),
        ("{0}", "{0}"),
        ("Цена {", "непарная"),
        ("   ", "пуст"),
    ],
    ids=["unknown-field", "conversion", "format-spec", "attribute-access", "positional", "unbalanced", "blank"],
)
def test_bad_templates_are_refused_with_a_message(template, problem):
    problems = template_problems(template)
    assert any(problem in message for message in problems), problems
    with pytest.raises(ValueError):
        MappingPolicy(template=template)


def test_good_template_has_no_problems():
    assert template_problems("{name}, {measure}, {article}, {description}, {price} {{}}") == []


# --- prices --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("price", "multiplier", "sent", "kopecks"),
    [
        (D("123.12"), D("1"), "123.12", 12312),
        (D("0.1"), D("3"), "0.30", 30),  # 0.1 × 3 is exactly 0.30, unlike in floats
        (D("99.99"), D("1.15"), "114.99", 11499),  # 114.9885 rounds half up to 114.99
        (D("10.005"), D("1"), "10.01", 1001),  # three decimals (cost-price style) round half up
        (D("250"), D("2.5"), "625.00", 62500),
        (D("9999999.99"), D("99.99"), "999899999.00", 99989999900),
    ],
    ids=["plain", "no-float-error", "multiplier-rounds-half-up", "third-decimal", "integer-price", "largest"],
)
def test_price_is_multiplied_exactly_and_sent_in_rubles(price, multiplier, sent, kopecks):
    item = published(facts(price=price), MappingPolicy(multiplier=multiplier))
    assert item.params()["price"] == sent
    assert item.price_kopecks == kopecks


@pytest.mark.parametrize("value", [123.12, "123.12", "123,12", D("123.12"), 12312 / 100])
def test_evotor_numbers_become_exact_decimals(value):
    assert to_decimal(value) == D("123.12")
    assert to_kopecks(to_decimal(value)) == 12312


@pytest.mark.parametrize("value", [None, True, "abc", float("nan"), float("inf"), [], {}])
def test_unreadable_evotor_numbers_become_none(value):
    assert to_decimal(value) is None


@pytest.mark.parametrize(
    ("price", "policy", "expected"),
    [
        (D("0"), MappingPolicy(), SkipReason.ZERO_PRICE),
        (None, MappingPolicy(), SkipReason.ZERO_PRICE),
        (D("0.004"), MappingPolicy(), SkipReason.ZERO_PRICE),  # rounds to zero kopecks
        (D("-5"), MappingPolicy(zero_price=ZeroPrice.PUBLISH), SkipReason.NEGATIVE_PRICE),
        (D("0"), MappingPolicy(zero_price=ZeroPrice.PUBLISH), D("0.00")),
    ],
    ids=["zero-skipped-by-default", "missing-price-is-zero", "rounds-to-zero", "negative-always-skipped",
         "zero-published-when-asked"],
)
def test_zero_price_follows_the_policy(price, policy, expected):
    result = map_product(facts(price=price), policy)
    if isinstance(expected, SkipReason):
        assert result == Skipped(PID, expected)
        assert result.message
    else:
        assert isinstance(result, VkItem) and result.price == expected and result.params()["price"] == "0.00"


def test_price_beyond_what_vk_accepts_is_skipped():
    result = map_product(facts(price=D("9999999.99")), MappingPolicy(multiplier=D("200000")))
    assert result == Skipped(PID, SkipReason.PRICE_TOO_HIGH)


@pytest.mark.parametrize(
    ("multiplier", "ok"),
    [(D("1"), True), (D("1.15"), True), (D("1.150"), True), (2, True), ("1.5", True), (D("0"), False),
     (D("-1"), False), (D("1.155"), False), (D("NaN"), False)],
)
def test_multiplier_is_positive_with_at_most_two_decimals(multiplier, ok):
    if ok:
        assert MappingPolicy(multiplier=multiplier).multiplier == D(str(multiplier))
    else:
        with pytest.raises(ValueError, match="Множитель"):
            MappingPolicy(multiplier=multiplier)


# --- not for sale, stock, sku, category --------------------------------------------------------

@pytest.mark.parametrize(
    ("allow_to_sell", "policy", "hidden"),
    [(True, NotForSale.HIDE, False), (False, NotForSale.HIDE, True), (False, NotForSale.PUBLISH, False)],
    ids=["for-sale-visible", "not-for-sale-hidden", "not-for-sale-published-when-asked"],
)
def test_not_for_sale_follows_the_policy(allow_to_sell, policy, hidden):
    item = published(facts(allow_to_sell=allow_to_sell), MappingPolicy(not_for_sale=policy))
    assert item.hidden is hidden
    assert item.params()["deleted"] == ("1" if hidden else "0")


@pytest.mark.parametrize(
    ("quantity", "stock"),
    [(D("12"), 12), (D("2.75"), 2), (D("0.4"), 0), (D("-3"), 0), (D("-0.5"), 0), (D("5000000"), 999999),
     (None, None)],
    ids=["whole", "weight-floored", "under-one", "negative-clamped", "negative-fraction", "over-vk-max",
         "unknown-not-sent"],
)
def test_stock_is_the_quantity_floored_and_clamped_when_configured(quantity, stock):
    item = published(facts(quantity=quantity), MappingPolicy(stock=True))
    assert item.stock_amount == stock
    assert item.params().get("stock_amount") == (None if stock is None else str(stock))


def test_stock_is_not_sent_unless_configured():
    item = published(facts(quantity=D("12")))
    assert item.stock_amount is None and "stock_amount" not in item.params()


def test_sku_is_the_evotor_product_id_and_category_comes_from_the_policy():
    params = published(facts(), MappingPolicy(category_id=500)).params()
    assert params["sku"] == PID
    assert params["category_id"] == "500"


def test_product_id_too_long_for_sku_is_skipped():
    assert map_product(facts(id="x" * 51), MappingPolicy()) == Skipped("x" * 51, SkipReason.ID_TOO_LONG)


# --- fingerprint -------------------------------------------------------------------------------

def test_fingerprint_is_stable_for_the_same_product_and_policy():
    first = published(facts(), MappingPolicy(category_id=1))
    second = published(facts(), MappingPolicy(category_id=1))
    assert first.fingerprint == second.fingerprint and len(first.fingerprint) == 64


@pytest.mark.parametrize(
    ("product", "policy"),
    [
        (facts(name="Сидр грушевый"), MappingPolicy(category_id=1)),
        (facts(price=D("123.13")), MappingPolicy(category_id=1)),
        (facts(description="Другой"), MappingPolicy(category_id=1, template="{description} {name} {measure}")),
        (facts(allow_to_sell=False), MappingPolicy(category_id=1)),
        (facts(quantity=D("3")), MappingPolicy(category_id=1, stock=True)),
        (facts(image="img-2"), MappingPolicy(category_id=1)),
        (facts(), MappingPolicy(category_id=2)),
        (facts(), MappingPolicy(category_id=1, multiplier=D("2"))),
    ],
    ids=["name", "price", "description", "visibility", "stock", "image", "category", "multiplier"],
)
def test_fingerprint_changes_with_anything_published(product, policy):
    assert published(product, policy).fingerprint != published(facts(), MappingPolicy(category_id=1)).fingerprint


def test_fingerprint_ignores_what_is_not_published():
    a = published(facts(quantity=D("1"), type="NORMAL"))
    b = published(facts(quantity=D("7"), type="ALCOHOL_NOT_MARKED"))  # stock not configured, type unused
    assert a.fingerprint == b.fingerprint


def test_format_price_groups_thousands_with_spaces_and_a_decimal_comma():
    assert [format_price(D(v)) for v in ("0", "5.5", "1234567.891")] == ["0,00 ₽", "5,50 ₽", "1 234 567,89 ₽"]


def test_policy_problems_lists_every_problem():
    class Loose:  # what a configuration page might hold before validating
        template = "{oops}"
        multiplier = D("0")
        category_id = -1
    assert len(policy_problems(Loose())) == 3  # type: ignore[arg-type]
