"""What a plugin tells `babe review` about each participant, beside what the platform says.

The platform knows who submitted and when; the experiment's data lives elsewhere (the _babe /
magpie backend, a lab's own store). A plugin implementing `babe_review_data` returns one
`ReviewData`: per submission the participant's rows (already reduced to the columns worth
showing, as text), their reaction times and how they did on the attention checks, plus the whole
group's reaction times so the page can draw one participant against everyone. Plain data, no
behaviour: the page renders it, escaped, and nothing in it decides a payment (holds do that).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Checks:
    """A participant's attention checks: how many rows passed and failed, and a line per failure."""

    passed: int = 0
    failed: int = 0
    #: One line per failed check, e.g. "trial 4: attention_correct is 'false', expected 'true'".
    failures: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"passed": self.passed, "failed": self.failed, "failures": list(self.failures)}


@dataclass
class ParticipantData:
    """One submission's data: its rows (column → text, only `ReviewData.columns`), reaction times in ms, checks."""

    rows: list[dict[str, str]] = field(default_factory=list)
    reaction_times: list[float] = field(default_factory=list)
    #: None when the lab names no attention-check columns.
    checks: Checks | None = None

    def as_json(self, columns: list[str]) -> dict:
        return {
            "rows": [[row.get(column, "") for column in columns] for row in self.rows],
            "reaction_times": list(self.reaction_times),
            "checks": self.checks.as_json() if self.checks is not None else None,
        }


@dataclass
class ReviewData:
    """Everything one plugin knows of the submissions under review.

    `participants` maps a submission's id (`AssignmentInfo.assignment_id`) to its data; a
    submission the plugin has no data for is simply absent (the page says so, and holds such as
    the backend plugin's "no data in backend" say why approve would wait). `group_reaction_times`
    are every participant's reaction times the plugin knows of — those already decided included —
    so one participant can be drawn against the group.
    """

    #: Who says so, shown as the section's title ("babe-backend").
    source: str
    #: The columns shown for each row, in order.
    columns: list[str] = field(default_factory=list)
    participants: dict[str, ParticipantData] = field(default_factory=dict)
    group_reaction_times: list[float] = field(default_factory=list)
    #: The column the reaction times were read from (None: the plugin has none).
    reaction_time_column: str | None = None
    #: Anything the reviewer should know about the data as a whole (rows matching no submission, …).
    notes: list[str] = field(default_factory=list)
