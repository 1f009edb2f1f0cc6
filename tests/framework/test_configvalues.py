"""One reading of true/false, seconds, amounts and whole numbers for core settings and every shipped
plugin's section (`babe_tasks.configvalues`): the same word means the same thing everywhere."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from babe_tasks import configvalues
from babe_tasks.errors import UsageError
from babe_tasks.settings import Settings

WORDS = [(word, True) for word in configvalues.TRUE_WORDS] + [(word, False) for word in configvalues.FALSE_WORDS]


@pytest.mark.parametrize("word, meaning", WORDS + [(w.upper(), m) for w, m in WORDS] + [(f" {w} ", m) for w, m in WORDS])
def test_every_true_and_false_word_in_any_case(word, meaning):
    assert configvalues.boolean(word, "x") is meaning
    assert configvalues.boolean(word, "x", default=not meaning) is meaning


@pytest.mark.parametrize("value", [None, "", "  "])
def test_unset_is_the_default(value):
    assert configvalues.boolean(value, "x") is False
    assert configvalues.boolean(value, "x", default=True) is True


@pytest.mark.parametrize("value", ["maybe", "y", "n", "2", "enabled", 2])
def test_other_words_are_refused_naming_the_setting(value):
    with pytest.raises(UsageError, match=rf"^babe.plugins.p.k {value!r} is not true or false$"):
        configvalues.boolean(value, "babe.plugins.p.k")


def _plugin_sections():
    """(name, read) for every shipped plugin's boolean key and a core boolean setting: read(word) → bool."""
    from babe_backend import config as backend
    from babe_payment_cap import config as cap

    def core(word):
        return Settings.build(None, strict_plugins=word).strict_plugins

    def payment_cap(word):
        return cap.load(SimpleNamespace(plugins={cap.NAME: {"check_balance": word}}, plugin_settings=lambda n: {"check_balance": word})).check_balance

    def babe_backend(word):
        backend.validate({"approve_without_data": word})
        return backend._boolean(word, "approve_without_data")

    return {"core strict_plugins": core, "payment-cap check_balance": payment_cap, "babe-backend approve_without_data": babe_backend}


@pytest.mark.parametrize("section", sorted(_plugin_sections()))
@pytest.mark.parametrize("word, meaning", WORDS + [("YES", True), ("Off", False)])
def test_core_settings_and_every_plugin_section_read_the_same_words(exp, section, word, meaning):
    assert _plugin_sections()[section](word) is meaning


@pytest.mark.parametrize("section", sorted(_plugin_sections()))
def test_core_settings_and_every_plugin_section_refuse_the_same_words(exp, section):
    with pytest.raises(UsageError, match="'maybe' is not true or false"):
        _plugin_sections()[section]("maybe")


def test_the_payment_cap_reads_an_empty_check_balance_as_its_default_true():
    from babe_payment_cap import config as cap

    section = {"check_balance": ""}
    loaded = cap.load(SimpleNamespace(plugins={cap.NAME: section}, plugin_settings=lambda n: dict(section)))
    assert loaded.check_balance is True


@pytest.mark.parametrize("value, seconds", [(3, 3.0), ("3", 3.0), ("3s", 3.0), ("0.5", 0.5), (" 2.5 s ", 2.5)])
def test_seconds(value, seconds):
    assert configvalues.seconds(value, "t", 5) == seconds


@pytest.mark.parametrize("value", [None, ""])
def test_unset_seconds_are_the_default(value):
    assert configvalues.seconds(value, "t", 5, default=3.0) == 3.0


@pytest.mark.parametrize("value", ["soon", True, "nan", "inf", None])
def test_what_is_not_a_number_of_seconds(value):
    with pytest.raises(UsageError, match=rf"^t {value!r} is not a number of seconds"):
        configvalues.seconds(value, "t", 5)


@pytest.mark.parametrize("value", [0, -1, 10, "5.01"])
def test_seconds_out_of_range_say_the_range_and_why(value):
    with pytest.raises(UsageError, match=rf"^t is {value}: it must be more than 0 and at most 5 seconds, so$"):
        configvalues.seconds(value, "t", 5, why=", so")


def test_amounts_are_decimal_and_yaml_floats_read_as_typed():
    assert configvalues.amount("400.00", "cap") == Decimal("400.00")
    assert configvalues.amount(0.5, "cap") == Decimal("0.50")
    assert configvalues.amount(0, "cap", allow_zero=True) == Decimal("0")
    assert configvalues.amount("", "cap") is None
    with pytest.raises(UsageError, match='^cap must be a dollar amount such as "400.00", not True$'):
        configvalues.amount(True, "cap")
    with pytest.raises(UsageError, match=r'\(quote it in invoke.yaml: daily: "400.00"\)$'):
        configvalues.amount("$4", "cap", quoted='daily: "400.00"')


def test_whole_numbers():
    assert configvalues.whole("10", "m", 1, 1440, "minutes", example=10) == 10
    with pytest.raises(UsageError, match=r"^m 'ten' is not a whole number of minutes \(e.g. 10\)$"):
        configvalues.whole("ten", "m", 1, 1440, "minutes", example=10)
    with pytest.raises(UsageError, match="^m 0 is out of range: 1 to 1440 minutes$"):
        configvalues.whole(0, "m", 1, 1440, "minutes", example=10)
    with pytest.raises(UsageError, match="is not a whole number"):
        configvalues.whole(True, "m", 1, 1440, "minutes", example=10)
