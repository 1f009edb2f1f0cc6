"""Who may take the experiment's HITs: MTurk QualificationRequirements from flags and settings.

The lab says `--locale US,CA --min-approval 95 --min-approved 500 --masters` or, for anything else,
`--qualification ID:Comparator:Values`; this module turns that into MTurk's requirement shapes and
refuses, before any call, what MTurk would refuse later with a less helpful message (a locale that
is not an ISO 3166 code, a percentage over 100, a comparator that does not exist, the wrong number
of values). The settings parse each value with the functions here, so a bad value in
`invoke.yaml`, in `BABE_*` or on the command line is refused the same way (exit 2, one line).

Masters is not built here: its id depends on the target (live and sandbox differ), so the plan
only says `masters = True` and the platform adds the right id — which is also what puts the 5%
Masters fee into the plan's cost.

This module only reads and checks what the lab wrote (no call): whether a named type exists
on the platform is the platform's to check before posting (MTurk: `babe_mturk.exclusion`,
from its `check_plan`); the experiment's own exclusion type is the platform's business too.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import UsageError

#: Amazon's system qualification types (docs/workers-and-extension.md, "Qualification requirements on `create`").
LOCALE = "00000000000000000071"
NUMBER_HITS_APPROVED = "00000000000000000040"
PERCENT_APPROVED = "000000000000000000L0"
ADULT = "00000000000000000060"
#: The system types every MTurk has (no call needed to know they exist).
SYSTEM_TYPES = frozenset({LOCALE, NUMBER_HITS_APPROVED, PERCENT_APPROVED, ADULT})
#: Names a lab may write instead of the ids in `--qualification`.
ALIASES = {
    "locale": LOCALE,
    "numberhitsapproved": NUMBER_HITS_APPROVED,
    "percentassignmentsapproved": PERCENT_APPROVED,
    "adult": ADULT,
}
COMPARATORS = (
    "LessThan",
    "LessThanOrEqualTo",
    "GreaterThan",
    "GreaterThanOrEqualTo",
    "EqualTo",
    "NotEqualTo",
    "Exists",
    "DoesNotExist",
    "In",
    "NotIn",
)
_COMPARATOR_BY_LOWER = {c.lower(): c for c in COMPARATORS}
PRESENCE = frozenset({"Exists", "DoesNotExist"})
SETS = frozenset({"In", "NotIn"})
LOCALE_COMPARATORS = frozenset({"EqualTo", "NotEqualTo", "In", "NotIn", "Exists", "DoesNotExist"})
#: MTurk: In/NotIn take 1-15 IntegerValues or 1-30 LocaleValues; a HIT takes 10 requirements.
MAX_INTEGERS = 15
MAX_LOCALES = 30
MAX_REQUIREMENTS = 10
TYPE_ID = re.compile(r"^[A-Z0-9]{1,64}$")
INTEGER = re.compile(r"^[+-]?\d{1,10}$")
_LOCALE = re.compile(r"^([A-Za-z]{2})(?:-([A-Za-z0-9]{1,3}))?$")
SPEC_EXAMPLE = "00000000000000000040:GreaterThanOrEqualTo:500"

#: ISO 3166-1 alpha-2: every country code MTurk's Locale can hold.
COUNTRIES = frozenset(
    ["AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW"]
)
#: ISO 3166-2:US — the subdivisions labs filter on most; other countries' codes are checked by shape.
US_SUBDIVISIONS = frozenset(
    ["AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC", "AS", "GU", "MP", "PR", "UM", "VI"]
)


# -- locales -------------------------------------------------------------------------------------
def parse_locale(text: str) -> str:
    """One locale, normalised (`us-ny` → `US-NY`), or UsageError naming it and the expected form."""
    raw = str(text).strip()
    match = _LOCALE.match(raw)
    country = match.group(1).upper() if match else None
    if country is None or country not in COUNTRIES:
        raise UsageError(
            f"locale {raw!r} is not an ISO 3166 country code: write two letters such as US, CA, GB, or a "
            "country and subdivision such as US-NY"
        )
    subdivision = match.group(2)
    if subdivision is None:
        return country
    subdivision = subdivision.upper()
    if country == "US" and subdivision not in US_SUBDIVISIONS:
        raise UsageError(f"locale {raw!r} names no US state: write the state's two letters, e.g. US-NY, US-CA")
    return f"{country}-{subdivision}"


def parse_locales(value: Any) -> tuple[str, ...]:
    """Locales from `US,CA`, a YAML list or repeated flags; duplicates dropped, at most 30."""
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else [value]
    parts = [part for item in items for part in str(item).split(",") if part.strip()]
    locales = tuple(dict.fromkeys(parse_locale(part) for part in parts))
    if len(locales) > MAX_LOCALES:
        raise UsageError(f"locale lists {len(locales)} places: MTurk takes at most {MAX_LOCALES} in one requirement")
    return locales


def locale_value(locale: str) -> dict[str, str]:
    """MTurk's LocaleValue for a normalised locale."""
    country, _, subdivision = locale.partition("-")
    return {"Country": country, "Subdivision": subdivision} if subdivision else {"Country": country}


