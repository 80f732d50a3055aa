"""The tamper-evident access log: canonical encoding, hashing and the chain verifier.

Pure functions over plain dicts: the same code checks the database and an exported file.
"""
