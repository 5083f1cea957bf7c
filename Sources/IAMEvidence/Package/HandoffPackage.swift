import Crypto
import Foundation
import ZIPFoundation

/// The auditor handoff package: one zip with the period's report, evidence, OSCAL assessment results,
/// drift, trend, exceptions register, optionally the source snapshots, and a SHA-256 manifest
/// (optionally signed with Ed25519). Same inputs, same bytes.
public enum HandoffPackage {
  /// Everything the package is made from (plain values).
  public struct Inputs {
    public var model: EvidenceModel
    public var trend: TrendReport
    /// The drift from the first to the last snapshot of the period (`drift.json`, `drift.html`).
    public var drift: DriftReport?
    /// The drift between each consecutive pair of the period's snapshots (`drift/NNNN-MMMM.json`
    /// and `.html`), oldest pair first.
    public var pairDrifts: [DriftReport]
    /// The exceptions register in force (its exact bytes), if any.
    public var register: [UInt8]?
    /// Source snapshot files to include: (file name in the package, bytes).
    public var snapshots: [(name: String, bytes: [UInt8])]
    public var signingKey: Curve25519.Signing.PrivateKey?
    public var templates: TemplateSet
    /// The privileged-access register of every snapshot of the period, oldest snapshot first
    /// (`privileged.csv`).
    public var privileged: [PrivilegedPrincipal]

    /// The package member of each included source snapshot (`snapshots/NNNN-<file>`), by snapshot
    /// id: OSCAL's back matter links there.
    public var snapshotMembers: [Int: String]
    /// The source snapshots that were asked for but left out, with the reason (README.txt states
    /// them); nil when the source snapshots were not asked for (`--no-snapshots`).
    public var omittedSnapshots: [(id: Int, reason: String)]?

    public init(
      model: EvidenceModel, trend: TrendReport, drift: DriftReport?, pairDrifts: [DriftReport] = [], register: [UInt8]?,
      snapshots: [(name: String, bytes: [UInt8])], snapshotMembers: [Int: String] = [:], signingKey: Curve25519.Signing.PrivateKey?,
      templates: TemplateSet, privileged: [PrivilegedPrincipal] = [], omittedSnapshots: [(id: Int, reason: String)]? = nil
    ) {
      self.omittedSnapshots = omittedSnapshots
      self.model = model
      self.trend = trend
      self.drift = drift
      self.pairDrifts = pairDrifts
      self.snapshotMembers = snapshotMembers
      self.register = register
      self.snapshots = snapshots
      self.signingKey = signingKey
      self.templates = templates
      self.privileged = privileged
    }
  }

  public static let manifestName = "MANIFEST.sha256"
  public static let signatureName = "MANIFEST.sig"
  public static let publicKeyName = SigningKeys.publicKeyFileName

  /// The package's files in their fixed order (manifest and signature last).
  public static func files(_ inputs: Inputs) throws -> [ReportWriter.Output] {
    var files = try ReportRenderer.render(inputs.model, templates: inputs.templates)
    files.append(
      .init(
        name: "assessment-results.xml",
        bytes: OSCALAssessmentResults.render(inputs.model, trend: inputs.trend, snapshotMembers: inputs.snapshotMembers)))
    let css = inputs.drift == nil && inputs.pairDrifts.isEmpty ? "" : try inputs.templates.stylesheet()
    if let drift = inputs.drift {
      files.append(.init(name: "drift.json", bytes: Array((JSONWriter.pretty(drift.jsonValue) + "\n").utf8)))
      files.append(.init(name: "drift.html", bytes: DriftHTML.render(drift, stylesheet: css)))
    }
    for drift in inputs.pairDrifts {
      let name = pairDriftName(drift)
      files.append(.init(name: name + ".json", bytes: Array((JSONWriter.pretty(drift.jsonValue) + "\n").utf8)))
      files.append(.init(name: name + ".html", bytes: DriftHTML.render(drift, stylesheet: css)))
    }
    files.append(.init(name: "trend.csv", bytes: Array(CSV.trend(inputs.trend).utf8)))
    files.append(.init(name: "privileged.csv", bytes: Array(CSV.privileged(inputs.privileged).utf8)))
    if let register = inputs.register { files.append(.init(name: "exceptions.json", bytes: register)) }
    for s in inputs.snapshots { files.append(.init(name: "snapshots/" + s.name, bytes: s.bytes)) }
    if let key = inputs.signingKey {
      files.append(.init(name: publicKeyName, bytes: Array(SigningKeys.publicPEM(key.publicKey).utf8)))
    }
    files.insert(.init(name: "README.txt", bytes: Array(readme(inputs, files: ["README.txt"] + files.map(\.name)).utf8)), at: 0)
    let manifest = Array(Manifest.make(files).utf8)
    files.append(.init(name: manifestName, bytes: manifest))
    if let key = inputs.signingKey {
      files.append(.init(name: signatureName, bytes: [UInt8](try key.signature(for: manifest))))
    }
    return files
  }

