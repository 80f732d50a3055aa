"""The real sync server and enrolled workstations of tests/sync, for the reliability tests that
need them (audit truncation, disk trouble during sync, leaks in the server's logs)."""

from tests.sync.conftest import make_workstations, sync_server, workstations  # noqa: F401
