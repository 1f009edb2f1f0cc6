"""bonus on Prolific: set up, then pay — each bonus paid exactly once, whatever is lost or re-run.

The local Prolific pays again on every pay call, as the real one does; `local.payments()` is every
payment it made, so "exactly once" is checked against the account, not against our own journal.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from decimal import Decimal as D

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


@contextmanager
def pay_answers_lost(monkeypatch, *, sent: bool):
    """Every pay call's answer is lost: after Prolific did it (`sent`), or before it reached Prolific."""
    from babe_prolific.client import ProlificClient, Uncertain

    real = ProlificClient.post

    def post(self, path, body=None, *, idempotent):
        if path.endswith("/pay/"):
            if sent:
                real(self, path, body, idempotent=idempotent)
            raise Uncertain(f"POST /{path} got no answer (test)")
        return real(self, path, body, idempotent=idempotent)

    with monkeypatch.context() as patch:
        patch.setattr(ProlificClient, "post", post)
        yield


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
    with pay_answers_lost(monkeypatch, sent=True):  # the pay went out and was done; its answer was lost
        first = babe("bonus", "--csv", csv, "--json")
    assert first.code == 1, first
    assert "did not confirm it; it is NOT paid again automatically" in first.out + first.err
    assert paid_per_submission(local) == {v["submission_id"]: 1 for v in visits}
    second = babe("bonus", "--csv", csv, "--json")
    assert second.code == 0, second
    assert paid_per_submission(local) == {v["submission_id"]: 1 for v in visits}  # every bonus, exactly once
    assert sorted(p["assignment_id"] for p in second.json["paid"]) == sorted(v["submission_id"] for v in visits)
    third = babe("bonus", "--csv", csv, "--json")
    assert third.code == 0 and paid_per_submission(local) == {v["submission_id"]: 1 for v in visits}
    assert len(third.json["already_paid"]) == 5


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


# -- bulk: one set-up and one pay per batch of a study's rows ------------------------------------------
def requests(local) -> dict[str, int]:
    """API requests the local Prolific has answered so far, per route."""
    from babe_prolific.local import stats

    return dict(stats(local.state)["calls"])


