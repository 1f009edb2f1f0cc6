"""bonus on Prolific with the machine's and Prolific's clocks a day apart: a lost pay is paid once.

The counterpart of tests/payments/test_bonus_clocks.py. Prolific's pay call has no token memory to
outlive: what settles a lost answer is the journal (a pay sent is never sent again) and the study's
cost, neither of which reads a clock. The machine's clock, as the code reads it, is the platform's
`now()`; Prolific's is the local Prolific's own (`babe_prolific.local.advance_clock`).
"""

from __future__ import annotations

from datetime import timedelta

from babe_prolific.local import advance_clock
from babe_prolific.platform import ProlificPlatform

from .test_prolific_bonus import bonus_file, finished, paid_per_submission, pay_answers_lost


def test_a_lost_pay_sent_a_day_ahead_of_prolifics_clock_is_paid_once(babe, experiment, study_id, people, local, monkeypatch, state):
    visits = finished(people, study_id, 3)
    csv = bonus_file(experiment, visits, amount="1.00")
    real_now = ProlificPlatform.now
    with monkeypatch.context() as patch:
        patch.setattr(ProlificPlatform, "now", lambda self: real_now(self) + timedelta(days=1))
        with pay_answers_lost(monkeypatch, sent=True):  # Prolific paid; the answer was lost
            lost = babe("bonus", "--csv", csv, "--json")
    assert lost.code == 1, lost
    assert paid_per_submission(local) == {v["submission_id"]: 1 for v in visits}
    advance_clock(state, 25 * 3600)  # Prolific a day later; the machine's clock corrected
    rerun = babe("bonus", "--csv", csv, "--json")
    assert rerun.code == 0, rerun
    assert sorted(p["assignment_id"] for p in rerun.json["paid"]) == sorted(v["submission_id"] for v in visits)
    assert paid_per_submission(local) == {v["submission_id"]: 1 for v in visits}  # each bonus exactly once
    assert local.calls("POST /bulk-bonus-payments/{id}/pay/") == 1
