"""doctor: everything that would spoil a run, checked at once, before a cent is spent.

The built-in checks, in the order a run would meet them:

| check | what | fails with |
|---|---|---|
| `settings` | the settings validated (they are, or the run stopped already) | — |
| `create settings` | `create` would have what it needs (missing values from the experiment's last create in the ledger: `steps.remembered`), and what its plan costs | exit 2 |
| `plugins` | every plugin found was loaded | exit 2 |
| (plugins' own) | what each plugin's `babe_doctor` answers; the platform plugin's `credentials` check among them (MTurk: on sandbox/live AWS STS GetCallerIdentity accepts the credentials) | exit 2 none, 4 refused/unreachable |
| `platform` | the target answers its balance request (MTurk: GetAccountBalance), through the platform's own error translation | exit 4 (2 without credentials) |
| `balance` | the balance covers what `create` would cost | exit 2 |
| `ledger` | SQLite: the folder's file and its schema version; PostgreSQL (`ledger_url`): connects within 5 s, its schema version against this babe's, the member rows will name (docs/lab.md) | exit 2 too new, 4 unreachable |

then every plugin's `babe_preflight` (one check per problem it reports; a plugin that crashes
there fails its check). Doctor makes no spending call and changes nothing. It exits 0 only when
every check passed (skipped ones do not count against it); else 4 when the platform or a service
checking the credentials could not be reached or refused them, else 2.

What is asked of a platform is the platform's to say: its credentials check is a hook of its
plugin (`babe_doctor`), its name for people is `capabilities.title` ("with MTurk's fees"), and
what its balance call is called its `balance_request` ("GetAccountBalance").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .. import money, output
from ..errors import BabeError, PlatformError, UsageError
from ..plugins import collect, get_platform

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
#: What the platform check says was asked, for a platform that names no `balance_request`.
BALANCE_REQUEST = "the balance request"


@dataclass
class Check:
    """One line of the checklist; plugins make them too (`babe_doctor`)."""

    name: str
    status: str
    detail: str
    #: The exit code this failure stands for (2 configuration, 4 platform or credentials).
    exit_code: int = 2
    plugin: str | None = None

    def as_json(self) -> dict:
        return {"check": self.name, "status": self.status, "detail": self.detail, "plugin": self.plugin}


@dataclass
class DoctorResult:
    experiment: str
    target: str
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status == FAILED]

    @property
    def exit_code(self) -> int:
        failed = self.failed
        if not failed:
            return 0
        return 4 if any(check.exit_code == 4 for check in failed) else 2

    def summary(self) -> str:
        """One line for stderr: the first failure behind the exit code, and how many more there are."""
        failed = self.failed
        if not failed:
            return f"all {len(self.checks)} checks passed"
        first = next(check for check in failed if check.exit_code == self.exit_code)
        more = f" (and {len(failed) - 1} more failed check{'s' if len(failed) > 2 else ''})" if len(failed) > 1 else ""
        return f"{first.name}: {first.detail}{more}"

    def as_json(self) -> dict:
        return {
            "ok": not self.failed,
            "experiment": self.experiment,
            "target": self.target,
            "checks": [check.as_json() for check in self.checks],
        }

    def add(self, name: str, status: str, detail: str, exit_code: int = 2, plugin: str | None = None) -> Check:
        check = Check(name, status, detail, exit_code, plugin)
        self.checks.append(check)
        return check


def run(settings, pm) -> DoctorResult:
    """Run every check; never raises for a failed check (each is recorded with its exit code)."""
    from . import remembered

    result = DoctorResult(settings.experiment, settings.target)
    result.add(
        "settings", OK, f"experiment {settings.experiment}, target {settings.target}, platform {settings.platform}"
    )
    pricing, nouns, title = _words(settings, pm)
    settings, filled, created_at = remembered.fill(settings)
    cost = _plan(settings, result, pricing, nouns, remembered.source_note(filled, created_at), title)
    _plugins(pm, result)
    _plugin_checks(settings, pm, result)
    balance = _platform(settings, pm, result)
    _balance(balance, cost, result, pricing)
    _ledger(settings, result)
    _preflight(settings, pm, result)
    return result


def _words(settings, pm) -> tuple[Any, tuple[str, str], str]:
    """The platform's fee rules, what it calls a HIT and its name for people, for the plan check,
    from the platform built (not connected); MTurk's rules and words and the settings' platform
    name when it cannot be built (the platform check then says why)."""
    from ..platform.base import capabilities_of, pricing_of

    try:
        platform = get_platform(pm, settings)
    except BabeError:
        return money.MTURK_PRICING, output.MTURK_NOUNS, settings.platform
    try:
        flags = capabilities_of(platform)
        return pricing_of(platform), tuple(flags.nouns), flags.title
    except BabeError:
        return money.MTURK_PRICING, output.MTURK_NOUNS, settings.platform
    finally:
        platform.close()


def _plan(
    settings,
    result: DoctorResult,
    pricing=money.MTURK_PRICING,
    nouns=output.MTURK_NOUNS,
    remembered: str = "",
    title: str = "MTurk",
) -> Decimal | None:
    """Whether create has what it needs, and its cost; `remembered` says which values came from the ledger."""
    from ..planning import make_plan

    try:
        plan = make_plan(settings, pricing, nouns)
        plan.validate(settings)
    except UsageError as exc:
        result.add("create settings", FAILED, str(exc))
        return None
    sizes = ", ".join(str(hit.assignments) for hit in plan.hits)
    result.add(
        "create settings",
        OK,
        f"{plan.assignments} assignments in {output.count(len(plan.hits), nouns, hedged=False)} ({sizes}) at "
        f"{money.shown(plan.reward, pricing)}: {money.shown(plan.cost.total, pricing)} with {title}'s fees"
        + (f"; {remembered}" if remembered else ""),
    )
    return plan.cost.total


def _plugins(pm, result: DoctorResult) -> None:
    loaded = [info.name for info in pm.infos if info.status == "loaded"]
    if pm.warnings:
        result.add("plugins", FAILED, "; ".join(pm.warnings))
    else:
        result.add("plugins", OK, f"{len(loaded)} loaded: {', '.join(loaded)}")


def _plugin_checks(settings, pm, result: DoctorResult) -> None:
    """The plugins' own checks (`babe_doctor`): the platform plugin's credentials check among them.

    A platform whose plugin checks no credentials gets a skipped line saying so, as doctor always
    said for a platform without AWS keys; a plugin that crashes fails its own check.
    """
    crashes: list[str] = []
    answers = collect(pm, "babe_doctor", warn=crashes.append, settings=settings)
    for plugin, checks in answers:
        for check in checks if isinstance(checks, (list, tuple)) else [checks]:
            if isinstance(check, Check):
                result.checks.append(check)
            else:
                result.add(plugin, FAILED, f"babe_doctor returned {type(check).__name__}, not a Check", plugin=plugin)
    crashed = set()
    for message in crashes:
        name = message.split(" ", 2)[1] if message.startswith("plugin ") else "plugin"
        crashed.add(name)
        result.add(name, FAILED, message, plugin=name)
    # A platform plugin is registered under the platform's name (entry-point group babe_tasks.platforms).
    if settings.platform not in crashed and not any(check.name == "credentials" for check in result.checks):
        result.add("credentials", SKIPPED, f"no AWS credentials needed for platform {settings.platform}")


def _platform(settings, pm, result: DoctorResult) -> Decimal | None:
    """GetAccountBalance through the platform: reachable, credentials accepted, and the balance."""
    platform = None
    try:
        platform = get_platform(pm, settings)
        platform.connect()
        balance = platform.balance()
    except BabeError as exc:
        code = 2 if isinstance(exc, UsageError) else 4
        result.add("platform", FAILED, str(exc), exit_code=code, plugin=exc.plugin)
        return None
    finally:
        if platform is not None:
            platform.close()
    asked = getattr(platform, "balance_request", None) or BALANCE_REQUEST
    result.add("platform", OK, f"{platform.name} on {settings.target} answered {asked} ({platform.location})")
    return balance


def _balance(balance: Decimal | None, cost: Decimal | None, result: DoctorResult, pricing=money.MTURK_PRICING) -> None:
    def shown(value: Decimal) -> str:
        return money.shown(value, pricing)

    if balance is None:
        result.add("balance", SKIPPED, "unknown: the platform did not answer")
    elif cost is None:
        result.add("balance", OK, f"{shown(balance)} available")
    elif balance < cost:
        result.add(
            "balance",
            FAILED,
            f"{shown(balance)} available, less than the {shown(cost)} create would cost: add funds, or "
            "post fewer assignments",
        )
    else:
        result.add("balance", OK, f"{shown(balance)} available, enough for create's {shown(cost)}")


def _ledger(settings, result: DoctorResult) -> None:
    """Where the ledger is, that it can be read, and its schema version against this babe's.

    Read-only: doctor never creates, migrates nor locks it (the first command that writes does,
    or `babe ledger.migrate`)."""
    from .. import ledgerdb
    from ..ledgerdb_migrations import SCHEMA_VERSION, version

    url = getattr(settings, "ledger_url", None)
    member = getattr(settings, "member", None) or ledgerdb.os_member()
    if not url:
        path = ledgerdb.sqlite_path(settings.folder)
        if not path.is_file():
            result.add("ledger", OK, f"none yet: the first create makes {path} (schema version {SCHEMA_VERSION})")
            return
    try:
        db = ledgerdb.connect(settings.folder, url, 5, read_only=True)
    except ledgerdb.LedgerUnreachable as exc:
        result.add("ledger", FAILED, str(exc), exit_code=4)
        return
    except BabeError as exc:
        result.add("ledger", FAILED, str(exc), exit_code=exc.exit_code if exc.exit_code in (2, 4) else 2)
        return
    except Exception as exc:  # noqa: BLE001 - an unreadable SQLite file, said in one line
        result.add("ledger", FAILED, f"{ledgerdb.sqlite_path(settings.folder)} cannot be read ({exc}); repair or move it")
        return
    try:
        found = version(db)
    except db.errors as exc:
        result.add("ledger", FAILED, f"{db.where} cannot be read ({ledgerdb.scrub(str(exc), url)})", exit_code=4 if url else 2)
        return
    finally:
        db.close()
    where = f"{db.where} (PostgreSQL, as member {member})" if url else str(db.where)
    if found > SCHEMA_VERSION:
        result.add(
            "ledger", FAILED, f"{where} is at schema version {found}, newer than this babe's {SCHEMA_VERSION}: upgrade babe-tasks"
        )
    elif found < SCHEMA_VERSION:
        result.add(
            "ledger", OK, f"{where}: schema version {found}, migrated to {SCHEMA_VERSION} on first use (or: babe ledger.migrate)"
        )
    else:
        result.add("ledger", OK, f"{where}: schema version {found}")


def _preflight(settings, pm, result: DoctorResult) -> None:
    """One check per plugin problem; a plugin that crashes fails its own check, the others still run."""
    crashes: list[str] = []
    answers = collect(pm, "babe_preflight", warn=crashes.append, settings=settings)
    for plugin, problems in answers:
        if isinstance(problems, str):
            problems = [problems]
        if not isinstance(problems, (list, tuple)):
            result.add(plugin, FAILED, f"babe_preflight returned {type(problems).__name__}, not a list of problems", plugin=plugin)
            continue
        if not problems:
            result.add(plugin, OK, "no problems found", plugin=plugin)
        for problem in problems:
            result.add(plugin, FAILED, str(problem), plugin=plugin)
    for message in crashes:
        name = message.split(" ", 2)[1] if message.startswith("plugin ") else "plugin"
        result.add(name, FAILED, message, plugin=name)


def exit_error(result: DoctorResult) -> BabeError:
    """The error a failed doctor ends with: its exit code and the first failure, one line."""
    return PlatformError(result.summary()) if result.exit_code == 4 else UsageError(result.summary())


def as_document(result: DoctorResult) -> dict[str, Any]:
    """The `--json` document: the checklist, and on failure the `error` member (docs/cli.md, "JSON") beside it."""
    document = result.as_json()
    if result.failed:
        document = {"error": exit_error(result).document()["error"], **document}
    return document
