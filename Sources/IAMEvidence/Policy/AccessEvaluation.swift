/// One labelled source of permissions with its analysis: a policy document, or one of an identity's
/// policies (`inline admin`, `managed arn:aws:iam::aws:policy/AdministratorAccess`, ...).
public struct AnalysedSource: Sendable, Hashable {
  /// How notes and sentences name the source; empty for a lone document (notes then name statements only).
  public var label: String
  public var analysis: PolicyAnalysis

  public init(label: String, analysis: PolicyAnalysis) {
    self.label = label
    self.analysis = analysis
  }
}

/// Everything that applies to one identity, as the engine needs it: its sources (inline, attached
/// managed and group policies), its permissions boundary, and what is missing from the snapshot.
public struct IdentityPolicies: Sendable, Hashable {
  public var sources: [AnalysedSource]
  /// The permissions boundary, when the identity has one that is in the snapshot.
  public var boundary: AnalysedSource?
  /// Labels of attached policies missing from the snapshot: they may grant anything.
  public var unknownPolicies: [String]
  /// The label (ARN) of a permissions boundary missing from the snapshot: judged without it (a
  /// boundary only narrows, so a result that does not hold without it does not hold with it either).
  public var unknownBoundary: String?
  /// For the unknown policies and boundary (by label) that are in the snapshot but whose default
  /// version the snapshot disagrees on: how it disagrees (noted `default-version-inconsistent`
  /// instead of `unknown-policy`; judged the same way).
  public var inconsistentDefaults: [String: String]

  public init(
    sources: [AnalysedSource], boundary: AnalysedSource? = nil, unknownPolicies: [String] = [], unknownBoundary: String? = nil,
    inconsistentDefaults: [String: String] = [:]
  ) {
    self.sources = sources
    self.boundary = boundary
    self.unknownPolicies = unknownPolicies
    self.unknownBoundary = unknownBoundary
    self.inconsistentDefaults = inconsistentDefaults
  }

  /// A lone document as the only source (unlabelled).
  public init(document: PolicyAnalysis) { self.init(sources: [AnalysedSource(label: "", analysis: document)]) }
}

/// A statement of one of the sources: `sources[source].analysis` statement with document index `statement`.
public struct StatementRef: Sendable, Hashable, Comparable {
  /// Index into ``IdentityPolicies/sources`` (0 for a lone document).
  public var source: Int
  /// The statement's 0-based index in its document.
  public var statement: Int

  public init(source: Int, statement: Int) {
    self.source = source
    self.statement = statement
  }

  public static func < (a: StatementRef, b: StatementRef) -> Bool { (a.source, a.statement) < (b.source, b.statement) }
}

/// The answer to "holds full access to target T?".
public enum AccessVerdict: String, Sendable, Hashable {
  /// Every target action is allowed on all resources, and unconditional Denies on all resources do not
  /// deny every one of them.
  case holds
  /// Some target actions, not all, are allowed on all resources (and not every one of those denied).
  case partial
  /// No target action is allowed on all resources, or every allowed one is denied.
  case none
  /// It does not hold on what is known, but an invalid or missing policy might make it hold (never a
  /// silent pass). A lone invalid document always gives this.
  case error
}

/// The evaluation of "holds full access to target T" for a document or an identity.
///
/// The sets, statements and reasons are computed with the verdict; ``notes`` and ``why`` are composed
/// when asked (an account has tens of thousands of results and most are never explained at length),
/// so read each once.
public struct AccessResult: Sendable {
  public let verdict: AccessVerdict
  public let target: ResolvedTarget
  /// Target actions allowed on all resources by the sources (within the boundary), before Deny.
  public let granted: ActionSet
  /// Target actions denied unconditionally on all resources by some source.
  public let denied: ActionSet
  /// Target actions the sources allow on all resources but the permissions boundary does not.
  public let outsideBoundary: ActionSet
  /// Target actions not granted that an invalid or missing policy might still grant (empty when every
  /// source is known and valid): what an "any of T" check needs to tell `error` from a pass.
  public let indeterminate: ActionSet
  /// Allow statements reaching granted target actions on all resources, by source then document
  /// order (empty when nothing is granted or every grant is denied).
  public let grantingStatements: [StatementRef]
  /// Indexes of the sources of ``grantingStatements``, sorted.
  public let grantingSources: [Int]
  /// Unconditional Deny statements reaching granted target actions on all resources.
  public let denyingStatements: [StatementRef]
  /// Why the statements grant (`allow-star`, `resource-star`, ..., `combined-statements`,
  /// `combined-sources`); empty when nothing is granted or every grant is denied.
  public let reasons: [PolicyReasonCode]
  /// Grammar errors of invalid sources (labelled with the source in multi-source evaluations).
  public let errors: [PolicyGrammarError]
  let explainer: Explainer

