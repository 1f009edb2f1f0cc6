"""The task collection, assembled fresh by `collection()` so a lab can extend it without side effects.

Root tasks: the lifecycle (`create`, `status`, `approve`, `expire`, `extend`), payments (`reject`,
`bonus`, `cost`), `results`, `doctor`, `watch`, `wait`, `assignments`, `lab`, `review`, `demo`, `init`, `plugins`, and whatever `ROOT_MODULES`
lists. Namespaces come from installed packages (entry-point group `babe_tasks.namespaces`, see
`namespaces`): `local` is babe_mturk's local MTurk. Every module listed here or named by a namespace
must stay import-light (no pluggy, boto3, httpx, rich at import time): `babe --list` imports them all.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from invoke import Collection, Task

from .namespaces import declared

#: Modules whose tasks go at the root of the collection, in `--list` order.
#: Namespaces babe itself provides (`babe ledger.migrate`), before the installed packages' ones.
BUILTIN_NAMESPACES = {"ledger": "babe_tasks.tasks.ledger"}
ROOT_MODULES = ("babe_tasks.tasks.lifecycle", "babe_tasks.tasks.payments", "babe_tasks.tasks.demo", "babe_tasks.tasks.init", "babe_tasks.tasks.plugins", "babe_tasks.tasks.results", "babe_tasks.tasks.doctor", "babe_tasks.tasks.watch", "babe_tasks.tasks.wait", "babe_tasks.tasks.report", "babe_tasks.tasks.assignments", "babe_tasks.tasks.lab", "babe_tasks.tasks.review")


def collection() -> Collection:
    """A new collection of every babe task, configured with the settings' defaults (`babe:`)."""
    from ..settings import DEFAULTS

    ns = Collection()
    for module_name in ROOT_MODULES:
        for task in module_tasks(importlib.import_module(module_name)):
            ns.add_task(task)
    for name, module_name in BUILTIN_NAMESPACES.items():
        ns.add_collection(Collection.from_module(importlib.import_module(module_name), name=name), name=name)
    for name, target in declared().items():
        namespace = _namespace(ns, name, target)
        if namespace is not None:
            ns.add_collection(namespace, name=name)
    ns.configure({"babe": {key: _copy(value) for key, value in DEFAULTS.items()}})
    return ns


def _namespace(ns: Collection, name: str, target: str) -> Collection | None:
    """The collection an installed package contributes as `name`, or None (with a warning on
    stderr) when it clashes with a task or namespace already there or fails to load: one broken
    package must not take every other command down with it."""
    if name in ns.tasks or name in ns.collections:
        print(f"warning: task namespace {name!r} ({target}) is skipped: the name is taken", file=sys.stderr)
        return None
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        if not attribute:
            return Collection.from_module(module, name=name)
        found = getattr(module, attribute)
        if not isinstance(found, Collection):
            raise TypeError(f"{attribute} is a {type(found).__name__}, not an invoke Collection")
        return found
    except Exception as exc:  # noqa: BLE001 - whatever a third-party package raises, named in the warning
        print(f"warning: task namespace {name!r} ({target}) failed to load: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def module_tasks(module: ModuleType) -> list[Task]:
    """The tasks defined in `module` itself (not ones it imported), in definition order."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, Task) and getattr(value.body, "__module__", None) == module.__name__
    ]


def _copy(value: object) -> object:
    return dict(value) if isinstance(value, dict) else value