  /// Writes `files` as a zip with fixed entry order, timestamps and permissions, atomically.
  public static func writeZip(_ files: [ReportWriter.Output], to target: URL, date: Timestamp) throws(PackageError) {
    let folder = target.deletingLastPathComponent()
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw PackageError(path: folder.path, message: "no such folder")
    }
    let temporary = folder.appendingPathComponent(".\(target.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
    try? FileManager.default.removeItem(at: temporary)
    do {
      let archive = try Archive(url: temporary, accessMode: .create)
      let modified = Date(timeIntervalSince1970: TimeInterval(max(date.epochSeconds, 315_532_800)))  // zip dates start in 1980
      for file in files {
        let data = Data(file.bytes)
        try archive.addEntry(
          with: file.name, type: .file, uncompressedSize: Int64(data.count), modificationDate: modified, permissions: 0o644,
          compressionMethod: .deflate
        ) { position, size in
          data.subdata(in: Int(position)..<Int(position) + size)
        }
      }
      try ReportWriter.moveIntoPlace(temporary, over: target)
    } catch let error as RenderError {
      try? FileManager.default.removeItem(at: temporary)
      throw PackageError(path: error.path, message: error.message)
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw PackageError(path: target.path, message: "cannot write the zip: \(fileErrorReason(error, path: target.path))")
    }
  }

  /// `Controls: ISO/IEC 27001:2022 A.8.2 Privileged access rights (no identity may hold ...), A.5.15
  /// Access control, A.8.3 Information access restriction.`: every control given a verdict, from the
  /// control catalog, the founding check's ``CheckDescription/controlObjective`` after its control.
  static func controlLine(_ m: EvidenceModel) -> String {
    let objective = m.foundingCheck?.controlObjective
    let founding = m.foundingControl?.id
    let controls = m.controlVerdicts.map { a in
      "\(a.control.id) \(a.control.title)" + (a.control.id == founding && objective != nil ? " (\(objective!))" : "")
    }
    return "Controls: \(ControlCatalog.bundled.framework) " + controls.joined(separator: ", ") + "."
  }

  /// `drift/0002-0003`: the member name (without extension) of the drift between two consecutive
  /// snapshots, after their ids.
  public static func pairDriftName(_ d: DriftReport) -> String {
    "drift/" + String(format: "%04d-%04d", d.from.id, d.to.id)
  }

  /// The verdicts: for the period (each control, then the snapshot verdicts it rests on, the state
  /// at the period's start first), then for the current state.
  static func verdictLines(_ m: EvidenceModel) -> [String] {
    var lines: [String] = []
    let period = m.periodVerdicts
    if !period.isEmpty {
      lines.append(
        "Verdicts for the period \(m.periodDescription) (a control is effective over the period only when every snapshot from its start to its end is; no-evidence when no snapshot gives the state at its start):"
      )
      for a in period { lines.append("  \(a.control.id) \(a.control.title): \(a.verdict.rawValue). \(a.explanation)") }
      // One line per snapshot with every control's verdict, the state at the start first.
      lines.append("Verdicts per snapshot (the state at the period's start first):")
      if !m.periodStartCovered, m.periodStart == nil {
        lines.append("  the period's start (\(m.periodFrom?.dateString ?? "?")): no snapshot at or before it, no evidence")
      }
      for (i, v) in (period.first?.snapshots ?? []).enumerated() {
        let verdicts = period.map { "\($0.control.id) \($0.snapshots[i].verdict?.rawValue ?? "not assessed")" }
        lines.append(
          "  snapshot \(v.snapshot.id) of \(v.snapshot.capturedAt.dateString)\(v.isPeriodStart ? " (before the period: the state at its start)" : ""): "
            + verdicts.joined(separator: ", "))
      }
    }
    lines.append("Verdicts for the current state (snapshot \(m.current.id)):")
    lines += m.controlVerdicts.map { "  \($0.control.id) \($0.control.title): \($0.verdict.rawValue)" }
    if m.isPeriod {
      var states: [FindingEndState: Int] = [:]
      for f in m.periodFindings { states[f.state, default: 0] += 1 }
      lines.append(
        "Findings seen in the period: \(m.periodFindings.count) ("
          + FindingEndState.allCases.map { "\(states[$0] ?? 0) \($0.label)" }.joined(separator: ", ")
          + " at its end); report.html, evidence.xml (periodFindings) and assessment-results.xml (the period's result) list each with its first and last sighting."
      )
    }
    return lines
  }