  /// Granted minus denied.
  public var effective: ActionSet { granted.subtracting(denied) }

  /// Whether every granted target action is denied (the grant is neutralised).
  public var isNeutralised: Bool { !granted.isEmpty && granted.isSubset(of: denied) }

  /// Statement indexes of source 0 among ``grantingStatements`` (a lone document's offending statements).
  public var grantingStatementIndexes: [Int] { grantingStatements.filter { $0.source == 0 }.map(\.statement) }

  /// Qualifications: `conditional` (with the condition), `neutralised-by-deny`, `partial-deny`,
  /// `conditional-deny`, `deny-limited-resources`, `outside-boundary`, `boundary-invalid`,
  /// `source-invalid`, `unknown-policy`. Composed on each access.
  public var notes: [PolicyNote] { explainer.notes(of: self) }

  /// One sentence explaining the verdict. Composed on each access.
  public var why: String { explainer.why(of: self) }

  /// Whether some note has `code`.
  public func hasNote(_ code: PolicyNoteCode) -> Bool { notes.contains { $0.code == code } }
}

/// "Can perform action set S?": yes, no, or error.
public enum CapabilityVerdict: String, Sendable, Hashable {
  /// Every action of S is allowed on all resources and none is denied unconditionally on all resources.
  case can
  /// Some action of S is not allowed on all resources, or is denied.
  case cannot
  /// Not on what is known, but an invalid or missing policy might allow the missing actions.
  case error
}

/// One action of a capability: who allows it on all resources, who denies it.
public struct ActionCapability: Sendable, Hashable {
  /// The catalog index.
  public var action: Int
  /// `iam:PassRole`.
  public var name: String
  /// Allow statements reaching it on all resources (conditional ones included).
  public var allowedBy: [StatementRef]
  /// The subset of ``allowedBy`` with a Condition.
  public var conditionalAllows: [StatementRef]
  /// Unconditional Deny statements reaching it on all resources.
  public var deniedBy: [StatementRef]
  /// Allow statements that match it on some resources only (not a grant on all resources).
  public var limitedBy: [StatementRef]
  /// Allowed by the sources, but not by the permissions boundary.
  public var outsideBoundary: Bool

  /// Allowed on all resources within the boundary.
  public var isAllowed: Bool { !allowedBy.isEmpty && !outsideBoundary }
  /// Allowed and not denied.
  public var isPerformable: Bool { isAllowed && deniedBy.isEmpty }
  /// Every allowing statement has a Condition.
  public var isConditionalOnly: Bool { !allowedBy.isEmpty && conditionalAllows.count == allowedBy.count }
  /// The sources of ``allowedBy``, sorted.
  public var sources: [Int] { Array(Set(allowedBy.map(\.source))).sorted() }
}

/// The evaluation of "can perform action set S" for a document or an identity. ``notes`` and ``why``
/// are composed when asked (see ``AccessResult``).
public struct CapabilityResult: Sendable {
  public let verdict: CapabilityVerdict
  public let target: ResolvedTarget
  /// Every action of S, in catalog order.
  public let actions: [ActionCapability]
  /// The sources that allow some action of S on all resources, sorted (empty unless ``verdict`` is `can`).
  public let sources: [Int]
  /// Why the statements grant S (empty unless ``verdict`` is `can`).
  public let reasons: [PolicyReasonCode]
  public let errors: [PolicyGrammarError]
  let explainer: Explainer

  /// Qualifications: `conditional`, `conditional-deny`, `deny-limited-resources`, `partial-deny`
  /// (when it can), `neutralised-by-deny` per denied action (when it cannot), `outside-boundary` and
  /// the notes on missing and invalid policies. Composed on each access.
  public var notes: [PolicyNote] { explainer.notes(of: self) }

  /// One sentence. Composed on each access.
  public var why: String { explainer.why(of: self) }

  /// Whether some note has `code`.
  public func hasNote(_ code: PolicyNoteCode) -> Bool { notes.contains { $0.code == code } }
}

