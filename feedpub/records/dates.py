"""Turn whatever a record holds for a date into an aware UTC datetime.

PyYAML hands back ``datetime`` (aware or naive), ``date``, ``int``/``float`` or
``str`` depending on the exact spelling.  Strings are tried, in order, as
ISO 8601, as RFC 822 / HTTP dates, then through python-dateutil with three
guards: missing parts are never filled from today's date, day/month order is
never guessed silently, and a zone abbreviation is never read as the host's
zone.  Every result is UTC with the microseconds dropped, since Atom's
``updated`` and RSS's ``pubDate`` compare to the second.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum

from feedpub.errors import DateError
from feedpub.records.text import show

# email.utils and dateutil are imported where they are needed: most records
# write ISO 8601 dates, and a run that reads none of the other kinds (or no
# record at all) does not pay for importing them.

UTC = UTC

# Atom and RSS validators call a date before 1990 implausible; a record dated
# so early is a data error (an epoch zero, a mistyped year).
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)

# RFC 822 section 5.1 zone names; anything else is refused rather than guessed.
ZONE_NAMES = {
    "UT": 0,
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
}

# Two defaults that differ in every date part: a part that the string does not
# give comes out different under each, which is how a missing part is detected.
_DEFAULT_A = datetime(2001, 1, 1)
_DEFAULT_B = datetime(2002, 2, 2)

MAX_DATE_LENGTH = 100
_EPOCH_DIGITS = re.compile(r"[0-9]{9,11}(\.[0-9]+)?")


class AmbiguousDates(StrEnum):
    """What to do with a date like 03/04/2023, which reads two ways."""

    REJECT = "reject"
    MONTH_FIRST = "month-first"
    DAY_FIRST = "day-first"


def _zone_for(name: str | None, offset: int | None) -> tzinfo:
    from dateutil.tz import tzoffset

    if name is None:  # a numeric offset only
        return tzoffset(None, offset or 0)
    hours = ZONE_NAMES.get(name.upper())
    if hours is None:
        raise DateError(f"unknown time zone name {show(name)} (use a numeric offset such as +02:00)")
    return tzoffset(name, hours * 3600)


def _to_utc(value: datetime, default_zone: tzinfo) -> datetime:
    try:
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            value = value.replace(tzinfo=default_zone)
        return value.astimezone(UTC).replace(microsecond=0)
    except (OverflowError, ValueError):
        # 9999-12-31T23:59:59-01:00 is past the end of datetime in UTC; an
        # offset of 25 hours is not an offset.
        raise DateError(f"{value.replace(tzinfo=None).isoformat()} with its offset is out of range") from None


def _from_epoch(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(microsecond=0)
    except (OverflowError, OSError, ValueError):
        raise DateError(f"{show(seconds)} is not a plausible epoch time in seconds") from None


def _parse_with_dateutil(text: str, ambiguous: AmbiguousDates) -> datetime:
    from dateutil import parser as dateutil_parser

    def attempt(default: datetime, dayfirst: bool) -> datetime:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dateutil_parser.parse(text, default=default, dayfirst=dayfirst, tzinfos=_zone_for)

    try:
        month_first = attempt(_DEFAULT_A, False)
        day_first = attempt(_DEFAULT_A, True)
        other_default = attempt(_DEFAULT_B, False)
    except DateError:
        raise
    except (ValueError, OverflowError, TypeError):
        raise DateError(f"{show(text)} is not a date") from None
    if (month_first.year, month_first.month, month_first.day) != (
        other_default.year,
        other_default.month,
        other_default.day,
    ):
        raise DateError(f"{show(text)} is not a full date (a year, month and day are needed)")
    if month_first != day_first:
        if ambiguous is AmbiguousDates.MONTH_FIRST:
            return month_first
        if ambiguous is AmbiguousDates.DAY_FIRST:
            return day_first
        raise DateError(
            f"{show(text)} is ambiguous: {month_first:%Y-%m-%d} (month first) or "
            f"{day_first:%Y-%m-%d} (day first); write it as YYYY-MM-DD or set ambiguous_dates"
        )
    return month_first


def _parse_text(text: str, default_zone: tzinfo, ambiguous: AmbiguousDates) -> datetime:
    text = text.strip()
    if not text:
        raise DateError("is empty")
    if len(text) > MAX_DATE_LENGTH:
        raise DateError(f"{show(text)} is too long to be a date")
    if _EPOCH_DIGITS.fullmatch(text):
        return _from_epoch(float(text))
    iso = text[:-1] + "+00:00" if text[-1:] in "zZ" else text
    try:
        return _to_utc(datetime.fromisoformat(iso), default_zone)
    except ValueError:
        pass
    last_word = text.split()[-1]
    # email.utils reads an unknown last word ("pm", "XYZ") as "no zone": leave
    # those to dateutil, which knows "pm" and asks _zone_for about the rest.
    if not last_word.isalpha() or last_word.upper() in ZONE_NAMES:
        import email.utils

        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None:
            return _to_utc(parsed, default_zone)
    return _to_utc(_parse_with_dateutil(text, ambiguous), default_zone)


def parse_date(
    value: object,
    default_zone: tzinfo = UTC,
    ambiguous: AmbiguousDates = AmbiguousDates.REJECT,
) -> datetime:
    """An aware UTC datetime (seconds precision) for ``value``, or ``DateError``.

    A value without a zone is read in ``default_zone``; a bare date is midnight there.
    """
    if isinstance(value, bool):
        raise DateError(f"{show(value)} is not a date")
    if isinstance(value, datetime):
        result = _to_utc(value, default_zone)
    elif isinstance(value, date):
        result = _to_utc(datetime(value.year, value.month, value.day), default_zone)
    elif isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise DateError(f"{show(value)} is not a date")
        result = _from_epoch(value)
    elif isinstance(value, str):
        try:
            result = _parse_text(value, default_zone, ambiguous)
        except OverflowError:
            raise DateError(f"{show(value)} is out of range") from None
    elif value is None:
        raise DateError("is empty")
    else:
        raise DateError(f"a {type(value).__name__} is not a date")
    if result < EARLIEST:
        raise DateError(f"{format_rfc3339(result)} is before {EARLIEST:%Y-%m-%d}; feed readers treat it as implausible")
    return result


def format_rfc3339(value: datetime) -> str:
    """``2023-05-17T13:21:00Z``: the only form Atom validators accept without a murmur."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
