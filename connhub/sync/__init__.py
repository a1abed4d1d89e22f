"""The Evotor → VK goods sync: its configuration, its readiness, and (later) the engine."""
