"""Notifications on the edge (docs/notifications.md): channels, the outbox, the sidecar's sender."""
