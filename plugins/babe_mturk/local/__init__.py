"""The local MTurk: an implementation of the MTurk requester API (2017-01-17) that boto3, the AWS
CLI or any client cannot tell apart from Amazon for the behaviour the project depends on.

Ways in: `client(state=...)` gives a boto3 client served in-process; `babe local.serve` serves the
same state over HTTP. `LocalTurk` is the service itself, for tests and for the worker side.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LocalTurk", "client"]


def __getattr__(name: str) -> Any:
    if name == "LocalTurk":
        from babe_mturk.local.service import LocalTurk

        return LocalTurk
    raise AttributeError(name)


def client(state=None, *, turk=None, faults=None, retries: dict | None = None, **kwargs: Any):
    """A boto3 MTurk client whose calls are answered in-process by the local MTurk.

    Region and dummy credentials are set so it works on a machine with no AWS configuration: boto3
    raises NoRegionError / NoCredentialsError before any event handler could run otherwise.
    """
    import boto3
    from botocore.config import Config

    from babe_mturk.local.inprocess import INPROCESS_ENDPOINT, attach
    from babe_mturk.local.service import LocalTurk

    turk = turk or LocalTurk(state)
    if faults is None:
        from babe_mturk.local.faults import from_environment

        faults = from_environment()
    session = boto3.session.Session(
        aws_access_key_id="LOCALTURKLOCALTURK00", aws_secret_access_key="localturk", region_name="us-east-1"
    )
    config = Config(retries=retries or {"mode": "standard", "max_attempts": 5}, **kwargs)
    mturk = session.client("mturk", endpoint_url=INPROCESS_ENDPOINT, config=config)
    attach(mturk, turk, faults)
    mturk.localturk = turk  # type: ignore[attr-defined]
    return mturk
