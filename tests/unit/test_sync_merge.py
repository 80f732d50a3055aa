"""The three-way merge: one-sided edits merge, both-sided edits of one field conflict."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pms_desktop.sync.merge import fields_of, three_way

BASE = {"resourceType": "Patient", "id": "p1", "meta": {"versionId": "1"},
        "gender": "female", "birthDate": "1980-01-01", "name": [{"family": "Byrne"}],
        "extension": [{"url": "x/notes", "valueString": "old"}]}


def test_one_sided_edits_merge_without_conflict() -> None:
    local = {**BASE, "gender": "other"}
    remote = {**BASE, "name": [{"family": "Walsh"}]}
    result = three_way(BASE, local, remote)
    assert result.conflicts == ()
    assert result.merged["gender"] == "other" and result.merged["name"] == [{"family": "Walsh"}]


def test_same_field_changed_on_both_sides_keeps_both_values() -> None:
    local = {**BASE, "extension": [{"url": "x/notes", "valueString": "mine"}]}
    remote = {**BASE, "extension": [{"url": "x/notes", "valueString": "theirs"}]}
    [conflict] = three_way(BASE, local, remote).conflicts
    assert conflict.field == "extension:x/notes"
    assert conflict.local == {"valueString": "mine"} and conflict.remote == {"valueString": "theirs"}


def test_change_stamps_never_conflict() -> None:
    stamp = "https://clinic-pms.example/fhir/StructureDefinition/record-updated"
    local = {**BASE, "extension": [*BASE["extension"], {"url": stamp, "valueInstant": "2025-01-02T00:00:00+00:00"}]}
    remote = {**BASE, "extension": [*BASE["extension"], {"url": stamp, "valueInstant": "2025-01-03T00:00:00+00:00"}]}
    result = three_way(BASE, local, remote)
    assert result.conflicts == ()
    assert {"url": stamp, "valueInstant": "2025-01-03T00:00:00+00:00"} in result.merged["extension"]


values = st.sampled_from(["a", "b", "c", None])


@given(base=values, local=values, remote=values)
def test_no_edit_is_ever_lost(base: str | None, local: str | None, remote: str | None) -> None:
    def res(v: str | None) -> dict[str, object]:
        return {"resourceType": "Patient", "id": "p1", **({"gender": v} if v else {})}
    result = three_way(res(base), res(local), res(remote))
    merged = fields_of(result.merged).get("gender")
    if local != base and remote != base and local != remote:
        [c] = result.conflicts
        assert (c.local, c.remote) == (local, remote)  # both kept for a person
    else:
        assert result.conflicts == ()
        assert merged == (remote if local == base else local)
