import Crypto
import Dispatch
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

/// One batch of results being encoded on another thread; read after its group is waited for.
private final class PendingBatch: @unchecked Sendable {
  let group = DispatchGroup()
  var encoded: [(String, String)] = []
}

/// The steps of ``EvidenceStore/assess(snapshotID:register:checks:now:phase:)``, reported as
/// each one ends (the CLI times them with `IAM_EVIDENCE_TIMINGS=1`).
public enum AssessPhase: String, Sendable {
  /// Every distinct document is evaluated.
  case evaluated
  /// Every check has run.
  case checked
  /// The results are committed.
  case stored
}

extension EvidenceStore {
  /// Assesses snapshot `id` with every check and stores the results, replacing that snapshot's
  /// earlier results for the same check versions, in one transaction.
  @discardableResult
  public func assess(
    snapshotID id: Int, register: ExceptionRegister = .empty,
    checks: [any Check] = CheckCatalog.all, now: Timestamp, phase: ((AssessPhase) -> Void)? = nil
  ) throws(StoreError) -> Assessor.Outcome {
    guard let record = try snapshot(id: id) else { throw StoreError(path: path, message: "no snapshot \(id)") }
    let outcome = Assessor.assess(
      try loadSnapshot(id: id), capturedAt: record.capturedAt, register: register, checks: checks, evaluated: { phase?(.evaluated) })
    phase?(.checked)
    try store(outcome, snapshotID: id, register: register, checks: checks, now: now)
    phase?(.stored)
    return outcome
  }

  /// Stores `outcome` as the assessment of snapshot `id` (one transaction).
  func store(
    _ outcome: Assessor.Outcome, snapshotID id: Int, register: ExceptionRegister, checks: [any Check], now: Timestamp
  ) throws(StoreError) {
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
        // Each check's results, by index: iterating all results once per check would copy every
        // result (a large struct) once per check.
        var indexes: [String: [Int]] = [:]
        for (i, r) in outcome.results.enumerated() { indexes["\(r.checkID)@\(r.checkVersion)", default: []].append(i) }
        let descriptions = checks.map(\.description)
        var batches: [(check: Int, items: [Int])] = []
        for (c, d) in descriptions.enumerated() {
          try delete.execute([id, d.id, d.version])
          let mine = indexes["\(d.id)@\(d.version)"] ?? []
          for start in stride(from: 0, to: mine.count, by: 2048) {
            batches.append((c, Array(mine[start..<min(start + 2048, mine.count)])))
          }
        }
        // The canonical form and hash of each batch of results are computed on the other cores while
        // the batch before it is written, so never all at once, and never waiting for each other.
        let results = outcome.results
        func encode(_ items: [Int]) -> PendingBatch {
          let pending = PendingBatch()
          pending.group.enter()
          DispatchQueue.global().async {
            pending.encoded = CheckContext.parallelMap(items, minimumCount: 16) { i -> (String, String) in
              let detail = results[i].storedCanonicalBytes
              return (SHA256.hash(data: detail).hexString, String(decoding: detail, as: UTF8.self))
            }
            pending.group.leave()
          }
          return pending
        }
        var ids = [[Int64]](repeating: [], count: descriptions.count)
        var open = [[Int64]](repeating: [], count: descriptions.count)
        var counts = [StatusCounts](repeating: StatusCounts(), count: descriptions.count)
        var next = batches.first.map { encode($0.items) }
        for (k, batch) in batches.enumerated() {
          guard let current = next else { break }
          current.group.wait()
          next = k + 1 < batches.count ? encode(batches[k + 1].items) : nil
          let d = descriptions[batch.check]
          for (i, (sha, detail)) in zip(batch.items, current.encoded) {
            let status = results[i].status
            let principal = results[i].principal
            let policy = results[i].policy
            try insertDetail.execute([
              sha, d.id, d.version, results[i].findingKey, status.rawValue, principal?.type.rawValue, principal?.id,
              principal?.name, principal?.arn, policy?.kind.rawValue, policy?.name, policy?.arn, policy?.versionID,
              policy?.documentSHA256, results[i].exception?.id, detail,
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
            ids[batch.check].append(detailID)
            if status == .fail || status == .excepted { open[batch.check].append(detailID) }
            counts[batch.check][status] += 1
          }
        }
        for (c, d) in descriptions.enumerated() {
          try insertList.execute([
            id, d.id, d.version, assessmentID, Self.toolVersion, counts[c].fail, counts[c].excepted, counts[c].pass,
            counts[c].error, IDList.encode(ids[c]), IDList.encode(open[c]),
          ])
        }
      }
    }
  }

  /// Stored results of snapshot `id`, in report order (most severe first), optionally filtered.
  public func results(snapshotID id: Int, check: String? = nil, statuses: Set<ResultStatus>? = nil) throws(StoreError) -> [CheckResult] {
    try wrap {
      var sql = "SELECT result_ids FROM snapshot_results WHERE snapshot_id = ?"
      var args: [any SQLiteBindable] = [id]
      if let check {
        sql += " AND check_id = ?"
        args.append(check)
      }
      let ids = try db.query(sql, args).flatMap { IDList.decode($0.string("result_ids") ?? "[]") }
      let find = try db.prepare("SELECT status, detail FROM result_details WHERE id = ?")
      var results: [CheckResult] = []
      for detailID in ids {
        try find.bind([detailID])
        guard let row = try find.step() else { throw StoreError(path: path, message: "result \(detailID) is missing (damaged database?)") }
        if let statuses, !statuses.contains(where: { $0.rawValue == row.string("status") }) { continue }
        guard let text = row.string("detail"), let json = try? JSONParser.parse(text), let result = CheckResult(json: json) else {
          throw StoreError(path: path, message: "result \(detailID) cannot be read (damaged database?)")
        }
        results.append(result)
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

/// The id lists of `snapshot_results`: JSON arrays, sorted ascending and delta-encoded (first id, then
/// differences), so that thousands of mostly consecutive ids take a few kilobytes. SQL decodes them
/// with a running sum (see the `results` view).
enum IDList {
  static func encode(_ ids: [Int64]) -> String {
    var previous: Int64 = 0
    return JSONWriter.canonical(
      .array(
        ids.sorted().map { id in
          defer { previous = id }
          return .number(String(id - previous))
        }))
  }

  static func decode(_ text: String) -> [Int64] {
    guard let values = try? JSONParser.parse(text).arrayValue else { return [] }
    var total: Int64 = 0
    return values.compactMap { value -> Int64? in
      guard case .number(let n) = value, let d = Int64(n) else { return nil }
      total += d
      return total
    }
  }
}
