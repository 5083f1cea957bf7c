/// A policy example in a check's catalog entry: documentation and test at once. It remembers where it
/// was written so a failing example points at its line.
public struct CheckExample: Sendable {
  /// The policy document (JSON text).
  public var policy: String
  /// Notes the result must carry (e.g. `conditional`).
  public var expectedNotes: [String]
  public var file: String
  public var line: Int

  public init(_ policy: String, notes: [String] = [], file: String = #filePath, line: Int = #line) {
    self.policy = policy
    self.expectedNotes = notes
    self.file = file
    self.line = line
  }
}

/// Where a check's examples are placed when the generic test runs them.
public enum ExamplePlacement: Sendable {
  /// As an inline policy of a user.
  case inlineOnUser
  /// As the default version of a customer-managed policy attached to a user.
  case managedAttachedToUser
}

/// Everything a catalog entry declares about a check (the SwiftLint `RuleDescription` pattern).
public struct CheckDescription: Sendable {
  /// Stable identifier, e.g. `kms-full-access-inline`.
  public var id: String
  /// Bumped whenever the check's logic changes: stored with every result.
  public var version: Int
  public var title: String
  /// ISO/IEC 27001:2022 control ids; the first is the primary one.
  public var controls: [String]
  public var rationale: String
  public var remediation: String
  /// The rules applied, in words an auditor can re-perform.
  public var methodology: [String]
  /// What is examined (the population).
  public var population: String
  /// Whether this check is the control's primary test.
  public var isPrimary: Bool
  /// For the control's primary test: what the control requires, in the tool's terms, as a clause
  /// (`no identity may hold full AWS KMS access on all keys`). Documents state the control with it.
  public var controlObjective: String?
  public var triggering: [CheckExample]
  public var nonTriggering: [CheckExample]
  public var examplePlacement: ExamplePlacement
  /// The privileged capability a `fail` or `excepted` result of this check gives its principal in the
  /// privileged-access register (``PrivilegedRegister``); nil for checks that give none.
  public var capability: PrivilegeCapability?

  public init(
    id: String, version: Int, title: String, controls: [String], rationale: String, remediation: String,
    methodology: [String], population: String, isPrimary: Bool = false, controlObjective: String? = nil,
    triggering: [CheckExample], nonTriggering: [CheckExample], examplePlacement: ExamplePlacement,
    capability: PrivilegeCapability? = nil
  ) {
    self.id = id
    self.version = version
    self.title = title
    self.controls = controls
    self.rationale = rationale
    self.remediation = remediation
    self.methodology = methodology
    self.population = population
    self.isPrimary = isPrimary
    self.controlObjective = controlObjective
    self.triggering = triggering
    self.nonTriggering = nonTriggering
    self.examplePlacement = examplePlacement
    self.capability = capability
  }
}

/// What a check sees: one decoded snapshot and the policy evaluator.
public struct CheckContext: Sendable {
  public var snapshot: AuthorizationSnapshot
  public var evaluator: KMSPolicyEvaluator
  /// Managed policies by ARN.
  public var policiesByARN: [String: ManagedPolicy]
  /// Groups by name.
  public var groupsByName: [String: Principal]

  /// Evaluations of each distinct document (by SHA-256), computed once per target and shared by all
  /// checks: an account repeats the same documents across many principals and versions.
  public var fullAccess: [String: PolicyEvaluation]
  public var decrypt: [String: PolicyEvaluation]
  public var destructive: [String: PolicyEvaluation]

