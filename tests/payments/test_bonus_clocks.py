"""A bonus whose answer was lost is paid once, whatever the machine's and the platform's clocks say.

MTurk forgets a UniqueRequestToken 24 hours after it saw it, by its own clock; the ledger records
when the token was sent by the machine's. When the two are a day apart, the token's age measured
here says nothing about what MTurk remembers — a re-run that trusted it sent a forgotten token
and paid the same bonus twice (ListBonusPayments showed 2 × $1.00). The re-run asks MTurk first.

The platform's clock is the local MTurk's own (`babe local.clock --advance`); the machine's clock,
as the code reads it, is the platform's `now()` (in-process it adds the local clock's offset to the
machine's time; over HTTP to a live endpoint it is the machine's time alone). Only botocore's
back-off sleep is removed, so that every attempt lost costs no waiting: attempts stay the defaults.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from babe_tasks.ledger import Ledger
from babe_mturk.platform import MTurkPlatform

from .conftest import balance, bonuses_of, post_and_work

START = Decimal("10000.00")


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch):
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


def _sending(experiment) -> list:
    with Ledger(experiment) as ledger:
        return [b for b in ledger.bonuses("exp1", "local") + ledger.bonuses("exp1", "live") if b.status == "sending"]


def test_a_machine_clock_a_day_ahead_when_the_answer_was_lost_pays_once(babe, work, mturk, monkeypatch, experiment):
    """Sent with the machine's clock a day ahead; re-run a day later by MTurk's clock, with the clock
    corrected: the ledger's token looks an hour old, MTurk has forgotten it."""
    w = work[0]
    args = ("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "1.00", "--reason", "Skew", "--json")
    real_now = MTurkPlatform.now
    with monkeypatch.context() as patch:
        patch.setattr(MTurkPlatform, "now", lambda self: real_now(self) + timedelta(days=1))
        patch.setenv("BABE_LOCAL_FAULTS", "lost=1.0")  # MTurk pays; every answer is lost
        lost = babe(*args)
    assert lost.code == 1, lost
    assert balance(mturk) == START - Decimal("1.20") and len(bonuses_of(mturk, [w.assignment_id])) == 1
    assert len(_sending(experiment)) == 1
    assert babe("local.clock", "--advance", "25h").code == 0  # MTurk's clock: the token is forgotten
    rerun = babe(*args)
    assert rerun.code == 0, rerun
    assert len(rerun.json["paid"]) == 1  # the run that sent it reported it failed: this one reports it paid
    assert balance(mturk) == START - Decimal("1.20")
    assert [b["BonusAmount"] for b in bonuses_of(mturk, [w.assignment_id])] == ["1.00"]
    assert _sending(experiment) == []
    assert babe(*args).json["already_paid"][0]["assignment_id"] == w.assignment_id


def test_a_machine_clock_a_day_behind_the_platforms_pays_once(babe, experiment, turk, mturk, monkeypatch, state_path):
    """Live over HTTP: the code reads the machine's clock alone, MTurk (the local server) runs a day
    ahead of it. Nothing is faked but the lost answers."""
    from babe_mturk.local.faults import injector
    from babe_mturk.local.server import serve_in_thread

    server, url = serve_in_thread(str(state_path))
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLOCALTESTING0000")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
        live = ("--target", "live", "--endpoint-url", url, "--yes")
        w = post_and_work(babe, turk, 2, where=live)[0]
        args = ("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "1.00", "--reason", "Skew", "--json", *live)
        server.faults = injector("lost=1.0")
        lost = babe(*args)
        server.faults = None
        assert lost.code != 0, lost
        assert balance(mturk) == START - Decimal("1.20") and len(bonuses_of(mturk, [w.assignment_id])) == 1
        assert len(_sending(experiment)) == 1
        assert babe("local.clock", "--advance", "25h").code == 0  # only the platform's clock moves
        rerun = babe(*args)
        assert rerun.code == 0, rerun
        assert balance(mturk) == START - Decimal("1.20")
        assert [b["BonusAmount"] for b in bonuses_of(mturk, [w.assignment_id])] == ["1.00"]
        assert _sending(experiment) == []
    finally:
        server.shutdown()


def test_a_lost_send_that_never_paid_is_sent_again_after_looking(babe, work, mturk, monkeypatch, experiment):
    """The other side of asking first: the listing shows no payment, so the same token goes out
    again — at once, without waiting for any clock — and pays exactly once."""
    w = work[1]
    args = ("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "0.40", "--reason", "Dropped", "--json")
    with monkeypatch.context() as patch:
        patch.setenv("BABE_LOCAL_FAULTS", "drop=1.0")  # no request reaches MTurk
        assert babe(*args).code == 1
    assert balance(mturk) == START and bonuses_of(mturk, [w.assignment_id]) == []
    rerun = babe(*args)
    assert rerun.code == 0, rerun
    assert len(rerun.json["paid"]) == 1
    assert balance(mturk) == START - Decimal("0.48") and len(bonuses_of(mturk, [w.assignment_id])) == 1
