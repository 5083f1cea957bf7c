import Foundation
import SQLiteDB

/// What the integrity check of a database found.
public struct IntegrityReport: Sendable {
  /// The snapshots checked.
  public var snapshots: [Int]
  /// Entries in the ledger, and how many of them were backfilled by a migration (recorded after the
  /// rows were written, not when).
  public var ledgerEntries: Int
  public var backfilledEntries: Int
  /// Everything that does not match, naming table and row.
  public var problems: [IntegrityProblem]
  /// The ledger heads of the snapshots checked.
  public var heads: LedgerHeads
  /// The chain's last entry.
  public var chainHead: LedgerHead?

  public var isOK: Bool { problems.isEmpty }
}

extension EvidenceStore {
  /// Recomputes what can be recomputed for `snapshotIDs` (nil: every snapshot, plus SQLite's own
  /// `quick_check` and the ledger entries of snapshots that are gone) and compares it with what is
  /// stored: every listed state, usage, document and result exists; a snapshot's counts match its
  /// lists; a result list's counts and open list match the statuses of its results; documents,
  /// result details and long strings still have their SHA-256; and the ledger: its chain is intact,
  /// and its entries' digests of the rows these snapshots hold are those of the rows as they are.
  /// Only reads.
  public func checkIntegrity(snapshotIDs: [Int]? = nil) throws(StoreError) -> IntegrityReport {
    try wrap { try consistentRead { try checkIntegrityNow(snapshotIDs: snapshotIDs, reading: nil).report } }
  }

  /// ``checkIntegrity(snapshotIDs:)`` of `snapshotIDs`, which include `snapshotID`, and the results
  /// of snapshot `snapshotID` as ``results(snapshotID:check:statuses:)`` gives them, decoded from
  /// the rows the check reads and verifies (one pass over them, not two). The results are only
  /// complete when the report has no problems.
  public func checkIntegrity(
    snapshotIDs: [Int], readingResultsOf snapshotID: Int
  ) throws(StoreError) -> (report: IntegrityReport, results: [CheckResult]) {
    try wrap { try consistentRead { try checkIntegrityNow(snapshotIDs: snapshotIDs, reading: snapshotID) } }
  }

