"""The counters a local MTurk exposes to tests and benchmarks, as one document and one table.

Two sources feed it: the service counts every request that reached an operation (and the errors
it answered), the fault injector counts what it made fail before or after. A throttled or dropped
request never reaches the service, so the two are reported side by side, not added up.
"""

from __future__ import annotations

from typing import Any

from babe_mturk.local.faults import KINDS


def snapshot(turk, faults=None) -> dict[str, Any]:
    """`{"requests": {op: n}, "errors": {"op:code": n}, "total": n, "faults": {kind: n}, "fault_spec": str|None}`."""
    counts = turk.stats()
    return {
        "requests": dict(sorted(counts["requests"].items())),
        "errors": dict(sorted(counts["errors"].items())),
        "total": counts["total"],
        "faults": faults.counts() if faults is not None else {kind: 0 for kind in KINDS},
        "fault_spec": str(faults.spec) if faults is not None else None,
    }


def reset(turk, faults=None) -> None:
    turk.reset_stats()
    if faults is not None:
        faults.reset_counts()


def render(stats: dict[str, Any]):
    """A rich renderable of a snapshot: requests and errors per operation, then injected faults."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    errors_by_op: dict[str, int] = {}
    for key, n in stats.get("errors", {}).items():
        op = key.split(":", 1)[0]
        errors_by_op[op] = errors_by_op.get(op, 0) + n
    table = Table(title=f"{stats.get('total', 0)} requests", title_justify="left")
    table.add_column("operation")
    table.add_column("requests", justify="right")
    table.add_column("errors", justify="right")
    for op, n in stats.get("requests", {}).items():
        table.add_row(op, str(n), str(errors_by_op.get(op, 0)))
    parts: list[Any] = [table]
    if stats.get("errors"):
        codes = Table(title="errors by code", title_justify="left")
        codes.add_column("operation:code")
        codes.add_column("count", justify="right")
        for key, n in stats["errors"].items():
            codes.add_row(key, str(n))
        parts.append(codes)
    injected = {kind: n for kind, n in stats.get("faults", {}).items() if n}
    spec = stats.get("fault_spec")
    line = f"faults: {spec or 'none'}"
    if injected:
        line += " — injected " + ", ".join(f"{kind} {n}" for kind, n in injected.items())
    parts.append(Text(line))
    return Group(*parts)
