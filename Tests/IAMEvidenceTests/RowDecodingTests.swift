import Foundation
import SQLiteDB
import Testing

@testable import IAMEvidence

/// Reading rows back: a typo'd column, a NULL, a wrong type or a damaged stored value is an error that
/// names what is wrong (column and SQL; table, row and column), never a crash or a silent default.
@Suite(.temporaryDirectories) struct RowDecodingTests {
  /// A database with one assessed snapshot, damaged by `damage` through a connection of its own.
  static func damaged(_ damage: (SQLiteConnection, SnapshotRecord) throws -> Void) throws -> (EvidenceStore, SnapshotRecord, URL) {
    let (store, dir) = try TestSupport.makeStore()
    let record = try TestSupport.ingest(store, TestSupport.fixture("dev-small.json"))
    try store.workflow.assess(snapshotID: record.id, now: TestSupport.fixedNow)
    let db = try SQLiteConnection(path: store.path, mode: .readWrite)
    try damage(db, record)
    return (try EvidenceStore(path: store.path, create: false, now: TestSupport.fixedNow), record, dir)
  }

  /// The text of the error `body` throws (a failure when it throws none).
  static func message(_ body: () throws -> Void) -> String {
    do {
      try body()
      Issue.record("expected an error")
      return ""
    } catch {
      return "\(error)"
    }
  }

  @Test func aColumnTheRowDoesNotHaveIsAnErrorNamingItAndTheSQL() throws {
    let db = try SQLiteConnection(path: ":memory:")
    let row = try #require(try db.query("SELECT 1 AS id, 'x' AS name, NULL AS label").first)
    #expect(try row.int("id") == 1)
    #expect(try row.optionalString("label") == nil)
    #expect(throws: SQLiteDecodingError(problem: .columnNotFound, column: "nmae", sql: row.sql)) { try row.string("nmae") }
    #expect(throws: SQLiteDecodingError(problem: .columnNotFound, column: "nmae", sql: row.sql)) { try row.optionalString("nmae") }
    let text = Self.message { _ = try row.string("nmae") }
    #expect(text.contains("\"nmae\"") && text.contains("SELECT 1 AS id"), "\(text)")
  }

