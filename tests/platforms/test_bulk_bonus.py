"""The bonus step pays through a platform's optional `send_bonuses` when it has one.

`fakebulk` is `fakepro` (tests/platforms/conftest.py) with a `send_bonuses`: it logs each call (how
many payments, their HITs) and pays each on the local MTurk under its token, except the ids listed
in `refuse.txt` (an error for that one), `omit.txt` (no answer at all for that one) and when
`broken.txt` exists (the whole call fails). The single-payment `send_bonus` is logged too, so a test
sees the step never falls back to it. Reward 0.50; bonus fee 30% + 20% VAT on it.
"""

from __future__ import annotations

import pytest

from babe_tasks.ledger import Ledger
from babe_mturk.local.workers import simulate

from .conftest import FAKEPRO, calls

FAKEBULK = FAKEPRO + '''

class FakeBulk(FakePro):
    name = "fakebulk"
    capabilities = Capabilities(title="fakebulk", qualifications=False, bulk_approve=True, bulk_bonus=True)

    def send_bonus(self, worker_id, assignment_id, amount, reason, token):
        log("send_bonus", assignment_id=assignment_id)
        return super().send_bonus(worker_id, assignment_id, amount, reason, token)

    def send_bonuses(self, payments):
        folder = pathlib.Path(__file__).parent.parent
        log("send_bonuses", count=len(payments), hits=[p.hit_id for p in payments], resumed=[p.resumed for p in payments])
        if (folder / "broken.txt").exists():
            raise OperationFailed("fakebulk is down (test)")
        refused = (folder / "refuse.txt").read_text().split() if (folder / "refuse.txt").exists() else []
        omitted = (folder / "omit.txt").read_text().split() if (folder / "omit.txt").exists() else []
        answers = {}
        for p in payments:
            if p.assignment_id in omitted:
                continue
            if p.assignment_id in refused:
                answers[p.token] = OperationFailed("refused by fakebulk (test)")
                continue
            answers[p.token] = MTurkPlatform.send_bonus(self, p.worker_id, p.assignment_id, p.amount, p.reason, p.token)
        return answers


def babe_platform(settings):
    if settings.platform == "fakebulk":
        return FakeBulk(settings)
'''


@pytest.fixture
def fakebulk(experiment):
    plugins = experiment / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "fakebulk.py").write_text(FAKEBULK)
    return experiment


def posted(babe, turk, count: int, seed: int) -> list[tuple[str, str]]:
    """A new HIT of `count` assignments on fakebulk, all submitted: [(worker, assignment)]."""
    run = babe("create", "--assignments", str(count), "--platform", "fakebulk", "--json", "--again")
    assert run.code == 0, run
    workers = [f"AWORKER{seed:02d}{i:04d}" for i in range(count)]
    done = simulate(turk, worker_ids=workers, seed=seed)["submitted"]
    assert babe("approve", "--platform", "fakebulk").code == 0  # the ledger knows who did what
    with Ledger(".") as ledger:
        return sorted((ledger.assignment(a)["worker_id"], a) for a in done)


def bonus_file(folder, rows, amount="1.00", reason="thanks") -> str:
    path = folder / "bonus.csv"
    path.write_text("worker_id,assignment_id,amount,reason\n" + "".join(f"{w},{a},{amount},{reason}\n" for w, a in rows))
    return str(path)


