/// The outcome of judging a policy (or several) against a target set of KMS actions, on all keys.
///
/// "Grants" always means *allowed on all keys* (``KeyScope/allKeys`` or wider); grants on specific keys
/// only are reported as a ``PolicyNoteCode/specificKeys`` note, not in the verdict.
public enum PolicyVerdict: Sendable, Hashable {
  /// Every target action is allowed on all keys (and not cancelled by Deny).
  case grantsAll
  /// At least one, but not every, target action is allowed on all keys.
  case grantsSome
  /// No target action is allowed on all keys, or every granted one is denied unconditionally on every key.
  case grantsNone
  /// The document broke the grammar: never a silent pass.
  case invalid([PolicyGrammarError])

  /// `grants-all`, `grants-some`, `grants-none` or `invalid`.
  public var code: String {
    switch self {
    case .grantsAll: return "grants-all"
    case .grantsSome: return "grants-some"
    case .grantsNone: return "grants-none"
    case .invalid: return "invalid"
    }
  }

  /// ``grantsAll`` or ``grantsSome``: the trigger for "any of these actions on all keys" checks.
  public var grantsAny: Bool { self == .grantsAll || self == .grantsSome }

  /// Whether this is ``invalid(_:)``.
  public var isInvalid: Bool {
    if case .invalid = self { return true }
    return false
  }

  /// The grammar errors of ``invalid(_:)``, else empty.
  public var errors: [PolicyGrammarError] {
    if case .invalid(let e) = self { return e }
    return []
  }
}

/// Machine reason codes: why statements grant what they grant on all keys.
public enum PolicyReasonCode: String, Sendable, Hashable, CaseIterable {
  /// An Action pattern that matches every action of every service (`*`, `*:*`).
  case allowStar = "allow-star"
  /// An Action pattern that on its own covers every catalog KMS action (`kms:*`, `KMS:*`, `km*:*`, ...).
  case allowKMSWildcard = "allow-kms-wildcard"
  /// Named actions or partial wildcards (`kms:Decrypt`, `kms:Describe*`), none of which covers every action.
  case allowActionList = "allow-action-list"
  /// Granted through `NotAction` (every action not listed).
  case allowNotAction = "allow-notaction"
  /// `Resource` holds `"*"`.
  case resourceStar = "resource-star"
  /// `Resource` holds a key ARN pattern reaching all keys (`arn:aws:kms:*:*:key/*`, `arn:aws:kms:*`, ...).
  case resourceKeyWildcardARN = "resource-key-wildcard-arn"
  /// Granted through `NotResource` that does not exclude every key.
  case notResource = "notresource"
  /// Several statements of one policy add up to the grant; none grants it alone.
  case combinedStatements = "combined-statements"
  /// Several policies (sources) add up to the grant; none grants it alone.
  case combinedSources = "combined-sources"
  /// General engine: an Action pattern matching every action of at least one service (`iam:*`).
  case allowServiceWildcard = "allow-service-wildcard"
  /// General engine: `Resource` patterns that cover every ARN format of the actions (`arn:aws:iam::*:role/*`).
  case resourcePatternCovers = "resource-pattern-covers"
}

/// Codes of ``PolicyNote``s: facts that qualify a verdict without changing it (except
/// ``neutralisedByDeny``, which is why a grant passes).
public enum PolicyNoteCode: String, Sendable, Hashable, CaseIterable {
  /// A contributing Allow has a Condition; conditions do not narrow the grant. The note carries it.
  case conditional = "conditional"
  /// Every granted target action is denied unconditionally on every key: the policy passes.
  case neutralisedByDeny = "neutralised-by-deny"
  /// Unconditional Deny on every key covers some, not all, granted actions: still a finding.
  case partialDeny = "partial-deny"
  /// A Deny would cancel granted actions but has a Condition: not credited.
  case conditionalDeny = "conditional-deny"
  /// A Deny covers granted actions only on some keys / some accounts or regions: not credited.
  case denyLimitedResources = "deny-limited-resources"
  /// An Allow grants target actions on specific keys only (one key ARN, `key/mrk-*`, ...): not a finding here.
  case specificKeys = "specific-keys"
  /// Some grants lie outside the permissions boundary and are therefore not effective.
  case outsideBoundary = "outside-boundary"
  /// The permissions boundary document is invalid and was ignored (grants judged without it).
  case boundaryInvalid = "boundary-invalid"
  /// One of several source documents is invalid (its grammar errors are in the note).
  case sourceInvalid = "source-invalid"
  /// A policy that applies (attached, or the permissions boundary) is not in the snapshot.
  case unknownPolicy = "unknown-policy"
  /// A policy that applies is in the snapshot, but its `DefaultVersionId` and `IsDefaultVersion` flags
  /// disagree: the document in force is unknown, so it is treated like ``unknownPolicy``.
  case defaultVersionInconsistent = "default-version-inconsistent"
}

