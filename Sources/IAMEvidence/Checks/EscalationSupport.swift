/// What the two privilege-escalation checks share: the methods resolved against the engine's catalog,
/// which of them one document or identity makes available, and how that is put in words.
struct EscalationSupport {
  let methods: [EscalationMethod]
  /// One resolved target per method, in the same order.
  let targets: [ResolvedTarget]

  init(_ context: CheckContext, catalog: EscalationMethodCatalog = .bundled) {
    methods = catalog.methods
    targets = catalog.methods.map { context.resolved($0.target) }
  }

  /// The methods whose every action is in `allowed` (the only ones that can be available), with
  /// their targets.
  func candidates(allowed: ActionSet) -> [(EscalationMethod, ResolvedTarget)] {
    zip(methods, targets).filter { $0.1.actions.isSubset(of: allowed) }
  }

  /// The engine's answer for each candidate of `identity` (methods with an action allowed by no source
  /// cannot be available and are not asked about).
  func evaluate(_ engine: PolicyEngine, _ identity: IdentityPolicies) -> [(method: EscalationMethod, result: CapabilityResult)] {
    var allowed = ActionSet.empty
    for s in identity.sources where s.analysis.isValid { allowed.formUnion(s.analysis.allowed) }
    let asked = candidates(allowed: allowed)
    if asked.isEmpty { return [] }
    let results = engine.canPerform(identity, each: asked.map(\.1))
    return zip(asked.map(\.0), results).map { ($0, $1) }
  }

  /// The notes of every evaluated method, each distinct note once (methods share actions, so the
  /// same condition or Deny would otherwise be noted once per method); what the permissions boundary
  /// (`boundary`, its ARN) leaves out is one note naming the actions and the methods they break.
  static func notes(_ evaluated: [(method: EscalationMethod, result: CapabilityResult)], boundary: String? = nil) -> [ResultNote] {
    var seen = Set<ResultNote>()
    var notes: [ResultNote] = []
    var outside = Set<String>()
    var broken: [String] = []
    for e in evaluated {
      let rows = e.result.actions.filter(\.outsideBoundary).map(\.name)
      if !rows.isEmpty {
        outside.formUnion(rows)
        broken.append(e.method.id)
      }
      for n in e.result.notes.map(CheckSupport.note) where n.code != "outside-boundary" && seen.insert(n).inserted { notes.append(n) }
    }
    if !outside.isEmpty {
      // Named in full up to eight actions; a boundary that leaves out most of them is summed up.
      let actions = outside.sorted()
      let named =
        actions.count <= 8 ? actions.joined(separator: ", ") : actions.prefix(6).joined(separator: ", ") + " and \(actions.count - 6) more"
      let ids = broken.sorted().joined(separator: ", ")
      let methods =
        broken.count > 3 && broken.count == evaluated.count
        ? "none of the \(broken.count) methods whose actions the sources allow is available through it"
        : broken.count == 1 ? "method \(ids) is not available through it" : "methods \(ids) are not available through it"
      notes.append(
        ResultNote(
          code: "outside-boundary",
          message:
            "Permissions boundary \(boundary ?? "of the identity") does not allow \(named) on all resources: \(methods)."
        ))
    }
    return notes
  }

  /// The reasons of the available methods, each once, in first-seen order.
  static func reasons(_ available: [(method: EscalationMethod, result: CapabilityResult)]) -> [String] {
    var out: [String] = []
    for a in available { for r in a.result.reasons.map(\.rawValue) where !out.contains(r) { out.append(r) } }
    return out
  }

  /// `3 privilege-escalation methods are available: a, b, c` — with each method's actions and where
  /// they are allowed when there are at most three (`passrole-ec2 (iam:PassRole: Statement[0];
  /// ec2:RunInstances: Statement[1])`), the ids only otherwise. `where(row)` names what allows one
  /// action.
  static func sentence(_ available: [(method: EscalationMethod, result: CapabilityResult)], where place: (ActionCapability) -> String)
    -> String
  {
    let sorted = available.sorted { $0.method.id < $1.method.id }
    let n = sorted.count
    let list: String
    if n <= 3 {
      list = sorted.map { a in "\(a.method.id) (\(a.result.actions.map { "\($0.name): \(place($0))" }.joined(separator: "; ")))" }
        .joined(separator: ", ")
    } else {
      list = sorted.map(\.method.id).joined(separator: ", ")
    }
    let conditional = available.contains { $0.result.actions.contains(where: \.isConditionalOnly) }
    return availability(
      n, "(every action of \(n == 1 ? "it" : "each") allowed on all resources, none denied)", list, conditional: conditional)
  }

  /// `n privilege-escalation methods are available <where>: <list>.`, and that conditions do not
  /// narrow the grant when one is `conditional` only: the words of every escalation result's why.
  static func availability(_ n: Int, _ place: String, _ list: String, conditional: Bool) -> String {
    "\(n) privilege-escalation method\(n == 1 ? " is" : "s are") available \(place): \(list)."
      + (conditional ? " Conditions do not narrow the grant." : "")
  }
}
