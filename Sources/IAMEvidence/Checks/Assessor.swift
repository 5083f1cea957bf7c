/// Runs the catalog over one snapshot and applies the exceptions register.
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
    let context = CheckContext(snapshot: consume snapshot, evaluator: evaluator, engine: engine, checks: checks.map(\.description))
    evaluated?()
    // Checks are independent of each other: run them side by side.
    var perCheck = Parallel.map(checks, minimumCount: 2) { $0.run(context) }
    // Concatenated freeing each check's array as it goes: never two copies of every result at once.
    var results: [CheckResult] = []
    results.reserveCapacity(perCheck.reduce(0) { $0 + $1.count })
    for i in perCheck.indices {
      results.append(contentsOf: perCheck[i])
      perCheck[i] = []
    }
    var used = Set<String>()
    for i in results.indices where results[i].status == .fail {
      let matching = register.matching(results[i], account: account)
      guard !matching.isEmpty else { continue }
      matching.forEach { used.insert($0.id) }
      if let inForce = matching.first(where: { $0.isInForce(at: capturedAt) }) {
        results[i].status = .excepted
        results[i].exception = AppliedException(id: inForce.id, approvedBy: inForce.approvedBy, expiresOn: inForce.expiresOnDate)
        results[i].notes.append(
          ResultNote(
            code: "excepted",
            message:
              "Approved exception \(inForce.id) (approved by \(inForce.approvedBy) on \(inForce.approvedOn.dateString), expires \(inForce.expiresOnDate)): \(inForce.justification)"
          ))
      } else {
        for e in matching {
          switch e.period(at: capturedAt) {
          case .notYetApproved:
            results[i].notes.append(
              ResultNote(
                code: "exception-not-yet-approved",
                message:
                  "Exception \(e.id) was approved on \(e.approvedOn.dateString), after the snapshot was captured; it does not apply to what was captured before."
              ))
          case .expired, .inForce:
            results[i].notes.append(
              ResultNote(
                code: "exception-expired",
                message: "Exception \(e.id) expired on \(e.expiresOnDate), before the snapshot was captured; it no longer applies."))
          }
        }
      }
    }
    CheckResult.sortForReport(&results)
    return Outcome(
      results: results, staleExceptions: register.exceptions.filter { $0.applies(toAccount: account) && !used.contains($0.id) })
  }
}