/// `Permissions boundary arn:aws:iam::…:policy/x` for a boundary source labelled `boundary arn:…` (or
/// by its ARN alone): notes name a boundary once, not "Permissions boundary boundary …".
func permissionsBoundaryPhrase(_ label: String) -> String {
  "Permissions boundary " + (label.hasPrefix("boundary ") ? String(label.dropFirst("boundary ".count)) : label)
}

/// A qualification of a verdict, with the statements (and source) it is about.
public struct PolicyNote: Sendable, Hashable {
  public var code: PolicyNoteCode
  /// Human-readable text.
  public var message: String
  /// 0-based statement indexes the note is about.
  public var statements: [Int]
  /// The Condition JSON for ``PolicyNoteCode/conditional`` / ``PolicyNoteCode/conditionalDeny`` notes.
  public var condition: JSONValue?
  /// The source label when the note comes from a multi-source evaluation.
  public var source: String?

  public init(
    code: PolicyNoteCode, message: String, statements: [Int] = [], condition: JSONValue? = nil, source: String? = nil
  ) {
    self.code = code
    self.message = message
    self.statements = statements
    self.condition = condition
    self.source = source
  }
}

/// What one statement does with the target actions.
public struct StatementExplanation: Sendable, Hashable {
  /// 0-based index in `Statement`.
  public var index: Int
  public var sid: String?
  public var effect: PolicyEffect
  /// The target actions its Action/NotAction matches (whatever the resources).
  public var matchedActions: Set<String>
  /// How many keys its Resource/NotResource reaches.
  public var keyScope: KeyScope
  /// Whether it has a Condition.
  public var isConditional: Bool
  /// Why it grants (Allow statements matching target actions); empty otherwise.
  public var reasons: [PolicyReasonCode]
  /// The target the statement was judged against (for ``summary``).
  public var target: Set<String>

  /// One line, e.g. `Statement[0]: Allow all 55 target actions on every key`. Composed when asked:
  /// an account has hundreds of thousands of statements and almost none is ever shown.
  public var summary: String {
    var summary = "Statement[\(index)]"
    if let sid, !sid.isEmpty { summary += " (Sid \(JSONWriter.quoted(sid)))" }
    summary += ": \(effect.rawValue) \(KMSPolicyEvaluator.actionsPhrase(matchedActions, of: target)) on \(keyScope)"
    if isConditional { summary += ", with a Condition" }
    return summary
  }

  public init(
    index: Int, sid: String?, effect: PolicyEffect, matchedActions: Set<String>, keyScope: KeyScope,
    isConditional: Bool, reasons: [PolicyReasonCode], target: Set<String>
  ) {
    self.index = index
    self.sid = sid
    self.effect = effect
    self.matchedActions = matchedActions
    self.keyScope = keyScope
    self.isConditional = isConditional
    self.reasons = reasons
    self.target = target
  }

  /// An Allow that grants at least one target action on all keys (condition or not).
  public var grantsOnAllKeys: Bool { effect == .allow && !matchedActions.isEmpty && keyScope.coversAllKeys }

  /// A Deny credited as cancelling grants: no Condition and reaching every key.
  public var isCreditedDeny: Bool {
    effect == .deny && !matchedActions.isEmpty && !isConditional && keyScope == .everyKey
  }
}

/// The evaluation of one policy document against a target action set.
public struct PolicyEvaluation: Sendable, Hashable {
  public var verdict: PolicyVerdict
  /// The target actions (canonical full names, `kms:Decrypt`).
  public var target: Set<String>
  /// Target actions allowed on all keys by the union of Allow statements (before Deny).
  public var grantedActions: Set<String>
  /// Target actions denied unconditionally on every key.
  public var deniedActions: Set<String>
  /// 0-based indexes of the Allow statements contributing the grant on all keys (empty when it passes).
  public var offendingStatements: [Int]
  /// Machine reason codes of the grant (empty when nothing is granted).
  public var reasons: [PolicyReasonCode]
  public var notes: [PolicyNote]
  /// One human sentence explaining the verdict.
  public var why: String
  /// Per-statement explanations, in document order (empty for an invalid document).
  public var statements: [StatementExplanation]
  /// Whether `Statement` was a single object (nil for an invalid document).
  public var statementIsSingleObject: Bool?

  public init(
    verdict: PolicyVerdict, target: Set<String>, grantedActions: Set<String>, deniedActions: Set<String>,
    offendingStatements: [Int], reasons: [PolicyReasonCode], notes: [PolicyNote], why: String,
    statements: [StatementExplanation], statementIsSingleObject: Bool?
  ) {
    self.verdict = verdict
    self.target = target
    self.grantedActions = grantedActions
    self.deniedActions = deniedActions
    self.offendingStatements = offendingStatements
    self.reasons = reasons
    self.notes = notes
    self.why = why
    self.statements = statements
    self.statementIsSingleObject = statementIsSingleObject
  }

  /// Granted minus denied.
  public var effectiveActions: Set<String> { grantedActions.subtracting(deniedActions) }