# -- ID:Comparator:Values ------------------------------------------------------------------------
def parse_spec(text: str) -> dict[str, Any]:
    """One `ID:Comparator:Values` requirement in MTurk's shape, checked as MTurk checks it.

    ID is a qualification type id (capitals and digits) or one of the names Locale,
    NumberHITsApproved, PercentAssignmentsApproved, Adult; Values are comma-separated integers
    (country codes for Locale) and absent for Exists/DoesNotExist.
    """
    raw = str(text).strip()
    parts = raw.split(":")
    if len(parts) not in (2, 3) or not parts[0].strip() or not parts[1].strip():
        raise UsageError(f"qualification {raw!r} is not ID:Comparator:Values: write for example {SPEC_EXAMPLE}")
    name, comparator_text = parts[0].strip(), parts[1].strip()
    values_text = parts[2].strip() if len(parts) == 3 else ""
    type_id = ALIASES.get(name.lower(), name)
    if not TYPE_ID.match(type_id):
        raise UsageError(
            f"qualification {raw!r}: {name!r} is not a qualification type id (1 to 64 capitals and digits) "
            f"nor one of {', '.join(sorted({'Locale', 'NumberHITsApproved', 'PercentAssignmentsApproved', 'Adult'}))}"
        )
    comparator = _COMPARATOR_BY_LOWER.get(comparator_text.lower())
    if comparator is None:
        raise UsageError(f"qualification {raw!r}: comparator {comparator_text!r} is not one of {', '.join(COMPARATORS)}")
    values = [v.strip() for v in values_text.split(",") if v.strip()]
    requirement: dict[str, Any] = {"QualificationTypeId": type_id, "Comparator": comparator}
    if comparator in PRESENCE:
        if values:
            raise UsageError(f"qualification {raw!r}: {comparator} takes no values; write {name}:{comparator}")
        return requirement
    if not values:
        raise UsageError(f"qualification {raw!r}: {comparator} needs a value, e.g. {name}:{comparator}:1")
    locale = type_id == LOCALE
    most = (MAX_LOCALES if locale else MAX_INTEGERS) if comparator in SETS else 1
    if len(values) > most:
        if comparator in SETS:
            raise UsageError(f"qualification {raw!r}: {comparator} takes at most {most} values")
        raise UsageError(f"qualification {raw!r}: {comparator} takes exactly one value (use In for several)")
    if locale:
        if comparator not in LOCALE_COMPARATORS:
            raise UsageError(f"qualification {raw!r}: the Locale qualification cannot use {comparator}")
        requirement["LocaleValues"] = [locale_value(parse_locale(v)) for v in values]
        return requirement
    bad = [v for v in values if not INTEGER.match(v)]
    if bad:
        raise UsageError(f"qualification {raw!r}: {bad[0]!r} is not a whole number")
    integers = [int(v) for v in values]
    if type_id == PERCENT_APPROVED and any(not 0 <= n <= 100 for n in integers):
        raise UsageError(f"qualification {raw!r}: PercentAssignmentsApproved is a percentage, 0 to 100")
    requirement["IntegerValues"] = integers
    return requirement


def format_spec(requirement: dict[str, Any]) -> str:
    """The normalised `ID:Comparator:Values` text of a requirement (what the settings keep)."""
    values = requirement.get("IntegerValues") or [
        "-".join(filter(None, (v["Country"], v.get("Subdivision")))) for v in requirement.get("LocaleValues") or []
    ]
    head = f"{requirement['QualificationTypeId']}:{requirement['Comparator']}"
    return f"{head}:{','.join(map(str, values))}" if values else head


def parse_specs(value: Any) -> tuple[str, ...]:
    """Requirements from repeated flags or a YAML list (one each), or a `;`-separated string."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        items = [str(item) for item in value]
    else:
        items = re.split(r"[;\s]+", str(value))
    specs = [format_spec(parse_spec(item)) for item in items if item.strip()]
    return tuple(dict.fromkeys(specs))


# -- all of it -------------------------------------------------------------------------------------
def requirements(settings) -> list[dict[str, Any]]:
    """The settings' requirements in MTurk's shape (Masters and the exclusion type are added later)."""
    built: list[dict[str, Any]] = []
    if settings.locale:
        values = [locale_value(locale) for locale in settings.locale]
        comparator = "EqualTo" if len(values) == 1 else "In"
        built.append({"QualificationTypeId": LOCALE, "Comparator": comparator, "LocaleValues": values})
    if settings.min_approval is not None:
        built.append(
            {
                "QualificationTypeId": PERCENT_APPROVED,
                "Comparator": "GreaterThanOrEqualTo",
                "IntegerValues": [settings.min_approval],
            }
        )
    if settings.min_approved is not None:
        built.append(
            {
                "QualificationTypeId": NUMBER_HITS_APPROVED,
                "Comparator": "GreaterThanOrEqualTo",
                "IntegerValues": [settings.min_approved],
            }
        )
    built.extend(parse_spec(spec) for spec in settings.qualifications)
    return built


def describe(requirement: dict[str, Any]) -> str:
    """A requirement for people: `Locale In US, CA`, `PercentAssignmentsApproved >= 95`."""
    names = {v: k for k, v in {
        "Locale": LOCALE,
        "NumberHITsApproved": NUMBER_HITS_APPROVED,
        "PercentAssignmentsApproved": PERCENT_APPROVED,
        "Adult": ADULT,
    }.items()}
    name = names.get(requirement["QualificationTypeId"], requirement["QualificationTypeId"])
    values = requirement.get("IntegerValues") or [
        "-".join(filter(None, (v["Country"], v.get("Subdivision")))) for v in requirement.get("LocaleValues") or []
    ]
    shown = f" {', '.join(map(str, values))}" if values else ""
    return f"{name} {requirement['Comparator']}{shown}"
