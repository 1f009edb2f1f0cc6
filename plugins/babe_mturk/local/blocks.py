"""Worker blocks: the requester's list of workers who may no longer take its HITs.

A block is per requester, not per HIT, so `is_blocked` is all the accept path needs; the reason is
kept because MTurk shows it to the worker and ListWorkerBlocks answers it back.
"""

from __future__ import annotations

from babe_mturk.local import store
from babe_mturk.local.errors import RequestError, ValidationError
from babe_mturk.local.paging import page, paged_answer
from babe_mturk.local.service import Context, operation

store.register_schema(
    """
    CREATE TABLE IF NOT EXISTS worker_blocks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        worker_id TEXT NOT NULL UNIQUE,
        reason TEXT NOT NULL,
        created REAL NOT NULL
    )
    """
)


def is_blocked(ctx: Context, worker_id: str) -> bool:
    """True when this requester has blocked the worker (they cannot accept its HITs)."""
    return ctx.tx.execute("SELECT 1 FROM worker_blocks WHERE worker_id = ?", (worker_id,)).fetchone() is not None


@operation("CreateWorkerBlock", write=True)
def create_worker_block(ctx: Context, params: dict) -> dict:
    reason = params["Reason"]
    if not reason.strip():
        raise ValidationError("Reason", "must not be empty: MTurk shows the reason to the worker")
    # Blocking again only updates the reason; the block keeps its place in ListWorkerBlocks.
    ctx.tx.execute(
        "INSERT INTO worker_blocks (worker_id, reason, created) VALUES (?, ?, ?) "
        "ON CONFLICT (worker_id) DO UPDATE SET reason = excluded.reason",
        (params["WorkerId"], reason, ctx.now),
    )
    return {}


@operation("DeleteWorkerBlock", write=True)
def delete_worker_block(ctx: Context, params: dict) -> dict:
    worker_id = params["WorkerId"]
    deleted = ctx.tx.execute("DELETE FROM worker_blocks WHERE worker_id = ?", (worker_id,)).rowcount
    if not deleted:
        raise RequestError(f"Worker {worker_id} is not blocked.", "WorkerNotBlocked")
    return {}


@operation("ListWorkerBlocks")
def list_worker_blocks(ctx: Context, params: dict) -> dict:
    items, token = page(
        ctx.tx,
        "ListWorkerBlocks",
        params,
        "SELECT seq, worker_id, reason FROM worker_blocks WHERE 1",
        (),
        lambda r: {"WorkerId": r["worker_id"], "Reason": r["reason"]},
    )
    return paged_answer("WorkerBlocks", items, token)
