"""Identifiers shaped like MTurk's, so clients that check patterns or lengths accept ours.

MTurk's ids are opaque upper-case alphanumerics (`^[A-Z0-9]+$`, 30 characters for HITs,
assignments and HIT types); worker ids start with `A` (`^A[A-Z0-9]+$`, typically 14 characters).
They come from the operating system's randomness, not a counter, so two processes sharing one
state file can mint ids without coordinating.
"""

from __future__ import annotations

import base64
import secrets

#: Characters of a base-32 text (A–Z, 2–7): a subset of what MTurk's pattern allows.
_BITS_PER_CHAR = 5


def new_id(prefix_len: int = 30) -> str:
    """A random id of `prefix_len` characters matching `^[A-Z0-9]+$`."""
    if prefix_len < 1:
        raise ValueError("an id has at least one character")
    raw = secrets.token_bytes((prefix_len * _BITS_PER_CHAR + 7) // 8)
    return base64.b32encode(raw).decode("ascii")[:prefix_len]


def new_worker_id() -> str:
    """A random worker id: `A` and 13 more characters, as MTurk's look."""
    return "A" + new_id(13)
