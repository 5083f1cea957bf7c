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
  /// An identity result is excepted by an exception
  /// matching its principal without a policy scope, or when every source of its failing grant is
  /// covered by an exception in force for that policy (``ExceptionCoverage``); it then lists them
  /// (``CheckResult/coveringExceptions``). Some sources covered excepts nothing (noted
  /// `exception-partial`).
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
    var sourceChecks: [String: [String]] = [:]
    for c in checks where !c.description.sourceChecks.isEmpty { sourceChecks[c.description.id] = c.description.sourceChecks }
    for i in results.indices where results[i].status == .fail {
      let coverage = register.coverage(of: results[i], account: account, sourceChecks: sourceChecks[results[i].checkID] ?? [])
      let matching = coverage.matched
      if coverage.coversSomeSources && coverage.direct.isEmpty {
        results[i].notes.append(Self.partialCoverageNote(coverage))
      }
      guard !matching.isEmpty else { continue }
      if counts(results[i].checkID) { matching.forEach { used.insert($0.id) } }
      if let (inForce, covering) = coverage.applied(at: capturedAt) {
        results[i].status = .excepted
        results[i].exception = AppliedException(id: inForce.id, approvedBy: inForce.approvedBy, expiresOn: inForce.expiresOnDate)
        if covering.isEmpty {
          results[i].notes.append(
            ResultNote(
              code: "excepted",
              message:
                "Approved exception \(inForce.id) (approved by \(inForce.approvedBy) on \(inForce.approvedOn.dateString), expires \(inForce.expiresOnDate)): \(inForce.justification)"
            ))
        } else {
          results[i].coveringExceptions = covering.map {
            SourceException(
              source: $0.0, exception: AppliedException(id: $0.1.id, approvedBy: $0.1.approvedBy, expiresOn: $0.1.expiresOnDate))
          }
          let list = covering.map {
            "\($0.0.label) by \($0.1.id) (approved by \($0.1.approvedBy) on \($0.1.approvedOn.dateString), expires \($0.1.expiresOnDate))"
          }
          results[i].notes.append(
            ResultNote(
              code: "excepted",
              message:
                "Every source of the grant is covered by an approved exception in force: \(list.joined(separator: "; ")). Excepted while all of them are in force, through \(inForce.expiresOnDate) (\(inForce.id))."
            ))
        }
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
            // In force but not applied: it covers a source while another source's only exceptions are not in force.
            results[i].notes.append(
              e.isInForce(at: capturedAt)
                ? ResultNote(
                  code: "exception-partial",
                  message:
                    "Exception \(e.id) is in force and covers a source of the grant, but not every source is covered by an exception in force: the result is not excepted."
                )
                : ResultNote(
                  code: "exception-expired",
                  message: "Exception \(e.id) expired on \(e.expiresOnDate), before the snapshot was captured; it no longer applies."))
          }
        }
      }
    }
    return results
  }

  /// The note of an identity result some of whose grant's sources are covered by exceptions and
  /// others not: nothing is excepted, and the note says which sources lack one.
  static func partialCoverageNote(_ coverage: ExceptionCoverage) -> ResultNote {
    let covered = coverage.sources.filter { !$0.exceptions.isEmpty }.map {
      "\($0.source.label) (\($0.exceptions.map(\.id).joined(separator: ", ")))"
    }
    let uncovered = coverage.sources.filter(\.exceptions.isEmpty).map(\.source.label)
    return ResultNote(
      code: "exception-partial",
      message:
        "Exceptions cover some sources of the grant (\(covered.joined(separator: "; "))) but not \(uncovered.joined(separator: ", ")): an identity result is excepted only when every source is covered, so it is not excepted."
    )
  }
}
