"""The experiment's completion code: drawn at random once, kept in the ledger, never derived.

A Prolific participant is credited by entering the study's completion code (or following the
page's `prolificURL`, which carries it). Anyone who knows the code can be credited without doing
the study, so it must not be computable from anything public — earlier versions used 8 hex digits
of sha256(experiment name), which anyone who saw the study's name could compute.

The code is drawn with `secrets` the first time anything needs it (`babe-prolific code`, `babe
doctor`, `babe create`) and kept in the experiment's ledger (`.babe/ledger.sqlite`, table
`prolific_completion_codes`, one row per experiment); every later run reads it back, so a
re-run of create, the page's prolificURL and doctor agree. It is one code per experiment, not
per study, because _babe's page has one `prolificURL` for all the experiment's studies: a code
per study would break the page at the second study. A configured `completion_code` wins.

An experiment from before codes were kept keeps its code, so its deployed page keeps crediting
people: when the ledger already lists Prolific studies of the experiment, the code is the one
Prolific holds for the newest of them (its `completion_codes`), else the old derived one; when the
page's `config_deploy.js` carries the old derived code, that code is kept too (the page was made
for it). `origin` records which of these happened; `babe-prolific code` says it, and says when
the kept code is the guessable derived one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from babe_tasks.errors import BabeError
from babe_tasks.ledger import CompletionCodes, Ledger, LedgerView

#: Letters and digits that cannot be misread for one another (no 0/O, 1/I/L): a lab may type it.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: 10 of 31 symbols: about 2^49 codes, far beyond guessing through Prolific's submission form.
LENGTH = 10

RANDOM, EARLIER_STUDY, DERIVED, PAGE, SETTING = "random", "earlier-study", "derived", "page", "setting"

@dataclass(frozen=True)
class Code:
    code: str
    #: How it was chosen: `random`, `earlier-study`, `derived`, `page`, or `setting` (not kept).
    origin: str

    def explain(self) -> str:
        """Why this code, in a few words a lab reads next to it."""
        return {
            RANDOM: "drawn at random for the experiment and kept in .babe/ledger.sqlite",
            EARLIER_STUDY: "the code the experiment's earlier studies carry on Prolific, kept so its page keeps working",
            DERIVED: "the name-derived code the experiment's studies carry, posted before codes were kept; anyone who "
            "knows the experiment's name can compute it: set completion_code to a new one and update the page",
            PAGE: "the name-derived code config_deploy.js already carries, kept so the page keeps working; anyone who "
            "knows the experiment's name can compute it: set completion_code to a new one and update the page",
            SETTING: "the completion_code setting",
        }[self.origin]


def random_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def derived_code(experiment: str) -> str:
    """The code earlier versions gave every experiment: only to recognise and keep it, never to make one."""
    return hashlib.sha256(experiment.encode()).hexdigest()[:8].upper()


class Codes(CompletionCodes):
    """The kept codes (the ledger's `CompletionCodes`, over a connection of their own), as `Code`s."""

    def get(self, experiment: str) -> Code | None:
        kept = super().get(experiment)
        return Code(*kept) if kept is not None else None

    def keep(self, experiment: str, code: Code) -> Code:
        """Keep `code` unless another run kept one first; the kept one either way (first writer wins)."""
        return Code(*super().keep(experiment, code.code, code.origin))

    def posted_studies(self, experiment: str, target: str | None = None) -> list[str]:
        """The experiment's Prolific studies in the ledger, newest first (on `target`, or anywhere)."""
        with LedgerView(self.path.parent.parent, url=self.url) as view:
            hits = view.hits(experiment, target, "prolific")
        return [hit.hit_id for hit in reversed(hits) if hit.hit_id]


def completion_code(settings: Any, experiment: str | None = None, *, client: Callable[[], Any] | None = None) -> Code:
    """The experiment's code: the setting, else the kept one, else chosen now and kept.

    An experiment whose ledger lists studies but keeps no code (an older version's, or a ledger
    rebuilt by `status --sync`) reads its newest study's code from Prolific through `client` (a
    callable answering a `ProlificClient`; default: a platform for the settings, built only then).
    When Prolific cannot be asked (no token, not reachable) it keeps the derived code, which is
    what an older version's studies carry unless a setting made them carry another.
    """
    from .config import load

    configured = load(settings).completion_code
    if configured:
        return Code(configured, SETTING)
    experiment = experiment or settings.experiment
    with Ledger.of(settings) as ledger, Codes(ledger) as codes:
        kept = codes.get(experiment)
        if kept is not None:
            return kept
        return codes.keep(experiment, _first(settings, experiment, codes, client))


def _first(settings: Any, experiment: str, codes: Codes, client: Callable[[], Any] | None) -> Code:
    """The code an experiment without a kept one gets: its earlier studies', its page's, or a new one."""
    if codes.posted_studies(experiment):
        for study_id in codes.posted_studies(experiment, settings.target)[:1]:
            found = _study_code(settings, client, study_id)
            if found:
                return Code(found, DERIVED if found == derived_code(experiment) else EARLIER_STUDY)
        return Code(derived_code(experiment), DERIVED)
    if page_code(settings.folder) == derived_code(experiment):
        return Code(derived_code(experiment), PAGE)
    return Code(random_code(), RANDOM)


def _study_code(settings: Any, client: Callable[[], Any] | None, study_id: str) -> str | None:
    """The COMPLETED code Prolific holds for a study (None when it cannot be asked or has none)."""
    platform = None
    try:
        if client is None:
            from .platform import ProlificPlatform

            platform = ProlificPlatform(settings)
            client = lambda: platform.client  # noqa: E731 - one of two ways to get a client, built only if used
        study = client().get(f"studies/{study_id}/") or {}
    except BabeError:
        return None
    finally:
        if platform is not None:
            platform.close()
    entries = [c for c in study.get("completion_codes") or [] if isinstance(c, dict) and c.get("code")]
    for entry in entries:
        if str(entry.get("code_type") or "").upper() == "COMPLETED":
            return str(entry["code"])
    return str(entries[0]["code"]) if entries else None


def page_code(folder: str | Path) -> str | None:
    """The `cc` of the page's prolificURL (config_deploy.js), or None."""
    from babe_tasks import deployconfig

    try:
        deploy = deployconfig.find(Path(folder))
    except (OSError, ValueError):
        return None
    url = getattr(deploy, "prolific_url", None) if deploy is not None else None
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("cc")
    return values[0] if values else None
