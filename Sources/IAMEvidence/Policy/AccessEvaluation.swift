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

  public init(sources: [AnalysedSource], boundary: AnalysedSource? = nil, unknownPolicies: [String] = [], unknownBoundary: String? = nil) {
    self.sources = sources
    self.boundary = boundary
    self.unknownPolicies = unknownPolicies
    self.unknownBoundary = unknownBoundary
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
public struct AccessResult: Sendable, Hashable {
  public var verdict: AccessVerdict
  public var target: ResolvedTarget
  /// Target actions allowed on all resources by the sources (within the boundary), before Deny.
  public var granted: ActionSet
  /// Target actions denied unconditionally on all resources by some source.
  public var denied: ActionSet
  /// Target actions the sources allow on all resources but the permissions boundary does not.
  public var outsideBoundary: ActionSet
  /// Target actions not granted that an invalid or missing policy might still grant (empty when every
  /// source is known and valid): what an "any of T" check needs to tell `error` from a pass.
  public var indeterminate: ActionSet
  /// Allow statements reaching granted target actions on all resources, by source then document
  /// order (empty when nothing is granted or every grant is denied).
  public var grantingStatements: [StatementRef]
  /// Indexes of the sources of ``grantingStatements``.
  public var grantingSources: [Int]
  /// Unconditional Deny statements reaching granted target actions on all resources.
  public var denyingStatements: [StatementRef]
  public var reasons: [PolicyReasonCode]
  public var notes: [PolicyNote]
  /// Grammar errors of invalid sources (labelled with the source in multi-source evaluations).
  public var errors: [PolicyGrammarError]
  /// One sentence.
  public var why: String

  /// Granted minus denied.
  public var effective: ActionSet { granted.subtracting(denied) }

  /// Statement indexes of source 0 among ``grantingStatements`` (a lone document's offending statements).
  public var grantingStatementIndexes: [Int] { grantingStatements.filter { $0.source == 0 }.map(\.statement) }

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

/// The evaluation of "can perform action set S" for a document or an identity.
public struct CapabilityResult: Sendable, Hashable {
  public var verdict: CapabilityVerdict
  public var target: ResolvedTarget
  /// Every action of S, in catalog order.
  public var actions: [ActionCapability]
  /// The sources that allow some action of S on all resources, sorted.
  public var sources: [Int]
  public var reasons: [PolicyReasonCode]
  public var notes: [PolicyNote]
  public var errors: [PolicyGrammarError]
  public var why: String

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
    var context = Context(engine: self, identity: identity)
    let grantedRaw = ActionSet.union(context.valid.map { identity.sources[$0].analysis.allowed }).intersection(t)
    let granted = context.boundaryAllowed.map { grantedRaw.intersection($0) } ?? grantedRaw
    let outside = grantedRaw.subtracting(granted)
    let denied = ActionSet.union(context.valid.map { identity.sources[$0].analysis.denied }).intersection(t)
    let holds = !t.isEmpty && t.isSubset(of: granted) && !t.isSubset(of: denied)
    let couldGrant = context.indeterminate ? t.intersection(context.boundaryAllowed ?? catalog.all).subtracting(denied) : .empty
    let couldHold = !t.isEmpty && t.isSubset(of: granted.union(couldGrant)) && !t.isSubset(of: denied)
    let neutralised = !granted.isEmpty && granted.isSubset(of: denied)
    let verdict: AccessVerdict =
      holds ? .holds : couldHold && context.indeterminate ? .error : (granted.isEmpty || neutralised) ? .none : .partial

    if !outside.isEmpty, let b = identity.boundary {
      context.notes.append(
        PolicyNote(
          code: .outsideBoundary,
          message:
            "Permissions boundary \(b.label) does not allow \(catalog.phrase(outside, of: t)) on all resources; those grants are not effective.",
          source: b.label))
    }

    // The statements behind the grant.
    var statements: [StatementRef] = []
    var perSource: [Int: [StatementRef]] = [:]
    for i in context.valid {
      for s in identity.sources[i].analysis.statements where s.effect == .allow && !s.onAllResources.isDisjoint(with: granted) {
        let ref = StatementRef(source: i, statement: s.index)
        statements.append(ref)
        perSource[i, default: []].append(ref)
      }
    }
    let sources = perSource.keys.sorted()
    var denying: [StatementRef] = []
    for i in context.valid {
      for s in identity.sources[i].analysis.statements where s.isCreditedDeny && !s.onAllResources.isDisjoint(with: granted) {
        denying.append(StatementRef(source: i, statement: s.index))
      }
    }

    func result(_ why: String, granting: [StatementRef], reasons: [PolicyReasonCode]) -> AccessResult {
      AccessResult(
        verdict: verdict, target: target, granted: granted, denied: denied, outsideBoundary: outside,
        indeterminate: couldGrant.subtracting(granted), grantingStatements: granting,
        grantingSources: Array(Set(granting.map(\.source))).sorted(), denyingStatements: denying, reasons: reasons,
        notes: context.notes, errors: context.errors, why: why + context.indeterminateSuffix(verdict == .error))
    }

    if t.isEmpty { return result("No target actions were given.", granting: [], reasons: []) }
    if context.single && !context.errors.isEmpty { return result(context.invalidDocument, granting: [], reasons: []) }
    if granted.isEmpty {
      var why = "No \(context.single ? "statement" : "source") allows any of \(target.phrase) on all resources"
      why += grantedRaw.isEmpty ? "." : " within the permissions boundary."
      return result(why, granting: [], reasons: [])
    }
    if neutralised {
      let message =
        "\(context.refs(statements)) would allow \(catalog.phrase(granted, of: t)) on all resources, but \(context.refs(denying)) \(denying.count == 1 ? "denies" : "deny") \(granted.count == 1 ? "it" : "them") unconditionally on all resources."
      context.notes.insert(PolicyNote(code: .neutralisedByDeny, message: message, statements: context.indexes(statements + denying)), at: 0)
      return result(message, granting: [], reasons: [])
    }

    context.conditionalNotes(statements)
    context.denyNotes(granted: granted)
    let reasons = context.reasons(perSource: perSource, granted: granted)
    let how = reasons.filter { $0 != .combinedStatements && $0 != .combinedSources }.map(\.rawValue).joined(separator: ", ")
    let who = context.single ? context.refs(statements) : sources.map { identity.sources[$0].label }.joined(separator: ", ")
    let many = context.single ? statements.count > 1 : sources.count > 1
    var why =
      "\(who) \(many ? "together allow" : "allows") \(catalog.phrase(granted, of: t)) on all resources\(context.boundaryAllowed == nil ? "" : " within the permissions boundary") (\(how))."
    if verdict == .partial {
      why += " Not allowed on all resources: \(catalog.phrase(t.subtracting(granted), of: t))."
    }
    if context.notes.contains(where: { $0.code == .conditional }) { why += " Conditions do not narrow the grant." }
    if let d = context.notes.first(where: { [.partialDeny, .conditionalDeny, .denyLimitedResources].contains($0.code) }) {
      why += " Deny statements mitigate it only in part (\(d.code.rawValue))."
    }
    return result(why, granting: statements, reasons: reasons)
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
    var context = Context(engine: self, identity: identity)
    var rows: [ActionCapability] = []
    for a in target.actions.indexes {
      var row = ActionCapability(
        action: a, name: catalog.fullName(at: a), allowedBy: [], conditionalAllows: [], deniedBy: [], limitedBy: [],
        outsideBoundary: false)
      for i in context.valid {
        for s in identity.sources[i].analysis.statements where s.matched.contains(a) {
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
      if let allowed = context.boundaryAllowed, !row.allowedBy.isEmpty, !allowed.contains(a) { row.outsideBoundary = true }
      rows.append(row)
    }
    let allowedSet = ActionSet(indexes: rows.filter(\.isAllowed).map(\.action))
    let denied = rows.filter { !$0.deniedBy.isEmpty }
    let can = !rows.isEmpty && rows.allSatisfy(\.isPerformable)
    // Missing actions that an unknown or invalid source might still allow: not denied, and allowed by
    // the boundary (or no boundary).
    let missing = rows.filter { !$0.isAllowed }
    let couldComplete =
      context.indeterminate && denied.isEmpty
      && missing.allSatisfy { context.boundaryAllowed?.contains($0.action) ?? true }
    let verdict: CapabilityVerdict = can ? .can : couldComplete ? .error : .cannot

    let allowing = rows.flatMap(\.allowedBy)
    let sources = Array(Set(allowing.map(\.source))).sorted()
    let outside = ActionSet(indexes: rows.filter(\.outsideBoundary).map(\.action))
    if !outside.isEmpty, let b = identity.boundary {
      context.notes.append(
        PolicyNote(
          code: .outsideBoundary,
          message:
            "Permissions boundary \(b.label) does not allow \(catalog.phrase(outside)) on all resources; those grants are not effective.",
          source: b.label))
    }
    var reasons: [PolicyReasonCode] = []
    if can {
      context.conditionalNotes(Array(Set(allowing)).sorted())
      context.denyNotes(granted: allowedSet)
      var perSource: [Int: [StatementRef]] = [:]
      for ref in Array(Set(allowing)).sorted() { perSource[ref.source, default: []].append(ref) }
      reasons = context.reasons(perSource: perSource, granted: allowedSet)
    } else {
      for row in denied where row.isAllowed {
        context.notes.append(
          PolicyNote(
            code: .neutralisedByDeny,
            message:
              "\(context.refs(row.allowedBy)) \(row.allowedBy.count == 1 ? "allows" : "allow") \(row.name) on all resources, but \(context.refs(row.deniedBy)) \(row.deniedBy.count == 1 ? "denies" : "deny") it unconditionally on all resources.",
            statements: context.indexes(row.allowedBy + row.deniedBy),
            source: context.single ? nil : row.deniedBy.first.map { identity.sources[$0.source].label }))
      }
    }

    var why: String
    if rows.isEmpty {
      why = "No target actions were given."
    } else if context.single && !context.errors.isEmpty {
      why = context.invalidDocument
    } else if can {
      let parts = rows.map { "\($0.name) (\(context.refs($0.allowedBy)))" }
      why = "Every action is allowed on all resources and none is denied: \(parts.joined(separator: "; "))."
      if rows.contains(where: \.isConditionalOnly) { why += " Conditions do not narrow the grant." }
    } else {
      var parts: [String] = []
      let notAllowed = rows.filter { $0.allowedBy.isEmpty }.map(\.name)
      if !notAllowed.isEmpty {
        parts.append("\(notAllowed.joined(separator: ", ")) \(notAllowed.count == 1 ? "is" : "are") not allowed on all resources")
      }
      let bounded = rows.filter(\.outsideBoundary).map(\.name)
      if !bounded.isEmpty { parts.append("\(bounded.joined(separator: ", ")) outside the permissions boundary") }
      for row in denied { parts.append("\(row.name) denied by \(context.refs(row.deniedBy))") }
      why = "Not every action can be performed: " + parts.joined(separator: "; ") + "."
    }
    return CapabilityResult(
      verdict: verdict, target: target, actions: rows, sources: can ? sources : [], reasons: reasons, notes: context.notes,
      errors: context.errors, why: why + context.indeterminateSuffix(verdict == .error))
  }
}

/// What both questions share: valid sources, the boundary, the notes about missing and invalid
/// policies, and how to name statements.
private struct Context {
  let engine: PolicyEngine
  let identity: IdentityPolicies
  /// Indexes of the valid sources.
  var valid: [Int] = []
  var notes: [PolicyNote] = []
  var errors: [PolicyGrammarError] = []
  /// What the boundary allows on all resources (its Allows minus its own credited Denies); nil: none.
  var boundaryAllowed: ActionSet?
  /// Some source is invalid or missing: what it grants is unknown.
  var indeterminate = false
  /// A lone unlabelled document.
  var single: Bool

  init(engine: PolicyEngine, identity: IdentityPolicies) {
    self.engine = engine
    self.identity = identity
    single = identity.sources.count == 1 && identity.sources[0].label.isEmpty && identity.boundary == nil
    for (i, s) in identity.sources.enumerated() {
      if s.analysis.isValid {
        valid.append(i)
        continue
      }
      indeterminate = true
      if single {
        errors += s.analysis.errors
      } else {
        errors += s.analysis.errors.map { PolicyGrammarError(statementIndex: $0.statementIndex, message: $0.message, source: s.label) }
        notes.append(
          PolicyNote(
            code: .sourceInvalid, message: "\(s.label) is invalid: \(s.analysis.errors.map(\.description).joined(separator: "; "))",
            source: s.label))
      }
    }
    for label in identity.unknownPolicies {
      indeterminate = true
      notes.append(PolicyNote(code: .unknownPolicy, message: "\(label) is not in the snapshot; its grants are unknown.", source: label))
    }
    if let b = identity.boundary {
      if b.analysis.isValid {
        boundaryAllowed = b.analysis.effective
      } else {
        notes.append(
          PolicyNote(
            code: .boundaryInvalid,
            message:
              "Permissions boundary \(b.label) is invalid and was ignored: \(b.analysis.errors.map(\.description).joined(separator: "; "))",
            source: b.label))
      }
    }
    if let b = identity.unknownBoundary {
      notes.append(
        PolicyNote(
          code: .unknownPolicy,
          message: "Permissions boundary \(b) is not in the snapshot; judged without it (a boundary can only narrow the grant).",
          source: b))
    }
  }

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
  func indexes(_ refs: [StatementRef]) -> [Int] {
    single ? Array(Set(refs.map(\.statement))).sorted() : []
  }

  func statement(_ ref: StatementRef) -> AnalysedStatement? { identity.sources[ref.source].analysis.statement(ref.statement) }

  func sourceLabel(_ ref: StatementRef) -> String? { single ? nil : identity.sources[ref.source].label }

  mutating func conditionalNotes(_ refs: [StatementRef]) {
    for ref in refs {
      guard let s = statement(ref), let json = s.conditionJSON else { continue }
      notes.append(
        PolicyNote(
          code: .conditional, message: "\(label(ref)) has a Condition (\(json)); conditions do not narrow the grant.",
          statements: [ref.statement], condition: s.condition, source: sourceLabel(ref)))
    }
  }

  /// Notes on Deny statements that touch `granted` without being credited for all of it.
  mutating func denyNotes(granted: ActionSet) {
    let phrase = engine.catalog.phrase
    for i in valid {
      for s in identity.sources[i].analysis.statements where s.effect == .deny {
        let hit = s.matched.intersection(granted)
        if hit.isEmpty { continue }
        let ref = StatementRef(source: i, statement: s.index)
        if let json = s.conditionJSON {
          notes.append(
            PolicyNote(
              code: .conditionalDeny,
              message: "\(label(ref)) denies \(phrase(hit, granted)) only under a Condition (\(json)); not credited.",
              statements: [s.index], condition: s.condition, source: sourceLabel(ref)))
          continue
        }
        let limited = hit.subtracting(s.onAllResources)
        if !limited.isEmpty {
          notes.append(
            PolicyNote(
              code: .denyLimitedResources,
              message: "\(label(ref)) denies \(phrase(limited, granted)) on some resources only; not credited.",
              statements: [s.index], source: sourceLabel(ref)))
        }
        let credited = hit.intersection(s.onAllResources)
        if !credited.isEmpty && !granted.isSubset(of: credited) {
          notes.append(
            PolicyNote(
              code: .partialDeny,
              message:
                "\(label(ref)) denies \(phrase(credited, granted)) on all resources; \(ActionCatalog.grouped(granted.subtracting(credited).count)) granted action(s) remain.",
              statements: [s.index], source: sourceLabel(ref)))
        }
      }
    }
  }

  /// The reasons of the granting statements, then `combined-statements` / `combined-sources` when no
  /// single statement (of a source) / source grants it all.
  func reasons(perSource: [Int: [StatementRef]], granted: ActionSet) -> [PolicyReasonCode] {
    var reasons: [PolicyReasonCode] = []
    var combinedStatements = false
    var someSourceAlone = false
    for i in perSource.keys.sorted() {
      let refs = perSource[i]!
      let analysis = identity.sources[i].analysis
      let ofSource = analysis.allowed.intersection(granted)
      if ofSource == granted { someSourceAlone = true }
      var alone = false
      for ref in refs {
        guard let s = analysis.statement(ref.statement) else { continue }
        for r in s.reasons where !reasons.contains(r) { reasons.append(r) }
        if s.onAllResources.intersection(ofSource) == ofSource { alone = true }
      }
      if refs.count > 1 && !alone { combinedStatements = true }
    }
    if combinedStatements { reasons.append(.combinedStatements) }
    if perSource.count > 1 && !someSourceAlone { reasons.append(.combinedSources) }
    return reasons
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
}
