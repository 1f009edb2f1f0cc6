"""babe_tasks.simulation is what both local stand-ins share, and knows neither platform."""

from __future__ import annotations

import random
import subprocess
import sys

from babe_mturk.local.workers import make_trials as mturk_trials
from babe_prolific.local.participants import _trials as prolific_trials


def test_the_shared_machinery_imports_no_platform():
    code = (
        "import sys\n"
        "from babe_tasks.simulation import faults, participants, serving, statefile\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'babe_mturk', 'babe_prolific', 'boto3', 'botocore'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_one_seed_makes_the_same_trials_on_both_platforms_with_each_ones_ids():
    mturk = mturk_trials(random.Random(5), assignment_id="A1", worker_id="W1", hit_id="H1", experiment_id="7", now=1.7e9)
    prolific = prolific_trials(random.Random(5), participant_id="P1", submission_id="S1", study_id="ST1", experiment_id="7", now=1.7e9)
    assert len(mturk) == len(prolific) >= 3
    for ours, theirs in zip(mturk, prolific, strict=True):
        assert (ours["assignment_id"], ours["worker_id"], ours["hit_id"]) == ("A1", "W1", "H1")
        assert (theirs["prolific_id"], theirs["session_id"], theirs["study_id"]) == ("P1", "S1", "ST1")
        assert not {"assignment_id", "worker_id", "hit_id"} & set(theirs)
        shared = {k: v for k, v in ours.items() if k not in ("assignment_id", "worker_id", "hit_id")}
        assert shared == {k: v for k, v in theirs.items() if k not in ("prolific_id", "session_id", "study_id")}
