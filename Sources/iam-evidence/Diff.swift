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
    let store = try database.open(create: false)
    let acct: String? = (Int(from) != nil && Int(to) != nil) ? account : try store.resolveAccount(account)
    let a = try store.resolveSnapshot(from, account: acct)
    let b = try store.resolveSnapshot(to, account: acct)
    let drift = try store.drift(from: a.id, to: b.id)
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

/// Drift for terminals.
enum DriftText {
  static func render(_ d: DriftReport) -> String {
    var lines = [
      "drift of account \(d.to.account): snapshot \(d.from.id) (\(d.from.capturedAt)) -> snapshot \(d.to.id) (\(d.to.capturedAt))"
    ]
    func subject(_ r: CheckResult) -> String {
      let who = r.principal.map { "\($0.type.rawValue) \($0.name)" }
      let what = r.policy.map { $0.kind == .inline ? "inline \($0.name)" : "managed \($0.arn ?? $0.name) \($0.versionID ?? "")" }
      return [who, what].compactMap { $0 }.joined(separator: " / ")
    }
    for (title, list) in [
      ("new findings", d.newFindings), ("resolved", d.resolved), ("newly excepted", d.newlyExcepted),
      ("exception expired", d.exceptionExpired), ("still open", d.stillOpen),
    ] {
      lines.append("\(title): \(list.count)")
      for check in CheckCatalog.all.map(\.description.id) {
        for r in list where r.checkID == check { lines.append("  \(check)  \(subject(r))") }
      }
    }
    lines.append("principals added: \(d.principalsAdded.count)")
    for p in d.principalsAdded {
      lines.append(
        "  + \(p.principal.type.rawValue) \(p.principal.name) (\(p.principal.id))\(p.recreated ? "  RECREATED: same ARN, new id — a different subject" : "")"
      )
    }
    lines.append("principals removed: \(d.principalsRemoved.count)")
    for p in d.principalsRemoved { lines.append("  - \(p.principal.type.rawValue) \(p.principal.name) (\(p.principal.id))") }
    lines.append("access changes: \(d.accessChanges.count)")
    for a in d.accessChanges { lines.append("  \(a.kind)  \(a.principal.type.rawValue) \(a.principal.name)  \(a.subject)") }
    func name(_ c: PolicyChange) -> String {
      c.kind == .inline
        ? "inline \(c.name) of \(c.principal.map { "\($0.type.rawValue) \($0.name)" } ?? "?")" : "managed \(c.arn ?? c.name)"
    }
    lines.append("policies added: \(d.policiesAdded.count)")
    for c in d.policiesAdded { lines.append("  + \(name(c))") }
    lines.append("policies removed: \(d.policiesRemoved.count)")
    for c in d.policiesRemoved { lines.append("  - \(name(c))") }
    lines.append("policies changed: \(d.policiesChanged.count)")
    for c in d.policiesChanged {
      lines.append(
        "  ~ \(name(c))" + (c.defaultVersionSwitched ? "  default version \(c.fromVersion ?? "?") -> \(c.toVersion ?? "?")" : ""))
      guard let s = c.statements else { continue }
      for x in s.removed { lines.append("      - Statement[\(x.index)] \(JSONWriter.canonical(x.statement))") }
      for x in s.added { lines.append("      + Statement[\(x.index)] \(JSONWriter.canonical(x.statement))") }
      for x in s.changed {
        for e in x.changes {
          lines.append(
            "      ~ Statement[\(x.fromIndex)->\(x.toIndex)].\(e.element): \(e.from.map(JSONWriter.canonical) ?? "(absent)") -> \(e.to.map(JSONWriter.canonical) ?? "(absent)")"
          )
        }
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
