"""Amazon Mechanical Turk as a babe platform, and the local MTurk that stands in for it.

- `plugin`: the hooks (the entry point `mturk` in group `babe_tasks.platforms`);
- `platform`: the adapter the steps talk to (`babe_tasks.platform.base`'s protocol) over boto3;
- `retries`: botocore's standard retry mode with the budget and back-off babe ships;
- `exclusion`: how MTurk keeps people out (the experiment's qualification types);
- `notifications`: MTurk's events for `babe watch --queue` (SQS, UpdateNotificationSettings);
- `doctor`: the AWS STS credentials check `babe doctor` runs (the `babe_doctor` hook);
- `tasks`: the `local.*` task namespace (entry point group `babe_tasks.namespaces`);
- `local`: the embedded local MTurk.

Importing this package imports nothing else: `babe --list` reads its task namespace.
"""
