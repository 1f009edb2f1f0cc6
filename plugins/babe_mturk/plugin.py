"""The built-in plugin that offers Mechanical Turk as the platform (`babe.platform: mturk`).

It is an ordinary plugin on purpose: a lab's plugin offering another platform answers the same
`babe_platform` hook, and the steps cannot tell the difference.
"""

from __future__ import annotations

from babe_tasks.plugins import hookimpl


@hookimpl
def babe_platform(settings):
    if settings.platform != "mturk":
        return None
    from babe_mturk.platform import MTurkPlatform

    return MTurkPlatform(settings)


@hookimpl
def babe_doctor(settings):
    """Doctor's credentials check: whether AWS accepts the run's credentials (STS), before MTurk is asked."""
    if settings.platform != "mturk":
        return None
    from babe_mturk.doctor import credentials_check

    return [credentials_check(settings)]
