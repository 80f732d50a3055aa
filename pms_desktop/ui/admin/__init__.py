"""Clinic administration: staff accounts, the access log, key rotation, backup settings."""
