import Crypto
import XMLTree

/// RFC 4122 name-based UUIDs, version 5 (SHA-1): the same namespace and name always give the same
/// UUID, so OSCAL documents built from the same evidence are byte-identical.
public enum UUIDv5 {
  /// The project's namespace for every UUID in its OSCAL output:
  /// `uuid5(NAMESPACE_URL, "urn:iam-evidence:oscal")`.
  public static let projectNamespace = "ff32d29a-24e3-5cc7-9a62-dc16b08748be"
  /// RFC 4122 appendix C `NameSpace_DNS`, for test vectors.
  public static let dnsNamespace = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"

  /// `uuid5(namespace, name)` in lower-case 8-4-4-4-12 form. `namespace` must be a UUID in that form
  /// (either case); `name` is hashed as UTF-8.
  public static func make(namespace: String, name: String) -> String {
    guard let ns = bytes(of: namespace) else { preconditionFailure("invalid namespace UUID \(namespace)") }
    var hash = Insecure.SHA1()
    hash.update(data: ns)
    hash.update(data: Array(name.utf8))
    var b = Array(hash.finalize().prefix(16))
    b[6] = (b[6] & 0x0F) | 0x50  // version 5
    b[8] = (b[8] & 0x3F) | 0x80  // variant 10xx (RFC 4122)
    let hex = b.hexString
    let cuts = [8, 12, 16, 20]
    var out = ""
    for (i, c) in hex.enumerated() {
      if cuts.contains(i) { out.append("-") }
      out.append(c)
    }
    return out
  }

  /// The 16 bytes of a UUID in 8-4-4-4-12 form, or nil.
  static func bytes(of uuid: String) -> [UInt8]? {
    let groups = uuid.split(separator: "-", omittingEmptySubsequences: false)
    guard groups.map(\.count) == [8, 4, 4, 4, 12] else { return nil }
    let hex = Array(groups.joined().utf8)
    var out: [UInt8] = []
    var i = 0
    while i < hex.count {
      guard let hi = nibble(hex[i]), let lo = nibble(hex[i + 1]) else { return nil }
      out.append(hi << 4 | lo)
      i += 2
    }
    return out
  }

  private static func nibble(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
  }
}

/// The evidence as a NIST OSCAL 1.0.6 **assessment-results** document (namespace
/// `http://csrc.nist.gov/ns/oscal/1.0`), valid against NIST's `oscal_assessment-results_schema.xsd`.
///
/// Layout:
/// - `metadata`: title, `last-modified` = the model's generation time, `version` = the tool's version,
///   `oscal-version` 1.0.6; one `role` (`prepared-by`) and one `party` of type `organization` named
///   `iam-evidence` standing for the tool (no human assessor is recorded), linked by a
///   `responsible-party`.
/// - `import-ap`: there is no OSCAL assessment plan, so `href` points (`#uuid`) at a back-matter
///   resource describing the methodology (every check's population and rules); `remarks` say so.
/// - One `result` per snapshot of the period, oldest first; `start` = `end` = its capture time (a
///   point-in-time collection). Every result has the tool as an assessment-platform component
///   (`type="software"`, referenced by observation and finding origins as an actor of type `tool`),
///   `reviewed-controls` selecting the checks' ISO/IEC 27001:2022 controls, one summary observation
///   (status counts per check, also as result `prop`s) and, when the snapshot was assessed, the
///   control-level finding for the primary control. Only the **current** snapshot (the latest) carries
///   per-subject detail, because the evidence model holds full results only for it:
///   - `local-definitions/inventory-item`: one per examined IAM principal or managed policy (`asset-id`
///     = ARN); observations refer to them as subjects of type `inventory-item`;
///   - one `observation` per result (check × subject, passes included: the whole population), method
///     `EXAMINE` (the policies are evaluated from the exported configuration, nothing is exercised
///     against AWS), `relevant-evidence` pointing at the snapshot's back-matter resource (its SHA-256);
///   - one `risk` per failing (`open`) or excepted (`deviation-approved`, `deadline` = end of the
///     exception's last day, a risk-log entry for the approval, the compensating control as a
///     mitigating factor) result, with the remediation as a `recommendation` response;
///   - one `finding` per non-pass result, targeting objective `<control>_obj.<check-id>`
///     (`not-satisfied`, reason `fail`, or `other` for evaluation errors).
/// - Control-level finding: target `statement-id` `a.8.2_smt`; `satisfied` unless the primary check has
///   failures (verdict `not-effective`) or errors (verdict `inconclusive`, reason `other`).
/// - Evidence of a period ends with **the period's own result** (`start`/`end` = the period's bounds):
///   an observation, a risk and a finding for every finding seen in any snapshot of the period (or in
///   the last snapshot before it, which gives the state at its start) with its first and last sighting
///   and its state at the period's end (risk `open`, `deviation-approved`, or `closed` once resolved),
///   and a control-level finding per control with its verdict over the period (``PeriodVerdict``):
///   `satisfied` only when every snapshot from the period's start to its end is effective, so never
///   beside an `open` risk of that control.
/// - `back-matter`: the methodology resource, one resource per snapshot (the state at the period's
///   start included; `rlink` to the package member `snapshots/NNNN-<file>` when the package includes
///   the snapshot, else to the source name; `hash algorithm="SHA-256"`), and the exceptions register
///   the current assessment used, if any.
///
/// Control ids: OSCAL control ids are tokens and lower case by convention, so ISO/IEC 27001:2022
/// `A.8.2` becomes `a.8.2` (see ``controlID(_:)``); each `control-selection` carries the original
/// label as a `label` prop. Property names the OSCAL core does not define carry
/// `ns="urn:iam-evidence:oscal"` (``propertyNamespace``).
///
/// UUIDs are version 5 (``UUIDv5``) under ``UUIDv5/projectNamespace``, named after what they identify
/// (`result|<snapshot sha256>`, `observation|<finding key>|<snapshot sha256>`, ...), so the output is
/// deterministic and a subject keeps its UUID across documents. Text from snapshots and the exceptions
/// register goes through `addText`/`setAttribute` only; values of OSCAL string types (props, names)
/// are folded onto one line, since the schema forbids line breaks and surrounding blanks there.
public enum OSCALAssessmentResults {
  public static let oscalVersion = "1.0.6"
  /// The `ns` of the tool's own property names.
  public static let propertyNamespace = "urn:iam-evidence:oscal"

  /// Builds the document (unvalidated: NIST's schema is not shipped with the tool; the tests validate).
  /// `snapshotMembers` names, by snapshot id, the package member holding a snapshot's source file
  /// (`snapshots/0003-<file>`): the back matter's `rlink` points there rather than at the path it was
  /// ingested from.
  public static func build(_ model: EvidenceModel, trend: TrendReport? = nil, snapshotMembers: [Int: String] = [:]) -> XMLDocument {
    Builder(model: model, trend: trend, snapshotMembers: snapshotMembers).build()
  }

  /// The document as indented UTF-8 XML.
  public static func render(_ model: EvidenceModel, trend: TrendReport? = nil, snapshotMembers: [Int: String] = [:]) -> [UInt8] {
    build(model, trend: trend, snapshotMembers: snapshotMembers).xmlBytes(indented: true)
  }

  /// The `scheme` of the metadata's `document-id` (``EvidenceModel/documentID``).
  public static let documentIDScheme = "urn:iam-evidence:document-id"

