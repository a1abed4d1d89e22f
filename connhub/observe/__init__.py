"""What the sidecar tells a monitoring system (issue 21): database.py (the database at scrape time)
and exporter.py (the /metrics endpoint, the Prometheus families of one scrape)."""
