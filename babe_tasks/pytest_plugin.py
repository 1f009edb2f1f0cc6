"""pytest fixtures for testing a babe plugin the way it runs: the real `babe` program, the local MTurk.

Installed with babe-tasks and registered under pytest's `pytest11` entry point, so a lab's own
test suite has these fixtures without any conftest.py (docs/testing-plugins.md):

| fixture | what it is |
|---|---|
| `babe_experiment` | a temporary experiment folder, the working directory: `invoke.yaml`, `plugins/`, deploy config |
| `babe_run` | `babe_run("approve", "--json")` runs the real `babe` program in-process → `.code`, `.out`, `.err`, `.json` |
| `babe_turk` | the test's local MTurk: a boto3 `client`, `hits()`, `assignments()`, `balance()`, `serve()` |
| `babe_clock` | its clock: `now()`, `advance("25h")` |
| `babe_workers` | its workers: `work(workers=3)`, `accept`, `submit`, `complete(hit_id, took="5m")` |
| `babe_backend` | a fake _babe backend on 127.0.0.1: `.url`, `.backend` (experiments, submissions, faults) |
| `babe_webhook` | a webhook receiver on 127.0.0.1: `.url`, `.posts`, `.texts`, `mode` ("ok", "500", "404", "slow") |
| `babe_postgres` | a fresh, empty database on a real PostgreSQL server: `.url` (for `babe_env.use_ledger(url)`), `.connect()` |
| `babe_env` | what every fixture above relies on: a hermetic environment (see below) |

Hermetic: no AWS_*, BABE_* or PG* (libpq's) variable of the person running the tests reaches the run; the local
MTurk's state is a file in the test's tmp_path; the working directory is a tmp folder; and the
lab plugins installed in the environment (entry point group `babe_tasks`) stay out unless the test
asks for them by name (`babe_env.use_installed_plugins("slack")`) — a lab's test sees the plugin
under test and its platform's plugin (group `babe_tasks.platforms`: `mturk` unless the experiment
sets `babe.platform`), not whatever else happens to be installed; and `babe --debug` in one test does not show
tracebacks in the next. Every fixture is function-scoped and cleans up.

`babe_postgres` runs one PostgreSQL server per test session (per xdist worker: the session-scoped
`babe_postgres_server`, from the system's PostgreSQL, babe_tasks.testing.postgres) and makes each
test its own database; where PostgreSQL is not installed the tests using it skip, saying how to
install it — under `CI=true` they fail instead.

This module imports nothing heavy at import time: pytest loads it in every session of an
environment where babe-tasks is installed.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any, Iterator

import pytest

__all__ = [
    "BabeEnvironment", "babe_env", "babe_experiment", "babe_run", "babe_turk", "babe_clock", "babe_workers",
    "babe_backend", "babe_webhook", "babe_postgres_server", "babe_postgres",
]

#: The entry point group installed babe plugins announce themselves in (`babe_tasks.plugins`).
PLUGIN_GROUP = "babe_tasks"
#: Where installed plugins are looked for while they are to stay out: a group no package announces.
HIDDEN_GROUP = "babe_tasks.pytest-plugin.none"


class BabeEnvironment:
    """The hermetic environment of one test: `tmp` folder (the working directory), local MTurk `state` file, plugin choice.

    This project's own suite makes one for every test (tests/conftest.py), with `keep` naming the
    variables its session sets on purpose; a lab's tests get one from the `babe_env` fixture.
    `close()` puts back what `babe --debug` changes process-wide (monkeypatch undoes the rest).
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp: Path, *, keep: tuple[str, ...] = ()):
        import logging

        self.monkeypatch = monkeypatch
        self.tmp = tmp
        self.state = tmp / "localturk.sqlite"
        self.installed_plugins: tuple[str, ...] = ()
        for key in list(os.environ):
            if key.startswith(("AWS_", "BABE_", "PG")) and key not in keep:
                monkeypatch.delenv(key, raising=False)
        # boto3 must find no profile, no credentials and no instance metadata of the person testing.
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp / "no-aws-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "no-aws-credentials"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.setenv("BABE_LOCAL_STATE", str(self.state))
        monkeypatch.setenv("NO_COLOR", "1")
        monkeypatch.setenv("COLUMNS", "120")
        # Installed lab plugins stay out; the platforms (group `babe_tasks.platforms`) stay real:
        # the chosen platform's plugin is what runs the experiment, as it is for the lab.
        monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", HIDDEN_GROUP)
        # `babe --debug` in one test must not show tracebacks in the next (a process-wide switch).
        monkeypatch.setattr("babe_tasks.errors._DEBUG", False)
        root = logging.getLogger()  # `--debug` turns on invoke's logging of the whole process
        self._logging = (root.level, list(root.handlers))
        monkeypatch.chdir(tmp)

    def close(self) -> None:
        """Undo what a `--debug` run turned on for the whole process: the root logger's level and handlers."""
        import logging

        root = logging.getLogger()
        level, handlers = self._logging
        root.setLevel(level)
        root.handlers[:] = handlers

    def use_ledger(self, url: str) -> None:
        """Keep this test's ledger at `url` (`postgresql://…`, e.g. `babe_postgres.url`) instead of the folder's SQLite file.

        Set as `BABE_LEDGER_URL`, so in-process runs and the `babe` processes a test starts see it.
        """
        self.monkeypatch.setenv("BABE_LEDGER_URL", url)

    def use_installed_plugins(self, *names: str) -> None:
        """Load these installed plugins (entry point names, e.g. "slack", "babe-backend") and no others.

        Plugins in the experiment's `plugins/` folder load as always. A name that is not installed
        is refused here, so a typo fails the test at once instead of silently testing nothing.
        """
        from importlib.metadata import entry_points

        installed = {ep.name for ep in entry_points(group=PLUGIN_GROUP)}
        unknown = sorted(set(names) - installed)
        if unknown:
            raise ValueError(
                f"not installed as a babe plugin: {', '.join(unknown)} (installed: {', '.join(sorted(installed)) or 'none'})"
            )
        self.installed_plugins = tuple(dict.fromkeys(names))
        self.monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", PLUGIN_GROUP)
        others = sorted(installed - set(names))
        if others:
            self.monkeypatch.setenv("BABE_DISABLE_PLUGINS", ",".join(others))
        else:
            self.monkeypatch.delenv("BABE_DISABLE_PLUGINS", raising=False)


