/// `privileged-role-unused` — privileged roles nobody has used for more than 90 days.
///
/// A derived check (``CheckDescription/inputs``): its population is every role whose result for
/// `admin-access-identity`, `privilege-escalation-identity` or `kms-full-access-identity` is `fail` or
/// `excepted` (exceptions are applied before it reads them: an approved administrator is still an
/// administrator), except service-linked roles (path `/aws-service-role/`, which AWS creates and
/// only its service uses); other roles get no result. The role fails when `RoleLastUsed.LastUsedDate`
/// is more than 90 days (90 × 24 hours) before the snapshot's capture time, or when it is absent and
/// the role was created more than 90 days before it; exactly 90 days passes. Every result says the
/// last use (or never) and its age in days.
public struct PrivilegedRoleUnused: Check {
  public init() {}

  /// The longest a privileged role may go unused: 90 × 24 hours.
  public static let maximumIdleSeconds: Int64 = 90 * 86_400

  public let description = CheckDescription(
    id: "privileged-role-unused",
    version: 1,
    title: "No privileged role has gone unused for more than 90 days",
    controls: ["A.8.2", "A.5.18"],
    rationale: """
      A privileged role nobody uses is privileged access without a need: it stays available to \
      whoever can assume it, and its misuse would stand out less than its absence would cost. \
      Privileged access rights must be restricted to what is needed and reviewed (ISO/IEC 27001:2022 \
      A.8.2), and access rights removed when no longer needed (A.5.18).
      """,
    remediation: """
      Confirm with the role's owner whether it is still needed; delete it, or remove its privileged \
      permissions, if not. A break-glass role that is kept unused on purpose goes in the exceptions \
      register with its approval.
      """,
    methodology: [
      "Population: every role whose result for admin-access-identity, privilege-escalation-identity or kms-full-access-identity in the same assessment is fail or excepted (the exceptions register is applied to those results first), except service-linked roles (path starting /aws-service-role/). Other roles get no result; an error result of those checks does not make a role privileged.",
      "Last use: RoleLastUsed.LastUsedDate of the snapshot (IAM tracks it for the last 400 days); the reference time is the snapshot's capture time.",
      "The role fails when its last use is more than 90 days (90 × 24 hours, to the second) before the capture time, or when it has no last use (noted \"never-used\") and was created more than 90 days before it; exactly 90 days passes. A role never used whose creation date is not in the snapshot has status \"error\".",
      "Each result states the last use (or never), its age in whole days, and the checks that make the role privileged (noted \"privileged\").",
    ],
    population: "Privileged roles (from admin-access-identity, privilege-escalation-identity, kms-full-access-identity)",
    triggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"iam:CreateAccessKey","Resource":"*"}]}"#, notes: ["never-used"],
        placement: .inlineOnRoleUsage(created: "2023-06-01T00:00:00Z", lastUsed: nil, capturedAt: "2024-06-01T00:00:00Z")),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#, notes: ["privileged"],
        placement: .inlineOnRoleUsage(created: "2023-06-01T00:00:00Z", lastUsed: "2024-03-03T00:00:00Z", capturedAt: "2024-06-01T00:00:01Z")
      ),
    ],
    nonTriggering: [
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        placement: .inlineOnRoleUsage(created: "2023-06-01T00:00:00Z", lastUsed: "2024-03-03T00:00:00Z", capturedAt: "2024-06-01T00:00:00Z")
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#, notes: ["never-used"],
        placement: .inlineOnRoleUsage(created: "2024-03-03T00:00:00Z", lastUsed: nil, capturedAt: "2024-06-01T00:00:00Z")),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":["iam:PassRole","ec2:RunInstances"],"Resource":"*"}]}"#, notes: ["privileged"],
        placement: .inlineOnRoleUsage(created: "2020-01-01T00:00:00Z", lastUsed: "2024-05-31T12:00:00Z", capturedAt: "2024-06-01T00:00:00Z")
      ),
    ],
    examplePlacement: .inlineOnRoleUsage(
      created: "2023-06-01T00:00:00Z", lastUsed: "2024-02-01T09:30:00Z", capturedAt: "2024-06-01T00:00:00Z"),
    inputs: ["admin-access-identity", "privilege-escalation-identity", "kms-full-access-identity"]
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    guard let prior = context.prior else {
      preconditionFailure("\(description.id) is a derived check: run it through Assessor.assess, which gives it the results it reads")
    }
    // Per role unique id, the results that make it privileged (a recreated role has a new id).
    var privileged: [String: [CheckResult]] = [:]
    for id in description.inputs {
      for r in prior.results(of: id) where r.status == .fail || r.status == .excepted {
        guard let p = r.principal, p.type == .role else { continue }
        privileged[p.id, default: []].append(r)
      }
    }
    return context.snapshot.principals.compactMap { role -> CheckResult? in
      guard role.type == .role, let holding = privileged[role.id], !Self.isServiceLinked(role) else { return nil }
      return judge(role, holding, capturedAt: prior.capturedAt)
    }
  }

  /// Service-linked roles live under `/aws-service-role/`.
  static func isServiceLinked(_ role: Principal) -> Bool { role.path?.hasPrefix("/aws-service-role/") == true }

  private func judge(_ role: Principal, _ holding: [CheckResult], capturedAt: Timestamp) -> CheckResult {
    let why = holding.map { r in "\(r.checkID) \(r.status.rawValue)\(r.exception.map { " (exception \($0.id))" } ?? "")" }
    var notes = [ResultNote(code: "privileged", message: "Privileged according to \(why.joined(separator: "; ")).")]
    let captured = "the capture time (\(capturedAt))"
    let status: ResultStatus
    let sentence: String
    var reasons: [String] = []
    if let last = role.roleLastUsedDate {
      let days = Self.wholeDays(from: last, to: capturedAt)
      let region = role.roleLastUsedRegion.map { " in \($0)" } ?? ""
      let stale = Self.isMore(than: Self.maximumIdleSeconds, from: last, to: capturedAt)
      status = stale ? .fail : .pass
      if stale { reasons = ["unused-more-than-90-days"] }
      sentence =
        "Last used \(last)\(region), \(days) day\(days == 1 ? "" : "s") before \(captured): "
        + (stale ? "more than 90 days." : "within 90 days.")
    } else if let created = role.createDate {
      let days = Self.wholeDays(from: created, to: capturedAt)
      let stale = Self.isMore(than: Self.maximumIdleSeconds, from: created, to: capturedAt)
      status = stale ? .fail : .pass
      if stale { reasons = ["never-used"] }
      notes.append(
        ResultNote(
          code: "never-used", message: "RoleLastUsed holds no LastUsedDate: the role has not been used (in the 400 days IAM tracks)."))
      sentence =
        "Never used; created \(created), \(days) day\(days == 1 ? "" : "s") before \(captured): "
        + (stale ? "more than 90 days without use." : "not more than 90 days old.")
    } else {
      status = .error
      notes.append(
        ResultNote(
          code: "never-used", message: "RoleLastUsed holds no LastUsedDate: the role has not been used (in the 400 days IAM tracks)."))
      sentence = "Never used, and the snapshot holds no creation date for the role: how long it has gone unused cannot be judged."
    }
    let name = CheckSupport.shell(role.name)
    return CheckResult(
      checkID: description.id, checkVersion: description.version, status: status, principal: PrincipalRef(role), reasons: reasons,
      notes: notes, why: sentence,
      remediation: status == .fail
        ? [
          "Confirm with the role's owner whether it is still needed: aws iam get-role --role-name \(name) --query Role.RoleLastUsed",
          "If not, delete it (its policies first): aws iam delete-role --role-name \(name)",
          "Or remove its privileged permissions, or record a deliberately dormant break-glass role in the exceptions register.",
        ] : [])
  }

  /// Whole days from `earlier` to `later` (0 when `later` is not after it).
  static func wholeDays(from earlier: Timestamp, to later: Timestamp) -> Int64 {
    max(0, (later.epochSeconds - earlier.epochSeconds) / 86_400)
  }

  /// Whether `later` is more than `seconds` after `earlier`, fractions of a second included (compared
  /// as numbers: `.5` and `.50` are the same instant).
  static func isMore(than seconds: Int64, from earlier: Timestamp, to later: Timestamp) -> Bool {
    let whole = later.epochSeconds - earlier.epochSeconds
    // Fractions are below one second, so only equal whole seconds need them.
    if whole != seconds { return whole > seconds }
    let width = max(later.fraction.count, earlier.fraction.count)
    func padded(_ f: String) -> String { f + String(repeating: "0", count: width - f.count) }
    return padded(later.fraction) > padded(earlier.fraction)
  }
}
