"""The task collection, assembled fresh by `collection()` so a lab can extend it without side effects.

Root tasks: the lifecycle (`create`, `status`, `approve`, `expire`, `extend`), payments (`reject`,
`bonus`, `cost`), `results`, `doctor`, `watch`, `wait`, `assignments`, `demo`, `init`, `plugins`, and whatever `ROOT_MODULES`
lists; namespace `local` for the local MTurk. Every module listed here must stay import-light (no boto3,
httpx, rich at import time): `babe --list` imports them all.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from invoke import Collection, Task

#: Modules whose tasks go at the root of the collection, in `--list` order.
ROOT_MODULES = ("babe_tasks.tasks.lifecycle", "babe_tasks.tasks.payments", "babe_tasks.tasks.demo", "babe_tasks.tasks.init", "babe_tasks.tasks.plugins", "babe_tasks.tasks.results", "babe_tasks.tasks.doctor", "babe_tasks.tasks.watch", "babe_tasks.tasks.wait", "babe_tasks.tasks.report", "babe_tasks.tasks.assignments")
#: Modules that become a namespace of their own.
NAMESPACES = {"local": "babe_mturk.tasks"}


def collection() -> Collection:
    """A new collection of every babe task, configured with the settings' defaults (`babe:`)."""
    from ..settings import DEFAULTS

    ns = Collection()
    for module_name in ROOT_MODULES:
        for task in module_tasks(importlib.import_module(module_name)):
            ns.add_task(task)
    for name, module_name in NAMESPACES.items():
        ns.add_collection(Collection.from_module(importlib.import_module(module_name), name=name))
    ns.configure({"babe": {key: _copy(value) for key, value in DEFAULTS.items()}})
    return ns


def module_tasks(module: ModuleType) -> list[Task]:
    """The tasks defined in `module` itself (not ones it imported), in definition order."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, Task) and getattr(value.body, "__module__", None) == module.__name__
    ]


def _copy(value: object) -> object:
    return dict(value) if isinstance(value, dict) else value
