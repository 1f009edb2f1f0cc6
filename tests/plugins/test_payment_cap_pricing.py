"""payment-cap on another platform: its fees, its currency, and a ledger that holds several platforms.

The platforms are lab plugins written here, in the experiment's plugins/ folder, wrapping the
MTurk platform so they post to the test's local MTurk: `pennies` charges 25% plus 20% VAT on that
fee in pounds (one HIT per plan), `dollarpro` 10% in dollars. The numbers are chosen so MTurk's
fees would give another answer: a place at $0.50 costs £0.66 on pennies (0.125 → 0.13 fee, 0.026
→ 0.03 VAT), $0.55 on dollarpro, $0.60 on MTurk (HITs under 10). Everything runs through the real
`babe` program with payment-cap loaded by its entry point.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babe_mturk.local.workers import simulate
from babe_payment_cap.book import Entry, bonus_commitment, hit_commitment, tally
from babe_payment_cap.caps import report
from babe_payment_cap.config import CapSettings

from babe_tasks.ledger import LedgerView
from babe_tasks.money import MTURK_PRICING

D = Decimal

PLATFORMS = '''
from decimal import ROUND_HALF_UP, Decimal

from babe_tasks.planning import Cost
from babe_mturk.platform import MTurkPlatform

CENT = Decimal("0.01")


def share(amount, rate):
    return (Decimal(amount) * Decimal(rate)).quantize(CENT, ROUND_HALF_UP)


class Pricing:
    def __init__(self, currency, symbol, rate, vat, single_batch):
        self.currency, self.symbol, self.rate, self.vat = currency, symbol, rate, vat
        self.single_batch, self.large_hit_assignments = single_batch, None

    def parts(self, amount):
        fee = share(amount, self.rate)
        return fee, share(fee, self.vat)

    def assignment_fee(self, reward, hit_size, masters=False):
        return sum(self.parts(reward))

    def assignments_cost(self, reward, hit_size, count, masters=False):
        fee, vat = self.parts(reward)
        return Cost(count, reward * count, fee * count, vat=vat * count)

    def bonus_fee(self, amount):
        return sum(self.parts(amount))


RULES = {
    "pennies": Pricing("GBP", "\\u00a3", "0.25", "0.20", True),
    "dollarpro": Pricing("USD", "$", "0.10", "0", False),
}


class Wrapped(MTurkPlatform):
    def __init__(self, settings):
        super().__init__(settings)
        self.name, self.pricing = settings.platform, RULES[settings.platform]


def babe_platform(settings):
    if settings.platform in RULES:
        return Wrapped(settings)
'''

class Pennies:
    """pennies' rules by hand: 25% fee and 20% VAT on it, each rounded half up, in pounds."""

    currency, symbol, single_batch, large_hit_assignments = "GBP", "£", True, None

    @staticmethod
    def _parts(amount: Decimal) -> tuple[Decimal, Decimal]:
        fee = (amount * D("0.25")).quantize(D("0.01"), ROUND_HALF_UP)
        return fee, (fee * D("0.20")).quantize(D("0.01"), ROUND_HALF_UP)

    def assignment_fee(self, reward, hit_size, masters=False):
        return sum(self._parts(reward))

    def bonus_fee(self, amount):
        return sum(self._parts(amount))


PENNIES = Pennies()


# -- the arithmetic, by hand --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reward, size, committed",
    [
        ("0.50", 5, "3.30"),  # 5 × (0.50 + 0.13 + 0.03)
        ("0.50", 12, "7.92"),  # no surcharge from 10 on: 12 × 0.66 (MTurk: 12 × 0.70)
        ("1.00", 3, "3.90"),  # 3 × (1.00 + 0.25 + 0.05)
        ("0.02", 4, "0.12"),  # 4 × (0.02 + 0.01 + 0.00): 0.005 → 0.01 fee, 0.002 → 0.00 VAT
    ],
)
def test_a_hit_commits_at_its_platforms_fees(reward, size, committed):
    assert hit_commitment(D(reward), size, False, PENNIES) == D(committed)


