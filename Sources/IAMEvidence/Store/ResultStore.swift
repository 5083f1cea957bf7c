import Crypto
import Dispatch
import Foundation
import SQLiteDB

/// A batch of one check's results prepared on another thread for the writing one: each result's
/// `result_details` row (every column but `body_id`) and, when it has a body, the `result_bodies`
/// row, as typed values; the writing thread only binds and runs them. Read after its group is
/// waited for.
private final class PreparedBatch: @unchecked Sendable {
  let group = DispatchGroup()
  /// The `result_details` rows (16 values) of the results prepared here.
  var rows = SQLiteRowBuffer()
  /// The `result_bodies` rows (`sha256`, `template`).
  var bodies = SQLiteRowBuffer()
  /// Per result, in order: its row in `rows`, or -1 when the writing thread stores it itself (a value
  /// long enough for ``LongStrings``); its row in `bodies`, or -1.
  var row: [Int32] = []
  var body: [Int32] = []
  /// Per result: the SHA-256 of its detail, and its status; per body row, the body's SHA-256.
  var shas: [String] = []
  var statuses: [ResultStatus] = []
  var bodySHAs: [String] = []

  /// Prepares `results[items]`, results of the check `checkID` version `version`.
  func prepare(_ results: UnsafeBufferPointer<CheckResult>, _ items: Range<Int>, checkID: String, version: Int) {
    // Built in local variables, stored once: properties of a class would be checked for exclusive
    // access at every append.
    var rows = SQLiteRowBuffer()
    var bodies = SQLiteRowBuffer()
    var row: [Int32] = []
    var body: [Int32] = []
    var shas: [String] = []
    var statuses: [ResultStatus] = []
    var bodySHAs: [String] = []
    var lastTemplate: [UInt8] = []
    var lastBody: Int32 = -1
    // About 300 bytes of column texts a result on the benchmarks; room for a little more.
    rows.reserveCapacity(rows: items.count, values: 16, bytes: items.count * 384)
    row.reserveCapacity(items.count)
    body.reserveCapacity(items.count)
    shas.reserveCapacity(items.count)
    statuses.reserveCapacity(items.count)
    for i in items {
      let findingKey = results[i].findingKey
      let detail = results[i].storedCanonicalBytes(findingKey: findingKey)
      let sha = ContentHash.hex(detail)
      let status = results[i].status
      shas.append(sha)
      statuses.append(status)
      let template = ResultBody.template(detail: detail, values: ResultBody.values(of: results[i], findingKey: findingKey))
      if let template {
        // Most results share the body of the result before them (nine in ten on the default-quota
        // benchmark): that body row is named again instead of hashed and copied again.
        if lastBody >= 0 && Self.sameBytes(template, lastTemplate) {
          body.append(lastBody)
        } else {
          lastBody = Int32(bodies.count)
          body.append(lastBody)
          let bodySHA = ContentHash.hex(template)
          bodySHAs.append(bodySHA)
          bodies.text(bodySHA)
          bodies.text(utf8: template)
          bodies.endRow()
          lastTemplate = template
        }
      } else {
        body.append(-1)
      }
      let principal = results[i].principal
      let policy = results[i].policy
      let exception = results[i].exception?.id
      let columns = [findingKey, principal?.id, principal?.name, principal?.arn, policy?.name, policy?.arn, policy?.versionID, exception]
      if columns.contains(where: { $0.map(LongStrings.isLong) ?? false })
        || (template == nil && detail.count >= LongStrings.threshold && LongStrings.hasLongString(detail))
      {
        row.append(-1)
        continue
      }
      row.append(Int32(rows.count))
      rows.text(sha)
      rows.text(checkID)
      rows.integer(version)
      rows.text(findingKey)
      rows.text(status.rawValue)
      rows.text(principal?.type.rawValue)
      rows.text(principal?.id)
      rows.text(principal?.name)
      rows.text(principal?.arn)
      rows.text(policy?.kind.rawValue)
      rows.text(policy?.name)
      rows.text(policy?.arn)
      rows.text(policy?.versionID)
      rows.text(policy?.documentSHA256)
      rows.text(exception)
      // A result with a body keeps an empty detail (its columns are the body's values: ResultBody.fits).
      rows.text(utf8: template == nil ? detail : [])
      rows.endRow()
    }
    (self.rows, self.bodies, self.row, self.body, self.shas, self.statuses, self.bodySHAs) = (
      rows, bodies, row, body, shas, statuses, bodySHAs
    )
  }

