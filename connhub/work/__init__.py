"""Claiming queued work (claims.py) and the sidecar's workers (workers.py)."""
