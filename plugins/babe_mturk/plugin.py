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
