"""Every service of the application, built on one core. Add a service here to expose it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import ServiceCore

if TYPE_CHECKING:
    from ..store.database import ClinicDatabase


def build_services(core: ServiceCore, db: ClinicDatabase) -> dict[str, object]:
    from .backups import BackupService
    from .clinic_setup import ClinicSetupService

    services: dict[str, object] = {
        **_billing(core),
        **_reception(core),
        "setup": ClinicSetupService(core),
        **_clinical(core),
        **_accounts(core),
        "backups": BackupService(core, db),
        "sync": __import__("pms_desktop.services.sync_service", fromlist=["x"]).SyncService(core, db),
        "workstation": _workstation(core),
    }
    return services


def _billing(core: ServiceCore) -> dict[str, object]:
    from .billing import BillingService
    from .payments import PaymentsService
    from .reports import ReportsService

    return {"billing": BillingService(core), "payments": PaymentsService(core),
            "reports": ReportsService(core)}


def _accounts(core: ServiceCore) -> dict[str, object]:
    from .accounts import AccountsService
    from .audit_service import AuditService

    return {"accounts": AccountsService(core), "audit": AuditService(core)}


def _reception(core: ServiceCore) -> dict[str, object]:
    from .patients import PatientsService
    from .scheduling import SchedulingService

    return {"patients": PatientsService(core), "scheduling": SchedulingService(core)}


def _clinical(core: ServiceCore) -> dict[str, object]:
    from .clinical import ClinicalService

    return {"clinical": ClinicalService(core)}


def _workstation(core: ServiceCore) -> object:
    from .workstation_names import WorkstationNamesService

    return WorkstationNamesService(core)
