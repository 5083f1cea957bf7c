/// Judges IAM identity policies for KMS access on all keys.
///
/// Rules (exact, conservative):
/// * Actions: case-insensitive globs over `service:Action` (``IAMGlob/init(action:)``), judged against the
///   catalog; `NotAction` with Allow grants every target action no pattern matches.
/// * Keys: ``KeyScope``; an Allow counts when it reaches ``KeyScope/allKeys`` or wider.
/// * Allow statements add up (union). Conditions never narrow a grant (``PolicyNoteCode/conditional``).
/// * A Deny is credited only without Condition and on ``KeyScope/everyKey``; the policy passes only when
///   credited denies cover every granted target action (``PolicyNoteCode/neutralisedByDeny``). Anything less
///   leaves the verdict as granted, with ``PolicyNoteCode/partialDeny``, ``PolicyNoteCode/conditionalDeny``
///   or ``PolicyNoteCode/denyLimitedResources`` notes naming the statements.
/// * Grammar errors give ``PolicyVerdict/invalid(_:)``.
///
/// Target action names may be given as `Decrypt`, `kms:decrypt` or `kms:Decrypt`; results use the
/// catalog spelling with prefix (`kms:Decrypt`).
public struct KMSPolicyEvaluator: Sendable {
  public var catalog: KMSActionCatalog

  public init(catalog: KMSActionCatalog = .bundled) { self.catalog = catalog }

  // MARK: - Entry points

  /// Every catalog action on all keys: fails (grantsAll) only when the union covers the whole catalog.
  public func evaluateFullKMSAccess(_ document: PolicyDocument) -> PolicyEvaluation {
    evaluateActions(document, target: catalog.allActionNames)
  }

  /// `evaluateFullKMSAccess(_:)` (document form) on unparsed JSON (grammar errors → invalid).
  public func evaluateFullKMSAccess(_ json: JSONValue) -> PolicyEvaluation {
    evaluateActions(json, target: catalog.allActionNames)
  }

  /// Decrypt/ReEncryptFrom: any of them on all keys triggers (``PolicyVerdict/grantsAny``).
  public func evaluateDecrypt(_ document: PolicyDocument) -> PolicyEvaluation {
    evaluateActions(document, target: catalog.decryptActionNames)
  }

  /// `evaluateDecrypt(_:)` (document form) on unparsed JSON.
  public func evaluateDecrypt(_ json: JSONValue) -> PolicyEvaluation {
    evaluateActions(json, target: catalog.decryptActionNames)
  }

  /// Destructive actions (``KMSActionCatalog/destructiveActions``): any of them on all keys triggers.
  public func evaluateDestructive(_ document: PolicyDocument) -> PolicyEvaluation {
    evaluateActions(document, target: catalog.destructiveActionNames)
  }

  /// `evaluateDestructive(_:)` (document form) on unparsed JSON.
  public func evaluateDestructive(_ json: JSONValue) -> PolicyEvaluation {
    evaluateActions(json, target: catalog.destructiveActionNames)
  }

  /// Evaluates unparsed JSON: grammar errors give an ``PolicyVerdict/invalid(_:)`` evaluation.
  public func evaluateActions(_ json: JSONValue, target: Set<String>) -> PolicyEvaluation {
    switch PolicyDocument.parse(json) {
    case .success(let doc):
      return evaluateActions(doc, target: target)
    case .failure(let e):
      let first = e.errors.first.map(\.description) ?? "unknown problem"
      let more = e.errors.count > 1 ? " (and \(e.errors.count - 1) more)" : ""
      return PolicyEvaluation(
        verdict: .invalid(e.errors), target: canonicalTarget(target), grantedActions: [], deniedActions: [],
        offendingStatements: [], reasons: [], notes: [],
        why: "The policy document is invalid and cannot be judged: \(first)\(more).", statements: [],
        statementIsSingleObject: nil)
    }
  }

  /// Evaluates a parsed document against `target`.
  public func evaluateActions(_ document: PolicyDocument, target rawTarget: Set<String>) -> PolicyEvaluation {
    let target = canonicalTarget(rawTarget)
    return evaluate(document, target: target, explanations: document.statements.map { explain($0, target: target) })
  }

