import SQLiteDB

/// The database schema as named, append-only migrations. Never edit a shipped migration: add one.
///
/// Snapshots share structure: a principal or managed policy that did not change between snapshots is
/// stored once as a content-addressed *state*, and each snapshot only links to the states it holds
/// (plus the few attributes that move every month, such as `RoleLastUsed`). Policy documents are
/// content-addressed the same way. Views give the flat per-snapshot picture for SQL users; README's
/// "Database" section documents them.
enum Schema {
  static let migrations: [SQLiteMigrator.Migration] = [
    .init(
      name: "0001-snapshots-states-and-documents",
      sql: """
        CREATE TABLE documents (
          id INTEGER PRIMARY KEY,
          sha256 TEXT NOT NULL UNIQUE,
          canonical TEXT NOT NULL
        );
        CREATE TABLE snapshots (
          id INTEGER PRIMARY KEY,
          account_id TEXT NOT NULL,
          captured_at TEXT NOT NULL,
          captured_at_source TEXT NOT NULL CHECK (captured_at_source IN ('option', 'file-mtime', 'ingest-time')),
          ingested_at TEXT NOT NULL,
          source_name TEXT NOT NULL,
          byte_size INTEGER NOT NULL,
          sha256 TEXT NOT NULL UNIQUE,
          encoding TEXT NOT NULL,
          tool_version TEXT NOT NULL,
          label TEXT,
          is_truncated INTEGER NOT NULL DEFAULT 0,
          marker TEXT,
          user_count INTEGER NOT NULL,
          group_count INTEGER NOT NULL,
          role_count INTEGER NOT NULL,
          managed_policy_count INTEGER NOT NULL,
          inline_policy_count INTEGER NOT NULL
        );
        CREATE INDEX snapshots_account_captured ON snapshots(account_id, captured_at);

        CREATE TABLE principal_states (
          id INTEGER PRIMARY KEY,
          sha256 TEXT NOT NULL UNIQUE,
          principal_type TEXT NOT NULL CHECK (principal_type IN ('user', 'group', 'role')),
          principal_id TEXT NOT NULL,
          name TEXT NOT NULL,
          arn TEXT NOT NULL,
          path TEXT,
          create_date TEXT,
          boundary_arn TEXT,
          boundary_type TEXT,
          trust_document_id INTEGER REFERENCES documents(id)
        );
        CREATE TABLE principal_inline_policies (
          principal_state INTEGER NOT NULL REFERENCES principal_states(id),
          policy_name TEXT NOT NULL,
          position INTEGER NOT NULL,
          document_id INTEGER NOT NULL REFERENCES documents(id),
          PRIMARY KEY (principal_state, policy_name)
        ) WITHOUT ROWID;
        CREATE TABLE principal_attachments (
          principal_state INTEGER NOT NULL REFERENCES principal_states(id),
          policy_arn TEXT NOT NULL,
          policy_name TEXT NOT NULL,
          position INTEGER NOT NULL,
          PRIMARY KEY (principal_state, policy_arn)
        ) WITHOUT ROWID;
        CREATE TABLE principal_groups (
          principal_state INTEGER NOT NULL REFERENCES principal_states(id),
          group_name TEXT NOT NULL,
          position INTEGER NOT NULL,
          PRIMARY KEY (principal_state, group_name)
        ) WITHOUT ROWID;
        CREATE TABLE principal_tags (
          principal_state INTEGER NOT NULL REFERENCES principal_states(id),
          key TEXT NOT NULL,
          value TEXT NOT NULL,
          position INTEGER NOT NULL,
          PRIMARY KEY (principal_state, key)
        ) WITHOUT ROWID;
        CREATE TABLE principal_instance_profiles (
          principal_state INTEGER NOT NULL REFERENCES principal_states(id),
          name TEXT NOT NULL,
          instance_profile_id TEXT,
          arn TEXT,
          position INTEGER NOT NULL,
          PRIMARY KEY (principal_state, name)
        ) WITHOUT ROWID;
        -- RoleLastUsed moves every month: each distinct (role state, date, region) is stored once.
        CREATE TABLE role_usages (
          id INTEGER PRIMARY KEY,
          principal_state INTEGER NOT NULL REFERENCES principal_states(id),
          last_used_date TEXT NOT NULL,
          last_used_region TEXT NOT NULL,
          UNIQUE (principal_state, last_used_date, last_used_region)
        );
        -- What a snapshot holds: principal_states ids and role_usages ids as JSON arrays, sorted
        -- ascending and delta-encoded (first id, then differences). The snapshot_principals view
        -- decodes them.
        CREATE TABLE snapshot_principal_lists (
          snapshot_id INTEGER PRIMARY KEY REFERENCES snapshots(id),
          state_ids TEXT NOT NULL,
          usage_ids TEXT NOT NULL
        );
        CREATE VIEW snapshot_principals AS
          WITH states AS (
            SELECT l.snapshot_id,
                   SUM(j.value) OVER (PARTITION BY l.snapshot_id ORDER BY CAST(j.key AS INTEGER) ROWS UNBOUNDED PRECEDING)
                     AS principal_state
            FROM snapshot_principal_lists l, json_each(l.state_ids) j),
          usages AS (
            SELECT l.snapshot_id,
                   SUM(j.value) OVER (PARTITION BY l.snapshot_id ORDER BY CAST(j.key AS INTEGER) ROWS UNBOUNDED PRECEDING)
                     AS usage_id
            FROM snapshot_principal_lists l, json_each(l.usage_ids) j),
          used AS (
            SELECT u.snapshot_id, r.principal_state, r.last_used_date, r.last_used_region
            FROM usages u JOIN role_usages r ON r.id = u.usage_id)
          SELECT s.snapshot_id, s.principal_state, NULLIF(used.last_used_date, '') AS role_last_used_date,
                 NULLIF(used.last_used_region, '') AS role_last_used_region
          FROM states s LEFT JOIN used ON used.snapshot_id = s.snapshot_id AND used.principal_state = s.principal_state;

        CREATE TABLE managed_policy_states (
          id INTEGER PRIMARY KEY,
          sha256 TEXT NOT NULL UNIQUE,
          arn TEXT NOT NULL,
          policy_id TEXT,
          name TEXT NOT NULL,
          path TEXT,
          default_version_id TEXT,
          is_attachable INTEGER,
          description TEXT,
          create_date TEXT,
          update_date TEXT,
          is_aws_managed INTEGER NOT NULL
        );
        CREATE TABLE managed_policy_state_versions (
          policy_state INTEGER NOT NULL REFERENCES managed_policy_states(id),
          version_id TEXT NOT NULL,
          is_default INTEGER NOT NULL,
          create_date TEXT,
          position INTEGER NOT NULL,
          document_id INTEGER NOT NULL REFERENCES documents(id),
          PRIMARY KEY (policy_state, version_id)
        ) WITHOUT ROWID;
        CREATE TABLE snapshot_managed_policies (
          snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
          policy_state INTEGER NOT NULL REFERENCES managed_policy_states(id),
          attachment_count INTEGER,
          boundary_usage_count INTEGER,
          PRIMARY KEY (snapshot_id, policy_state)
        ) WITHOUT ROWID;

        CREATE VIEW principals AS
          SELECT sp.snapshot_id, ps.id AS state_id, ps.principal_type, ps.principal_id, ps.name, ps.arn, ps.path,
                 ps.create_date, ps.boundary_arn, ps.boundary_type, d.sha256 AS trust_document_sha256,
                 sp.role_last_used_date, sp.role_last_used_region
          FROM snapshot_principals sp JOIN principal_states ps ON ps.id = sp.principal_state
          LEFT JOIN documents d ON d.id = ps.trust_document_id;
        CREATE VIEW inline_policies AS
          SELECT sp.snapshot_id, ps.principal_type, ps.principal_id, ps.name AS principal_name, ps.arn AS principal_arn,
                 ip.policy_name, ip.position, d.sha256 AS document_sha256, d.canonical AS document
          FROM snapshot_principals sp JOIN principal_states ps ON ps.id = sp.principal_state
          JOIN principal_inline_policies ip ON ip.principal_state = ps.id JOIN documents d ON d.id = ip.document_id;
        CREATE VIEW attachments AS
          SELECT sp.snapshot_id, ps.principal_type, ps.name AS principal_name, ps.arn AS principal_arn,
                 a.policy_arn, a.policy_name
          FROM snapshot_principals sp JOIN principal_states ps ON ps.id = sp.principal_state
          JOIN principal_attachments a ON a.principal_state = ps.id;
        CREATE VIEW group_memberships AS
          SELECT sp.snapshot_id, ps.name AS user_name, ps.arn AS user_arn, g.group_name
          FROM snapshot_principals sp JOIN principal_states ps ON ps.id = sp.principal_state
          JOIN principal_groups g ON g.principal_state = ps.id;
        CREATE VIEW tags AS
          SELECT sp.snapshot_id, ps.principal_type, ps.name AS principal_name, ps.arn AS principal_arn, t.key, t.value
          FROM snapshot_principals sp JOIN principal_states ps ON ps.id = sp.principal_state
          JOIN principal_tags t ON t.principal_state = ps.id;
        CREATE VIEW managed_policies AS
          SELECT smp.snapshot_id, s.id AS state_id, s.arn, s.policy_id, s.name, s.path, s.default_version_id,
                 smp.attachment_count, smp.boundary_usage_count, s.is_attachable, s.description, s.create_date,
                 s.update_date, s.is_aws_managed
          FROM snapshot_managed_policies smp JOIN managed_policy_states s ON s.id = smp.policy_state;
        CREATE VIEW managed_policy_versions AS
          SELECT smp.snapshot_id, s.arn AS policy_arn, s.name AS policy_name, v.version_id, v.is_default,
                 v.create_date, d.sha256 AS document_sha256, d.canonical AS document
          FROM snapshot_managed_policies smp JOIN managed_policy_states s ON s.id = smp.policy_state
          JOIN managed_policy_state_versions v ON v.policy_state = s.id JOIN documents d ON d.id = v.document_id;
        """
    ),
    .init(
      name: "0002-assessments-and-results",
      sql: """
        CREATE TABLE assessments (
          id INTEGER PRIMARY KEY,
          snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
          assessed_at TEXT NOT NULL,
          tool_version TEXT NOT NULL,
          checks TEXT NOT NULL,
          exceptions_source TEXT,
          exceptions_sha256 TEXT NOT NULL,
          exceptions_content TEXT NOT NULL,
          stale_exceptions TEXT NOT NULL
        );
        CREATE INDEX assessments_snapshot ON assessments(snapshot_id);
        -- Each distinct result (a subject's verdict under one check version, all its details) is
        -- stored once; a snapshot lists the results it has per check. A month where little changed
        -- therefore adds a list of ids, not thousands of rows.
        CREATE TABLE result_details (
          id INTEGER PRIMARY KEY,
          sha256 TEXT NOT NULL UNIQUE,
          check_id TEXT NOT NULL,
          check_version INTEGER NOT NULL,
          finding_key TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'excepted', 'error')),
          principal_type TEXT,
          principal_id TEXT,
          principal_name TEXT,
          principal_arn TEXT,
          policy_kind TEXT,
          policy_name TEXT,
          policy_arn TEXT,
          policy_version TEXT,
          document_sha256 TEXT,
          exception_id TEXT,
          detail TEXT NOT NULL
        );
        CREATE INDEX result_details_finding_key ON result_details(finding_key);
        CREATE TABLE snapshot_results (
          id INTEGER PRIMARY KEY,
          snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
          check_id TEXT NOT NULL,
          check_version INTEGER NOT NULL,
          assessment_id INTEGER NOT NULL REFERENCES assessments(id),
          tool_version TEXT NOT NULL,
          fail INTEGER NOT NULL,
          excepted INTEGER NOT NULL,
          pass INTEGER NOT NULL,
          error INTEGER NOT NULL,
          -- The result_details ids of every result, and of the open ones (fail or excepted) that
          -- trends follow, as JSON arrays sorted ascending and delta-encoded (the first id, then the
          -- differences): consecutive ids cost a byte or two. The results view decodes them.
          result_ids TEXT NOT NULL,
          open_ids TEXT NOT NULL,
          -- A rowid table on purpose: its rows (kilobytes of ids) stay on the page; an index-organised
          -- table would spill each of them to a mostly empty overflow page.
          UNIQUE (snapshot_id, check_id, check_version)
        );
        CREATE VIEW results AS
          WITH ids AS (
            SELECT sr.snapshot_id, sr.assessment_id, sr.tool_version, CAST(j.key AS INTEGER) AS position,
                   SUM(j.value) OVER (
                     PARTITION BY sr.snapshot_id, sr.check_id, sr.check_version ORDER BY CAST(j.key AS INTEGER)
                     ROWS UNBOUNDED PRECEDING) AS detail_id
            FROM snapshot_results sr, json_each(sr.result_ids) j)
          SELECT ids.snapshot_id, ids.assessment_id, d.check_id, d.check_version, ids.tool_version, d.finding_key, d.status,
                 d.principal_type, d.principal_id, d.principal_name, d.principal_arn, d.policy_kind, d.policy_name,
                 d.policy_arn, d.policy_version, d.document_sha256, d.exception_id, ids.position, d.detail
          FROM ids JOIN result_details d ON d.id = ids.detail_id;
        """
    ),
    .init(
      name: "0003-long-strings",
      sql: """
        -- Strings of 1 KiB or more in result_details (its columns, and JSON strings inside detail),
        -- each stored once; the results refer to them as U+0001 <id> U+0002 (see LongStrings).
        CREATE TABLE long_strings (
          id INTEGER PRIMARY KEY,
          sha256 TEXT NOT NULL UNIQUE,
          text TEXT NOT NULL
        );
        """
    ),
    .init(
      name: "0004-ledger",
      sql: """
        -- Tamper evidence: an append-only hash chain with one entry per ingest and per assessment,
        -- each recording digests of the rows written (see Ledger). The triggers keep honest mistakes
        -- out; the chain and its heads in the evidence catch the rest.
        CREATE TABLE ledger (
          id INTEGER PRIMARY KEY,
          kind TEXT NOT NULL CHECK (kind IN ('ingest', 'assessment')),
          snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
          assessment_id INTEGER REFERENCES assessments(id),
          recorded_at TEXT NOT NULL,
          backfilled INTEGER NOT NULL,
          entry TEXT NOT NULL,
          digest TEXT NOT NULL,
          head TEXT NOT NULL
        );
        CREATE INDEX ledger_snapshot ON ledger(snapshot_id);
        CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
        CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
        """,
      // A database written before the ledger gets entries for the rows it holds, marked backfilled.
      complete: { db, appliedAt in try Ledger(db: db, path: db.path).backfill(recordedAt: appliedAt) }
    ),
    .init(
      name: "0005-latest-check-version",
      sql: """
        -- A snapshot keeps the results of every version of a check it was assessed with (a new tool
        -- version may change a check's meaning); readers use exactly one per snapshot and check: the
        -- version of its latest assessment. This view is that selection, and the results view reads it.
        CREATE VIEW latest_snapshot_results AS
          SELECT sr.* FROM snapshot_results sr
          WHERE sr.assessment_id = (
            SELECT max(o.assessment_id) FROM snapshot_results o WHERE o.snapshot_id = sr.snapshot_id AND o.check_id = sr.check_id);
        DROP VIEW results;
        CREATE VIEW results AS
          WITH ids AS (
            SELECT sr.snapshot_id, sr.assessment_id, sr.tool_version, CAST(j.key AS INTEGER) AS position,
                   SUM(j.value) OVER (
                     PARTITION BY sr.snapshot_id, sr.check_id, sr.check_version ORDER BY CAST(j.key AS INTEGER)
                     ROWS UNBOUNDED PRECEDING) AS detail_id
            FROM latest_snapshot_results sr, json_each(sr.result_ids) j)
          SELECT ids.snapshot_id, ids.assessment_id, d.check_id, d.check_version, ids.tool_version, d.finding_key, d.status,
                 d.principal_type, d.principal_id, d.principal_name, d.principal_arn, d.policy_kind, d.policy_name,
                 d.policy_arn, d.policy_version, d.document_sha256, d.exception_id, ids.position, d.detail
          FROM ids JOIN result_details d ON d.id = ids.detail_id;
        """
    ),
    // 0006 is taken by another branch. Migrations are applied in this list's order, each once by name
    // (SQLiteMigrator): a database that already has 0008-reviews (written before 0007 existed) gets
    // 0007 applied after it, so 0007 must not depend on 0008's tables (it looks for them at run time).
    .init(
      name: "0007-provenance",
      sql: """
        -- Who took and loaded each snapshot, and with which build (ingest --operator, --caller-identity,
        -- the host, the OS user, the tool's version and source hash): written in the snapshot's ingest
        -- transaction and covered by its ledger entry. A snapshot ingested before this migration, or by
        -- the library without provenance, has no row.
        CREATE TABLE snapshot_provenance (
          snapshot_id INTEGER PRIMARY KEY REFERENCES snapshots(id),
          operator TEXT,
          caller_user_id TEXT,
          caller_account TEXT,
          caller_arn TEXT,
          caller_source TEXT,
          caller_sha256 TEXT,
          host TEXT NOT NULL,
          os_user TEXT NOT NULL,
          tool_name TEXT NOT NULL,
          tool_version TEXT NOT NULL,
          tool_source_sha256 TEXT NOT NULL,
          CHECK ((caller_arn IS NULL) = (caller_account IS NULL) AND (caller_arn IS NULL) = (caller_sha256 IS NULL))
        );
        CREATE TRIGGER snapshot_provenance_no_update BEFORE UPDATE ON snapshot_provenance
          BEGIN SELECT RAISE(ABORT, 'provenance is append-only'); END;
        CREATE TRIGGER snapshot_provenance_no_delete BEFORE DELETE ON snapshot_provenance
          BEGIN SELECT RAISE(ABORT, 'provenance is append-only'); END;

        -- The ledger records access reviews too (kind 'review', review_id): SQLite cannot change a
        -- CHECK constraint, so the table is copied into one that allows the kind, every entry as it
        -- was (id, text, digest and head unchanged: the chain is the same chain).
        CREATE TABLE ledger_0007 (
          id INTEGER PRIMARY KEY,
          kind TEXT NOT NULL CHECK (kind IN ('ingest', 'assessment', 'review')),
          snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
          assessment_id INTEGER REFERENCES assessments(id),
          review_id INTEGER,
          recorded_at TEXT NOT NULL,
          backfilled INTEGER NOT NULL,
          entry TEXT NOT NULL,
          digest TEXT NOT NULL,
          head TEXT NOT NULL
        );
        INSERT INTO ledger_0007 (id, kind, snapshot_id, assessment_id, review_id, recorded_at, backfilled, entry, digest, head)
          SELECT id, kind, snapshot_id, assessment_id, NULL, recorded_at, backfilled, entry, digest, head FROM ledger ORDER BY id;
        DROP TRIGGER ledger_no_update;
        DROP TRIGGER ledger_no_delete;
        DROP TABLE ledger;
        ALTER TABLE ledger_0007 RENAME TO ledger;
        CREATE INDEX ledger_snapshot ON ledger(snapshot_id);
        CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
        CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
        """,
      // Reviews imported before the ledger recorded them (0008-reviews applied first) get entries, marked backfilled.
      complete: { db, appliedAt in try Ledger(db: db, path: db.path).backfillReviews(recordedAt: appliedAt) }
    ),
    .init(
      name: "0006-result-bodies",
      sql: """
        -- A result whose detail is its subject's columns plus text shared by many results (the passes
        -- of a check) keeps an empty detail and points at that text, stored once (see ResultBody): the
        -- detail with the values of document_sha256, finding_key, policy_arn, policy_name,
        -- policy_version, principal_arn, principal_id and principal_name replaced by the byte 0x03 and
        -- the letters a to h. The results view puts the columns back (as JSON strings, or null).
        CREATE TABLE result_bodies (
          id INTEGER PRIMARY KEY,
          sha256 TEXT NOT NULL UNIQUE,
          template TEXT NOT NULL
        );
        ALTER TABLE result_details ADD COLUMN body_id INTEGER REFERENCES result_bodies(id);
        -- Nothing looks results up by finding key (readers go by id, from the snapshot's lists), and
        -- keeping the index cost a sixth of the time of storing a result.
        DROP INDEX result_details_finding_key;
        DROP VIEW results;
        CREATE VIEW results AS
          WITH ids AS (
            SELECT sr.snapshot_id, sr.assessment_id, sr.tool_version, CAST(j.key AS INTEGER) AS position,
                   SUM(j.value) OVER (
                     PARTITION BY sr.snapshot_id, sr.check_id, sr.check_version ORDER BY CAST(j.key AS INTEGER)
                     ROWS UNBOUNDED PRECEDING) AS detail_id
            FROM latest_snapshot_results sr, json_each(sr.result_ids) j)
          SELECT ids.snapshot_id, ids.assessment_id, d.check_id, d.check_version, ids.tool_version, d.finding_key, d.status,
                 d.principal_type, d.principal_id, d.principal_name, d.principal_arn, d.policy_kind, d.policy_name,
                 d.policy_arn, d.policy_version, d.document_sha256, d.exception_id, ids.position,
                 CASE WHEN d.body_id IS NULL THEN d.detail ELSE
                   replace(replace(replace(replace(replace(replace(replace(replace(b.template,
                     char(3) || 'a', json_quote(d.document_sha256)), char(3) || 'b', json_quote(d.finding_key)),
                     char(3) || 'c', json_quote(d.policy_arn)), char(3) || 'd', json_quote(d.policy_name)),
                     char(3) || 'e', json_quote(d.policy_version)), char(3) || 'f', json_quote(d.principal_arn)),
                     char(3) || 'g', json_quote(d.principal_id)), char(3) || 'h', json_quote(d.principal_name))
                 END AS detail
          FROM ids JOIN result_details d ON d.id = ids.detail_id LEFT JOIN result_bodies b ON b.id = d.body_id;
        """
    ),
    .init(
      name: "0008-reviews",
      sql: """
        -- Access reviews (`review import`): one row per imported sheet, with the sheet itself (so that
        -- it can be produced again and its signature checked), and one row per answered item.
        -- Append-only, like the ledger: a review is a record of what was decided.
        CREATE TABLE reviews (
          id INTEGER PRIMARY KEY,
          snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
          sheet_sha256 TEXT NOT NULL,
          sheet TEXT NOT NULL,
          source_name TEXT NOT NULL,
          imported_at TEXT NOT NULL,
          tool_version TEXT NOT NULL,
          reviewers TEXT NOT NULL,
          first_reviewed_on TEXT NOT NULL,
          last_reviewed_on TEXT NOT NULL,
          signer_fingerprint TEXT,
          signer_public_key TEXT,
          signature TEXT,
          UNIQUE (snapshot_id, sheet_sha256)
        );
        CREATE TABLE review_rows (
          review_id INTEGER NOT NULL REFERENCES reviews(id),
          position INTEGER NOT NULL,
          row_id TEXT NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('priv', 'finding')),
          principal_type TEXT,
          principal_id TEXT,
          principal_name TEXT,
          principal_arn TEXT,
          subject TEXT NOT NULL,
          finding_identity TEXT,
          decision TEXT NOT NULL CHECK (decision IN ('keep', 'revoke', 'exception')),
          reviewer TEXT NOT NULL,
          reviewed_on TEXT NOT NULL,
          comment TEXT NOT NULL,
          ticket TEXT NOT NULL,
          PRIMARY KEY (review_id, row_id)
        ) WITHOUT ROWID;
        CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END;
        CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END;
        CREATE TRIGGER review_rows_no_update BEFORE UPDATE ON review_rows BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END;
        CREATE TRIGGER review_rows_no_delete BEFORE DELETE ON review_rows BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END;
        """
    ),
    .init(
      name: "0009-id-list-runs-and-bases",
      sql: """
        -- Id lists written from this migration on (snapshot_results.result_ids and open_ids,
        -- snapshot_principal_lists.state_ids and usage_ids) are shorter (see IDList):
        -- - in an array, an element -n (n >= 2) after an id stands for the n ids that follow it, each
        --   one more than the one before: a block of consecutive ids takes one element;
        -- - a list may be an object {"add":[...],"base":B,"drop":[...]}: the ids of the array in row B
        --   of id_lists, without those of drop, with those of add. A day's list is mostly the list of
        --   the day before, so it names a base written for an earlier snapshot and the few changes.
        -- Lists written before keep their text (the ledger's digests cover it) and read the same.
        CREATE TABLE id_lists (
          id INTEGER PRIMARY KEY,
          ids TEXT NOT NULL
        );
        CREATE TRIGGER id_lists_no_update BEFORE UPDATE ON id_lists BEGIN SELECT RAISE(ABORT, 'id lists are append-only'); END;
        CREATE TRIGGER id_lists_no_delete BEFORE DELETE ON id_lists BEGIN SELECT RAISE(ABORT, 'id lists are append-only'); END;

        -- The views that expand the lists, made again for both forms. Per list, its parts: the array
        -- (its own, or its base's), and for an object its add and drop arrays. Per element, n (1, or
        -- the run's length) and the running sum of the elements' sizes (the last id it stands for);
        -- json_each over an array of n zeros gives its ids. The ids of a list's parts, in order, with
        -- a dropped id right after the same id of the base: what is kept is every id of the array or
        -- of add that a drop does not follow, and its position is the running count of ids kept
        -- (plus one per id, minus one per drop). A list without a base gives exactly the rows it gave
        -- before. Every window is partitioned by snapshot first, so that a query of one snapshot
        -- expands only its lists.
        DROP VIEW snapshot_principals;
        CREATE VIEW snapshot_principals AS
          WITH state_parts AS (
            SELECT l.snapshot_id, 0 AS part, CASE json_type(l.state_ids)
                WHEN 'object' THEN (SELECT b.ids FROM id_lists b WHERE b.id = json_extract(l.state_ids, '$.base'))
                ELSE l.state_ids END AS ids
            FROM snapshot_principal_lists l
            UNION ALL
            SELECT l.snapshot_id, 1, json_extract(l.state_ids, '$.add') FROM snapshot_principal_lists l
            WHERE json_type(l.state_ids) = 'object'
            UNION ALL
            SELECT l.snapshot_id, 2, json_extract(l.state_ids, '$.drop') FROM snapshot_principal_lists l
            WHERE json_type(l.state_ids) = 'object'),
          state_elements AS (
            SELECT p.snapshot_id, p.part, CASE WHEN j.value < 0 THEN -j.value ELSE 1 END AS n,
                   SUM(abs(j.value)) OVER (PARTITION BY p.snapshot_id, p.part ORDER BY j.key ROWS UNBOUNDED PRECEDING) AS last_id
            FROM state_parts p, json_each(p.ids) j),
          state_members AS (
            SELECT e.snapshot_id, CASE e.part WHEN 2 THEN -1 ELSE 1 END AS sign, e.last_id - e.n + 1 + k.key AS id
            FROM state_elements e,
                 json_each(CASE WHEN e.n = 1 THEN '[0]' ELSE '[' || substr(replace(hex(zeroblob(e.n)), '00', ',0'), 2) || ']' END) k),
          state_marked AS (
            SELECT snapshot_id, sign, id, lead(id) OVER w AS next_id, lead(sign) OVER w AS next_sign FROM state_members
            WINDOW w AS (PARTITION BY snapshot_id ORDER BY id, sign DESC)),
          states AS (
            SELECT snapshot_id, id AS principal_state FROM state_marked
            WHERE sign = 1 AND NOT (next_id IS id AND next_sign = -1)),
          usage_parts AS (
            SELECT l.snapshot_id, 0 AS part, CASE json_type(l.usage_ids)
                WHEN 'object' THEN (SELECT b.ids FROM id_lists b WHERE b.id = json_extract(l.usage_ids, '$.base'))
                ELSE l.usage_ids END AS ids
            FROM snapshot_principal_lists l
            UNION ALL
            SELECT l.snapshot_id, 1, json_extract(l.usage_ids, '$.add') FROM snapshot_principal_lists l
            WHERE json_type(l.usage_ids) = 'object'
            UNION ALL
            SELECT l.snapshot_id, 2, json_extract(l.usage_ids, '$.drop') FROM snapshot_principal_lists l
            WHERE json_type(l.usage_ids) = 'object'),
          usage_elements AS (
            SELECT p.snapshot_id, p.part, CASE WHEN j.value < 0 THEN -j.value ELSE 1 END AS n,
                   SUM(abs(j.value)) OVER (PARTITION BY p.snapshot_id, p.part ORDER BY j.key ROWS UNBOUNDED PRECEDING) AS last_id
            FROM usage_parts p, json_each(p.ids) j),
          usage_members AS (
            SELECT e.snapshot_id, CASE e.part WHEN 2 THEN -1 ELSE 1 END AS sign, e.last_id - e.n + 1 + k.key AS id
            FROM usage_elements e,
                 json_each(CASE WHEN e.n = 1 THEN '[0]' ELSE '[' || substr(replace(hex(zeroblob(e.n)), '00', ',0'), 2) || ']' END) k),
          usage_marked AS (
            SELECT snapshot_id, sign, id, lead(id) OVER w AS next_id, lead(sign) OVER w AS next_sign FROM usage_members
            WINDOW w AS (PARTITION BY snapshot_id ORDER BY id, sign DESC)),
          usages AS (
            SELECT snapshot_id, id AS usage_id FROM usage_marked
            WHERE sign = 1 AND NOT (next_id IS id AND next_sign = -1)),
          used AS (
            SELECT u.snapshot_id, r.principal_state, r.last_used_date, r.last_used_region
            FROM usages u JOIN role_usages r ON r.id = u.usage_id)
          SELECT s.snapshot_id, s.principal_state, NULLIF(used.last_used_date, '') AS role_last_used_date,
                 NULLIF(used.last_used_region, '') AS role_last_used_region
          FROM states s LEFT JOIN used ON used.snapshot_id = s.snapshot_id AND used.principal_state = s.principal_state;
        DROP VIEW results;
        CREATE VIEW results AS
          WITH array_elements AS (
            SELECT sr.snapshot_id, sr.id AS list, CASE WHEN j.value < 0 THEN -j.value ELSE 1 END AS n,
                   SUM(abs(j.value)) OVER w AS last_id, SUM(CASE WHEN j.value < 0 THEN -j.value ELSE 1 END) OVER w AS through
            FROM latest_snapshot_results sr, json_each(sr.result_ids) j
            WHERE json_type(sr.result_ids) = 'array'
            WINDOW w AS (PARTITION BY sr.snapshot_id, sr.id ORDER BY j.key ROWS UNBOUNDED PRECEDING)),
          array_ids AS (
            SELECT e.snapshot_id, e.list, e.last_id - e.n + 1 + k.key AS detail_id, e.through - e.n + k.key AS position
            FROM array_elements e,
                 json_each(CASE WHEN e.n = 1 THEN '[0]' ELSE '[' || substr(replace(hex(zeroblob(e.n)), '00', ',0'), 2) || ']' END) k),
          parts AS (
            SELECT sr.snapshot_id, sr.id AS list, 0 AS part, b.ids FROM latest_snapshot_results sr
            JOIN id_lists b ON b.id = json_extract(sr.result_ids, '$.base') WHERE json_type(sr.result_ids) = 'object'
            UNION ALL
            SELECT sr.snapshot_id, sr.id, 1, json_extract(sr.result_ids, '$.add') FROM latest_snapshot_results sr
            WHERE json_type(sr.result_ids) = 'object'
            UNION ALL
            SELECT sr.snapshot_id, sr.id, 2, json_extract(sr.result_ids, '$.drop') FROM latest_snapshot_results sr
            WHERE json_type(sr.result_ids) = 'object'),
          elements AS (
            SELECT p.snapshot_id, p.list, p.part, CASE WHEN j.value < 0 THEN -j.value ELSE 1 END AS n,
                   SUM(abs(j.value)) OVER (PARTITION BY p.snapshot_id, p.list, p.part ORDER BY j.key ROWS UNBOUNDED PRECEDING)
                     AS last_id
            FROM parts p, json_each(p.ids) j),
          members AS (
            SELECT e.snapshot_id, e.list, CASE e.part WHEN 2 THEN -1 ELSE 1 END AS sign, e.last_id - e.n + 1 + k.key AS detail_id
            FROM elements e,
                 json_each(CASE WHEN e.n = 1 THEN '[0]' ELSE '[' || substr(replace(hex(zeroblob(e.n)), '00', ',0'), 2) || ']' END) k),
          marked AS (
            SELECT snapshot_id, list, sign, detail_id, lead(detail_id) OVER w AS next_id, lead(sign) OVER w AS next_sign,
                   SUM(sign) OVER w - 1 AS position
            FROM members
            WINDOW w AS (PARTITION BY snapshot_id, list ORDER BY detail_id, sign DESC ROWS UNBOUNDED PRECEDING)),
          ids AS (
            SELECT snapshot_id, list, detail_id, position FROM array_ids
            UNION ALL
            SELECT snapshot_id, list, detail_id, position FROM marked WHERE sign = 1 AND NOT (next_id IS detail_id AND next_sign = -1))
          SELECT ids.snapshot_id, sr.assessment_id, d.check_id, d.check_version, sr.tool_version, d.finding_key, d.status,
                 d.principal_type, d.principal_id, d.principal_name, d.principal_arn, d.policy_kind, d.policy_name,
                 d.policy_arn, d.policy_version, d.document_sha256, d.exception_id, ids.position,
                 CASE WHEN d.body_id IS NULL THEN d.detail ELSE
                   replace(replace(replace(replace(replace(replace(replace(replace(b.template,
                     char(3) || 'a', json_quote(d.document_sha256)), char(3) || 'b', json_quote(d.finding_key)),
                     char(3) || 'c', json_quote(d.policy_arn)), char(3) || 'd', json_quote(d.policy_name)),
                     char(3) || 'e', json_quote(d.policy_version)), char(3) || 'f', json_quote(d.principal_arn)),
                     char(3) || 'g', json_quote(d.principal_id)), char(3) || 'h', json_quote(d.principal_name))
                 END AS detail
          FROM ids JOIN snapshot_results sr ON sr.id = ids.list JOIN result_details d ON d.id = ids.detail_id
          LEFT JOIN result_bodies b ON b.id = d.body_id;
        """
    ),
  ]
}

