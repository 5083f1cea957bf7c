import SQLiteDB
import Testing

@testable import IAMEvidence

/// The id lists of `snapshot_results` and `snapshot_principal_lists` (arrays with runs, and lists with
/// a base), and the SQL view that decodes them.
@Suite(.temporaryDirectories) struct IDListTests {
  @Test func roundTripsAndSortsAndStaysSmall() {
    let ids: [Int64] = [5_000, 17, 5_001, 5_002, 1, 9_999_999]
    // 5000, 5001, 5002: an id and a run of two more (migration 0009); one id after another stays 1.
    #expect(IDList.encode(ids) == "[1,16,4983,-2,9994997]")
    #expect(IDList.decode(IDList.encode(ids)) == ids.sorted())
    #expect(IDList.decode(IDList.encode([])) == [])
    #expect(IDList.encode([7, 8]) == "[7,1]" && IDList.encode([7, 8, 9]) == "[7,-2]" && IDList.encode([7, 7, 8, 9]) == "[7,0,-2]")
    let run = (100_000..<102_000).map(Int64.init)
    #expect(IDList.encode(run) == "[100000,-1999]")
    #expect(IDList.decode(IDList.encode(run)) == run)
  }

  /// Lists with a base (migration 0009): the base's ids without `drop`, with `add`.
  @Test func aListWithABaseIsItsBaseWithItsChanges() throws {
    let bases: [Int64: String] = [1: "[10,-4,6,-2]", 2: "[10,0]", 3: #"{"add":[],"base":1,"drop":[]}"#, 4: "[5,-2,0]"]
    func decode(_ text: String) -> [Int64]? { IDList.decode(text) { bases[$0] } }
    // Base 1: 10 11 12 13 14 20 21 22.
    #expect(decode(#"{"add":[],"base":1,"drop":[]}"#) == [10, 11, 12, 13, 14, 20, 21, 22])
    #expect(decode(#"{"add":[2,13,-2,23],"base":1,"drop":[11,9,-1]}"#) == nil)  // a run of one id
    #expect(decode(#"{"add":[2,13,-2,23],"base":1,"drop":[11,9]}"#) == [2, 10, 12, 13, 14, 15, 16, 17, 21, 22, 40])
    #expect(decode(#"{"add":[23],"base":1,"drop":[10,-4,6,-2]}"#) == [23])
    #expect(decode(#"{"add":[5],"base":4,"drop":[]}"#) == nil)  // a base repeats an id
    let bad = [
      #"{"add":[],"base":9,"drop":[]}"#,  // no such base
      #"{"add":[],"base":3,"drop":[]}"#,  // a base that has a base
      #"{"add":[],"base":2,"drop":[]}"#,  // a base that repeats an id
      #"{"add":[12],"base":1,"drop":[]}"#,  // adds an id the base holds
      #"{"add":[],"base":1,"drop":[15]}"#,  // drops one it does not
      #"{"add":[],"base":1,"drop":[30]}"#,
      #"{"add":[30,0],"base":1,"drop":[]}"#,  // an id added twice
      #"{"add":[],"base":1,"drop":[11,0]}"#,
      #"{"add":[],"base":1}"#, #"{"add":[],"base":1,"drop":[],"more":[]}"#, #"{"add":[],"base":1,"drop":[],"add":[]}"#,
      #"{"add":[],"base":"1","drop":[]}"#, #"{"add":[],"base":1.0,"drop":[]}"#, #"{"add":[],"base":-1,"drop":[]}"#,
      #"{"add":{},"base":1,"drop":[]}"#, #"{"add":[-2],"base":1,"drop":[]}"#, "[1,{}]",
    ]
    for text in bad { #expect(decode(text) == nil, "\(text)") }
  }

  /// What ``IDList/store(_:previous:in:minimumBaseLength:)`` writes: short lists as arrays; a long one as a new base;
  /// the next lists as changes against it while they stay small; a new base when they no longer are.
  @Test func listsAreStoredAgainstTheBaseOfThePreviousOne() throws {
    let db = try SQLiteConnection(path: ":memory:")
    try db.execute("CREATE TABLE id_lists (id INTEGER PRIMARY KEY, ids TEXT NOT NULL)")
    func read(_ text: String) throws -> [Int64]? { try IDList.decode(text, in: db) }
    // Short: an array, whatever came before.
    #expect(try IDList.store([3, 1, 2], previous: nil, in: db) == "[1,-2]")
    // Every other id from 1 to 199: 100 elements, too long for an array of its own.
    var ids = (0..<100).map { Int64(2 * $0 + 1) }
    let first = try IDList.store(ids, previous: "[1,-2]", in: db)
    #expect(first == #"{"add":[],"base":1,"drop":[]}"#)
    #expect(try read(first) == ids)
    #expect(try db.scalar("SELECT ids FROM id_lists WHERE id = 1") == .text(IDList.encode(ids)))
    // A few changes: written against base 1.
    ids.removeAll { $0 == 51 || $0 == 53 }
    ids += [500, 501, 502]
    let second = try IDList.store(ids, previous: first, in: db)
    #expect(second == #"{"add":[500,-2],"base":1,"drop":[51,2]}"#)
    #expect(try read(second) == ids)
    // Changes as long as a quarter of the base: a new base.
    ids = ids.filter { $0 > 60 } + (1000..<1060).map { Int64($0 * 3) }
    let third = try IDList.store(ids, previous: second, in: db)
    #expect(third == #"{"add":[],"base":2,"drop":[]}"#)
    #expect(try read(third) == ids)
    #expect(try db.scalar("SELECT count(*) FROM id_lists") == .integer(2))
    // Repeated ids are always an array (a base holds each id once).
    let repeated = (0..<100).flatMap { [Int64(2 * $0), Int64(2 * $0)] }
    #expect(try IDList.store(repeated, previous: third, in: db) == IDList.encode(repeated))
    #expect(try db.scalar("SELECT count(*) FROM id_lists") == .integer(2))
    // A list back to short after a base: an array again.
    #expect(try IDList.store([7], previous: third, in: db) == "[7]")
  }

  @Test func theResultsViewDecodesTheListsLikeTheStore() throws {
    let (store, _) = try TestSupport.makeStore()
    let record = try TestSupport.ingest(store, TestSupport.fixture("dev-small.json"))
    try store.workflow.assess(snapshotID: record.id, now: TestSupport.fixedNow)
    let results = try store.workflow.results(snapshotID: record.id)
    #expect(try store.count("SELECT count(*) FROM results WHERE snapshot_id = ?", [record.id]) == results.count)
    for status in ResultStatus.allCases {
      #expect(
        try store.count("SELECT count(*) FROM results WHERE snapshot_id = ? AND status = ?", [record.id, status.rawValue])
          == results.filter { $0.status == status }.count)
    }
    // Every finding key of the store is in the view, once.
    #expect(
      try store.count("SELECT count(DISTINCT finding_key) FROM results WHERE snapshot_id = ?", [record.id])
        == Set(results.map(\.findingKey)).count)
  }
}

/// What the store gives back is what was decoded: principals (with RoleLastUsed), policies and all
/// their versions, across snapshots that share states.
@Suite(.temporaryDirectories) struct StoreRoundTripTests {
  @Test(arguments: ["dev-small.json", "dev-series/2024-01.json", "dev-series/2024-02.json"])
  func loadedSnapshotEqualsTheDecodedOne(fixture: String) throws {
    let (store, _) = try TestSupport.makeStore()
    // Another month first, so that states and role usages are shared, not freshly inserted.
    try TestSupport.ingest(store, TestSupport.fixture("dev-series/2024-03.json"), capturedAt: "2024-03-31T00:00:00Z")
    let record = try TestSupport.ingest(store, TestSupport.fixture(fixture))
    let decoded = try SnapshotDecoder(sourceName: fixture).decode(try TestSupport.bytes(TestSupport.fixture(fixture)))
    let loaded = try store.loadSnapshot(id: record.id)
    #expect(Set(loaded.principals) == Set(decoded.principals))
    #expect(Set(loaded.managedPolicies) == Set(decoded.managedPolicies))
    #expect(loaded.principals.contains { $0.roleLastUsedDate != nil })
  }
}
