/// What the two role-trust checks share: reading a role's trust policy, the `error` result of one that
/// cannot be judged, and the remediation commands.
enum TrustSupport {
  /// The role's parsed trust policy, or the `error` result when the snapshot holds none or it is not
  /// a valid trust policy (never a pass: nobody can tell who may assume the role).
  static func policy(_ context: CheckContext, _ role: Principal, check: CheckDescription) -> Result<TrustPolicy, ErrorResult> {
    guard let parsed = context.trustPolicy(of: role) else {
      return .failure(
        ErrorResult(
          CheckResult(
            checkID: check.id, checkVersion: check.version, status: .error, principal: PrincipalRef(role),
            notes: [ResultNote(code: "no-trust-policy", message: "The snapshot holds no AssumeRolePolicyDocument for this role.")],
            why: "The snapshot holds no trust policy for this role, so who may assume it cannot be judged.")))
    }
    switch parsed {
    case .success(let policy):
      return .success(policy)
    case .failure(let e):
      let first = e.errors.first.map(\.description) ?? "unknown problem"
      let more = e.errors.count > 1 ? " (and \(e.errors.count - 1) more)" : ""
      return .failure(
        ErrorResult(
          CheckResult(
            checkID: check.id, checkVersion: check.version, status: .error, principal: PrincipalRef(role),
            notes: e.errors.map {
              ResultNote(
                code: "invalid-grammar", message: "AssumeRolePolicyDocument \($0.description)",
                statements: $0.statementIndex.map { [$0] } ?? [])
            },
            why: "The trust policy (AssumeRolePolicyDocument) is not a valid trust policy and cannot be judged: \(first)\(more).")))
    }
  }

  /// A result that stands for a role that cannot be judged.
  struct ErrorResult: Error {
    var result: CheckResult
    init(_ result: CheckResult) { self.result = result }
  }

  /// `Statement[0]` (the document index of statement `i`).
  static func label(_ i: Int) -> String { "Statement[\(i)]" }

  /// Review the trust policy, then replace it (`aws iam get-role` / `update-assume-role-policy`).
  static func remediation(_ role: Principal, replacement: String) -> [String] {
    let name = CheckSupport.shell(role.name)
    return [
      "Review who may assume the role: aws iam get-role --role-name \(name) --query Role.AssumeRolePolicyDocument",
      "Replace the trust policy with \(replacement): aws iam update-assume-role-policy --role-name \(name) --policy-document file://trust-policy.json",
    ]
  }
}
