"""The access log is tamper-evident: each kind of tampering is caught in the database and in a
file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, text, update

from pms_desktop.audit.chain import entry_hash
from pms_desktop.audit.jsonl import verify_file
from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import PermissionDenied
from pms_desktop.store.models import AuditEntry


@pytest.fixture
def logged(ctx, actors, make_patient):  # type: ignore[no-untyped-def]
    """A log of a dozen real entries (reads, a refusal, a break-glass)."""
    patient = make_patient()
    admin, rita = actors[Role.CLINIC_ADMIN], actors[Role.RECEPTION]
    for _ in range(4):
        ctx.audit.search(admin, patient_id=patient)
        ctx.accounts.list_users(admin)
    with pytest.raises(PermissionDenied):
        ctx.audit.search(rita, patient_id=patient)
    ctx.accounts.break_glass(rita, patient_id=patient, reason="Collapsed in the waiting room")
    return patient


def _sql(ctx, *statements) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s, s.begin():
        for st in statements:
            s.execute(st)


def _last_seq(ctx) -> int:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s:
        return int(s.scalar(text("select max(seq) from audit_log")))


def edit(ctx) -> int:  # type: ignore[no-untyped-def]
    _sql(ctx, update(AuditEntry).where(AuditEntry.seq == 5).values(username="somebody-else"))
    return 5


def remove(ctx) -> int:  # type: ignore[no-untyped-def]
    _sql(ctx, delete(AuditEntry).where(AuditEntry.seq == 6))
    return 7  # the first entry whose link is broken


def swap(ctx) -> int:  # type: ignore[no-untyped-def]
    _sql(ctx, update(AuditEntry).where(AuditEntry.seq == 7).values(seq=-7),
         update(AuditEntry).where(AuditEntry.seq == 8).values(seq=7),
         update(AuditEntry).where(AuditEntry.seq == -7).values(seq=8))
    return 7


def cut_and_regrow(ctx, actors=None) -> int:  # type: ignore[no-untyped-def]
    """Delete the last three entries, then the application goes on appending (a correct chain)."""
    last = _last_seq(ctx)
    _sql(ctx, delete(AuditEntry).where(AuditEntry.seq > last - 3))
    admin = next(a for a in ctx._actors if a.role is Role.CLINIC_ADMIN)
    for _ in range(5):
        ctx.accounts.list_users(admin)
    return last


TAMPERINGS: dict[str, Callable[..., int]] = {
    "edit one field": edit, "delete one": remove, "swap two": swap,
    "cut tail and append": cut_and_regrow,
}


@pytest.mark.parametrize("how", TAMPERINGS)
def test_database_tampering_is_detected(ctx, actors, logged, how: str) -> None:  # type: ignore[no-untyped-def]
    admin = actors[Role.CLINIC_ADMIN]
    assert ctx.audit.verify(admin).intact
    ctx._actors = list(actors.values())
    bad_seq = TAMPERINGS[how](ctx)
    check = ctx.audit.verify(admin)
    assert not check.intact
    assert check.first_bad_seq == bad_seq
    assert check.problem


@pytest.mark.parametrize("how", TAMPERINGS)
def test_tampering_in_the_database_shows_in_its_export(ctx, actors, logged, how: str,  # type: ignore[no-untyped-def]
                                                       tmp_path: Path) -> None:
    ctx._actors = list(actors.values())
    TAMPERINGS[how](ctx)
    out = tmp_path / "audit.jsonl"
    ctx.audit.export_jsonl(actors[Role.CLINIC_ADMIN], out=out)
    report, _ = verify_file(out)
    assert not report.intact


def _lines(path: Path) -> tuple[list[dict], dict]:  # type: ignore[type-arg]
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    return rows[:-1], rows[-1]


def _write(path: Path, entries: list[dict], anchor: dict | None) -> None:  # type: ignore[type-arg]
    rows = entries + ([anchor] if anchor else [])
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _forge_tail(entries: list[dict], n: int) -> list[dict]:  # type: ignore[type-arg]
    """Append n entries, correctly chained, as a forger who knows the hash function would."""
    out = list(entries)
    for _ in range(n):
        prev = out[-1]
        new = dict(prev, seq=prev["seq"] + 1, id=f"forged-{prev['seq']}", action="user.list",
                   prev_hash=prev["hash"])
        new["hash"] = entry_hash(new)
        out.append(new)
    return out


@pytest.fixture
def exported(ctx, actors, logged, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path / "audit.jsonl"
    n = ctx.audit.export_jsonl(actors[Role.CLINIC_ADMIN], out=out)
    assert n >= 12
    report, _ = verify_file(out)
    assert report.intact and report.count == n
    return out


def test_file_edit_delete_swap_cut_are_detected(exported: Path) -> None:
    entries, anchor = _lines(exported)
    cases = {
        "edit": ([dict(e, username="mallory") if e["seq"] == 9 else e for e in entries], anchor, 9),
        "delete": ([e for e in entries if e["seq"] != 4], anchor, 5),
        "swap": (entries[:2] + [entries[3], entries[2]] + entries[4:], anchor, 4),
        "cut tail": (entries[:-3], anchor, len(entries) - 2),
        "cut tail and append": (_forge_tail(entries[:-3], 4), anchor, len(entries)),
        "anchor removed": (entries[:-3], None, len(entries) - 2),
    }
    for name, (rows, anc, bad) in cases.items():
        _write(exported, rows, anc)
        report, _ = verify_file(exported)
        assert (report.intact, report.first_bad_seq) == (False, bad), name


def test_a_forged_anchor_is_caught_by_the_clinic_seal(ctx, actors, exported: Path) -> None:  # type: ignore[no-untyped-def]
    entries, anchor = _lines(exported)
    forged = _forge_tail(entries[:-3], 4)
    anchor = dict(anchor, count=len(forged), head_seq=forged[-1]["seq"],
                  head_hash=forged[-1]["hash"],
                  high_water_seq=forged[-1]["seq"], high_water_hash=forged[-1]["hash"])
    _write(exported, forged, anchor)
    assert verify_file(exported)[0].intact  # without the database's key this cannot be told
    check = ctx.audit.verify_file(actors[Role.CLINIC_ADMIN], path=exported)
    assert not check.intact and "seal" in (check.problem or "")
