import Crypto
import SQLiteDB

/// One stored assessment run of a snapshot.
public struct AssessmentRecord: Sendable, Hashable {
  public var id: Int
  public var snapshotID: Int
  public var assessedAt: Timestamp
  public var toolVersion: String
  /// `id@version` of every check run.
  public var checks: [String]
  public var exceptionsSource: String?
  public var exceptionsSHA256: String
  public var exceptionsContent: String
  public var staleExceptions: [String]
}

extension EvidenceStore {
  /// Assesses snapshot `id` with every check and stores the results, replacing that snapshot's
  /// earlier results for the same check versions, in one transaction.
  @discardableResult
  /// `decoded` may pass the snapshot just ingested, saving a reload from the database.
  public func assess(
    snapshotID id: Int, decoded: AuthorizationSnapshot? = nil, register: ExceptionRegister = .empty,
    checks: [any Check] = CheckCatalog.all, now: Timestamp
  ) throws(StoreError) -> Assessor.Outcome {
    guard let record = try snapshot(id: id) else { throw StoreError(path: path, message: "no snapshot \(id)") }
    let snapshot: AuthorizationSnapshot
    if let decoded { snapshot = decoded } else { snapshot = try loadSnapshot(id: id) }
    let outcome = Assessor.assess(snapshot, capturedAt: record.capturedAt, register: register, checks: checks)
    try wrap {
      try db.transaction {
        let checkList = checks.map { "\($0.description.id)@\($0.description.version)" }
        try db.run(
          """
          INSERT INTO assessments (snapshot_id, assessed_at, tool_version, checks, exceptions_source, exceptions_sha256,
            exceptions_content, stale_exceptions) VALUES (?,?,?,?,?,?,?,?)
          """,
          [
            id, now.description, Self.toolVersion, JSONWriter.canonical(.array(checkList.map(JSONValue.string))), register.source,
            register.sha256, register.content, JSONWriter.canonical(.array(outcome.staleExceptions.map { .string($0.id) })),
          ])
        let assessmentID = Int(db.lastInsertRowID)
        // Replace this snapshot's results for the check versions run; each distinct result is stored
        // once across all snapshots (content-addressed) and the snapshot keeps the list of its ids.
        let delete = try db.prepare("DELETE FROM snapshot_results WHERE snapshot_id = ? AND check_id = ? AND check_version = ?")
        let insertDetail = try db.prepare(
          """
          INSERT INTO result_details (sha256, check_id, check_version, finding_key, status, principal_type, principal_id,
            principal_name, principal_arn, policy_kind, policy_name, policy_arn, policy_version, document_sha256, exception_id, detail)
            VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(sha256) DO NOTHING
          """)
        let findDetail = try db.prepare("SELECT id FROM result_details WHERE sha256 = ?")
        let insertList = try db.prepare(
          """
          INSERT INTO snapshot_results (snapshot_id, check_id, check_version, assessment_id, tool_version, fail, excepted, pass,
            error, result_ids, open_ids) VALUES (?,?,?,?,?,?,?,?,?,?,?)
          """)
        // The canonical form and hash of every result, computed on every core before the writes.
        let encoded = CheckContext.parallelMap(outcome.results) { r -> (String, String) in
          let detail = JSONWriter.canonicalBytes(r.storedJSON)
          return (SHA256.hash(data: detail).hexString, String(decoding: detail, as: UTF8.self))
        }
        for check in checks {
          let d = check.description
          try delete.execute([id, d.id, d.version])
          var ids: [JSONValue] = []
          var open: [JSONValue] = []
          var counts = StatusCounts()
          for (r, (sha, detail)) in zip(outcome.results, encoded) where r.checkID == d.id && r.checkVersion == d.version {
            try insertDetail.execute([
              sha, r.checkID, r.checkVersion, r.findingKey, r.status.rawValue, r.principal?.type.rawValue, r.principal?.id,
              r.principal?.name, r.principal?.arn, r.policy?.kind.rawValue, r.policy?.name, r.policy?.arn, r.policy?.versionID,
              r.policy?.documentSHA256, r.exception?.id, detail,
            ])
            var detailID = db.lastInsertRowID
            if db.changes == 0 {
              try findDetail.bind([sha])
              guard case .integer(let existing) = try findDetail.step()?.values.first else {
                throw StoreError(path: path, message: "result \(sha) missing after insert")
              }
              detailID = existing
              try findDetail.bind([])
            }
            ids.append(.number(String(detailID)))
            if r.status == .fail || r.status == .excepted { open.append(.number(String(detailID))) }
            counts[r.status] += 1
          }
          try insertList.execute([
            id, d.id, d.version, assessmentID, Self.toolVersion, counts.fail, counts.excepted, counts.pass, counts.error,
            JSONWriter.canonical(.array(ids)), JSONWriter.canonical(.array(open)),
          ])
        }
      }
    }
    return outcome
  }

  /// Stored results of snapshot `id`, in report order (most severe first), optionally filtered.
  public func results(snapshotID id: Int, check: String? = nil, statuses: Set<ResultStatus>? = nil) throws(StoreError) -> [CheckResult] {
    try wrap {
      var sql = """
        SELECT d.detail FROM snapshot_results sr, json_each(sr.result_ids) j JOIN result_details d ON d.id = j.value
        WHERE sr.snapshot_id = ?
        """
      var args: [any SQLiteBindable] = [id]
      if let check {
        sql += " AND sr.check_id = ?"
        args.append(check)
      }
      if let statuses {
        sql += " AND d.status IN (" + statuses.map { _ in "?" }.joined(separator: ",") + ")"
        args += statuses.sorted { $0.rawValue < $1.rawValue }.map(\.rawValue)
      }
      let results = try db.query(sql, args).compactMap { row -> CheckResult? in
        guard let text = row.string("detail"), let json = try? JSONParser.parse(text) else { return nil }
        return CheckResult(json: json)
      }
      return results.sorted(by: CheckResult.reportOrder)
    }
  }

  /// The latest assessment of snapshot `id`, if it was assessed.
  public func latestAssessment(snapshotID id: Int) throws(StoreError) -> AssessmentRecord? {
    try wrap {
      guard let row = try db.query("SELECT * FROM assessments WHERE snapshot_id = ? ORDER BY id DESC LIMIT 1", [id]).first else {
        return nil
      }
      func strings(_ column: String) -> [String] {
        (row.string(column).flatMap { try? JSONParser.parse($0) }?.arrayValue ?? []).compactMap(\.stringValue)
      }
      return AssessmentRecord(
        id: row.int("id")!, snapshotID: id, assessedAt: Timestamp(parsing: row.string("assessed_at")!) ?? Timestamp(epochSeconds: 0),
        toolVersion: row.string("tool_version")!, checks: strings("checks"), exceptionsSource: row.string("exceptions_source"),
        exceptionsSHA256: row.string("exceptions_sha256")!, exceptionsContent: row.string("exceptions_content")!,
        staleExceptions: strings("stale_exceptions"))
    }
  }

  /// Whether snapshot `id` has results.
  public func isAssessed(snapshotID id: Int) throws(StoreError) -> Bool {
    try wrap { try db.scalar("SELECT count(*) FROM snapshot_results WHERE snapshot_id = ?", [id]) != .integer(0) }
  }
}
