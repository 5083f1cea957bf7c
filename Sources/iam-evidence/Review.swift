import ArgumentParser
import Foundation
import IAMEvidence

/// `iam-evidence review`: access reviews with sign-off.
struct Review: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Access reviews: export a snapshot's review sheet, import it once a reviewer has filled it in.",
    subcommands: [ReviewExport.self, ReviewImportCommand.self])
}

/// `iam-evidence review export`: the review sheet of one snapshot.
struct ReviewExport: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write a snapshot's privileged-access register and open findings as a review sheet (CSV).",
    discussion: """
      One row per item: a capability a principal holds (row id priv:<principal id>:<capability>) or an \
      open finding (finding:<finding key>). Every row carries the snapshot id and the SHA-256 of its \
      export. The reviewer fills in decision (keep, revoke or exception), reviewer, reviewed_on \
      (YYYY-MM-DD), comment and ticket, then `review import` stores it. A snapshot with nothing to \
      review gets one row "none": the reviewer fills in reviewer and reviewed_on, no decision. Only \
      reads the database.
      """)

  @OptionGroup var database: DatabaseOptions

  @Option(help: "Only snapshots of this account.")
  var account: String?

  @Option(help: "A snapshot id, latest, previous or a date.")
  var snapshot = "latest"

  @Option(help: "The CSV file to write (written to a temporary file, then renamed into place).")
  var out: String

  func run() throws {
    let dbPath = database.path
    if ReviewExport.sameFile(out, dbPath) || ReviewExport.sameFile(out, dbPath + "-wal") || ReviewExport.sameFile(out, dbPath + "-shm") {
      throw CommandFailure(message: "\(out): is the database; choose another file for the review sheet")
    }
    let (record, items) = try database.reader().reviewSheet(snapshot: snapshot, account: account)
    try ReportWriter.writeAtomically(Array(ReviewSheet.csv(snapshot: record, items: items).utf8), to: URL(fileURLWithPath: out))
    let priv = items.filter { $0.kind == .privileged }.count
    Terminal.note(
      "Wrote \(out): review sheet of snapshot \(record.id) (account \(record.account), captured \(record.capturedAt.dateString)), "
        + "\(priv) register row(s) and \(items.count - priv) open finding(s)"
        + (items.isEmpty
          ? "; nothing to review: its one row \"\(ReviewSheet.nothingToReviewRowID)\" is for the reviewer to sign (reviewer, reviewed_on; no decision)"
          : ""))
  }

  /// Whether `a` and `b` name the same existing file (same device and inode).
  static func sameFile(_ a: String, _ b: String) -> Bool {
    guard let x = try? FileManager.default.attributesOfItem(atPath: a), let y = try? FileManager.default.attributesOfItem(atPath: b) else {
      return false
    }
    return (x[.systemNumber] as? NSNumber) == (y[.systemNumber] as? NSNumber)
      && (x[.systemFileNumber] as? NSNumber) == (y[.systemFileNumber] as? NSNumber)
  }
}

/// `iam-evidence review import`: stores a filled review sheet.
struct ReviewImportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract: "Validate a filled review sheet and store it as the review of its snapshot.",
    discussion: """
      Refused, with nothing written: a sheet that is not RFC 4180 CSV (the error names the line and \
      column), a row without a decision (keep, revoke, exception), a reviewer or a reviewed_on date \
      (YYYY-MM-DD, not before the snapshot's capture day), an unknown or repeated row id, an item of \
      the snapshot missing from the sheet, a sheet of another database. The review is stored with the \
      sheet and its SHA-256 in one transaction, recorded in the ledger; with --sign-key, with an \
      Ed25519 signature of the sheet. A sheet whose only row is "none" (nothing to review) is stored as \
      a completed review with zero items.
      """)

  @OptionGroup var database: DatabaseOptions

  @Argument(help: "The filled review sheet (CSV, as `review export` wrote it).")
  var sheet: String

  @Option(help: "Sign the sheet with this Ed25519 private key (from `iam-evidence keygen`).")
  var signKey: String?

  func run() throws {
    let key = try signKey.map { try SigningKeys.loadPrivateKey(path: $0) }
    let outcome = try database.writer(create: false).importReview(path: sheet, signingKey: key, now: Clock.now())
    switch outcome {
    case .imported(let id, let snapshot, let rows, let reviewers, let signer):
      Terminal.out(
        "Imported review \(id) of snapshot \(snapshot): "
          + (rows == 0 ? "nothing to review, confirmed by " : "\(rows) row(s), reviewed by ") + reviewers.joined(separator: ", ")
          + (signer.map { ", signed (key fingerprint \($0.prefix(16)))" } ?? ", unsigned"))
    case .alreadyImported(let id, let snapshot):
      Terminal.out("This sheet was imported before as review \(id) of snapshot \(snapshot); nothing written")
    }
  }
}
