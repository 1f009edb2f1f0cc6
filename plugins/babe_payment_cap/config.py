"""The payment-cap plugin's settings: up to four caps, the calendar's time zone, the live balance check.

```yaml
babe:
  plugins:
    payment-cap:
      experiment: "400.00"   # this experiment, on the run's target
      daily: "100.00"        # everything this ledger committed today (all its experiments)
      monthly: "600.00"      # everything this ledger committed this calendar month
      total: "1000.00"       # everything this ledger ever committed (all its experiments)
      timezone: Europe/Berlin  # whose calendar day and month `daily` and `monthly` mean; default UTC
      check_balance: true    # on live, refuse a create that costs more than the account holds
```
On a lab's shared ledger (`ledger_url`, docs/lab.md) "this ledger" is the whole lab: every
member's experiments count towards `daily`, `monthly` and `total`. Every cap is optional; the plugin does nothing while `babe.plugins.payment-cap` is absent. A key
that is not one of these is refused (exit 2) rather than ignored: a misspelt cap (`experimnet`)
would otherwise be a cap that silently never applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babe_tasks import configvalues
from babe_tasks.errors import UsageError, did_you_mean

NAME = "payment-cap"
#: The caps, in the order they are checked and shown.
CAPS = ("experiment", "daily", "monthly", "total")
KEYS = (*CAPS, "timezone", "check_balance")


@dataclass(frozen=True)
class CapSettings:
    experiment: Decimal | None = None
    daily: Decimal | None = None
    monthly: Decimal | None = None
    total: Decimal | None = None
    timezone: str = "UTC"
    check_balance: bool = True

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def caps(self) -> dict[str, Decimal]:
        """The caps that are set, in checking order."""
        return {name: getattr(self, name) for name in CAPS if getattr(self, name) is not None}

    def describe(self) -> dict[str, Any]:
        return {
            **{name: getattr(self, name) for name in CAPS},
            "timezone": self.timezone,
            "check_balance": self.check_balance,
        }


def setting(key: str) -> str:
    return f"babe.plugins.{NAME}.{key}"


def configured(settings: Any) -> bool:
    return NAME in (getattr(settings, "plugins", None) or {})


def load(settings: Any) -> CapSettings | None:
    """The validated section, or None when it is absent; UsageError naming the key otherwise."""
    if not configured(settings):
        return None
    section = settings.plugin_settings(NAME)
    for key in section:
        if key not in KEYS:
            hint = did_you_mean(key, KEYS)
            raise UsageError(f"unknown setting {setting(key)}: {hint}")
    caps = {name: _cap(name, section.get(name)) for name in CAPS}
    return CapSettings(**caps, timezone=_zone(section.get("timezone")), check_balance=configvalues.boolean(section.get("check_balance"), setting("check_balance"), default=True))


def _cap(name: str, value: Any) -> Decimal | None:
    return configvalues.amount(value, setting(name), allow_zero=True, quoted=f'{name}: "400.00"')


def _zone(value: Any) -> str:
    if value is None or str(value).strip() == "":
        return "UTC"
    name = str(value).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"{setting('timezone')} {name!r} is not a time zone: use an IANA name such as UTC or Europe/Berlin"
        ) from None
    return name
