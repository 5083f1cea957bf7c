import Crypto
import SQLiteDB

/// One inconsistency the integrity check found, naming the table and row (or rows) concerned.
public struct IntegrityProblem: Sendable, Hashable, CustomStringConvertible {
  public var table: String
  /// `row 12`, or a description of several rows (`the rows of snapshot 3`).
  public var rows: String
  public var message: String

  public init(table: String, rows: String, message: String) {
    self.table = table
    self.rows = rows
    self.message = message
  }

  static func row(_ table: String, _ id: some CustomStringConvertible, _ message: String) -> IntegrityProblem {
    IntegrityProblem(table: table, rows: "row \(id)", message: message)
  }

  public var description: String { table.isEmpty ? "\(rows): \(message)" : "table \(table), \(rows): \(message)" }
}

/// One ledger entry as stored.
struct LedgerEntry {
  enum Kind: String {
    case ingest
    case assessment
    /// An access review (`review import`, migration 0007-provenance on).
    case review
  }
  var id: Int
  var kind: Kind
  var snapshotID: Int
  var assessmentID: Int?
  var reviewID: Int? = nil
  var recordedAt: String
  var backfilled: Bool
  /// Digest (hex) of each group of rows the entry covers, by name (a table, or `results <check>@<version>`).
  var components: [String: String]
  var digest: String
  var head: String
}

/// The tamper evidence of the database: an append-only hash chain, `ledger`.
///
/// Each ingest, each assessment and each review import appends, in its own transaction, an entry
/// recording a digest (``RowDigest``) of each group of rows it wrote, read back from the database: for
/// a snapshot, its row, its provenance (when recorded), its lists, every principal and managed-policy
/// state it holds with their child rows, its role usages and the `(id, sha256)` of every document it
/// uses; for a review, its `reviews` row (the sheet's text included) and its `review_rows`; for an
/// assessment, its row and, per
/// check version, the `snapshot_results` row with every `result_details` row it lists (all columns
/// but `detail`) and the `(id, sha256)` of the long strings they refer to. Texts too large to hash
/// at every ingest (documents, result details, long strings) are covered by their content address:
/// the recheck hashes them again and compares with their `sha256` column. An id list is digested as
/// its text, with every row it names; the base a list is written against (``IDList``, `id_lists`) is
/// covered through those rows: a base edited to other ids names other rows. An entry's digest is the
/// SHA-256 of its canonical JSON (`entry` column); the head after it is the SHA-256 of the ASCII hex
/// of the previous head (64 zeros for the first entry) followed by the ASCII hex of the digest, so
/// `printf '%s%s' PREVIOUS DIGEST | sha256sum` recomputes it.
///
/// A re-assessment replaces a snapshot's results: it appends a new entry and the superseded one
/// stays in the chain (its rows are gone, so it is no longer recomputed). The recheck recomputes the
/// digests of the entries that describe the rows as they are now, compares them with what was
/// recorded, and walks the whole chain.
final class Ledger {
  let db: SQLiteConnection
  let path: String
  /// Rows whose stored text was hashed and found right during this check (shared by many snapshots).
  private var verifiedDocuments = Set<Int64>()
  private var verifiedResults = Set<Int64>()
  private var verifiedLongStrings = Set<Int64>()
  /// `snapshot_results` rows whose results are also decoded, from the rows read to check them
  /// (``EvidenceStore/checkIntegrity(snapshotIDs:readingResultsOf:)``: one pass, not two), into
  /// ``decoded`` by list, in the list's order; a result that cannot be read is a problem.
  var decodeLists = Set<Int64>()
  private var decoded: [Int64: [CheckResult]] = [:]
  /// The strings of the results decoded so far, shared by those of the lists decoded next.
  private var strings = StringPool()

  /// The results decoded so far (``decodeLists``), handed over: the ledger keeps none of them.
  func takeDecoded() -> [Int64: [CheckResult]] {
    defer { decoded = [:] }
    return decoded
  }

  static let genesis = String(repeating: "0", count: 64)
  static let format = 1

  init(db: SQLiteConnection, path: String) {
    self.db = db
    self.path = path
    details = ResultDetailReader(db: db)
  }

  static func chain(_ previous: String, _ digest: String) -> String {
    SHA256.hash(data: Array((previous + digest).utf8)).hexString
  }

  // MARK: Statements

