-- A ledger as babe-tasks wrote it before issue 16 (schema version 3, PRAGMA user_version = 3), written
-- by that version's babe_tasks/ledger.py (commit 2a49a55) through its own API: a finished plan of one
-- HIT, two assignments (one approved with its reward and fee, one rejected), a paid bonus, an
-- exclusion record, the extensions table (empty). tests/ledger/test_engines.py adopts it.
PRAGMA user_version = 3;
BEGIN TRANSACTION;
CREATE TABLE assignments (
    assignment_id  TEXT PRIMARY KEY,
    hit_id         TEXT NOT NULL,
    experiment     TEXT NOT NULL,
    target         TEXT NOT NULL,
    worker_id      TEXT NOT NULL,
    status         TEXT NOT NULL,
    accept_time    REAL,
    submit_time    REAL,
    seen_at        REAL NOT NULL,
    updated_at     REAL NOT NULL
);
INSERT INTO "assignments" VALUES('ASG1','HIT0','pilot','local','W1','Approved',1796518800.0,1796522400.0,1.79653902002950596802e+09,1.79653902002958178523e+09);
INSERT INTO "assignments" VALUES('ASG2','HIT0','pilot','local','W2','Rejected',1796518800.0,1796526000.0,1.79653902002950596802e+09,1.796539020029825449e+09);
CREATE TABLE bonuses (
    token          TEXT PRIMARY KEY,
    identity       TEXT NOT NULL,
    attempt        INTEGER NOT NULL,
    experiment     TEXT NOT NULL,
    target         TEXT NOT NULL,
    location       TEXT NOT NULL,
    hit_id         TEXT,
    assignment_id  TEXT NOT NULL,
    worker_id      TEXT NOT NULL,
    amount         TEXT NOT NULL,
    fee            TEXT NOT NULL,
    reason         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('sending', 'paid')),
    sent_at        REAL NOT NULL,
    paid_at        REAL,
    error          TEXT,
    created_at     REAL NOT NULL,
    UNIQUE (identity, attempt)
);
INSERT INTO "bonuses" VALUES('tok1','tok1',0,'pilot','local','local:/state','HIT0','ASG1','W1','1.25','0.25','well done','paid',1000.0,1.79653902002971434595e+09,NULL,1.79653902002966761588e+09);
CREATE TABLE exclusion_experiments (
    experiment  TEXT NOT NULL,
    target      TEXT NOT NULL,
    first_seen  REAL NOT NULL,
    PRIMARY KEY (experiment, target)
);
INSERT INTO "exclusion_experiments" VALUES('pilot','local',1.79653902003030419348e+09);
CREATE TABLE exclusion_grants (
    qualification_type_id  TEXT NOT NULL,
    worker_id              TEXT NOT NULL,
    value                  INTEGER NOT NULL,
    granted_at             REAL NOT NULL,
    PRIMARY KEY (qualification_type_id, worker_id)
);
CREATE TABLE exclusion_types (
    experiment             TEXT NOT NULL,
    target                 TEXT NOT NULL,
    kind                   TEXT NOT NULL CHECK (kind IN ('worker', 'excluded')),
    location               TEXT NOT NULL,
    qualification_type_id  TEXT NOT NULL,
    recorded_at            REAL NOT NULL,
    PRIMARY KEY (experiment, target, kind)
);
CREATE TABLE extensions (
    extension_id  TEXT PRIMARY KEY,
    experiment    TEXT NOT NULL,
    target        TEXT NOT NULL,
    location      TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    plan          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'done')),
    created_at    REAL NOT NULL,
    finished_at   REAL
);
CREATE TABLE hits (
    plan_id          TEXT NOT NULL REFERENCES plans (plan_id),
    idx              INTEGER NOT NULL,
    hit_id           TEXT UNIQUE,
    experiment       TEXT NOT NULL,
    target           TEXT NOT NULL,
    location         TEXT NOT NULL,
    hit_type_id      TEXT,
    hit_group_id     TEXT,
    max_assignments  INTEGER NOT NULL,
    reward           TEXT NOT NULL,
    masters          INTEGER NOT NULL DEFAULT 0,
    token            TEXT NOT NULL,
    annotation       TEXT NOT NULL,
    expires_at       REAL,
    status           TEXT NOT NULL DEFAULT 'Planned',
    posted_at        REAL,
    updated_at       REAL,
    platform         TEXT NOT NULL DEFAULT 'mturk',
    PRIMARY KEY (plan_id, idx)
);
INSERT INTO "hits" VALUES('6d42e1018e63405e',0,'HIT0','pilot','local','local:/state','TYPE1','GROUP1',4,'0.50',0,'2e58798426c99b99c7684eca43d1ac455300cf9cac78725804566f651cd5815b','babe-tasks experiment=pilot plan=6d42e1018e63405e hit=1/1',1797120000.0,'Assignable',1.79653902002939963337e+09,1.79653902002939963337e+09,'mturk');
CREATE TABLE payments (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('reward', 'fee', 'bonus', 'bonus_fee')),
    experiment     TEXT NOT NULL,
    target         TEXT NOT NULL,
    hit_id         TEXT,
    assignment_id  TEXT NOT NULL,
    worker_id      TEXT,
    amount         TEXT NOT NULL,
    token          TEXT NOT NULL DEFAULT '',
    reason         TEXT,
    created_at     REAL NOT NULL,
    UNIQUE (kind, assignment_id, token)
);
INSERT INTO "payments" VALUES(1,'reward','pilot','local','HIT0','ASG1','W1','0.50','',NULL,1.79653902002958178523e+09);
INSERT INTO "payments" VALUES(2,'fee','pilot','local','HIT0','ASG1','W1','0.10','',NULL,1.79653902002958178523e+09);
INSERT INTO "payments" VALUES(3,'bonus','pilot','local','HIT0','ASG1','W1','1.25','tok1','well done',1.79653902002971434595e+09);
INSERT INTO "payments" VALUES(4,'bonus_fee','pilot','local','HIT0','ASG1','W1','0.25','tok1','well done',1.79653902002971434595e+09);
CREATE TABLE plans (
    plan_id      TEXT PRIMARY KEY,
    experiment   TEXT NOT NULL,
    target       TEXT NOT NULL,
    location     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    parameters   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'done')),
    hit_type_id  TEXT,
    created_at   REAL NOT NULL,
    finished_at  REAL
);
INSERT INTO "plans" VALUES('6d42e1018e63405e','pilot','local','local:/state','ca913bbf0bf24fc409799b8878dd6db3fd1d6c9bf12a2878c1958e3f70fd1e64','{"assignments": 4, "auto_approve": 259200, "batch_size": 9, "description": "d", "duration": 3600, "exclude_experiments": null, "experiment": "pilot", "frame_height": 0, "hit_sizes": [4], "hit_type_id": null, "keywords": "", "lifetime": 604800, "masters": false, "qualification_requirements": [], "question_xml": null, "reward": "0.50", "target": "local", "title": "t", "unique_workers": true, "url": "https://example.org/x/"}','done',NULL,1.79653902002880048755e+09,1.79653902002946114536e+09);
CREATE TABLE rejections (
    assignment_id  TEXT PRIMARY KEY,
    experiment     TEXT NOT NULL,
    target         TEXT NOT NULL,
    hit_id         TEXT NOT NULL,
    worker_id      TEXT NOT NULL,
    reason         TEXT NOT NULL,
    rejected_at    REAL NOT NULL
);
INSERT INTO "rejections" VALUES('ASG2','pilot','local','HIT0','W2','no code',1.79653902002984571461e+09);
CREATE INDEX plans_by_fingerprint ON plans (experiment, target, fingerprint, status);
CREATE INDEX hits_by_experiment ON hits (experiment, target);
CREATE INDEX assignments_by_experiment ON assignments (experiment, target);
CREATE INDEX assignments_by_hit ON assignments (hit_id);
CREATE INDEX payments_by_experiment ON payments (experiment, target);
CREATE INDEX bonuses_by_experiment ON bonuses (experiment, target);
CREATE INDEX bonuses_by_assignment ON bonuses (assignment_id);
CREATE INDEX extensions_open ON extensions (experiment, target, fingerprint, status)
;
COMMIT;
