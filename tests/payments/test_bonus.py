"""`babe bonus`: every payment exactly once — re-runs, 25-hour clock jumps, lost answers, crashes.

Everything runs through the real `babe` program against the local MTurk; what was paid is read
back from MTurk itself (ListBonusPayments, GetAccountBalance), not from our own output.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from babe_tasks.ledger import Ledger
from babe_tasks.steps.bonus import bonus_token

from .conftest import balance, bonuses_of, write_csv

START = Decimal("10000.00")


def test_one_payment_is_paid_with_its_fee_and_recorded(babe, work, mturk, experiment):
    w = work[0]
    run = babe("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "1.50",
               "--reason", "Thanks for the careful answers", "--json")
    assert run.code == 0, run
    token = bonus_token("exp1", w.worker_id, w.assignment_id, Decimal("1.50"), "Thanks for the careful answers")
    assert run.json == {
        "paid": [{
            "worker_id": w.worker_id, "assignment_id": w.assignment_id, "hit_id": w.hit_id, "amount": "1.50",
            "fee": "0.30", "reason": "Thanks for the careful answers", "token": token,
        }],
        "already_paid": [],
        "failed": [],
        "total": "1.80",
    }
    assert len(token) == 64
    assert balance(mturk) == START - Decimal("1.80")
    [listed] = bonuses_of(mturk, [w.assignment_id])
    assert (listed["WorkerId"], listed["BonusAmount"], listed["Reason"]) == (w.worker_id, "1.50", "Thanks for the careful answers")
    with Ledger(experiment) as ledger:
        [record] = ledger.bonuses("exp1", "local")
        assert (record.token, record.status, record.amount, record.fee) == (token, "paid", Decimal("1.50"), Decimal("0.30"))
        assert ledger.payment_totals("exp1", "local")["bonus"] == Decimal("1.50")
        assert ledger.spent([w.hit_id]) == Decimal("1.80")  # `babe status` counts bonuses as spent


def test_the_same_command_again_pays_nothing(babe, work, mturk, experiment):
    rows = [(w.worker_id, w.assignment_id, "0.04", "Bonus for accuracy, round 1") for w in work]
    path = write_csv(experiment, rows)
    first = babe("bonus", "--csv", str(path), "--json")
    assert first.code == 0, first
    assert len(first.json["paid"]) == 6 and first.json["total"] == "0.30"  # 6 × (0.04 + the $0.01 minimum fee)
    after_first = balance(mturk)
    assert after_first == START - Decimal("0.30")
    again = babe("bonus", "--csv", str(path), "--json")
    assert again.code == 0, again
    assert again.json["paid"] == [] and again.json["total"] == "0.00"
    assert [p["assignment_id"] for p in again.json["already_paid"]] == [w.assignment_id for w in work]
    assert balance(mturk) == after_first
    assert len(bonuses_of(mturk, [w.assignment_id for w in work])) == 6
    text = babe("bonus", "--csv", str(path))
    assert text.code == 0
    assert "Paid nothing now." in text.out and "Already paid 6" in text.out


def test_the_total_with_fees_is_shown_before_paying(babe, work, experiment):
    path = write_csv(experiment, [(w.worker_id, w.assignment_id, "1.00", "Well done") for w in work[:3]])
    run = babe("bonus", "--csv", str(path))
    assert run.code == 0, run
    plan, result = run.out.index("total       $3.60"), run.out.index("Paid 3 bonus(es): $3.60 with fees.")
    assert plan < result
    assert "MTurk fee   20%, at least $0.01 per payment = $0.60" in run.out
    as_json = babe("bonus", "--csv", str(path), "--pay-again", "--json")
    assert "total       $3.60" in as_json.err  # with --json the plan goes to stderr, stdout stays one document
    assert as_json.json["total"] == "3.60"


def test_paid_once_across_a_25_hour_clock_jump_unless_asked_again(babe, work, mturk, experiment):
    w = work[1]
    args = ("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "2.00", "--reason", "Extra round")
    assert babe(*args).code == 0
    assert babe("local.clock", "--advance", "25h").code == 0  # MTurk has forgotten the token now
    later = babe(*args, "--json")
    assert later.code == 0, later
    assert later.json["paid"] == [] and len(later.json["already_paid"]) == 1
    assert balance(mturk) == START - Decimal("2.40")
    assert len(bonuses_of(mturk, [w.assignment_id])) == 1
    deliberate = babe(*args, "--pay-again", "--json")
    assert deliberate.code == 0, deliberate
    [paid] = deliberate.json["paid"]
    assert paid["token"] != later.json["already_paid"][0]["token"]
    assert balance(mturk) == START - Decimal("4.80")
    assert len(bonuses_of(mturk, [w.assignment_id])) == 2
    assert babe(*args, "--json").json["paid"] == []  # without --pay-again: nothing more


def test_a_lost_answer_is_retried_and_paid_once(babe, work, mturk, monkeypatch):
    """The first SendBonus is carried out but its answer is lost; botocore's retry hears "already processed"."""
    w = work[2]
    # seed 1 draws 0.134 then 0.847: the first request's answer is lost, the retry goes through.
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "lost=0.5,seed=1")
    run = babe("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "3.00",
               "--reason", "Lost and found", "--json")
    monkeypatch.delenv("BABE_LOCAL_FAULTS")
    assert run.code == 0, run
    assert len(run.json["paid"]) == 1 and run.json["already_paid"] == []  # this run paid it
    assert balance(mturk) == START - Decimal("3.60")
    assert len(bonuses_of(mturk, [w.assignment_id])) == 1


