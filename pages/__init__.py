"""Streamlit page scripts, registered one by one in app.py's st.navigation.

A regular package (not a namespace one), so `from pages.common import ...` always resolves here,
also under pytest where `tests/pages/` is on the path too.
"""