  /// Whether `a` and `b` hold the same bytes.
  private static func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.count == b.count
      && a.withUnsafeBytes { a in b.withUnsafeBytes { b in a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
  }
}

/// Something to free on another thread (``EvidenceStore/release(_:)``).
private final class Garbage<T>: @unchecked Sendable {
  private var value: T?
  init(_ value: consuming T) { self.value = value }
  func drop() { value = nil }
}

/// Where the results of an assessment being stored come from, check by check, in the order of
/// ``NewAssessment/checks``: ``take`` waits for a check's results, ``poll`` gives them only when they
/// are ready. The checks may still be running while the first ones are stored.
struct AssessmentResults {
  var take: (Int) -> [CheckResult]
  var poll: (Int) -> [CheckResult]?
  /// The ids of the register's exceptions that matched no failing result, asked once every check's
  /// results are taken (replacing ``NewAssessment/staleExceptions``).
  var staleExceptions: () -> [String]
  /// Called once the last check's results are taken.
  var allTaken: () -> Void = {}
}

extension EvidenceStore {
  /// Stores `assessment` and its `results` (one transaction), replacing the snapshot's earlier results
  /// for the same check versions. Results of checks not listed in the assessment are not stored.
  public func insertAssessment(_ assessment: NewAssessment, results: [CheckResult]) throws(StoreError) {
    // Each check's results, by index: iterating all results once per check would copy every
    // result (a large struct) once per check.
    var indexes: [String: [Int]] = [:]
    results.withUnsafeBufferPointer { all in
      for i in all.indices { indexes["\(all[i].checkID)@\(all[i].checkVersion)", default: []].append(i) }
    }
    let byCheck = assessment.checks.map { d in (indexes["\(d.id)@\(d.version)"] ?? []).map { results[$0] } }
    try insertAssessment(
      assessment, from: AssessmentResults(take: { byCheck[$0] }, poll: { byCheck[$0] }, staleExceptions: { assessment.staleExceptions }))
  }

  /// Stores `assessment` with the results `source` gives (one transaction), as
  /// ``insertAssessment(_:results:)``: the rows of each check's results are written as soon as its
  /// results are taken, the assessment's row and the snapshot's result lists once all are.
  func insertAssessment(_ assessment: NewAssessment, from source: AssessmentResults) throws(StoreError) {
    let id = assessment.snapshotID
    try wrap {
      try db.transaction {
        let lists = try withoutCheckConstraints { try insertResults(of: assessment, from: source) }
        let checkList = assessment.checks.map(\.label)
        try db.run(
          """
          INSERT INTO assessments (snapshot_id, assessed_at, tool_version, checks, exceptions_source, exceptions_sha256,
            exceptions_content, stale_exceptions) VALUES (?,?,?,?,?,?,?,?)
          """,
          [
            id, assessment.assessedAt.description, Self.toolVersion, JSONWriter.canonical(.array(checkList.map(JSONValue.string))),
            assessment.exceptionsSource, assessment.exceptionsSHA256, assessment.exceptionsContent,
            JSONWriter.canonical(.array(source.staleExceptions().map(JSONValue.string))),
          ])
        let assessmentID = Int(db.lastInsertRowID)
        let insertList = try db.prepare(
          """
          INSERT INTO snapshot_results (snapshot_id, check_id, check_version, assessment_id, tool_version, fail, excepted, pass,
            error, result_ids, open_ids) VALUES (?,?,?,?,?,?,?,?,?,?,?)
          """)
        let previous = try previousResultLists(snapshotID: id)
        for (d, list) in zip(assessment.checks, lists) {
          let before = previous["\(d.id)@\(d.version)"]
          try insertList.execute([
            id, d.id, d.version, assessmentID, Self.toolVersion, list.counts.fail, list.counts.excepted, list.counts.pass,
            list.counts.error, try IDList.store(list.ids, previous: before?.ids, in: db),
            try IDList.store(list.open, previous: before?.open, in: db),
          ])
        }
        try Ledger(db: db, path: path).recordAssessment(assessmentID, snapshotID: id, recordedAt: assessment.assessedAt.description)
      }
    }
  }