  /// The OSCAL control id (a token) for an ISO/IEC 27001 control id: `A.8.2` → `a.8.2`.
  public static func controlID(_ isoID: String) -> String {
    let token = isoID.lowercased().map { c -> Character in
      c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "-" || c == "_") ? c : "_"
    }
    let s = String(token)
    guard let first = s.first, first.isLetter || first == "_" else { return "c_" + s }
    return s
  }

  /// A UUID of this document: `uuid5(projectNamespace, parts joined by "|")`.
  static func uuid(_ parts: String...) -> String { uuid(parts) }

  static func uuid(_ parts: [String]) -> String {
    UUIDv5.make(namespace: UUIDv5.projectNamespace, name: parts.joined(separator: "|"))
  }

  /// A value for an OSCAL string type (`\S(.*\S)?`): blanks and line breaks folded into single
  /// spaces, trimmed; `-` when nothing is left.
  static func line(_ text: String) -> String {
    var out = ""
    var pendingSpace = false
    for scalar in text.unicodeScalars {
      if scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" {
        pendingSpace = !out.isEmpty
      } else {
        if pendingSpace { out.append(" ") }
        pendingSpace = false
        out.unicodeScalars.append(scalar)
      }
    }
    return out.isEmpty ? "-" : out
  }

  /// An OSCAL date-time with time zone. The schema accepts years 1900–2999 only: times outside are
  /// clamped (no real snapshot is affected).
  static func dateTime(_ t: Timestamp) -> String {
    let low: Int64 = -2_208_988_800  // 1900-01-01T00:00:00Z
    let high: Int64 = 32_503_680_000 - 1  // 2999-12-31T23:59:59Z
    if t.epochSeconds < low { return Timestamp(epochSeconds: low).description }
    if t.epochSeconds > high { return Timestamp(epochSeconds: high).description }
    if !t.fraction.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return Timestamp(epochSeconds: t.epochSeconds).description }
    return t.description
  }

  /// A relative URI reference for a file name: RFC 3986 unreserved characters and `/` kept, every
  /// other UTF-8 byte percent-encoded.
  static func uriReference(_ name: String, fallback: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for b in name.utf8 {
      switch b {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
        out.append(b)
      default:
        out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
      }
    }
    return out.isEmpty ? fallback : String(decoding: out, as: UTF8.self)
  }
}

/// Builds one document; holds the UUIDs shared between sections.
private struct Builder {
  let model: EvidenceModel
  let trend: TrendReport?
  let snapshotMembers: [Int: String]
  typealias O = OSCALAssessmentResults

  let partyUUID: String
  let methodologyUUID: String
  let registerUUID: String?
  /// Each check's primary control, by check id.
  let primaryControlOf: [String: String]
  /// The current snapshot's privileged-access register by inventory-item key (``entity(of:)``).
  let privileged: [String: PrivilegedPrincipal]

  init(model: EvidenceModel, trend: TrendReport?, snapshotMembers: [Int: String]) {
    self.model = model
    self.trend = trend
    self.snapshotMembers = snapshotMembers
    partyUUID = O.uuid("party", model.toolName)
    methodologyUUID = O.uuid("resource", "methodology", model.toolName, model.toolVersion)
    if let a = model.assessment, !a.exceptionsContent.isEmpty {
      registerUUID = O.uuid("resource", "exceptions", a.exceptionsSHA256)
    } else {
      registerUUID = nil
    }
    var primary: [String: String] = [:]
    for c in model.checks { if let id = c.primaryControl, primary[c.id] == nil { primary[c.id] = id } }
    primaryControlOf = primary
    privileged = Dictionary(
      model.privileged.map { (Self.principalEntity($0.principal).key, $0) }, uniquingKeysWith: { a, _ in a })
  }

  func snapshotResourceUUID(_ s: SnapshotRecord) -> String { O.uuid("resource", "snapshot", s.sha256) }
  func toolUUID(_ s: SnapshotRecord) -> String { O.uuid("component", "tool", model.toolName, s.sha256) }

  func build() -> XMLDocument {
    let doc = XMLDocument(rootElement: "assessment-results", namespaceURI: XMLNamespaces.oscal)
    let root = doc.rootElement!
    let period = [model.periodFrom?.description ?? "", model.periodTo?.description ?? ""]
    root.setAttribute(
      "uuid", O.uuid(["assessment-results", model.account] + period + (model.periodFrom == nil ? [model.current.sha256] : [])))
    metadata(root.addChild("metadata"))
    let importAP = root.addChild("import-ap")
    importAP.setAttribute("href", "#" + methodologyUUID)
    markup(
      importAP.addChild("remarks"),
      [
        "No OSCAL assessment plan exists for this automated assessment. The reference points at the back-matter resource describing the methodology: the checks, the population each examines, and the rules applied."
      ])
    for s in model.snapshots { result(root.addChild("result"), s) }
    if model.isPeriod { periodResult(root.addChild("result")) }
    backMatter(root.addChild("back-matter"))
    return doc
  }

  // MARK: Metadata

  func metadata(_ m: XMLElement) {
    let ids = model.controlVerdicts.map(\.control.id)
    let control = ControlCatalog.bundled.framework + (ids.isEmpty ? "" : " " + ids.joined(separator: ", "))
    m.addChild("title").addText("\(control): AWS IAM assessment results for account \(model.account), \(model.periodDescription)")
    m.addChild("last-modified").addText(O.dateTime(model.generatedAt))
    m.addChild("version").addText(O.line(model.toolVersion))
    m.addChild("oscal-version").addText(O.oscalVersion)
    let documentID = m.addChild("document-id")
    documentID.setAttribute("scheme", O.documentIDScheme)
    documentID.addText(model.documentID)
    prop(m, "aws-account-id", model.account)
    if let f = model.periodFrom { prop(m, "period-start", O.dateTime(f)) }
    if let t = model.periodTo { prop(m, "period-end", O.dateTime(t)) }
    prop(m, "generator", "\(model.toolName) \(model.toolVersion)")
    prop(m, "generator-source-sha256", model.toolBuild.sourceSHA256)
    prop(m, "evidence-digest", model.evidenceDigest)
    let reviewers = Array(Set(model.reviews.flatMap(\.review.reviewers))).sorted()
    O.people(
      m, toolName: model.toolName,
      toolRemarks: "Stands for the \(model.toolName) tool (version \(model.toolVersion)), which assessed the snapshots automatically."
        + (reviewers.isEmpty
          ? " No human assessor is recorded in the evidence."
          : " The access reviewers named in the imported review sheets are the other parties."),
      reviewers: reviewers, operators: model.operators
    ) { name in
      let ids = ((model.periodStart.map { [$0] } ?? []) + model.snapshots).filter { model.provenance[$0.id]?.operatorName == name }
      return "Named with ingest --operator as who took and ingested snapshot(s) \(ids.map { String($0.id) }.joined(separator: ", "))."
    }
    // Scope and limitations: the same statement as the report's section and the package's README.txt.
    markup(m.addChild("remarks"), ["Scope and limitations."] + model.scopeStatement.lines)
  }

