"""The fee rules and currency of each platform the ledger names, so every row is priced by its own.

One ledger may hold HITs of several platforms (a lab moving an experiment from MTurk to Prolific
in the same folder). A row commits money at its platform's fees and in its platform's currency,
so the book asks this object for the pricing (`babe_tasks.money.Pricing`) of each row's
`platform`:

- the run's own platform: the pricing the hook was handed (`plan.pricing`, `status.pricing`,
  `report.pricing`), so no platform is built and no call is made for it;
- `mturk`: `money.MTURK_PRICING` (also for ledgers from before the `platform` column);
- any other platform: asked once per run of the hook context (`context.pricing_for`), which
  reaches that platform through its own plugin — reading a platform's pricing may make a call
  (Prolific reads the account's rates), which is why the first two never go this way.

A platform that cannot be priced (its plugin is not installed, its credentials are missing) stops
the cap check with a `Veto` saying so: a cap checked without part of what was committed would be a
cap that silently lets too much through.
"""

from __future__ import annotations

from typing import Any

from babe_tasks import money
from babe_tasks.errors import BabeError, Veto

MTURK = "mturk"


class Prices:
    """Pricing per platform name for one run: the run's (as handed over), MTurk's, then the context's."""

    def __init__(self, context: Any, run_pricing: Any = None):
        self.context = context
        self.settings = context.settings
        self._known: dict[str, Any] = {MTURK: money.MTURK_PRICING}
        if run_pricing is not None:
            self._known[self.settings.platform] = run_pricing

    @property
    def run(self) -> Any:
        """The pricing of the run's platform: what the caps are amounts of."""
        return self(self.settings.platform)

    def __call__(self, platform: str | None) -> Any:
        name = platform or MTURK
        if name not in self._known:
            try:
                self._known[name] = self.context.pricing_for(name)
            except BabeError as exc:
                raise Veto(
                    f"cannot read the fees of platform {name} ({exc}), and the caps count what was committed on it: "
                    f"install the plugin that provides {name} and set its credentials, then run this again"
                ) from None
        return self._known[name]