  /// What README.txt says of the source snapshots: left out on request (`--no-snapshots`), or which
  /// could not be included and why (the package never substitutes other bytes).
  static func sourceSnapshotLines(_ inputs: Inputs) -> [String] {
    guard let omitted = inputs.omittedSnapshots else {
      return ["Source snapshots: not included (--no-snapshots); their SHA-256 is in report.html's chain of custody."]
    }
    guard !omitted.isEmpty else { return [] }
    return ["Source snapshots not included (the SHA-256 of each is in report.html's chain of custody):"]
      + omitted.map { "  snapshot \($0.id): \($0.reason)" }
  }

  /// "Scope and limitations": what the evidence covers and what it does not, for the auditor to
  /// decide reliance on (``ScopeStatement``: the report, `evidence.xml` and OSCAL say the same).
  static func scopeLines(_ m: EvidenceModel) -> [String] {
    ["", "Scope and limitations", "---------------------"] + m.scopeStatement.lines
  }

  /// "Provenance": who took and loaded each snapshot (the state at the period's start first).
  static func provenanceLines(_ m: EvidenceModel) -> [String] {
    var lines = [
      "", "Provenance of the snapshots", "---------------------------",
      "Recorded by the tool at each ingest (ingest --operator, --caller-identity; the host, the OS user and the tool's build) and covered by the ledger. Confirm each capture in CloudTrail: the GetAccountAuthorizationDetails event of the caller ARN at the capture time (README of iam-evidence, \"Quarterly audit\").",
    ]
    for s in (m.periodStart.map { [$0] } ?? []) + m.snapshots {
      guard let p = m.provenance[s.id] else {
        lines.append("  snapshot \(s.id) (\(s.capturedAt.dateString)): provenance not recorded (ingested without it)")
        continue
      }
      let caller =
        p.callerIdentity.map { "exported with the credentials of \($0.arn) (caller identity \($0.source), SHA-256 \($0.sha256))" }
        ?? "no caller identity recorded"
      lines.append(
        "  snapshot \(s.id) (\(s.capturedAt.dateString)): \(caller); ingested at \(s.ingestedAt) by \(p.ingestedBy) with \(p.build.description)"
      )
    }
    return lines
  }

  /// "Access reviews": each review of the period's snapshots (reviewers, dates, decisions, signer) and
  /// the follow-up of the access marked revoke; the sign-off of the period's last snapshot.
  static func reviewLines(_ m: EvidenceModel) -> [String] {
    var lines = ["", "Access reviews", "--------------"]
    for e in m.reviews {
      let r = e.review
      let signed = r.signerFingerprint.map { "signed by the key of fingerprint \($0)" } ?? "unsigned"
      let what =
        r.rows.isEmpty
        ? "nothing to review (no privileged identity and no open finding), confirmed"
        : "\(r.rows.count) item(s): \(r.count(.keep)) keep, \(r.count(.revoke)) revoke, \(r.count(.exception)) exception"
      lines.append(
        "  review \(r.id) of snapshot \(e.snapshot.id) (\(e.snapshot.capturedAt.dateString)): reviewed by \(r.reviewers.joined(separator: ", ")) from \(r.firstReviewedOn) to \(r.lastReviewedOn); \(what); sheet \(r.sourceName), SHA-256 \(r.sheetSHA256), \(signed)"
      )
      for f in e.followUps {
        let seen = f.nextSnapshotID.map { " in snapshot \($0) (\(f.nextCapturedAt?.dateString ?? ""))" } ?? " (no later snapshot yet)"
        lines.append(
          "    follow-up of \(f.row.label), revoke by \(f.row.reviewer) on \(f.row.reviewedOn)\(f.row.ticket.isEmpty ? "" : ", ticket \(f.row.ticket)"): \(f.state.rawValue)\(seen)"
        )
      }
    }
    if m.currentReview == nil {
      lines.append("  No completed review of the period's last snapshot (snapshot \(m.current.id)).")
    }
    let review = m.currentReview?.review
    lines.append(
      "Sign-off of snapshot \(m.current.id): prepared by \(m.preparedBy ?? "(not recorded: to be signed by hand)"); reviewed by "
        + (review.map { "\($0.reviewers.joined(separator: ", ")) on \($0.lastReviewedOn) (review \($0.id))" }
          ?? "(no completed review: to be signed by hand)") + ".")
    return lines
  }