extension PolicyEngine {
  // MARK: - Full access

  /// Whether a lone document holds full access to `target` (see ``AccessResult``).
  public func fullAccess(_ document: PolicyAnalysis, target: ResolvedTarget) -> AccessResult {
    fullAccess(IdentityPolicies(document: document), target: target)
  }

  /// Whether an identity holds full access to `target`: every target action allowed on all resources by
  /// the union of its sources within its boundary, and unconditional Denies on all resources of its
  /// sources not denying every one of them.
  public func fullAccess(_ identity: IdentityPolicies, target: ResolvedTarget) -> AccessResult {
    let t = target.actions
    let explainer = Explainer(catalog: catalog, identity: identity)
    let valid = explainer.valid
    var grantedRaw = ActionSet.empty
    var denied = ActionSet.empty
    for i in valid {
      grantedRaw.formUnion(identity.sources[i].analysis.allowed.intersection(t))
      denied.formUnion(identity.sources[i].analysis.denied.intersection(t))
    }
    let granted = explainer.boundaryAllowed.map { grantedRaw.intersection($0) } ?? grantedRaw
    let outside = grantedRaw.subtracting(granted)
    let holds = !t.isEmpty && t.isSubset(of: granted) && !t.isSubset(of: denied)
    // What a missing or invalid source might grant: any target action the boundary allows, denied ones
    // included (full access holds despite a partial Deny, so a denied action must count as grantable).
    let couldGrant = explainer.indeterminate ? t.intersection(explainer.boundaryAllowed ?? catalog.all) : .empty
    let couldHold = explainer.indeterminate && !t.isEmpty && t.isSubset(of: granted.union(couldGrant)) && !t.isSubset(of: denied)
    let neutralised = !granted.isEmpty && granted.isSubset(of: denied)
    let verdict: AccessVerdict = holds ? .holds : couldHold ? .error : (granted.isEmpty || neutralised) ? .none : .partial

    var statements: [StatementRef] = []
    var denying: [StatementRef] = []
    var reasons: [PolicyReasonCode] = []
    if !granted.isEmpty {
      statements = explainer.allowing(granted)
      denying = explainer.denying(granted)
      if !neutralised { reasons = explainer.reasons(statements, granted: granted) } else { statements = [] }
    }
    return AccessResult(
      verdict: verdict, target: target, granted: granted, denied: denied, outsideBoundary: outside,
      indeterminate: couldGrant.subtracting(granted), grantingStatements: statements,
      grantingSources: Explainer.sources(of: statements), denyingStatements: denying, reasons: reasons, errors: explainer.errors,
      explainer: explainer)
  }

  // MARK: - Capabilities

  /// Whether a lone document can perform every action of `actions` (see ``CapabilityResult``).
  public func canPerform(_ document: PolicyAnalysis, actions: ResolvedTarget) -> CapabilityResult {
    canPerform(IdentityPolicies(document: document), actions: actions)
  }

  /// Whether an identity can perform every action of `actions`: each allowed on all resources by some
  /// source (the sources add up) within the boundary, and none denied unconditionally on all resources.
  /// Reports, per action, which statements of which sources allow it.
  public func canPerform(_ identity: IdentityPolicies, actions target: ResolvedTarget) -> CapabilityResult {
    canPerform(identity, each: [target])[0]
  }