def test_every_answer_lost_fails_then_the_rerun_pays_nothing_more(babe, work, mturk, monkeypatch, experiment):
    w = work[3]
    args = ("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "1.00", "--reason", "r", "--json")
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "lost=1.0")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    failed = babe(*args)
    monkeypatch.delenv("BABE_LOCAL_FAULTS")
    assert failed.code == 1, failed
    assert failed.json["paid"] == [] and failed.json["failed"][0]["assignment_id"] == w.assignment_id
    assert "run the same command again" in failed.err
    assert balance(mturk) == START - Decimal("1.20")  # MTurk did pay: only the answers were lost
    with Ledger(experiment) as ledger:
        assert [b.status for b in ledger.bonuses("exp1", "local")] == ["sending"]
    rerun = babe(*args)
    assert rerun.code == 0, rerun
    assert len(rerun.json["paid"]) == 1  # the earlier run reported it failed: this one reports it paid
    assert balance(mturk) == START - Decimal("1.20")
    assert len(bonuses_of(mturk, [w.assignment_id])) == 1


@pytest.mark.parametrize("clock_jump", [False, True], ids=["within-24h", "after-25h"])
def test_a_crash_between_the_call_and_the_record_still_pays_once(babe, work, mturk, monkeypatch, experiment, clock_jump):
    """The run dies after MTurk paid and before the ledger says so; the next run finishes it.

    Within 24 hours the same token is sent again (MTurk: already processed); after 25 hours MTurk
    has forgotten the token, so ListBonusPayments is read first and nothing is sent.
    """
    w = work[4]
    args = ("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "0.75", "--reason", "Crash test", "--json")

    def crash(self, token):
        raise RuntimeError("power cut")

    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "bonus_paid", crash)
        died = babe(*args)
    assert died.code == 1 and "internal error: RuntimeError: power cut" in died.err
    assert balance(mturk) == START - Decimal("0.90")
    with Ledger(experiment) as ledger:
        [record] = ledger.bonuses("exp1", "local")
        assert record.status == "sending"
    if clock_jump:
        assert babe("local.clock", "--advance", "25h").code == 0
    rerun = babe(*args)
    assert rerun.code == 0, rerun
    assert len(rerun.json["paid"]) == 1
    assert balance(mturk) == START - Decimal("0.90")
    assert len(bonuses_of(mturk, [w.assignment_id])) == 1
    with Ledger(experiment) as ledger:
        assert [b.status for b in ledger.bonuses("exp1", "local")] == ["paid"]
    assert babe(*args).json["already_paid"][0]["token"] == record.token


