"""Sync client: outbox push, cursor pull, three-way merge, conflicts, background worker."""
