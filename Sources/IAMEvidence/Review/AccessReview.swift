/// One answered item of a stored access review.
public struct StoredReviewRow: Sendable, Hashable {
  public var rowID: String
  public var kind: ReviewItemKind
  public var principal: PrincipalRef?
  /// The capability code (register entries) or the check id (findings).
  public var subject: String
  /// Findings: the finding's identity across snapshots (``CheckResult/findingIdentity``).
  public var findingIdentity: String?
  public var decision: ReviewDecision
  public var reviewer: String
  /// `YYYY-MM-DD`.
  public var reviewedOn: String
  public var comment: String
  public var ticket: String

  public init(
    rowID: String, kind: ReviewItemKind, principal: PrincipalRef?, subject: String, findingIdentity: String?, decision: ReviewDecision,
    reviewer: String, reviewedOn: String, comment: String = "", ticket: String = ""
  ) {
    self.rowID = rowID
    self.kind = kind
    self.principal = principal
    self.subject = subject
    self.findingIdentity = findingIdentity
    self.decision = decision
    self.reviewer = reviewer
    self.reviewedOn = reviewedOn
    self.comment = comment
    self.ticket = ticket
  }

  /// What the row is about, in words: `carol.contractor: admin`, `admin-policy: user alice (inline x)`.
  public var label: String {
    let who = principal.map { "\($0.type.rawValue) \($0.name)" }
    switch kind {
    case .privileged: return (who ?? "?") + " holds " + subject
    case .finding: return subject + (who.map { " on " + $0 } ?? "")
    }
  }
}

/// An access review as stored by `review import`: the sheet of one snapshot, answered in full.
public struct StoredReview: Sendable, Hashable {
  public var id: Int
  public var snapshotID: Int
  /// SHA-256 of the sheet's bytes as imported.
  public var sheetSHA256: String
  /// The sheet's file name when it was imported.
  public var sourceName: String
  public var importedAt: Timestamp
  public var toolVersion: String
  /// The reviewers named in the rows, sorted.
  public var reviewers: [String]
  /// The earliest and latest `reviewed_on` of the rows (`YYYY-MM-DD`).
  public var firstReviewedOn: String
  public var lastReviewedOn: String
  /// ``SigningKeys/fingerprint(_:)`` of the key that signed the sheet, when it was signed.
  public var signerFingerprint: String?
  /// Ed25519 signature of the sheet's bytes, base64, when it was signed.
  public var signature: String?
  /// The rows, in the sheet's order.
  public var rows: [StoredReviewRow]

  public init(
    id: Int, snapshotID: Int, sheetSHA256: String, sourceName: String, importedAt: Timestamp, toolVersion: String, reviewers: [String],
    firstReviewedOn: String, lastReviewedOn: String, signerFingerprint: String?, signature: String?, rows: [StoredReviewRow]
  ) {
    self.id = id
    self.snapshotID = snapshotID
    self.sheetSHA256 = sheetSHA256
    self.sourceName = sourceName
    self.importedAt = importedAt
    self.toolVersion = toolVersion
    self.reviewers = reviewers
    self.firstReviewedOn = firstReviewedOn
    self.lastReviewedOn = lastReviewedOn
    self.signerFingerprint = signerFingerprint
    self.signature = signature
    self.rows = rows
  }

  /// The number of rows with `decision`.
  public func count(_ decision: ReviewDecision) -> Int { rows.filter { $0.decision == decision }.count }

  /// A completed review of a snapshot that had nothing to review (no privileged identity and no open
  /// finding): zero rows, its reviewer and date from the sheet's signed row ``ReviewSheet/nothingToReviewRowID``.
  public var isNothingToReview: Bool { rows.isEmpty }
}

/// Whether access a review marked `revoke` is gone.
public enum FollowUpState: String, Sendable, Hashable {
  /// Gone in the account's next snapshot: the principal no longer holds the capability, or the
  /// finding is no longer open (fail or excepted).
  case revoked
  /// Still there in the next snapshot.
  case notRevoked = "not-revoked"
  /// Not seen in the next snapshot, but not shown gone either: a check that decides it had an
  /// `error` result there (for that principal and capability, or for that finding), so the snapshot
  /// cannot tell whether the access remains. Never counted as revoked: a revoke is done only when
  /// the access was evaluated and is absent.
  case undetermined
  /// No later assessed snapshot of the account yet.
  case pending
}

/// The follow-up of one `revoke` row.
public struct ReviewFollowUp: Sendable, Hashable {
  public var row: StoredReviewRow
  public var state: FollowUpState
  /// The snapshot the follow-up looked in (nil: pending).
  public var nextSnapshotID: Int?
  public var nextCapturedAt: Timestamp?
}