  /// Drops `garbage` on another thread (when this one's references go first, its memory is freed there).
  private static func release<T>(_ garbage: consuming T) {
    let box = Garbage(garbage)
    DispatchQueue.global(qos: .utility).async { box.drop() }
  }

  /// Results per batch prepared on another core, and the batches prepared ahead of the one written.
  static let batchSize = 512
  static let batchesAhead = 4

  /// The rows of the results `source` gives, check by check (inside
  /// ``insertAssessment(_:from:)``'s transaction); per check of the assessment, the ids of its
  /// results and of its open ones, and its counts.
  private func insertResults(of assessment: NewAssessment, from source: AssessmentResults) throws -> [(
    ids: [Int64], open: [Int64], counts: StatusCounts
  )] {
    let id = assessment.snapshotID
    // Replace this snapshot's results for the check versions run; each distinct result is stored
    // once across all snapshots (content-addressed) and the snapshot keeps the list of its ids.
    let delete = try db.prepare("DELETE FROM snapshot_results WHERE snapshot_id = ? AND check_id = ? AND check_version = ?")
    let insertDetail = try db.prepare(
      """
      INSERT INTO result_details (sha256, check_id, check_version, finding_key, status, principal_type, principal_id,
        principal_name, principal_arn, policy_kind, policy_name, policy_arn, policy_version, document_sha256, exception_id, detail,
        body_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(sha256) DO NOTHING
      """)
    let findDetail = try db.prepare("SELECT id FROM result_details WHERE sha256 = ?")
    let insertBody = try db.prepare("INSERT INTO result_bodies (sha256, template) VALUES (?, ?) ON CONFLICT(sha256) DO NOTHING")
    let findBody = try db.prepare("SELECT id FROM result_bodies WHERE sha256 = ?")
    /// The id of the row just inserted, else of the stored row with `sha` (`find` looks it up).
    func insertedID(_ find: SQLiteStatement, _ sha: String) throws -> Int64 {
      if db.changes > 0 { return db.lastInsertRowID }
      try find.bind([sha])
      defer { find.reset() }
      guard case .integer(let existing) = try find.step()?.values.first else {
        throw StoreError(path: path, message: "row \(sha) missing after insert")
      }
      return existing
    }
    var bodyIDs: [String: Int64] = [:]
    let insertLong = try db.prepare("INSERT INTO long_strings (sha256, text) VALUES (?, ?) ON CONFLICT(sha256) DO NOTHING")
    let findLong = try db.prepare("SELECT id FROM long_strings WHERE sha256 = ?")
    var longIDs: [String: Int64] = [:]
    /// The id of the long string `bytes`, stored once.
    func intern(_ bytes: [UInt8]) throws -> Int64 {
      let sha = SHA256.hash(data: bytes).hexString
      if let id = longIDs[sha] { return id }
      try insertLong.execute([sha, String(decoding: bytes, as: UTF8.self)])
      var id = db.lastInsertRowID
      if db.changes == 0 {
        try findLong.bind([sha])
        guard case .integer(let existing) = try findLong.step()?.values.first else {
          throw StoreError(path: path, message: "long string \(sha) missing after insert")
        }
        id = existing
        findLong.reset()
      }
      longIDs[sha] = id
      return id
    }
    /// A column value as stored: in place, or a reference to a long string.
    func column(_ value: String?) throws -> String? {
      guard let value, LongStrings.isLong(value) else { return value }
      return String(decoding: LongStrings.marker(try intern(Array(value.utf8))), as: UTF8.self)
    }
    let descriptions = assessment.checks
    for d in descriptions { try delete.execute([id, d.id, d.version]) }
    // Each batch of a check's results is prepared on another core (their canonical form, hashes,
    // bodies and row values), a few batches ahead of the one being written: never all at once,
    // never waiting for each other. A check's results are taken when its first batch is due ahead
    // (waiting for them only when nothing else is ready to be written).
    var ahead: [(check: Int, items: Range<Int>, results: [CheckResult], batch: PreparedBatch)] = []
    var feeding: (check: Int, results: [CheckResult], next: Int)? = nil
    var nextCheck = 0
    func fill(waiting: Bool) {
      while ahead.count < Self.batchesAhead {
        if let (check, results, next) = feeding, next < results.count {
          let items = next..<min(next + Self.batchSize, results.count)
          let batch = PreparedBatch()
          let d = descriptions[check]
          batch.group.enter()
          DispatchQueue.global().async {
            results.withUnsafeBufferPointer { batch.prepare($0, items, checkID: d.id, version: d.version) }
            batch.group.leave()
          }
          ahead.append((check, items, results, batch))
          feeding = (check, results, items.upperBound)
          continue
        }
        guard nextCheck < descriptions.count else { return }
        guard let results = waiting && ahead.isEmpty ? source.take(nextCheck) : source.poll(nextCheck) else { return }
        feeding = (nextCheck, results, 0)
        nextCheck += 1
        if nextCheck == descriptions.count { source.allTaken() }
      }
    }
    var lists = [(ids: [Int64], open: [Int64], counts: StatusCounts)](repeating: ([], [], StatusCounts()), count: descriptions.count)
    if descriptions.isEmpty { source.allTaken() }
    fill(waiting: true)
    while !ahead.isEmpty {
      let (check, items, results, current) = ahead.removeFirst()
      current.group.wait()
      fill(waiting: false)
      let d = descriptions[check]
      // The body row of the batch's previous result and its id (consecutive results share bodies).
      var previousBody: (row: Int32, id: Int64) = (-1, 0)
      for (k, i) in items.enumerated() {
        var bodyID = SQLiteValue.null
        if current.body[k] >= 0 && current.body[k] == previousBody.row {
          bodyID = .integer(previousBody.id)
        } else if current.body[k] >= 0 {
          let b = Int(current.body[k])
          let bodySHA = current.bodySHAs[b]
          if let known = bodyIDs[bodySHA] {
            bodyID = .integer(known)
          } else {
            try insertBody.execute(row: b, of: current.bodies)
            let id = try insertedID(findBody, bodySHA)
            bodyIDs[bodySHA] = id
            bodyID = .integer(id)
          }
          if case .integer(let id) = bodyID { previousBody = (current.body[k], id) }
        }
        let status = current.statuses[k]
        if current.row[k] >= 0 {
          try insertDetail.execute(row: Int(current.row[k]), of: current.rows, bodyID)
        } else {
          // A value of a column or of the detail long enough to be stored once (LongStrings).
          var detail: [UInt8] = []
          if case .null = bodyID {
            let (template, atoms) = LongStrings.split(results[i].storedCanonicalBytes)
            var atomIDs: [Int64] = []
            for atom in atoms { atomIDs.append(try intern(LongStrings.bind(atom, to: atomIDs))) }
            detail = atoms.isEmpty ? template : LongStrings.bind(template, to: atomIDs)
          }
          let principal = results[i].principal
          let policy = results[i].policy
          try insertDetail.execute([
            current.shas[k], d.id, d.version, try column(results[i].findingKey), status.rawValue, principal?.type.rawValue,
            try column(principal?.id), try column(principal?.name), try column(principal?.arn), policy?.kind.rawValue,
            try column(policy?.name), try column(policy?.arn), try column(policy?.versionID), policy?.documentSHA256,
            try column(results[i].exception?.id), String(decoding: detail, as: UTF8.self), bodyID,
          ])
        }
        let detailID = try insertedID(findDetail, current.shas[k])
        lists[check].ids.append(detailID)
        if status == .fail || status == .excepted { lists[check].open.append(detailID) }
        lists[check].counts[status] += 1
      }
      // Freed on another thread: the last batch of a check releases the check's results (thousands
      // of results of a dozen strings and arrays each), which cost the writing thread a tenth of its time.
      Self.release((results, current))
      // Nothing prepared ahead: wait for the next check's results.
      if ahead.isEmpty { fill(waiting: true) }
    }
    return lists
  }

