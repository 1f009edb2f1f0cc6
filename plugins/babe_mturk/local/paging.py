"""NextToken paging, the same for every list operation of the local MTurk.

Lists page by the row's creation sequence, with a token that carries the last key rather than an
offset, so rows inserted between two pages neither repeat nor vanish, exactly as a client walking
NextToken expects. The operation's name is sealed into the token: one list's token is refused by
another.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
from typing import Any, Callable, Sequence

from babe_mturk.local.errors import ValidationError

DEFAULT_PAGE = 100


def _encode_token(scope: str, last_seq: int) -> str:
    raw = f"{scope}:{last_seq}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(scope: str, token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        got_scope, _, seq = base64.urlsafe_b64decode(padded.encode()).decode().rpartition(":")
        if got_scope != scope:
            raise ValueError(scope)
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("NextToken", f"is not a pagination token of {scope}") from None


def page(
    tx: sqlite3.Connection,
    scope: str,
    params: dict,
    sql: str,
    args: Sequence[Any],
    render: Callable[[sqlite3.Row], dict],
    *,
    token_on_last_page: bool = False,
) -> tuple[list[dict], str | None]:
    """One page of a list: `sql` is a SELECT of rows with a `seq` column, ending in a WHERE clause
    to which `AND seq > ?` is appended. `scope` (the operation's name) is sealed into the token so
    one list's token is refused by another. Returns the rendered items and the NextToken, None on
    the last page — or, with `token_on_last_page`, on an empty page only, as Amazon's ListHITs
    answers: a client must page until a page comes back empty (Mephisto does) or without a token
    (botocore's paginators do), and both end.
    """
    limit = int(params.get("MaxResults") or DEFAULT_PAGE)
    after = _decode_token(scope, params["NextToken"]) if params.get("NextToken") else 0
    rows = tx.execute(f"{sql} AND seq > ? ORDER BY seq LIMIT ?", (*args, after, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    token = _encode_token(scope, rows[-1]["seq"]) if rows and (more or token_on_last_page) else None
    return [render(row) for row in rows], token


def paged_answer(items_key: str, items: list[dict], token: str | None) -> dict:
    answer: dict[str, Any] = {"NumResults": len(items), items_key: items}
    if token:
        answer["NextToken"] = token
    return answer
