"""The Streamlit pieces the pages share, one concern per module (the pages themselves are one level up).

    session.py  the cached runtime and who is signed in (the access decision app.py routes on)
    text.py     Markdown escaping, times in the user's time zone, provider titles in a phrase
    notices.py  flash messages, queued toasts, the sandbox badge, the way back to the dashboard
    routes.py   the page scripts' paths
    status.py   the status badge, the checker banner and the shared «Проверить сейчас» panel
    connect.py  one-click connect links, the watcher that notices a landed flow, the token form
    service.py  a provider's service page, rendered from the provider's account presentation
    history.py  the 24-hour bar and availability, the latency chart, the sync runs' bar and durations

Every read and write goes through connhub and names the signed-in user's id; an id kept in session
state or a widget key only ever says *which of this user's* connections.
"""
