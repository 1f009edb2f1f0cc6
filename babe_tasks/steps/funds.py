"""What a step advises when spending failed for want of money.

"Run the command again" is the right advice for a transient failure and the wrong one when the
account's balance is too low: the re-run fails the same way. Amazon answers "This Requester has
insufficient funds in their account to complete this transaction", the local MTurk the same, and
Prolific "Insufficient funds: …"; the error text is what every step's failure list keeps, so the
check reads the text (and the error code, where an exception is at hand).
"""

from __future__ import annotations

from collections.abc import Iterable

#: The words every platform's refusal carries (compared case-insensitively), and MTurk's code.
WORDS = "insufficient funds"
CODES = frozenset({"InsufficientFunds"})


def insufficient(error: object) -> bool:
    """Whether this failure (an exception or its text) is the platform refusing for want of money."""
    return getattr(error, "code", None) in CODES or WORDS in str(error).lower()


def rerun_advice(errors: Iterable[object], rerun: str) -> str:
    """`rerun` (e.g. "run approve again to finish"), preceded by "add funds" when money was the reason."""
    if any(insufficient(error) for error in errors):
        return f"the account has insufficient funds: add funds (babe doctor shows the balance), then {rerun}"
    return rerun