  // Rows of a list of keys are read in one range scan each (``RowDigest/rows(keyedBy:_:columns:each:missing:)``):
  // the statements take the lowest and the highest key and return the rows between, in key order.
  private lazy var snapshotRow = prepared(
    """
    SELECT id, account_id, captured_at, captured_at_source, ingested_at, source_name, byte_size, sha256, encoding, tool_version,
      label, is_truncated, marker, user_count, group_count, role_count, managed_policy_count, inline_policy_count
    FROM snapshots WHERE id = ?
    """)
  /// Snapshot provenance (migration 0007): a component of an ingest entry only when the snapshot has
  /// a row, so that entries written before it existed, and snapshots ingested without it, keep their
  /// components. Nil while the table does not exist (migration 0004 backfills the ledger before 0007).
  private lazy var provenanceRow: SQLiteStatement? =
    (try? tableExists("snapshot_provenance")) == true
    ? prepared(
      """
      SELECT snapshot_id, operator, caller_user_id, caller_account, caller_arn, caller_source, caller_sha256, host, os_user, tool_name,
        tool_version, tool_source_sha256 FROM snapshot_provenance WHERE snapshot_id = ?
      """) : nil
  private lazy var reviewRow = prepared(
    """
    SELECT id, snapshot_id, sheet_sha256, sheet, source_name, imported_at, tool_version, reviewers, first_reviewed_on, last_reviewed_on,
      signer_fingerprint, signer_public_key, signature FROM reviews WHERE id = ?
    """)
  private lazy var reviewRowRows = prepared(
    """
    SELECT review_id, position, row_id, kind, principal_type, principal_id, principal_name, principal_arn, subject, finding_identity,
      decision, reviewer, reviewed_on, comment, ticket FROM review_rows WHERE review_id = ? ORDER BY review_id, row_id
    """)
  private lazy var listRow = prepared("SELECT snapshot_id, state_ids, usage_ids FROM snapshot_principal_lists WHERE snapshot_id = ?")
  private lazy var stateRows = prepared(
    """
    SELECT id, sha256, principal_type, principal_id, name, arn, path, create_date, boundary_arn, boundary_type, trust_document_id
    FROM principal_states WHERE id BETWEEN ? AND ? ORDER BY id
    """)
  /// The child tables of a principal state, each with the SQL of its rows in primary-key order; the
  /// index of the document id column where there is one.
  private lazy var children: [(table: String, statement: SQLiteStatement?, documentColumn: Int?)] = [
    (
      "principal_inline_policies",
      prepared(
        """
        SELECT principal_state, policy_name, position, document_id FROM principal_inline_policies
        WHERE principal_state BETWEEN ? AND ? ORDER BY principal_state, policy_name
        """), 3
    ),
    (
      "principal_attachments",
      prepared(
        """
        SELECT principal_state, policy_arn, policy_name, position FROM principal_attachments
        WHERE principal_state BETWEEN ? AND ? ORDER BY principal_state, policy_arn
        """), nil
    ),
    (
      "principal_groups",
      prepared(
        """
        SELECT principal_state, group_name, position FROM principal_groups
        WHERE principal_state BETWEEN ? AND ? ORDER BY principal_state, group_name
        """), nil
    ),
    (
      "principal_tags",
      prepared(
        """
        SELECT principal_state, key, value, position FROM principal_tags
        WHERE principal_state BETWEEN ? AND ? ORDER BY principal_state, key
        """), nil
    ),
    (
      "principal_instance_profiles",
      prepared(
        """
        SELECT principal_state, name, instance_profile_id, arn, position FROM principal_instance_profiles
        WHERE principal_state BETWEEN ? AND ? ORDER BY principal_state, name
        """), nil
    ),
  ]
  private lazy var usageRows = prepared(
    "SELECT id, principal_state, last_used_date, last_used_region FROM role_usages WHERE id BETWEEN ? AND ? ORDER BY id")
  private lazy var linkRows = prepared(
    """
    SELECT snapshot_id, policy_state, attachment_count, boundary_usage_count FROM snapshot_managed_policies
    WHERE snapshot_id = ? ORDER BY snapshot_id, policy_state
    """)
  private lazy var policyStateRows = prepared(
    """
    SELECT id, sha256, arn, policy_id, name, path, default_version_id, is_attachable, description, create_date, update_date,
      is_aws_managed FROM managed_policy_states WHERE id BETWEEN ? AND ? ORDER BY id
    """)
  private lazy var versionRows = prepared(
    """
    SELECT policy_state, version_id, is_default, create_date, position, document_id FROM managed_policy_state_versions
    WHERE policy_state BETWEEN ? AND ? ORDER BY policy_state, version_id
    """)
  /// `(id, sha256)` go into the digest; `canonical` is read only to verify it.
  private lazy var documentRows = prepared("SELECT id, sha256, canonical FROM documents WHERE id BETWEEN ? AND ? ORDER BY id")
  private lazy var assessmentRow = prepared(
    """
    SELECT id, snapshot_id, assessed_at, tool_version, checks, exceptions_source, exceptions_sha256, exceptions_content,
      stale_exceptions FROM assessments WHERE id = ?
    """)
  private lazy var resultListsOfAssessment = prepared(
    "SELECT id, check_id, check_version FROM snapshot_results WHERE assessment_id = ? ORDER BY check_id, check_version")
  private lazy var resultListRow = prepared(
    """
    SELECT id, snapshot_id, check_id, check_version, assessment_id, tool_version, fail, excepted, pass, error, result_ids, open_ids
    FROM snapshot_results WHERE id = ?
    """)
  /// The columns up to `exception_id` go into the digest; `detail` and `body_id` (the last two) are
  /// read only to verify the detail: a body's id is covered by the result's `sha256`, which the
  /// detail rebuilt from it must have (the digests of rows written before bodies stay the same).
  private lazy var resultRows = prepared(
    """
    SELECT id, sha256, check_id, check_version, finding_key, status, principal_type, principal_id, principal_name, principal_arn,
      policy_kind, policy_name, policy_arn, policy_version, document_sha256, exception_id, detail, body_id
    FROM result_details WHERE id BETWEEN ? AND ? ORDER BY id
    """)
  /// The columns of `resultRows` holding the values of ``ResultBody/members``, in that order.
  private static let bodyValueColumns = [14, 4, 12, 11, 13, 9, 7, 8]
  /// ``bodyValueColumns``, then `sha256`.
  private static let bodyValueAndSHA256Columns = bodyValueColumns + [1]
  /// Not `lazy`: a lazy property of a struct is read out and written back around each mutating call,
  /// so every body added to its cache copied the whole cache (quadratic: most of `report`'s time on a
  /// large account went there).
  private var details: ResultDetailReader
  private lazy var longStringRows = prepared("SELECT id, sha256, text FROM long_strings WHERE id BETWEEN ? AND ? ORDER BY id")
  private lazy var longStringText = prepared("SELECT sha256, text FROM long_strings WHERE id = ?")

