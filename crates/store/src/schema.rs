//! The SQLite schema and its migrations, versioned with `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` turns a version-`i` database into version `i + 1`; a new schema
//! version appends one entry and never edits an old one. Timestamps are integers
//! (`*_ms` milliseconds since the epoch, `*_offset_min` the recorded UTC offset), IP
//! addresses canonical text (`IpAddr::to_string`), lists of ids and reasons JSON arrays.

use crate::StoreError;
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

/// Written to `PRAGMA application_id` so that a scantriage store can be recognised (`STRG`).
pub const APPLICATION_ID: i32 = 0x5354_5247;

/// Version 0 → 1: the first schema.
const V1: &str = "
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    started_ms    INTEGER NOT NULL,
    finished_ms   INTEGER NOT NULL,
    inputs        TEXT    NOT NULL,            -- JSON array of input paths
    lines         INTEGER NOT NULL CHECK (lines >= 0),
    parse_errors  INTEGER NOT NULL CHECK (parse_errors >= 0),
    findings      INTEGER NOT NULL CHECK (findings >= 0),
    decisions     INTEGER NOT NULL CHECK (decisions >= 0)
);

CREATE TABLE checkpoints (
    key           TEXT    PRIMARY KEY CHECK (key <> ''),
    fingerprint   TEXT    NOT NULL,
    byte_offset   INTEGER NOT NULL CHECK (byte_offset >= 0),
    lines         INTEGER NOT NULL CHECK (lines >= 0),
    updated_ms    INTEGER NOT NULL,
    run_id        INTEGER NOT NULL REFERENCES runs (id)
);

CREATE TABLE sources (
    ip                    TEXT    PRIMARY KEY,
    decision              TEXT    NOT NULL CHECK (decision IN ('ignore', 'watch', 'block')),
    verdict               TEXT    NOT NULL,
    events                INTEGER NOT NULL CHECK (events >= 0),
    findings              INTEGER NOT NULL CHECK (findings >= 0),
    signatures            TEXT    NOT NULL,    -- JSON array
    cves                  TEXT    NOT NULL,    -- JSON array
    reasons               TEXT    NOT NULL,    -- JSON array
    first_seen_ms         INTEGER NOT NULL,
    first_seen_offset_min INTEGER NOT NULL,
    last_seen_ms          INTEGER NOT NULL,
    last_seen_offset_min  INTEGER NOT NULL,
    duration_secs         INTEGER NOT NULL CHECK (duration_secs >= 0),
    n_benign              INTEGER NOT NULL CHECK (n_benign >= 0),
    n_noise               INTEGER NOT NULL CHECK (n_noise >= 0),
    n_unknown             INTEGER NOT NULL CHECK (n_unknown >= 0),
    n_relevant            INTEGER NOT NULL CHECK (n_relevant >= 0),
    n_urgent              INTEGER NOT NULL CHECK (n_urgent >= 0),
    run_id                INTEGER NOT NULL REFERENCES runs (id)
);

CREATE TABLE findings (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    source      TEXT    NOT NULL,
    time_ms     INTEGER NOT NULL,
    offset_min  INTEGER NOT NULL,
    input       TEXT    NOT NULL,
    line        INTEGER NOT NULL CHECK (line >= 0),
    request     TEXT    NOT NULL,
    status      INTEGER NOT NULL CHECK (status BETWEEN 0 AND 65535),
    user_agent  TEXT    NOT NULL,
    signatures  TEXT    NOT NULL,              -- JSON array
    cves        TEXT    NOT NULL,              -- JSON array
    category    TEXT    NOT NULL,
    verdict     TEXT    NOT NULL,
    why         TEXT    NOT NULL
);
CREATE INDEX findings_by_source_time ON findings (source, time_ms);
CREATE INDEX findings_by_time ON findings (time_ms);

CREATE TABLE decisions (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs (id),
    source         TEXT    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('ignore', 'watch', 'block')),
    duration_secs  INTEGER NOT NULL CHECK (duration_secs >= 0),
    reasons        TEXT    NOT NULL,           -- JSON array
    made_by        TEXT    NOT NULL,
    at_ms          INTEGER NOT NULL,
    at_offset_min  INTEGER NOT NULL,
    expires_ms     INTEGER NOT NULL            -- at_ms + duration, saturating
);
CREATE INDEX decisions_by_source_time ON decisions (source, at_ms);
CREATE INDEX decisions_by_expiry ON decisions (expires_ms);
";

/// Version 1 → 2: campaigns of each run, for the dashboard and later runs.
const V2: &str = "
CREATE TABLE campaigns (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs (id),
    kind           TEXT    NOT NULL,            -- target | signature | emerging
    key            TEXT    NOT NULL,            -- the target, signature id or template
    sources        INTEGER NOT NULL,
    requests       INTEGER NOT NULL,
    first_seen_ms  INTEGER NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    data           TEXT    NOT NULL             -- the campaign object as JSON
);
CREATE INDEX campaigns_by_kind_key ON campaigns (kind, key);
CREATE INDEX campaigns_by_run ON campaigns (run_id);
";

/// Version 2 → 3: a person's verdicts, and the index the triage queue reads findings by.
const V3: &str = "
CREATE TABLE verdicts (
    id          INTEGER PRIMARY KEY,
    action      TEXT    NOT NULL CHECK (action IN ('cannot_work', 'block', 'allow', 'acknowledge')),
    scope_kind  TEXT    NOT NULL CHECK (scope_kind IN ('signature', 'target', 'path', 'source')),
    scope       TEXT    NOT NULL CHECK (scope <> ''),
    author      TEXT    NOT NULL,
    at_ms       INTEGER NOT NULL,
    note        TEXT    NOT NULL,
    revoked_ms  INTEGER NULL
);
CREATE INDEX verdicts_by_scope ON verdicts (scope_kind, scope);
CREATE INDEX findings_by_verdict_time ON findings (verdict, time_ms);
";