  /// Evaluates one document against several targets, globbing and scoping each statement once (for
  /// the union of the targets) and narrowing that explanation to each target: the same results as
  /// separate ``evaluateActions(_:target:)-(JSONValue,_)`` calls, for a fraction of the work.
  ///
  /// With `relevantOnly`, statements that match no target action are left out of
  /// ``PolicyEvaluation/statements`` (as ``PolicyEvaluation/keepingRelevantStatements()`` would) and
  /// their resources are never classified: the verdict and notes are the same, for much less work
  /// on the statements of other services that make up most of an account.
  public func evaluateActions(_ json: JSONValue, targets rawTargets: [Set<String>], relevantOnly: Bool = false)
    -> [PolicyEvaluation]
  {
    guard case .success(let document) = PolicyDocument.parse(json) else {
      return rawTargets.map { evaluateActions(json, target: $0) }
    }
    return evaluateActions(document, targets: rawTargets, relevantOnly: relevantOnly)
  }

  /// ``evaluateActions(_:targets:relevantOnly:)-(JSONValue,_,_)`` on a parsed document (a caller
  /// that also hands the document to the ``PolicyEngine`` parses it once for both).
  public func evaluateActions(_ document: PolicyDocument, targets rawTargets: [Set<String>], relevantOnly: Bool = false)
    -> [PolicyEvaluation]
  {
    let targets = rawTargets.map(canonicalTarget)
    let union = targets.reduce(into: Set<String>()) { $0.formUnion($1) }
    let statements = relevantOnly ? document.statements.filter { !matchedActions($0, target: union).isEmpty } : document.statements
    let base = statements.map { explain($0, target: union) }
    return targets.map { target in
      let e = evaluate(document, target: target, explanations: base.map { narrow($0, to: target) })
      return relevantOnly ? e.keepingRelevantStatements() : e
    }
  }

  /// An explanation made for a wider target, narrowed to `target` (reasons apply only while some target
  /// action is matched; the summary names the narrowed actions).
  func narrow(_ e: StatementExplanation, to target: Set<String>) -> StatementExplanation {
    var n = e
    n.matchedActions = e.matchedActions.isEmpty ? [] : e.matchedActions.intersection(target)
    if n.matchedActions.isEmpty { n.reasons = [] }
    n.target = target
    return n
  }

  /// The verdict of `document` from its statements' explanations for `target`.
  func evaluate(_ document: PolicyDocument, target: Set<String>, explanations: [StatementExplanation]) -> PolicyEvaluation {
    let contributing = explanations.filter(\.grantsOnAllKeys)
    let granted = contributing.reduce(into: Set<String>()) { $0.formUnion($1.matchedActions) }
    let credited = explanations.filter(\.isCreditedDeny)
    let denied = credited.reduce(into: Set<String>()) { $0.formUnion($1.matchedActions) }
    let specific = specificKeyNotes(explanations, source: nil)

    if granted.isEmpty {
      let why: String
      if target.isEmpty {
        why = "No target actions were given."
      } else if let note = specific.first {
        why = "No statement allows any of the \(targetPhrase(target)) on all keys; \(note.message)"
      } else {
        why = "No statement allows any of the \(targetPhrase(target)) on all keys."
      }
      return PolicyEvaluation(
        verdict: .grantsNone, target: target, grantedActions: [], deniedActions: denied, offendingStatements: [],
        reasons: [], notes: specific, why: why, statements: explanations,
        statementIsSingleObject: document.statementIsSingleObject)
    }

    if granted.isSubset(of: denied) {
      let allows = contributing.map(\.index)
      let denies = credited.filter { !$0.matchedActions.isDisjoint(with: granted) }.map(\.index)
      let message =
        "\(statementsPhrase(allows)) would allow \(Self.actionsPhrase(granted, of: target)) on all keys, but \(statementsPhrase(denies)) \(denies.count == 1 ? "denies" : "deny") them unconditionally on every key."
      return PolicyEvaluation(
        verdict: .grantsNone, target: target, grantedActions: granted, deniedActions: denied, offendingStatements: [],
        reasons: [],
        notes: [PolicyNote(code: .neutralisedByDeny, message: message, statements: allows + denies)] + specific,
        why: message, statements: explanations, statementIsSingleObject: document.statementIsSingleObject)
    }

    var notes: [PolicyNote] = []
    for s in contributing where s.isConditional {
      let cond = document.statements[s.index].condition
      notes.append(
        PolicyNote(
          code: .conditional,
          message:
            "Statement[\(s.index)] has a Condition (\(cond.map(JSONWriter.canonical) ?? "{}")); conditions do not narrow the grant.",
          statements: [s.index], condition: cond))
    }
    notes += denyNotes(
      explanations.map { (nil, $0, document.statements[$0.index].condition) }, granted: granted)
    notes += specific

    var reasons: [PolicyReasonCode] = []
    for s in contributing { for r in s.reasons where !reasons.contains(r) { reasons.append(r) } }
    if contributing.count > 1, !contributing.contains(where: { $0.matchedActions.isSuperset(of: granted) }) {
      reasons.append(.combinedStatements)
    }

    let verdict: PolicyVerdict = granted == target ? .grantsAll : .grantsSome
    let indexes = contributing.map(\.index)
    let how = reasons.filter { $0 != .combinedStatements }.map(\.rawValue).joined(separator: ", ")
    var why =
      "\(statementsPhrase(indexes)) \(indexes.count == 1 ? "allows" : "together allow") \(Self.actionsPhrase(granted, of: target)) on all keys (\(how))."
    if notes.contains(where: { $0.code == .conditional }) { why += " Conditions do not narrow the grant." }
    if let d = notes.first(where: { [.partialDeny, .conditionalDeny, .denyLimitedResources].contains($0.code) }) {
      why += " Deny statements mitigate it only in part (\(d.code.rawValue))."
    }
    return PolicyEvaluation(
      verdict: verdict, target: target, grantedActions: granted, deniedActions: denied, offendingStatements: indexes,
      reasons: reasons, notes: notes, why: why, statements: explanations,
      statementIsSingleObject: document.statementIsSingleObject)
  }