def made(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {route: after[route] - before.get(route, 0) for route in after if after[route] != before.get(route, 0)}


def study_with(babe, people, count: int, *, approve: bool = True) -> tuple[str, list[dict]]:
    """A new study of `count` places, every place taken and submitted (and approved: the ledger knows them)."""
    run = babe("create", "--assignments", str(count), "--json", "--again")  # a study beside the others
    assert run.code == 0, run
    study = run.json["hits"][0]["hit_id"]
    visits = finished(people, study, count)
    assert len(visits) == count
    if approve:
        assert babe("approve", "--json").code == 0
    return study, visits


def journal(experiment) -> list[dict]:
    path = experiment / ".babe" / "prolific-bonuses.sqlite"
    if not path.exists():  # no bonus was set up yet
        return []
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM bonuses ORDER BY created_at, rowid")]
    finally:
        db.close()


def setups(local) -> dict[str, int]:
    """Rows paid per set-up id (the local Prolific's truth)."""
    counts: dict[str, int] = {}
    for payment in local.payments():
        counts[payment["setup_id"]] = counts.get(payment["setup_id"], 0) + 1
    return counts


def test_a_hundred_bonuses_on_one_study_are_one_set_up_one_pay_and_its_confirmation(babe, experiment, people, local):
    study, visits = study_with(babe, people, 100)
    csv = bonus_file(experiment, visits, amount="0.50")
    before, balance = requests(local), local.balance()
    run = babe("bonus", "--csv", csv, "--json")
    assert run.code == 0, run
    assert len(run.json["paid"]) == 100 and run.json["total"] == "67.00"
    assert balance - local.balance() == 6700  # what the ledger books is what the account was charged
    # Before: one GET /submissions/{id}/, one set-up and one pay per row (301 with GET /users/me/).
    assert made(before, requests(local)) == {
        "GET /users/me/": 1,
        "POST /study-cost-calculator/": 1,  # the fees
        "POST /submissions/bonus-payments/": 1,
        "POST /bulk-bonus-payments/{id}/pay/": 1,  # 202: Prolific pays asynchronously
        "GET /studies/{id}/cost/": 1,  # the pay seen in the study's bonuses (settled at once here)
    }
    assert list(setups(local).values()) == [100]
    assert {p["study_id"] for p in local.payments()} == {study}
    assert paid_per_submission(local) == {v["submission_id"]: 1 for v in visits}
    rows = journal(experiment)
    assert len({r["setup_id"] for r in rows}) == 1 and {r["state"] for r in rows} == {"paid"}
    before = requests(local)
    again = babe("bonus", "--csv", csv, "--json")
    assert again.code == 0 and len(again.json["already_paid"]) == 100
    assert "POST /bulk-bonus-payments/{id}/pay/" not in made(before, requests(local))


def test_rows_the_ledger_has_not_seen_are_looked_up_once_each_and_no_more(babe, experiment, people, local):
    _, visits = study_with(babe, people, 20, approve=False)
    before = requests(local)
    run = babe("bonus", "--csv", bonus_file(experiment, visits), "--json")
    assert run.code == 0, run
    counted = made(before, requests(local))
    assert counted.pop("GET /submissions/{id}/") == 20  # the step checks each submission before paying anything
    assert sum(counted.values()) <= 5 and counted["POST /bulk-bonus-payments/{id}/pay/"] == 1


def test_rows_of_several_studies_get_one_set_up_per_study(babe, experiment, people, local):
    first, early = study_with(babe, people, 3)
    second, late = study_with(babe, people, 4)
    mixed = [late[0], early[0], late[1], early[1], late[2], early[2], late[3]]
    run = babe("bonus", "--csv", bonus_file(experiment, mixed), "--json")
    assert run.code == 0, run
    assert len(run.json["paid"]) == 7
    by_setup: dict[str, set] = {}
    for payment in local.payments():
        by_setup.setdefault(payment["setup_id"], set()).add(payment["study_id"])
    assert sorted(len(p) for p in by_setup.values()) == [1, 1]  # each set-up is one study's
    assert set().union(*by_setup.values()) == {first, second}
    assert sorted(setups(local).values()) == [3, 4]
    assert local.calls("POST /bulk-bonus-payments/{id}/pay/") == 2
    assert paid_per_submission(local) == {v["submission_id"]: 1 for v in mixed}


def test_250_rows_on_one_study_are_two_set_ups_of_at_most_200(babe, experiment, people, local):
    _, visits = study_with(babe, people, 250)
    run = babe("bonus", "--csv", bonus_file(experiment, visits), "--json")
    assert run.code == 0, run
    assert sorted(setups(local).values()) == [50, 200]
    assert local.calls("POST /submissions/bonus-payments/", 201) == 2
    assert local.calls("POST /bulk-bonus-payments/{id}/pay/") == 2
    assert paid_per_submission(local) == {v["submission_id"]: 1 for v in visits}


def test_a_participant_is_at_most_once_in_a_set_up(babe, experiment, study_id, people, local):
    """Two bonuses of one participant go to two set-ups (a set-up prices and pays per participant)."""
    from babe_prolific.bonuses import Bonus
    from babe_prolific.platform import ProlificPlatform

    from babe_tasks.settings import Settings

    one, two = finished(people, study_id, 2)
    bonuses = [
        Bonus(one["participant_id"], one["submission_id"], D("0.50"), "first", "t1", study_id),
        Bonus(two["participant_id"], two["submission_id"], D("0.60"), "first", "t2", study_id),
        Bonus(one["participant_id"], one["submission_id"], D("0.70"), "second", "t3", study_id),
    ]
    platform = ProlificPlatform(Settings.build(None, folder=str(experiment)))
    try:
        assert platform.send_bonuses(bonuses) == {"t1": True, "t2": True, "t3": True}
        assert platform.send_bonuses(bonuses) == {"t1": False, "t2": False, "t3": False}
    finally:
        platform.close()
    paid = [(p["participant_id"], p["amount"], p["setup_id"]) for p in local.payments()]
    assert sorted(a for _, a, _ in paid) == [50, 60, 70]
    first, second = [s for _, a, s in paid if a in (50, 70)]
    assert first != second and len(setups(local)) == 2


def test_a_refused_pay_leaves_the_batch_set_up_and_the_rerun_pays_that_set_up(babe, experiment, study_id, people, local, account):
    visits = finished(people, study_id, 5)
    csv = bonus_file(experiment, visits, amount="2.00")
    account(balance=100)  # not enough for 5 bonuses: Prolific refuses the pay, nothing is paid
    refused = babe("bonus", "--csv", csv, "--json")
    assert refused.code == 1, refused
    assert len(refused.json["failed"]) == 5 and "Insufficient funds" in refused.json["failed"][0]["error"]
    assert local.payments() == []
    rows = journal(experiment)
    assert {r["state"] for r in rows} == {"set-up"} and len({r["setup_id"] for r in rows}) == 1
    account(balance=100000)
    paid = babe("bonus", "--csv", csv, "--json")
    assert paid.code == 0, paid
    assert len(paid.json["paid"]) == 5
    assert setups(local) == {rows[0]["setup_id"]: 5}  # the same set-up, not a new one
    assert local.calls("POST /submissions/bonus-payments/", 201) == 1


def test_a_lost_pay_answer_for_a_batch_is_one_line_and_the_rerun_pays_nothing(babe, experiment, study_id, people, local, monkeypatch):
    visits = finished(people, study_id, 5)
    csv = bonus_file(experiment, visits)
    with pay_answers_lost(monkeypatch, sent=True):
        lost = babe("bonus", "--csv", csv)
    assert lost.code == 1, lost
    (line,) = [x for x in lost.err.splitlines() if "did not confirm" in x]
    (setup_id,) = setups(local)
    assert f"bonus set-up {setup_id} (5 bonuses, $3.75 in all) was sent to be paid" in line
    assert f"babe-prolific bonuses --paid {setup_id}" in line and "5 of 5 bonuses failed" in line
    # The set-up's line once among the failed rows; its other rows point to it briefly.
    assert lost.out.count("did not confirm it") == 1
    assert lost.out.count(f"part of bonus set-up {setup_id}, which Prolific did not confirm") == 4
    assert [r["state"] for r in journal(experiment)] == ["paying"] * 5
    pays = local.calls("POST /bulk-bonus-payments/{id}/pay/")
    again = babe("bonus", "--csv", csv, "--json")
    assert again.code == 0, again
    assert len(again.json["paid"]) == 5  # confirmed from the study's cost
    assert local.calls("POST /bulk-bonus-payments/{id}/pay/") == pays and len(local.payments()) == 5
    assert local.calls("GET /studies/{id}/cost/") == 1


def test_settling_a_batch_as_paid_settles_all_its_rows(babe, experiment, study_id, people, local, monkeypatch, capsys):
    visits = finished(people, study_id, 4)
    csv = bonus_file(experiment, visits)
    with pay_answers_lost(monkeypatch, sent=True):
        assert babe("bonus", "--csv", csv).code == 1
    (setup_id,) = {r["setup_id"] for r in journal(experiment)}
    capsys.readouterr()
    assert babe_prolific(["bonuses", "--paid", setup_id]) == 0
    assert f"bonus set-up of 4 bonuses {setup_id} recorded as paid" in capsys.readouterr().out
    assert [r["state"] for r in journal(experiment)] == ["paid"] * 4
    run = babe("bonus", "--csv", csv, "--json")
    assert run.code == 0, run
    assert len(run.json["paid"]) == 4  # the run that sent them never reported them paid: this one does
    assert local.calls("POST /bulk-bonus-payments/{id}/pay/") == 1 and len(local.payments()) == 4
    assert babe_prolific(["bonuses", "--paid", setup_id]) == 2
    assert f"bonus set-up {setup_id} is paid, not unconfirmed" in capsys.readouterr().err


def test_settling_a_batch_as_not_paid_lets_the_next_run_pay_every_row_once(babe, experiment, study_id, people, local, monkeypatch, capsys):
    visits = finished(people, study_id, 4)
    csv = bonus_file(experiment, visits)
    with pay_answers_lost(monkeypatch, sent=False):  # the pay never reached Prolific
        assert babe("bonus", "--csv", csv).code == 1
    still = babe("bonus", "--csv", csv, "--json")  # the study's cost shows nothing: unconfirmed, not paid again
    assert still.code == 1 and len(still.json["failed"]) == 4
    assert local.payments() == []
    (setup_id,) = {r["setup_id"] for r in journal(experiment)}
    capsys.readouterr()
    assert babe_prolific(["bonuses", "--not-paid", setup_id]) == 0
    assert f"bonus set-up of 4 bonuses {setup_id} recorded as not paid" in capsys.readouterr().out
    assert journal(experiment) == []
    run = babe("bonus", "--csv", csv, "--json")
    assert run.code == 0, run
    assert len(run.json["paid"]) == 4
    assert paid_per_submission(local) == {v["submission_id"]: 1 for v in visits}
    assert setup_id not in setups(local)


def test_the_bonuses_help_says_a_set_up_settles_all_its_bonuses(capsys):
    assert babe_prolific(["bonuses", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "settling it settles all of them" in text and "all its bonuses are recorded paid" in text


def local_api(state):
    """An httpx client on the local Prolific's API (what an older babe-tasks did, done by hand)."""
    import httpx
    from babe_prolific.local import transport
    from babe_prolific.local.inprocess import BASE_URL
    from babe_prolific.routing import LOCAL_TOKEN

    return httpx.Client(base_url=BASE_URL, transport=transport(state), headers={"Authorization": f"Token {LOCAL_TOKEN}"})


def test_entries_of_the_one_bonus_per_set_up_journal_are_paid_with_their_own_set_up(babe, experiment, study_id, people, local, state):
    """A journal written by the older scheme: one entry `set-up` (pay refused), one `paying` (answer lost)."""
    from babe_prolific.journal import PAYING, Journal

    from babe_tasks.steps.bonus import bonus_token

    visits = finished(people, study_id, 4)
    old_set_up, old_paying = visits[0], visits[1]
    with local_api(state) as api:
        ids = []
        for visit in (old_set_up, old_paying):
            answer = api.post("submissions/bonus-payments/", json={"study_id": study_id, "csv_bonuses": f"{visit['participant_id']},0.75\n"})
            ids.append(answer.json()["id"])
        assert api.post(f"bulk-bonus-payments/{ids[1]}/pay/").status_code == 202  # paid; the answer "lost"
    book = Journal.for_folder(experiment)
    for visit, setup_id in zip((old_set_up, old_paying), ids):
        token = bonus_token("exp1", visit["participant_id"], visit["submission_id"], D("0.75"), "fast and accurate")
        book.set_up(token, setup_id, study_id, visit["participant_id"], visit["submission_id"], D("0.75"), "fast and accurate")
    book.move_setup(ids[1], PAYING)
    book.close()
    run = babe("bonus", "--csv", bonus_file(experiment, visits), "--json")
    assert run.code == 0, run
    assert len(run.json["paid"]) == 4
    assert paid_per_submission(local) == {v["submission_id"]: 1 for v in visits}
    counts = setups(local)
    assert counts[ids[0]] == 1 and counts[ids[1]] == 1  # each paid with its own set-up, once
    assert sorted(counts.values()) == [1, 1, 2]  # the two new rows: one new set-up
    assert local.calls("POST /submissions/bonus-payments/", 201) == 3


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_under_faults_re_runs_pay_every_row_exactly_once(babe, experiment, people, local, monkeypatch, capsys, seed):
    """Throttling, server faults, drops and lost answers on every request; re-runs and the documented
    settling (a set-up Prolific shows no payment for is settled --not-paid) finish the job."""
    monkeypatch.setattr("babe_prolific.bonuses.MAX_ROWS", 10)  # more set-ups and pays: more to go wrong
    monkeypatch.setattr("babe_prolific.client.MAX_BACKOFF", 0.01)  # retries as usual, without the waiting
    _, early = study_with(babe, people, 30)
    _, late = study_with(babe, people, 20)
    visits = early + late
    csv = bonus_file(experiment, visits)
    balance = local.balance()
    codes = []
    for attempt in range(10):
        # Each run draws anew (the same seed would replay the same faults on every re-run).
        monkeypatch.setenv("BABE_PROLIFIC_FAULTS", f"throttle=0.1,fault=0.15,drop=0.1,lost=0.15,seed={seed * 100 + attempt}")
        run = babe("bonus", "--csv", csv, "--json")
        codes.append((run.code, run.err.strip().splitlines()[-1:]))
        if run.code == 0:
            break
        assert run.code in (1, 4), run
        paid_setups = set(setups(local))
        for setup_id in dict.fromkeys(r["setup_id"] for r in journal(experiment) if r["state"] == "paying"):
            if setup_id not in paid_setups:  # checked "in the Prolific app": not paid
                assert babe_prolific(["bonuses", "--not-paid", setup_id]) == 0
    assert codes[-1][0] == 0, codes
    assert paid_per_submission(local) == {v["submission_id"]: 1 for v in visits}
    charged = sum(p["amount"] + p["fees"] + p["vat"] for p in local.payments())
    assert balance - local.balance() == charged and {p["amount"] for p in local.payments()} == {75}
    assert {r["state"] for r in journal(experiment)} == {"paid"}
    monkeypatch.delenv("BABE_PROLIFIC_FAULTS")
    final = babe("bonus", "--csv", csv, "--json")
    assert final.code == 0 and len(final.json["already_paid"]) == 50
    assert len(local.payments()) == 50


def test_two_runs_at_once_never_set_up_or_claim_the_same_bonus_twice(tmp_path):
    """Two `babe bonus` of one experiment at the same time share the journal file: one wins each step."""
    from babe_prolific.journal import PAYING, Journal, Taken

    one, two = Journal(tmp_path / "journal.sqlite"), Journal(tmp_path / "journal.sqlite")
    try:
        one.set_up_many("S1", "study", [("t1", "p1", "s1", D("1.00"), "r"), ("t2", "p2", "s2", D("1.00"), "r")])
        with pytest.raises(Taken) as taken:
            two.set_up_many("S2", "study", [("t3", "p3", "s3", D("1.00"), "r"), ("t2", "p2", "s2", D("1.00"), "r")])
        assert taken.value.tokens == ["t2"]
        assert two.get("t3") is None and two.get("t2").setup_id == "S1"  # all or nothing
        assert one.claim("S1") is True
        assert two.claim("S1") is False  # the other run must not pay it too
        assert [e.state for e in two.of_setup("S1")] == [PAYING, PAYING]
    finally:
        one.close()
        two.close()


def test_a_set_up_prolific_no_longer_knows_is_set_up_afresh(babe, experiment, study_id, people, local):
    from babe_prolific.journal import Journal

    from babe_tasks.steps.bonus import bonus_token

    (one,) = finished(people, study_id, 1)
    token = bonus_token("exp1", one["participant_id"], one["submission_id"], D("0.75"), "fast and accurate")
    book = Journal.for_folder(experiment)
    book.set_up(token, "0123456789abcdef01234567", study_id, one["participant_id"], one["submission_id"], D("0.75"), "fast and accurate")
    book.close()
    csv = bonus_file(experiment, [one])
    gone = babe("bonus", "--csv", csv, "--json")
    assert gone.code == 1 and "404" in gone.json["failed"][0]["error"]
    assert journal(experiment) == [] and local.payments() == []  # forgotten: nothing was paid
    again = babe("bonus", "--csv", csv, "--json")
    assert again.code == 0, again
    assert paid_per_submission(local) == {one["submission_id"]: 1}


def test_a_set_up_priced_otherwise_than_asked_is_never_paid(babe, experiment, study_id, people, local, monkeypatch):
    from babe_prolific.client import ProlificClient

    visits = finished(people, study_id, 2)
    real = ProlificClient.post

    def misread(self, path, body=None, *, idempotent):
        answer = real(self, path, body, idempotent=idempotent)
        if path == "submissions/bonus-payments/":
            answer["amount"] *= 100  # as if Prolific had read 0.75 as 75.00
        return answer

    monkeypatch.setattr(ProlificClient, "post", misread)
    run = babe("bonus", "--csv", bonus_file(experiment, visits), "--json")
    assert run.code == 1, run
    assert "Prolific priced bonus set-up" in run.json["failed"][0]["error"] and "add up to 1.50: not paid" in run.json["failed"][0]["error"]
    assert local.payments() == [] and local.calls("POST /bulk-bonus-payments/{id}/pay/") == 0
    assert journal(experiment) == []
