import Foundation
import SQLiteDB
import Testing

@testable import IAMEvidence

/// Id lists over many random lists and over the dev-series fixtures' own: whatever form a list is
/// written in (an array with runs, changes against a base), it reads back as exactly its ids, in the
/// store and in the views; and each kind of damage to a list or a base is refused by the readers and
/// named by the integrity check, never read as other ids.
@Suite(.temporaryDirectories) struct IDListPropertyTests {
  /// `count` ascending ids without repeats: blocks of consecutive ids (some of one) with gaps of a few
  /// ids or of thousands between them.
  static func randomIDs(count: Int, using rng: inout SplitMix) -> [Int64] {
    var ids: [Int64] = []
    var next = Int64.random(in: 1...50, using: &rng)
    while ids.count < count {
      let block = Int.random(in: 0..<10, using: &rng) < 3 ? 1 : Int.random(in: 2...40, using: &rng)
      for _ in 0..<min(block, count - ids.count) {
        ids.append(next)
        next += 1
      }
      let far = Bool.random(using: &rng)
      next += Int64.random(in: 1...(far ? 5_000 : 3), using: &rng)
    }
    return ids
  }

  /// The next day's list: a few ids dropped, a few new ids (above every id so far, as new rows are)
  /// added; now and then most of the list replaced, or the list emptied; an emptied list filled again.
  static func nextDay(_ ids: [Int64], top: inout Int64, using rng: inout SplitMix) -> [Int64] {
    var kept = ids
    let roll = Int.random(in: 0..<100, using: &rng)
    let small = max(2, ids.count / 40)
    let dropped = roll == 0 ? kept.count : roll < 4 ? kept.count * 3 / 4 : Int.random(in: 0...small, using: &rng)
    for _ in 0..<min(dropped, kept.count) { kept.remove(at: Int.random(in: 0..<kept.count, using: &rng)) }
    let added = roll == 0 ? 0 : roll < 4 || ids.isEmpty ? max(ids.count, 200) : Int.random(in: 0...small, using: &rng)
    for _ in 0..<added {
      let step = Int64.random(in: 1...3, using: &rng)
      top += step
      kept.append(top)
    }
    return kept.sorted()
  }

  @Test func arraysOfRandomListsReadBackAsTheirIds() {
    var rng = SplitMix(state: 16)
    var runs = 0
    for _ in 0..<3_000 {
      var ids = Self.randomIDs(count: Int.random(in: 0...300, using: &rng), using: &rng)
      // Repeats, which an array keeps (a list written before 0009 could hold them).
      if Int.random(in: 0..<10, using: &rng) == 0, let id = ids.randomElement(using: &rng) { ids += [id, id] }
      let text = IDList.encode(ids.shuffled(using: &rng))
      if text.contains(",-") { runs += 1 }
      #expect(IDList.decode(text) == ids.sorted(), "\(text)")
      #expect(IDList.decode(text) { _ in nil } == ids.sorted(), "\(text)")
    }
    #expect(runs > 2_000)
  }

