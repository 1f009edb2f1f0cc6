"""`babe doctor`'s credentials check on MTurk: does AWS accept the credentials at all?

Asked of STS (GetCallerIdentity), not of MTurk: it is the one AWS call that answers for any valid
key, so "AWS refused the key" (exit 4) is told apart from "MTurk is not there" (the platform check
that follows, which after Amazon's closure of MTurk is the usual failure on sandbox and live).
The local MTurk checks no credentials: skipped there. The MTurk plugin answers `babe_doctor` with
this check (`babe_mturk.plugin`).
"""

from __future__ import annotations

from babe_tasks.steps.doctor import FAILED, OK, SKIPPED, Check

#: STS answers in every region; this one is where MTurk was.
STS_REGION = "us-east-1"
NAME = "credentials"


def credentials_check(settings) -> Check:
    """STS GetCallerIdentity with the run's profile: accepted (ok), absent (exit 2), refused or unreachable (exit 4)."""
    if settings.target not in ("sandbox", "live"):
        return Check(NAME, SKIPPED, f"no AWS credentials needed for target {settings.target}")
    import boto3
    import botocore.exceptions as bx
    from botocore.config import Config

    from babe_mturk.platform import AUTH_CODES, CLOSURE

    try:
        session = boto3.session.Session(profile_name=settings.profile, region_name=STS_REGION)
    except bx.ProfileNotFound:
        return Check(NAME, FAILED, f"AWS profile {settings.profile!r} is not configured (see ~/.aws/config)")
    if session.get_credentials() is None:
        return Check(
            NAME, FAILED, f"no AWS credentials for {settings.target}: set AWS_PROFILE or pass --profile; {CLOSURE}"
        )
    client = session.client("sts", config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2}))
    try:
        identity = client.get_caller_identity()
    except bx.ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code") or "error"
        why = "refused the credentials" if code in AUTH_CODES else "answered an error"
        return Check(NAME, FAILED, f"AWS STS {why} ({code}: {error.get('Message', '')})", exit_code=4)
    except (bx.BotoCoreError, OSError) as exc:
        return Check(NAME, FAILED, f"cannot reach AWS STS to check the credentials: {exc}", exit_code=4)
    return Check(NAME, OK, f"accepted by AWS STS: account {identity.get('Account')}, {identity.get('Arn')}")
