"""Sync in the application: the background controller, the status-bar widget, enrolment and the
conflicts window. Everything here talks to ``ctx.sync`` (services/sync_service.py) only."""
