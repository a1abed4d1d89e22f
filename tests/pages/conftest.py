"""AppTest fixtures for the pages' tests (defined in tests/support/apptest.py)."""

from tests.support.apptest import (  # noqa: F401 - fixtures
    app_rt,
    fresh_streamlit_caches,
    keep_main_module,
    open_app,
    open_app_factory_for,
    server_address,
)
