"""The first-run wizard creates an encrypted clinic, shows the recovery secret once, enrols MFA."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard

from pms_desktop.security.totp import current_code
from pms_desktop.ui.auth.first_run_wizard import FirstRunWizard
from pms_desktop.ui.auth.recovery_dialog import RecoveryDialog

pytestmark = pytest.mark.usefixtures("themed")

# Screenshots go to docs/ only when asked (PMS_SCREENSHOTS=1), so a test run leaves the tree clean.
SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
         if os.environ.get("PMS_SCREENSHOTS")
         else Path(tempfile.gettempdir()) / "pms-screenshots")
WAIT = 20_000
PASSWORD = "Kettle-Harbour-Violet-93"


def test_first_run_wizard_end_to_end(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wizard = FirstRunWizard(tmp_path / "clinic")
    qtbot.addWidget(wizard)
    wizard.show()
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    assert wizard.start_page.new.isChecked()  # "Set up a new clinic" unless told otherwise
    wizard.next()
    assert not next_button.isEnabled()
    wizard.clinic_page.clinic.setText("Harbour Family Practice")
    assert next_button.isEnabled()
    wizard.next()
    page = wizard.admin_page
    page.display_name.setText("Orla Admin")
    page.password.setText("password123")
    assert "known to attackers" in page.feedback.text() or "12" in page.feedback.text()
    assert not next_button.isEnabled()
    page.password.setText(PASSWORD)
    page.confirm.setText(PASSWORD)
    assert "good password" in page.feedback.text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    wizard.grab().save(str(SHOTS / "auth-first-run-wizard.png"))
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.secret_page, timeout=WAIT)
    secret = wizard.secret_page.secret.text()
    assert len(secret.replace("-", "")) == 48
    wizard.grab().save(str(SHOTS / "auth-recovery-secret.png"))
    assert not next_button.isEnabled()
    wizard.secret_page.save_pdf(tmp_path / "secret.pdf")
    assert (tmp_path / "secret.pdf").stat().st_size > 500
    wizard.secret_page.stored.setChecked(True)
    wizard.next()
    panel = wizard.mfa_page.panel
    qtbot.waitUntil(lambda: panel.enrolment is not None, timeout=WAIT)
    panel.code.setText(current_code(panel.enrolment.secret, datetime.now(UTC)))
    panel.confirm()
    qtbot.waitUntil(lambda: panel.stack.currentIndex() == 1, timeout=WAIT)
    panel.stored.setChecked(True)
    assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
    wizard.accept()
    assert wizard.session.username == "admin"
    assert wizard.ctx.accounts.my_account(wizard.session).totp_enabled
    assert wizard.ctx.setup.clinic().name == "Harbour Family Practice"
    wizard.ctx.close()
    # The recovery secret opens the clinic without the keyring entry.
    dialog = RecoveryDialog(tmp_path / "clinic")
    qtbot.addWidget(dialog)
    dialog.secret.setText(secret)
    dialog.attempt()
    qtbot.waitUntil(lambda: dialog.db is not None, timeout=WAIT)
    dialog.db.close()


def test_recovery_dialog_says_when_no_keyring_works(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dialog = RecoveryDialog(tmp_path, keyring_missing=True)
    qtbot.addWidget(dialog)
    from PySide6.QtWidgets import QLabel

    text = dialog.findChild(QLabel, "keyringMessage").text()
    assert "no working secure key store" in text
    dialog.attempt()
    assert "Enter the recovery secret" in dialog.error.text()
