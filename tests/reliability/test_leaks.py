"""Canary patient data typed through the services, synced through a real server: then every file
the application wrote is searched for it, and so are the server's logs and the URLs the
workstation asked for.

Where the application may write is pointed at folders of the test's own first: the temporary
folder (TMPDIR), the home folder and the XDG config and cache folders (settings, caches), the
keyring folder. Searched: both workstations' data folders (database, WAL and shared-memory files
while open and after closing, key info, backups), those folders, the server's folder except its
database (the central store holds the clinic's records by design) and its log, this process's
own output and log records. Not searched: the folder the person chose for exports, where an
export is meant to be readable. A canary is found as UTF-8, UTF-16 or base64, in any case, also
inside compressed PDF streams (``leak_scan.py``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from pms_desktop.cli import main as desktop_cli
from pms_desktop.domain.enums import Role
from pms_desktop.security.totp import current_code
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.sync import transport
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS
from tests.readiness import wait_ready
from tests.reliability.figures import record
from tests.reliability.leak_scan import scan, scan_bytes
from tests.sync.conftest import SyncServer, _free_port

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]

CANARIES = {
    "given": "Quenbyrrow",
    "family": "Zaltmarshe",
    "phone": "086 918 2735",
    "phone digits": "0869182735",
    "email": "quenbyrrow.z@canary-mail.example",
    "address": "17 Vexlingham Crescent",
    "note": "xylophonic cough since Tuesday",
    "booking": "bring the yellow umbrella qx7",
    "invoice": "Canary dressing kit",
    "alert": "Allergic to zorbaline",
}


class LoggedServer(SyncServer):
    """The sync server with its output kept in a file, at the most talkative log level."""

    log: Path = Path()

    def start(self) -> None:
        self.log = self.data / "server-output.log"
        command = ["timeout", "300", sys.executable, "-m", "sync_server", "serve", "--data-dir",
                   str(self.data), "--host", "127.0.0.1", "--port", str(self.port),
                   "--log-level", "DEBUG"]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        wait_ready(self.proc, self.url, what="the sync server",
                   output=lambda: self.log.read_text()[-2000:])


@pytest.fixture
def sync_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedServer]:
    """Overrides the shared server: this test reads the log of a server of its own."""
    port = _free_port()
    server = LoggedServer(f"http://127.0.0.1:{port}", tmp_path_factory.mktemp("server"), port)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def requested_urls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL the workstation's sync client asks for, as sent."""
    urls: list[str] = []

    class Recording(httpx.Client):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            hooks = kwargs.setdefault("event_hooks", {})
            hooks.setdefault("request", []).append(lambda r: urls.append(str(r.url)))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(transport.httpx, "Client", Recording)
    return urls


