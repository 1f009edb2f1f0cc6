"""The requester account's balance (GetAccountBalance), for the live check before a create.

The plugin asks the hook context for the run's platform — the step's own object, or one built
through the `babe_platform` hook — so whatever platform the lab configured answers, and the
plugin never talks to MTurk itself nor builds a plugin manager. A balance that cannot be read
stops the create (its error passes through with its own exit code), since on live the check
exists to avoid posting HITs nobody can pay.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def account_balance(context: Any) -> Decimal:
    platform = context.platform
    platform.connect()
    return Decimal(platform.balance())
