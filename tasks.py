"""The example an experiment folder copies: its whole tasks.py is the import below.

`invoke --list` then shows every babe task; `invoke create …` ≡ `babe create …`. A lab that wants
tasks of its own builds a fresh collection instead (`ns = babe_tasks.collection(); ns.add_task(t)`).
"""

from babe_tasks import ns  # noqa: F401
