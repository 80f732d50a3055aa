"""Typed ids, enums, permissions, errors and value rules. No I/O, no Qt, no SQLAlchemy."""