  /// Stored results of snapshot `id`, in the order stored (``EvidenceWorkflow`` sorts them for
  /// reports), optionally of one check and of some statuses: of each check, the version of its latest
  /// assessment only (``checkVersions(snapshotID:)``).
  public func results(snapshotID id: Int, check: String? = nil, statuses: Set<ResultStatus>? = nil) throws(StoreError) -> [CheckResult] {
    try wrap {
      var sql = "SELECT id, result_ids FROM latest_snapshot_results WHERE snapshot_id = ?"
      var args: [any SQLiteBindable] = [id]
      if let check {
        sql += " AND check_id = ?"
        args.append(check)
      }
      let ids = try db.query(sql, args).flatMap { row in
        try StoredRow(row, table: "snapshot_results", id: try row.int("id"), path: path).idList("result_ids", in: db)
      }
      let find = try db.prepare("SELECT status, detail, body_id, \(ResultBody.columnList) FROM result_details WHERE id = ?")
      var details = ResultDetailReader(db: db)
      var results: [CheckResult] = []
      for detailID in ids {
        try find.bind([detailID])
        guard let row = try find.step() else { throw StoreError(path: path, message: "result \(detailID) is missing (damaged database?)") }
        let status = try StoredRow(row, table: "result_details", id: detailID, path: path).value("status", as: ResultStatus.self)
        if let statuses, !statuses.contains(status) { continue }
        guard let result = try details.result(row) else {
          throw StoreError(path: path, message: "result \(detailID) cannot be read (damaged database?)")
        }
        results.append(result)
      }
      return results
    }
  }