  // MARK: - Several sources and a permissions boundary

  /// ``effectiveAccess(sources:boundary:target:)`` for every catalog action.
  public func effectiveFullKMSAccess(sources: [PolicySource], boundary: PolicySource? = nil) -> EffectiveAccessEvaluation {
    effectiveAccess(sources: sources, boundary: boundary, target: catalog.allActionNames)
  }

  /// The effective access of a principal whose identity policies are `sources` (inline, attached
  /// managed, group policies: the caller picks and labels them), limited by the permissions `boundary`
  /// if any. See ``EffectiveAccessEvaluation``.
  public func effectiveAccess(
    sources: [PolicySource], boundary: PolicySource? = nil, target rawTarget: Set<String>
  ) -> EffectiveAccessEvaluation {
    let target = canonicalTarget(rawTarget)
    let evaluations = sources.map {
      SourceEvaluation(
        label: $0.label,
        evaluation: $0.evaluation.flatMap { $0.target == target ? $0 : nil } ?? evaluateActions($0.document, target: target))
    }
    let granted = evaluations.reduce(into: Set<String>()) { $0.formUnion($1.evaluation.grantedActions) }
    let denied = evaluations.reduce(into: Set<String>()) { $0.formUnion($1.evaluation.deniedActions) }

    var notes: [PolicyNote] = []
    var errors: [PolicyGrammarError] = []
    for s in evaluations where s.evaluation.verdict.isInvalid {
      let errs = s.evaluation.verdict.errors
      errors += errs.map { $0.labelled(s.label) }
      notes.append(
        PolicyNote(
          code: .sourceInvalid,
          message: "\(s.label) is invalid: \(errs.map(\.description).joined(separator: "; "))", source: s.label))
    }

    var boundaryEvaluation: SourceEvaluation?
    var boundaryAllowed: Set<String>?
    if let boundary {
      let e = boundary.evaluation.flatMap { $0.target == target ? $0 : nil } ?? evaluateActions(boundary.document, target: target)
      boundaryEvaluation = SourceEvaluation(label: boundary.label, evaluation: e)
      if e.verdict.isInvalid {
        notes.append(
          PolicyNote(
            code: .boundaryInvalid,
            message:
              "\(permissionsBoundaryPhrase(boundary.label)) is invalid and was ignored: \(e.verdict.errors.map(\.description).joined(separator: "; "))",
            source: boundary.label))
      } else {
        boundaryAllowed = e.grantedActions.subtracting(e.deniedActions)
      }
    }
    let bounded = boundaryAllowed.map { granted.intersection($0) } ?? granted
    if let boundaryAllowed, let boundary, !granted.isSubset(of: boundaryAllowed) {
      let outside = granted.subtracting(boundaryAllowed)
      notes.append(
        PolicyNote(
          code: .outsideBoundary,
          message:
            "\(permissionsBoundaryPhrase(boundary.label)) does not allow \(Self.actionsPhrase(outside, of: target)) on all keys; those grants are not effective.",
          source: boundary.label))
    }

    let grantingSources = evaluations.filter { !$0.evaluation.grantedActions.isDisjoint(with: bounded) }.map(\.label)
    let denyingSources = evaluations.filter { !$0.evaluation.deniedActions.isDisjoint(with: bounded) }.map(\.label)

    func result(_ verdict: PolicyVerdict, granting: [String], reasons: [PolicyReasonCode], why: String)
      -> EffectiveAccessEvaluation
    {
      EffectiveAccessEvaluation(
        verdict: verdict, target: target, grantedActions: granted, deniedActions: denied,
        boundaryAllowedActions: boundaryAllowed, boundedGrantedActions: bounded, grantingSources: granting,
        denyingSources: denyingSources, reasons: reasons, notes: notes, why: why, sources: evaluations,
        boundary: boundaryEvaluation)
    }
    let invalidSuffix = errors.isEmpty ? "" : " \(errors.count) grammar error(s) in the sources prevent a pass."

    if bounded.isEmpty {
      var why = "No source allows any of the \(targetPhrase(target)) on all keys"
      why += granted.isEmpty ? "." : " within the permissions boundary."
      return result(errors.isEmpty ? .grantsNone : .invalid(errors), granting: [], reasons: [], why: why + invalidSuffix)
    }
    if bounded.isSubset(of: denied) {
      let message =
        "\(grantingSources.joined(separator: ", ")) would allow \(Self.actionsPhrase(bounded, of: target)) on all keys, but \(denyingSources.joined(separator: ", ")) deny them unconditionally on every key."
      notes.insert(PolicyNote(code: .neutralisedByDeny, message: message), at: 0)
      return result(errors.isEmpty ? .grantsNone : .invalid(errors), granting: [], reasons: [], why: message + invalidSuffix)
    }

    var reasons: [PolicyReasonCode] = []
    for s in evaluations where grantingSources.contains(s.label) {
      for r in s.evaluation.reasons where !reasons.contains(r) { reasons.append(r) }
      for n in s.evaluation.notes where n.code == .conditional {
        var n = n
        n.source = s.label
        notes.append(n)
      }
    }
    if grantingSources.count > 1,
      !evaluations.contains(where: { $0.evaluation.grantedActions.isSuperset(of: bounded) })
    {
      reasons.append(.combinedSources)
    }
    var rows: [(String?, StatementExplanation, JSONValue?)] = []
    // Only Deny statements make notes, and only they need their Condition from the document: the
    // other sources are not parsed again (a broad AWS-managed policy attached to thousands of
    // identities would be, once per identity).
    for (source, s) in zip(sources, evaluations) where s.evaluation.statements.contains(where: { $0.effect == .deny }) {
      guard case .success(let doc) = PolicyDocument.parse(source.document) else { continue }
      rows += s.evaluation.statements.map { (s.label, $0, doc.statements[$0.index].condition) }
    }
    notes += denyNotes(rows, granted: bounded)

    // Short of the whole target, an invalid source (a grammar error, a repeated member name) might
    // complete the grant: that is never a pass.
    let verdict: PolicyVerdict = bounded == target ? .grantsAll : errors.isEmpty ? .grantsSome : .invalid(errors)
    var why =
      "\(grantingSources.joined(separator: ", ")) \(grantingSources.count == 1 ? "allows" : "together allow") \(Self.actionsPhrase(bounded, of: target)) on all keys\(boundaryAllowed == nil ? "" : " within the permissions boundary") (\(reasons.map(\.rawValue).joined(separator: ", ")))."
    // As for one policy: the sentence says what qualifies the grant, so that it never reads as
    // contradicting the notes beside it (a partial Deny is noted, and the grant still counts).
    if notes.contains(where: { $0.code == .conditional }) { why += " Conditions do not narrow the grant." }
    if let d = notes.first(where: { [.partialDeny, .conditionalDeny, .denyLimitedResources].contains($0.code) }) {
      why += " Deny statements mitigate it only in part (\(d.code.rawValue))."
    }
    return result(verdict, granting: grantingSources, reasons: reasons, why: verdict.isInvalid ? why + invalidSuffix : why)
  }

