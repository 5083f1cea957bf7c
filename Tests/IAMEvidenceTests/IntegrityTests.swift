import Crypto
import Foundation
import SQLiteDB
import Testing

@testable import IAMEvidence

/// The integrity check and the ledger (issue 14, defect 2 and the tamper-evidence risk): a damaged
/// or hand-edited database is refused by `report` and `package` with a message naming table, row and
/// what no longer matches, and `check-db` lists every problem.
@Suite(.temporaryDirectories, .packagedQuarter) struct IntegrityTests {
  static let templates = TestSupport.packageRoot.appendingPathComponent("Templates").path

  /// The dev-series quarter (three snapshots, ingested and assessed by the CLI), damaged by `edit`
  /// through a connection of its own.
  static func damaged(_ edit: (SQLiteConnection) throws -> Void) throws -> (dir: URL, db: String) {
    let dir = try ReportCommandTests.quarterDatabase()
    let db = dir.appendingPathComponent("evidence.sqlite").path
    let raw = try SQLiteConnection(path: db, mode: .readWrite)
    try edit(raw)
    return (dir, db)
  }

  /// `report` and `package` refuse, writing nothing, with an error whose first problem contains
  /// `expected`; `check-db` lists a problem containing each of `listed`. Returns check-db's output.
  @discardableResult
  static func expectRefusal(
    dir: URL, db: String, _ expected: String, listed: [String] = [], sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> String {
    let report = try TestSupport.run([
      "report", "--db", db, "--from", "2024-01-01", "--to", "2024-03-31", "--templates", templates, "--out",
      dir.appendingPathComponent("report").path,
    ])
    #expect(report.status == 2, sourceLocation: sourceLocation)
    #expect(
      report.stderr.hasPrefix(
        "templates: \(templates) (from --templates)\nerror: \(db): fails its integrity check, so no evidence is written from it: "),
      "\(report.stderr)",
      sourceLocation: sourceLocation)
    #expect(report.stderr.contains(expected), "\(report.stderr)", sourceLocation: sourceLocation)
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("report").path), sourceLocation: sourceLocation)
    let zip = dir.appendingPathComponent("q1.zip")
    let package = try TestSupport.run([
      "package", "--db", db, "--from", "2024-01-01", "--to", "2024-03-31", "--templates", templates, "--out", zip.path,
    ])
    #expect(package.status == 2, sourceLocation: sourceLocation)
    #expect(package.stderr.contains(expected), "\(package.stderr)", sourceLocation: sourceLocation)
    #expect(!FileManager.default.fileExists(atPath: zip.path), sourceLocation: sourceLocation)
    let check = try TestSupport.run(["check-db", "--db", db])
    #expect(check.status == 2, sourceLocation: sourceLocation)
    #expect(check.stderr.contains("fails its integrity check"), sourceLocation: sourceLocation)
    for text in [expected] + listed {
      #expect(
        check.stdout.split(separator: "\n").contains { $0.hasPrefix("problem: ") && $0.contains(text) },
        "missing: \(text)\n\(check.stdout)", sourceLocation: sourceLocation)
    }
    return check.stdout
  }

  @Test func anIntactDatabasePassesAndItsHeadsAreInTheEvidence() throws {
    let dir = try ReportCommandTests.quarterDatabase()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("evidence.sqlite").path
    let check = try TestSupport.run(["check-db", "--db", db])
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    #expect(check.stdout.hasPrefix("OK: \(db): 3 snapshot(s), 6 ledger entries, chain head "), "\(check.stdout)")

    // The chain recomputes as README says: SHA-256 of the previous head's hex and the digest's hex,
    // the digest being the SHA-256 of the entry's text.
    let raw = try SQLiteConnection(path: db, mode: .readOnly)
    var previous = String(repeating: "0", count: 64)
    for row in try raw.query("SELECT entry, digest, head FROM ledger ORDER BY id") {
      let digest = SHA256.hash(data: Array(try row.string("entry").utf8)).hexString
      #expect(digest == (try row.string("digest")))
      let head = SHA256.hash(data: Array((previous + digest).utf8)).hexString
      #expect(head == (try row.string("head")))
      previous = head
    }
    #expect(check.stdout.contains("chain head \(previous) (entry 6)"))

    let zip = dir.appendingPathComponent("q1.zip")
    let package = try TestSupport.run([
      "package", "--db", db, "--from", "2024-01-01", "--to", "2024-03-31", "--templates", Self.templates, "--out", zip.path,
      "--generated-at", "2099-04-02T09:00:00Z",
    ])
    #expect(package.status == 0, "\(package.stderr)")
    let members = Dictionary(uniqueKeysWithValues: try PackageSupport.zipMembers(zip).map { ($0.name, $0.bytes) })
    let readme = String(decoding: try #require(members["README.txt"]), as: UTF8.self)
    #expect(readme.contains("Ledger chain head: \(previous) (entry 6 of the database's hash chain"), "\(readme)")
    let evidence = String(decoding: try #require(members["evidence.xml"]), as: UTF8.self)
    #expect(evidence.contains("chain=\"\(previous)\" chainEntry=\"6\">"))
    #expect(String(decoding: try #require(members["report.html"]), as: UTF8.self).contains(previous))
    #expect(String(decoding: try #require(members["MANIFEST.sha256"]), as: UTF8.self).contains("  README.txt\n"))
  }

  /// Defect 2: garbage in a snapshot's list of result ids made `report` and a signed `package` say
  /// "effective, 0 results examined". Now both refuse, naming the table and row.
  @Test func garbageResultIDsAreRefusedNotAnEmptyPopulation() throws {
    let (dir, db) = try Self.damaged { raw in
      try raw.execute("UPDATE snapshot_results SET result_ids = 'garbage' WHERE snapshot_id = 3 AND check_id = 'kms-full-access-inline'")
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let row = try SQLiteConnection(path: db, mode: .readOnly).scalar(
      "SELECT id FROM snapshot_results WHERE snapshot_id = 3 AND check_id = 'kms-full-access-inline'")
    guard case .integer(let id)? = row else { throw StoreError(path: db, message: "no row") }
    try Self.expectRefusal(
      dir: dir, db: db, "table snapshot_results, row \(id): column result_ids is not a list of ids",
      listed: [
        "table snapshot_results/result_details, the kms-full-access-inline@\(InlinePolicyFullKMSAccess().description.version) results of snapshot 3: changed since ledger entry 6"
      ])
    // findings, which lists the population, names the same row.
    let findings = try TestSupport.run(["findings", "--db", db, "--status", "all"])
    #expect(findings.status == 2)
    #expect(findings.stderr.contains("table snapshot_results, row \(id), column result_ids: not a list of ids"), "\(findings.stderr)")
  }

  @Test func aHandEditedStatusIsNamed() throws {
    let (dir, db) = try Self.damaged { raw in
      try raw.execute(
        """
        UPDATE result_details SET status = 'pass' WHERE id = (SELECT min(d.id) FROM results r JOIN result_details d ON d.finding_key = r.finding_key
          WHERE r.snapshot_id = 3 AND r.status = 'fail' AND r.check_id = 'kms-full-access-inline')
        """)
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let edited = try SQLiteConnection(path: db, mode: .readOnly).scalar(
      """
      SELECT min(d.id) FROM result_details d LEFT JOIN result_bodies b ON b.id = d.body_id WHERE d.status = 'pass'
        AND d.check_id = 'kms-full-access-inline' AND coalesce(b.template, d.detail) LIKE '%"status":"fail"%'
      """)
    guard case .integer(let id)? = edited else { throw StoreError(path: db, message: "no edited row") }
    let output = try Self.expectRefusal(
      dir: dir, db: db, "do not match the results it lists",
      listed: [
        "table result_details, row \(id): column status is \"pass\" but its detail says \"fail\"",
        "the kms-full-access-inline@\(InlinePolicyFullKMSAccess().description.version) results of snapshot 3: changed since ledger entry 6",
        "column open_ids",
      ])
    #expect(!output.contains("table documents"))
  }

  /// A result's detail is its columns and its body (ResultBody): an edited body, or an edited column
  /// the body puts back, no longer rebuilds the detail its sha256 names.
  @Test func anEditedResultBodyIsNamed() throws {
    let (dir, db) = try Self.damaged { raw in
      try raw.execute(
        """
        UPDATE result_bodies SET template = replace(template, 'No statement', 'Some statement') WHERE id = (SELECT min(id)
          FROM result_bodies WHERE template LIKE '%No statement%')
        """)
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let raw = try SQLiteConnection(path: db, mode: .readOnly)
    guard case .integer(let body)? = try raw.scalar("SELECT min(id) FROM result_bodies WHERE template LIKE '%Some statement%'"),
      case .integer(let result)? = try raw.scalar("SELECT min(id) FROM result_details WHERE body_id = ?", [body])
    else { throw StoreError(path: db, message: "no edited body") }
    try Self.expectRefusal(
      dir: dir, db: db,
      "table result_details, row \(result): the SHA-256 of its detail, rebuilt from its columns and body \(body), does not match its sha256 column: a column or the body was changed"
    )
  }

  @Test func anEditedSubjectColumnOfAResultIsNamed() throws {
    let (dir, db) = try Self.damaged { raw in
      try raw.execute(
        """
        UPDATE result_details SET principal_name = 'someone-else' WHERE id = (SELECT min(id) FROM result_details
          WHERE body_id IS NOT NULL AND principal_name IS NOT NULL)
        """)
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    guard
      case .integer(let result)? = try SQLiteConnection(path: db, mode: .readOnly).scalar(
        "SELECT id FROM result_details WHERE principal_name = 'someone-else'")
    else { throw StoreError(path: db, message: "no edited row") }
    try Self.expectRefusal(
      dir: dir, db: db, "table result_details, row \(result): the SHA-256 of its detail, rebuilt from its columns and body",
      listed: ["results of snapshot 1: changed since ledger entry 2"])
  }

  @Test func anEditedDocumentTextIsNamed() throws {
    let (dir, db) = try Self.damaged { raw in
      try raw.execute(
        "UPDATE documents SET canonical = replace(canonical, 'kms:*', 'kms:Get*') WHERE id = (SELECT min(id) FROM documents WHERE canonical LIKE '%kms:*%')"
      )
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let edited = try SQLiteConnection(path: db, mode: .readOnly).scalar("SELECT min(id) FROM documents WHERE canonical LIKE '%kms:Get*%'")
    guard case .integer(let id)? = edited else { throw StoreError(path: db, message: "no edited row") }
    try Self.expectRefusal(
      dir: dir, db: db,
      "table documents, row \(id): the SHA-256 of its canonical does not match its sha256 column: the canonical was changed")
  }

  /// An editor who also rewrites the content address is caught by the ledger.
  @Test func anEditedDocumentWithARecomputedHashIsCaughtByTheLedger() throws {
    let (dir, db) = try Self.damaged { raw in
      let row = try #require(try raw.query("SELECT id, canonical FROM documents WHERE canonical LIKE '%kms:*%' ORDER BY id LIMIT 1").first)
      let text = try row.string("canonical").replacingOccurrences(of: "kms:*", with: "kms:Get*")
      try raw.run(
        "UPDATE documents SET canonical = ?, sha256 = ? WHERE id = ?",
        [text, SHA256.hash(data: Array(text.utf8)).hexString, try row.int("id")])
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    try Self.expectRefusal(dir: dir, db: db, "table documents, the rows of snapshot 1: changed since ledger entry 1")
  }

  @Test func countsThatDisagreeWithTheListsAreNamed() throws {
    let (dir, db) = try Self.damaged { raw in
      try raw.execute("UPDATE snapshots SET user_count = user_count + 1 WHERE id = 2")
      try raw.execute("UPDATE snapshot_results SET fail = 0 WHERE snapshot_id = 3 AND check_id = 'kms-full-access-inline'")
      try raw.execute(
        """
        DELETE FROM result_details WHERE id = (SELECT max(id) FROM result_details WHERE check_id = 'kms-decrypt-all-keys'
          AND finding_key IN (SELECT finding_key FROM results WHERE snapshot_id = 3 AND check_id = 'kms-decrypt-all-keys'))
        """)
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let users = try SQLiteConnection(path: db, mode: .readOnly).scalar("SELECT user_count FROM snapshots WHERE id = 2")
    guard case .integer(let n)? = users else { throw StoreError(path: db, message: "no row") }
    try Self.expectRefusal(
      dir: dir, db: db, "table snapshots, row 2: column user_count is \(n), but the snapshot's rows hold \(n - 1)",
      listed: ["table snapshots, row 2: changed since ledger entry 3", "which does not exist", "do not match the results it lists"])
  }

  @Test func anEditedOrDeletedLedgerEntryBreaksTheChain() throws {
    let (dir, db) = try Self.damaged { raw in
      try raw.execute("DROP TRIGGER ledger_no_update")
      try raw.execute("UPDATE ledger SET entry = replace(entry, '\"backfilled\":false', '\"backfilled\":true') WHERE id = 2")
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    try Self.expectRefusal(dir: dir, db: db, "table ledger, row 2: its digest is not the SHA-256 of its entry: the entry was changed")

    let raw = try SQLiteConnection(path: db, mode: .readWrite)
    #expect(throws: SQLiteError.self) { try raw.execute("DELETE FROM ledger WHERE id = 4") }
    try raw.execute("DROP TRIGGER ledger_no_delete")
    try raw.execute("DELETE FROM ledger WHERE id = 4")
    let check = try TestSupport.run(["check-db", "--db", db])
    #expect(check.status == 2)
    #expect(
      check.stdout.contains("problem: table ledger, row 5: its head does not follow from the previous entry's: the chain is broken here"))
    #expect(check.stdout.contains("problem: table assessments, row 2: has no ledger entry"), "\(check.stdout)")
  }

  @Test func aReassessmentExtendsTheChainInsteadOfBreakingIt() throws {
    let dir = try ReportCommandTests.quarterDatabase()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("evidence.sqlite").path
    let before = try EvidenceStore(readingAt: db).checkIntegrity()
    #expect(before.isOK)
    let register = dir.appendingPathComponent("exceptions.json")
    try Data(
      #"{"exceptions":[{"id":"EXC-1","check":"*","scope":{"principal":"*"},"scope_all":true,"justification":"Migration","approved_by":"CISO","approved_on":"2024-01-01","expires_on":"2024-12-31"}]}"#
        .utf8
    ).write(to: register)
    let assess = try TestSupport.run(["assess", "--db", db, "--snapshot", "all", "--exceptions", register.path])
    #expect(assess.status == 0, "\(assess.stderr)")
    let after = try EvidenceStore(readingAt: db).checkIntegrity()
    #expect(after.problems.isEmpty, "\(after.problems)")
    #expect(after.ledgerEntries == 9)
    // Each snapshot's head is now that of its new assessment, later in the same chain.
    for id in 1...3 {
      let old = try #require(before.heads.snapshots[id])
      let new = try #require(after.heads.snapshots[id])
      #expect(new.entry > old.entry && new.entry >= 7)
    }
    #expect(after.chainHead?.entry == 9)
  }

  /// A database written before the ledger (its migrations undone here, and 0007's provenance, which
  /// came later) gets entries for the rows it holds when it is migrated, marked as backfilled; reading
  /// commands meanwhile refuse it.
  @Test func anOlderDatabaseGetsItsLedgerWhenMigrated() throws {
    let (dir, db) = try Self.damaged { raw in
      try raw.execute(
        """
        DROP TABLE ledger; DROP TABLE long_strings; DROP TABLE snapshot_provenance;
        DELETE FROM schema_migrations WHERE name IN ('0003-long-strings', '0004-ledger', '0007-provenance')
        """)
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let refused = try TestSupport.run(["check-db", "--db", db])
    #expect(refused.status == 2)
    #expect(refused.stderr.contains("run `iam-evidence migrate --db \(db)`"), "\(refused.stderr)")
    let migrate = try TestSupport.run(["migrate", "--db", db])
    #expect(migrate.status == 0, "\(migrate.stderr)")
    #expect(migrate.stdout == "\(db): applied schema migration(s) 0003-long-strings, 0004-ledger, 0007-provenance\n")
    let check = try TestSupport.run(["check-db", "--db", db])
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    #expect(check.stdout.contains("3 snapshot(s), 6 ledger entries (6 backfilled by a migration)"), "\(check.stdout)")
    #expect(try TestSupport.run(["migrate", "--db", db]).stdout == "\(db): schema up to date\n")
    // And the next ingest extends that chain.
    let ingest = try TestSupport.run(["ingest", "--db", db, TestSupport.fixture("dev-small.json").path])
    #expect(ingest.status == 0, "\(ingest.stderr)")
    let report = try EvidenceStore(readingAt: db).checkIntegrity()
    #expect(report.isOK && report.ledgerEntries == 8 && report.backfilledEntries == 6)
  }
}