  /// Every stored result of snapshot `id` (as ``results(snapshotID:check:statuses:)`` gives them), for
  /// a series of snapshots read one after the other: results are content-addressed, so consecutive
  /// snapshots share most of them, and each is decoded once, kept in `cache` by its row id for the
  /// next call.
  public func results(snapshotID id: Int, cache: inout [Int64: CheckResult]) throws(StoreError) -> [CheckResult] {
    var known = cache
    defer { cache = known }
    return try wrap {
      let ids = try db.query("SELECT id, result_ids FROM latest_snapshot_results WHERE snapshot_id = ?", [id]).flatMap { row in
        try StoredRow(row, table: "snapshot_results", id: try row.int("id"), path: path).idList("result_ids", in: db)
      }
      let find = try db.prepare("SELECT detail, body_id, \(ResultBody.columnList) FROM result_details WHERE id = ?")
      var details = ResultDetailReader(db: db)
      var results: [CheckResult] = []
      results.reserveCapacity(ids.count)
      for detailID in ids {
        if let r = known[detailID] {
          results.append(r)
          continue
        }
        try find.bind([detailID])
        guard let row = try find.step() else { throw StoreError(path: path, message: "result \(detailID) is missing (damaged database?)") }
        guard let result = try details.result(row) else {
          throw StoreError(path: path, message: "result \(detailID) cannot be read (damaged database?)")
        }
        known[detailID] = result
        results.append(result)
      }
      return results
    }
  }

  /// The latest assessment of snapshot `id`, if it was assessed.
  public func latestAssessment(snapshotID id: Int) throws(StoreError) -> AssessmentRecord? {
    try wrap {
      guard let row = try db.query("SELECT * FROM assessments WHERE snapshot_id = ? ORDER BY id DESC LIMIT 1", [id]).first else {
        return nil
      }
      let assessmentID = try row.int("id")
      let stored = StoredRow(row, table: "assessments", id: assessmentID, path: path)
      return AssessmentRecord(
        id: assessmentID, snapshotID: id, assessedAt: try stored.timestamp("assessed_at"), toolVersion: try row.string("tool_version"),
        checks: try stored.stringList("checks"), exceptionsSource: try row.optionalString("exceptions_source"),
        exceptionsSHA256: try row.string("exceptions_sha256"), exceptionsContent: try row.string("exceptions_content"),
        staleExceptions: try stored.stringList("stale_exceptions"))
    }
  }