  /// ``canPerform(_:actions:)-(IdentityPolicies,_)`` for several action sets at once (escalation
  /// methods share actions such as `iam:PassRole`): each action is looked up once. Results in the
  /// order of `targets`.
  public func canPerform(_ identity: IdentityPolicies, each targets: [ResolvedTarget]) -> [CapabilityResult] {
    let explainer = Explainer(catalog: catalog, identity: identity)
    // Rows already computed, by action (a short list: methods name a few actions each).
    var rows: [ActionCapability] = []
    func row(_ a: Int, _ name: String) -> ActionCapability {
      if let known = rows.first(where: { $0.action == a }) { return known }
      var row = ActionCapability(
        action: a, name: name, allowedBy: [], conditionalAllows: [], deniedBy: [], limitedBy: [], outsideBoundary: false)
      for i in explainer.valid {
        let analysis = identity.sources[i].analysis
        // Most documents touch none of the actions asked about: skip them at the document level.
        if !analysis.matched.contains(a) { continue }
        for s in analysis.statements where s.matched.contains(a) {
          let ref = StatementRef(source: i, statement: s.index)
          let onAll = s.onAllResources.contains(a)
          switch s.effect {
          case .allow:
            if onAll {
              row.allowedBy.append(ref)
              if s.isConditional { row.conditionalAllows.append(ref) }
            } else {
              row.limitedBy.append(ref)
            }
          case .deny:
            if onAll && !s.isConditional { row.deniedBy.append(ref) }
          }
        }
      }
      if let allowed = explainer.boundaryAllowed, !row.allowedBy.isEmpty, !allowed.contains(a) { row.outsideBoundary = true }
      if targets.count > 1 { rows.append(row) }
      return row
    }
    return targets.map { target in
      let indexes = target.actions.indexes
      let names = target.names ?? catalog.names(of: target.actions)
      let capabilities = zip(indexes, names).map { row($0, $1) }
      let can = !capabilities.isEmpty && capabilities.allSatisfy(\.isPerformable)
      // Missing actions that an unknown or invalid source might still allow: none is denied, and the
      // boundary (if any) allows them.
      let couldComplete =
        explainer.indeterminate && !capabilities.isEmpty && !capabilities.contains { !$0.deniedBy.isEmpty }
        && capabilities.filter { !$0.isAllowed }.allSatisfy { explainer.boundaryAllowed?.contains($0.action) ?? true }
      let verdict: CapabilityVerdict = can ? .can : couldComplete ? .error : .cannot
      var sources: [Int] = []
      var reasons: [PolicyReasonCode] = []
      if can {
        let allowing = Array(Set(capabilities.flatMap(\.allowedBy))).sorted()
        sources = Explainer.sources(of: allowing)
        reasons = explainer.reasons(allowing, granted: target.actions)
      }
      return CapabilityResult(
        verdict: verdict, target: target, actions: capabilities, sources: sources, reasons: reasons, errors: explainer.errors,
        explainer: explainer)
    }
  }

  /// ``canPerform(_:each:)`` for a lone document.
  public func canPerform(_ document: PolicyAnalysis, each targets: [ResolvedTarget]) -> [CapabilityResult] {
    canPerform(IdentityPolicies(document: document), each: targets)
  }
}

/// What both questions share, and how their results are put in words: the valid sources, the
/// boundary, the missing and invalid policies, and how to name statements.
struct Explainer: Sendable {
  let catalog: ActionCatalog
  let identity: IdentityPolicies
  /// Indexes of the valid sources.
  var valid: LazyFilterSequence<Range<Int>> {
    let sources = identity.sources
    return sources.indices.lazy.filter { sources[$0].analysis.isValid }
  }
  let errors: [PolicyGrammarError]
  /// What the boundary allows on all resources (its Allows minus its own credited Denies); nil: none.
  let boundaryAllowed: ActionSet?
  /// Some source is invalid or missing: what it grants is unknown.
  let indeterminate: Bool
  /// A lone unlabelled document.
  let single: Bool

  init(catalog: ActionCatalog, identity: IdentityPolicies) {
    self.catalog = catalog
    self.identity = identity
    let single = identity.sources.count == 1 && identity.sources[0].label.isEmpty && identity.boundary == nil
    self.single = single
    var errors: [PolicyGrammarError] = []
    var invalid = 0
    for s in identity.sources where !s.analysis.isValid {
      invalid += 1
      if single {
        errors += s.analysis.errors
      } else {
        errors += s.analysis.errors.map { $0.labelled(s.label) }
      }
    }
    self.errors = errors
    indeterminate = invalid > 0 || !identity.unknownPolicies.isEmpty
    if let b = identity.boundary, b.analysis.isValid { boundaryAllowed = b.analysis.effective } else { boundaryAllowed = nil }
  }

  static func sources(of refs: [StatementRef]) -> [Int] { Array(Set(refs.map(\.source))).sorted() }

  /// Allow statements reaching some of `granted` on all resources.
  func allowing(_ granted: ActionSet) -> [StatementRef] {
    var refs: [StatementRef] = []
    for i in valid {
      let a = identity.sources[i].analysis
      if a.allowed.isDisjoint(with: granted) { continue }
      for s in a.statements where s.effect == .allow && !s.onAllResources.isDisjoint(with: granted) {
        refs.append(StatementRef(source: i, statement: s.index))
      }
    }
    return refs
  }

