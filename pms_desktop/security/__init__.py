"""Accounts' secrets: password hashing and policy, TOTP. No database, no Qt."""
