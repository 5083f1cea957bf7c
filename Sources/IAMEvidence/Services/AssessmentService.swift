/// The steps of ``EvidenceWorkflow/assess(snapshotID:register:checks:now:phase:)``, reported as
/// each one ends (the CLI times them with `IAM_EVIDENCE_TIMINGS=1`).
public enum AssessPhase: String, Sendable {
  /// Every distinct document is evaluated.
  case evaluated
  /// Every check has run.
  case checked
  /// The results are committed.
  case stored
}

extension EvidenceWorkflow {
  /// Assesses snapshot `id` with every check and stores the results, replacing that snapshot's
  /// earlier results for the same check versions, in one transaction.
  @discardableResult
  public func assess(
    snapshotID id: Int, register: ExceptionRegister = .empty,
    checks: [any Check] = CheckCatalog.all, now: Timestamp, phase: ((AssessPhase) -> Void)? = nil
  ) throws -> Assessor.Outcome {
    guard let record = try store.snapshot(id: id) else { throw WorkflowError(path: store.path, message: "no snapshot \(id)") }
    let outcome = Assessor.assess(
      try store.loadSnapshot(id: id), capturedAt: record.capturedAt, account: record.account, register: register, checks: checks,
      evaluated: { phase?(.evaluated) })
    phase?(.checked)
    try storeAssessment(outcome, snapshotID: id, register: register, checks: checks, now: now)
    phase?(.stored)
    return outcome
  }

  /// Stores `outcome` as the assessment of snapshot `id` (one transaction).
  func storeAssessment(
    _ outcome: Assessor.Outcome, snapshotID id: Int, register: ExceptionRegister, checks: [any Check], now: Timestamp
  ) throws(StoreError) {
    try store.insertAssessment(
      newAssessment(snapshotID: id, register: register, checks: checks, now: now, stale: outcome.staleExceptions), results: outcome.results)
  }

  /// The record of an assessment of snapshot `id` by `checks` with `register` at `now`.
  func newAssessment(snapshotID id: Int, register: ExceptionRegister, checks: [any Check], now: Timestamp, stale: [PolicyException])
    -> NewAssessment
  {
    NewAssessment(
      snapshotID: id, assessedAt: now, checks: checks.map(\.checkVersion), exceptionsSource: register.source,
      exceptionsSHA256: register.sha256, exceptionsContent: register.content, staleExceptions: stale.map(\.id))
  }

  /// Makes sure every snapshot of `snapshots` is assessed, as a package of them needs. With a
  /// `register`, each is re-assessed with it unless its latest assessment already applied these exact
  /// register bytes with the same tool and checks: its results would be the same, and a new
  /// assessment time would make the package differ from one made before. Without one, only the
  /// snapshots never assessed are. Returns the register bytes the assessments applied, if any: the
  /// given register's, else those of the latest snapshot's assessment.
  public func ensureAssessed(
    _ snapshots: [SnapshotRecord], register: ExceptionRegister?, checks: [any Check] = CheckCatalog.all, now: () -> Timestamp
  ) throws -> [UInt8]? {
    if let register {
      let versions = checks.map(\.checkVersion.label)
      for s in snapshots {
        if let a = try store.latestAssessment(snapshotID: s.id), a.exceptionsSHA256 == register.sha256,
          a.toolVersion == EvidenceStore.toolVersion, a.checks == versions, try store.isAssessed(snapshotID: s.id)
        {
          continue
        }
        try assess(snapshotID: s.id, register: register, checks: checks, now: now())
      }
      return Array(register.content.utf8)
    }
    for s in snapshots where !(try store.isAssessed(snapshotID: s.id)) { try assess(snapshotID: s.id, checks: checks, now: now()) }
    if let last = snapshots.last, let a = try store.latestAssessment(snapshotID: last.id), !a.exceptionsContent.isEmpty {
      return Array(a.exceptionsContent.utf8)
    }
    return nil
  }
}