  static func readme(_ inputs: Inputs, files: [String]) -> String {
    let m = inputs.model
    let describe: [String: String] = [
      "README.txt": "this file",
      "report.html":
        "the audit report for people: the verdict on each control, scope and limitations, findings with remediation, the privileged access register, access reviews, exceptions, trend chart, population, methodology, chain of custody with each snapshot's provenance, sign-off (open in any browser; no scripts, no network; print it to get the document id and page numbers on every page)",
      "evidence.xml":
        "the canonical machine-readable evidence (whole population, findings, exceptions, access reviews, provenance, scope and limitations, history), valid against evidence.xsd",
      "evidence.xsd": "the XML Schema of evidence.xml (xmllint --noout --schema evidence.xsd evidence.xml)",
      ReportRenderer.populationCSVName:
        "the whole population of the current snapshot, one row per result (passes included): check and version, status, principal, policy, exception, finding key, for spreadsheets; report.html names it with its row count and SHA-256 when it lists a check's population only as counts",
      "assessment-results.xml": "the same assessment as NIST OSCAL 1.0.6 assessment-results",
      "drift.json":
        "what changed over the period, from the state at its start (the last snapshot before it, else its first snapshot) to its last snapshot (machine-readable); drift/ holds each consecutive pair",
      "drift.html": "the same drift for people, with statement-level policy differences",
      "trend.csv": "results per snapshot and check over the period, for spreadsheets",
      "privileged.csv":
        "the privileged access register of every snapshot of the period: one row per user or role holding a privileged capability (capabilities, escalation methods, sources, exceptions, role last used, privileged since), for spreadsheets",
      "exceptions.json": "the exceptions register the assessment applied",
      publicKeyName:
        "the Ed25519 public key that signed the manifest; do not trust it because it is here (whoever altered the package could have replaced it): compare its fingerprint with the one the sender gave you through another channel",
    ]
    var lines =
      [
        "IAM Evidence: auditor handoff package",
        "====================================",
        "",
        controlLine(m),
        "Account: \(m.account)",
        "Period: \(m.periodDescription)",
        "Snapshots in the period: \(m.snapshots.count) (current state: snapshot \(m.current.id), captured \(m.current.capturedAt))",
      ] + verdictLines(m) + [
        "Generated at \(m.generatedAt) by \(m.toolBuild.description).",
        "Document \(m.documentID) (report.html, evidence.xml and assessment-results.xml carry the same id; SHA-256 of the evidence it states: \(m.evidenceDigest)).",
      ]
    if let head = m.ledger.latest {
      lines.append(
        "Ledger chain head: \(head.head) (entry \(head.entry) of the database's hash chain over these snapshots' records; evidence.xml and report.html carry it too)."
      )
    }
    lines += sourceSnapshotLines(inputs) + scopeLines(m) + provenanceLines(m) + reviewLines(m)
    lines += [
      "",
      "Files",
      "-----",
    ]
    for name in files + [manifestName] + (inputs.signingKey == nil ? [] : [signatureName]) {
      let text: String
      if name.hasPrefix("drift/"), let d = inputs.pairDrifts.first(where: { name.hasPrefix(pairDriftName($0) + ".") }) {
        text =
          (name.hasSuffix(".json") ? "what changed" : "the same for people")
          + " between consecutive snapshots \(d.from.id) (\(d.from.capturedAt.dateString)) and \(d.to.id) (\(d.to.capturedAt.dateString))"
      } else if name.hasPrefix("snapshots/") {
        let start = m.periodStart.map { name.hasPrefix("snapshots/" + String(format: "%04d-", $0.id)) } ?? false
        text =
          "a source snapshot exactly as ingested\(start ? ", captured before the period (it gives the state at its start)" : "") (its SHA-256 is listed in report.html's chain of custody and in assessment-results.xml)"
      } else if name == manifestName {
        text = "SHA-256 of every other file except the signature (sha256sum format)"
      } else if name == signatureName {
        text = "Ed25519 signature of MANIFEST.sha256"
      } else {
        text = describe[name] ?? ""
      }
      lines.append("  \(name): \(text)")
    }
    lines += verificationSteps(signed: inputs.signingKey != nil)
    return lines.joined(separator: "\n") + "\n"
  }

