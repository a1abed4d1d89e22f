"""The HTML the sandbox shows to a browser: index, consent screens, errors, and `page` for the
pages an emulation adds (such as Evotor's market page, in its own module).

Every value echoed into a page goes through `html.escape`. Element ids used by the end-to-end
browser tests (`account`, `allow`, `deny`, `cloud-token`, `reissue`) are part of the contract.
"""

from __future__ import annotations

from html import escape

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f3f4f6;color:#1f2937}
main{max-width:34rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin-top:0}
select,button{font-size:1rem;padding:.5rem .8rem;border-radius:8px}
select{width:100%;margin:.3rem 0 1.2rem}
button{border:1px solid #9ca3af;background:#fff;cursor:pointer;margin-right:.5rem}
button.primary{background:#2563eb;border-color:#2563eb;color:#fff}
code{word-break:break-all;background:#f3f4f6;padding:.2rem .4rem;border-radius:4px}
nav a{margin-right:1rem}
.muted{color:#6b7280;font-size:.9rem}
"""

# How the consent screen names a common requested scope; an emulation passes its own texts.
SCOPE_TEXT = {
    "email": "адресу электронной почты",
    "phone": "номеру телефона",
}


def page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="ru"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def index_page(endpoints: list[tuple[str, str]], links: list[tuple[str, str]]) -> str:
    """`endpoints` are (method and path, what it is) pairs; `links` (path, text) pairs."""
    rows = "".join(f"<li><code>{escape(route)}</code> — {escape(text)}</li>" for route, text in endpoints)
    shortcuts = "".join(f'<p><a href="{escape(path)}">{escape(text)}</a></p>' for path, text in links)
    return page(
        "Песочница провайдеров connhub",
        "<h1>Песочница провайдеров connhub</h1>"
        "<p>Локальная эмуляция провайдеров для демонстраций и тестов.</p>"
        f"{shortcuts}<h2>Адреса</h2><ul>{rows}</ul>",
    )


def error_page(message: str) -> str:
    return page("Ошибка", f"<h1>Ошибка запроса</h1><p>{escape(message)}</p>")


def consent_page(*, provider_title: str, action: str, hidden: dict[str, str],
                 accounts: list[tuple[str, str]], scopes: list[str], scope_text: dict[str, str]) -> str:
    """The consent screen: pick a demo account, then «Разрешить» or «Отказать».

    `hidden` carries the authorization request through the form POST; `accounts` are
    (account id, label) pairs, the first one preselected.
    """
    wanted = ", ".join(
        f"{escape(scope_text.get(scope) or SCOPE_TEXT.get(scope, scope))} ({escape(scope)})" for scope in scopes
    )
    fields = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">' for name, value in hidden.items()
    )
    options = "".join(
        f'<option value="{escape(account_id)}"{" selected" if index == 0 else ""}>{escape(label)}</option>'
        for index, (account_id, label) in enumerate(accounts)
    )
    return page(
        provider_title,
        f"<h1>{escape(provider_title)}</h1>"
        f"<p>Приложение «connhub» запрашивает доступ к {wanted}.</p>"
        f'<form method="post" action="{escape(action)}">{fields}'
        '<label for="account">Аккаунт</label>'
        f'<select id="account" name="account">{options}</select>'
        '<button type="submit" id="allow" class="primary" name="decision" value="allow">Разрешить</button>'
        '<button type="submit" id="deny" name="decision" value="deny">Отказать</button>'
        "</form>",
    )
