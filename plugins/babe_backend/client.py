"""Every request to the _babe backend, and what each failure means to the lab, in one line.

| what happened | exit | why that code |
|---|---|---|
| unknown experiment (404) | 2 | experimentID / serverAppURL are configuration |
| inactive, or no dynamic retrieval keys (403) and a CSV route that needs a password | 2 | a setting on the backend to change |
| password refused (401) | 4 | credentials refused, as for the platform |
| no answer in time, connection refused, 5xx | 4 | the backend is unreachable or broken |
| an answer that is not the results table | 1 | nothing written; try again once the backend is fixed |

The password goes into the request's Authorization header only: it is in no URL, no message and
no exception text, so neither `--json` nor `BABE_DEBUG=1` tracebacks can show it.
"""

from __future__ import annotations

from typing import Any

from babe_tasks.errors import PlatformError, UsageError

from . import table as tables
from .config import PASSWORD_ENV, SECTION, USER_ENV, BackendConfig, redact

CHECK = "/api/check_experiment/{id}"
RETRIEVE_JSON = "/api/retrieve_experiment/{id}"
RETRIEVE_CSV = "/experiments/{id}/retrieve"


def check(config: BackendConfig) -> str:
    """`active`, `inactive` or `unknown`, as `GET /api/check_experiment/<id>` says."""
    experiment_id, _ = config.require()
    response = _get(config, CHECK.format(id=experiment_id))
    if response.status_code == 200:
        return "active"
    if response.status_code == 403:
        return "inactive"
    if response.status_code == 404:
        return "unknown"
    raise _unexpected(config, response, CHECK)


def fetch(config: BackendConfig) -> tuple[tables.Table, str]:
    """The experiment's results table and the route it came by (`csv` with a password, else `json`).

    Without a password and without retrieval keys, a backend whose CSV route is open (no
    AUTH_PASSWORD on the server) is read through that route (`fetch_json` falls back to it).
    """
    if config.password:
        return fetch_csv(config), "csv"
    return fetch_json(config), "json"


def fetch_csv(config: BackendConfig) -> tables.Table:
    """`GET /experiments/<id>/retrieve` with HTTP Basic auth: the full results as CSV."""
    experiment_id, _ = config.require()
    if not config.user:
        raise UsageError(
            f"{PASSWORD_ENV} is set but no user name: set {USER_ENV} (the backend's AUTH_USERNAME) or {SECTION}.user"
        )
    route = RETRIEVE_CSV.format(id=experiment_id)
    response = _get(config, route, auth=(config.user, config.password or ""))
    where = f"the backend's {route}"
    if response.status_code == 401:
        raise PlatformError(
            f"the backend {config.shown_base_url} refused user {config.user!r} with the password in {PASSWORD_ENV} "
            f"(401): check both against the server's AUTH_USERNAME / AUTH_PASSWORD"
        )
    if response.status_code == 404:
        raise UsageError(_unknown(config))
    if response.status_code == 403:
        raise UsageError(f"the backend {config.shown_base_url} refuses {route} (403): {_inactive_hint(config)}")
    if response.status_code != 200:
        raise _unexpected(config, response, RETRIEVE_CSV)
    content_type = response.headers.get("content-type", "").lower()
    if "html" in content_type:
        raise tables.MalformedData(
            f"{where} answered an HTML page, not CSV (a login page in front of the route?); nothing was written"
        )
    try:
        text = response.content.decode("utf-8")
    except UnicodeDecodeError:
        raise tables.MalformedData(f"{where} answered bytes that are not UTF-8 text; nothing was written") from None
    return tables.from_csv(text, where)


def fetch_json(config: BackendConfig) -> tables.Table:
    """`GET /api/retrieve_experiment/<id>`: the dynamic retrieval keys of every submission, as a table."""
    experiment_id, _ = config.require()
    route = RETRIEVE_JSON.format(id=experiment_id)
    response = _get(config, route)
    if response.status_code == 404:
        # 404 means "unknown experiment" or "no submissions yet": the check route tells them apart.
        if check(config) == "unknown":
            raise UsageError(_unknown(config))
        return tables.Table([], [])
    if response.status_code == 403:
        if check(config) == "inactive":
            raise UsageError(f"experiment {experiment_id} is inactive on {config.shown_base_url} (403): {_inactive_hint(config)}")
        open_csv = _open_csv(config)
        if open_csv is not None:
            return open_csv
        raise UsageError(
            f"experiment {experiment_id} on {config.shown_base_url} has no dynamic retrieval keys (403): add them in "
            f"the backend (assignment_id, worker_id, hit_id and the trial fields), or set {USER_ENV} and "
            f"{PASSWORD_ENV} to download the full CSV"
        )
    if response.status_code != 200:
        raise _unexpected(config, response, RETRIEVE_JSON)
    try:
        document = response.json()
    except ValueError:
        raise tables.MalformedData(f"the backend's {route} answered something that is not JSON; nothing was written") from None
    return tables.from_json(document, f"the backend's {route}")


def _open_csv(config: BackendConfig) -> tables.Table | None:
    """The full CSV from a backend whose browser routes need no password, else None.

    A server started without AUTH_PASSWORD (`babe local.backend` without `--password-env`, a lab's
    own test server) serves `/experiments/<id>/retrieve` to anyone; an experiment without dynamic
    retrieval keys then still has its data one route away, and asking the lab for a password the
    server does not have would be wrong advice.
    """
    route = RETRIEVE_CSV.format(id=config.experiment_id)
    response = _get(config, route)
    if response.status_code != 200 or "csv" not in response.headers.get("content-type", "").lower():
        return None
    try:
        text = response.content.decode("utf-8")
    except UnicodeDecodeError:
        raise tables.MalformedData(f"the backend's {route} answered bytes that are not UTF-8 text; nothing was written") from None
    return tables.from_csv(text, f"the backend's {route}")


# -- plumbing ------------------------------------------------------------------------------------
def _get(config: BackendConfig, route: str, auth: tuple[str, str] | None = None) -> Any:
    """One GET; transport failures become PlatformError (exit 4) naming the backend, never the password."""
    import httpx

    _, base = config.require()
    try:
        return httpx.get(base + route, auth=auth, timeout=config.timeout, follow_redirects=False)
    except httpx.TimeoutException:
        raise PlatformError(
            f"the backend {config.shown_base_url} did not answer {route} within {config.timeout:g}s: try again, "
            f"or raise {SECTION}.timeout"
        ) from None
    except httpx.HTTPError as exc:
        reason = type(exc).__name__
        detail = str(exc).replace(config.password, "***") if config.password else str(exc)
        raise PlatformError(
            f"cannot reach the backend {config.shown_base_url} ({reason}: {detail or 'no answer'}): check "
            f"serverAppURL ({config.where('server_app_url')}) and that the backend is running"
        ) from None


def _unknown(config: BackendConfig) -> str:
    return (
        f"experiment {config.experiment_id} does not exist on {config.shown_base_url} (404): check experimentID "
        f"({config.where('experiment_id')}) and serverAppURL ({config.where('server_app_url')})"
    )


def _inactive_hint(config: BackendConfig) -> str:
    return f"activate the experiment in the backend ({config.shown_base_url}/experiments/{config.experiment_id}/toggle)"


def _unexpected(config: BackendConfig, response: Any, route: str) -> PlatformError:
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        return PlatformError(
            f"the backend {config.shown_base_url} redirected {route} ({status}) to {redact(location)[:80]}: check serverAppURL "
            f"({config.where('server_app_url')})"
        )
    return PlatformError(f"the backend {config.shown_base_url} answered {route} with HTTP {status}: try again later")