  /// A year of random days per seed, each list written against the base of the day before's: each
  /// reads back as its ids when written and after all of them were (bases never change), and the
  /// `snapshot_principals` view of a real database expands each as the store does.
  @Test(arguments: 1...6 as ClosedRange<UInt64>)
  func randomSeriesWrittenAgainstBasesReadBackAsTheirIds(seed: UInt64) throws {
    var rng = SplitMix(state: seed)
    let (store, dir) = try TestSupport.makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = try SQLiteConnection(path: store.path, mode: .readWrite)
    // Lists of snapshots that do not exist: only the lists and the view are under test here.
    try db.execute("PRAGMA foreign_keys = OFF")
    var ids = Self.randomIDs(count: Int.random(in: 20...800, using: &rng), using: &rng)
    var top = ids.last ?? 0
    var previous: String?
    var written: [(ids: [Int64], text: String)] = []
    try db.transaction {
      for day in 1...365 {
        let text = try IDList.store(ids, previous: previous, in: db)
        #expect(try IDList.decode(text, in: db) == ids, "day \(day): \(text.prefix(200))")
        try db.run("INSERT INTO snapshot_principal_lists (snapshot_id, state_ids, usage_ids) VALUES (?, ?, '[]')", [day, text])
        written.append((ids, text))
        previous = text
        ids = Self.nextDay(ids, top: &top, using: &rng)
      }
    }
    for (day, list) in written.enumerated() { #expect(try IDList.decode(list.text, in: db) == list.ids, "day \(day + 1)") }
    // Every form was written: arrays, lists against a base, and more than one base.
    #expect(written.contains { $0.text.hasPrefix("[") } && written.filter { $0.text.hasPrefix("{") }.count > 300)
    #expect(try db.scalar("SELECT count(*) > 1 FROM id_lists") == .integer(1))
    let view = try db.query("SELECT snapshot_id, principal_state FROM snapshot_principals").map {
      "\(try $0.int("snapshot_id")) \(try $0.int("principal_state"))"
    }
    let expected = written.enumerated().flatMap { day, list in list.ids.map { "\(day + 1) \($0)" } }
    #expect(view.sorted() == expected.sorted())
  }

  /// The lists of the dev-series months (and dev-small), each written as its changes against a base
  /// made from the one before's (however short): each reads back as the store's ids.
  @Test func theDevSeriesListsWrittenAgainstBasesReadBackAsTheirIds() throws {
    let (source, _) = try StorageFormTests.assessedStore()
    let stored = try SQLiteConnection(path: source.path, mode: .readOnly)
    var series: [String: [[Int64]]] = [:]
    for row in try stored.query("SELECT snapshot_id, check_id, result_ids, open_ids FROM snapshot_results ORDER BY snapshot_id, id") {
      let check = try row.string("check_id")
      series["all \(check)", default: []].append(try #require(try IDList.decode(try row.string("result_ids"), in: stored)))
      series["open \(check)", default: []].append(try #require(try IDList.decode(try row.string("open_ids"), in: stored)))
    }
    for row in try stored.query("SELECT state_ids, usage_ids FROM snapshot_principal_lists ORDER BY snapshot_id") {
      series["states", default: []].append(try #require(try IDList.decode(try row.string("state_ids"), in: stored)))
      series["usages", default: []].append(try #require(try IDList.decode(try row.string("usage_ids"), in: stored)))
    }
    #expect(series["states"]?.count == StorageFormTests.months.count && series.count > 20)
    let db = try SQLiteConnection(path: ":memory:")
    try db.execute("CREATE TABLE id_lists (id INTEGER PRIMARY KEY, ids TEXT NOT NULL)")
    var againstBases = 0
    for (name, lists) in series.sorted(by: { $0.key < $1.key }) {
      var previous: String?
      for (month, ids) in lists.enumerated() {
        let text = try IDList.store(ids, previous: previous, in: db, minimumBaseLength: 0)
        #expect(try IDList.decode(text, in: db) == ids, "\(name), month \(month + 1): \(text)")
        if month > 0, text.hasPrefix("{") { againstBases += 1 }
        previous = text
      }
    }
    #expect(againstBases > 20)
  }

  // MARK: Damage

  /// One damage to a list or a base of a copy of a series database.
  struct Damage: CustomStringConvertible, Sendable {
    var description: String
    /// The new text of the list (nil: the list is left as it is).
    var list: (@Sendable (_ base: Int64, _ baseIDs: [Int64]) -> String)?
    /// The new text of the base (nil: left as it is).
    var base: String?
  }

  static func changes(add: [Int64], base: Int64, drop: [Int64]) -> String {
    #"{"add":\#(IDList.encode(add)),"base":\#(base),"drop":\#(IDList.encode(drop))}"#
  }

  static let damages: [Damage] = [
    Damage(description: "a base that does not exist", list: { _, _ in #"{"add":[],"base":999999,"drop":[]}"# }),
    Damage(description: "a drop of an id the base lacks", list: { b, ids in changes(add: [], base: b, drop: [ids.last! + 1]) }),
    Damage(description: "an add of an id the base holds", list: { b, ids in changes(add: [ids[1]], base: b, drop: []) }),
    Damage(description: "an add that repeats an id", list: { b, ids in #"{"add":[\#(ids.last! + 5),0],"base":\#(b),"drop":[]}"# }),
    Damage(description: "a drop that repeats an id", list: { b, ids in #"{"add":[],"base":\#(b),"drop":[\#(ids[0]),0]}"# }),
    Damage(description: "a member too many", list: { b, _ in #"{"add":[],"base":\#(b),"drop":[],"more":[]}"# }),
    Damage(description: "a base that repeats an id", base: "[5,0,3]"),
    Damage(description: "a base that is not an array", base: #"{"add":[],"base":1,"drop":[]}"#),
    Damage(description: "a base with a run of one id", base: "[5,-1]"),
    Damage(description: "a run of one id", list: { _, _ in "[3,-1]" }),
    Damage(description: "a run first", list: { _, _ in "[-2,5]" }),
    Damage(description: "a run past Int64.max", list: { _, _ in "[9223372036854775806,-2]" }),
    Damage(description: "a run of more ids than a list may hold", list: { _, _ in "[1,-99999999]" }),
    Damage(description: "a difference that is not an integer", list: { _, _ in "[3,1.5]" }),
    Damage(description: "text that is not JSON", list: { _, _ in "[1,2" }),
  ]

  /// Each damage to a result list (or to its base) makes the readers refuse the snapshot's results
  /// naming the list, and the integrity check (check-db's, and the report's one-pass read) name it;
  /// a damaged base is named itself too.
  @Test func eachDamageToAResultListOrItsBaseIsRefusedAndNamed() throws {
    let (store, dir) = try TestSupport.makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    try IDListStorageTests.ingest(0..<14, into: store)
    let (base, list, snapshot, _) = try IDListStorageTests.resultBase(try SQLiteConnection(path: store.path, mode: .readOnly))
    for (n, damage) in Self.damages.enumerated() {
      let copy = dir.appendingPathComponent("damaged-\(n).sqlite").path
      try SQLiteConnection(path: store.path, mode: .readOnly).run("VACUUM INTO ?", [copy])
      let raw = try SQLiteConnection(path: copy, mode: .readWrite)
      try raw.execute("DROP TRIGGER id_lists_no_update")
      guard case .text(let baseText)? = try raw.scalar("SELECT ids FROM id_lists WHERE id = ?", [base]),
        let baseIDs = IDList.decodeBase(baseText)
      else { throw StoreError(path: copy, message: "no base \(base)") }
      if let text = damage.list?(Int64(base), baseIDs) {
        try raw.run("UPDATE snapshot_results SET result_ids = ? WHERE id = ?", [text, list])
      }
      if let text = damage.base { try raw.run("UPDATE id_lists SET ids = ? WHERE id = ?", [text, base]) }
      let damaged = try EvidenceStore(path: copy, create: false, now: TestSupport.fixedNow)

      let message = RowDecodingTests.message { _ = try damaged.results(snapshotID: snapshot) }
      #expect(message.contains("table snapshot_results, row \(list), column result_ids: not a list of ids"), "\(damage): \(message)")
      let named = "table snapshot_results, row \(list): column result_ids is not a list of ids"
      let problems = try damaged.checkIntegrity().problems.map(\.description)
      #expect(problems.contains { $0.hasPrefix(named) }, "\(damage): \(problems)")
      if damage.base != nil {
        #expect(problems.contains("table id_lists, row \(base): column ids is not a list of ascending ids"), "\(damage): \(problems)")
      }
      let (report, _) = try damaged.checkIntegrity(snapshotIDs: [snapshot], readingResultsOf: snapshot)
      #expect(report.problems.map(\.description).contains { $0.hasPrefix(named) }, "\(damage): \(report.problems)")
    }
  }

  /// A principal list whose base is gone: the snapshot does not load, and check-db names the list.
  @Test func aPrincipalListWhoseBaseIsGoneIsRefusedAndNamed() throws {
    var target: (snapshot: Int, base: Int)?
    let (store, dir) = try IDListStorageTests.damaged { raw in
      let row = try #require(
        try raw.query(
          """
          SELECT snapshot_id, json_extract(state_ids, '$.base') AS base FROM snapshot_principal_lists
          WHERE json_type(state_ids) = 'object' ORDER BY snapshot_id DESC LIMIT 1
          """
        ).first)
      target = (try row.int("snapshot_id"), try row.int("base"))
      try raw.run("DELETE FROM id_lists WHERE id = ?", [try row.int("base")])
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let t = try #require(target)
    let message = RowDecodingTests.message { _ = try store.loadSnapshot(id: t.snapshot) }
    #expect(message.contains("table snapshot_principal_lists, row \(t.snapshot), column state_ids: not a list of ids"), "\(message)")
    let problems = try store.checkIntegrity().problems.map(\.description)
    #expect(
      problems.contains(
        "table snapshot_principal_lists, row \(t.snapshot): column state_ids is not a list of ids (with its base, id_lists row \(t.base))"),
      "\(problems)")
  }

  /// A base of principal lists edited so that it still reads, as other ids (one the lists written
  /// against it never drop taken out): the lists read without error, so only the ledger can tell.
  /// check-db names the snapshots' rows as changed, and `report` refuses to write evidence from them.
  @Test func aBaseOfPrincipalListsThatStillReadsAsOtherIdsIsCaughtByTheLedger() throws {
    var target: (snapshots: [Int], base: Int)?
    let (store, dir) = try IDListStorageTests.damaged { raw in
      let lists = try raw.query(
        "SELECT snapshot_id, state_ids FROM snapshot_principal_lists WHERE json_type(state_ids) = 'object' ORDER BY snapshot_id")
      let first = try #require(lists.first)
      let base = try #require(IDList.baseReference(try first.string("state_ids")))
      var users: [Int] = []
      var dropped = Set<Int64>()
      for row in lists {
        let text = try row.string("state_ids")
        guard IDList.baseReference(text) == base else { continue }
        users.append(try row.int("snapshot_id"))
        let drop = try #require(try JSONParser.parse(text)["drop"])
        dropped.formUnion(try #require(IDList.decode(JSONWriter.canonical(drop))))
      }
      guard case .text(let baseText)? = try raw.scalar("SELECT ids FROM id_lists WHERE id = ?", [base]) else { return }
      let ids = try #require(IDList.decodeBase(baseText))
      let kept = try #require(ids.first { !dropped.contains($0) })
      try raw.run("UPDATE id_lists SET ids = ? WHERE id = ?", [IDList.encode(ids.filter { $0 != kept }), base])
      target = (users, Int(base))
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    let t = try #require(target)
    #expect(!t.snapshots.isEmpty)
    for snapshot in t.snapshots { _ = try store.loadSnapshot(id: snapshot) }
    let problems = try store.checkIntegrity().problems.map(\.description)
    for snapshot in t.snapshots {
      #expect(problems.contains { $0.contains("the rows of snapshot \(snapshot): changed since ledger entry") }, "\(problems)")
    }
    #expect(!problems.contains { $0.hasPrefix("table id_lists") }, "\(problems)")
    let checkDB = try TestSupport.run(["check-db", "--db", store.path])
    #expect(checkDB.status != 0 && checkDB.stdout.contains("the rows of snapshot \(t.snapshots[0])"), "\(checkDB.stdout)")
    let out = dir.appendingPathComponent("report")
    let report = try TestSupport.run([
      "report", "--db", store.path, "--snapshot", "\(t.snapshots[0])", "--out", out.path, "--templates",
      TestSupport.packageRoot.appendingPathComponent("Templates").path,
    ])
    #expect(report.status != 0 && report.stderr.contains("fails its integrity check"), "\(report.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out.path))
  }
}
