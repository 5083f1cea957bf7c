/// A reviewer's decision on one item of an access review.
public enum ReviewDecision: String, Sendable, Hashable, CaseIterable {
  /// The access is needed and stays.
  case keep
  /// The access is to be removed: followed up in the account's next snapshot (``ReviewFollowUp``).
  case revoke
  /// The access stays as an exception (to be recorded in the exceptions register).
  case exception
}

/// What a review item is about.
public enum ReviewItemKind: String, Sendable, Hashable {
  /// A capability a principal holds in the privileged-access register (row id `priv:<principal id>:<capability>`).
  case privileged = "priv"
  /// An open finding: a result that is fail or excepted (row id `finding:<finding key>`).
  case finding
}

/// One row of a review sheet: an entry of the privileged-access register (one per principal and
/// capability) or an open finding of the snapshot, with what a reviewer needs to decide on it.
public struct ReviewItem: Sendable, Hashable {
  /// The stable row id: `priv:<principal id>:<capability>` or `finding:<finding key>`.
  public var rowID: String
  public var kind: ReviewItemKind
  public var principal: PrincipalRef?
  /// The capability code (register entries) or the check id (findings).
  public var subject: String
  /// `fail`, or `excepted` when an approved exception covers it (for a capability: every result
  /// giving it is excepted).
  public var status: ResultStatus
  /// Where the access comes from: the capability's sources, or the finding's policy.
  public var source: String
  /// The register entry's history (privileged since, last use) or the finding's explanation.
  public var detail: String
  /// Findings: the identity of the finding across snapshots (``CheckResult/findingIdentity``), which
  /// the follow-up looks for in the next snapshot. Nil for register entries.
  public var findingIdentity: String?

  public init(
    rowID: String, kind: ReviewItemKind, principal: PrincipalRef?, subject: String, status: ResultStatus, source: String, detail: String,
    findingIdentity: String?
  ) {
    self.rowID = rowID
    self.kind = kind
    self.principal = principal
    self.subject = subject
    self.status = status
    self.source = source
    self.detail = detail
    self.findingIdentity = findingIdentity
  }
}

/// The review sheet of one snapshot: its items, and the CSV a reviewer fills in (pure: the service
/// fetches the register and the results, see ``EvidenceWorkflow/reviewSheet(snapshot:account:)``).
public enum ReviewSheet {
  /// The columns of a sheet, in order. The first two carry the snapshot on every row, so that a row
  /// copied into another sheet is caught; the last five are the reviewer's.
  public static let columns = [
    "snapshot", "snapshot_sha256", "account", "captured_at", "row_id", "kind", "principal_type", "principal_name", "principal_arn", "item",
    "status", "source", "detail", "decision", "reviewer", "reviewed_on", "comment", "ticket",
  ]
  /// The columns the reviewer fills in.
  public static let answerColumns = ["decision", "reviewer", "reviewed_on", "comment", "ticket"]

  /// The row id of a capability held by a principal.
  public static func rowID(principalID: String, capability: String) -> String { "priv:\(principalID):\(capability)" }
  /// The row id of a finding.
  public static func rowID(findingKey: String) -> String { "finding:\(findingKey)" }
  /// The id (and kind) of the one row of the sheet of a snapshot with nothing to review: no
  /// privileged identity and no open finding. The reviewer signs it (reviewer, reviewed_on; no
  /// decision), and the review is stored as completed with zero items.
  public static let nothingToReviewRowID = "none"

  /// The items of a snapshot: one per principal and capability of its privileged-access register
  /// (in the register's reading order, capabilities sorted), then one per open finding (fail or
  /// excepted, in the order of `findings`, which should be report order). Each row id once.
  public static func items(register: [PrivilegedPrincipal], findings: [CheckResult]) -> [ReviewItem] {
    var out: [ReviewItem] = []
    var seen: Set<String> = []
    for entry in register {
      for code in entry.capabilities {
        let id = rowID(principalID: entry.principal.id, capability: code)
        guard seen.insert(id).inserted else { continue }
        let held = entry.held.filter { $0.code == code }
        let status: ResultStatus = held.allSatisfy { $0.status == .excepted } ? .excepted : .fail
        let sources = entry.sources.filter { $0.capability == code }.map(PrivilegedText.label)
        var detail = "privileged since \(entry.privilegedSince.description)"
        if let used = entry.lastUsed { detail += "; last used " + (used.date?.description ?? "never") }
        let exceptions = held.compactMap(\.exception).map(\.id)
        if !exceptions.isEmpty { detail += "; exception " + exceptions.joined(separator: ", ") }
        out.append(
          ReviewItem(
            rowID: id, kind: .privileged, principal: entry.principal, subject: code, status: status,
            source: sources.joined(separator: "; "), detail: detail, findingIdentity: nil))
      }
    }
    for r in findings where r.status == .fail || r.status == .excepted {
      let id = rowID(findingKey: r.findingKey)
      guard seen.insert(id).inserted else { continue }
      var source = ""
      if let p = r.policy {
        source = p.kind.rawValue + " " + (p.arn ?? p.name) + (p.versionID.map { " (\($0))" } ?? "")
      }
      out.append(
        ReviewItem(
          rowID: id, kind: .finding, principal: r.principal, subject: r.checkID, status: r.status, source: source,
          detail: r.why + (r.exception.map { " (exception \($0.id))" } ?? ""), findingIdentity: r.findingIdentity))
    }
    return out
  }

  /// The CSV sheet of `snapshot` (RFC 4180, CRLF-free: one `\n` per row; formula-like text neutralised
  /// by ``CSV/field(_:)``), the answer columns empty. A snapshot with no item gets the one row
  /// ``nothingToReviewRowID``, for the reviewer to confirm that there was nothing to review.
  public static func csv(snapshot: SnapshotRecord, items: [ReviewItem]) -> String {
    let first = [String(snapshot.id), snapshot.sha256, snapshot.account, snapshot.capturedAt.description]
    guard !items.isEmpty else {
      return CSV.table(
        header: columns,
        rows: [
          first + [
            nothingToReviewRowID, nothingToReviewRowID, "", "", "", "nothing to review", "", "",
            "the snapshot has no privileged identity and no open finding: fill in reviewer and reviewed_on (leave decision empty) to record that the review found nothing to review",
            "", "", "", "", "",
          ]
        ])
    }
    return CSV.table(
      header: columns,
      rows: items.map { i in
        first + [
          i.rowID, i.kind.rawValue, i.principal?.type.rawValue ?? "", i.principal?.name ?? "", i.principal?.arn ?? "", i.subject,
          i.status.rawValue, i.source, i.detail, "", "", "", "", "",
        ]
      })
  }
}
