"""The platform's pricing for a message whose hook was handed none: `babe_after_approve`'s.

`approve` books each assignment at the platform's fee, so the message must say the same amount
in the same currency. The other hooks carry the pricing (`plan.pricing`, `BonusResult.pricing`,
`ExtendResult.plan.pricing`, `StatusResult.pricing`); an approve result carries it too when its
step provides one. Otherwise the hook context knows it (`context.pricing`): the run's platform's
fee rules, MTurk's without building a platform at all.
"""

from __future__ import annotations

from typing import Any


def run_pricing(context: Any, result: Any = None) -> Any:
    """The pricing of the run's platform (`money.Pricing`); a `BabeError` if it cannot be read."""
    carried = getattr(result, "pricing", None)
    if carried is not None:
        return carried
    return context.pricing
