"""The page scripts, by path (st.Page, st.switch_page and st.page_link take these)."""

DASHBOARD = "pages/connections.py"
ADD_PAGE = "pages/add_connection.py"
CALLBACK_PAGE = "pages/oauth_callback.py"
CATALOG_PAGE = "pages/catalog.py"
