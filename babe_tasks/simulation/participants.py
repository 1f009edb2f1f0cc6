"""What every local stand-in's simulated participants do alike: run a _babe page and POST its trials.

A simulated worker on the local MTurk and a simulated participant on the local Prolific take part
in the same kind of experiment, so what the page sends is made once, here: flat trial objects with
the experiment's global fields merged into each, plus the ids the platform hands the page (MTurk's
assignment, worker and HIT; Prolific's participant, session and study). Outcomes are shared out by
exact counts, not coin flips, so a seed decides only who gets which.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlsplit


def make_trials(rng: random.Random, *, ids: Mapping[str, str], experiment_id: str | None, now: float) -> list[dict]:
    """3–5 flat trial objects as a _babe page posts them: trial fields plus the experiment's global
    fields and then the platform's `ids` merged into each. The draws from `rng` do not depend on
    `ids`, so a seed yields the same trials on every platform."""
    count = rng.randint(3, 5)
    spent_ms = 0
    trials = []
    for number in range(1, count + 1):
        rt = rng.randint(400, 4000)
        spent_ms += rt + rng.randint(500, 3000)
        options = ("yes", "no")
        trials.append(
            {
                "trial_name": "main",
                "trial_number": number,
                "question": f"Item {rng.randint(1, 99)}: is the sentence acceptable?",
                "option1": options[0],
                "option2": options[1],
                "response": rng.choice(options),
                "RT": rt,
            }
        )
    end_ms = int(now * 1000)
    start_ms = end_ms - spent_ms
    global_fields = {
        "experiment_id": experiment_id,
        "startDate": time.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", time.gmtime(start_ms / 1000)),
        "startTime": start_ms,
        "endTime": end_ms,
        "timeSpent": round(spent_ms / 60000, 4),
        "age": rng.randint(18, 75),
        "gender": rng.choice(("female", "male", "other", "")),
        "languages": rng.choice(("English", "English, Spanish", "English, German")),
        "comments": rng.choice(("", "", "Fun task.", "Some items were hard.")),
        **ids,
    }
    return [{**trial, **global_fields} for trial in trials]


def experiment_id_of(post_to: str | None, given: str | None = None) -> str | None:
    """_babe posts to `serverAppURL + experimentID`: the URL's last segment is the id."""
    if given is not None or not post_to:
        return given
    last = urlsplit(post_to).path.rstrip("/").rpartition("/")[2]
    return last or None


def post_trials(client, url: str, trials: list[dict]) -> bool:
    """POST the trials as a _babe page does (`client`: an httpx.Client); True when the backend
    took them (a 2xx answer). A failed POST is a lost submission, as for a real page."""
    import httpx

    try:
        response = client.post(url, json=trials)
    except httpx.HTTPError:
        return False
    return 200 <= response.status_code < 300


def exact_count(n: int, rate: float) -> int:
    """How many of `n` make exactly `rate` of them (rounded half up), so a seed decides only who."""
    return int((Decimal(n) * Decimal(str(rate))).quantize(Decimal(1), rounding=ROUND_HALF_UP))
