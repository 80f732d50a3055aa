"""Every service of the application, built on one core. Add a service here to expose it.

``service_factories`` names each service with a function that imports its module and builds it:
``AppContext`` builds a service when it is first used (``context.Services``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .base import ServiceCore

if TYPE_CHECKING:
    from ..store.database import ClinicDatabase


def build_services(core: ServiceCore, db: ClinicDatabase) -> dict[str, object]:
    """Every service, built now."""
    return {name: build() for name, build in service_factories(core, db).items()}


def service_factories(core: ServiceCore, db: ClinicDatabase) -> dict[str, Callable[[], object]]:
    def billing() -> object:
        from .billing import BillingService

        return BillingService(core)

    def payments() -> object:
        from .payments import PaymentsService

        return PaymentsService(core)

    def reports() -> object:
        from .reports import ReportsService

        return ReportsService(core)

    def patients() -> object:
        from .patients import PatientsService

        return PatientsService(core)

    def scheduling() -> object:
        from .scheduling import SchedulingService

        return SchedulingService(core)

    def setup() -> object:
        from .clinic_setup import ClinicSetupService

        return ClinicSetupService(core)

    def clinical() -> object:
        from .clinical import ClinicalService

        return ClinicalService(core)

    def accounts() -> object:
        from .accounts import AccountsService

        return AccountsService(core)

    def audit() -> object:
        from .audit_service import AuditService

        return AuditService(core)

    def backups() -> object:
        from .backups import BackupService

        return BackupService(core, db)

    def sync() -> object:
        from .sync_service import SyncService

        return SyncService(core, db)

    def workstation() -> object:
        from .workstation_names import WorkstationNamesService

        return WorkstationNamesService(core)

    return {"billing": billing, "payments": payments, "reports": reports,
            "patients": patients, "scheduling": scheduling, "setup": setup,
            "clinical": clinical, "accounts": accounts, "audit": audit, "backups": backups,
            "sync": sync, "workstation": workstation}
