"""Display helpers shared by the billing widgets: money, dates and names a person reads."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QCoreApplication

from ...domain.money import format_amount
from ..widgets.dates import day_text, day_time_text

METHODS = {"cash": "Cash", "card": "Card", "bank_transfer": "Bank transfer", "insurer": "Insurer"}
STATUSES = {"draft": "Draft", "issued": "Issued", "void": "Void"}


def tr(text: str) -> str:
    return QCoreApplication.translate("Billing", text)


class Money:
    """Formats minor units in the clinic's currency and locale (set once per screen)."""

    def __init__(self, currency: str = "EUR", locale: str = "en_GB", timezone: str = "UTC") -> None:
        self.currency, self.locale, self.timezone = currency, locale, timezone

    @classmethod
    def for_clinic(cls, ctx: object) -> Money:
        info = ctx.setup.clinic()  # type: ignore[attr-defined]
        return cls(info.currency, info.locale, info.timezone) if info else cls()

    def __call__(self, minor: int | None) -> str:
        return "" if minor is None else format_amount(minor, self.currency, self.locale)

    def day(self, value: datetime | date | None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(ZoneInfo(self.timezone)).date()
        return day_text(value)

    def when(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return day_time_text(value.astimezone(ZoneInfo(self.timezone)))