  /// Credited Deny statements reaching some of `granted` on all resources.
  func denying(_ granted: ActionSet) -> [StatementRef] {
    var refs: [StatementRef] = []
    for i in valid {
      let a = identity.sources[i].analysis
      if a.denied.isDisjoint(with: granted) { continue }
      for s in a.statements where s.isCreditedDeny && !s.onAllResources.isDisjoint(with: granted) {
        refs.append(StatementRef(source: i, statement: s.index))
      }
    }
    return refs
  }

  func statement(_ ref: StatementRef) -> AnalysedStatement? { identity.sources[ref.source].analysis.statement(ref.statement) }

  /// The reasons of the granting statements, then `combined-statements` / `combined-sources` when no
  /// single statement (of a source) / source grants it all.
  func reasons(_ refs: [StatementRef], granted: ActionSet) -> [PolicyReasonCode] {
    var reasons: [PolicyReasonCode] = []
    var combinedStatements = false
    var someSourceAlone = false
    let sources = Self.sources(of: refs)
    for i in sources {
      let mine = refs.filter { $0.source == i }
      let analysis = identity.sources[i].analysis
      let ofSource = analysis.allowed.intersection(granted)
      if ofSource == granted { someSourceAlone = true }
      var alone = false
      for ref in mine {
        guard let s = analysis.statement(ref.statement) else { continue }
        for r in s.reasons where !reasons.contains(r) { reasons.append(r) }
        if s.onAllResources.intersection(ofSource) == ofSource { alone = true }
      }
      if mine.count > 1 && !alone { combinedStatements = true }
    }
    if combinedStatements { reasons.append(.combinedStatements) }
    if sources.count > 1 && !someSourceAlone { reasons.append(.combinedSources) }
    return reasons
  }

  // MARK: - Words

  func label(_ ref: StatementRef) -> String {
    single ? "Statement[\(ref.statement)]" : "\(identity.sources[ref.source].label) Statement[\(ref.statement)]"
  }

  /// `Statement[0]`, `Statements 0, 2`, `inline a Statement[0], managed arn:... Statement[1]`.
  func refs(_ refs: [StatementRef]) -> String {
    if refs.isEmpty { return "no statement" }
    if single {
      return refs.count == 1 ? "Statement[\(refs[0].statement)]" : "Statements " + refs.map { String($0.statement) }.joined(separator: ", ")
    }
    return refs.map(label).joined(separator: ", ")
  }

  /// Statement indexes for a note (only meaningful for a lone document; a multi-source note names its
  /// source instead).
  func indexes(_ refs: [StatementRef]) -> [Int] { single ? Array(Set(refs.map(\.statement))).sorted() : [] }

  func sourceLabel(_ ref: StatementRef) -> String? { single ? nil : identity.sources[ref.source].label }

  /// The notes about invalid and missing policies and the boundary.
  var baseNotes: [PolicyNote] {
    var notes: [PolicyNote] = []
    if !single {
      for s in identity.sources where !s.analysis.isValid {
        notes.append(
          PolicyNote(
            code: .sourceInvalid, message: "\(s.label) is invalid: \(s.analysis.errors.map(\.description).joined(separator: "; "))",
            source: s.label))
      }
    }
    for label in identity.unknownPolicies {
      if let d = identity.inconsistentDefaults[label] {
        notes.append(
          PolicyNote(
            code: .defaultVersionInconsistent,
            message: "\(label): the snapshot disagrees on its default version (\(d)); its grants are unknown.", source: label))
      } else {
        notes.append(PolicyNote(code: .unknownPolicy, message: "\(label) is not in the snapshot; its grants are unknown.", source: label))
      }
    }
    if let b = identity.boundary, !b.analysis.isValid {
      notes.append(
        PolicyNote(
          code: .boundaryInvalid,
          message:
            "\(permissionsBoundaryPhrase(b.label)) is invalid and was ignored: \(b.analysis.errors.map(\.description).joined(separator: "; "))",
          source: b.label))
    }
    if let b = identity.unknownBoundary, let d = identity.inconsistentDefaults[b] {
      notes.append(
        PolicyNote(
          code: .defaultVersionInconsistent,
          message:
            "\(permissionsBoundaryPhrase(b)): the snapshot disagrees on its default version (\(d)); judged without it (a boundary can only narrow the grant).",
          source: b))
    } else if let b = identity.unknownBoundary {
      notes.append(
        PolicyNote(
          code: .unknownPolicy,
          message: "\(permissionsBoundaryPhrase(b)) is not in the snapshot; judged without it (a boundary can only narrow the grant).",
          source: b))
    }
    return notes
  }