  private func checkIntegrityNow(snapshotIDs: [Int]?, reading: Int?) throws -> (report: IntegrityReport, results: [CheckResult]) {
    try wrap {
      let ledger = Ledger(db: db, path: path)
      // The lists of the results to read, in the order the store reads them.
      var lists: [Int64] = []
      if let reading {
        lists = try db.query("SELECT id FROM latest_snapshot_results WHERE snapshot_id = ?", [reading]).map { Int64(try $0.int("id")) }
        ledger.decodeLists = Set(lists)
      }
      var (entries, problems) = try ledgerEntries(ledger)
      let ids = try snapshotIDs ?? db.query("SELECT id FROM snapshots ORDER BY id").map { try $0.int("id") }
      var ingests: [Int: LedgerEntry] = [:]
      var assessments: [Int: LedgerEntry] = [:]
      var assessmentsOfSnapshot: [Int: [LedgerEntry]] = [:]
      var reviewEntries: [Int: LedgerEntry] = [:]
      for e in entries {
        switch e.kind {
        case .ingest:
          if ingests[e.snapshotID] != nil {
            problems.append(.row("ledger", e.id, "records snapshot \(e.snapshotID) a second time"))
          } else {
            ingests[e.snapshotID] = e
          }
        case .assessment:
          guard let a = e.assessmentID else {
            problems.append(.row("ledger", e.id, "an assessment entry without an assessment"))
            continue
          }
          if assessments[a] != nil { problems.append(.row("ledger", e.id, "records assessment \(a) a second time")) }
          assessments[a] = e
          assessmentsOfSnapshot[e.snapshotID, default: []].append(e)
        case .review:
          guard let r = e.reviewID else {
            problems.append(.row("ledger", e.id, "a review entry without a review"))
            continue
          }
          if reviewEntries[r] != nil { problems.append(.row("ledger", e.id, "records review \(r) a second time")) }
          reviewEntries[r] = e
        }
      }
      if snapshotIDs == nil {
        let existing = Set(ids)
        for e in entries where e.kind == .ingest && !existing.contains(e.snapshotID) {
          problems.append(.row("ledger", e.id, "records snapshot \(e.snapshotID), which is no longer in the database"))
        }
        for row in try db.query("PRAGMA quick_check") {
          let message = try row.string("quick_check")
          if message != "ok" {
            problems.append(IntegrityProblem(table: "", rows: "the database file", message: "SQLite's quick_check: \(message)"))
          }
        }
        // The bases of id lists (IDList); a list's use of its base is checked with the list.
        for row in try db.query("SELECT id, ids FROM id_lists ORDER BY id") where IDList.decodeBase(try row.string("ids")) == nil {
          problems.append(.row("id_lists", try row.int("id"), "column ids is not a list of ascending ids"))
        }
      }

      var heads: [Int: LedgerHead] = [:]
      for id in ids {
        var latest: LedgerEntry?
        let components = try ledger.snapshotComponents(id, verifyTexts: true, problems: &problems)
        if let entry = ingests[id] {
          // The entry's own names too: a component it recorded whose rows are gone (a deleted
          // provenance row) is a change.
          compare(entry, components, names: Array(components.keys) + Array(entry.components.keys), snapshot: id, problems: &problems)
          latest = entry
        } else {
          problems.append(.row("snapshots", id, "has no ledger entry: its rows were not recorded when they were written"))
        }
        // The current results, by the assessment that wrote them.
        var current: [String: (list: Int, assessment: Int)] = [:]
        for row in try db.query("SELECT id, assessment_id, check_id, check_version FROM snapshot_results WHERE snapshot_id = ?", [id]) {
          current["results \(try row.string("check_id"))@\(try row.int("check_version"))"] = (
            try row.int("id"), try row.int("assessment_id")
          )
        }
        for assessment in Set(current.values.map(\.assessment)).sorted() {
          let computed = try ledger.assessmentComponents(assessment, verifyTexts: true, problems: &problems)
          guard let entry = assessments[assessment] else {
            problems.append(.row("assessments", assessment, "has no ledger entry: its results were not recorded when they were written"))
            continue
          }
          if entry.snapshotID != id {
            problems.append(
              .row(
                "ledger", entry.id, "records assessment \(assessment) of snapshot \(entry.snapshotID), but its results are snapshot \(id)'s"
              ))
          }
          let names = ["assessments"] + current.filter { $0.value.assessment == assessment }.map(\.key)
          compare(entry, computed, names: names, snapshot: id, problems: &problems)
          for (name, now) in current where now.assessment == assessment && entry.components[name] != computed[name] {
            problems += try diagnoseResults(list: now.list)
          }
          if latest.map({ entry.id > $0.id }) ?? true { latest = entry }
        }
        // Results an entry recorded must still be there, or replaced by a later assessment's.
        for entry in assessmentsOfSnapshot[id] ?? [] {
          for name in entry.components.keys.sorted() where name.hasPrefix("results ") {
            guard let now = current[name] else {
              problems.append(
                IntegrityProblem(
                  table: "snapshot_results", rows: "the rows of snapshot \(id)",
                  message: "the \(name.dropFirst(8)) results that ledger entry \(entry.id) recorded are gone"))
              continue
            }
            if let recorded = entry.assessmentID, now.assessment < recorded {
              problems.append(
                .row(
                  "snapshot_results", now.list,
                  "holds the \(name.dropFirst(8)) results of assessment \(now.assessment), older than assessment \(recorded) that ledger entry \(entry.id) recorded"
                ))
            }
          }
        }
        // The reviews of the snapshot, each against the entry its import wrote; an entry whose review
        // is gone is a deletion.
        let reviewIDs = try db.query("SELECT id FROM reviews WHERE snapshot_id = ? ORDER BY id", [id]).map { try $0.int("id") }
        for review in reviewIDs {
          let computed = try ledger.reviewComponents(review, problems: &problems)
          guard let entry = reviewEntries[review] else {
            problems.append(.row("reviews", review, "has no ledger entry: the review was not recorded when it was imported"))
            continue
          }
          if entry.snapshotID != id {
            problems.append(
              .row("ledger", entry.id, "records review \(review) of snapshot \(entry.snapshotID), but it reviews snapshot \(id)"))
          }
          compareReview(entry, computed, review: review, problems: &problems)
          if latest.map({ entry.id > $0.id }) ?? true { latest = entry }
        }
        let present = Set(reviewIDs)
        for entry in reviewEntries.values.sorted(by: { $0.id < $1.id })
        where entry.snapshotID == id && !present.contains(entry.reviewID ?? -1) {
          problems.append(
            .row("ledger", entry.id, "records review \(entry.reviewID ?? 0) of snapshot \(id), which is no longer in the database"))
        }
        if let latest { heads[id] = LedgerHead(entry: latest.id, head: latest.head) }
      }
      problems += try reviewProblems(snapshotIDs: ids)
      // A row shared by several snapshots (a document, a result) is named once.
      var seen = Set<IntegrityProblem>()
      problems = problems.filter { seen.insert($0).inserted }
      let report = IntegrityReport(
        snapshots: ids, ledgerEntries: entries.count, backfilledEntries: entries.filter(\.backfilled).count, problems: problems,
        heads: LedgerHeads(snapshots: heads), chainHead: entries.last.map { LedgerHead(entry: $0.id, head: $0.head) })
      var results: [CheckResult] = []
      var decoded = ledger.takeDecoded()
      results.reserveCapacity(decoded.values.reduce(0) { $0 + $1.count })
      for list in lists {
        guard let read = decoded.removeValue(forKey: list) else {
          if report.isOK { throw StoreError(path: path, message: "the results of snapshot_results row \(list) were not read") }
          continue
        }
        results += read
      }
      return (report, results)
    }
  }

