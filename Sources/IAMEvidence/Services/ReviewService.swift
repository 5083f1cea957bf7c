import Crypto
import Foundation

/// What `review import` did.
public enum ReviewImportOutcome: Sendable, Equatable {
  /// Stored as review `id`.
  case imported(id: Int, snapshotID: Int, rows: Int, reviewers: [String], signer: String?)
  /// The same sheet was imported for the same snapshot before, as review `id`: nothing written.
  case alreadyImported(id: Int, snapshotID: Int)
}

extension EvidenceWorkflow {
  /// The review sheet of the snapshot `selector` names (an id, `latest`, `previous`, a date) in
  /// `account`: its privileged-access register and its open findings (``ReviewSheet/items(register:findings:)``).
  /// Only reads. A snapshot never assessed is an error.
  public func reviewSheet(
    snapshot selector: String, account: String?, capabilities: CapabilityMap = .catalog
  ) throws -> (snapshot: SnapshotRecord, items: [ReviewItem]) {
    try store.consistentRead {
      let record = try store.resolveSnapshot(selector, account: account)
      try requireAssessed(record, naming: nil)
      return (record, try reviewItems(of: record, capabilities: capabilities))
    }
  }

  /// The items of snapshot `s` (which must be assessed).
  func reviewItems(of s: SnapshotRecord, capabilities: CapabilityMap) throws -> [ReviewItem] {
    let register = try privilegedHistory(through: s, registersOf: [s.id], capabilities: capabilities).registers.first?.entries ?? []
    return ReviewSheet.items(register: register, findings: try results(snapshotID: s.id, statuses: [.fail, .excepted]))
  }

  /// Validates the review sheet `bytes` (read from `file`) against its snapshot and stores it in one
  /// transaction (``EvidenceStore/insertReview(_:importedAt:signature:)``), signed with `signingKey`
  /// when given (Ed25519 over the sheet's bytes). Any error leaves the database as it was.
  public func importReview(
    _ bytes: [UInt8], file: String, signingKey: Curve25519.Signing.PrivateKey?, now: Timestamp, capabilities: CapabilityMap = .catalog
  ) throws -> ReviewImportOutcome {
    let parsed = try ReviewImport.parse(bytes, file: file)
    guard let snapshot = try store.snapshot(id: parsed.snapshotID) else {
      throw ReviewSheetError(
        file: file, line: parsed.rows.first?.line,
        message:
          "the sheet names snapshot \(parsed.snapshotID), which is not in \(store.path) (the sheet was exported from another database)")
    }
    try requireAssessed(snapshot, naming: store.path)
    let review = try ReviewImport.validate(
      parsed, bytes: bytes, snapshot: snapshot, items: try reviewItems(of: snapshot, capabilities: capabilities), now: now)
    var signature: ReviewSignature?
    if let key = signingKey {
      let signed = try key.signature(for: Data(bytes))
      signature = ReviewSignature(
        fingerprint: SigningKeys.fingerprint(key.publicKey), publicKeyPEM: SigningKeys.publicPEM(key.publicKey),
        signature: signed.base64EncodedString())
    }
    let id = try store.insertReview(review, importedAt: now, signature: signature)
    if id < 0 { return .alreadyImported(id: -id, snapshotID: snapshot.id) }
    return .imported(id: id, snapshotID: snapshot.id, rows: review.rows.count, reviewers: review.reviewers, signer: signature?.fingerprint)
  }

  /// Reads the review sheet at `path` (a regular file of at most ``ReviewImport/maximumBytes``) and
  /// imports it (``importReview(_:file:signingKey:now:capabilities:)``).
  public func importReview(
    path: String, signingKey: Curve25519.Signing.PrivateKey?, now: Timestamp, capabilities: CapabilityMap = .catalog
  ) throws -> ReviewImportOutcome {
    let bytes: SnapshotBytes
    do {
      bytes = try InputFile.read(path: path, limit: ReviewImport.maximumBytes).bytes
    } catch {
      let reason =
        switch error {
        case .cannotOpen(let reason): "cannot read the review sheet: \(reason)"
        case .notARegularFile(let kind): "not a regular file (\(kind)); name the review sheet itself"
        case .tooLarge(let limit): "the sheet exceeds \(IngestSource.byteCount(limit))"
        case .changedWhileReading: "the file changed while it was being read; import it once nothing writes to it"
        case .readFailed(let reason): "cannot read the review sheet: \(reason)"
        case .cannotCopy(let folder, let reason): "cannot read the review sheet (no private copy in \(folder): \(reason))"
        }
      throw ReviewSheetError(file: path, message: reason)
    }
    return try importReview(Array(bytes.buffer), file: path, signingKey: signingKey, now: now, capabilities: capabilities)
  }

  /// The reviews of `snapshots` with the follow-up of their `revoke` rows, each looked for in the
  /// next assessed snapshot of its account (after the reviewed one, whether or not in `snapshots`).
  public func reviewEvidence(of snapshots: [SnapshotRecord], capabilities: CapabilityMap = .catalog) throws -> [ReviewEvidence] {
    let reviews = try store.reviews(snapshotIDs: snapshots.map(\.id))
    guard !reviews.isEmpty else { return [] }
    var bySnapshot: [Int: SnapshotRecord] = [:]
    for s in snapshots { bySnapshot[s.id] = s }
    var nextAccess: [Int: NextSnapshotAccess?] = [:]
    var out: [ReviewEvidence] = []
    for review in reviews {
      guard let reviewed = bySnapshot[review.snapshotID] else { continue }
      if nextAccess[reviewed.id] == nil {
        nextAccess[reviewed.id] = .some(try access(after: reviewed, capabilities: capabilities))
      }
      out.append(
        ReviewEvidence(
          review: review, snapshot: reviewed, followUps: ReviewFollowUps.followUps(review.rows, next: nextAccess[reviewed.id] ?? nil)))
    }
    return out.sorted { ($0.snapshot.capturedAt, $0.review.id) < ($1.snapshot.capturedAt, $1.review.id) }
  }

  /// What the next assessed snapshot of `s`'s account after `s` holds, nil when there is none.
  func access(after s: SnapshotRecord, capabilities: CapabilityMap) throws -> NextSnapshotAccess? {
    let series = try store.snapshots(account: s.account)
    guard let at = series.firstIndex(where: { $0.id == s.id }) else { return nil }
    for next in series[(at + 1)...] where try store.isAssessed(snapshotID: next.id) {
      let register = try privilegedEntries(of: next, since: [:], capabilities: capabilities)
      // What the snapshot could not evaluate: a revoke is not done where a check erred on it.
      var errors: [CheckResult] = []
      for check in Self.erring(try store.statusCounts(snapshotID: next.id)).sorted() {
        errors += try store.results(snapshotID: next.id, check: check, statuses: [.error])
      }
      return NextSnapshotAccess(
        snapshot: next, register: register, openFindingIdentities: try store.openResults(snapshotID: next.id).map(\.findingIdentity),
        errorResults: errors, capabilities: capabilities)
    }
    return nil
  }
}
