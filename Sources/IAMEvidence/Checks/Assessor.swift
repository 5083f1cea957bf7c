import Dispatch
import Foundation

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
    let slots = Slots(count: checks.count)
    let stale = assess(
      snapshot, capturedAt: capturedAt, account: account, register: register, checks: checks, evaluator: evaluator, engine: engine,
      evaluated: evaluated, deliver: slots.put)
    // In the order the checks ran (the first phase's, then the derived ones'), then in report order.
    var results: [CheckResult] = []
    let order =
      checks.indices.filter { checks[$0].description.inputs.isEmpty } + checks.indices.filter { !checks[$0].description.inputs.isEmpty }
    results.reserveCapacity(order.reduce(0) { $0 + slots.results[$1].count })
    for i in order {
      results.append(contentsOf: slots.results[i])
      slots.results[i] = []
    }
    CheckResult.sortForReport(&results)
    return Outcome(results: results, staleExceptions: stale)
  }

  /// ``assess(_:capturedAt:account:register:checks:evaluator:engine:evaluated:)`` handing each check's
  /// results to `deliver` as soon as they are final (the register applied, in report order), with
  /// the check's index in `checks`, from the thread that ran the check: the caller may store one
  /// check's results while others still run. Returns the stale exceptions.
  static func assess(
    _ snapshot: consuming AuthorizationSnapshot, capturedAt: Timestamp, account: String?, register: ExceptionRegister,
    checks: [any Check], evaluator: KMSPolicyEvaluator, engine: PolicyEngine, evaluated: (() -> Void)?,
    deliver: @escaping @Sendable (Int, [CheckResult]) -> Void
  ) -> [PolicyException] {
    let derived = checks.indices.filter { !checks[$0].description.inputs.isEmpty }
    // Each first-phase check with its index in `checks`; nil for an input not asked for, run for
    // the derived checks only (its results are not delivered).
    var firstPhase: [(check: any Check, slot: Int?)] = checks.indices.filter { checks[$0].description.inputs.isEmpty }.map {
      (checks[$0], $0)
    }
    let requested = Set(firstPhase.map(\.check.description.id))
    var extra = Set<String>()
    for d in derived {
      for id in checks[d].description.inputs where !requested.contains(id) && !extra.contains(id) {
        guard let input = CheckCatalog.check(id: id), input.description.inputs.isEmpty else {
          preconditionFailure("check \(checks[d].description.id): input \(id) is not a first-phase check of the catalog")
        }
        extra.insert(id)
        firstPhase.append((input, nil))
      }
    }
    var context = CheckContext(
      snapshot: consume snapshot, evaluator: evaluator, engine: engine,
      checks: firstPhase.map(\.check.description) + derived.map { checks[$0].description })
    evaluated?()
    let wanted = Set(derived.flatMap { checks[$0].description.inputs })
    let shared = Shared()
    // Checks of one phase are independent of each other: each runs on the next free core, in order,
    // and its results are final once the register is applied to them.
    func run(_ phase: [(check: any Check, slot: Int?)], _ context: CheckContext) {
      runEach(phase.count) { k in
        let (check, slot) = phase[k]
        let id = check.description.id
        var results = check.run(context)
        let used = apply(register, to: &results, account: account, capturedAt: capturedAt, sourceChecks: check.description.sourceChecks)
        shared.record(used: slot == nil ? [] : used, input: wanted.contains(id) ? (id, results) : nil)
        guard let slot else { return }
        CheckResult.sortForReport(&results)
        deliver(slot, results)
      }
    }
    run(firstPhase, context)
    if !derived.isEmpty {
      context.prior = PriorResults(capturedAt: capturedAt, byCheck: shared.inputs)
      shared.inputs = [:]
      run(derived.map { (checks[$0], $0) }, context)
    }
    return register.exceptions.filter { $0.applies(toAccount: account) && !shared.used.contains($0.id) }
  }

  /// Runs `body` for 0..<count, each index once, on every core, in order of index as cores come free.
  private static func runEach(_ count: Int, _ body: @Sendable (Int) -> Void) {
    guard count > 1 else {
      if count == 1 { body(0) }
      return
    }
    let next = Shared()
    DispatchQueue.concurrentPerform(iterations: min(ProcessInfo.processInfo.activeProcessorCount, count)) { _ in
      while let i = next.take(below: count) { body(i) }
    }
  }

  /// What the threads running checks share: the exceptions used, the results of derived checks'
  /// inputs, the next index to run; behind a lock.
  private final class Shared: @unchecked Sendable {
    private let lock = NSLock()
    var used = Set<String>()
    var inputs: [String: [CheckResult]] = [:]
    private var next = 0

    func record(used more: Set<String>, input: (String, [CheckResult])?) {
      lock.lock()
      defer { lock.unlock() }
      used.formUnion(more)
      if let (id, results) = input { inputs[id] = results }
    }

    func take(below count: Int) -> Int? {
      lock.lock()
      defer { lock.unlock() }
      guard next < count else { return nil }
      next += 1
      return next - 1
    }
  }

  /// The results of each check, by index, as they are delivered.
  private final class Slots: @unchecked Sendable {
    private let lock = NSLock()
    var results: [[CheckResult]]
    init(count: Int) { results = Array(repeating: [], count: count) }
    func put(_ index: Int, _ delivered: [CheckResult]) {
      lock.lock()
      defer { lock.unlock() }
      results[index] = delivered
    }
  }

  /// Applies the register to `results` of one check (whose grants come from `sourceChecks`); returns
  /// the ids of the exceptions that matched a failing result.
  private static func apply(
    _ register: ExceptionRegister, to results: inout [CheckResult], account: String?, capturedAt: Timestamp, sourceChecks: [String]
  ) -> Set<String> {
    var used = Set<String>()
    for i in results.indices where results[i].status == .fail {
      let coverage = register.coverage(of: results[i], account: account, sourceChecks: sourceChecks)
      let matching = coverage.matched
      if coverage.coversSomeSources && coverage.direct.isEmpty {
        results[i].notes.append(Self.partialCoverageNote(coverage))
      }
      guard !matching.isEmpty else { continue }
      matching.forEach { used.insert($0.id) }
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
    return used
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