  /// The access reviews of snapshot `s` as assessment-log entries: when, by whom, what was decided,
  /// and the follow-up of the access marked revoke.
  func reviewLog(_ parent: XMLElement, _ s: SnapshotRecord) {
    let reviews = model.reviews.filter { $0.snapshot.id == s.id }
    guard !reviews.isEmpty else { return }
    let log = parent.addChild("assessment-log")
    for e in reviews {
      let r = e.review
      let entry = log.addChild("entry")
      entry.setAttribute("uuid", O.uuid("assessment-log-entry", "review", String(r.id), r.sheetSHA256, s.sha256))
      entry.addChild("title").addText("Access review \(r.id) of snapshot \(s.id) (\(s.capturedAt.dateString))")
      let states = Dictionary(grouping: e.followUps, by: \.state).mapValues(\.count)
      markup(
        entry.addChild("description"),
        [
          r.isNothingToReview
            ? "Reviewed by \(r.reviewers.joined(separator: ", ")): nothing to review (the snapshot had no privileged identity and no open finding), confirmed on \(r.lastReviewedOn)."
            : "Reviewed by \(r.reviewers.joined(separator: ", ")): \(r.rows.count) item(s) of the privileged-access register and open findings; keep \(r.count(.keep)), revoke \(r.count(.revoke)), exception \(r.count(.exception)).",
          e.followUps.isEmpty
            ? "Nothing was marked revoke."
            : "Follow-up of the access marked revoke in the account's next snapshot: revoked \(states[.revoked] ?? 0), not revoked \(states[.notRevoked] ?? 0), pending \(states[.pending] ?? 0).",
        ])
      entry.addChild("start").addText(O.dateTime(Timestamp(parsing: r.firstReviewedOn) ?? s.capturedAt))
      entry.addChild("end").addText(O.dateTime(Timestamp(parsing: r.lastReviewedOn) ?? s.capturedAt))
      prop(entry, "review-id", String(r.id))
      prop(entry, "review-sheet-sha256", r.sheetSHA256)
      for d in ReviewDecision.allCases { prop(entry, "review-\(d.rawValue)", String(r.count(d))) }
      if let f = r.signerFingerprint { prop(entry, "review-signer-fingerprint", f) }
      for state in [FollowUpState.revoked, .notRevoked, .pending] { prop(entry, "follow-up-\(state.rawValue)", String(states[state] ?? 0)) }
      for name in r.reviewers {
        let by = entry.addChild("logged-by")
        by.setAttribute("party-uuid", O.reviewerUUID(name))
        by.setAttribute("role-id", "access-reviewer")
      }
      if !e.followUps.isEmpty {
        markup(
          entry.addChild("remarks"),
          e.followUps.map { f in
            let seen = f.nextSnapshotID.map { " in snapshot \($0) (\(f.nextCapturedAt?.dateString ?? ""))" } ?? ""
            return "\(f.row.label) (\(f.row.rowID)), revoke by \(f.row.reviewer) on \(f.row.reviewedOn)"
              + (f.row.ticket.isEmpty ? "" : ", ticket \(f.row.ticket)") + ": \(f.state.rawValue)\(seen)."
          })
      }
    }
  }

  // MARK: Results

  func result(_ r: XMLElement, _ s: SnapshotRecord) {
    let isCurrent = s.id == model.current.id
    let rows = model.history.filter { $0.snapshotID == s.id }
    let assessed = isCurrent || rows.contains(where: \.assessed)
    r.setAttribute("uuid", O.uuid("result", s.sha256))
    r.addChild("title").addText("Snapshot of \(s.capturedAt.dateString) (\(s.sourceName))\(isCurrent ? ", current state" : "")")
    markup(
      r.addChild("description"),
      [
        isCurrent
          ? "Results of the latest snapshot of the period: every examined subject with its observation, and a finding and a risk for every result that is not a pass."
          : "Summary of an earlier snapshot of the period: status counts per check and the control-level finding. Per-subject detail is given for the current snapshot only."
      ])
    r.addChild("start").addText(O.dateTime(s.capturedAt))
    r.addChild("end").addText(O.dateTime(s.capturedAt))
    prop(r, "snapshot-sha256", s.sha256)
    prop(r, "snapshot-id", String(s.id))
    prop(r, "current", isCurrent ? "yes" : "no")
    prop(r, "assessed", assessed ? "yes" : "no")
    if let c = model.privilegedCounts.first(where: { $0.snapshotID == s.id }), c.assessed {
      prop(r, "privileged-identities", String(c.count))
    }
    let counts = countsByCheck(s, rows: rows)
    for c in model.checks {
      for status in ResultStatus.allCases { prop(r, "count-\(status.rawValue)", String(counts[c.id]?[status] ?? 0), cls: c.id) }
    }
    if isCurrent, let trend {
      for g in trend.gaps { prop(r, "coverage-gap", "\(O.dateTime(g.from))/\(O.dateTime(g.to))", cls: "days-\(g.days)") }
    }

    let defs = r.addChild("local-definitions")
    var items: [String: String] = [:]  // entity key -> inventory-item uuid
    if isCurrent {
      for result in model.results {
        guard let entity = entity(of: result), items[entity.key] == nil else { continue }
        items[entity.key] = entity.uuid
        inventoryItem(defs.addChild("inventory-item"), entity)
      }
      // Every identity of the register has an item carrying its capabilities (one always has a
      // result; this keeps the register complete should a result list be missing).
      for p in model.privileged {
        let entity = Self.principalEntity(p.principal)
        guard items[entity.key] == nil else { continue }
        items[entity.key] = entity.uuid
        inventoryItem(defs.addChild("inventory-item"), entity)
      }
    }
    assessmentAssets(defs.addChild("assessment-assets"), s)

    reviewedControls(r.addChild("reviewed-controls"))
    reviewLog(r, s)

    // Observations: the snapshot summary, then (current) one per result.
    let summaryUUID = O.uuid("observation", "summary", s.sha256)
    summaryObservation(r.addChild("observation"), s, uuid: summaryUUID, counts: counts, assessed: assessed)
    var observationUUIDs: [String] = []
    var riskUUIDs: [String: String] = [:]
    let keys = isCurrent ? uniqueKeys(model.results) : []
    if isCurrent {
      for (result, key) in zip(model.results, keys) {
        let uuid = O.uuid("observation", key, s.sha256)
        observationUUIDs.append(uuid)
        observation(r.addChild("observation"), result, uuid: uuid, snapshot: s, itemUUID: entity(of: result).flatMap { items[$0.key] })
      }
      for ((result, key), obs) in zip(zip(model.results, keys), observationUUIDs)
      where result.status == .fail || result.status == .excepted {
        let uuid = O.uuid("risk", key, s.sha256)
        riskUUIDs[key] = uuid
        risk(r.addChild("risk"), result, uuid: uuid, key: key, observation: obs, snapshot: s)
      }
    }

    // Findings: one control-level finding per control given a verdict, then (current) one per
    // non-pass result.
    for assessment in assessed ? (model.controlVerdicts(snapshotID: s.id) ?? []) : [] {
      var related = [summaryUUID]
      var risks: [String] = []
      if isCurrent {
        for ((result, key), obs) in zip(zip(model.results, keys), observationUUIDs)
        where primaryControlOf[result.checkID] == assessment.control.id {
          related.append(obs)
          if let risk = riskUUIDs[key] { risks.append(risk) }
        }
      }
      controlFinding(r.addChild("finding"), s, assessment: assessment, observations: related, risks: risks)
    }
    if isCurrent {
      for ((result, key), obs) in zip(zip(model.results, keys), observationUUIDs) where result.status != .pass {
        finding(r.addChild("finding"), result, key: key, snapshot: s, observation: obs, risk: riskUUIDs[key])
      }
    }

    var remarks: [String] = []
    if !assessed { remarks.append("This snapshot was not assessed: it has no results, so no control-level findings are given.") }
    if isCurrent, let trend, !trend.gaps.isEmpty {
      for g in trend.gaps {
        remarks.append(
          "Coverage gap of \(g.days) days between \(g.from.description) and \(g.to.description): longer than the expected cadence of \(trend.cadenceDays) days."
        )
      }
    }
    if !remarks.isEmpty { markup(r.addChild("remarks"), remarks) }
  }

  /// Status counts per check: the current results, or the history rows of an earlier snapshot.
  func countsByCheck(_ s: SnapshotRecord, rows: [HistoryRow]) -> [String: StatusCounts] {
    var out: [String: StatusCounts] = [:]
    if s.id == model.current.id {
      for c in model.checks { out[c.id] = model.counts(of: c.id) }
    } else {
      for row in rows { out[row.checkID] = row.counts }
    }
    return out
  }