def test_a_call_that_never_arrived_is_paid_after_25_hours(babe, work, mturk, monkeypatch, experiment):
    """Every connection dropped: nothing was paid. After MTurk forgot the token, the re-run looks, then pays."""
    w = work[5]
    args = ("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "0.40", "--reason", "Dropped", "--json")
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "drop=1.0")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    failed = babe(*args)
    monkeypatch.delenv("BABE_LOCAL_FAULTS")
    assert failed.code == 1, failed
    assert balance(mturk) == START and bonuses_of(mturk, [w.assignment_id]) == []
    with Ledger(experiment) as ledger:
        [record] = ledger.bonuses("exp1", "local")
        assert record.status == "sending" and record.error
    assert babe("local.clock", "--advance", "25h").code == 0
    rerun = babe(*args)
    assert rerun.code == 0, rerun
    assert len(rerun.json["paid"]) == 1
    assert balance(mturk) == START - Decimal("0.48")
    assert len(bonuses_of(mturk, [w.assignment_id])) == 1


def test_dry_run_shows_the_same_shape_and_pays_nothing(babe, work, mturk, experiment):
    path = write_csv(experiment, [(w.worker_id, w.assignment_id, "0.10", "Small thanks") for w in work[:2]])
    run = babe("bonus", "--csv", str(path), "--dry-run", "--json")
    assert run.code == 0, run
    assert run.json["dry_run"] is True and run.json["total"] == "0.24"
    assert [p["assignment_id"] for p in run.json["paid"]] == [w.assignment_id for w in work[:2]]
    assert balance(mturk) == START and bonuses_of(mturk, [w.assignment_id for w in work]) == []
    with Ledger(experiment) as ledger:
        assert ledger.bonuses("exp1", "local") == []
    text = babe("bonus", "--csv", str(path), "--dry-run")
    assert "Dry run: would pay 2 bonus(es), $0.24 with fees; nothing was paid." in text.out


def test_a_different_bonus_for_the_same_assignment_pays_and_warns(babe, work, mturk):
    w = work[0]
    base = ("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--reason", "Round")
    assert babe(*base, "--amount", "1.00").code == 0
    second = babe(*base, "--amount", "2.00", "--json")
    assert second.code == 0 and len(second.json["paid"]) == 1
    assert f"warning: assignment {w.assignment_id} already got $1.00 (Round); this pays $2.00 more (Round)" in second.err
    assert len(bonuses_of(mturk, [w.assignment_id])) == 2


def test_many_rows_are_paid_concurrently(babe, experiment, turk, mturk):
    from .conftest import post_and_work

    work = post_and_work(babe, turk, 30, seed=7)
    rows = [(w.worker_id, w.assignment_id, f"{i % 5 + 1}.05", "Performance bonus") for i, w in enumerate(work)]
    path = write_csv(experiment, rows)
    expected = sum(Decimal(r[2]) + max(Decimal("0.01"), (Decimal(r[2]) * Decimal("0.2")).quantize(Decimal("0.01"))) for r in rows)
    run = babe("bonus", "--csv", str(path), "--json")
    assert run.code == 0, run
    assert len(run.json["paid"]) == 30 and Decimal(run.json["total"]) == expected
    assert balance(mturk) == START - expected
    assert len(bonuses_of(mturk, [w.assignment_id for w in work])) == 30


def test_live_asks_first_and_refuses_without_a_terminal(babe, experiment, turk, mturk, monkeypatch, state_path):
    """On live the total is shown and confirmed; a script without --yes is refused with nothing paid."""
    from babe_mturk.local.server import serve_in_thread

    from .conftest import post_and_work

    server, url = serve_in_thread(str(state_path))
    try:
        # Target live, its calls sent to the local server: it checks no signature, any keys will do.
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLOCALTESTING0000")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
        work = post_and_work(babe, turk, 2, where=("--target", "live", "--endpoint-url", url, "--yes"))
        w = work[0]
        args = ("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "1.00", "--reason", "Live")
        refused = babe(*args, "--target", "live", "--endpoint-url", url, "--json")
        assert refused.code == 2, refused
        assert refused.json["error"]["message"].startswith("Pay 1 bonuses on live for $1.20? needs confirmation")
        assert "total       $1.20" in refused.err
        assert balance(mturk) == START
        confirmed = babe(*args, "--target", "live", "--endpoint-url", url, "--yes", "--json")
        assert confirmed.code == 0, confirmed
        assert balance(mturk) == START - Decimal("1.20")
    finally:
        server.shutdown()
