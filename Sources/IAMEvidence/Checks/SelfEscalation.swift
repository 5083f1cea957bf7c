/// Self-escalation for `privilege-escalation-identity`: a method whose action is allowed on the one
/// concrete ARN that makes it an escalation for the identity itself (its own user or role, a group it
/// belongs to, a customer-managed policy attached to it), not only on all resources.
/// `privilege-escalation-policy` asks the same questions of one document alone for each identity that
/// holds it (and of a policy nobody holds, `aws:username` unknown, for CreatePolicyVersion on itself).
///
/// Matching one ARN (exact, conservative; see the README):
/// * a statement matches when its Action/NotAction matches the action and one `Resource` pattern
///   matches the ARN as a case-sensitive glob (`*`, `?`), or, for `NotResource`, none does;
/// * `${aws:username}` is the user's name; a role's request has no `aws:username`, so the variable has
///   no value and the pattern matches nothing (unless it names a default, `${aws:username, 'x'}`);
///   `${*}`, `${?}`, `${$}` are the literal characters;
/// * any other variable reaches as far as `*` in an Allow (never miss an escalation), and is one unknown
///   value that matches no ARN in a Deny (a Deny is credited only when it surely applies); a document
///   whose `Version` is not `2012-10-17` has no variables (AWS reads them as text; no IAM ARN holds `$`),
///   so its Deny patterns holding `${` match nothing;
/// * Allows of all sources add up, conditions do not narrow them; a Deny is credited only without
///   Condition and by `Resource`; a valid permissions boundary must allow the action on the ARN (same
///   matching on its statements, minus its own credited Denies).
struct SelfEscalation {
  /// One question: is `action` allowed on `arn` (`place` says what the ARN is to the identity)?
  struct Target: Sendable, Hashable {
    var method: String
    var action: String
    var arn: String
    /// `its own ARN`, `the ARN of its group dev-team`, `the ARN of its attached policy ...`.
    var place: String
  }

  /// The answer to one ``Target``.
  struct Finding: Sendable {
    var target: Target
    var allowedBy: [StatementRef]
    var conditionalAllows: [StatementRef]
    var deniedBy: [StatementRef]
    var outsideBoundary: Bool
    var isAvailable: Bool { !allowedBy.isEmpty && deniedBy.isEmpty && !outsideBoundary }
    var sources: [Int] { Array(Set(allowedBy.map(\.source))).sorted() }
  }

  static let userMethods = [("iam-put-user-policy", "iam:PutUserPolicy"), ("iam-attach-user-policy", "iam:AttachUserPolicy")]
  static let groupMethods = [("iam-put-group-policy", "iam:PutGroupPolicy"), ("iam-attach-group-policy", "iam:AttachGroupPolicy")]
  static let roleMethods = [("iam-put-role-policy", "iam:PutRolePolicy"), ("iam-attach-role-policy", "iam:AttachRolePolicy")]
  static let policyMethod = ("iam-create-policy-version", "iam:CreatePolicyVersion")
  /// Every action a self-escalation method asks about (a document that matches none has none).
  static let actions: [String] = (userMethods + groupMethods + roleMethods + [policyMethod]).map(\.1)

  /// The questions for `principal` (a user or role), skipping the methods in `skip` (already available
  /// on all resources).
  static func targets(_ principal: Principal, groupsByName: [String: Principal], skip: Set<String>) -> [Target] {
    var out: [Target] = []
    let own = principal.type == .role ? roleMethods : userMethods
    for (m, a) in own where !skip.contains(m) { out.append(Target(method: m, action: a, arn: principal.arn, place: "its own ARN")) }
    var attached = principal.attachedPolicies.map(\.arn)
    if principal.type == .user {
      for name in principal.groups {
        guard let g = groupsByName[name] else { continue }
        for (m, a) in groupMethods where !skip.contains(m) {
          out.append(Target(method: m, action: a, arn: g.arn, place: "the ARN of its group \(name)"))
        }
        attached += g.attachedPolicies.map(\.arn)
      }
    }
    if !skip.contains(policyMethod.0) {
      var seen = Set<String>()
      for arn in attached where isCustomerManaged(arn) && seen.insert(arn).inserted {
        out.append(Target(method: policyMethod.0, action: policyMethod.1, arn: arn, place: "the ARN of its attached policy"))
      }
    }
    return out
  }

