"""The use cases: the only door to the data.

Every operation takes the acting ``StaffSession`` first, declares its permission (checked here,
whatever the caller), does its work, and writes its access-log entry and outbox entries in the
same transaction. It hands back frozen dataclasses, never ORM objects.
"""
