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
/// ``accessKey(principalID:capability:)``) and the identities of the open findings.
public struct NextSnapshotAccess: Sendable, Hashable {
  public var snapshotID: Int
  public var capturedAt: Timestamp
  public var held: Set<String>
  public var openFindings: Set<String>

  public init(snapshotID: Int, capturedAt: Timestamp, held: Set<String>, openFindings: Set<String>) {
    self.snapshotID = snapshotID
    self.capturedAt = capturedAt
    self.held = held
    self.openFindings = openFindings
  }

  /// From the next snapshot's privileged-access register and the identities of its open findings.
  public init(snapshot: SnapshotRecord, register: [PrivilegedPrincipal], openFindingIdentities: some Sequence<String>) {
    var held: Set<String> = []
    for e in register { for c in e.capabilities { held.insert(Self.accessKey(principalID: e.principal.id, capability: c)) } }
    self.init(snapshotID: snapshot.id, capturedAt: snapshot.capturedAt, held: held, openFindings: Set(openFindingIdentities))
  }

  public static func accessKey(principalID: String, capability: String) -> String { principalID + "\u{1F}" + capability }
}

/// The follow-up of a review's `revoke` decisions (pure).
public enum ReviewFollowUps {
  /// For each `revoke` row of `rows`, in order: `revoked` when the access is gone in `next` (the
  /// principal, by unique id, no longer holds that capability; the finding, by identity, is no longer
  /// open), `notRevoked` when it is still there, `pending` when there is no next snapshot (nil).
  /// A principal deleted and recreated under the same name has a new unique id: its old access is gone.
  public static func followUps(_ rows: [StoredReviewRow], next: NextSnapshotAccess?) -> [ReviewFollowUp] {
    rows.filter { $0.decision == .revoke }.map { row in
      guard let next else { return ReviewFollowUp(row: row, state: .pending, nextSnapshotID: nil, nextCapturedAt: nil) }
      let present: Bool
      switch row.kind {
      case .privileged:
        present =
          row.principal.map { next.held.contains(NextSnapshotAccess.accessKey(principalID: $0.id, capability: row.subject)) } ?? false
      case .finding:
        present = row.findingIdentity.map { next.openFindings.contains($0) } ?? false
      }
      return ReviewFollowUp(
        row: row, state: present ? .notRevoked : .revoked, nextSnapshotID: next.snapshotID, nextCapturedAt: next.capturedAt)
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