  /// How the receiver verifies a package (README.txt's last part), with standard tools and with
  /// iam-evidence; `signed`: whether it holds a signature.
  static func verificationSteps(signed: Bool) -> [String] {
    var steps: [String] = []
    steps += [
      "",
      "How to verify (standard tools, no iam-evidence needed)",
      "------------------------------------------------------",
      "1. Unzip into an empty folder and check every file against the manifest:",
      "     sha256sum -c MANIFEST.sha256",
      "   Every line must say OK, and no file may be present that the manifest does not list",
      "   (apart from MANIFEST.sha256 and MANIFEST.sig).",
    ]
    if signed {
      steps += [
        "2. Check the signature of the manifest with the sender's public key (OpenSSL 3). Do not trust",
        "   iam-evidence.pub because it is in this package: whoever altered the package could have replaced",
        "   the key and signed again. First compare its fingerprint with the one the sender gave you through",
        "   another channel (in person, by telephone, in a signed letter):",
        "     openssl pkey -pubin -in iam-evidence.pub -outform DER | sha256sum",
        "   Only when the two fingerprints are equal, check the signature:",
        "     openssl pkeyutl -verify -pubin -inkey iam-evidence.pub -rawin -in MANIFEST.sha256 -sigfile MANIFEST.sig",
        "   It must print \"Signature Verified Successfully\". (Or use the public key file the sender gave you",
        "   through that channel instead of iam-evidence.pub.)",
        "3. Optionally validate the evidence: xmllint --noout --schema evidence.xsd evidence.xml",
        "",
        "With iam-evidence, with the public key obtained from the sender through another channel:",
        "  iam-evidence verify PACKAGE.zip --public-key SENDERS-KEY.pub",
      ]
    } else {
      steps += [
        "2. This package is not signed: the manifest proves integrity only if it reached you by a trusted channel.",
        "3. Optionally validate the evidence: xmllint --noout --schema evidence.xsd evidence.xml",
        "",
        "With iam-evidence: iam-evidence verify PACKAGE.zip",
      ]
    }
    return steps
  }
}

extension SigningKeys {
  /// The file name of the public key inside a package and from `keygen`.
  public static let publicKeyFileName = "iam-evidence.pub"
  /// The file name of the private key from `keygen`.
  public static let privateKeyFileName = "iam-evidence.key"
}

/// `MANIFEST.sha256` in `sha256sum` format: `<hex>  <name>`, one line per file, in package order.
public enum Manifest {
  public static func make(_ files: [ReportWriter.Output]) -> String {
    files.map { "\(SHA256.hash(data: $0.bytes).hexString)  \($0.name)\n" }.joined()
  }

  /// Parses a manifest; nil entries for malformed lines are reported by the caller.
  public static func parse(_ text: String) -> (entries: [(hash: String, name: String)], malformed: [Int]) {
    var entries: [(String, String)] = []
    var malformed: [Int] = []
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
      let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
      guard parts.count == 2, parts[0].count == 64, parts[0].allSatisfy(\.isHexDigit), parts[1].hasPrefix(" ") || parts[1].hasPrefix("*")
      else {
        malformed.append(i + 1)
        continue
      }
      entries.append((String(parts[0]).lowercased(), String(parts[1].dropFirst())))
    }
    return (entries, malformed)
  }
}