/// Version 3 → 4: summary tables for the dashboard, so that its pages do not scan every
/// finding: findings per hour and verdict, matches per signature, open findings per
/// source and deciding signatures. A run adds its findings to them in aggregate (in the
/// same transaction); triggers follow re-assessments (verdict updates) and deletions.
const V4: &str = "
-- Also covers a source's timeline (verdict per hour) and its open findings without
-- reading rows; replaces the (source, time_ms) index.
DROP INDEX findings_by_source_time;
CREATE INDEX findings_by_source_time_verdict ON findings (source, time_ms, verdict);

CREATE TABLE finding_hours (
    hour_ms  INTEGER NOT NULL,                  -- start of the hour, ms since the epoch
    verdict  TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (hour_ms, verdict)
) WITHOUT ROWID;
INSERT INTO finding_hours (hour_ms, verdict, n)
    SELECT (time_ms / 3600000) * 3600000, verdict, count(*) FROM findings GROUP BY 1, 2;
CREATE TRIGGER finding_hours_update AFTER UPDATE OF verdict, time_ms ON findings BEGIN
    UPDATE finding_hours SET n = n - 1
        WHERE hour_ms = (OLD.time_ms / 3600000) * 3600000 AND verdict = OLD.verdict;
    INSERT INTO finding_hours (hour_ms, verdict, n)
        VALUES ((NEW.time_ms / 3600000) * 3600000, NEW.verdict, 1)
        ON CONFLICT (hour_ms, verdict) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER finding_hours_delete AFTER DELETE ON findings BEGIN
    UPDATE finding_hours SET n = n - 1
        WHERE hour_ms = (OLD.time_ms / 3600000) * 3600000 AND verdict = OLD.verdict;
END;

CREATE TABLE signature_stats (
    signature  TEXT    PRIMARY KEY,
    matches    INTEGER NOT NULL,                -- findings it decided
    last_ms    INTEGER NOT NULL                 -- its newest match
) WITHOUT ROWID;
INSERT INTO signature_stats (signature, matches, last_ms)
    SELECT j.value, count(*), max(f.time_ms) FROM findings AS f, json_each(f.signatures) AS j
    GROUP BY j.value;

-- Open findings (unknown, relevant, urgent) per source, deciding signatures and verdict:
-- the triage queue. `last_ms` is the newest open finding ever counted in the row.
CREATE TABLE queue_summary (
    source      TEXT    NOT NULL,
    signatures  TEXT    NOT NULL,               -- JSON array, as in findings
    verdict     TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    last_ms     INTEGER NOT NULL,
    PRIMARY KEY (source, signatures, verdict)
) WITHOUT ROWID;
INSERT INTO queue_summary (source, signatures, verdict, n, last_ms)
    SELECT source, signatures, verdict, count(*), max(time_ms) FROM findings
    WHERE verdict IN ('unknown', 'relevant', 'urgent') GROUP BY 1, 2, 3;
CREATE TRIGGER queue_summary_update_old AFTER UPDATE OF verdict, source, signatures ON findings
WHEN OLD.verdict IN ('unknown', 'relevant', 'urgent') BEGIN
    UPDATE queue_summary SET n = n - 1
        WHERE source = OLD.source AND signatures = OLD.signatures AND verdict = OLD.verdict;
END;
CREATE TRIGGER queue_summary_update_new AFTER UPDATE OF verdict, source, signatures ON findings
WHEN NEW.verdict IN ('unknown', 'relevant', 'urgent') BEGIN
    INSERT INTO queue_summary (source, signatures, verdict, n, last_ms)
        VALUES (NEW.source, NEW.signatures, NEW.verdict, 1, NEW.time_ms)
        ON CONFLICT (source, signatures, verdict) DO UPDATE
            SET n = n + 1, last_ms = max(last_ms, excluded.last_ms);
END;
CREATE TRIGGER queue_summary_delete AFTER DELETE ON findings
WHEN OLD.verdict IN ('unknown', 'relevant', 'urgent') BEGIN
    UPDATE queue_summary SET n = n - 1
        WHERE source = OLD.source AND signatures = OLD.signatures AND verdict = OLD.verdict;
END;
";

/// Migration scripts; `MIGRATIONS[i]` upgrades version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4];

/// The schema version this build writes and reads.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`CURRENT_VERSION`], refusing a newer or foreign database.
///
/// Runs in one immediate transaction, so two processes opening a new store at once do
/// not both create the schema, and a failed migration leaves the file as it was.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let err = |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        op: "read the schema version",
        source,
    };
    // Cheap check outside a write transaction, so a read-only reader of a current store
    // never takes the write lock.
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    if found == CURRENT_VERSION {
        return Ok(());
    }
    check_not_newer(path, found)?;

    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    // Read again under the lock: another process may have migrated meanwhile.
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    check_not_newer(path, found)?;
    if found == 0 {
        let tables: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(err)?;
        if tables > 0 {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
            });
        }
    }
    let merr = |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        op: "migrate the schema",
        source,
    };
    for (from, script) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(script).map_err(merr)?;
        tx.pragma_update(None, "user_version", from as i64 + 1)
            .map_err(merr)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(merr)?;
    tx.commit().map_err(merr)
}

fn check_not_newer(path: &Path, found: i64) -> Result<(), StoreError> {
    if found < 0 {
        return Err(StoreError::NotAStore {
            path: path.to_path_buf(),
        });
    }
    if found > CURRENT_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: CURRENT_VERSION,
        });
    }
    Ok(())
}
