import Testing

@testable import IAMEvidence

/// The delta-encoded id lists of `snapshot_results`, and the SQL view that decodes them.
@Suite(.temporaryDirectories) struct IDListTests {
  @Test func roundTripsAndSortsAndStaysSmall() {
    let ids: [Int64] = [5_000, 17, 5_001, 5_002, 1, 9_999_999]
    #expect(IDList.encode(ids) == "[1,16,4983,1,1,9994997]")
    #expect(IDList.decode(IDList.encode(ids)) == ids.sorted())
    #expect(IDList.decode(IDList.encode([])) == [])
    let run = (100_000..<102_000).map(Int64.init)
    #expect(IDList.encode(run).utf8.count < 2 * run.count + 10)
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