  /// Whether a managed-policy ARN is customer-managed (its account field is not `aws`).
  static func isCustomerManaged(_ arn: String) -> Bool {
    let fields = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
    return fields.count < 5 || fields[4] != "aws"
  }

  /// What the request context says of `aws:username` for an identity: a user's name, no value for a role.
  static func username(of principal: Principal) -> IAMGlob.VariableValue { principal.type == .user ? .value(principal.name) : .absent }

  /// What the request context says of a variable key (lower-cased) for this identity, whose
  /// `aws:username` is `username` (``IAMGlob/VariableValue/unknown`` when the identity is any holder).
  static func value(_ key: String, username: IAMGlob.VariableValue) -> IAMGlob.VariableValue {
    key == "aws:username" ? username : .unknown
  }

  /// Whether `element` of a statement with `effect` reaches `arn` (the rules above).
  static func reaches(
    _ element: ResourceElement, _ effect: PolicyEffect, arn: String, username: IAMGlob.VariableValue, variables: Bool
  ) -> Bool {
    func glob(_ p: String, _ reading: IAMGlob.VariableReading) -> IAMGlob {
      IAMGlob(resource: p, unknown: reading) { value($0, username: username) }
    }
    switch (element, effect) {
    case (.resource(let patterns), .allow):
      return patterns.contains { glob($0, .wildcard).matches(arn) }
    case (.notResource(let patterns), .allow):
      // The excluded patterns read narrowly (an unknown variable excludes nothing it might not).
      return !patterns.contains { glob($0, .opaque).matches(arn) }
    case (.resource(let patterns), .deny):
      return patterns.contains { p in
        if !variables && p.contains("${") { return false }
        return glob(p, .opaque).matches(arn)
      }
    case (.notResource, .deny):
      return false
    }
  }

  /// The answer for each target, given the identity's sources and boundary (`privilege-escalation-policy`
  /// asks with one document as the only source and no boundary). `username` is the identity's
  /// `aws:username` (``username(of:)``; `unknown` for whoever may hold a policy).
  static func evaluate(
    _ targets: [Target], _ identity: IdentityPolicies, catalog: ActionCatalog, username: IAMGlob.VariableValue
  ) -> [Finding] {
    targets.compactMap { t in
      guard let a = catalog.index(of: t.action) else { return nil }
      var f = Finding(target: t, allowedBy: [], conditionalAllows: [], deniedBy: [], outsideBoundary: false)
      for (i, source) in identity.sources.enumerated() where source.analysis.isValid && source.analysis.matched.contains(a) {
        let variables = source.analysis.recognisesVariables
        for s in source.analysis.statements where s.matched.contains(a) {
          let ref = StatementRef(source: i, statement: s.index)
          switch s.effect {
          case .allow:
            if reaches(s.resources, .allow, arn: t.arn, username: username, variables: variables) {
              f.allowedBy.append(ref)
              if s.isConditional { f.conditionalAllows.append(ref) }
            }
          case .deny:
            if !s.isConditional && reaches(s.resources, .deny, arn: t.arn, username: username, variables: variables) {
              f.deniedBy.append(ref)
            }
          }
        }
      }
      // A boundary that is missing or invalid is judged without (as for all resources; noted there).
      if let b = identity.boundary, b.analysis.isValid, !f.allowedBy.isEmpty {
        let variables = b.analysis.recognisesVariables
        let statements = b.analysis.statements.filter { $0.matched.contains(a) }
        let allows = statements.contains {
          $0.effect == .allow && reaches($0.resources, .allow, arn: t.arn, username: username, variables: variables)
        }
        let denies = statements.contains {
          $0.effect == .deny && !$0.isConditional && reaches($0.resources, .deny, arn: t.arn, username: username, variables: variables)
        }
        f.outsideBoundary = !allows || denies
      }
      return f
    }
  }
}
