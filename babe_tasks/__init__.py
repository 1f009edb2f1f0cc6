"""babe-tasks: take a _babe/magpie experiment to paid participants and back.

Kept import-light on purpose: `babe --list` and `invoke --list` import this package, and must
not pay for boto3. Heavy modules are imported inside the functions that need them.
"""

__version__ = "0.1.0"
