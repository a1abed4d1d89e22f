"""connhub: each user's Evotor and VK connections and their live health.

This package is the domain: it never imports streamlit. The pages, checker.py, Alembic and the
tests all build on it.
"""