  /// Evaluates every distinct document of `snapshot` once, then keeps the snapshot without the text of
  /// documents that bear on no KMS action (checks read a document's statements only to quote what
  /// grants or denies): for a large account that is most of its memory. Pass the snapshot as its last
  /// owner (`consume`) and the dropped texts are freed.
  public init(snapshot full: consuming AuthorizationSnapshot, evaluator: KMSPolicyEvaluator = KMSPolicyEvaluator()) {
    self.evaluator = evaluator
    var documents: [String: PolicyDocumentText] = [:]
    var judged: [String: PolicyDocumentText] = [:]  // inline and customer-managed defaults: all three targets
    for p in full.principals {
      for i in p.inlinePolicies {
        documents[i.document.sha256] = i.document
        judged[i.document.sha256] = i.document
      }
    }
    for m in full.managedPolicies {
      for v in m.versions { documents[v.document.sha256] = v.document }
      if !m.isAWSManaged, let d = m.defaultVersion { judged[d.document.sha256] = d.document }
    }
    // Documents judged by every check are explained once for all three targets. Each is parsed from
    // its canonical text here, once, and its tree dropped after its evaluation.
    let catalog = evaluator.catalog
    var fullAccess: [String: PolicyEvaluation] = [:]
    var decrypt: [String: PolicyEvaluation] = [:]
    var destructive: [String: PolicyEvaluation] = [:]
    let targets = [catalog.allActionNames, catalog.decryptActionNames, catalog.destructiveActionNames]
    let judgedList = Array(judged)
    let others = documents.filter { judged[$0.key] == nil }.map { ($0.key, $0.value) }
    judged = [:]
    documents = [:]
    // Documents are independent: evaluate them on every core. Each iteration writes only its own slot.
    let judgedResults = Parallel.map(judgedList) {
      evaluator.evaluateActions($0.value.json, targets: targets, relevantOnly: true)
    }
    let otherResults = Parallel.map(others) { evaluator.evaluateActions($0.1.json, targets: [targets[0]], relevantOnly: true)[0] }
    var bearing = Set<String>()
    for ((sha, _), e) in zip(judgedList, judgedResults) {
      (fullAccess[sha], decrypt[sha], destructive[sha]) = (e[0], e[1], e[2])
      if e.contains(where: Self.bearsOnKMS) { bearing.insert(sha) }
    }
    for ((sha, _), e) in zip(others, otherResults) {
      fullAccess[sha] = e
      if Self.bearsOnKMS(e) { bearing.insert(sha) }
    }
    self.fullAccess = fullAccess
    self.decrypt = decrypt
    self.destructive = destructive

    let snapshot = full.keepingDocumentTexts(of: bearing)
    _ = consume full
    self.snapshot = snapshot
    self.policiesByARN = Dictionary(snapshot.managedPolicies.map { ($0.arn, $0) }, uniquingKeysWith: { a, _ in a })
    var groups: [String: Principal] = [:]
    var members: [String: [PrincipalRef]] = [:]
    var attached: [String: [PrincipalRef]] = [:]
    for p in snapshot.principals {
      if p.type == .group, groups[p.name] == nil { groups[p.name] = p }
      if p.type == .user { for g in Set(p.groups) { members[g, default: []].append(PrincipalRef(p)) } }
      for arn in Set(p.attachedPolicies.map(\.arn)) { attached[arn, default: []].append(PrincipalRef(p)) }
    }
    self.groupsByName = groups
    self.membersByGroup = members.mapValues { $0.sorted() }
    self.attachmentsByARN = attached.mapValues { $0.sorted() }
  }

  /// Whether a document's evaluation involves it in any result's detail: some statement matches a KMS
  /// action, or the document is invalid.
  static func bearsOnKMS(_ e: PolicyEvaluation) -> Bool { !e.statements.isEmpty || e.verdict.isInvalid || !e.notes.isEmpty }

  /// The full-access evaluation of `document` (cached).
  public func fullAccess(of document: PolicyDocumentText) -> PolicyEvaluation {
    fullAccess[document.sha256] ?? evaluator.evaluateFullKMSAccess(document.json)
  }

  /// The decrypt evaluation of `document` (cached).
  public func decrypt(of document: PolicyDocumentText) -> PolicyEvaluation {
    decrypt[document.sha256] ?? evaluator.evaluateDecrypt(document.json)
  }

  /// The destructive-actions evaluation of `document` (cached).
  public func destructive(of document: PolicyDocumentText) -> PolicyEvaluation {
    destructive[document.sha256] ?? evaluator.evaluateDestructive(document.json)
  }

  /// Member users by group name, sorted (indexed once: checks ask per group).
  public var membersByGroup: [String: [PrincipalRef]]
  /// Principals by attached managed-policy ARN, sorted (indexed once: checks ask per policy).
  public var attachmentsByARN: [String: [PrincipalRef]]

  /// The users that are members of `group`.
  public func members(of group: Principal) -> [PrincipalRef] { membersByGroup[group.name] ?? [] }

  /// Every principal a managed policy is attached to.
  public func attachments(of arn: String) -> [PrincipalRef] { attachmentsByARN[arn] ?? [] }
}

/// A check of the catalog: one file each, declaring its description and examining a snapshot.
public protocol Check: Sendable {
  var description: CheckDescription { get }
  /// One result per subject examined (the whole population, passes included).
  func run(_ context: CheckContext) -> [CheckResult]
}
