"""Streamlit page scripts, registered one by one in app.py's st.navigation; the pieces they share
live in `pages/ui/`.

A regular package (not a namespace one), so `from pages.ui... import ...` always resolves here,
also under pytest where `tests/pages/` is on the path too.
"""