  func outsideNote(_ outside: ActionSet, of whole: ActionSet) -> PolicyNote? {
    guard !outside.isEmpty, let b = identity.boundary else { return nil }
    return PolicyNote(
      code: .outsideBoundary,
      message:
        "\(permissionsBoundaryPhrase(b.label)) does not allow \(catalog.phrase(outside, of: whole)) on all resources; those grants are not effective.",
      source: b.label)
  }

  func conditionalNotes(_ refs: [StatementRef]) -> [PolicyNote] {
    refs.compactMap { ref in
      guard let s = statement(ref), let json = s.conditionJSON else { return nil }
      return PolicyNote(
        code: .conditional, message: "\(label(ref)) has a Condition (\(json)); conditions do not narrow the grant.",
        statements: [ref.statement], condition: s.condition, source: sourceLabel(ref))
    }
  }

  /// Notes on Deny statements that touch `granted` without being credited for all of it.
  func denyNotes(granted: ActionSet) -> [PolicyNote] {
    var notes: [PolicyNote] = []
    for i in valid {
      for s in identity.sources[i].analysis.statements where s.effect == .deny {
        let hit = s.matched.intersection(granted)
        if hit.isEmpty { continue }
        let ref = StatementRef(source: i, statement: s.index)
        if let json = s.conditionJSON {
          notes.append(
            PolicyNote(
              code: .conditionalDeny,
              message: "\(label(ref)) denies \(catalog.phrase(hit, of: granted)) only under a Condition (\(json)); not credited.",
              statements: [s.index], condition: s.condition, source: sourceLabel(ref)))
          continue
        }
        let limited = hit.subtracting(s.onAllResources)
        if !limited.isEmpty {
          notes.append(
            PolicyNote(
              code: .denyLimitedResources,
              message: "\(label(ref)) denies \(catalog.phrase(limited, of: granted)) on some resources only; not credited.",
              statements: [s.index], source: sourceLabel(ref)))
        }
        let credited = hit.intersection(s.onAllResources)
        if !credited.isEmpty && !granted.isSubset(of: credited) {
          notes.append(
            PolicyNote(
              code: .partialDeny,
              message:
                "\(label(ref)) denies \(catalog.phrase(credited, of: granted)) on all resources; \(ActionCatalog.grouped(granted.subtracting(credited).count)) granted action(s) remain.",
              statements: [s.index], source: sourceLabel(ref)))
        }
      }
    }
    return notes
  }

  /// The sentence for a lone invalid document.
  var invalidDocument: String {
    let first = errors.first.map(\.description) ?? "unknown problem"
    let more = errors.count > 1 ? " (and \(errors.count - 1) more)" : ""
    return "The policy document is invalid and cannot be judged: \(first)\(more)."
  }