  @Test func nullWhereAValueIsRequiredAndWrongTypesAreErrors() throws {
    let db = try SQLiteConnection(path: ":memory:")
    let row = try #require(try db.query("SELECT 1 AS n, 'x' AS s, NULL AS z, 2.5 AS r").first)
    #expect(throws: SQLiteDecodingError(problem: .null, column: "z", sql: row.sql)) { try row.string("z") }
    #expect(throws: SQLiteDecodingError(problem: .null, column: "z", sql: row.sql)) { try row.int("z") }
    #expect(throws: SQLiteDecodingError(problem: .wrongType(expected: "TEXT", found: "INTEGER"), column: "n", sql: row.sql)) {
      try row.string("n")
    }
    #expect(throws: SQLiteDecodingError(problem: .wrongType(expected: "INTEGER", found: "TEXT"), column: "s", sql: row.sql)) {
      try row.optionalInt("s")
    }
    #expect(throws: SQLiteDecodingError(problem: .wrongType(expected: "INTEGER", found: "REAL"), column: "r", sql: row.sql)) {
      try row.bool("r")
    }
    #expect(Self.message { _ = try row.string("z") }.contains("column \"z\" is NULL"))
  }

  @Test func bindRefusesTooFewOrTooManyArgumentsNamingTheSQL() throws {
    let db = try SQLiteConnection(path: ":memory:")
    let statement = try db.prepare("SELECT ? + ?")
    for arguments in [[], [1], [1, 2, 3]] as [[any SQLiteBindable]] {
      let text = Self.message { try statement.bind(arguments) }
      #expect(text.contains("\(arguments.count) argument(s) given for 2 parameter(s)") && text.contains("SELECT ? + ?"), "\(text)")
    }
    try statement.bind([1, 2])
    #expect(try statement.step()?.values == [.integer(3)])
    #expect(throws: SQLiteError.self) { try db.query("SELECT ?", []) }
  }

  @Test func rowsOfARowBufferAreStoredExactlyAsTyped() throws {
    let db = try SQLiteConnection(path: ":memory:")
    try db.execute("CREATE TABLE t (a, b, c, d, e, f)")
    let insert = try db.prepare("INSERT INTO t (a, b, c, d, e, f) VALUES (?,?,?,?,?,?)")
    var rows = SQLiteRowBuffer()
    // Texts with a NUL byte and multi-byte UTF-8, an empty text (not NULL), an empty blob, NULLs.
    let texts = ["a\u{0}b", "", "é✓", String(repeating: "x", count: 70_000)]
    for (k, text) in texts.enumerated() {
      rows.text(text)
      rows.integer(Int64(k) - 2)
      rows.text(k % 2 == 0 ? nil : text)
      rows.blob(Array(text.utf8.prefix(3)))
      rows.bool(k == 1 ? nil : k == 2)
      rows.endRow()
    }
    #expect(rows.count == texts.count)
    // The last value of each row given apart, after the buffer's own.
    for k in (0..<rows.count).reversed() { try insert.execute(row: k, of: rows, .real(Double(k) / 2)) }
    let stored = try db.query("SELECT a, b, c, d, e, f, typeof(a) AS ta, typeof(d) AS td FROM t ORDER BY b")
    #expect(stored.count == texts.count)
    for (k, row) in stored.enumerated() {
      #expect(try row.string("a") == texts[k])
      #expect(try row.int("b") == k - 2)
      #expect(try row.optionalString("c") == (k % 2 == 0 ? nil : texts[k]))
      #expect(try row.value("d") == .blob(Array(texts[k].utf8.prefix(3))))
      #expect(try row.optionalBool("e") == (k == 1 ? nil : k == 2))
      #expect(try row.value("f") == .real(Double(k) / 2))
      #expect(try row.string("ta") == "text" && row.string("td") == "blob")
    }
    // A row of another width than the statement's parameters is refused, naming the SQL.
    var short = SQLiteRowBuffer()
    short.integer(1)
    short.endRow()
    let text = Self.message { try insert.execute(row: 0, of: short) }
    #expect(text.contains("1 argument(s) given for 6 parameter(s)") && text.contains("INSERT INTO t"), "\(text)")
    #expect(try db.scalar("SELECT count(*) FROM t") == .integer(4))
  }

  @Test func aGarbageTimeNamesTableRowAndColumnInsteadOfBecoming1970() throws {
    let (store, record, dir) = try Self.damaged { db, record in
      try db.run("UPDATE snapshots SET captured_at = 'garbage' WHERE id = ?", [record.id])
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let text = Self.message { _ = try store.snapshots() }
    #expect(text.contains("table snapshots, row \(record.id), column captured_at: \"garbage\" is not a time"), "\(text)")
    #expect(text.hasPrefix(store.path))
    // The CLI prints it plainly and exits 2.
    let run = try TestSupport.run(["snapshots", "--db", store.path])
    #expect(run.status == 2)
    #expect(run.stderr == "error: \(text)\n", "\(run.stderr)")
  }

  @Test func aGarbageIDListNamesTableRowAndColumnInsteadOfBecomingEmpty() throws {
    let (store, record, dir) = try Self.damaged { db, record in
      try db.run(
        "UPDATE snapshot_results SET result_ids = '[1,\"x\"]', open_ids = 'not json' WHERE snapshot_id = ? AND check_id = ?",
        [record.id, "kms-full-access-inline"])
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let row = try store.integer(
      "SELECT id FROM snapshot_results WHERE snapshot_id = ? AND check_id = ?", [record.id, "kms-full-access-inline"])
    let results = Self.message { _ = try store.workflow.results(snapshotID: record.id) }
    #expect(results.contains("table snapshot_results, row \(row), column result_ids: not a list of ids"), "\(results)")
    let trend = Self.message { _ = try store.workflow.trend(account: nil, from: nil, to: nil) }
    #expect(trend.contains("table snapshot_results, row \(row), column open_ids: not a list of ids"), "\(trend)")
  }

  @Test func aDamagedPrincipalListOrRoleUsageIsNamed() throws {
    let (store, record, dir) = try Self.damaged { db, record in
      try db.run("UPDATE snapshot_principal_lists SET state_ids = '[-5,1]' WHERE snapshot_id = ?", [record.id])
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let text = Self.message { _ = try store.loadSnapshot(id: record.id) }
    #expect(text.contains("table snapshot_principal_lists, row \(record.id), column state_ids"), "\(text)")

    let (usageStore, usageRecord, usageDir) = try Self.damaged { db, _ in
      try db.execute("UPDATE role_usages SET last_used_date = 'last tuesday' WHERE id = (SELECT min(id) FROM role_usages)")
    }
    defer { try? FileManager.default.removeItem(at: usageDir) }
    let usage = Self.message { _ = try usageStore.loadSnapshot(id: usageRecord.id) }
    #expect(
      usage.contains("table role_usages, row ") && usage.contains("column last_used_date: \"last tuesday\" is not a time"), "\(usage)")
  }

  @Test func anUnknownStoredValueIsNamedNotReplaced() throws {
    let (store, record, dir) = try Self.damaged { db, _ in
      // The schema's CHECK constraints keep such values out; a damaged file need not respect them.
      try db.execute("PRAGMA ignore_check_constraints = ON")
      try db.execute("UPDATE principal_states SET principal_type = 'robot' WHERE id = (SELECT min(id) FROM principal_states)")
      try db.execute("UPDATE assessments SET assessed_at = 'soon'")
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let state = try store.integer("SELECT min(id) FROM principal_states", [])
    let text = Self.message { _ = try store.loadSnapshot(id: record.id) }
    #expect(text.contains("table principal_states, row \(state), column principal_type: unknown value \"robot\""), "\(text)")
    let assessment = Self.message { _ = try store.latestAssessment(snapshotID: record.id) }
    #expect(
      assessment.contains("table assessments, row ") && assessment.contains("column assessed_at: \"soon\" is not a time"), "\(assessment)")
  }

  @Test func idListsDecodeOnlyWhatTheyEncode() {
    #expect(IDList.decode("[3,1,0,2]") == [3, 4, 4, 6])
    #expect(IDList.decode("[]") == [])
    for bad in ["", "{}", "[1,\"2\"]", "[1,-1]", "[1.5]", "[9223372036854775807,1]", "null"] {
      #expect(IDList.decode(bad) == nil, "\(bad)")
    }
    // Runs (migration 0009): -n after an id is the n ids after it.
    #expect(IDList.decode("[3,-2]") == [3, 4, 5])
    #expect(IDList.decode("[3,-2,0,4,-3]") == [3, 4, 5, 5, 9, 10, 11, 12])
    #expect(IDList.decode("[9223372036854775805,-2]") == [9_223_372_036_854_775_805, 9_223_372_036_854_775_806, .max])
    let runs = [
      "[-2]", "[-2,5]",  // a run first: nothing to run from
      "[3,-2,-2]",  // a run after a run: never written
      "[3,-1]", "[3,-0]", "[-0]",  // a run of one id is written 1; of none, never
      "[9223372036854775806,-2]", "[1,-9223372036854775807]", "[1,-9223372036854775808]",  // past Int64.max
      "[1,-16777216]", "[1,-99999999999]",  // more ids than a list may hold (IDList.maximumCount)
      "[1,-2.0]", "[1,-2e1]", "[1,\"-2\"]",
    ]
    for bad in runs { #expect(IDList.decode(bad) == nil, "\(bad)") }
    // An object names a base: not a list without one.
    #expect(IDList.decode(#"{"add":[],"base":1,"drop":[]}"#) == nil)
  }
}
