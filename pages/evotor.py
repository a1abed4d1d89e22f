"""Эвотор: the account's stores, health, check history, reconnect and a new token."""

from pages import common

common.render_service_page("evotor")