def bonuses_on_mturk(mturk, assignment_id: str) -> int:
    return len(mturk.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"])


def test_a_bonus_file_is_one_send_bonuses_call(babe, fakebulk, turk, mturk):
    rows = posted(babe, turk, 4, seed=1)
    csv = bonus_file(fakebulk, rows)
    run = babe("bonus", "--csv", csv, "--platform", "fakebulk", "--json")
    assert run.code == 0, run
    assert len(run.json["paid"]) == 4 and run.json["total"] == "5.44"  # 4 × (1.00 + 0.30 + 0.06)
    assert [c["count"] for c in calls(fakebulk, "send_bonuses")] == [4]
    assert calls(fakebulk, "send_bonus") == []
    assert all(bonuses_on_mturk(mturk, a) == 1 for _, a in rows)
    with Ledger(fakebulk) as ledger:
        assert {b.paid for b in ledger.bonuses("exp1", "local")} == {True}
    again = babe("bonus", "--csv", csv, "--platform", "fakebulk", "--json")
    assert again.code == 0 and len(again.json["already_paid"]) == 4
    assert len(calls(fakebulk, "send_bonuses")) == 1  # nothing left to send: no call


def test_failures_are_per_payment_and_the_rerun_finishes_paying_none_twice(babe, fakebulk, turk, mturk):
    rows = posted(babe, turk, 4, seed=2)
    (fakebulk / "refuse.txt").write_text(rows[0][1])
    (fakebulk / "omit.txt").write_text(rows[1][1])
    csv = bonus_file(fakebulk, rows)
    run = babe("bonus", "--csv", csv, "--platform", "fakebulk", "--json")
    assert run.code == 1, run
    assert {f["assignment_id"]: f["error"] for f in run.json["failed"]} == {
        rows[0][1]: "refused by fakebulk (test)",
        rows[1][1]: "the platform did not answer for this bonus; run the same command again",
    }
    assert sorted(p["assignment_id"] for p in run.json["paid"]) == sorted([rows[2][1], rows[3][1]])
    assert "2 of 4 bonuses failed" in run.err and "nothing is paid twice" in run.err
    with Ledger(fakebulk) as ledger:
        errors = {b.assignment_id: (b.paid, b.error) for b in ledger.bonuses("exp1", "local")}
    assert errors[rows[0][1]] == (False, "refused by fakebulk (test)")  # left "sending", with the error
    (fakebulk / "refuse.txt").unlink()
    (fakebulk / "omit.txt").unlink()
    again = babe("bonus", "--csv", csv, "--platform", "fakebulk", "--json")
    assert again.code == 0, again
    assert sorted(p["assignment_id"] for p in again.json["paid"]) == sorted([rows[0][1], rows[1][1]])
    assert len(again.json["already_paid"]) == 2
    assert [(c["count"], c["resumed"]) for c in calls(fakebulk, "send_bonuses")] == [(4, [False] * 4), (2, [True] * 2)]
    assert all(bonuses_on_mturk(mturk, a) == 1 for _, a in rows)


def test_a_call_that_fails_as_a_whole_fails_each_payment(babe, fakebulk, turk, mturk):
    rows = posted(babe, turk, 3, seed=3)
    csv = bonus_file(fakebulk, rows)
    (fakebulk / "broken.txt").write_text("")
    run = babe("bonus", "--csv", csv, "--platform", "fakebulk", "--json")
    assert run.code == 1, run
    assert [f["error"] for f in run.json["failed"]] == ["fakebulk is down (test)"] * 3 and run.json["paid"] == []
    (fakebulk / "broken.txt").unlink()
    again = babe("bonus", "--csv", csv, "--platform", "fakebulk", "--json")
    assert again.code == 0 and len(again.json["paid"]) == 3
    assert all(bonuses_on_mturk(mturk, a) == 1 for _, a in rows)


def test_payments_go_grouped_by_hit_in_chunks_and_come_back_in_file_order(babe, fakebulk, turk, monkeypatch):
    monkeypatch.setattr("babe_tasks.steps.bonus.BONUS_CHUNK", 3)
    first = posted(babe, turk, 3, seed=4)
    second = posted(babe, turk, 2, seed=5)
    mixed = [second[0], first[0], second[1], first[1], first[2]]
    run = babe("bonus", "--csv", bonus_file(fakebulk, mixed), "--platform", "fakebulk", "--json")
    assert run.code == 0, run
    assert [p["assignment_id"] for p in run.json["paid"]] == [a for _, a in mixed]
    with Ledger(fakebulk) as ledger:
        hit_of = {a: ledger.assignment(a)["hit_id"] for _, a in mixed}
    sent = [c["hits"] for c in calls(fakebulk, "send_bonuses")]
    assert [len(hits) for hits in sent] == [3, 2]
    flat = [hit for hits in sent for hit in hits]
    assert flat == [hit_of[second[0][1]]] * 2 + [hit_of[first[0][1]]] * 3  # each HIT's rows together


def test_a_before_hook_holding_payments_keeps_them_out_of_the_call(babe, fakebulk, turk):
    rows = posted(babe, turk, 3, seed=6)
    (fakebulk / "plugins" / "holdone.py").write_text(
        "from babe_tasks import hookimpl\n\n"
        "@hookimpl\n"
        "def babe_before_bonus(settings, payments, pricing):\n"
        f"    payments[:] = [p for p in payments if p.assignment_id != {rows[0][1]!r}]\n"
    )
    run = babe("bonus", "--csv", bonus_file(fakebulk, rows), "--platform", "fakebulk", "--json")
    assert run.code == 0, run
    assert [h["assignment_id"] for h in run.json["held"]] == [rows[0][1]]
    assert [c["count"] for c in calls(fakebulk, "send_bonuses")] == [2]


def test_mturk_has_no_send_bonuses_and_keeps_one_call_per_bonus():
    from babe_tasks.platform.base import capabilities_of, optional
    from babe_mturk.platform import MTurkPlatform

    assert not hasattr(MTurkPlatform, "send_bonuses")
    assert optional(object(), "send_bonuses") is None
    assert capabilities_of(object()).bulk_bonus is False