@pytest.fixture
def babe_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[BabeEnvironment]:
    """A hermetic environment for babe (every other babe_ fixture uses it): see the module docstring."""
    work = tmp_path / "babe-work"
    work.mkdir()
    env = BabeEnvironment(monkeypatch, work)
    yield env
    env.close()


@pytest.fixture
def babe_experiment(babe_env: BabeEnvironment, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An experiment folder `experiment` with a minimal invoke.yaml, made the working directory.

    `configure(plugins={...}, **babe_settings)`, `add_plugin(path)`, `write_plugin(name, source)`,
    `deploy_to(babe_backend, experiment_id)`. Installed plugins: `babe_env.use_installed_plugins(...)`.
    """
    from babe_tasks.testing.experiment import ExperimentFolder

    folder = ExperimentFolder(babe_env.tmp / "experiment")
    monkeypatch.chdir(folder.path)
    return folder


@pytest.fixture
def babe_run(babe_env: BabeEnvironment, request: pytest.FixtureRequest) -> Any:
    """Run the real `babe` program in-process: `babe_run("create", "--assignments", "3", "--json")`.

    Returns a `babe_tasks.testing.BabeRun`: `code` (the exit codes of docs/cli.md), `out`, `err`,
    and `json` (stdout parsed). One string argument is split like a shell would:
    `babe_run("status --json")`. `namespace=` runs a test's own invoke tasks as the program's. The
    run happens in the working directory (the `babe_experiment` folder when the test uses it).
    Output is captured with `capsys`, or with `capfd` when the test asks for that fixture (to see
    what reaches the process's file descriptors, logging's included).
    """
    from babe_tasks.testing import run_babe

    capture = request.getfixturevalue("capfd" if "capfd" in request.fixturenames else "capsys")

    def run(*argv: str, namespace: Any = None) -> Any:
        if len(argv) == 1 and " " in argv[0]:
            argv = tuple(shlex.split(argv[0]))
        return run_babe(capture, *argv, namespace=namespace)

    return run


@pytest.fixture
def babe_turk(babe_env: BabeEnvironment) -> Iterator[Any]:
    """The test's local MTurk (the one `babe_run` talks to): `client`, `hits()`, `assignments()`, `balance()`, `serve()`."""
    from babe_tasks.testing.localmturk import LocalMTurk

    turk = LocalMTurk(babe_env.state)
    yield turk
    turk.close()


@pytest.fixture
def babe_clock(babe_turk: Any) -> Any:
    """The local MTurk's shared clock: `now()`, `offset`, `advance("25h")`."""
    from babe_tasks.testing.localmturk import Clock

    return Clock(babe_turk)


@pytest.fixture
def babe_workers(babe_turk: Any, babe_clock: Any) -> Any:
    """Simulated workers: `work(workers=3, post_to=...)`, `accept`, `submit`, `return_assignment`, `complete(hit_id, took="5m")`."""
    from babe_tasks.testing.localmturk import Workers

    return Workers(babe_turk, babe_clock)


@pytest.fixture
def babe_backend(babe_env: BabeEnvironment) -> Iterator[Any]:
    """A fake _babe backend over HTTP on 127.0.0.1: `.url`, `.backend` (`add_experiment`, `submissions`, faults)."""
    from babe_tasks.testing.backend import serve_backend

    server, _ = serve_backend()
    yield server
    server.shutdown()


@pytest.fixture
def babe_webhook(babe_env: BabeEnvironment) -> Iterator[Any]:
    """A webhook receiver on 127.0.0.1: `.url` (secret path included), `.posts`, `.texts`, `.mode`, `wait_for(n)`."""
    from babe_tasks.testing.webhook import WebhookReceiver

    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def babe_postgres_server() -> Iterator[Any]:
    """The session's PostgreSQL server (one per xdist worker), stopped and removed at the session's end.

    Skips the tests that need it where PostgreSQL is not installed (the message says how to install
    it); under `CI=true` fails them, as CI is meant to have it.
    """
    from babe_tasks.testing.postgres import PostgresServer, PostgresUnavailable, in_ci

    try:
        server = PostgresServer().start()
    except PostgresUnavailable as missing:
        if in_ci():
            pytest.fail(f"{missing} (CI=true: the PostgreSQL tests must run)", pytrace=False)
        pytest.skip(str(missing))
    yield server
    server.stop()


@pytest.fixture
def babe_postgres(babe_postgres_server: Any) -> Iterator[Any]:
    """A fresh, empty database for this test: `.url` (`postgresql://babe:…@127.0.0.1:<port>/t_<n>`), `.name`, `.connect()`.

    Dropped after the test, whatever connections to it are still open.
    """
    database = babe_postgres_server.create_database()
    yield database
    babe_postgres_server.drop_database(database)