def test_a_bonus_commits_at_its_platforms_fee():
    assert bonus_commitment(D("1.00"), PENNIES) == D("1.30")
    assert bonus_commitment(D("1.00")) == D("1.20")  # MTurk's, the default


def test_a_cap_counts_only_the_runs_currency_and_names_the_rest():
    at = 1_764_324_000.0  # 2025-11-28 10:00 UTC
    entries = [
        Entry("exp1", at, D("3.30"), currency="GBP"),
        Entry("exp1", at, D("3.00"), D("1.20"), currency="USD"),
        Entry("exp1", at, spent=D("1.32"), currency="GBP"),
        Entry("other", at, D("5.00"), currency="USD"),
    ]
    pounds = tally(entries, "exp1", "local", date(2025, 11, 28), ZoneInfo("UTC"), PENNIES)
    assert pounds.committed == {"experiment": D("3.30"), "daily": D("3.30"), "total": D("3.30")}
    assert pounds.spent["total"] == D("1.32")
    assert pounds.elsewhere == {"USD": D("8.00")}
    dollars = tally(entries, "exp1", "local", date(2025, 11, 28), ZoneInfo("UTC"))
    assert dollars.committed["experiment"] == D("3.00") and dollars.committed["total"] == D("8.00")
    assert dollars.elsewhere == {"GBP": D("3.30")}
    shown = report(CapSettings(experiment=D("10.00")), pounds)
    assert str(shown) == (
        "experiment cap £10.00: £3.30 committed, £6.70 left; not counted (another currency): 8.00 USD committed"
    )
    assert shown == {"experiment": {"cap": D("10.00"), "committed": D("3.30"), "spent": D("1.32"), "left": D("6.70")}}


# -- end to end --------------------------------------------------------------------------------------
@pytest.fixture
def platforms(experiment) -> Path:
    """pennies and dollarpro in the experiment's plugins/ folder."""
    folder = experiment / "plugins"
    folder.mkdir(exist_ok=True)
    (folder / "lab_platforms.py").write_text(PLATFORMS)
    return experiment


@pytest.fixture
def capped(lab_plugins, configure, platforms):
    """payment-cap by entry point and the test's platforms; `capped(experiment="10.00")` writes the caps."""
    lab_plugins("payment-cap", "lab_platforms")

    def write(**section):
        configure(plugins={"payment-cap": section})

    return write


def test_a_create_is_checked_with_the_platforms_fees_and_currency(babe, capped, mturk, list_hits):
    capped(experiment="6.50")
    first = babe("create", "--assignments", "5", "--platform", "pennies", "--json")
    assert first.code == 0, first
    assert first.json["cost"]["total"] == "3.30"
    # MTurk's fees would book the first HIT at 3.00 and let 3.00 + 3.30 = 6.30 through.
    run = babe("create", "--assignments", "5", "--platform", "pennies", "--allow-repeat-workers")
    assert run.code == 3, run
    assert (
        "error: stopped by plugin payment-cap: this create commits £3.30; the experiment cap is £6.50 and £3.30 is "
        "already committed (£3.20 left); post fewer assignments or raise babe.plugins.payment-cap.experiment"
    ) in run.err
    assert len(list_hits(mturk)) == 1
    run = babe("create", "--again", "--assignments", "4", "--platform", "pennies", "--allow-repeat-workers")
    assert run.code == 0, run  # 4 × 0.66 = 2.64: 5.94 fits
    assert len(list_hits(mturk)) == 2


def test_status_and_cost_show_the_caps_in_the_platforms_currency(babe, capped, turk):
    capped(experiment="10.00", daily="50.00")
    hits = [h["hit_id"] for h in babe("create", "--assignments", "5", "--platform", "pennies", "--json").json["hits"]]
    simulate(turk, hit_ids=hits, workers=2, seed=3)
    assert babe("approve", "--platform", "pennies").code == 0  # 2 × 0.66 booked at pennies' fees
    run = babe("status", "--platform", "pennies", "--json")
    assert run.json["payment_caps"]["experiment"] == {"cap": "10.00", "committed": "3.30", "spent": "1.32", "left": "6.70"}
    assert "payment_caps: experiment cap £10.00: £3.30 committed, £6.70 left; daily cap £50.00 (" in babe(
        "status", "--platform", "pennies"
    ).out
    run = babe("cost", "--create", "--assignments", "11", "--platform", "pennies")
    assert run.code == 0, run  # 11 × 0.66 = 7.26
    assert "payment_caps: experiment cap £10.00: £3.30 committed, this £7.26 would cross it" in run.out
    assert "daily cap £50.00 (" in run.out and "£3.30 committed, this £7.26, £39.44 left after it" in run.out


