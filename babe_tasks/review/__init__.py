"""`babe review`: a page on 127.0.0.1 to look at each submission's data and decide on it.

The pieces, each one concept: `queue` (what awaits a decision, read once from the platform, the
ledger and the plugins), `decisions` (approve, reject, bonus through the very steps the CLI runs,
each behind a confirmation the server enforces), `server` (the WSGI app: token, Host, CSRF and
Origin checks, the page and its JSON API). The page itself is `static/`. Nothing here is imported
by `babe --list`: the task imports it in its body.
"""