def _cli(*args: str, role: Role, user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMS_PASSWORD", TEST_PASSWORD)
    monkeypatch.setenv("PMS_TOTP", current_code(TOTP_SECRETS[role], datetime.now(UTC)))
    assert desktop_cli([*args, "--user", user]) == 0


def _a_day_of_canary_data(ws, doctor, manager, admin) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Everything a clinic types about one patient, through the services the screens call."""
    ctx, desk = ws.ctx, ws.as_user("rita")
    patient = ctx.patients.register_patient(desk, draft=PatientDraft(
        given=CANARIES["given"], family=CANARIES["family"], birth_date="1977-04-05",
        phone=CANARIES["phone"], email=CANARIES["email"], address_line=CANARIES["address"],
        city="Dublin"))
    ctx.patients.add_alert(desk, patient_id=patient.id, text=CANARIES["alert"])
    ctx.patients.search(desk, CANARIES["family"][:6])
    ctx.patients.search(desk, CANARIES["phone digits"])
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    ctx.scheduling.book(desk, patient_id=patient.id, practitioner_id=doctor.practitioner_id,
                        start_at=start, duration_minutes=15, note=CANARIES["booking"])
    note = ctx.clinical.create_draft(doctor, patient_id=patient.id, subjective=CANARIES["note"])
    ctx.clinical.sign_note(doctor, note_id=note.id)
    ctx.clinical.get_note(doctor, patient_id=patient.id, note_id=note.id)
    ctx.billing.install_default_fee_schedule(manager)
    invoice = ctx.billing.create_invoice(manager, patient_id=patient.id, lines=[
        LineInput(description=CANARIES["invoice"], unit_price_minor=1250)])
    ctx.billing.issue_invoice(manager, invoice_id=invoice.id)
    pay = ctx.payments.take_payment(desk, patient_id=patient.id, method="cash",
                                    amount_minor=1250, invoice_id=invoice.id)
    ctx.billing.invoice_pdf(manager, invoice_id=invoice.id)
    ctx.payments.receipt_pdf(desk, payment_id=pay.id)
    ctx.backups.backup_now(admin)
    return {"patient": patient.id, "invoice": invoice.id}


def test_no_canary_patient_data_outside_the_encrypted_stores(
        make_workstations, sync_server: LoggedServer, watched: dict[str, Path],
        requested_urls: list[str], monkeypatch: pytest.MonkeyPatch, capfd, caplog,
        tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    alpha, bravo = make_workstations(2)
    made = _a_day_of_canary_data(alpha, alpha.as_user("drkelly"), alpha.as_user("paul"),
                                 alpha.as_user("admin"))
    # What a person exports goes where they chose: readable there, and only there.
    exports = watched["exports"]
    (exports / "invoice.pdf").write_bytes(alpha.ctx.billing.invoice_pdf(
        alpha.as_user("paul"), invoice_id=made["invoice"]))
    _cli("export", "fhir", "--data-dir", str(alpha.ctx.data_dir), "--out",
         str(exports / "clinic.json"), role=Role.CLINIC_ADMIN, user="admin",
         monkeypatch=monkeypatch)
    today = date.today().isoformat()
    _cli("report", "day-sheet", "--data-dir", str(alpha.ctx.data_dir), "--from", today, "--to",
         today, "--out", str(exports / "day.pdf"), role=Role.PRACTICE_MANAGER, user="paul",
         monkeypatch=monkeypatch)
    alpha.sync.run_sync()
    bravo.sync.run_sync()
    # An edit made elsewhere comes back: the pull path writes the canaries too.
    bravo.ctx.patients.get_patient(bravo.as_user("rita"), patient_id=made["patient"])
    # A request carrying patient data that the server refuses: its error path must not log it.
    token = bravo.sync.keystore.get(bravo.sync._credential_name()).decode()
    httpx.post(f"{sync_server.url}/fhir/Patient", timeout=10,
               headers={"Authorization": f"Bearer {token}"},
               json={"resourceType": "Patient", "name": [{"family": CANARIES["family"]}],
                     "birthDate": f"not a date {CANARIES['given']}"})
    assert CANARIES["family"] in (exports / "clinic.json").read_text()  # exports are readable

    data_folders = [alpha.ctx.data_dir, bravo.ctx.data_dir]
    watched_folders = [watched[k] for k in ("tmp", "home", "config", "cache")]
    keyring = Path(os.environ["XDG_DATA_HOME"])
    canaries = list(CANARIES.values())
    while_open, files_open = scan(data_folders, canaries)
    alpha.ctx.close()
    bravo.ctx.close()
    sync_server.stop()
    server_files = [p for p in sync_server.data.rglob("*")
                    if p.is_file() and ".db" not in p.name and not p.name.endswith(".sqlite")]
    at_rest, files = scan([*data_folders, *watched_folders, keyring, *server_files], canaries,
                          skip=[exports])
    output = capfd.readouterr()
    logged = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records)
    in_output = [f"test process output: {c!r} ({how})" for c, how in scan_bytes(
        (output.out + output.err + logged).encode(), canaries)]
    in_urls = [f"URL {u}" for u in requested_urls
               if any(c.lower() in u.lower() or c.replace(" ", "%20").lower() in u.lower()
                      for c in canaries)]
    findings = [str(f) for f in [*while_open, *at_rest]] + in_output + in_urls
    record("leaks of patient data (files, server log, URLs)", trials=1,
           faults=len(canaries), leaks=len(findings), files_scanned=files + files_open,
           urls_checked=len(requested_urls))
    assert requested_urls and sync_server.log.stat().st_size > 0  # the scan looked at something
    assert findings == [], findings