  func assessmentAssets(_ a: XMLElement, _ s: SnapshotRecord) {
    let tool = a.addChild("component")
    tool.setAttribute("uuid", toolUUID(s))
    tool.setAttribute("type", "software")
    tool.addChild("title").addText("\(model.toolName) \(model.toolVersion)")
    markup(
      tool.addChild("description"),
      ["Offline evaluator of AWS IAM authorization snapshots (get-account-authorization-details) against its check catalog."])
    prop(tool, "version", model.toolVersion, core: true)
    if s.id == model.current.id, let a = model.assessment {
      prop(tool, "assessed-at", O.dateTime(a.assessedAt))
      prop(tool, "assessed-with-version", O.line(a.toolVersion))
    }
    tool.addChild("status").setAttribute("state", "operational")
    let platform = a.addChild("assessment-platform")
    platform.setAttribute("uuid", O.uuid("assessment-platform", model.toolName, s.sha256))
    platform.addChild("title").addText(model.toolName)
    platform.addChild("uses-component").setAttribute("component-uuid", toolUUID(s))
  }

  func reviewedControls(_ rc: XMLElement) {
    markup(
      rc.addChild("description"),
      [
        "Controls of \(ControlCatalog.bundled.framework) the checks map to. Each control that is the primary control of some check gets a control-level finding per snapshot (and, for a period, one over the period in the period's result): "
          + model.controlVerdicts.map(\.control.id).joined(separator: ", ") + "."
      ])
    let sel = rc.addChild("control-selection")
    for c in model.controls { prop(sel, "label", "\(ControlCatalog.bundled.framework) \(c.id)", cls: O.controlID(c.id), core: true) }
    for c in model.controls { sel.addChild("include-control").setAttribute("control-id", O.controlID(c.id)) }
    markup(
      sel.addChild("remarks"),
      model.controls.map { "\(O.controlID($0.id)) is \(ControlCatalog.bundled.framework) Annex A \($0.id) \($0.title): \($0.description)" }
        + ["OSCAL control ids are tokens, lower case by convention; no OSCAL catalog of ISO/IEC 27001 is imported."])
  }

  func origin(_ parent: XMLElement, _ s: SnapshotRecord) {
    let actor = parent.addChild("origin").addChild("actor")
    actor.setAttribute("type", "tool")
    actor.setAttribute("actor-uuid", toolUUID(s))
  }

  func relevantEvidence(_ o: XMLElement, _ s: SnapshotRecord) {
    let ev = o.addChild("relevant-evidence")
    ev.setAttribute("href", "#" + snapshotResourceUUID(s))
    markup(ev.addChild("description"), ["Snapshot \(s.sourceName) captured at \(s.capturedAt.description), SHA-256 \(s.sha256)."])
    prop(ev, "snapshot-sha256", s.sha256)
  }

  func summaryObservation(_ o: XMLElement, _ s: SnapshotRecord, uuid: String, counts: [String: StatusCounts], assessed: Bool) {
    o.setAttribute("uuid", uuid)
    o.addChild("title").addText("Status counts of the snapshot of \(s.capturedAt.dateString)")
    markup(
      o.addChild("description"),
      assessed
        ? model.checks.map { c in
          let n = counts[c.id] ?? StatusCounts()
          return "\(c.id): \(n.fail) fail, \(n.excepted) excepted, \(n.error) error, \(n.pass) pass (\(n.total) examined)."
        } : ["The snapshot was not assessed."])
    o.addChild("method").addText("EXAMINE")
    o.addChild("type").addText("control-objective")
    origin(o, s)
    relevantEvidence(o, s)
    o.addChild("collected").addText(O.dateTime(s.capturedAt))
  }

  // MARK: Subjects

  struct Entity {
    var key: String
    var uuid: String
    var kind: String
    var name: String
    var arn: String?
    var id: String?
    var label: String
  }

  /// The IAM entity a result is about: its principal, else its (managed) policy.
  func entity(of r: CheckResult) -> Entity? {
    if let p = r.principal { return Self.principalEntity(p) }
    if let p = r.policy {
      let key = "policy|\(p.kind.rawValue)|\(p.arn ?? p.name)"
      return Entity(
        key: key, uuid: O.uuid("inventory-item", key), kind: "\(p.kind.rawValue)-policy", name: p.name, arn: p.arn, id: nil,
        label: p.arn.map { "managed policy \($0)" } ?? "\(p.kind.rawValue) policy \(p.name)")
    }
    return nil
  }

  /// The inventory-item identity of a principal.
  static func principalEntity(_ p: PrincipalRef) -> Entity {
    let key = "principal|\(p.arn)|\(p.id)"
    return Entity(
      key: key, uuid: O.uuid("inventory-item", key), kind: p.type.rawValue, name: p.name, arn: p.arn, id: p.id.isEmpty ? nil : p.id,
      label: "\(p.type.rawValue) \(p.name)")
  }

  func inventoryItem(_ i: XMLElement, _ e: Entity) {
    i.setAttribute("uuid", e.uuid)
    var description = ["IAM \(e.label)" + (e.arn.map { " (\($0))" } ?? "") + "."]
    let register = privileged[e.key]
    if let register {
      description.append(
        "In the privileged access register: \(register.capabilities.joined(separator: ", ")), without interruption since \(register.privilegedSince.description)."
      )
    }
    markup(i.addChild("description"), description)
    if let arn = e.arn { prop(i, "asset-id", arn, core: true) }
    prop(i, "iam-entity-type", e.kind)
    prop(i, "iam-name", e.name)
    if let id = e.id { prop(i, "iam-id", id) }
    guard let register else { return }
    // The register entry: its capabilities, escalation methods, exceptions, role use and run start.
    for code in register.capabilities { prop(i, "privileged-capability", code) }
    for m in register.methods { prop(i, "escalation-method", m, cls: "escalation") }
    for x in register.exceptions { prop(i, "privilege-exception-id", x.exception.id, cls: O.controlID(x.capability)) }
    if let used = register.lastUsed { prop(i, "role-last-used", used.date.map(O.dateTime) ?? "never") }
    prop(i, "privileged-since", O.dateTime(register.privilegedSince))
  }

  /// A short label of a result's subject: principal and policy.
  func subjectLabel(_ r: CheckResult) -> String {
    var parts: [String] = []
    if let p = r.principal { parts.append("\(p.type.rawValue) \(p.name)") }
    if let p = r.policy {
      switch p.kind {
      case .inline: parts.append("inline policy \(p.name)")
      case .managed: parts.append("managed policy \(p.arn ?? p.name)" + (p.versionID.map { " \($0)" } ?? ""))
      }
    }
    return parts.isEmpty ? "account \(model.account)" : parts.joined(separator: " / ")
  }

  /// Finding keys made unique within the snapshot (a repeated key gets `#2`, `#3`...), in order.
  func uniqueKeys(_ results: [CheckResult]) -> [String] {
    var seen: [String: Int] = [:]
    return results.map { r in
      let n = (seen[r.findingKey] ?? 0) + 1
      seen[r.findingKey] = n
      return n == 1 ? r.findingKey : "\(r.findingKey)#\(n)"
    }
  }

  func checkTitle(_ id: String) -> String { model.checks.first { $0.id == id }?.title ?? id }

  // MARK: Per-result detail

