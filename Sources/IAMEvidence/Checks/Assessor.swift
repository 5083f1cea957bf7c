/// Runs the catalog over one snapshot and applies the exceptions register.
///
/// Two phases: every check without ``CheckDescription/inputs`` runs first (side by side) and the
/// register is applied to its results; then the *derived* checks run with those results, exceptions
/// applied, and the snapshot's capture time (``CheckContext/prior``), and the register is applied to
/// theirs. The engine knows no check by id: a derived check names its inputs as data. An input that
/// was not asked for is run too, for the derived check only (its results are not returned).
public enum Assessor {
  /// The results of every check (whole population) and the exceptions that matched nothing.
  public struct Outcome: Sendable {
    public var results: [CheckResult]
    /// Exceptions of the register that may apply in the snapshot's account and matched no failing
    /// result (one limited to other accounts is not stale here: it does not concern this account).
    public var staleExceptions: [PolicyException]
  }

  /// Assesses `snapshot`, captured at `capturedAt`: an exception applies only while in force at that
  /// time (from the start of its `approved_on` day through the end of its `expires_on` day, UTC). A
  /// failure matched only by exceptions not in force stays `fail`, noted `exception-not-yet-approved`
  /// or `exception-expired` with each exception's id. An exception limited to accounts applies only
  /// when `account`, the snapshot's account, is one of them (nil: to none of them).
  public static func assess(
    _ snapshot: consuming AuthorizationSnapshot, capturedAt: Timestamp, account: String? = nil, register: ExceptionRegister = .empty,
    checks: [any Check] = CheckCatalog.all, evaluator: KMSPolicyEvaluator = KMSPolicyEvaluator(),
    engine: PolicyEngine = PolicyEngine(), evaluated: (() -> Void)? = nil
  ) -> Outcome {
    let derived = checks.filter { !$0.description.inputs.isEmpty }
    var firstPhase = checks.filter { $0.description.inputs.isEmpty }
    let requested = Set(firstPhase.map(\.description.id))
    // Inputs not asked for run too, for the derived checks only.
    var extra = Set<String>()
    for d in derived {
      for id in d.description.inputs where !requested.contains(id) && !extra.contains(id) {
        guard let input = CheckCatalog.check(id: id), input.description.inputs.isEmpty else {
          preconditionFailure("check \(d.description.id): input \(id) is not a first-phase check of the catalog")
        }
        extra.insert(id)
        firstPhase.append(input)
      }
    }
    var context = CheckContext(
      snapshot: consume snapshot, evaluator: evaluator, engine: engine, checks: firstPhase.map(\.description) + derived.map(\.description))
    evaluated?()
    var used = Set<String>()
    // Checks of one phase are independent of each other: run them side by side.
    var results = run(firstPhase, context, register: register, account: account, capturedAt: capturedAt, used: &used) {
      !extra.contains($0)
    }
    if !derived.isEmpty {
      let wanted = Set(derived.flatMap(\.description.inputs))
      var byCheck: [String: [CheckResult]] = [:]
      for r in results where wanted.contains(r.checkID) { byCheck[r.checkID, default: []].append(r) }
      context.prior = PriorResults(capturedAt: capturedAt, byCheck: byCheck)
      results += run(derived, context, register: register, account: account, capturedAt: capturedAt, used: &used) { _ in true }
    }
    var kept = results
    if !extra.isEmpty { kept.removeAll { extra.contains($0.checkID) } }
    CheckResult.sortForReport(&kept)
    return Outcome(
      results: kept, staleExceptions: register.exceptions.filter { $0.applies(toAccount: account) && !used.contains($0.id) })
  }

  /// Runs `checks` side by side and applies the register to their results; the exceptions matched by
  /// results of checks `counts` accepts go into `used` (those of inputs run only for derived checks
  /// do not make an exception used).
  private static func run(
    _ checks: [any Check], _ context: CheckContext, register: ExceptionRegister, account: String?, capturedAt: Timestamp,
    used: inout Set<String>,
    counts: (String) -> Bool
  ) -> [CheckResult] {
    var perCheck = Parallel.map(checks, minimumCount: 2) { $0.run(context) }
    // Concatenated freeing each check's array as it goes: never two copies of every result at once.
    var results: [CheckResult] = []
    results.reserveCapacity(perCheck.reduce(0) { $0 + $1.count })
    for i in perCheck.indices {
      results.append(contentsOf: perCheck[i])
      perCheck[i] = []
    }
    for i in results.indices where results[i].status == .fail {
      let matching = register.matching(results[i], account: account)
      guard !matching.isEmpty else { continue }
      if counts(results[i].checkID) { matching.forEach { used.insert($0.id) } }
      apply(matching, to: &results[i], capturedAt: capturedAt)
    }
    return results
  }

  /// Makes a failure matched by `matching` excepted (by the first exception in force), or notes why
  /// none applies.
  private static func apply(_ matching: [PolicyException], to result: inout CheckResult, capturedAt: Timestamp) {
    if let inForce = matching.first(where: { $0.isInForce(at: capturedAt) }) {
      result.status = .excepted
      result.exception = AppliedException(id: inForce.id, approvedBy: inForce.approvedBy, expiresOn: inForce.expiresOnDate)
      result.notes.append(
        ResultNote(
          code: "excepted",
          message:
            "Approved exception \(inForce.id) (approved by \(inForce.approvedBy) on \(inForce.approvedOn.dateString), expires \(inForce.expiresOnDate)): \(inForce.justification)"
        ))
      return
    }
    for e in matching {
      switch e.period(at: capturedAt) {
      case .notYetApproved:
        result.notes.append(
          ResultNote(
            code: "exception-not-yet-approved",
            message:
              "Exception \(e.id) was approved on \(e.approvedOn.dateString), after the snapshot was captured; it does not apply to what was captured before."
          ))
      case .expired, .inForce:
        result.notes.append(
          ResultNote(
            code: "exception-expired",
            message: "Exception \(e.id) expired on \(e.expiresOnDate), before the snapshot was captured; it no longer applies."))
      }
    }
  }
}
