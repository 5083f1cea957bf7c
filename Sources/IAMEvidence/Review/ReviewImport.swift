import Foundation

/// One answered row of a review sheet, as read (before it is checked against the snapshot).
public struct ReviewSheetRow: Sendable, Hashable {
  public var rowID: String
  public var decision: ReviewDecision
  public var reviewer: String
  /// `YYYY-MM-DD`.
  public var reviewedOn: String
  public var comment: String
  public var ticket: String
  /// The line the row starts on.
  public var line: Int
}

/// The signed row of a sheet with nothing to review (``ReviewSheet/nothingToReviewRowID``): who
/// confirmed it, and when.
public struct NothingToReview: Sendable, Hashable {
  public var reviewer: String
  /// `YYYY-MM-DD`.
  public var reviewedOn: String
  public var comment: String
  public var ticket: String
  public var line: Int
}

/// A review sheet read and checked for form: every row answered, one snapshot named throughout.
public struct ParsedReviewSheet: Sendable {
  public var file: String
  public var snapshotID: Int
  public var snapshotSHA256: String
  public var rows: [ReviewSheetRow]
  /// The sheet's only row when it says there is nothing to review (``rows`` is then empty).
  public var nothingToReview: NothingToReview? = nil
}

/// A review sheet checked against its snapshot, ready to be stored.
public struct ValidatedReview: Sendable {
  public var snapshot: SnapshotRecord
  /// SHA-256 of the sheet's bytes as read.
  public var sheetSHA256: String
  /// The sheet's bytes (stored with the review, so that the sheet can be produced again and its
  /// signature checked).
  public var sheet: [UInt8]
  /// The file name the sheet was imported from (its last path component).
  public var sourceName: String
  /// Each row of the sheet with the item it answers, in the sheet's order.
  public var rows: [(item: ReviewItem, answer: ReviewSheetRow)]
  /// A completed review of a snapshot with nothing to review: zero rows, and who confirmed it when.
  public var nothingToReview: NothingToReview? = nil

  /// The reviewers named, sorted, each once.
  public var reviewers: [String] { Array(Set(rows.map(\.answer.reviewer) + [nothingToReview?.reviewer].compactMap { $0 })).sorted() }

  /// Every `reviewed_on` of the sheet, sorted.
  public var reviewDates: [String] { (rows.map(\.answer.reviewedOn) + [nothingToReview?.reviewedOn].compactMap { $0 }).sorted() }
}

/// Reads and validates review sheets (pure: the service reads the file and the snapshot's items).
public enum ReviewImport {
  /// The largest sheet accepted: 8 MiB (a register of tens of thousands of rows fits).
  public static let maximumBytes = 8 << 20

