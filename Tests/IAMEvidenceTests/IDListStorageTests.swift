import Foundation
import SQLiteDB
import Testing

@testable import IAMEvidence

/// Id lists as stored from migration 0009 on (runs, lists written against a base in `id_lists`) and
/// before it (plain differences): a database written before the migration and one written after read
/// the same results, the views expand both forms to exactly the ids the store reads, the ledger
/// verifies rows of both, and damage to a list or a base is named.
@Suite(.temporaryDirectories) struct IDListStorageTests {
  static let userCount = 160
  static let roleCount = 150

  /// Day `day` of a synthetic account: users with an inline policy each (a fifth allowing kms:*, so
  /// failing), three of which get a new version of it every day; roles last used in December, three
  /// of which are used every day. Each day changes a few results and states scattered over the account, as real days do.
  static func day(_ day: Int) -> [UInt8] {
    func lastChange(_ i: Int, count: Int, stride: Int) -> Int {
      (0...day).last { d in (0..<3).contains { k in (d * stride + k * 53) % count == i } } ?? -1
    }
    let users = (0..<userCount).map { i in
      let action = i % 5 == 0 ? "kms:*" : "kms:Decrypt"
      return #"{"UserName":"u\#(i)","UserId":"AIDA\#(i)","Arn":"arn:aws:iam::111122223333:user/u\#(i)","Path":"/","#
        + #""CreateDate":"2020-01-01T00:00:00Z","GroupList":[],"AttachedManagedPolicies":[],"Tags":[],"UserPolicyList":["#
        + #"{"PolicyName":"p","PolicyDocument":{"Version":"2012-10-17","Statement":[{"Sid":"v\#(lastChange(i, count: userCount, stride: 7) + 1)","#
        + #""Effect":"Allow","Action":"\#(action)","Resource":"*"}]}}]}"#
    }
    let roles = (0..<roleCount).map { i in
      let used = lastChange(i, count: roleCount, stride: 11)
      return #"{"RoleName":"r\#(i)","RoleId":"AROA\#(i)","Arn":"arn:aws:iam::111122223333:role/r\#(i)","Path":"/","#
        + #""CreateDate":"2020-01-01T00:00:00Z","AssumeRolePolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","#
        + #""Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]},"InstanceProfileList":[],"RolePolicyList":[],"#
        + #""AttachedManagedPolicies":[],"Tags":[],"RoleLastUsed":"#
        + #"{"LastUsedDate":"\#(used < 0 ? "2023-12-01" : "2024-01-" + String(format: "%02d", used + 1))T00:00:00Z","Region":"eu-west-1"}}"#
    }
    return Array(
      (#"{"UserDetailList":["# + users.joined(separator: ",") + #"],"GroupDetailList":[],"RoleDetailList":["#
        + roles.joined(separator: ",") + #"],"Policies":[]}"#).utf8)
  }

  /// Ingests and assesses days `days` of the series into `store`; the results each assessment gave,
  /// by snapshot id.
  @discardableResult
  static func ingest(_ days: Range<Int>, into store: EvidenceStore) throws -> [Int: [CheckResult]] {
    var results: [Int: [CheckResult]] = [:]
    for d in days {
      let source = IngestSource(name: "day-\(d).json", bytes: Self.day(d), modificationTime: nil)
      let capturedAt = Timestamp(parsing: "2024-01-\(String(format: "%02d", d + 1))T12:00:00Z")
      guard
        case .ingested(let record) = try store.workflow.ingest(
          source, options: IngestOptions(capturedAt: capturedAt, now: TestSupport.fixedNow))
      else { throw StoreError(path: store.path, message: "day \(d) not ingested") }
      results[record.id] = try store.workflow.assess(snapshotID: record.id, now: TestSupport.fixedNow).results
    }
    return results
  }

  /// The list as migrations 0001 to 0008 wrote it: the first id, then differences.
  static func oldForm(_ ids: [Int64]) -> String {
    var previous: Int64 = 0
    return "["
      + ids.sorted().map { id in
        defer { previous = id }
        return String(id - previous)
      }.joined(separator: ",") + "]"
  }

  static func canonical(_ results: [CheckResult]) -> [[UInt8]] {
    results.map(\.storedCanonicalBytes).sorted { $0.lexicographicallyPrecedes($1) }
  }

  /// Every row of the `results` and `snapshot_principals` views, each as one string, sorted.
  static func viewRows(_ db: SQLiteConnection) throws -> (results: [String], principals: [String]) {
    let results = try db.query(
      """
      SELECT snapshot_id, assessment_id, check_id, check_version, tool_version, finding_key, status, principal_arn, policy_name,
        document_sha256, position, detail FROM results
      """
    ).map { row in
      [
        "\(try row.int("snapshot_id"))", "\(try row.int("assessment_id"))", try row.string("check_id"), "\(try row.int("check_version"))",
        try row.string("tool_version"), try row.string("finding_key"), try row.string("status"),
        try row.optionalString("principal_arn") ?? "-",
        try row.optionalString("policy_name") ?? "-", try row.optionalString("document_sha256") ?? "-", "\(try row.int("position"))",
        try row.string("detail"),
      ].joined(separator: "|")
    }
    let principals = try db.query(
      "SELECT snapshot_id, principal_state, role_last_used_date, role_last_used_region FROM snapshot_principals"
    )
    .map { row in
      "\(try row.int("snapshot_id"))|\(try row.int("principal_state"))|\(try row.optionalString("role_last_used_date") ?? "-")|"
        + (try row.optionalString("role_last_used_region") ?? "-")
    }
    return (results.sorted(), principals.sorted())
  }

  /// The views give exactly the ids the store decodes: per current list, each id at its position;
  /// per snapshot, each principal state with its role usage.
  static func expectViewsExpandTheLists(_ db: SQLiteConnection, sourceLocation: SourceLocation = #_sourceLocation) throws {
    var expected: [String] = []
    let detail = try db.prepare("SELECT check_id, finding_key FROM result_details WHERE id = ?")
    for row in try db.query("SELECT snapshot_id, result_ids FROM latest_snapshot_results") {
      let ids = try #require(try IDList.decode(try row.string("result_ids"), in: db), sourceLocation: sourceLocation)
      for (position, id) in ids.enumerated() {
        try detail.bind([id])
        let d = try #require(try detail.step(), sourceLocation: sourceLocation)
        expected.append("\(try row.int("snapshot_id"))|\(try d.string("check_id"))|\(try d.string("finding_key"))|\(position)")
        detail.reset()
      }
    }
    let view = try db.query("SELECT snapshot_id, check_id, finding_key, position FROM results").map { row in
      "\(try row.int("snapshot_id"))|\(try row.string("check_id"))|\(try row.string("finding_key"))|\(try row.int("position"))"
    }
    #expect(view.sorted() == expected.sorted(), sourceLocation: sourceLocation)
    #expect(expected.count > 1000, sourceLocation: sourceLocation)

    var principals: [String] = []
    let usage = try db.prepare("SELECT principal_state, last_used_date, last_used_region FROM role_usages WHERE id = ?")
    for row in try db.query("SELECT snapshot_id, state_ids, usage_ids FROM snapshot_principal_lists") {
      var used: [Int64: String] = [:]
      for id in try #require(try IDList.decode(try row.string("usage_ids"), in: db), sourceLocation: sourceLocation) {
        try usage.bind([id])
        let u = try #require(try usage.step(), sourceLocation: sourceLocation)
        used[try u.int64("principal_state")] = "\(try u.string("last_used_date"))|\(try u.string("last_used_region"))"
        usage.reset()
      }
      for state in try #require(try IDList.decode(try row.string("state_ids"), in: db), sourceLocation: sourceLocation) {
        principals.append("\(try row.int("snapshot_id"))|\(state)|\(used[state] ?? "-|-")")
      }
    }
    let principalView = try db.query(
      "SELECT snapshot_id, principal_state, role_last_used_date, role_last_used_region FROM snapshot_principals"
    ).map { row in
      "\(try row.int("snapshot_id"))|\(try row.int("principal_state"))|\(try row.optionalString("role_last_used_date") ?? "-")|"
        + (try row.optionalString("role_last_used_region") ?? "-")
    }
    #expect(principalView.sorted() == principals.sorted(), sourceLocation: sourceLocation)
  }

