"""Prolific's page-number pagination: `page`, `page_size` (default 20), `_links.next.href`, and a 404
for a page past the end — the trap a client walking pages by counting falls into. Where the spec
pages by `limit`/`offset` instead (hook events, surveys), a request carrying either gets that:
the same answer shape, `next.href` carrying the following offset, and an empty page past the end.

A list is read in one snapshot (`Store.read`) and cut by offset, as the real (Django REST
framework) API does; `next.href` is absolute, built from the request's own URL, so a client can
follow it whatever host it reached the server by.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from .errors import NOT_FOUND, ApiError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200


def _positive(query: dict[str, str], key: str, default: int) -> int:
    text = query.get(key)
    if text is None or text == "":
        return default
    if not text.isdigit() or int(text) < 1:
        raise ApiError(400, {key: ["A whole number, 1 or more."]})
    return int(text)


def page(
    tx: sqlite3.Connection,
    request,
    count_sql: str,
    rows_sql: str,
    args: Sequence[Any],
    render: Callable[[sqlite3.Row], dict],
) -> dict:
    """One page: `{"results", "_links": {self, next, previous, last}, "meta": {"count"}}`.

    `rows_sql` must end where `ORDER BY seq LIMIT ? OFFSET ?` can be appended.
    """
    if "limit" in request.query or "offset" in request.query:
        return _by_offset(tx, request, count_sql, rows_sql, args, render)
    number = _positive(request.query, "page", 1)
    size = min(_positive(request.query, "page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    total = tx.execute(count_sql, args).fetchone()[0]
    pages = max(1, math.ceil(total / size))
    if number > pages:
        raise ApiError(404, "Invalid page.", code=NOT_FOUND)
    rows = tx.execute(f"{rows_sql} ORDER BY seq LIMIT ? OFFSET ?", (*args, size, (number - 1) * size)).fetchall()

    def href(n: int | None) -> dict:
        if n is None:
            return {"href": None}
        query = {k: v for k, v in request.query.items() if k not in ("page", "page_size")}
        query.update(page=str(n), page_size=str(size))
        return {"href": f"{request.base_url}{request.path}?{urlencode(query)}"}

    return {
        "results": [render(row) for row in rows],
        "_links": {
            "self": href(number),
            "next": href(number + 1 if number < pages else None),
            "previous": href(number - 1 if number > 1 else None),
            "last": href(pages),
        },
        "meta": {"count": total},
    }


def _by_offset(tx, request, count_sql: str, rows_sql: str, args: Sequence[Any], render: Callable[[sqlite3.Row], dict]) -> dict:
    limit = min(_positive(request.query, "limit", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    text = request.query.get("offset") or "0"
    if not text.isdigit():
        raise ApiError(400, {"offset": ["A whole number, 0 or more."]})
    offset = int(text)
    total = tx.execute(count_sql, args).fetchone()[0]
    rows = tx.execute(f"{rows_sql} ORDER BY seq LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()

    def href(start: int | None) -> dict:
        if start is None:
            return {"href": None}
        query = {k: v for k, v in request.query.items() if k not in ("limit", "offset")}
        query.update(limit=str(limit), offset=str(start))
        return {"href": f"{request.base_url}{request.path}?{urlencode(query)}"}

    return {
        "results": [render(row) for row in rows],
        "_links": {
            "self": href(offset),
            "next": href(offset + limit if offset + limit < total else None),
            "previous": href(max(0, offset - limit) if offset > 0 else None),
            "last": href(max(0, (math.ceil(total / limit) - 1) * limit)),
        },
        "meta": {"count": total},
    }