/// What the next snapshot of an account holds, as far as follow-ups look: the capabilities held (by
/// ``accessKey(principalID:capability:)``) and the identities of the open findings, and what it could
/// not evaluate: the capabilities whose check had an `error` result for the principal, and the
/// identities of the `error` results.
public struct NextSnapshotAccess: Sendable, Hashable {
  public var snapshotID: Int
  public var capturedAt: Timestamp
  public var held: Set<String>
  public var openFindings: Set<String>
  /// Access keys (principal and capability) a check could not evaluate in the snapshot.
  public var unevaluated: Set<String>
  /// Finding identities whose result in the snapshot is `error`.
  public var unevaluatedFindings: Set<String>

  public init(
    snapshotID: Int, capturedAt: Timestamp, held: Set<String>, openFindings: Set<String>, unevaluated: Set<String> = [],
    unevaluatedFindings: Set<String> = []
  ) {
    self.snapshotID = snapshotID
    self.capturedAt = capturedAt
    self.held = held
    self.openFindings = openFindings
    self.unevaluated = unevaluated
    self.unevaluatedFindings = unevaluatedFindings
  }

  /// From the next snapshot's privileged-access register, the identities of its open findings, and
  /// its `error` results (of any check; those of a check that gives a capability make that
  /// capability of their principal unevaluated).
  public init(
    snapshot: SnapshotRecord, register: [PrivilegedPrincipal], openFindingIdentities: some Sequence<String>,
    errorResults: [CheckResult] = [], capabilities: CapabilityMap = .catalog
  ) {
    var held: Set<String> = []
    for e in register { for c in e.capabilities { held.insert(Self.accessKey(principalID: e.principal.id, capability: c)) } }
    var unevaluated: Set<String> = []
    for r in errorResults {
      if let p = r.principal, let code = capabilities.capability(check: r.checkID, principalType: p.type) {
        unevaluated.insert(Self.accessKey(principalID: p.id, capability: code))
      }
    }
    self.init(
      snapshotID: snapshot.id, capturedAt: snapshot.capturedAt, held: held, openFindings: Set(openFindingIdentities),
      unevaluated: unevaluated, unevaluatedFindings: Set(errorResults.map(\.findingIdentity)))
  }

  public static func accessKey(principalID: String, capability: String) -> String { principalID + "\u{1F}" + capability }
}

/// The follow-up of a review's `revoke` decisions (pure).
public enum ReviewFollowUps {
  /// For each `revoke` row of `rows`, in order: `revoked` when the access is gone in `next` (the
  /// principal, by unique id, no longer holds that capability; the finding, by identity, is no longer
  /// open), `notRevoked` when it is still there, `undetermined` when it is not there but a check
  /// erred on it there (it may remain), `pending` when there is no next snapshot (nil). A principal
  /// deleted and recreated under the same name has a new unique id: its old access is gone.
  public static func followUps(_ rows: [StoredReviewRow], next: NextSnapshotAccess?) -> [ReviewFollowUp] {
    rows.filter { $0.decision == .revoke }.map { row in
      guard let next else { return ReviewFollowUp(row: row, state: .pending, nextSnapshotID: nil, nextCapturedAt: nil) }
      let (present, unevaluated): (Bool, Bool)
      switch row.kind {
      case .privileged:
        let key = row.principal.map { NextSnapshotAccess.accessKey(principalID: $0.id, capability: row.subject) }
        (present, unevaluated) = (key.map(next.held.contains) ?? false, key.map(next.unevaluated.contains) ?? false)
      case .finding:
        (present, unevaluated) = (
          row.findingIdentity.map(next.openFindings.contains) ?? false, row.findingIdentity.map(next.unevaluatedFindings.contains) ?? false
        )
      }
      let state: FollowUpState = present ? .notRevoked : (unevaluated ? .undetermined : .revoked)
      return ReviewFollowUp(row: row, state: state, nextSnapshotID: next.snapshotID, nextCapturedAt: next.capturedAt)
    }
  }
}

/// A review as the evidence reports it: the stored review, the snapshot it reviewed, and the
/// follow-up of its `revoke` rows.
public struct ReviewEvidence: Sendable, Hashable {
  public var review: StoredReview
  public var snapshot: SnapshotRecord
  public var followUps: [ReviewFollowUp]

  public init(review: StoredReview, snapshot: SnapshotRecord, followUps: [ReviewFollowUp]) {
    self.review = review
    self.snapshot = snapshot
    self.followUps = followUps
  }
}