  // MARK: - Statements

  /// What one statement does with `target` (canonical full names).
  public func explain(_ statement: PolicyStatement, target: Set<String>) -> StatementExplanation {
    let relevant = relevantGlobs(statement)
    var matched = matchedActions(statement, target: target, relevant: relevant)
    // An action that takes only `Resource: "*"` (CreateKey, DisconnectCustomKeyStore...) is requested
    // on `*`, not on a key: a Deny reaches it only when its Resource matches the string `*` (or its
    // NotResource does not), as in the general engine. A Deny on `arn:aws:kms:*:*:key/*` leaves them
    // allowed. (An Allow on all keys is still taken to grant them: the conservative side.)
    if statement.effect == .deny, !matched.isDisjoint(with: catalog.wildcardOnlyActionNames) {
      let reachesStar: Bool
      switch statement.resources {
      case .resource(let p): reachesStar = p.contains { IAMGlob(resource: $0, variables: .opaque).matches("*") }
      case .notResource(let p): reachesStar = !p.contains { IAMGlob(resource: $0, variables: .wildcard).matches("*") }
      }
      if !reachesStar { matched.subtract(catalog.wildcardOnlyActionNames) }
    }
    // A policy variable is one value of the request, never a wildcard. Each element is read on the
    // conservative side of its effect: an Allow's Resource as widely as a variable could reach (as
    // `*`), the keys an Allow's NotResource leaves out and a Deny's Resource as narrowly (the variable
    // passes for no wildcard), and the keys a Deny's NotResource leaves out widely again.
    let scope: KeyScope
    switch (statement.resources, statement.effect) {
    case (.resource(let p), .allow): scope = KeyScope.of(resource: p, variables: .wildcard)
    case (.resource(let p), .deny): scope = KeyScope.of(resource: p, variables: .opaque)
    case (.notResource(let p), .allow): scope = KeyScope.of(notResource: p, variables: .opaque)
    case (.notResource(let p), .deny): scope = KeyScope.of(notResource: p, variables: .wildcard)
    }

    var reasons: [PolicyReasonCode] = []
    if statement.effect == .allow, !matched.isEmpty {
      switch statement.actions {
      case .notAction:
        reasons.append(.allowNotAction)
      case .action:
        let all = catalog.allActionNames
        // A pattern covering every catalog action can match `kms:`, so it is among the relevant ones.
        let covering = relevant.filter { g in all.allSatisfy { g.matches($0) } }
        if covering.contains(where: { $0.matches("\u{E000}:\u{E000}") && $0.matches("\u{E000}\u{E000}:\u{E000}\u{E000}") }) {
          reasons.append(.allowStar)
        } else if !covering.isEmpty {
          reasons.append(.allowKMSWildcard)
        } else {
          reasons.append(.allowActionList)
        }
      }
      if scope.coversAllKeys {
        switch statement.resources {
        case .resource(let p):
          reasons.append(p.contains { IAMGlob(resource: $0).isUniversal } ? .resourceStar : .resourceKeyWildcardARN)
        case .notResource:
          reasons.append(.notResource)
        }
      }
    }

    return StatementExplanation(
      index: statement.index, sid: statement.sid, effect: statement.effect, matchedActions: matched, keyScope: scope,
      isConditional: statement.isConditional, reasons: reasons, target: target)
  }

