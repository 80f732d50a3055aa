"""Record ids: version-4 UUIDs as text, random, never repeated."""

from __future__ import annotations

import uuid

from pms_desktop.domain.ids import new_id


def test_new_ids_are_random_version_4_uuids() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:2000]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # canonical form: lower case, hyphens where uuid puts them
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # Every random position varies (the variant's two free bits too): no digit is stuck.
    for pos in range(36):
        if pos in (8, 13, 18, 23, 14):  # hyphens and the version digit
            continue
        assert len({t[pos] for t in ids}) > (3 if pos == 19 else 15), pos