/// What a database file holds, as far as this tool is concerned.
enum SchemaState: Equatable {
  /// No table, index, view or trigger at all: a new (or zero-length) file.
  case empty
  /// This tool's schema, with these migrations applied.
  case ours(applied: [String])
  /// This tool's schema from a newer version: a migration this version does not know.
  case newer(unknown: String)
  /// Something else; says why it is not ours.
  case foreign(String)
}

extension Schema {
  /// Every table, index, view and trigger the migrations create (SQLite's own `sqlite_` objects
  /// aside), found by applying them to an empty in-memory database one by one: what a later migration
  /// drops (an index) is still this tool's in a database not yet migrated.
  static let objectNames: Set<String> = {
    guard let db = try? SQLiteConnection(path: ":memory:") else { return [] }
    var names = Set<String>()
    for migration in migrations {
      try? db.execute(migration.sql)
      let rows = (try? db.query("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")) ?? []
      names.formUnion(rows.compactMap { try? $0.string("name") })
    }
    return names
  }()

  /// What the database on `db` holds: nothing, this tool's schema (which migrations), a newer one,
  /// or another program's objects. Only reads.
  static func inspect(_ db: SQLiteConnection) throws -> SchemaState {
    let objects = try db.query("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").map {
      try $0.string("name")
    }
    if objects.isEmpty { return .empty }
    guard objects.contains("schema_migrations") else {
      return .foreign("no schema_migrations table; it holds \(describe(objects))")
    }
    let applied: [String]
    do {
      applied = try SQLiteMigrator.appliedNames(in: db)
    } catch {
      return .foreign("its schema_migrations table is not this tool's")
    }
    let known = Set(migrations.map(\.name))
    // Another program may keep a schema_migrations table of its own: ours names our first migration.
    if !applied.isEmpty && !applied.contains(migrations[0].name) {
      return .foreign("its schema_migrations table names none of this tool's migrations")
    }
    if let unknown = applied.first(where: { !known.contains($0) }) { return .newer(unknown: unknown) }
    let others = objects.filter { $0 != "schema_migrations" && !objectNames.contains($0) }
    if !others.isEmpty { return .foreign("it holds \(describe(others)), which are not part of this tool's schema") }
    return .ours(applied: applied)
  }

  /// `tables a, b, c and 34 more`, quoted and cut short.
  private static func describe(_ names: [String]) -> String {
    let sorted = names.sorted()
    let shown = sorted.prefix(3).map { "\"\(String($0.prefix(40)))\"" }.joined(separator: ", ")
    return "objects " + shown + (sorted.count > 3 ? " and \(sorted.count - 3) more" : "")
  }
}
