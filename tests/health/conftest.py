"""The page fixtures (AppTest against the test's runtime) for the history's page tests."""

from tests.support.apptest import fresh_streamlit_caches, keep_main_module, open_app  # noqa: F401 - fixtures
