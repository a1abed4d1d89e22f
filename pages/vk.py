"""ВКонтакте: the profile, health, check history and reconnect."""

from pages import common

common.render_service_page("vk")
