"""Amazon Mechanical Turk as a babe platform, and the local MTurk that stands in for it.

- `plugin`: the hooks (the entry point `mturk` in group `babe_tasks.platforms`);
- `platform`: the adapter the steps talk to (`babe_tasks.platform.base`'s protocol) over boto3;
- `retries`: botocore's standard retry mode with the budget and back-off babe ships;
- `local`: the embedded local MTurk (`babe local.*`, the `tasks` namespace).

Importing this package imports nothing else: `babe --list` reads its task namespace.
"""