  /// Reads the sheet's bytes: UTF-8, RFC 4180, the header of ``ReviewSheet/columns`` (in any order,
  /// each once, no other), every row with as many fields as the header, one snapshot id and SHA-256
  /// throughout, every row answered (a decision of the set, a reviewer, a `YYYY-MM-DD` date), and
  /// no row id twice. Errors name `file`, the line and the column.
  public static func parse(_ bytes: [UInt8], file: String) throws(ReviewSheetError) -> ParsedReviewSheet {
    guard bytes.count <= maximumBytes else {
      throw ReviewSheetError(file: file, message: "the sheet exceeds \(IngestSource.byteCount(maximumBytes))")
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      // Name the first line that is not UTF-8.
      let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
      let bad = lines.firstIndex { String(validating: $0, as: UTF8.self) == nil } ?? 0
      throw ReviewSheetError(file: file, line: bad + 1, message: "not UTF-8 text (save the sheet as CSV UTF-8)")
    }
    let records = try CSVReader.records(text, file: file).filter { !($0.count == 1 && $0[0].value.isEmpty) }
    guard let header = records.first else { throw ReviewSheetError(file: file, message: "an empty file, not a review sheet") }
    var index: [String: Int] = [:]
    for (k, f) in header.enumerated() {
      let name = f.value
      guard ReviewSheet.columns.contains(name) else {
        throw ReviewSheetError(
          file: file, line: f.line, column: f.column,
          message: "unknown column \"\(name)\" (a review sheet has the columns \(ReviewSheet.columns.joined(separator: ", ")))")
      }
      guard index[name] == nil else {
        throw ReviewSheetError(file: file, line: f.line, column: f.column, message: "the column \"\(name)\" appears twice")
      }
      index[name] = k
    }
    if let missing = ReviewSheet.columns.first(where: { index[$0] == nil }) {
      throw ReviewSheetError(
        file: file, line: header[0].line, message: "no column \"\(missing)\" (export the sheet with `iam-evidence review export`)")
    }
    let body = records.dropFirst()
    guard let first = body.first else {
      throw ReviewSheetError(
        file: file, line: header[0].line,
        message:
          "the sheet has no rows, so it names no snapshot and no reviewer; a snapshot with nothing to review is exported with one row \"\(ReviewSheet.nothingToReviewRowID)\" for the reviewer to sign (export the sheet again)"
      )
    }
    func field(_ record: [CSVField], _ name: String) -> CSVField { record[index[name]!] }
    func error(_ f: CSVField, _ message: String) -> ReviewSheetError {
      ReviewSheetError(file: file, line: f.line, column: f.column, message: message)
    }
    for record in body where record.count != header.count {
      throw ReviewSheetError(
        file: file, line: record[0].line, message: "\(record.count) field(s) where the header has \(header.count)")
    }
    let snapshotField = field(first, "snapshot")
    guard let snapshotID = Int(snapshotField.value), snapshotID > 0 else {
      throw error(snapshotField, "snapshot: \"\(snapshotField.value)\" is not a snapshot id")
    }
    let sha = field(first, "snapshot_sha256").value
    var rows: [ReviewSheetRow] = []
    var lines: [String: Int] = [:]
    var nothing: NothingToReview?
    for record in body {
      let s = field(record, "snapshot")
      guard s.value == snapshotField.value else {
        throw error(
          s, "snapshot \(s.value) where the sheet's first row names snapshot \(snapshotField.value): one sheet reviews one snapshot")
      }
      let h = field(record, "snapshot_sha256")
      guard h.value == sha else { throw error(h, "snapshot_sha256 differs from the sheet's first row") }
      let idField = field(record, "row_id")
      let rowID = idField.value
      guard !rowID.isEmpty else { throw error(idField, "row_id is empty") }
      if let earlier = lines[rowID] { throw error(idField, "row \(rowID) appears twice (first on line \(earlier))") }
      lines[rowID] = idField.line
      let d = field(record, "decision")
      let decisionText = d.value.trimmingCharacters(in: .whitespaces).lowercased()
      let isNothing = rowID == ReviewSheet.nothingToReviewRowID
      if isNothing {
        guard body.count == 1 else {
          throw error(idField, "row \(rowID) says there is nothing to review, so it must be the sheet's only row")
        }
        guard decisionText.isEmpty else {
          throw error(d, "row \(rowID) takes no decision (there is nothing to keep, revoke or except): leave decision empty")
        }
      } else {
        guard !decisionText.isEmpty else { throw error(d, "row \(rowID) has no decision (keep, revoke or exception)") }
        guard ReviewDecision(rawValue: decisionText) != nil else {
          throw error(d, "decision \"\(d.value)\" is not keep, revoke or exception")
        }
      }
      let r = field(record, "reviewer")
      let reviewer = r.value.trimmingCharacters(in: .whitespaces)
      guard !reviewer.isEmpty else { throw error(r, "row \(rowID) names no reviewer") }
      guard reviewer.count <= 200, !reviewer.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
        throw error(r, "the reviewer must be a name (at most 200 characters, no control characters)")
      }
      let o = field(record, "reviewed_on")
      let on = o.value.trimmingCharacters(in: .whitespaces)
      guard !on.isEmpty else { throw error(o, "row \(rowID) has no reviewed_on date") }
      guard on.utf8.count == 10, Timestamp(parsing: on) != nil else {
        throw error(o, "reviewed_on \"\(o.value)\" is not a date YYYY-MM-DD")
      }
      for (name, limit) in [("comment", 2000), ("ticket", 200)] {
        let f = field(record, name)
        guard f.value.count <= limit,
          !f.value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && !"\t\n\r".unicodeScalars.contains($0) })
        else {
          throw error(f, "\(name) must be text of at most \(limit) characters without control characters")
        }
      }
      guard let decision = ReviewDecision(rawValue: decisionText) else {
        nothing = NothingToReview(
          reviewer: reviewer, reviewedOn: on, comment: field(record, "comment").value, ticket: field(record, "ticket").value,
          line: idField.line)
        continue
      }
      rows.append(
        ReviewSheetRow(
          rowID: rowID, decision: decision, reviewer: reviewer, reviewedOn: on, comment: field(record, "comment").value,
          ticket: field(record, "ticket").value, line: idField.line))
    }
    return ParsedReviewSheet(file: file, snapshotID: snapshotID, snapshotSHA256: sha, rows: rows, nothingToReview: nothing)
  }

  /// Checks a parsed sheet against its snapshot: `snapshot` must be the one the sheet names (id and
  /// SHA-256), every row id one of `items` and every item answered, and each `reviewed_on` no earlier
  /// than the snapshot's capture day and no later than the day after `now` (a reviewer ahead of UTC).
  public static func validate(
    _ sheet: ParsedReviewSheet, bytes: [UInt8], snapshot: SnapshotRecord, items: [ReviewItem], now: Timestamp
  ) throws(ReviewSheetError) -> ValidatedReview {
    let file = sheet.file
    guard snapshot.id == sheet.snapshotID, snapshot.sha256 == sheet.snapshotSHA256 else {
      throw ReviewSheetError(
        file: file, line: sheet.rows.first.map { $0.line },
        message:
          "the sheet names snapshot \(sheet.snapshotID) with SHA-256 \(sheet.snapshotSHA256), but snapshot \(snapshot.id) of this database has SHA-256 \(snapshot.sha256): the sheet was exported from another database"
      )
    }
    var byID: [String: ReviewItem] = [:]
    for i in items { byID[i.rowID] = i }
    let captureDay = snapshot.capturedAt.dateString
    let latest = Timestamp(epochSeconds: now.epochSeconds + 86_400).dateString
    var rows: [(item: ReviewItem, answer: ReviewSheetRow)] = []
    if let nothing = sheet.nothingToReview {
      guard items.isEmpty else {
        throw ReviewSheetError(
          file: file, line: nothing.line,
          message:
            "row \(ReviewSheet.nothingToReviewRowID) says there is nothing to review, but snapshot \(snapshot.id) has \(items.count) item(s) to review (export the sheet again)"
        )
      }
      let day = nothing.reviewedOn
      if day < captureDay {
        throw ReviewSheetError(
          file: file, line: nothing.line, message: "the review is dated \(day), before the snapshot was captured (\(captureDay))")
      }
      if day > latest { throw ReviewSheetError(file: file, line: nothing.line, message: "the review is dated \(day), in the future") }
    }
    for row in sheet.rows {
      guard let item = byID[row.rowID] else {
        throw ReviewSheetError(
          file: file, line: row.line, message: "row \(row.rowID) is not an item of snapshot \(snapshot.id) (a row added or edited by hand?)"
        )
      }
      // YYYY-MM-DD strings compare as the dates they name.
      if row.reviewedOn < captureDay {
        throw ReviewSheetError(
          file: file, line: row.line,
          message: "row \(row.rowID) was reviewed on \(row.reviewedOn), before the snapshot was captured (\(captureDay))")
      }
      if row.reviewedOn > latest {
        throw ReviewSheetError(file: file, line: row.line, message: "row \(row.rowID) is dated \(row.reviewedOn), in the future")
      }
      rows.append((item, row))
    }
    let answered = Set(sheet.rows.map(\.rowID))
    let missing = items.filter { !answered.contains($0.rowID) }.map(\.rowID)
    if !missing.isEmpty {
      throw ReviewSheetError(
        file: file,
        message:
          "\(missing.count) item(s) of snapshot \(snapshot.id) are not in the sheet: \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", …" : "") (export the sheet again)"
      )
    }
    return ValidatedReview(
      snapshot: snapshot, sheetSHA256: Digest.sha256(bytes), sheet: bytes, sourceName: (file as NSString).lastPathComponent, rows: rows,
      nothingToReview: sheet.nothingToReview)
  }
}