  func indeterminateSuffix(_ error: Bool) -> String {
    guard error, !single else { return "" }
    var missing: [String] = identity.unknownPolicies
    missing += identity.sources.filter { !$0.analysis.isValid }.map(\.label)
    return
      " \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") missing or invalid and might complete it: it cannot be shown not to hold."
  }

  // MARK: - Full access in words

  func notes(of r: AccessResult) -> [PolicyNote] {
    var notes = baseNotes
    if let n = outsideNote(r.outsideBoundary, of: r.target.actions) { notes.append(n) }
    if r.granted.isEmpty { return notes }
    if r.isNeutralised {
      let allows = allowing(r.granted)
      notes.insert(
        PolicyNote(
          code: .neutralisedByDeny, message: neutralisedMessage(r, allows: allows), statements: indexes(allows + r.denyingStatements)),
        at: 0)
      return notes
    }
    return notes + conditionalNotes(r.grantingStatements) + denyNotes(granted: r.granted)
  }

  func neutralisedMessage(_ r: AccessResult, allows: [StatementRef]) -> String {
    let n = r.denyingStatements.count
    return
      "\(refs(allows)) would allow \(catalog.phrase(r.granted, of: r.target.actions)) on all resources, but \(refs(r.denyingStatements)) \(n == 1 ? "denies" : "deny") \(r.granted.count == 1 ? "it" : "them") unconditionally on all resources."
  }

  func why(of r: AccessResult) -> String {
    let t = r.target.actions
    if t.isEmpty { return "No target actions were given." }
    if single && !errors.isEmpty { return invalidDocument }
    let suffix = indeterminateSuffix(r.verdict == .error)
    if r.granted.isEmpty {
      let raw = !r.outsideBoundary.isEmpty
      return "No \(single ? "statement" : "source") allows any of \(r.target.phrase) on all resources"
        + (raw ? " within the permissions boundary." : ".") + suffix
    }
    if r.isNeutralised { return neutralisedMessage(r, allows: allowing(r.granted)) + suffix }
    let how = r.reasons.filter { $0 != .combinedStatements && $0 != .combinedSources }.map(\.rawValue).joined(separator: ", ")
    let who = single ? refs(r.grantingStatements) : r.grantingSources.map { identity.sources[$0].label }.joined(separator: ", ")
    let many = single ? r.grantingStatements.count > 1 : r.grantingSources.count > 1
    var why =
      "\(who) \(many ? "together allow" : "allows") \(catalog.phrase(r.granted, of: t)) on all resources\(boundaryAllowed == nil ? "" : " within the permissions boundary") (\(how))."
    if r.verdict != .holds { why += " Not allowed on all resources: \(catalog.phrase(t.subtracting(r.granted), of: t))." }
    if r.grantingStatements.contains(where: { statement($0)?.isConditional == true }) { why += " Conditions do not narrow the grant." }
    let denyCodes: [PolicyNoteCode] = [.partialDeny, .conditionalDeny, .denyLimitedResources]
    if let d = denyNotes(granted: r.granted).first(where: { denyCodes.contains($0.code) }) {
      why += " Deny statements mitigate it only in part (\(d.code.rawValue))."
    }
    return why + suffix
  }

  // MARK: - Capabilities in words

  func notes(of r: CapabilityResult) -> [PolicyNote] {
    var notes = baseNotes
    let outside = ActionSet(indexes: r.actions.filter(\.outsideBoundary).map(\.action))
    if let n = outsideNote(outside, of: r.target.actions) { notes.append(n) }
    if r.verdict == .can {
      let allowing = Array(Set(r.actions.flatMap(\.allowedBy))).sorted()
      return notes + conditionalNotes(allowing) + denyNotes(granted: ActionSet(indexes: r.actions.map(\.action)))
    }
    for row in r.actions where row.isAllowed && !row.deniedBy.isEmpty {
      notes.append(
        PolicyNote(
          code: .neutralisedByDeny,
          message:
            "\(refs(row.allowedBy)) \(row.allowedBy.count == 1 ? "allows" : "allow") \(row.name) on all resources, but \(refs(row.deniedBy)) \(row.deniedBy.count == 1 ? "denies" : "deny") it unconditionally on all resources.",
          statements: indexes(row.allowedBy + row.deniedBy), source: row.deniedBy.first.flatMap(sourceLabel)))
    }
    return notes
  }

  func why(of r: CapabilityResult) -> String {
    if r.actions.isEmpty { return "No target actions were given." }
    if single && !errors.isEmpty { return invalidDocument }
    if r.verdict == .can {
      let parts = r.actions.map { "\($0.name) (\(refs($0.allowedBy)))" }
      var why = "Every action is allowed on all resources and none is denied: \(parts.joined(separator: "; "))."
      if r.actions.contains(where: \.isConditionalOnly) { why += " Conditions do not narrow the grant." }
      return why
    }
    var parts: [String] = []
    let notAllowed = r.actions.filter { $0.allowedBy.isEmpty }.map(\.name)
    if !notAllowed.isEmpty {
      parts.append("\(notAllowed.joined(separator: ", ")) \(notAllowed.count == 1 ? "is" : "are") not allowed on all resources")
    }
    let bounded = r.actions.filter(\.outsideBoundary).map(\.name)
    if !bounded.isEmpty { parts.append("\(bounded.joined(separator: ", ")) outside the permissions boundary") }
    for row in r.actions where !row.deniedBy.isEmpty { parts.append("\(row.name) denied by \(refs(row.deniedBy))") }
    return "Not every action can be performed: " + parts.joined(separator: "; ") + "." + indeterminateSuffix(r.verdict == .error)
  }
}