  func observation(_ o: XMLElement, _ r: CheckResult, uuid: String, snapshot s: SnapshotRecord, itemUUID: String?) {
    o.setAttribute("uuid", uuid)
    o.addChild("title").addText("\(r.checkID) on \(subjectLabel(r)): \(r.status.rawValue)")
    markup(o.addChild("description"), [r.why])
    resultProps(o, r)
    o.addChild("method").addText("EXAMINE")
    o.addChild("type").addText("control-objective")
    origin(o, s)
    if let itemUUID {
      let subject = o.addChild("subject")
      subject.setAttribute("subject-uuid", itemUUID)
      subject.setAttribute("type", "inventory-item")
      subject.addChild("title").addText(subjectLabel(r))
    }
    relevantEvidence(o, s)
    o.addChild("collected").addText(O.dateTime(s.capturedAt))
    guard !r.notes.isEmpty || !r.offendingStatements.isEmpty || !r.sources.isEmpty else { return }
    let remarks = o.addChild("remarks")
    for n in r.notes { remarks.addChild("p").addText("\(n.code): \(n.message)") }
    for (index, statement) in zip(r.statements, r.offendingStatements) {
      remarks.addChild("p").addText("Offending statement \(index):")
      remarks.addChild("pre").addText(JSONWriter.pretty(statement))
    }
    for g in r.sources { remarks.addChild("p").addText("Grant source: \(g.label)") }
  }

  func resultProps(_ e: XMLElement, _ r: CheckResult) {
    prop(e, "check-id", r.checkID)
    prop(e, "check-version", String(r.checkVersion))
    prop(e, "result-status", r.status.rawValue)
    prop(e, "finding-key", r.findingKey)
    if let p = r.principal {
      prop(e, "principal-type", p.type.rawValue)
      prop(e, "principal-arn", p.arn)
    }
    if let p = r.policy {
      prop(e, "policy-kind", p.kind.rawValue)
      prop(e, "policy-name", p.name)
      if let arn = p.arn { prop(e, "policy-arn", arn) }
      if let v = p.versionID { prop(e, "policy-version", v) }
      if !p.documentSHA256.isEmpty { prop(e, "policy-document-sha256", p.documentSHA256) }
    }
    for reason in r.reasons { prop(e, "reason", reason) }
    for p in r.attachedTo { prop(e, "attached-to", p.arn, cls: p.type.rawValue) }
    for p in r.inheritedBy { prop(e, "inherited-by", p.arn, cls: p.type.rawValue) }
    for p in r.boundaryOf { prop(e, "permissions-boundary-of", p.arn, cls: p.type.rawValue) }
    if let x = r.exception { prop(e, "exception-id", x.id) }
    for c in r.coveringExceptions { prop(e, "covering-exception", "\(c.exception.id) covers \(c.source.label)") }
  }

  func risk(_ k: XMLElement, _ r: CheckResult, uuid: String, key: String, observation: String, snapshot s: SnapshotRecord) {
    let check = model.checks.first { $0.id == r.checkID }
    let exception = r.exception
    let register = exception.flatMap { x in model.exceptions.first { $0.exception.id == x.id }?.exception }
    k.setAttribute("uuid", uuid)
    k.addChild("title").addText("\(checkTitle(r.checkID)): \(subjectLabel(r))")
    markup(k.addChild("description"), [check?.rationale ?? r.why])
    markup(k.addChild("statement"), [r.why])
    prop(k, "check-id", r.checkID)
    prop(k, "finding-key", r.findingKey)
    if let x = exception {
      prop(k, "exception-id", x.id)
      prop(k, "approved-by", x.approvedBy)
      prop(k, "expires-on", x.expiresOn)
      if let t = register?.ticket { prop(k, "ticket", t) }
    }
    if exception != nil, let registerUUID {
      let link = k.addChild("link")
      link.setAttribute("href", "#" + registerUUID)
      link.setAttribute("rel", "reference")
      link.addChild("text").addText("Exceptions register")
    }
    k.addChild("status").addText(r.status == .excepted ? "deviation-approved" : "open")
    origin(k, s)
    if let compensating = register?.compensatingControl {
      let m = k.addChild("mitigating-factor")
      m.setAttribute("uuid", O.uuid("mitigating-factor", key, s.sha256))
      markup(m.addChild("description"), ["Compensating control: \(compensating)"])
    }
    if let x = exception { k.addChild("deadline").addText(deadline(x.expiresOn, register: register)) }

    let fix = k.addChild("response")
    fix.setAttribute("uuid", O.uuid("response", "remediation", key, s.sha256))
    fix.setAttribute("lifecycle", "recommendation")
    fix.addChild("title").addText("Remediation")
    let d = fix.addChild("description")
    if r.remediation.isEmpty {
      d.addChild("p").addText(check?.remediation ?? "Remove or narrow the grant the finding describes.")
    } else {
      let list = d.addChild("ol")
      for step in r.remediation { list.addChild("li").addText(step) }
    }
    if let x = exception {
      let planned = k.addChild("response")
      planned.setAttribute("uuid", O.uuid("response", "exception", key, x.id, s.sha256))
      planned.setAttribute("lifecycle", "planned")
      planned.addChild("title").addText("Remediate before exception \(x.id) expires")
      var text = [
        "Exception \(x.id), approved by \(x.approvedBy)" + (register.map { " on \($0.approvedOn.dateString)" } ?? "")
          + ", is in force through \(x.expiresOn)."
      ]
      if let register { text.append("Justification: \(register.justification)") }
      markup(planned.addChild("description"), text)
      prop(planned, "exception-id", x.id)
      prop(planned, "approved-by", x.approvedBy)
    }
    if let x = exception, let register {
      let log = k.addChild("risk-log").addChild("entry")
      log.setAttribute("uuid", O.uuid("risk-log-entry", key, x.id, s.sha256))
      log.addChild("title").addText("Exception \(x.id) approved by \(x.approvedBy)")
      markup(log.addChild("description"), [register.justification])
      log.addChild("start").addText(O.dateTime(register.approvedOn))
      log.addChild("end").addText(deadline(x.expiresOn, register: register))
      log.addChild("status-change").addText("deviation-approved")
    }
    k.addChild("related-observation").setAttribute("observation-uuid", observation)
  }

  /// The end of an exception's last day in force (`YYYY-MM-DDT23:59:59Z`).
  func deadline(_ expiresOn: String, register: PolicyException?) -> String {
    let day = register?.expiresOn ?? Timestamp(parsing: expiresOn) ?? model.current.capturedAt
    let start = day.epochSeconds - ((day.epochSeconds % 86_400) + 86_400) % 86_400
    return O.dateTime(Timestamp(epochSeconds: start + 86_399))
  }

  func finding(_ f: XMLElement, _ r: CheckResult, key: String, snapshot s: SnapshotRecord, observation: String, risk: String?) {
    let check = model.checks.first { $0.id == r.checkID }
    let control = check?.primaryControl ?? model.foundingControl?.id ?? "unmapped"
    f.setAttribute("uuid", O.uuid("finding", key, s.sha256))
    f.addChild("title").addText("\(checkTitle(r.checkID)): \(subjectLabel(r)) (\(r.status.rawValue))")
    markup(f.addChild("description"), [r.why])
    prop(f, "check-id", r.checkID)
    prop(f, "result-status", r.status.rawValue)
    prop(f, "finding-key", r.findingKey)
    if let life = model.periodFindings.first(where: { $0.identity == r.findingIdentity })?.lifetime
      ?? trend?.findings.first(where: { $0.key == r.findingIdentity })
    {
      prop(f, "first-seen", O.dateTime(life.firstSeen))
      prop(f, "days-open", String(life.daysOpen))
    }
    origin(f, s)
    let target = f.addChild("target")
    target.setAttribute("type", "objective-id")
    target.setAttribute("target-id", "\(O.controlID(control))_obj.\(O.controlID(r.checkID))")
    target.addChild("title").addText("\(ControlCatalog.bundled.framework) \(control), as tested by check \(r.checkID)")
    let status = target.addChild("status")
    status.setAttribute("state", "not-satisfied")
    status.setAttribute("reason", r.status == .error ? "other" : "fail")
    f.addChild("related-observation").setAttribute("observation-uuid", observation)
    if let risk { f.addChild("associated-risk").setAttribute("risk-uuid", risk) }
    switch r.status {
    case .excepted:
      if let x = r.exception {
        markup(f.addChild("remarks"), ["Excepted by \(x.id), approved by \(x.approvedBy), in force through \(x.expiresOn)."])
      }
    case .error:
      markup(f.addChild("remarks"), ["The subject could not be evaluated; the evidence for it is incomplete."])
    case .fail, .pass:
      break
    }
  }