  /// Statements are prepared on first use; a failure to prepare surfaces when the statement is used.
  private var prepareError: (any Error)?
  private func prepared(_ sql: String) -> SQLiteStatement? {
    do { return try db.prepare(sql) } catch {
      prepareError = error
      return nil
    }
  }

  func tableExists(_ name: String) throws -> Bool {
    try db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [name]) == .integer(1)
  }

  private func use(_ statement: SQLiteStatement?) throws -> SQLiteStatement {
    guard let statement else { throw prepareError ?? StoreError(path: path, message: "cannot prepare a ledger statement") }
    return statement
  }

  // MARK: What a snapshot's ingest wrote

  /// The digests of snapshot `id`'s rows, by component name. Inconsistencies found on the way
  /// (missing rows, counts that disagree with the lists, and with `verifyTexts`, documents whose text
  /// no longer has their SHA-256) are added to `problems`.
  func snapshotComponents(_ id: Int, verifyTexts: Bool, problems: inout [IntegrityProblem]) throws -> [String: String] {
    var components: [String: String] = [:]
    var d = RowDigest()
    var counts: [Int64] = []
    try d.rows(try use(snapshotRow), [id]) { row in counts = (13...17).map { row.int64($0) ?? -1 } }
    components["snapshots"] = d.hex()
    if let statement = provenanceRow {
      d = RowDigest()
      if try d.rows(statement, [id]) > 0 { components["snapshot_provenance"] = d.hex() }
    }
    guard counts.count == 5 else {
      problems.append(.row("snapshots", id, "missing"))
      return components
    }

    d = RowDigest()
    var lists: (states: String?, usages: String?)?
    try d.rows(try use(listRow), [id]) { row in lists = (row.text(1), row.text(2)) }
    components["snapshot_principal_lists"] = d.hex()
    var stateIDs: [Int64] = []
    var usageIDs: [Int64] = []
    if let lists {
      if let ids = try lists.states.flatMap({ try IDList.decode($0, in: db) }) {
        stateIDs = ids
      } else {
        problems.append(.row("snapshot_principal_lists", id, Self.notAList("state_ids", lists.states)))
      }
      if let ids = try lists.usages.flatMap({ try IDList.decode($0, in: db) }) {
        usageIDs = ids
      } else {
        problems.append(.row("snapshot_principal_lists", id, Self.notAList("usage_ids", lists.usages)))
      }
    } else {
      problems.append(.row("snapshot_principal_lists", id, "missing: snapshot \(id) has no principal list"))
    }

    var documents = Set<Int64>()
    var types: [String: Int64] = [:]
    var missing: [Int64] = []
    d = RowDigest()
    try d.rows(
      keyedBy: stateIDs, try use(stateRows),
      each: { row in
        types[row.text(2) ?? "", default: 0] += 1
        if let trust = row.int64(10) { documents.insert(trust) }
      }, missing: { missing.append($0) })
    components["principal_states"] = d.hex()
    for state in missing { problems.append(.row("snapshot_principal_lists", id, "lists principal state \(state), which does not exist")) }
    var inline: Int64 = 0
    for child in children {
      d = RowDigest()
      try d.rows(keyedBy: stateIDs, try use(child.statement)) { row in
        if let column = child.documentColumn, let document = row.int64(column) {
          documents.insert(document)
          inline += 1
        }
      }
      components[child.table] = d.hex()
    }
    d = RowDigest()
    missing = []
    try d.rows(keyedBy: usageIDs, try use(usageRows), missing: { missing.append($0) })
    components["role_usages"] = d.hex()
    for usage in missing { problems.append(.row("snapshot_principal_lists", id, "lists role usage \(usage), which does not exist")) }

    d = RowDigest()
    var policyStates: [Int64] = []
    try d.rows(try use(linkRows), [id]) { row in if let state = row.int64(1) { policyStates.append(state) } }
    components["snapshot_managed_policies"] = d.hex()
    d = RowDigest()
    missing = []
    try d.rows(keyedBy: policyStates, try use(policyStateRows), missing: { missing.append($0) })
    components["managed_policy_states"] = d.hex()
    for state in missing {
      problems.append(
        IntegrityProblem(
          table: "snapshot_managed_policies", rows: "the rows of snapshot \(id)",
          message: "link managed-policy state \(state), which does not exist"))
    }
    d = RowDigest()
    try d.rows(keyedBy: policyStates, try use(versionRows)) { row in if let document = row.int64(5) { documents.insert(document) } }
    components["managed_policy_state_versions"] = d.hex()

    d = RowDigest()
    missing = []
    var changed: [Int64] = []
    try d.rows(
      keyedBy: documents.sorted(), try use(documentRows), columns: 2,
      each: { row in
        guard verifyTexts, let document = row.int64(0), self.verifiedDocuments.insert(document).inserted else { return }
        if !Self.textMatches(row, sha: 1, text: 2) { changed.append(document) }
      }, missing: { missing.append($0) })
    components["documents"] = d.hex()
    for document in missing { problems.append(.row("documents", document, "missing, but snapshot \(id) uses it")) }
    for document in changed {
      problems.append(
        .row("documents", document, "the SHA-256 of its canonical does not match its sha256 column: the canonical was changed"))
    }

    // The snapshot's counts against what its lists hold.
    let expected: [(String, Int64)] = [
      ("user_count", types["user", default: 0]), ("group_count", types["group", default: 0]), ("role_count", types["role", default: 0]),
      ("managed_policy_count", Int64(policyStates.count)), ("inline_policy_count", inline),
    ]
    for (i, (column, value)) in expected.enumerated() where counts[i] != value {
      problems.append(.row("snapshots", id, "column \(column) is \(counts[i]), but the snapshot's rows hold \(value)"))
    }
    return components
  }

  /// Whether column `text` of `row` still has the SHA-256 (hex) in column `sha`.
  private static func textMatches(_ row: SQLiteRawRow, sha: Int, text: Int) -> Bool {
    guard case .text(let stored) = row.value(sha), case .text(let bytes) = row.value(text) else { return false }
    var hasher = SHA256()
    hasher.update(bufferPointer: bytes)
    return hasher.finalize().hexString.utf8.elementsEqual(stored)
  }

  // MARK: What a review import wrote

  /// The digests of review `reviewID`'s rows: `reviews` (every column, the sheet's text included) and
  /// `review_rows`. A review that is gone adds a problem.
  func reviewComponents(_ reviewID: Int, problems: inout [IntegrityProblem]) throws -> [String: String] {
    var d = RowDigest()
    if try d.rows(try use(reviewRow), [reviewID]) == 0 { problems.append(.row("reviews", reviewID, "missing")) }
    var components = ["reviews": d.hex()]
    d = RowDigest()
    try d.rows(try use(reviewRowRows), [reviewID])
    components["review_rows"] = d.hex()
    return components
  }

  // MARK: What an assessment wrote

  /// The digests of assessment `assessmentID`'s rows: `assessments` and, per `snapshot_results` row
  /// it wrote that is still there, `results <check>@<version>`. Inconsistencies (results that do not
  /// exist, counts or open lists that disagree with the results listed, with `verifyTexts` details
  /// whose text no longer has their SHA-256) are added to `problems`.
  func assessmentComponents(_ assessmentID: Int, verifyTexts: Bool, problems: inout [IntegrityProblem]) throws -> [String: String] {
    var components: [String: String] = [:]
    var d = RowDigest()
    if try d.rows(try use(assessmentRow), [assessmentID]) == 0 { problems.append(.row("assessments", assessmentID, "missing")) }
    components["assessments"] = d.hex()
    var lists: [(id: Int64, name: String)] = []
    let statement = try use(resultListsOfAssessment)
    try statement.bind([assessmentID])
    try statement.forEachRawRow { row in
      lists.append((row.int64(0) ?? -1, "results \(row.text(1) ?? "?")@\(row.int64(2) ?? -1)"))
    }
    statement.reset()
    for list in lists {
      components[list.name] = try resultsComponent(list.id, verifyTexts: verifyTexts, problems: &problems)
    }
    return components
  }

  /// One `snapshot_results` row and the results it lists, checked against each other.
  private func resultsComponent(_ listID: Int64, verifyTexts: Bool, problems: inout [IntegrityProblem]) throws -> String {
    var d = RowDigest()
    var check = ""
    var version: Int64 = -1
    var recorded: [Int64] = []
    var texts: (all: String?, open: String?) = (nil, nil)
    try d.rows(try use(resultListRow), [listID]) { row in
      check = row.text(2) ?? ""
      version = row.int64(3) ?? -1
      recorded = (6...9).map { row.int64($0) ?? -1 }
      texts = (row.text(10), row.text(11))
    }
    guard let resultIDs = try texts.all.flatMap({ try IDList.decode($0, in: db) }) else {
      problems.append(.row("snapshot_results", listID, Self.notAList("result_ids", texts.all)))
      return d.hex()
    }
    let openIDs = try texts.open.flatMap { try IDList.decode($0, in: db) }
    if openIDs == nil { problems.append(.row("snapshot_results", listID, Self.notAList("open_ids", texts.open))) }
    var counts = [Int64](repeating: 0, count: 4)
    var expectedOpen: [Int64] = []
    var longStrings = Set<Int64>()
    var wrongCheck: [Int64] = []
    var badStatus: [(Int64, String)] = []
    var missing: [Int64] = []
    var toVerify: [(id: Int64, sha: String, detail: [UInt8])] = []
    let decoding = decodeLists.contains(listID)
    // Rebuilding a detail from its body to verify it, and decoding results, need no database: for a
    // long list a second thread does both while this one reads and digests the rows (a thread per
    // short list costs more than it saves). Their problems are named after the others.
    let worker = ResultWorker(threaded: resultIDs.count >= ResultWorker.threadedFrom, strings: strings)
    let checkBytes = Array(check.utf8)
    let (fail, excepted, pass, error) = (Array("fail".utf8), Array("excepted".utf8), Array("pass".utf8), Array("error".utf8))
    try d.rows(
      keyedBy: resultIDs, try use(resultRows), columns: 16,
      each: { row in
        // Compared as bytes: tens of thousands of rows, a dozen columns each.
        let result = row.int64(0) ?? -1
        if !row.textEquals(2, checkBytes) || row.int64(3) != version { wrongCheck.append(result) }
        if row.textEquals(5, fail) {
          counts[0] += 1
          expectedOpen.append(result)
        } else if row.textEquals(5, excepted) {
          counts[1] += 1
          expectedOpen.append(result)
        } else if row.textEquals(5, pass) {
          counts[2] += 1
        } else if row.textEquals(5, error) {
          counts[3] += 1
        } else {
          badStatus.append((result, row.text(5) ?? "NULL"))
        }
        for column in 4...15 {
          if case .text(let bytes) = row.value(column), bytes.first == LongStrings.open, let text = row.text(column),
            let reference = LongStrings.columnReference(text)
          {
            longStrings.insert(reference)
          }
        }
        let body = row.int64(17)
        let verify = verifyTexts && self.verifiedResults.insert(result).inserted
        if let body, verify || decoding {
          worker.add(
            .init(
              id: result, body: body, template: try self.details.template(body),
              texts: PackedTexts(row, columns: verify ? Self.bodyValueAndSHA256Columns : Self.bodyValueColumns), detail: nil,
              verify: verify, decode: decoding))
        } else if decoding {
          var detail: [UInt8]?
          if case .text(let bytes) = row.value(16) { detail = try self.details.strings.expand(Array(bytes)) }
          worker.add(.init(id: result, body: nil, template: nil, texts: PackedTexts(), detail: detail, verify: false, decode: true))
        }
        if verify, body == nil {
          if case .text(let detail) = row.value(16), detail.contains(LongStrings.open) {
            toVerify.append((result, row.text(1) ?? "", Array(detail)))
          } else if !Self.textMatches(row, sha: 1, text: 16) {
            problems.append(
              .row("result_details", result, "the SHA-256 of its detail does not match its sha256 column: the detail was changed"))
          }
        }
      }, missing: { missing.append($0) })
    for (result, status) in badStatus { problems.append(.row("result_details", result, "column status holds \"\(status)\"")) }
    for result in missing { problems.append(.row("snapshot_results", listID, "lists result \(result), which does not exist")) }
    d.label("long_strings")
    missing = []
    try d.rows(keyedBy: longStrings.sorted(), try use(longStringRows), columns: 2, missing: { missing.append($0) })
    for reference in missing {
      problems.append(.row("long_strings", reference, "missing, but a result of snapshot_results row \(listID) refers to it"))
    }
    for result in wrongCheck.prefix(3) {
      problems.append(.row("snapshot_results", listID, "lists result \(result), which belongs to another check than \(check)@\(version)"))
    }
    let names = ["fail", "excepted", "pass", "error"]
    if counts != recorded {
      problems.append(
        .row(
          "snapshot_results", listID,
          "its counts (\(zip(recorded, names).map { "\($0) \($1)" }.joined(separator: ", "))) do not match the results it lists (\(zip(counts, names).map { "\($0) \($1)" }.joined(separator: ", ")))"
        ))
    }
    if let openIDs, openIDs != expectedOpen {
      problems.append(
        .row(
          "snapshot_results", listID,
          "column open_ids (\(openIDs.count) ids) is not the list of its fail and excepted results (\(expectedOpen.count))"))
    }
    for (result, sha, stored) in toVerify { try verifyExpanded(result, sha: sha, stored: stored, problems: &problems) }
    let (bodyProblems, decodeProblems, decoded, strings) = try worker.finish()
    self.strings = strings
    problems += bodyProblems + decodeProblems
    if verifyTexts {
      for reference in longStrings.sorted() { try verifyLongString(reference, problems: &problems) }
    }
    if decoding { self.decoded[listID] = decoded }
    return d.hex()
  }

  /// Why the list `text` of `column` does not read: itself, or the base it names (``IDList``). A list's
  /// base is covered through the ids the list stands for: changing the base changes the rows digested.
  static func notAList(_ column: String, _ text: String?) -> String {
    guard let base = text.flatMap(IDList.baseReference) else { return "column \(column) is not a list of ids" }
    return "column \(column) is not a list of ids (with its base, id_lists row \(base))"
  }

  /// Hashes a result's detail with its long strings put back, against its `sha256` column.
  private func verifyExpanded(_ id: Int64, sha: String, stored: [UInt8], problems: inout [IntegrityProblem]) throws {
    for reference in LongStrings.markers(in: stored) { try verifyLongString(reference, problems: &problems) }
    guard let detail = try LongStrings.expand(stored, lookup: longString) else {
      problems.append(.row("result_details", id, "its detail refers to a long string that is missing"))
      return
    }
    if SHA256.hash(data: detail).hexString != sha {
      problems.append(.row("result_details", id, "the SHA-256 of its detail does not match its sha256 column: the detail was changed"))
    }
  }

  private func verifyLongString(_ id: Int64, problems: inout [IntegrityProblem]) throws {
    guard verifiedLongStrings.insert(id).inserted else { return }
    let statement = try use(longStringText)
    try statement.bind([id])
    var matches = true
    try statement.forEachRawRow { row in matches = Self.textMatches(row, sha: 0, text: 1) }
    statement.reset()
    if !matches {
      problems.append(.row("long_strings", id, "the SHA-256 of its text does not match its sha256 column: the text was changed"))
    }
  }

  private func longString(_ id: Int64) throws -> [UInt8]? {
    let statement = try use(longStringText)
    try statement.bind([id])
    var text: [UInt8]?
    try statement.forEachRawRow { row in text = row.bytes(1) }
    statement.reset()
    return text
  }

  // MARK: Writing entries

  /// Appends an entry for what the ingest of snapshot `id` wrote (inside the caller's transaction).
  @discardableResult
  func recordSnapshot(_ id: Int, recordedAt: String, backfilled: Bool = false) throws -> LedgerHead {
    var problems: [IntegrityProblem] = []
    let components = try snapshotComponents(id, verifyTexts: backfilled, problems: &problems)
    try refuse(problems, what: "snapshot \(id)")
    return try append(kind: .ingest, snapshotID: id, assessmentID: nil, recordedAt: recordedAt, backfilled: backfilled, components)
  }

  /// Appends an entry for what assessment `assessmentID` of snapshot `snapshotID` wrote.
  @discardableResult
  func recordAssessment(_ assessmentID: Int, snapshotID: Int, recordedAt: String, backfilled: Bool = false) throws -> LedgerHead {
    var problems: [IntegrityProblem] = []
    let components = try assessmentComponents(assessmentID, verifyTexts: backfilled, problems: &problems)
    try refuse(problems, what: "assessment \(assessmentID)")
    return try append(
      kind: .assessment, snapshotID: snapshotID, assessmentID: assessmentID, recordedAt: recordedAt, backfilled: backfilled, components)
  }

  /// Appends an entry for review `reviewID` of snapshot `snapshotID` (inside the import's transaction).
  @discardableResult
  func recordReview(_ reviewID: Int, snapshotID: Int, recordedAt: String, backfilled: Bool = false) throws -> LedgerHead {
    var problems: [IntegrityProblem] = []
    let components = try reviewComponents(reviewID, problems: &problems)
    try refuse(problems, what: "review \(reviewID)")
    return try append(
      kind: .review, snapshotID: snapshotID, assessmentID: nil, reviewID: reviewID, recordedAt: recordedAt, backfilled: backfilled,
      components)
  }

  /// Rows that do not read back consistently are never sealed into the ledger.
  private func refuse(_ problems: [IntegrityProblem], what: String) throws {
    guard let first = problems.first else { return }
    throw StoreError(
      path: path,
      message: "\(what) does not read back consistently, so it is not recorded in the ledger: \(first)"
        + (problems.count > 1 ? " (and \(problems.count - 1) more problem(s); run `iam-evidence check-db`)" : ""))
  }

  private func append(
    kind: LedgerEntry.Kind, snapshotID: Int, assessmentID: Int?, reviewID: Int? = nil, recordedAt: String, backfilled: Bool,
    _ components: [String: String]
  ) throws -> LedgerHead {
    let previous: String
    switch try db.scalar("SELECT head FROM ledger ORDER BY id DESC LIMIT 1") {
    case .text(let head)?: previous = head
    case nil: previous = Self.genesis
    default: throw StoreError(path: path, message: "table ledger: the last entry's head is not text (damaged database?)")
    }
    let text = Self.entryText(
      kind: kind, snapshotID: snapshotID, assessmentID: assessmentID, reviewID: reviewID, recordedAt: recordedAt, backfilled: backfilled,
      components)
    let digest = SHA256.hash(data: Array(text.utf8)).hexString
    let head = Self.chain(previous, digest)
    if let reviewID {
      try db.run(
        """
        INSERT INTO ledger (kind, snapshot_id, assessment_id, review_id, recorded_at, backfilled, entry, digest, head)
        VALUES (?,?,?,?,?,?,?,?,?)
        """,
        [kind.rawValue, snapshotID, assessmentID, reviewID, recordedAt, backfilled, text, digest, head])
    } else {
      // Without review_id: migration 0004 backfills the ledger before 0007 adds that column.
      try db.run(
        "INSERT INTO ledger (kind, snapshot_id, assessment_id, recorded_at, backfilled, entry, digest, head) VALUES (?,?,?,?,?,?,?,?)",
        [kind.rawValue, snapshotID, assessmentID, recordedAt, backfilled, text, digest, head])
    }
    return LedgerHead(entry: Int(db.lastInsertRowID), head: head)
  }

  /// The canonical JSON an entry's digest is taken over. `review` is a member of review entries only
  /// (the entries of ingests and assessments keep the members they always had).
  static func entryText(
    kind: LedgerEntry.Kind, snapshotID: Int, assessmentID: Int?, reviewID: Int? = nil, recordedAt: String, backfilled: Bool,
    _ components: [String: String]
  ) -> String {
    var members: [(String, JSONValue)] = [
      ("assessment", assessmentID.map { .number(String($0)) } ?? .null),
      ("backfilled", .bool(backfilled)),
      ("components", .object(components.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
      ("format", .number(String(format))),
      ("kind", .string(kind.rawValue)),
      ("recorded_at", .string(recordedAt)),
    ]
    if let reviewID { members.append(("review", .number(String(reviewID)))) }
    members.append(("snapshot", .number(String(snapshotID))))
    return JSONWriter.canonical(.object(members))
  }

  /// Records every snapshot and current assessment that has no entry yet, oldest first, marked as
  /// backfilled: what a database written before the ledger existed gets when it is migrated.
  func backfill(recordedAt: String) throws {
    let snapshots = try db.query(
      "SELECT id FROM snapshots WHERE id NOT IN (SELECT snapshot_id FROM ledger WHERE kind = 'ingest') ORDER BY id"
    ).map { try $0.int("id") }
    for id in snapshots {
      try recordSnapshot(id, recordedAt: recordedAt, backfilled: true)
      let assessments = try db.query(
        """
        SELECT DISTINCT assessment_id FROM snapshot_results WHERE snapshot_id = ?
          AND assessment_id NOT IN (SELECT assessment_id FROM ledger WHERE kind = 'assessment') ORDER BY assessment_id
        """, [id]
      ).map { try $0.int("assessment_id") }
      for assessment in assessments { try recordAssessment(assessment, snapshotID: id, recordedAt: recordedAt, backfilled: true) }
    }
  }

  /// Records every stored review that has no entry yet, oldest first, marked as backfilled: what a
  /// database whose reviews were imported before the ledger recorded them gets when migrated to
  /// 0007-provenance. Nothing while the database has no reviews table.
  func backfillReviews(recordedAt: String) throws {
    guard try tableExists("reviews") else { return }
    let reviews = try db.query(
      "SELECT id, snapshot_id FROM reviews WHERE id NOT IN (SELECT review_id FROM ledger WHERE kind = 'review') ORDER BY id")
    for row in reviews {
      try recordReview(try row.int("id"), snapshotID: try row.int("snapshot_id"), recordedAt: recordedAt, backfilled: true)
    }
  }

  // MARK: Reading and walking the chain

  /// Every entry, in order, and what is wrong with the chain: an entry whose digest is not that of
  /// its text, whose columns disagree with its text, or whose head does not follow from the one
  /// before it.
  func entries() throws -> (entries: [LedgerEntry], problems: [IntegrityProblem]) {
    var entries: [LedgerEntry] = []
    var problems: [IntegrityProblem] = []
    var previous = Self.genesis
    // review_id exists from migration 0007 on (this runs on migrated databases only).
    let rows = try db.query(
      "SELECT id, kind, snapshot_id, assessment_id, review_id, recorded_at, backfilled, entry, digest, head FROM ledger ORDER BY id")
    for row in rows {
      let id = try row.int("id")
      let text = try row.string("entry")
      let digest = try row.string("digest")
      let head = try row.string("head")
      if SHA256.hash(data: Array(text.utf8)).hexString != digest {
        problems.append(.row("ledger", id, "its digest is not the SHA-256 of its entry: the entry was changed"))
      }
      if Self.chain(previous, digest) != head {
        problems.append(.row("ledger", id, "its head does not follow from the previous entry's: the chain is broken here"))
      }
      previous = head
      guard let json = try? JSONParser.parse(text), let kind = json["kind"]?.stringValue.flatMap(LedgerEntry.Kind.init(rawValue:)),
        case .number(let snapshotText)? = json["snapshot"], let snapshot = Int(snapshotText),
        let recordedAt = json["recorded_at"]?.stringValue, case .bool(let backfilled)? = json["backfilled"],
        case .object(let members)? = json["components"]
      else {
        problems.append(.row("ledger", id, "its entry is not a ledger entry"))
        continue
      }
      var assessment: Int?
      if case .number(let n)? = json["assessment"] { assessment = Int(n) }
      var review: Int?
      if case .number(let n)? = json["review"] { review = Int(n) }
      var components: [String: String] = [:]
      for (name, value) in members { components[name] = value.stringValue ?? "" }
      if try row.string("kind") != kind.rawValue || row.int("snapshot_id") != snapshot || row.optionalInt("assessment_id") != assessment
        || row.optionalInt("review_id") != review || row.string("recorded_at") != recordedAt || row.bool("backfilled") != backfilled
      {
        problems.append(.row("ledger", id, "its columns do not match its entry"))
      }
      entries.append(
        LedgerEntry(
          id: id, kind: kind, snapshotID: snapshot, assessmentID: assessment, reviewID: review, recordedAt: recordedAt,
          backfilled: backfilled, components: components, digest: digest, head: head))
    }
    return (entries, problems)
  }
}

extension Ledger {
  /// Hashes the detail of result `result` (`row` of `resultRows`), rebuilt from body `body` (its
  /// `template`, nil when missing) and the row's `values` (``ResultBody/members``), against the
  /// row's `sha256` column.
  fileprivate static func verifyBody(
    _ result: Int64, sha256 stored: ArraySlice<UInt8>, _ body: Int64, _ template: [UInt8]?, _ values: [String?],
    problems: inout [IntegrityProblem]
  ) {
    guard let template else {
      problems.append(.row("result_details", result, "its body (result_bodies row \(body)) is missing"))
      return
    }
    guard let detail = ResultBody.detail(template: template, values: values) else {
      problems.append(.row("result_bodies", body, "its template holds a placeholder that is not one: the template was changed"))
      return
    }
    guard stored.withUnsafeBytes({ hexEquals(SHA256.hash(data: detail), $0) }) else {
      problems.append(
        .row(
          "result_details", result,
          "the SHA-256 of its detail, rebuilt from its columns and body \(body), does not match its sha256 column: a column or the body was changed"
        ))
      return
    }
  }

  /// Whether `digest` written in lowercase hexadecimal is `hex` (no string is made per row).
  private static func hexEquals(_ digest: some Sequence<UInt8>, _ hex: UnsafeRawBufferPointer) -> Bool {
    let digits: StaticString = "0123456789abcdef"
    return digits.withUTF8Buffer { d in
      var i = 0
      for byte in digest {
        guard i + 1 < hex.count, hex[i] == d[Int(byte >> 4)], hex[i + 1] == d[Int(byte & 15)] else { return false }
        i += 2
      }
      return i == hex.count
    }
  }
}

/// Verifies and decodes the result rows the ledger reads, in the order given: rebuilds the detail of
/// a row with a body to check it against its `sha256` column (``Ledger/verifyBody``), and decodes the
/// rows of ``Ledger/decodeLists`` (``ResultPrototypes``). On a thread of its own, in batches, or as
/// the rows come.
final class ResultWorker {
  /// The rows from which a list is worked on a thread of its own.
  static let threadedFrom = 4096

  /// One row, with everything verifying and decoding it needs from the database.
  struct Row: Sendable {
    var id: Int64
    /// The row's body, and the body's template (nil: missing); nil for a row holding its detail.
    var body: Int64?
    var template: [UInt8]?
    /// For a row with a body: the values of ``ResultBody/members``, then its `sha256` column when
    /// it is verified.
    var texts: PackedTexts
    /// A row without a body: its detail with its long strings put back (nil: not readable).
    var detail: [UInt8]?
    /// Whether the row's detail is rebuilt from its body and checked against its `sha256` column.
    var verify: Bool
    /// Whether the row is decoded into a result.
    var decode: Bool
  }

  /// What the rows gave: the problems of verifying and of decoding them, and the results decoded,
  /// each in the order of the rows.
  struct Outcome: Sendable {
    var verifyProblems: [IntegrityProblem] = []
    var decodeProblems: [IntegrityProblem] = []
    var results: [CheckResult] = []
    var strings = StringPool()
  }

  static let batchSize = 512
  private let channel = Channel<[Row]>(capacity: 8)
  private let job: BackgroundJob<Outcome>?
  private var batch: [Row] = []
  /// Without a thread: what has been done so far.
  private var prototypes = ResultPrototypes()
  private var outcome = Outcome()

  /// `strings`: the strings of the results decoded before (the worker's are added to it, and
  /// ``finish()`` hands it back for the next list's worker).
  init(threaded: Bool, strings: StringPool = StringPool()) {
    guard threaded else {
      job = nil
      outcome.strings = strings
      return
    }
    let channel = channel
    job = BackgroundJob {
      var prototypes = ResultPrototypes()
      var outcome = Outcome()
      outcome.strings = strings
      while let rows = channel.receive() {
        for row in rows { Self.process(row, prototypes: &prototypes, outcome: &outcome) }
      }
      return outcome
    }
    batch.reserveCapacity(Self.batchSize)
  }

  // Abandoned (the reading thread threw): the worker stops.
  deinit { channel.cancel() }

  func add(_ row: Row) {
    guard job != nil else {
      Self.process(row, prototypes: &prototypes, outcome: &outcome)
      return
    }
    batch.append(row)
    if batch.count == Self.batchSize { send() }
  }

  private func send() {
    guard !batch.isEmpty else { return }
    _ = channel.send(batch)
    batch = []
    batch.reserveCapacity(Self.batchSize)
  }

  /// The problems found and the results decoded, in the order of the rows, and the strings of the
  /// results decoded so far.
  func finish() throws -> (
    verifyProblems: [IntegrityProblem], decodeProblems: [IntegrityProblem], results: [CheckResult], strings: StringPool
  ) {
    var done = outcome
    if let job {
      send()
      channel.close()
      done = try job.result()
    }
    return (done.verifyProblems, done.decodeProblems, done.results, done.strings)
  }

  private static func process(_ row: Row, prototypes: inout ResultPrototypes, outcome: inout Outcome) {
    // The values a decoded result keeps are taken from the pool: a principal or a policy is named
    // by the results of a dozen checks, which then share one string.
    let values =
      row.body == nil
      ? []
      : (0..<ResultBody.members.count).map { i in
        row.decode && i != ResultBody.findingKeyMember ? row.texts.field(i).map { outcome.strings.string($0) } : row.texts.string(i)
      }
    if row.verify, let body = row.body {
      let sha = row.texts.field(ResultBody.members.count) ?? []
      Ledger.verifyBody(row.id, sha256: sha, body, row.template, values, problems: &outcome.verifyProblems)
    }
    guard row.decode else { return }
    var read: CheckResult?
    if let body = row.body {
      read = row.template.flatMap { prototypes.result(body: body, template: $0, values: values) }
    } else {
      read = row.detail.flatMap(ResultPrototypes.result(detail:))
    }
    if let read {
      outcome.results.append(read)
    } else {
      outcome.decodeProblems.append(.row("result_details", row.id, "its detail cannot be read as a result"))
    }
  }
}

/// Strings made from bytes, each distinct one kept once (strings of up to 15 bytes are held inline
/// by `String` and are not pooled). Memory, not time: the 336,847 results of the principal-heavy
/// benchmark name 32,500 principals and their policies about ten times each.
struct StringPool: Sendable {
  /// By a hash of the bytes; on a collision (two texts with one hash) the second is not pooled.
  private var strings: [Int: String] = [:]

  /// The string of `bytes` (invalid UTF-8 repaired, as `String(decoding:as:)` does).
  mutating func string(_ bytes: ArraySlice<UInt8>) -> String {
    guard bytes.count > 15 else { return String(decoding: bytes, as: UTF8.self) }
    var hasher = Hasher()
    bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    let key = hasher.finalize()
    if let pooled = strings[key] {
      if pooled.utf8.elementsEqual(bytes) { return pooled }
      return String(decoding: bytes, as: UTF8.self)
    }
    let made = String(decoding: bytes, as: UTF8.self)
    strings[key] = made
    return made
  }
}

/// Text columns of one row copied into a single buffer, for another thread to make strings of: one
/// allocation per row where a `String` per column cost one each (allocating them was a fifth of the
/// reading thread's time in the report of a large account).
struct PackedTexts: Sendable {
  private var bytes: [UInt8] = []
  /// Where each field ends in `bytes` (fields are consecutive), and which are missing (not text).
  private var ends = SIMD16<Int32>()
  private var missing: UInt16 = 0
  private(set) var count = 0

  init() {}

  /// Columns `columns` of `row`, in that order (at most 16).
  init(_ row: SQLiteRawRow, columns: [Int]) {
    var length = 0
    for c in columns { if case .text(let b) = row.value(c) { length += b.count } }
    bytes.reserveCapacity(length)
    for c in columns {
      if case .text(let b) = row.value(c) { append(b) } else { append(nil) }
    }
  }

  /// `strings` (nil: missing), in order (tests).
  init(_ strings: [String?]) {
    for s in strings {
      if var s { s.withUTF8 { append(UnsafeRawBufferPointer($0)) } } else { append(nil) }
    }
  }

  private mutating func append(_ field: UnsafeRawBufferPointer?) {
    precondition(count < 16, "at most 16 fields")
    if let field { bytes.append(contentsOf: field) } else { missing |= 1 << count }
    ends[count] = Int32(bytes.count)
    count += 1
  }

  /// Field `i`'s bytes, nil when it is missing or there is no such field.
  func field(_ i: Int) -> ArraySlice<UInt8>? {
    guard i < count, missing & (1 << i) == 0 else { return nil }
    return bytes[(i == 0 ? 0 : Int(ends[i - 1]))..<Int(ends[i])]
  }

  /// Field `i` as a string (invalid UTF-8 repaired, as `SQLiteRawRow.text` does).
  func string(_ i: Int) -> String? { field(i).map { String(decoding: $0, as: UTF8.self) } }
}
