"""What a hook may ask of the run besides its own arguments: one `HookContext` per plugin manager.

Hooks used to receive only `settings`, so a plugin that needed the platform (an account balance,
another platform's fees) built a second plugin manager inside the hook, and a plugin that needed
the lab's money read the ledger's SQLite tables itself — coupling every plugin to a schema the
core changes. The context gives them one documented way in, built once per run
(`HookContext.for_run(pm, settings)`, as `pm.context`) and passed to every hook whose
implementation names an argument `context`:

- `settings` — the run's frozen `Settings` (the same object the hooks' `settings` argument is);
- `platform` — the run's platform object: the step's own while a step holds one
  (`use_platform`), else built on first use through the `babe_platform` hook (not connected:
  call `connect()` before a call that needs credentials) and closed with the context;
- `pricing` — the platform's fee rules and currency (`babe_tasks.money.Pricing`), and
  `pricing_for(name)` for a ledger row posted on another platform;
- `nouns` — what the platform calls a HIT, singular and plural (`("study", "studies")`);
- `ledger` — `babe_tasks.ledger.LedgerView`, the experiment folder's ledger read-only: HITs,
  assignments, payments, bonuses, extensions, completion codes, and money committed and spent
  by experiment, by day and in total (`LedgerView.money`);
- `watching` — True while `babe watch` runs steps in this process (the watch step wraps its
  loop in `with context.watch():`), so a plugin that messages every step can stay quiet and
  leave the news to `babe_milestone`.

Everything is lazy: a hook that never touches the platform or the ledger costs nothing.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from . import output

if TYPE_CHECKING:
    from .ledger import LedgerView
    from .money import Pricing
    from .platform import Platform
    from .settings import Settings

#: The platform whose fee rules need no platform object (`money.MTURK_PRICING`).
MTURK = "mturk"


class HookContext:
    """The run as a hook sees it: settings, platform, pricing, nouns, the ledger read-only, the watch.

    One per plugin manager; safe to share between a step's threads (lazy members are built once,
    under a lock). Plugins read it; only babe-tasks' own steps hand it a platform or start a watch.
    """

    def __init__(self, settings: Settings, pm: Any = None):
        self.settings = settings
        self._pm = pm
        self._lock = threading.RLock()
        self._platform: Platform | None = None
        self._built: Platform | None = None  # a platform this context built, and so closes
        self._closer: weakref.finalize | None = None
        self._building = False
        self._borrowed: list[Platform] = []
        self._ledger: LedgerView | None = None
        self._prices: dict[str, Pricing] = {}
        self._watches = 0

    @classmethod
    def for_run(cls, pm: Any, settings: Settings) -> HookContext:
        """The context of a run's plugin manager: what `babe_tasks.plugins.plugin_manager` sets as `pm.context`."""
        return cls(settings, pm)

    # -- the platform ---------------------------------------------------------------------------
    @property
    def platform(self) -> Platform:
        """The run's platform: the step's while it holds one, else built once through `babe_platform`.

        A `BabeError` (no plugin provides the platform, a misconfigured one) passes through, as it
        would from the step.
        """
        with self._lock:
            if self._borrowed:
                return self._borrowed[-1]
            if self._built is None:
                if self._pm is None:
                    raise RuntimeError("this HookContext has no plugin manager to build the platform with")
                if self._building:
                    raise RuntimeError("context.platform was asked for while babe_platform builds it: a babe_platform "
                                       "hook must build its platform from `settings`")
                from .plugins import get_platform

                self._building = True
                try:
                    self._built = get_platform(self._pm, self.settings)
                finally:
                    self._building = False
                # Closed by `close()`, or at the latest when the run's manager and context are gone.
                self._closer = weakref.finalize(self, self._built.close)
            return self._built

    @contextmanager
    def use_platform(self, platform: Platform) -> Iterator[Platform]:
        """Within the block, `platform` (the step's own, connected) is the context's platform.

        So a hook asking for the platform talks to the very object the step talks to — one set of
        credentials, one client, the local MTurk's in-process clock — instead of a second one.
        """
        with self._lock:
            self._borrowed.append(platform)
        try:
            yield platform
        finally:
            with self._lock:
                self._borrowed.remove(platform)

    @property
    def pricing(self) -> Pricing:
        """The run's platform's fee rules and currency (MTurk's without building a platform on MTurk)."""
        return self.pricing_for(getattr(self.settings, "platform", None) or MTURK)

    def pricing_for(self, platform: str | None) -> Pricing:
        """The fee rules of platform `platform` (a ledger row's `platform`), asked once per context.

        MTurk's are `money.MTURK_PRICING`; the run's platform answers through `platform`; another
        platform (a folder that moved from one platform to another) is built through its own
        plugin, closed again — reading its pricing may make a call (Prolific reads the account's
        rates). A `BabeError` says it cannot be priced.
        """
        from .money import MTURK_PRICING
        from .platform.base import pricing_of

        name = platform or MTURK
        with self._lock:
            if name not in self._prices:
                if name == (getattr(self.settings, "platform", None) or MTURK):
                    if name == MTURK and not self._borrowed and self._built is None:
                        self._prices[name] = MTURK_PRICING
                    else:
                        self._prices[name] = pricing_of(self.platform)
                elif name == MTURK:
                    self._prices[name] = MTURK_PRICING
                else:
                    self._prices[name] = _other_platform_pricing(self.settings, name)
            return self._prices[name]

    @property
    def nouns(self) -> tuple[str, str]:
        """What the platform calls a HIT (`("HIT", "HITs")` on MTurk); MTurk's words if it cannot be built."""
        from .errors import BabeError
        from .platform.base import capabilities_of

        if (getattr(self.settings, "platform", None) or MTURK) == MTURK and not self._borrowed and self._built is None:
            return output.MTURK_NOUNS  # the default words: no platform object needed for them
        try:
            return capabilities_of(self.platform).nouns
        except BabeError:
            return output.MTURK_NOUNS

    # -- the ledger -----------------------------------------------------------------------------
    @property
    def ledger(self) -> LedgerView:
        """The experiment folder's ledger, read-only (a folder without one reads as empty)."""
        with self._lock:
            if self._ledger is None:
                from .ledger import LedgerView

                self._ledger = LedgerView.of(self.settings)
            return self._ledger

    # -- the watch ------------------------------------------------------------------------------
    @property
    def watching(self) -> bool:
        """True while `babe watch` runs its steps with this context (inside `watch()`)."""
        return self._watches > 0

    @contextmanager
    def watch(self) -> Iterator[None]:
        """Mark the block as a watch: `watching` is True inside it (nested blocks count)."""
        with self._lock:
            self._watches += 1
        try:
            yield
        finally:
            with self._lock:
                self._watches -= 1

    # -- the end of the run ---------------------------------------------------------------------
    def close(self) -> None:
        """Close what the context opened itself: a platform it built, the ledger view. Idempotent."""
        with self._lock:
            closer, self._closer, self._built = self._closer, None, None
            ledger, self._ledger = self._ledger, None
        if ledger is not None:
            ledger.close()
        if closer is not None:
            closer()


def _other_platform_pricing(settings: Settings, name: str) -> Pricing:
    """The pricing of a platform the run is not on: built by its own plugin manager, quietly.

    Only the chosen platform's plugin is loaded in a run, so another platform needs a manager of
    its own; babe-tasks builds it here, once per context and platform, so no plugin has to.
    """
    from .platform.base import pricing_of
    from .plugins import get_platform, plugin_manager

    other = settings.replace(platform=name)
    pm = plugin_manager(other, warn=lambda _message: None)  # the run already printed its own warnings
    platform = get_platform(pm, other)
    try:
        return pricing_of(platform)
    finally:
        platform.close()
        context = getattr(pm, "context", None)
        if context is not None:
            context.close()
