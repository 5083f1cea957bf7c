import SQLiteDB

extension EvidenceStore {
  /// Writes the provenance of snapshot `snapshotID` inside its ingest transaction (the ledger entry
  /// that follows covers it).
  func insertProvenance(_ p: SnapshotProvenance, snapshotID: Int) throws {
    let c = p.callerIdentity
    try db.run(
      """
      INSERT INTO snapshot_provenance (snapshot_id, operator, caller_user_id, caller_account, caller_arn, caller_source, caller_sha256,
        host, os_user, tool_name, tool_version, tool_source_sha256) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
      """,
      [
        snapshotID, p.operatorName, c?.userID, c?.account, c?.arn, c?.source, c?.sha256, p.host, p.osUser, p.build.name, p.build.version,
        p.build.sourceSHA256,
      ])
  }

  /// The provenance recorded for each of `snapshotIDs` that has one, by snapshot id (a snapshot
  /// ingested before provenance was recorded, or without it, is absent).
  public func provenance(snapshotIDs: [Int]) throws(StoreError) -> [Int: SnapshotProvenance] {
    try wrap {
      var out: [Int: SnapshotProvenance] = [:]
      let statement = try db.prepare("SELECT * FROM snapshot_provenance WHERE snapshot_id = ?")
      for id in snapshotIDs {
        try statement.bind([id])
        defer { statement.reset() }
        guard let row = try statement.step() else { continue }
        var caller: CallerIdentity?
        if let arn = try row.optionalString("caller_arn") {
          caller = CallerIdentity(
            userID: try row.optionalString("caller_user_id") ?? "", account: try row.string("caller_account"), arn: arn,
            source: try row.optionalString("caller_source") ?? "", sha256: try row.string("caller_sha256"))
        }
        out[id] = SnapshotProvenance(
          operatorName: try row.optionalString("operator"), callerIdentity: caller, host: try row.string("host"),
          osUser: try row.string("os_user"),
          build: ToolBuild(
            name: try row.string("tool_name"), version: try row.string("tool_version"), sourceSHA256: try row.string("tool_source_sha256")))
      }
      return out
    }
  }
}