  /// Whether snapshot `id` has results.
  public func isAssessed(snapshotID id: Int) throws(StoreError) -> Bool {
    try wrap { try db.scalar("SELECT count(*) FROM snapshot_results WHERE snapshot_id = ?", [id]) != .integer(0) }
  }

  /// Status counts per check of snapshot `id` (empty when not assessed), of the version of each
  /// check's latest assessment: never the sum of two versions.
  public func statusCounts(snapshotID id: Int) throws(StoreError) -> [String: StatusCounts] {
    try wrap {
      var out: [String: StatusCounts] = [:]
      for row in try db.query("SELECT check_id, fail, excepted, pass, error FROM latest_snapshot_results WHERE snapshot_id = ?", [id]) {
        var counts = StatusCounts()
        for status in ResultStatus.allCases { counts[status] = try row.int(status.rawValue) }
        out[try row.string("check_id")] = counts
      }
      return out
    }
  }

  /// The version of each check whose results snapshot `id` holds: the version of the check's latest
  /// assessment of it, which every reader uses (empty when not assessed).
  public func checkVersions(snapshotID id: Int) throws(StoreError) -> [String: Int] {
    try wrap {
      var out: [String: Int] = [:]
      for row in try db.query("SELECT check_id, check_version FROM latest_snapshot_results WHERE snapshot_id = ?", [id]) {
        out[try row.string("check_id")] = try row.int("check_version")
      }
      return out
    }
  }

  /// The error results of snapshot `id` of the checks `checks`, in the shape of ``OpenResult``: a
  /// trend tells from them that a finding missing from the snapshot's open results was not evaluated
  /// there, rather than resolved. Reads only the checks named (those whose counts show errors).
  public func errorResults(snapshotID id: Int, checks: Set<String>) throws(StoreError) -> [OpenResult] {
    var out: [OpenResult] = []
    for check in checks.sorted() {
      for r in try results(snapshotID: id, check: check, statuses: [.error]) {
        out.append(
          OpenResult(
            findingKey: r.findingKey, checkID: r.checkID, status: r.status, principalType: r.principal?.type.rawValue,
            principalName: r.principal?.name, policyName: r.policy?.name, policyARN: r.policy?.arn, policyVersion: r.policy?.versionID))
      }
    }
    return out
  }

  /// The open (fail or excepted) results of snapshot `id`, by check, as trends follow them (of each
  /// check's latest assessed version).
  public func openResults(snapshotID id: Int) throws(StoreError) -> [OpenResult] {
    try wrap {
      let ids = try db.query("SELECT id, open_ids FROM latest_snapshot_results WHERE snapshot_id = ? ORDER BY check_id", [id]).flatMap {
        row in
        try StoredRow(row, table: "snapshot_results", id: try row.int("id"), path: path).idList("open_ids", in: db)
      }
      let find = try db.prepare(
        """
        SELECT finding_key, check_id, status, principal_type, principal_name, policy_name, policy_arn, policy_version
        FROM result_details WHERE id = ?
        """)
      var strings = LongStringReader(db: db)
      return try ids.map { detailID in
        try find.bind([detailID])
        guard let row = try find.step() else { throw StoreError(path: path, message: "result \(detailID) is missing (damaged database?)") }
        return OpenResult(
          findingKey: try strings.column(try row.string("finding_key")) ?? "", checkID: try row.string("check_id"),
          status: try StoredRow(row, table: "result_details", id: detailID, path: path).value("status", as: ResultStatus.self),
          principalType: try row.optionalString("principal_type"),
          principalName: try strings.column(try row.optionalString("principal_name")),
          policyName: try strings.column(try row.optionalString("policy_name")),
          policyARN: try strings.column(try row.optionalString("policy_arn")),
          policyVersion: try strings.column(try row.optionalString("policy_version")))
      }
    }
  }
}