  /// The stored reviews of `ids` checked against the sheet stored with each: its bytes still hash to
  /// the SHA-256 recorded at import, its answers are the stored rows (a hand edit of a decision
  /// shows here), and a signature still verifies with the public key stored beside it.
  private func reviewProblems(snapshotIDs ids: [Int]) throws -> [IntegrityProblem] {
    var problems: [IntegrityProblem] = []
    for review in try reviews(snapshotIDs: ids) {
      guard let row = try db.query("SELECT sheet, signer_public_key FROM reviews WHERE id = ?", [review.id]).first else { continue }
      let bytes = Array(try row.string("sheet").utf8)
      if Digest.sha256(bytes) != review.sheetSHA256 {
        problems.append(.row("reviews", review.id, "its sheet no longer hashes to the SHA-256 recorded at import"))
        continue
      }
      let stored = review.rows.map { [$0.rowID, $0.decision.rawValue, $0.reviewer, $0.reviewedOn, $0.comment, $0.ticket] }
      if let sheet = try? ReviewImport.parse(bytes, file: "review \(review.id)") {
        let answers = sheet.rows.map { [$0.rowID, $0.decision.rawValue, $0.reviewer, $0.reviewedOn, $0.comment, $0.ticket] }
        if answers != stored || sheet.snapshotID != review.snapshotID {
          problems.append(
            IntegrityProblem(
              table: "review_rows", rows: "the rows of review \(review.id)", message: "differ from the sheet stored with the review"))
        }
      } else {
        problems.append(.row("reviews", review.id, "its stored sheet is no longer a valid review sheet"))
      }
      if let signature = review.signature {
        let verified =
          (try? row.optionalString("signer_public_key")).flatMap { $0 }.flatMap { pem in
            (try? SigningKeys.publicKey(pem: pem, source: "reviews")).map { key in
              SigningKeys.fingerprint(key) == review.signerFingerprint
                && (Data(base64Encoded: signature).map { key.isValidSignature($0, for: Data(bytes)) } ?? false)
            }
          } ?? false
        if !verified { problems.append(.row("reviews", review.id, "its signature does not verify with the public key stored with it")) }
      }
    }
    return problems
  }

  /// A problem for each component of review entry `entry` whose rows no longer hash to what it recorded.
  private func compareReview(_ entry: LedgerEntry, _ computed: [String: String], review: Int, problems: inout [IntegrityProblem]) {
    for name in Set(computed.keys).union(entry.components.keys).sorted() where entry.components[name] != computed[name] {
      let rows = name == "reviews" ? "row \(review)" : "the rows of review \(review)"
      problems.append(
        IntegrityProblem(
          table: name, rows: rows,
          message:
            "changed since ledger entry \(entry.id) recorded \(name == "reviews" ? "it" : "them") at \(entry.recordedAt) (they no longer hash to the digest it holds)"
        ))
    }
  }