  /// The control-level finding of one control: `satisfied` when its verdict is effective, else
  /// `not-satisfied` (reason `fail`, or `other` when no primary check fails but one has errors).
  func controlFinding(_ f: XMLElement, _ s: SnapshotRecord, assessment a: ControlAssessment, observations: [String], risks: [String]) {
    let control = a.control
    let verdict = a.verdict
    let total = a.total
    f.setAttribute("uuid", O.uuid("finding", "control", control.id, s.sha256))
    f.addChild("title").addText("\(ControlCatalog.bundled.framework) \(control.id) \(control.title)")
    markup(
      f.addChild("description"),
      [control.description]
        + a.checks.map { c in
          "\(c.id == a.foundingCheck ? "Founding test" : "Primary check") \(c.id) (\(checkTitle(c.id))): \(c.counts.fail) fail, \(c.counts.excepted) excepted, \(c.counts.error) error, \(c.counts.pass) pass."
        } + ["Verdict: \(verdict.rawValue)."])
    prop(f, "verdict", verdict.rawValue)
    for c in a.checks { prop(f, "primary-check", c.id, cls: c.id == a.foundingCheck ? "founding" : nil) }
    for status in ResultStatus.allCases { prop(f, "count-\(status.rawValue)", String(total[status]), cls: O.controlID(control.id)) }
    origin(f, s)
    let target = f.addChild("target")
    target.setAttribute("type", "statement-id")
    target.setAttribute("target-id", "\(O.controlID(control.id))_smt")
    target.addChild("title").addText("\(ControlCatalog.bundled.framework) \(control.id) \(control.title)")
    let status = target.addChild("status")
    status.setAttribute("state", verdict == .effective ? "satisfied" : "not-satisfied")
    status.setAttribute("reason", verdict == .effective ? "pass" : (verdict == .notEffective ? "fail" : "other"))
    if verdict == .error {
      markup(
        status.addChild("remarks"), ["No failures, but some subjects could not be evaluated: the control cannot be shown to be satisfied."])
    }
    for o in observations { f.addChild("related-observation").setAttribute("observation-uuid", o) }
    for r in risks { f.addChild("associated-risk").setAttribute("risk-uuid", r) }
  }

  // MARK: The period

