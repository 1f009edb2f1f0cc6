"""Fixtures for `babe review`: an experiment with submitted work, and the real server in a `babe` process.

`submitted(n)` posts n assignments on the local MTurk and has n simulated workers each take
`took` and submit (the ledger knows them: `babe status` ran). `start_review(*flags)` starts
`babe review --no-browser` as a child process — a real socket on 127.0.0.1, the real signal
handling — reads the URL it prints, and returns a `Served`: `.url`, `.token`, `.csrf` (read from
the page's meta tag), `.base`, `get`/`api`/`post` helpers that speak to it like the page does
(token header, CSRF header, same Origin), `raw` for requests built by hand, and `stop()`, which
sends Ctrl-C and checks the exit code and the closing summary line. Any server still running at
the end of the test is killed.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from babe_tasks.testing.experiment import DEFAULT_SETTINGS, ExperimentFolder
from babe_tasks.testing.processes import babe_process, child_env

URL_LINE = re.compile(r"^Review page: (http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]+))$")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Served:
    """A running `babe review`: where it is, its secrets, and how to talk to it."""

    process: subprocess.Popen
    url: str
    port: int
    token: str
    output: Any = None
    csrf: str = ""

    @property
    def lines(self) -> list[str]:
        """What it printed on stdout so far."""
        return list(self.output.out)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def raw(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
        """One request exactly as given (Host included when `headers` names one)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            given = dict(headers or {})
            connection.putrequest(method, path, skip_host="Host" in given, skip_accept_encoding=True)
            if body is not None:
                given.setdefault("Content-Length", str(len(body)))
            for name, value in given.items():
                connection.putheader(name, value)
            connection.endheaders(body)
            answer = connection.getresponse()
            return Answer(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
        finally:
            connection.close()

    def get(self, path: str, **headers: str) -> Answer:
        """A GET as the page makes it: the token header on the API, `?token=` elsewhere."""
        if path.startswith("/api/"):
            return self.raw("GET", path, headers={"X-Babe-Token": self.token, **headers})
        joiner = "&" if "?" in path else "?"
        return self.raw("GET", f"{path}{joiner}token={self.token}", headers=headers)

    def api(self, path: str) -> Any:
        answer = self.get(path)
        assert answer.status == 200, (answer.status, answer.text)
        return answer.json

    def post(self, path: str, document: Any = None, **headers: str) -> Answer:
        """A POST as the page makes it: JSON, token, CSRF and Origin (each can be replaced or dropped with None)."""
        given = {
            "Content-Type": "application/json",
            "X-Babe-Token": self.token,
            "X-Babe-CSRF": self.csrf,
            "Origin": self.base,
            "Sec-Fetch-Site": "same-origin",
        }
        given.update({k.replace("_", "-"): v for k, v in headers.items()})
        body = json.dumps({} if document is None else document).encode()
        return self.raw("POST", path, body, {k: v for k, v in given.items() if v is not None})

    def decide(self, action: str, ids: list[str], **fields: Any) -> dict:
        """Preview then confirm, as a reviewer clicking through does; the decision's answer."""
        preview = self.post("/api/preview", {"action": action, "assignment_ids": ids, **fields})
        assert preview.status == 200, (preview.status, preview.text)
        assert preview.json["confirmation"], preview.json
        answer = self.post("/api/decide", {"confirmation": preview.json["confirmation"]})
        assert answer.status == 200, (answer.status, answer.text)
        return answer.json

    def stop(self, sig: int = signal.SIGINT) -> tuple[str, str]:
        """Ctrl-C (or `sig`): exit 0 and the summary line; (stdout, stderr) of the whole run."""
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        out, err = self.output.join()
        assert self.process.returncode == 0, (self.process.returncode, out, err)
        assert re.search(r"^Review ended: approved \d+, rejected \d+, bonuses \d+ for \S+\.$", out, re.M), out
        assert "Traceback" not in err, err
        return out, err


class _Output:
    """A child's stdout and stderr, read line by line in threads as they come (nothing lost to buffers)."""

    def __init__(self, process: subprocess.Popen):
        self.out: list[str] = []
        self.err: list[str] = []
        self.threads = [
            threading.Thread(target=self._drain, args=(process.stdout, self.out), daemon=True),
            threading.Thread(target=self._drain, args=(process.stderr, self.err), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _drain(stream, into: list[str]) -> None:
        for line in iter(stream.readline, ""):
            into.append(line)

    def join(self, timeout: float = 30) -> tuple[str, str]:
        for thread in self.threads:
            thread.join(timeout)
        return "".join(self.out), "".join(self.err)


def _read_url(process: subprocess.Popen, output: _Output, timeout: float = 60) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(output.out):
            found = URL_LINE.match(line.strip())
            if found:
                # The line of how many await a decision follows at once.
                while len(output.out) < 2 and time.monotonic() < deadline and process.poll() is None:
                    time.sleep(0.02)
                return found
        if process.poll() is not None:
            break
        time.sleep(0.02)
    process.kill()
    out, err = output.join()
    pytest.fail(f"babe review printed no URL: {out!r} {err!r}")


@pytest.fixture
def start_review(babe_env, request):
    """`start_review(*flags, folder=None, env=None)` → a `Served` `babe review --no-browser` of the experiment."""
    started: list[subprocess.Popen] = []

    def start(*flags: str, folder: Path | None = None, env: dict[str, str] | None = None) -> Served:
        where = folder or Path.cwd()
        # The folder's own plugins load (the child keeps installed ones out with BABE_PLUGINS, which
        # selects folder plugins too); a test adds installed ones through `env`.
        own = [p.stem for p in sorted((where / "plugins").glob("*.py")) if not p.stem.startswith("_")]
        extra = dict(env or {})
        extra["BABE_PLUGINS"] = ",".join([*own, *filter(None, extra.get("BABE_PLUGINS", "").split(","))])
        process = babe_process(["review", "--no-browser", *flags], where, child_env(babe_env.state, **extra))
        started.append(process)
        output = _Output(process)
        found = _read_url(process, output)
        served = Served(process, found.group(1), int(found.group(2)), found.group(3), output)
        page = served.get("/")
        assert page.status == 200, (page.status, page.text)
        meta = re.search(r'<meta name="babe-csrf" content="([^"]+)">', page.text)
        assert meta, page.text[:500]
        served.csrf = meta.group(1)
        return served

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate()


@dataclass(frozen=True)
class Work:
    assignment_id: str
    worker_id: str
    hit_id: str


@pytest.fixture
def submitted(babe, experiment, babe_workers):
    """`submitted(n, took="5m", answers=None)`: n assignments posted and submitted, each by a new worker
    after `took`; `answers[i]` is the i-th worker's form fields. The ledger knows them (status ran)."""

    def make(n: int, took: str = "5m", answers: list[dict] | None = None) -> list[Work]:
        created = babe("create", "--assignments", str(n), "--json")
        assert created.code == 0, created
        slots = [h["hit_id"] for h in created.json["hits"] for _ in range(h["assignments"])]
        work = []
        for index, hit_id in enumerate(slots):
            answer = (answers or [])[index] if answers and index < len(answers) else None
            assignment_id = babe_workers.complete(hit_id, took=took, answer=answer)
            work.append(assignment_id)
        status = babe("status")
        assert status.code == 0, status
        found = {a["AssignmentId"]: a for a in babe_workers.turk.assignments()}
        return [Work(i, found[i]["WorkerId"], found[i]["HITId"]) for i in work]

    return make


# -- Prolific ---------------------------------------------------------------------------------------
@pytest.fixture
def prolific(monkeypatch, tmp_path) -> dict[str, str]:
    """In-process runs and the `babe review` child both on this test's local Prolific; the child's extra environment."""
    state = tmp_path / "prolific.sqlite"
    env = {"BABE_PLUGINS": "prolific", "BABE_PROLIFIC_STATE": str(state), "BABE_PROLIFIC_SETTLE_SECONDS": "0"}
    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
    monkeypatch.delenv("PROLIFIC_TOKEN", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def prolific_study(prolific, tmp_path, monkeypatch, babe) -> tuple[Path, list[dict]]:
    """A study of 4 places at 1.50 (10 minutes), all four submitted; the ledger knows them."""
    from babe_prolific.local import simulate

    folder = tmp_path / "exp1"
    settings = {**DEFAULT_SETTINGS, "reward": "1.50", "assignments": 4, "platform": "prolific"}
    settings["plugins"] = {"prolific": {"estimated_minutes": 10}}
    ExperimentFolder(folder, settings)
    monkeypatch.chdir(folder)
    created = babe("create", "--json")
    assert created.code == 0, created
    (hit,) = created.json["hits"]
    people = [p for p in simulate(Path(prolific["BABE_PROLIFIC_STATE"]), hit["hit_id"], 4, seed=2) if p["outcome"] == "submit"]
    assert len(people) == 4
    assert babe("status").code == 0
    return folder, people
