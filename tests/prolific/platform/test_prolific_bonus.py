"""bonus on Prolific: set up, then pay — each bonus paid exactly once, whatever is lost or re-run.

The local Prolific pays again on every pay call, as the real one does; `local.payments()` is every
payment it made, so "exactly once" is checked against the account, not against our own journal.
"""

from __future__ import annotations

import sqlite3

import pytest
from babe_prolific.cli import main as babe_prolific


def finished(people, study_id, count=4, **options) -> list[dict]:
    return [v for v in people(study_id, count, **options) if v["outcome"] == "submit"]


def bonus_file(folder, visits, amount="0.75", reason="fast and accurate") -> str:
    path = folder / "bonuses.csv"
    lines = ["worker_id,assignment_id,amount,reason"]
    lines += [f"{v['participant_id']},{v['submission_id']},{amount},{reason}" for v in visits]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def paid_per_submission(local) -> dict[str, int]:
    counts: dict[str, int] = {}
    for payment in local.payments():
        counts[payment["submission_id"]] = counts.get(payment["submission_id"], 0) + 1
    return counts


def test_a_bonus_is_set_up_paid_once_and_never_again(babe, experiment, study_id, people, local):
    (one,) = finished(people, study_id, 1)
    args = ("bonus", "--worker", one["participant_id"], "--assignment", one["submission_id"], "--amount", "0.75",
            "--reason", "fast and accurate", "--json")
    run = babe(*args)
    assert run.code == 0, run
    (payment,) = local.payments()
    assert (payment["participant_id"], payment["amount"], payment["fees"]) == (one["participant_id"], 75, 25)
    again = babe(*args)
    assert again.code == 0, again
    assert len(local.payments()) == 1  # the ledger and the journal both know it is paid
    assert local.calls("POST /bulk-bonus-payments/{id}/pay/") == 1


def test_a_lost_pay_answer_is_never_paid_again_and_the_rerun_confirms_it(babe, experiment, study_id, people, local, monkeypatch):
    visits = finished(people, study_id, 5)
    csv = bonus_file(experiment, visits)
    monkeypatch.setenv("BABE_MAX_CONCURRENCY", "1")  # one request at a time: the seed fixes which answers are lost
    monkeypatch.setenv("BABE_PROLIFIC_FAULTS", "lost=0.3,seed=1")
    first = babe("bonus", "--csv", csv, "--json")
    assert first.code == 1, first  # some pays went out and their answers were lost
    assert "did not confirm it; it is NOT paid again automatically" in first.out + first.err
    assert all(n == 1 for n in paid_per_submission(local).values())
    monkeypatch.delenv("BABE_PROLIFIC_FAULTS")
    second = babe("bonus", "--csv", csv, "--json")
    assert second.code == 0, second
    assert paid_per_submission(local) == {v["submission_id"]: 1 for v in visits}  # every bonus, exactly once
    third = babe("bonus", "--csv", csv, "--json")
    assert third.code == 0 and paid_per_submission(local) == {v["submission_id"]: 1 for v in visits}


def test_an_unconfirmed_pay_is_reported_until_settled_by_hand(babe, experiment, study_id, people, local, monkeypatch):
    (one,) = finished(people, study_id, 1)
    args = ("bonus", "--worker", one["participant_id"], "--assignment", one["submission_id"], "--amount", "1.00",
            "--reason", "bonus", "--json")
    from babe_prolific.client import ProlificClient, Uncertain

    real = ProlificClient.post

    def lost_before_sending(self, path, body=None, *, idempotent):
        if path.endswith("/pay/"):
            raise Uncertain("POST /pay/ got no answer (test)")  # the request never reached Prolific
        return real(self, path, body, idempotent=idempotent)

    with monkeypatch.context() as patch:
        patch.setattr(ProlificClient, "post", lost_before_sending)
        assert babe(*args).code == 1
    assert local.payments() == []
    again = babe(*args)  # the study's cost shows no such bonus: still unconfirmed, still not paid
    assert again.code == 1 and "NOT paid again automatically" in again.out + again.err
    assert local.payments() == []
    journal = babe_prolific(["bonuses", "--json"])
    assert journal == 0
    (row,) = sqlite3.connect(experiment / ".babe" / "prolific-bonuses.sqlite").execute("SELECT setup_id, state FROM bonuses")
    assert row[1] == "paying"
    assert babe_prolific(["bonuses", "--not-paid", row[0]]) == 0  # checked on Prolific: not paid
    third = babe(*args)
    assert third.code == 0, third
    assert len(local.payments()) == 1


def test_settling_an_unknown_setup_is_one_line_exit_2(experiment, capsys):
    assert babe_prolific(["bonuses", "--paid", "nosuchsetup"]) == 2
    assert "no bonus set-up nosuchsetup" in capsys.readouterr().err


def test_a_refused_pay_leaves_the_setup_to_be_paid_later(babe, experiment, study_id, people, local, account):
    (one,) = finished(people, study_id, 1)
    account(balance=10)  # 10 cents: the pay is refused, nothing is paid
    args = ("bonus", "--worker", one["participant_id"], "--assignment", one["submission_id"], "--amount", "5.00",
            "--reason", "bonus", "--json")
    refused = babe(*args)
    assert refused.code == 1, refused
    assert local.payments() == []
    account(balance=100000)
    paid = babe(*args)
    assert paid.code == 0, paid
    assert len(local.payments()) == 1 and local.calls("POST /submissions/bonus-payments/", 201) == 1


@pytest.mark.parametrize("worker", ["A1B2C3D4E5", "not-a-participant"])
def test_a_bonus_for_someone_else_pays_nothing(babe, experiment, study_id, people, local, worker):
    (one,) = finished(people, study_id, 1)
    run = babe("bonus", "--worker", worker, "--assignment", one["submission_id"], "--amount", "0.50", "--reason", "x")
    assert run.code == 2, run
    assert local.payments() == []
