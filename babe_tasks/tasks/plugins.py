"""`babe plugins`: which plugins a run would load, where each came from, and the hooks it implements.

Hooks a plugin implements as a wrapper (`@hookimpl(wrapper=True)`: it runs around the other
plugins' implementations) are shown as such — `babe_before_create (wrapper)` — and listed again
under `wrappers` in the JSON, so a reader knows which plugin times or changes a whole hook call.

It builds the same plugin manager a step builds (same folder, same BABE_PLUGINS rules), so what it
shows is what `create` or `approve` would run with — including plugins that failed to import.
"""

from __future__ import annotations

from typing import Any

from ..taskkit import babe_task


@babe_task(
    help={
        "json": 'print one JSON document on stdout: {"plugins": [{"name", "source", "origin", "status", "hooks", "wrappers", "error", "config"}]}',
    }
)
def plugins(c, json=False, strict_plugins=False):
    """List the plugins (built-in, installed, ./plugins), where each came from, and its hooks."""
    from ..output import emit
    from ..plugins import collect, describe, plugin_manager
    from ..settings import Settings

    settings = Settings.build(c, json=json, strict_plugins=strict_plugins or None)
    pm = plugin_manager(settings)
    infos = describe(pm)
    configs = dict(collect(pm, "babe_describe", settings=settings))
    rows = [
        {
            "name": info.name,
            "source": info.source,
            "origin": info.origin,
            "status": info.status,
            "hooks": info.hooks,
            "wrappers": info.wrappers,
            "error": info.error,
            "config": configs.get(info.name),
        }
        for info in infos
    ]

    def render(console: Any) -> None:
        from rich.table import Table

        table = Table(title=f"Plugins of {settings.folder}", title_justify="left")
        for column in ("plugin", "source", "from", "hooks", "status", "config"):
            # Hook names are what a reader greps for: never cut one; long paths fold instead.
            table.add_column(column, overflow="fold", no_wrap=column in ("plugin", "hooks"))
        for row in rows:
            status = row["status"] if not row["error"] else f"{row['status']}: {row['error']}"
            config = "\n".join(f"{key}: {value}" for key, value in (row["config"] or {}).items()) or "-"
            hooks = "\n".join(f"{hook} (wrapper)" if hook in row["wrappers"] else hook for hook in row["hooks"]) or "-"
            table.add_row(row["name"], row["source"], row["origin"], hooks, status, config)
        console.print(table)

    emit(settings, {"plugins": rows}, render)
