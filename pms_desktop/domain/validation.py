"""Value rules for what reception types: dates of birth, phone numbers, e-mail addresses.

Pure functions, no I/O. Each parser raises ``ValueError`` with a message written for a person;
services turn those into ``ValidationError`` field errors named after the form fields.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_SEPARATED = re.compile(r"^\s*(\d{1,4})\s*[./\-\s]\s*(\d{1,2})\s*[./\-\s]\s*(\d{2,4})\s*$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")
OLDEST_YEAR = 1890


def _year(y: int, digits: int, today: date) -> int:
    """Two-digit years: the most recent year not in the future (a birth date is in the past)."""
    if digits > 2:
        return y
    century = today.year // 100 * 100
    return century + y if century + y <= today.year else century - 100 + y


def parse_date(text: str, today: date | None = None) -> date | None:
    """A date in one of the formats reception types, or None when it is not one.

    Accepted: 17/05/1980, 17.5.1980, 17-05-1980, 17/5/80, 1980-05-17, 17051980, 19800517.
    Day first (European usage): 05/04/1980 is the 5th of April.
    """
    today = today or date.today()
    s = text.strip()
    if not s:
        return None
    m = _SEPARATED.match(s)
    try:
        if m:
            a, b, c = m.groups()
            if len(a) == 4:  # ISO: year first
                return date(int(a), int(b), int(c))
            return date(_year(int(c), len(c), today), int(b), int(a))
        if s.isdigit() and len(s) == 8:
            if s[:2] in ("18", "19", "20"):  # 19800517 (year first) when that is a real date
                try:
                    return date(int(s[:4]), int(s[4:6]), int(s[6:]))
                except ValueError:
                    pass
            return date(int(s[4:]), int(s[2:4]), int(s[:2]))
        if s.isdigit() and len(s) == 6:
            return date(_year(int(s[4:]), 2, today), int(s[2:4]), int(s[:2]))
    except ValueError:
        return None
    return None


def parse_birth_date(value: str | date | None, today: date | None = None) -> date:
    """A real date of birth: a valid date, not in the future, not before 1890."""
    today = today or date.today()
    if isinstance(value, date):
        d: date | None = value
    else:
        if not value or not value.strip():
            raise ValueError("Enter the date of birth (for example 17/05/1980).")
        d = parse_date(value, today)
    if d is None:
        raise ValueError("Not a date. Type it as day/month/year, for example 17/05/1980.")
    if d > today:
        raise ValueError("The date of birth is in the future.")
    if d.year < OLDEST_YEAR:
        raise ValueError("The date of birth is too far in the past.")
    return d


def phone_digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def normalise_phone(text: str) -> tuple[str, str]:
    """(the number as typed, tidied; its digits). Raises ValueError when it is not a number."""
    s = " ".join(text.split())
    if not _PHONE_CHARS.match(s):
        raise ValueError("Use digits, spaces and an optional leading + only.")
    digits = phone_digits(s)
    if not 6 <= len(digits) <= 15:
        raise ValueError("A phone number has 6 to 15 digits.")
    return s, digits


def normalise_email(text: str) -> str:
    s = text.strip()
    if len(s) > 200 or not _EMAIL.match(s):
        raise ValueError("Not an e-mail address (for example name@example.com).")
    return s


def age_on(birth: date, today: date | None = None) -> int:
    today = today or date.today()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def fold(text: str) -> str:
    """Lower case without accents: 'Ó Briain' and 'o briain' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance, stopping early past ``limit`` (names are short)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def similar_names(a: str, b: str) -> bool:
    """Same or nearly the same name: equal when folded, or one or two typing slips apart."""
    fa, fb = fold(a), fold(b)
    if not fa or not fb:
        return False
    if fa == fb:
        return True
    allowed = 1 if min(len(fa), len(fb)) <= 5 else 2
    return edit_distance(fa, fb, allowed) <= allowed