  /// The Action/NotAction patterns that can match a `kms:` action. The rest (most of a real account)
  /// are dropped by a byte check before any glob is built.
  func relevantGlobs(_ statement: PolicyStatement) -> [IAMGlob] {
    statement.actions.patterns.filter(IAMGlob.actionMayMatchKMS).map { IAMGlob(action: $0) }.filter { $0.mayMatch(prefix: "kms:") }
  }

  /// The target actions the statement's Action/NotAction matches, whatever its resources.
  func matchedActions(_ statement: PolicyStatement, target: Set<String>, relevant: [IAMGlob]? = nil) -> Set<String> {
    let relevant = relevant ?? relevantGlobs(statement)
    switch statement.actions {
    case .action: return relevant.isEmpty ? [] : target.filter { a in relevant.contains { $0.matches(a) } }
    case .notAction: return relevant.isEmpty ? target : target.filter { a in !relevant.contains { $0.matches(a) } }
    }
  }

  // MARK: - Helpers

  /// Target names in canonical form (`decrypt` → `kms:Decrypt`).
  public func canonicalTarget(_ target: Set<String>) -> Set<String> {
    // Targets built from the catalog's own name sets are canonical already: skip the per-name lookup.
    if target == catalog.allActionNames || target == catalog.decryptActionNames || target == catalog.destructiveActionNames {
      return target
    }
    return Set(target.map(catalog.canonicalName))
  }