  @Test func aSeriesIsStoredAgainstBasesAndReadsBackExactly() throws {
    let (store, dir) = try TestSupport.makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let assessed = try Self.ingest(0..<14, into: store)
    for (id, results) in assessed {
      #expect(Self.canonical(try store.results(snapshotID: id)) == Self.canonical(results))
      let decoded = try SnapshotDecoder(sourceName: "day").decode(Self.day(id - 1))
      #expect(Set(try store.loadSnapshot(id: id).principals) == Set(decoded.principals))
    }
    // Every form is in use: runs, and lists against a base, of results and of principal states and usages.
    #expect(try store.count("SELECT count(*) FROM id_lists") >= 4)
    #expect(try store.count("SELECT count(*) FROM snapshot_results WHERE json_type(result_ids) = 'object'") > 14)
    #expect(try store.count("SELECT count(*) FROM snapshot_results WHERE result_ids LIKE '[%,-%'") > 0)
    #expect(try store.count("SELECT count(*) FROM snapshot_principal_lists WHERE json_type(state_ids) = 'object'") > 2)
    #expect(try store.count("SELECT count(*) FROM snapshot_principal_lists WHERE json_type(usage_ids) = 'object'") >= 2)
    // And smaller than the lists of plain differences were.
    let raw = try SQLiteConnection(path: store.path, mode: .readOnly)
    var (stored, plain) = (0, 0)
    for row in try raw.query("SELECT result_ids FROM snapshot_results UNION ALL SELECT state_ids FROM snapshot_principal_lists") {
      let text = try row.string("result_ids")
      stored += text.utf8.count
      plain += Self.oldForm(try #require(try IDList.decode(text, in: raw))).utf8.count
    }
    stored += try store.count("SELECT sum(length(ids)) FROM id_lists")
    #expect(stored * 3 < plain, "\(stored) bytes against \(plain)")
    try Self.expectViewsExpandTheLists(raw)
    #expect(try store.checkIntegrity().isOK)
  }

  /// A database written before migration 0009 (its rows built from a new one's, with every list in
  /// the old form and the ledger recorded over them as the old tool did) reads the same after the
  /// migration: the views give the rows the old views gave, the ledger's entries still verify; and
  /// the snapshots ingested after it are written in the new forms, against bases made from old lists.
  @Test func aDatabaseWrittenBeforeTheMigrationReadsTheSameAndStillVerifies() throws {
    let (store, dir) = try TestSupport.makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let assessed = try Self.ingest(0..<10, into: store)
    let old = dir.appendingPathComponent("old.sqlite").path
    let db = try SQLiteConnection(path: old)
    let before = Schema.migrations.filter { $0.name != "0009-id-list-runs-and-bases" }
    #expect(before.count == Schema.migrations.count - 1)
    _ = try SQLiteMigrator(migrations: before).migrate(db, appliedAt: TestSupport.fixedNow.description)
    #expect(try db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'id_lists'") == .integer(0))
    try db.run("ATTACH DATABASE ? AS new", [store.path])
    let tables = try db.query("SELECT name FROM new.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'").map {
      try $0.string("name")
    }
    for table in tables where !["ledger", "schema_migrations", "id_lists"].contains(table) {
      try db.execute("INSERT INTO main.\(table) SELECT * FROM new.\(table)")
    }
    let newConnection = try SQLiteConnection(path: store.path, mode: .readOnly)
    for row in try newConnection.query("SELECT id, result_ids, open_ids FROM snapshot_results") {
      let all = try #require(try IDList.decode(try row.string("result_ids"), in: newConnection))
      let open = try #require(try IDList.decode(try row.string("open_ids"), in: newConnection))
      try db.run(
        "UPDATE main.snapshot_results SET result_ids = ?, open_ids = ? WHERE id = ?",
        [Self.oldForm(all), Self.oldForm(open), try row.int("id")])
    }
    for row in try newConnection.query("SELECT snapshot_id, state_ids, usage_ids FROM snapshot_principal_lists") {
      let states = try #require(try IDList.decode(try row.string("state_ids"), in: newConnection))
      let usages = try #require(try IDList.decode(try row.string("usage_ids"), in: newConnection))
      try db.run(
        "UPDATE main.snapshot_principal_lists SET state_ids = ?, usage_ids = ? WHERE snapshot_id = ?",
        [Self.oldForm(states), Self.oldForm(usages), try row.int("snapshot_id")])
    }
    try db.execute("DETACH DATABASE new")
    // The ledger as the tool before 0009 recorded it: an entry per ingest, then per assessment.
    let ledger = Ledger(db: db, path: old)
    for snapshot in assessed.keys.sorted() {
      try ledger.recordSnapshot(snapshot, recordedAt: "2024-02-01T00:00:00Z")
      for row in try db.query("SELECT id FROM assessments WHERE snapshot_id = ? ORDER BY id", [snapshot]) {
        try ledger.recordAssessment(try row.int("id"), snapshotID: snapshot, recordedAt: "2024-02-01T00:00:00Z")
      }
    }
    let oldViews = try Self.viewRows(db)
    #expect(oldViews.results.count > 1000 && oldViews.principals.count > 1000)
    #expect(oldViews == (try Self.viewRows(SQLiteConnection(path: store.path, mode: .readOnly))))

    let migrated = try EvidenceStore(path: old, create: false, now: TestSupport.fixedNow)
    #expect(migrated.migrationsApplied == ["0009-id-list-runs-and-bases"])
    // The old lists keep their text (no run, no base) and read as they did.
    #expect(try migrated.count("SELECT count(*) FROM snapshot_results WHERE result_ids LIKE '%-%' OR result_ids LIKE '{%'") == 0)
    let reader = try SQLiteConnection(path: old, mode: .readOnly)
    #expect(try Self.viewRows(reader) == oldViews)
    try Self.expectViewsExpandTheLists(reader)
    for (id, results) in assessed { #expect(Self.canonical(try migrated.results(snapshotID: id)) == Self.canonical(results)) }
    let report = try migrated.checkIntegrity()
    #expect(report.isOK, "\(report.problems)")
    #expect(report.ledgerEntries == 20 && report.backfilledEntries == 0)

    // The next days are written in the new forms, the first of them against bases made from old lists.
    let later = try Self.ingest(10..<14, into: migrated)
    for (id, results) in later { #expect(Self.canonical(try migrated.results(snapshotID: id)) == Self.canonical(results)) }
    #expect(try migrated.count("SELECT count(*) FROM snapshot_results WHERE snapshot_id > 10 AND json_type(result_ids) = 'object'") > 0)
    #expect(try migrated.checkIntegrity().isOK)
    try Self.expectViewsExpandTheLists(try SQLiteConnection(path: old, mode: .readOnly))
  }

  /// A series database, with `edit` applied through a connection of its own (the triggers that keep
  /// id_lists append-only dropped first, as someone editing the file would); the store reopened.
  static func damaged(_ edit: (SQLiteConnection) throws -> Void) throws -> (EvidenceStore, URL) {
    let (store, dir) = try TestSupport.makeStore()
    try Self.ingest(0..<14, into: store)
    let raw = try SQLiteConnection(path: store.path, mode: .readWrite)
    try raw.execute("DROP TRIGGER id_lists_no_update; DROP TRIGGER id_lists_no_delete")
    try edit(raw)
    return (try EvidenceStore(path: store.path, create: false, now: TestSupport.fixedNow), dir)
  }

  /// A base of result lists, the first list using it, and that list's snapshot and check.
  static func resultBase(_ db: SQLiteConnection) throws -> (base: Int, list: Int, snapshot: Int, check: String) {
    let row = try #require(
      try db.query(
        """
        SELECT json_extract(result_ids, '$.base') AS base, id, snapshot_id, check_id FROM snapshot_results
        WHERE json_type(result_ids) = 'object' ORDER BY id LIMIT 1
        """
      ).first)
    return (try row.int("base"), try row.int("id"), try row.int("snapshot_id"), try row.string("check_id"))
  }

  @Test func idListsAreAppendOnly() throws {
    let (store, dir) = try TestSupport.makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    try Self.ingest(0..<14, into: store)
    let raw = try SQLiteConnection(path: store.path, mode: .readWrite)
    for sql in ["UPDATE id_lists SET ids = '[]'", "DELETE FROM id_lists"] {
      #expect(throws: SQLiteError.self) { try raw.execute(sql) }
    }
    #expect(try store.count("SELECT count(*) FROM id_lists WHERE ids = '[]'") == 0)
  }

  @Test func aBaseThatIsNoLongerAListIsNamedAndNothingIsRead() throws {
    var target: (base: Int, list: Int, snapshot: Int, check: String)?
    let (store, dir) = try Self.damaged { raw in
      target = try Self.resultBase(raw)
      try raw.run("UPDATE id_lists SET ids = '[5,-1]' WHERE id = ?", [target?.base ?? 0])
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let t = try #require(target)
    let problems = try store.checkIntegrity().problems.map(\.description)
    #expect(problems.contains("table id_lists, row \(t.base): column ids is not a list of ascending ids"), "\(problems)")
    #expect(
      problems.contains(
        "table snapshot_results, row \(t.list): column result_ids is not a list of ids (with its base, id_lists row \(t.base))"),
      "\(problems)")
    let message = RowDecodingTests.message { _ = try store.results(snapshotID: t.snapshot) }
    #expect(message.contains("table snapshot_results, row \(t.list), column result_ids: not a list of ids"), "\(message)")
  }

  @Test func aBaseOrAListWhoseIdsChangedIsNamed() throws {
    // A base that still reads, as other ids: every list written against it changed.
    var target: (base: Int, list: Int, snapshot: Int, check: String)?
    let (store, dir) = try Self.damaged { raw in
      target = try Self.resultBase(raw)
      let text = try #require(try raw.scalar("SELECT ids FROM id_lists WHERE id = ?", [target?.base ?? 0]))
      guard case .text(let ids) = text, let decoded = IDList.decode(ids) else { throw StoreError(path: "", message: "no base") }
      try raw.run("UPDATE id_lists SET ids = ? WHERE id = ?", [IDList.encode(Array(decoded.dropFirst())), target?.base ?? 0])
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let t = try #require(target)
    let problems = try store.checkIntegrity().problems.map(\.description)
    #expect(
      problems.contains {
        $0.contains(
          "the \(t.check)@\(CheckCatalog.check(id: t.check)?.description.version ?? 0) results of snapshot \(t.snapshot): changed since ledger entry"
        )
      }, "\(problems)")

    // A list's changes edited (a drop removed), and a run of an array one id shorter.
    var edited: (list: Int, snapshot: Int, check: String, array: Int, arraySnapshot: Int, arrayCheck: String)?
    let (second, secondDir) = try Self.damaged { raw in
      let list = try #require(
        try raw.query(
          """
          SELECT id, snapshot_id, check_id, result_ids FROM snapshot_results
          WHERE json_type(result_ids) = 'object' AND json_array_length(result_ids, '$.drop') > 0 ORDER BY id LIMIT 1
          """
        ).first)
      let text = try list.string("result_ids")
      let json = try JSONParser.parse(text)
      let changed = JSONWriter.canonical(
        .object([("add", try #require(json["add"])), ("base", try #require(json["base"])), ("drop", .array([]))]))
      try raw.run("UPDATE snapshot_results SET result_ids = ? WHERE id = ?", [changed, try list.int("id")])
      let array = try #require(
        try raw.query(
          "SELECT id, snapshot_id, check_id, result_ids FROM snapshot_results WHERE result_ids LIKE '[%,-%' ORDER BY id LIMIT 1"
        )
        .first)
      let runs = try array.string("result_ids")
      let run = try #require(runs.firstRange(of: ",-"))
      let digits = runs[run.upperBound...].prefix { $0.isNumber }
      let shorter = runs[..<run.upperBound] + "\(try #require(Int(digits)) - 1)" + runs[digits.endIndex...]
      #expect(IDList.decode(String(shorter)) != nil)
      try raw.run("UPDATE snapshot_results SET result_ids = ? WHERE id = ?", [String(shorter), try array.int("id")])
      edited = (
        try list.int("id"), try list.int("snapshot_id"), try list.string("check_id"), try array.int("id"), try array.int("snapshot_id"),
        try array.string("check_id")
      )
    }
    defer { try? FileManager.default.removeItem(at: secondDir) }
    let e = try #require(edited)
    let found = try second.checkIntegrity().problems.map(\.description)
    for (snapshot, check, list) in [(e.snapshot, e.check, e.list), (e.arraySnapshot, e.arrayCheck, e.array)] {
      #expect(
        found.contains {
          $0.contains(
            "the \(check)@\(CheckCatalog.check(id: check)?.description.version ?? 0) results of snapshot \(snapshot): changed since ledger entry"
          )
        }, "\(found)")
      #expect(found.contains { $0.hasPrefix("table snapshot_results, row \(list): its counts") }, "\(found)")
    }
  }
}
