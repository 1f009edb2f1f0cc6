"""The pytest plugin's fixtures, for these tests whether or not its `pytest11` entry point is installed.

A lab gets the `babe_*` fixtures from the installed package's entry point; this project's own
checkout may be installed from before the entry point existed, so the fixtures are imported here
too (a conftest's fixtures take precedence over a plugin's of the same name: the same functions).
"""

from babe_tasks.pytest_plugin import (  # noqa: F401 - imported to register them as fixtures
    babe_backend,
    babe_clock,
    babe_env,
    babe_experiment,
    babe_run,
    babe_turk,
    babe_webhook,
    babe_workers,
)
