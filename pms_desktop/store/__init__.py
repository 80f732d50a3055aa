"""The encrypted local store: SQLCipher engine, keys, ORM models, migrations, search index.

Only this package imports SQLAlchemy and sqlcipher3. It knows nothing of permissions or Qt.
"""