  /// A problem for each component of `entry` (among `names`) whose rows no longer hash to what it recorded.
  private func compare(
    _ entry: LedgerEntry, _ computed: [String: String], names: [String], snapshot: Int, problems: inout [IntegrityProblem]
  ) {
    let when = "ledger entry \(entry.id)"
    let at = "at \(entry.recordedAt) (they no longer hash to the digest it holds)"
    for name in Set(names).sorted() where entry.components[name] != computed[name] {
      if entry.components[name] == nil {
        problems.append(IntegrityProblem(table: "ledger", rows: "row \(entry.id)", message: "does not record \(name)"))
      } else if name == "snapshots" {
        problems.append(.row("snapshots", snapshot, "changed since \(when) recorded it \(at)"))
      } else if name == "assessments", let a = entry.assessmentID {
        problems.append(.row("assessments", a, "changed since \(when) recorded it \(at)"))
      } else if name.hasPrefix("results ") {
        problems.append(
          IntegrityProblem(
            table: "snapshot_results/result_details", rows: "the \(name.dropFirst(8)) results of snapshot \(snapshot)",
            message: "changed since \(when) recorded them \(at)"))
      } else {
        problems.append(
          IntegrityProblem(table: name, rows: "the rows of snapshot \(snapshot)", message: "changed since \(when) recorded them \(at)"))
      }
    }
  }

  /// For a result list whose rows changed: which results' columns disagree with their own detail
  /// (the detail is bound by its SHA-256; a hand edit of a column, such as the status, shows here).
  private func diagnoseResults(list: Int) throws -> [IntegrityProblem] {
    guard let row = try db.query("SELECT result_ids FROM snapshot_results WHERE id = ?", [list]).first,
      let ids = try IDList.decode(try row.string("result_ids"), in: db)
    else { return [] }
    let statement = try db.prepare("SELECT * FROM result_details WHERE id = ?")
    var problems: [IntegrityProblem] = []
    var details = ResultDetailReader(db: db)
    for id in ids {
      try statement.bind([id])
      guard let row = try statement.step() else { continue }
      guard let result = try details.result(row) else { continue }
      let expected: [(String, String?)] = [
        ("check_id", result.checkID), ("finding_key", result.findingKey), ("status", result.status.rawValue),
        ("principal_type", result.principal?.type.rawValue), ("principal_id", result.principal?.id),
        ("principal_name", result.principal?.name), ("principal_arn", result.principal?.arn),
        ("policy_kind", result.policy?.kind.rawValue), ("policy_name", result.policy?.name), ("policy_arn", result.policy?.arn),
        ("policy_version", result.policy?.versionID), ("document_sha256", result.policy?.documentSHA256),
        ("exception_id", result.exception?.id),
      ]
      for (column, value) in expected {
        let stored = try details.strings.column(try row.optionalString(column))
        if stored != value {
          problems.append(
            .row(
              "result_details", id,
              "column \(column) is \(stored.map { "\"\($0.prefix(80))\"" } ?? "NULL") but its detail says \(value.map { "\"\($0.prefix(80))\"" } ?? "null")"
            ))
        }
      }
      if try row.int("check_version") != result.checkVersion {
        problems.append(.row("result_details", id, "column check_version disagrees with its detail"))
      }
    }
    return problems
  }
}

/// Reads long strings back (``LongStrings``), each once.
struct LongStringReader {
  let db: SQLiteConnection
  private var cache: [Int64: [UInt8]] = [:]
  private var statement: SQLiteStatement?

  init(db: SQLiteConnection) { self.db = db }

  /// The stored bytes of long string `id`, nil when there is no such row.
  mutating func text(_ id: Int64) throws -> [UInt8]? {
    if let cached = cache[id] { return cached }
    if statement == nil { statement = try db.prepare("SELECT text FROM long_strings WHERE id = ?") }
    guard let statement else { return nil }
    try statement.bind([id])
    var text: [UInt8]?
    try statement.forEachRawRow { row in text = row.bytes(0) }
    statement.reset()
    if let text { cache[id] = text }
    return text
  }

  /// A stored detail with its long strings put back; nil when one is missing.
  mutating func expand(_ stored: [UInt8]) throws -> [UInt8]? {
    guard stored.contains(LongStrings.open) else { return stored }
    return try LongStrings.expand(stored, lookup: { try self.text($0) })
  }

  /// A stored column value as it was given; nil for NULL. A reference to a missing string is damage.
  mutating func column(_ stored: String?) throws -> String? {
    guard let stored, let id = LongStrings.columnReference(stored) else { return stored }
    guard id >= 0, let text = try text(id) else {
      throw StoreError(path: db.path, message: "a result refers to long string \(id), which is missing (damaged database?)")
    }
    return String(decoding: text, as: UTF8.self)
  }
}
