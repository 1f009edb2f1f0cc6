"""create's flags are kept where doctor and a later create find them: the ledger's last plan.

The README's walk-through gives create every setting as a flag; afterwards `babe doctor` said "url
is not set" and a later create needed every flag again.
"""

from __future__ import annotations

import pytest

FLAGS = (
    "--url", "https://lab.example.org/garden-path/", "--title", "A 5-minute language study",
    "--description", "Read short sentences and say how natural they sound.", "--reward", "0.50",
    "--assignments", "20",
)


@pytest.fixture
def garden_path(babe, tmp_path, monkeypatch):
    """The README's folder garden-path (the working directory), after a create with every FLAG."""
    folder = tmp_path / "garden-path"
    folder.mkdir()
    (folder / "invoke.yaml").write_text("babe:\n  experiment: garden-path\n")
    monkeypatch.chdir(folder)
    assert babe("create", *FLAGS).code == 0
    return folder


def test_doctor_and_a_later_create_find_creates_flags(babe, garden_path):
    doctor = babe("doctor", "--json")

    assert doctor.code == 0, doctor
    [check] = [c for c in doctor.json["checks"] if c["check"] == "create settings"]
    assert check["status"] == "ok"
    assert check["detail"].startswith("20 assignments in 3 HITs (7, 7, 6) at $0.50: $12.00 with MTurk's fees; ")
    assert "url, title, description, reward, assignments from the experiment's last create (" in check["detail"]

    again = babe("create", "--json")  # no flags: the same create, so nothing is posted twice
    assert again.code == 0, again
    assert len(again.json["hits"]) == 3 and again.json["posted_before"]


def test_settings_in_invoke_yaml_win_over_the_ledger(babe, garden_path):
    (garden_path / "invoke.yaml").write_text("babe:\n  experiment: garden-path\n  reward: '1.00'\n")

    doctor = babe("doctor", "--json")

    [check] = [c for c in doctor.json["checks"] if c["check"] == "create settings"]
    assert " at $1.00: " in check["detail"] and "url, title, description, assignments from" in check["detail"]
