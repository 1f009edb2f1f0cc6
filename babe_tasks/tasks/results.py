"""`babe results`: download the experiment's results (through the plugin that fetches them).

Thin on purpose, like the lifecycle tasks: flags → Settings → plugin manager → step → output.
Imported by `babe --list`, so nothing heavy at import time.
"""

from __future__ import annotations

from ..taskkit import babe_task


@babe_task(
    settings=True,
    help={
        "anonymize": "replace worker ids by salted pseudonyms (salt: BABE_ANONYMIZE_SALT), so the file can be shared",
        "raw": "keep the backend's bytes: cells a spreadsheet would run as a formula (=, +, -, @, tab) are not prefixed with '",
        "json": 'print one JSON document: {"path", "rows", "submissions", "columns", "column_names", "anonymized", '
        '"neutralized", "raw"}',
    }
)
def results(c, anonymize=False, raw=False, json=False, **common):
    """Download the results into results/<experiment>-<UTC time>.csv (never overwriting)."""
    from .. import output
    from ..plugins import plugin_manager
    from ..settings import Settings
    from ..steps import results as step

    settings = Settings.build(c, json=json, **common)
    result = step.run(settings, plugin_manager(settings), anonymize=anonymize, raw=raw)

    def render(console) -> None:
        if result.path is None:
            console.print(f"No results for experiment {settings.experiment} yet: nothing was written.")
            return
        try:
            shown = result.path.relative_to(settings.folder)
        except ValueError:
            shown = result.path
        console.print(
            f"Wrote {shown}: {result.rows} rows, {result.submissions} submissions, {len(result.columns)} columns."
        )
        if result.anonymized:
            console.print(f"Worker ids replaced by salted pseudonyms in {result.replaced} cells.")
        if result.neutralized:
            console.print(
                f"{result.neutralized} cell(s) a spreadsheet would run as a formula start with ' now "
                "(--raw keeps the backend's bytes)."
            )

    output.emit(settings, result.as_json(), render)
