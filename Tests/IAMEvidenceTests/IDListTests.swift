import Testing

@testable import IAMEvidence

/// The delta-encoded id lists of `snapshot_results`, and the SQL view that decodes them.
@Suite struct IDListTests {
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
    try store.assess(snapshotID: record.id, now: TestSupport.fixedNow)
    let results = try store.results(snapshotID: record.id)
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
