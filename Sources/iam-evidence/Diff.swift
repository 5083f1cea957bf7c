import ArgumentParser
import Foundation
import IAMEvidence

/// `iam-evidence diff`: drift between two snapshots.
struct Diff: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show what changed between two snapshots: findings, principals, policies (statement by statement).",
    discussion: "FROM and TO are snapshot ids, latest, previous, or a date (the latest snapshot captured on or before it).")

  @OptionGroup var database: DatabaseOptions

  @Option(help: "The account (needed with latest/previous/dates when the database holds several).")
  var account: String?

  @Option(help: "text, json, html or xml.")
  var format: Format = .text

  @Option(help: "Write to this file (atomically) instead of standard output.")
  var out: String?

  @Option(help: "Report templates folder for html/xml (default: $IAM_EVIDENCE_TEMPLATES, else the installed ones).")
  var templates: String?

  @Argument(help: "The older snapshot.")
  var from: String

  @Argument(help: "The newer snapshot.")
  var to: String

  enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, html, xml }

  /// The templates (html and xml only), said on standard error.
  func located() throws -> TemplateSet {
    let templateSet = try TemplateSet.locate(explicit: templates)
    Terminal.note(templateSet.summary)
    return templateSet
  }

  func run() throws {
    let drift = try database.reader().drift(from: from, to: to, account: account)
    let bytes: [UInt8]
    switch format {
    case .json: bytes = Array((JSONWriter.pretty(drift.jsonValue) + "\n").utf8)
    case .text: bytes = Array(DriftText.render(drift).utf8)
    case .xml: bytes = try DriftXML.render(drift, templates: try located())
    case .html: bytes = try DriftHTML.render(drift, templates: try located())
    }
    if let out {
      try ReportWriter.writeAtomically(bytes, to: URL(fileURLWithPath: out))
    } else {
      FileHandle.standardOutput.write(Data(bytes))
    }
  }
}