def test_each_currency_has_its_own_book(babe, capped):
    """Dollars posted on MTurk do not count towards a cap in pounds, and pounds not towards one in dollars."""
    capped(experiment="4.00")
    assert babe("create", "--assignments", "5").code == 0  # MTurk: $3.00
    run = babe("create", "--assignments", "5", "--platform", "pennies")
    assert run.code == 0, run  # £3.30: would be 6.30 > 4.00 if the currencies were added up
    text = babe("status", "--platform", "pennies").out
    assert "experiment cap £4.00: £3.30 committed, £0.70 left; not counted (another currency): 3.00 USD committed" in text
    # Back on MTurk: the pennies HIT is priced by its own platform (asked through the plugins) and left out.
    run = babe("create", "--assignments", "2", "--allow-repeat-workers", "--json")
    assert run.code == 3, run
    assert run.json["error"]["message"].startswith(
        "this create commits $1.20; the experiment cap is $4.00 and $3.00 is already committed ($1.00 left)"
    )
    run = babe("status", "--json")
    assert run.json["payment_caps"]["experiment"]["committed"] == "3.00"


def test_platforms_in_the_same_currency_share_the_cap(babe, capped):
    capped(experiment="5.00")
    assert babe("create", "--assignments", "5").code == 0  # MTurk: $3.00
    run = babe("create", "--assignments", "4", "--platform", "dollarpro", "--allow-repeat-workers", "--json")
    assert run.code == 3, run  # 4 × 0.55 = 2.20 at dollarpro's 10%; with MTurk's 20% it would say 2.40
    assert run.json["error"]["message"].startswith(
        "this create commits $2.20; the experiment cap is $5.00 and $3.00 is already committed ($2.00 left)"
    )
    assert babe("create", "--assignments", "3", "--platform", "dollarpro", "--allow-repeat-workers").code == 0  # 1.65
    # MTurk's run now counts the dollarpro HIT at dollarpro's fees: 3.00 + 1.65.
    assert babe("status", "--json").json["payment_caps"]["experiment"]["committed"] == "4.65"


def test_a_bonus_is_checked_with_the_platforms_fee(babe, capped, turk, mturk):
    """`babe_before_bonus` is handed no pricing: the plugin asks the platform for it."""
    capped(experiment="4.50")
    hits = [h["hit_id"] for h in babe("create", "--assignments", "5", "--platform", "pennies", "--json").json["hits"]]
    simulate(turk, hit_ids=hits, workers=1, seed=5)
    assert babe("approve", "--platform", "pennies").code == 0
    assignment = mturk.list_assignments_for_hit(HITId=hits[0])["Assignments"][0]
    flags = ("--worker", assignment["WorkerId"], "--assignment", assignment["AssignmentId"], "--platform", "pennies")
    run = babe("bonus", *flags, "--amount", "1.00", "--reason", "thanks", "--json")
    assert run.code == 3, run  # 1.30 with pennies' fee and VAT (MTurk's 1.20 would fit in 1.20 left)
    assert run.json["error"]["message"].startswith(
        "this bonus commits £1.30; the experiment cap is £4.50 and £3.30 is already committed (£1.20 left)"
    )
    assert mturk.list_bonus_payments(HITId=hits[0])["BonusPayments"] == []
    assert babe("bonus", *flags, "--amount", "0.90", "--reason", "thanks").code == 0  # 0.90 + 0.23 + 0.05 = 1.18
    status = babe("status", "--platform", "pennies", "--json").json["payment_caps"]["experiment"]
    assert status["committed"] == "4.48" and status["spent"] == "1.84"  # 0.66 approved + 1.18 bonus