  /// This evaluation keeping only the explanations of statements that match some target action: the
  /// verdict, notes and multi-source evaluation depend on nothing else, and an account's cached
  /// evaluations would otherwise hold an explanation for every statement it has.
  public func keepingRelevantStatements() -> PolicyEvaluation {
    var e = self
    e.statements = statements.filter { !$0.matchedActions.isEmpty }
    return e
  }

  /// The notes with `code`.
  public func notes(_ code: PolicyNoteCode) -> [PolicyNote] { notes.filter { $0.code == code } }

  /// Whether some note has `code`.
  public func hasNote(_ code: PolicyNoteCode) -> Bool { notes.contains { $0.code == code } }
}

/// One input of a multi-policy evaluation: a label the caller chooses (policy ARN, `user/alice:inline`,
/// ...) and the document JSON.
public struct PolicySource: Sendable, Hashable {
  public var label: String
  /// The document (parsed on demand when the source was made from a ``PolicyDocumentText``: the
  /// evaluator needs it only when ``evaluation`` is missing or for the statements of a grant).
  public var document: JSONValue { text?.json ?? tree }
  private var tree: JSONValue
  private var text: PolicyDocumentText?
  /// The document's evaluation against the same target, when the caller already has it (it is
  /// used only if its target matches).
  public var evaluation: PolicyEvaluation?
  public init(label: String, document: JSONValue, evaluation: PolicyEvaluation? = nil) {
    self.label = label
    self.tree = document
    self.evaluation = evaluation
  }

  /// A source from a stored document, with its evaluation if known.
  public init(label: String, text: PolicyDocumentText, evaluation: PolicyEvaluation? = nil) {
    self.label = label
    self.tree = .null
    self.text = text
    self.evaluation = evaluation
  }
}

/// One source's own evaluation inside a multi-policy evaluation.
public struct SourceEvaluation: Sendable, Hashable {
  public var label: String
  public var evaluation: PolicyEvaluation
  public init(label: String, evaluation: PolicyEvaluation) {
    self.label = label
    self.evaluation = evaluation
  }
}

/// The effective access of a principal from several identity policies, optionally limited by a
/// permissions boundary: grants add up across sources, unconditional every-key denies of any source
/// cancel (only when they cancel the whole grant, as for one policy), and grants the boundary does not
/// allow on all keys are not effective.
public struct EffectiveAccessEvaluation: Sendable, Hashable {
  /// As for one policy; ``PolicyVerdict/invalid(_:)`` when a source is invalid and the valid sources do
  /// not grant the whole target on their own (errors prefixed with the source label): what the
  /// invalid source grants is unknown, so only a grant that is complete without it is reported as
  /// such (``PolicyVerdict/grantsAll``), and a partial one never reads as a pass.
  public var verdict: PolicyVerdict
  public var target: Set<String>
  /// Union of the sources' grants on all keys (before boundary and Deny).
  public var grantedActions: Set<String>
  /// Union of the sources' unconditional every-key denies.
  public var deniedActions: Set<String>
  /// What the boundary allows on all keys (nil: no boundary, or an invalid one, which is ignored).
  public var boundaryAllowedActions: Set<String>?
  /// Granted ∩ boundary: the grant the verdict is about (before Deny).
  public var boundedGrantedActions: Set<String>
  /// Labels of the sources whose all-key grants make up ``boundedGrantedActions`` (empty when it passes).
  public var grantingSources: [String]
  /// Labels of the sources whose credited denies cancel part or all of the grant.
  public var denyingSources: [String]
  public var reasons: [PolicyReasonCode]
  public var notes: [PolicyNote]
  public var why: String
  /// Each source's own evaluation.
  public var sources: [SourceEvaluation]
  /// The boundary's own evaluation (its grants are what it allows).
  public var boundary: SourceEvaluation?

  public init(
    verdict: PolicyVerdict, target: Set<String>, grantedActions: Set<String>, deniedActions: Set<String>,
    boundaryAllowedActions: Set<String>?, boundedGrantedActions: Set<String>, grantingSources: [String],
    denyingSources: [String], reasons: [PolicyReasonCode], notes: [PolicyNote], why: String,
    sources: [SourceEvaluation], boundary: SourceEvaluation?
  ) {
    self.verdict = verdict
    self.target = target
    self.grantedActions = grantedActions
    self.deniedActions = deniedActions
    self.boundaryAllowedActions = boundaryAllowedActions
    self.boundedGrantedActions = boundedGrantedActions
    self.grantingSources = grantingSources
    self.denyingSources = denyingSources
    self.reasons = reasons
    self.notes = notes
    self.why = why
    self.sources = sources
    self.boundary = boundary
  }

  /// Bounded grant minus denied.
  public var effectiveActions: Set<String> { boundedGrantedActions.subtracting(deniedActions) }

  /// The notes with `code`.
  public func notes(_ code: PolicyNoteCode) -> [PolicyNote] { notes.filter { $0.code == code } }

  /// Whether some note has `code`.
  public func hasNote(_ code: PolicyNoteCode) -> Bool { notes.contains { $0.code == code } }
}
