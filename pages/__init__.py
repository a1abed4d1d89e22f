"""Streamlit page scripts, registered one by one in app.py's st.navigation; the pieces they share
live in `pages/ui/`.

A regular package (not a namespace one), so `from pages.ui... import ...` always resolves here,
also under pytest where `tests/pages/` is on the path too.
"""


def _route_through_app_py() -> None:
    """Make the first page link after a restart go through app.py's router (issue 21.6).

    Streamlit decides once per process, when its first session starts, whether this is a `pages/`
    directory app (`PagesManager.uses_pages_directory`: true because this folder exists); until a
    script run calls st.navigation, every run executes the page file the URL names directly, under
    a menu of file names and without app.py's sign-in gate (or app.py itself, for a URL that names
    no file, such as /add). The first run of the process always imports this package (app.py and
    every page import `pages.ui`), so here the decision is undone and the run starts again for the
    page the URL asked for, now through app.py and its st.navigation."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    if not PagesManager.uses_pages_directory or ctx is None:
        return
    PagesManager.uses_pages_directory = False
    asked = ctx.pages_manager
    raise RerunException(RerunData(query_string=ctx.query_string, page_name=asked.intended_page_name or "",
                                   page_script_hash=asked.intended_page_script_hash or "",
                                   context_info=ctx.context_info))


_route_through_app_py()