def test_an_extension_is_checked_with_the_platforms_fees(babe, capped, mturk):
    capped(experiment="5.00")
    hit = babe("create", "--assignments", "5", "--platform", "pennies", "--json").json["hits"][0]["hit_id"]
    run = babe("extend", "--assignments", "3", "--platform", "pennies", "--json")
    assert run.code == 3, run  # 3 × 0.66 = 1.98 over the 1.70 left
    assert run.json["error"]["message"].startswith(
        "this extend commits £1.98; the experiment cap is £5.00 and £3.30 is already committed (£1.70 left)"
    )
    assert babe("extend", "--assignments", "2", "--platform", "pennies").code == 0  # 1.32: 4.62
    assert mturk.get_hit(HITId=hit)["HIT"]["MaxAssignments"] == 7
    # The extension's assignments are priced by the HIT's platform: 3.30 + 1.32.
    assert babe("status", "--platform", "pennies", "--json").json["payment_caps"]["experiment"]["committed"] == "4.62"


def test_a_ledger_from_before_the_platform_column_is_mturks(babe, capped, experiment, ledger_write):
    capped(experiment="100.00")
    assert babe("create", "--assignments", "5").code == 0
    ledger_write(experiment, "ALTER TABLE hits DROP COLUMN platform")

    def only_mturk(name):
        assert name == "mturk", f"a row of {name} in a ledger that only knows MTurk"
        return MTURK_PRICING

    with LedgerView(experiment) as view:
        entries = view.commitments("local", only_mturk)
    assert [(e.committed, e.currency) for e in entries] == [(D("3.00"), "USD")]


def test_a_platform_that_cannot_be_priced_stops_the_check(babe, capped, platforms, mturk, list_hits):
    """A cap checked without some of what was committed would let too much through: refused, exit 3."""
    capped(experiment="100.00")
    assert babe("create", "--assignments", "5", "--platform", "pennies").code == 0
    (platforms / "plugins" / "lab_platforms.py").unlink()  # the lab removed the platform's plugin
    run = babe("create", "--assignments", "2", "--allow-repeat-workers")
    assert run.code == 3, run
    assert "stopped by plugin payment-cap: cannot read the fees of platform pennies (no plugin provides platform " \
           "'pennies'" in run.err
    assert "install the plugin that provides pennies and set its credentials, then run this again" in run.err
    assert "Traceback" not in run.err
    assert len(list_hits(mturk)) == 1


def test_the_prolific_plugin_on_a_pounds_account(babe, lab_plugins, configure, monkeypatch, tmp_path):
    """The shipped Prolific plugin against the local Prolific (33.33% fee, 20% VAT on it, GBP): a
    place at 0.50 costs £0.70 (0.17 fee, 0.03 VAT). Its pricing is read from the account — a call —
    also when an MTurk run has to price the studies in its ledger."""
    from babe_prolific.local import configure_account

    state = tmp_path / "prolific.sqlite"
    monkeypatch.setenv("BABE_PROLIFIC_STATE", str(state))
    configure_account(state, currency_code="GBP", vat_percentage=20)
    lab_plugins("payment-cap", "prolific")
    configure(plugins={"payment-cap": {"experiment": "10.00"}}, duration="10m")
    assert babe("create", "--assignments", "5").code == 0  # MTurk: $3.00
    run = babe("create", "--assignments", "10", "--platform", "prolific", "--json")
    assert run.code == 0, run
    assert run.json["cost"]["total"] == "7.00"
    run = babe("create", "--assignments", "5", "--platform", "prolific", "--allow-repeat-workers", "--json")
    assert run.code == 3, run
    assert run.json["error"]["message"].startswith(
        "this create commits £3.50; the experiment cap is £10.00 and £7.00 is already committed (£3.00 left)"
    )
    run = babe("status")
    assert run.code == 0, run
    assert "experiment cap $10.00: $3.00 committed, $7.00 left; not counted (another currency): 7.00 GBP committed" in run.out