  /// The period's own result (evidence of a period only): `start` and `end` are the period's bounds.
  /// It holds one observation, one risk and one finding per finding seen in any snapshot of the period
  /// (or in the last snapshot before it, which gives the state at its start), with its first and last
  /// sighting and its state at the period's end (risk `open`, `deviation-approved` when excepted,
  /// `closed` when resolved or ended by a check version change), and one control-level finding per
  /// control with its verdict over the period: `satisfied` only when every snapshot from the period's
  /// start to its end is effective, which leaves no `open` risk of that control beside it.
  func periodResult(_ r: XMLElement) {
    guard let from = model.periodFrom, let to = model.periodTo else { return }
    let bounds = [from.description, to.description]
    r.setAttribute("uuid", O.uuid(["result", "period", model.account] + bounds))
    r.addChild("title").addText("The period \(model.periodDescription)")
    markup(
      r.addChild("description"),
      [
        "Every finding seen in any snapshot of the period\(model.periodStart == nil ? "" : " or in the last snapshot before it (snapshot \(model.periodStart!.id), which gives the state at the period's start)"), with its first and last sighting and its state at the period's end, and each control's verdict over the period."
      ])
    r.addChild("start").addText(O.dateTime(from))
    r.addChild("end").addText(O.dateTime(max(to, from)))
    prop(r, "period", "yes")
    prop(r, "snapshots-in-period", String(model.snapshots.count))
    prop(r, "period-start-covered", model.periodStartCovered ? "yes" : "no")
    if let start = model.periodStart { prop(r, "period-start-snapshot-id", String(start.id)) }
    prop(r, "period-findings", String(model.periodFindings.count))
    for state in FindingEndState.allCases {
      prop(r, "period-findings-\(state.rawValue)", String(model.periodFindings.filter { $0.state == state }.count))
    }
    let toolKey = ["period", model.account] + bounds
    let defs = r.addChild("local-definitions")
    let assets = defs.addChild("assessment-assets")
    let tool = assets.addChild("component")
    let toolID = O.uuid(["component", "tool", model.toolName] + toolKey)
    tool.setAttribute("uuid", toolID)
    tool.setAttribute("type", "software")
    tool.addChild("title").addText("\(model.toolName) \(model.toolVersion)")
    markup(
      tool.addChild("description"),
      ["Offline evaluator of AWS IAM authorization snapshots (get-account-authorization-details) against its check catalog."])
    prop(tool, "version", model.toolVersion, core: true)
    tool.addChild("status").setAttribute("state", "operational")
    let platform = assets.addChild("assessment-platform")
    platform.setAttribute("uuid", O.uuid(["assessment-platform", model.toolName] + toolKey))
    platform.addChild("title").addText(model.toolName)
    platform.addChild("uses-component").setAttribute("component-uuid", toolID)
    reviewedControls(r.addChild("reviewed-controls"))

    func origin(_ parent: XMLElement) {
      let actor = parent.addChild("origin").addChild("actor")
      actor.setAttribute("type", "tool")
      actor.setAttribute("actor-uuid", toolID)
    }
    let known = (model.periodStart.map { [$0] } ?? []) + model.snapshots
    var observations: [String: String] = [:]  // identity -> observation uuid
    var risks: [String: String] = [:]  // identity -> risk uuid
    for f in model.periodFindings {
      let o = r.addChild("observation")
      let uuid = O.uuid(["observation", "period", f.identity] + bounds)
      observations[f.identity] = uuid
      o.setAttribute("uuid", uuid)
      o.addChild("title").addText("\(f.checkID) on \(subjectLabel(f.result)): \(f.state.rawValue) at the period's end")
      markup(o.addChild("description"), [f.result.why, sightings(f)])
      periodProps(o, f)
      o.addChild("method").addText("EXAMINE")
      o.addChild("type").addText("finding")
      origin(o)
      if let s = known.first(where: { $0.id == f.lifetime.lastSnapshotID }) { relevantEvidence(o, s) }
      o.addChild("collected").addText(O.dateTime(f.lifetime.lastSeen))
    }
    for f in model.periodFindings {
      let k = r.addChild("risk")
      let uuid = O.uuid(["risk", "period", f.identity] + bounds)
      risks[f.identity] = uuid
      k.setAttribute("uuid", uuid)
      k.addChild("title").addText("\(checkTitle(f.checkID)): \(subjectLabel(f.result))")
      markup(k.addChild("description"), [model.checks.first { $0.id == f.checkID }?.rationale ?? f.result.why])
      markup(k.addChild("statement"), [f.result.why, sightings(f)])
      periodProps(k, f)
      k.addChild("status").addText(Self.riskStatus(f.state))
      origin(k)
      k.addChild("related-observation").setAttribute("observation-uuid", observations[f.identity]!)
    }
    for a in model.periodVerdicts {
      let mine = model.periodFindings.filter { primaryControlOf[$0.checkID] == a.control.id }
      periodControlFinding(
        r.addChild("finding"), a, bounds: bounds, observations: mine.map { observations[$0.identity]! },
        risks: mine.map { risks[$0.identity]! }, origin: origin)
    }
    for f in model.periodFindings {
      let finding = r.addChild("finding")
      let control = primaryControlOf[f.checkID] ?? model.foundingControl?.id ?? "unmapped"
      finding.setAttribute("uuid", O.uuid(["finding", "period", f.identity] + bounds))
      finding.addChild("title").addText("\(checkTitle(f.checkID)): \(subjectLabel(f.result)) (\(f.state.label) at the period's end)")
      markup(finding.addChild("description"), [f.result.why, sightings(f)])
      periodProps(finding, f)
      origin(finding)
      let target = finding.addChild("target")
      target.setAttribute("type", "objective-id")
      target.setAttribute("target-id", "\(O.controlID(control))_obj.\(O.controlID(f.checkID))")
      target.addChild("title").addText("\(ControlCatalog.bundled.framework) \(control), as tested by check \(f.checkID)")
      // Over the period the objective was not met while the finding was open, whatever its end.
      let status = target.addChild("status")
      status.setAttribute("state", "not-satisfied")
      status.setAttribute("reason", f.state == .error ? "other" : "fail")
      finding.addChild("related-observation").setAttribute("observation-uuid", observations[f.identity]!)
      finding.addChild("associated-risk").setAttribute("risk-uuid", risks[f.identity]!)
    }
    var remarks: [String] = []
    if !model.periodStartCovered {
      remarks.append(
        "No snapshot gives the state at the period's start (\(from.description)): none was captured then, and the database holds no assessed snapshot before it. No control can be shown effective over the whole period."
      )
    }
    if let trend, !trend.gaps.isEmpty {
      remarks.append("Coverage gaps longer than the expected cadence of \(trend.cadenceDays) days: see the current snapshot's result.")
    }
    if !remarks.isEmpty { markup(r.addChild("remarks"), remarks) }
  }

  /// `open` (still failing, or not evaluable), `deviation-approved` (excepted) or `closed` (resolved,
  /// or ended by a check version change) at the period's end.
  static func riskStatus(_ state: FindingEndState) -> String {
    switch state {
    case .open, .error: return "open"
    case .excepted: return "deviation-approved"
    case .resolved, .endedByVersionChange: return "closed"
    }
  }

  /// `First seen 2024-04-30 (snapshot 2), last seen 2024-04-30 (snapshot 2); resolved by 2024-05-31.`
  func sightings(_ f: PeriodFinding) -> String {
    let l = f.lifetime
    var text =
      "First seen \(l.firstSeen.description) (snapshot \(l.firstSnapshotID)), last seen \(l.lastSeen.description) (snapshot \(l.lastSnapshotID)); at the period's end: \(f.state.label)"
    if let at = l.resolvedAt, f.state == .resolved { text += " (no longer found at \(at.description))" }
    if let at = l.endedByVersionChange, f.state == .endedByVersionChange { text += " (at \(at.description))" }
    return text + "."
  }

  func periodProps(_ e: XMLElement, _ f: PeriodFinding) {
    prop(e, "check-id", f.checkID)
    prop(e, "finding-identity", f.identity)
    prop(e, "first-seen", O.dateTime(f.lifetime.firstSeen))
    prop(e, "last-seen", O.dateTime(f.lifetime.lastSeen))
    prop(e, "first-snapshot-id", String(f.lifetime.firstSnapshotID))
    prop(e, "last-snapshot-id", String(f.lifetime.lastSnapshotID))
    prop(e, "state-at-period-end", f.state.rawValue)
    if let at = f.lifetime.resolvedAt, f.state == .resolved { prop(e, "resolved-at", O.dateTime(at)) }
    prop(e, "last-seen-status", f.result.status.rawValue)
    if let x = f.result.exception { prop(e, "exception-id", x.id) }
  }

  /// One control's verdict over the period: `satisfied` only when it is effective in every snapshot
  /// from the period's start to its end; else `not-satisfied` (reason `fail` when some snapshot is
  /// not effective, `other` when some could not be evaluated or the start is not covered).
  func periodControlFinding(
    _ f: XMLElement, _ a: ControlPeriodAssessment, bounds: [String], observations: [String], risks: [String],
    origin: (XMLElement) -> Void
  ) {
    let control = a.control
    f.setAttribute("uuid", O.uuid(["finding", "control", "period", control.id] + bounds))
    f.addChild("title").addText("\(ControlCatalog.bundled.framework) \(control.id) \(control.title), over the period")
    markup(
      f.addChild("description"),
      [control.description]
        + a.snapshots.map { v in
          "Snapshot \(v.snapshot.id) of \(v.snapshot.capturedAt.dateString)\(v.isPeriodStart ? " (the state at the period's start)" : ""): \(v.verdict?.rawValue ?? "not assessed")."
        } + ["Verdict over the period: \(a.verdict.rawValue). \(a.explanation)"])
    prop(f, "period-verdict", a.verdict.rawValue)
    for v in a.snapshots {
      prop(f, "snapshot-verdict", v.verdict?.rawValue ?? "not-assessed", cls: "snapshot-\(v.snapshot.id)")
    }
    prop(f, "period-start-covered", a.startCovered ? "yes" : "no")
    origin(f)
    let target = f.addChild("target")
    target.setAttribute("type", "statement-id")
    target.setAttribute("target-id", "\(O.controlID(control.id))_smt")
    target.addChild("title").addText("\(ControlCatalog.bundled.framework) \(control.id) \(control.title)")
    let status = target.addChild("status")
    status.setAttribute("state", a.verdict == .effective ? "satisfied" : "not-satisfied")
    status.setAttribute("reason", a.verdict == .effective ? "pass" : (a.verdict == .notEffective ? "fail" : "other"))
    if a.verdict == .error || a.verdict == .noEvidence { markup(status.addChild("remarks"), [a.explanation]) }
    for o in observations { f.addChild("related-observation").setAttribute("observation-uuid", o) }
    for r in risks { f.addChild("associated-risk").setAttribute("risk-uuid", r) }
  }

  // MARK: Back matter

  func backMatter(_ b: XMLElement) {
    let m = b.addChild("resource")
    m.setAttribute("uuid", methodologyUUID)
    m.addChild("title").addText("Assessment methodology of \(model.toolName) \(model.toolVersion)")
    let d = m.addChild("description")
    for c in model.checks {
      d.addChild("h2").addText("\(c.id) (version \(c.version))\(c.isPrimary ? ", founding test" : ""): \(c.title)")
      d.addChild("p").addText("Controls: \(c.controls.joined(separator: ", ")) (the first is primary). Population: \(c.population)")
      if let target = c.target {
        let n = model.actionCatalog?.targetSizes[c.id].map { " (\($0) actions of the action catalog)" } ?? ""
        d.addChild("p").addText("Actions examined: \(target.description)\(n).")
      }
      if !c.references.isEmpty { d.addChild("p").addText("References: \(c.references.map(\.label).joined(separator: "; ")).") }
      let rules = d.addChild("ul")
      for rule in c.methodology { rules.addChild("li").addText(rule) }
    }
    if let catalog = model.actionCatalog {
      d.addChild("h2").addText("Action catalog")
      d.addChild("p").addText(
        "\"Every action\" means every action of the action catalog shipped with the tool: \(catalog.description) (\(catalog.source.source); licence \(catalog.source.licence))."
      )
    }
    for c in model.checks { prop(m, "check", "\(c.id)@\(c.version)", cls: c.isPrimary ? "primary" : "supporting") }
    markup(
      m.addChild("remarks"), ["Stands in for an OSCAL assessment plan, which does not exist for this automated assessment (see import-ap)."]
    )

    for s in (model.periodStart.map { [$0] } ?? []) + model.snapshots {
      let r = b.addChild("resource")
      r.setAttribute("uuid", snapshotResourceUUID(s))
      r.addChild("title").addText(s.sourceName)
      markup(
        r.addChild("description"),
        [
          "Snapshot \(s.id) of account \(s.account): aws iam get-account-authorization-details output captured at \(s.capturedAt.description) (capture time from \(s.capturedAtSource.rawValue)), ingested at \(s.ingestedAt.description), \(s.byteSize) bytes, encoding \(s.encoding) (\(s.encodingDescription))\(s.isTruncated ? ", truncated" : "")."
        ])
      prop(r, "snapshot-id", String(s.id))
      prop(r, "captured-at", O.dateTime(s.capturedAt))
      prop(r, "aws-account-id", s.account)
      if let label = s.label { prop(r, "label", label) }
      if s.id == model.periodStart?.id {
        prop(r, "role", "period-start-state")
      }
      provenanceProps(r, s)
      // In a package that includes the snapshot, the link names its member; else where it was ingested from.
      let link = r.addChild("rlink")
      link.setAttribute("href", O.uriReference(snapshotMembers[s.id] ?? s.sourceName, fallback: "snapshot-\(s.sha256).json"))
      link.setAttribute("media-type", "application/json")
      let hash = link.addChild("hash")
      hash.setAttribute("algorithm", "SHA-256")
      hash.addText(s.sha256)
    }

    if let registerUUID, let a = model.assessment {
      let r = b.addChild("resource")
      r.setAttribute("uuid", registerUUID)
      let source = a.exceptionsSource ?? "exceptions"
      r.addChild("title").addText("Exceptions register \(source)")
      markup(
        r.addChild("description"),
        [
          "The exceptions register used by the assessment of the current snapshot at \(a.assessedAt.description); \(model.exceptions.count) exceptions."
        ])
      for use in model.exceptions { prop(r, "exception-id", use.exception.id) }
      let link = r.addChild("rlink")
      link.setAttribute("href", O.uriReference(source, fallback: "exceptions.json"))
      link.setAttribute("media-type", "application/json")
      let hash = link.addChild("hash")
      hash.setAttribute("algorithm", "SHA-256")
      hash.addText(a.exceptionsSHA256)
    }
  }

  // MARK: Helpers

  /// Appends `<prop>`: the tool's own names get `ns`; values are folded onto one line.
  /// Who took and loaded snapshot `s` (``SnapshotProvenance``), as props of its back-matter resource:
  /// `operator`, `caller-arn`, `caller-account`, `caller-user-id`, `caller-identity-sha256`,
  /// `ingest-host`, `ingest-os-user`, `ingest-tool-version`, `ingest-tool-source-sha256`; or
  /// `provenance` = `not-recorded`.
  func provenanceProps(_ r: XMLElement, _ s: SnapshotRecord) {
    guard let p = model.provenance[s.id] else {
      prop(r, "provenance", "not-recorded")
      return
    }
    if let name = p.operatorName { prop(r, "operator", name) }
    if let c = p.callerIdentity {
      prop(r, "caller-arn", c.arn)
      prop(r, "caller-account", c.account)
      prop(r, "caller-user-id", c.userID)
      prop(r, "caller-identity-sha256", c.sha256)
    }
    prop(r, "ingest-host", p.host)
    prop(r, "ingest-os-user", p.osUser)
    prop(r, "ingest-tool-version", "\(p.build.name) \(p.build.version)")
    prop(r, "ingest-tool-source-sha256", p.build.sourceSHA256)
  }

  func prop(_ e: XMLElement, _ name: String, _ value: String, cls: String? = nil, core: Bool = false) {
    O.prop(e, name, value, cls: cls, core: core)
  }

  func markup(_ e: XMLElement, _ paragraphs: [String]) { O.markup(e, paragraphs) }
}

extension OSCALAssessmentResults {
  /// Adds a `prop` (in this tool's namespace unless `core`), its value made an OSCAL string.
  static func prop(_ e: XMLElement, _ name: String, _ value: String, cls: String? = nil, core: Bool = false) {
    let p = e.addChild("prop")
    p.setAttribute("name", name)
    if !core { p.setAttribute("ns", propertyNamespace) }
    if let cls { p.setAttribute("class", cls) }
    p.setAttribute("value", line(value))
  }

  /// Fills a markup-multiline element with one `<p>` per paragraph (at least one).
  static func markup(_ e: XMLElement, _ paragraphs: [String]) {
    for text in paragraphs.isEmpty ? ["-"] : paragraphs { e.addChild("p").addText(text) }
  }

  /// The roles, parties and responsible parties of a document's `metadata`: the tool, which prepared
  /// it (`toolRemarks` say how), the access reviewers and the operators (`operatorRemarks(name)` says
  /// what each took and ingested), in OSCAL's order.
  static func people(
    _ m: XMLElement, toolName: String, toolRemarks: String, reviewers: [String], operators: [String],
    operatorRemarks: (String) -> String
  ) {
    func role(_ id: String, _ title: String, _ description: String) {
      let role = m.addChild("role")
      role.setAttribute("id", id)
      role.addChild("title").addText(title)
      markup(role.addChild("description"), [description])
    }
    role("prepared-by", "Prepared By", "Produced this document from the evidence store.")
    if !reviewers.isEmpty {
      role(
        "access-reviewer", "Access Reviewer",
        "Reviewed a snapshot's privileged-access register and open findings and decided, per item, keep, revoke or exception.")
    }
    if !operators.isEmpty {
      role(
        "operator", "Operator",
        "Took the export of a snapshot (aws iam get-account-authorization-details, with aws sts get-caller-identity) and ingested it, as named with ingest --operator."
      )
    }
    let partyUUID = uuid("party", toolName)
    let party = m.addChild("party")
    party.setAttribute("uuid", partyUUID)
    party.setAttribute("type", "organization")
    party.addChild("name").addText(line(toolName))
    markup(party.addChild("remarks"), [toolRemarks])
    for name in reviewers {
      let p = m.addChild("party")
      p.setAttribute("uuid", reviewerUUID(name))
      p.setAttribute("type", "person")
      p.addChild("name").addText(line(name))
      markup(p.addChild("remarks"), ["Named as reviewer in an imported access review sheet."])
    }
    for name in operators {
      let p = m.addChild("party")
      p.setAttribute("uuid", operatorUUID(name))
      p.setAttribute("type", "person")
      p.addChild("name").addText(line(name))
      markup(p.addChild("remarks"), [operatorRemarks(name)])
    }
    let rp = m.addChild("responsible-party")
    rp.setAttribute("role-id", "prepared-by")
    rp.addChild("party-uuid").addText(partyUUID)
    if !reviewers.isEmpty {
      let r = m.addChild("responsible-party")
      r.setAttribute("role-id", "access-reviewer")
      for name in reviewers { r.addChild("party-uuid").addText(reviewerUUID(name)) }
    }
    if !operators.isEmpty {
      let r = m.addChild("responsible-party")
      r.setAttribute("role-id", "operator")
      for name in operators { r.addChild("party-uuid").addText(operatorUUID(name)) }
    }
  }

  static func operatorUUID(_ name: String) -> String { uuid("party", "operator", name) }
  static func reviewerUUID(_ name: String) -> String { uuid("party", "reviewer", name) }
}