  func specificKeyNotes(_ explanations: [StatementExplanation], source: String?) -> [PolicyNote] {
    explanations.filter { $0.effect == .allow && !$0.matchedActions.isEmpty && $0.keyScope == .someKeys }.map {
      PolicyNote(
        code: .specificKeys,
        message: "Statement[\($0.index)] allows \(Self.actionsPhrase($0.matchedActions, of: nil)) on specific keys only.",
        statements: [$0.index], source: source)
    }
  }

  /// Notes on Deny statements that touch `granted` but are not (fully) credited.
  func denyNotes(_ rows: [(source: String?, statement: StatementExplanation, condition: JSONValue?)], granted: Set<String>)
    -> [PolicyNote]
  {
    var notes: [PolicyNote] = []
    func label(_ source: String?, _ index: Int) -> String { (source.map { "\($0) " } ?? "") + "Statement[\(index)]" }
    for (source, s, condition) in rows where s.effect == .deny {
      let hit = s.matchedActions.intersection(granted)
      if hit.isEmpty || s.keyScope == .noKeys { continue }
      if s.isConditional {
        notes.append(
          PolicyNote(
            code: .conditionalDeny,
            message:
              "\(label(source, s.index)) denies \(Self.actionsPhrase(hit, of: granted)) only under a Condition (\(condition.map(JSONWriter.canonical) ?? "{}")); not credited.",
            statements: [s.index], condition: condition, source: source))
      } else if s.keyScope != .everyKey {
        notes.append(
          PolicyNote(
            code: .denyLimitedResources,
            message: "\(label(source, s.index)) denies \(Self.actionsPhrase(hit, of: granted)) on \(s.keyScope) only; not credited.",
            statements: [s.index], source: source))
      } else if !granted.isSubset(of: hit) {
        notes.append(
          PolicyNote(
            code: .partialDeny,
            message:
              "\(label(source, s.index)) denies \(Self.actionsPhrase(hit, of: granted)) on every key; \(granted.count - hit.count) granted action(s) remain.",
            statements: [s.index], source: source))
      }
    }
    return notes
  }

  func targetPhrase(_ target: Set<String>) -> String {
    target.count == 1 ? "target action \(target.first!)" : "\(target.count) target actions"
  }

  /// `all 55 target actions`, `both target actions (kms:Decrypt, kms:ReEncryptFrom)`, `kms:Decrypt`,
  /// `3 actions (kms:A, kms:B, kms:C)`, `no target action`.
  static func actionsPhrase(_ actions: Set<String>, of whole: Set<String>?) -> String {
    if actions.isEmpty { return "no target action" }
    let sorted = actions.sorted()
    if let whole, actions == whole, whole.count == 2 { return "both target actions (\(sorted.joined(separator: ", ")))" }
    if let whole, actions == whole, whole.count > 2 { return "all \(whole.count) target actions" }
    if sorted.count == 1 { return sorted[0] }
    let shown = sorted.prefix(6).joined(separator: ", ")
    return "\(sorted.count) actions (\(shown)\(sorted.count > 6 ? ", ..." : ""))"
  }

  func statementsPhrase(_ indexes: [Int]) -> String {
    indexes.count == 1 ? "Statement[\(indexes[0])]" : "Statements " + indexes.map(String.init).joined(separator: ", ")
  }
}
