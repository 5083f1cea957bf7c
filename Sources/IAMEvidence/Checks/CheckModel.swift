/// A policy example in a check's catalog entry: documentation and test at once. It remembers where it
/// was written so a failing example points at its line.
public struct CheckExample: Sendable {
  /// The policy document (JSON text).
  public var policy: String
  /// Notes the result must carry (e.g. `conditional`).
  public var expectedNotes: [String]
  /// Where this example is placed, when not where the check's ``CheckDescription/examplePlacement``
  /// says (a check about how permissions are granted has examples placed differently).
  public var placement: ExamplePlacement?
  public var file: String
  public var line: Int

  public init(
    _ policy: String, notes: [String] = [], placement: ExamplePlacement? = nil, file: String = #filePath, line: Int = #line
  ) {
    self.policy = policy
    self.expectedNotes = notes
    self.placement = placement
    self.file = file
    self.line = line
  }
}

/// Where a check's examples are placed when the generic test runs them: always in a snapshot holding
/// one user (`example-user`), so that every check of users has a subject.
public enum ExamplePlacement: Sendable, Hashable {
  /// As an inline policy of the user.
  case inlineOnUser
  /// As the default version of a customer-managed policy attached to the user.
  case managedAttachedToUser
  /// As an inline policy of a role (beside the user).
  case inlineOnRole
  /// As the default version of a customer-managed policy attached to a role (beside the user).
  case managedAttachedToRole
  /// As an inline policy of a group the user belongs to.
  case inlineOnGroup
  /// As the default version of a customer-managed policy attached to a group the user belongs to.
  case managedAttachedToGroup
  /// As the default version of a customer-managed policy attached to nothing.
  case managedUnattached
  /// As the AWS-managed policy `arn:aws:iam::aws:policy/AdministratorAccess` attached to a role.
  case awsManagedAttachedToRole
  /// As a customer-managed policy attached to the user, whose permissions boundary is a second
  /// customer-managed policy with the given document.
  case managedAttachedToUserWithinBoundary(String)
  /// As a customer-managed policy attached to the user, who also belongs to a group whose inline
  /// policy is the given document: permissions assembled from two sources.
  case managedAttachedToUserWithGroupInline(String)
  /// As the trust policy (`AssumeRolePolicyDocument`) of a role (beside the user) that has no
  /// permissions policy.
  case trustPolicyOfRole
  /// As an inline policy of a role (beside the user) created at `created` and last used at `lastUsed`
  /// (nil: never), in a snapshot captured at `capturedAt` (ISO 8601 times): for checks of role usage.
  case inlineOnRoleUsage(created: String, lastUsed: String?, capturedAt: String)
}

/// Which policy documents' statements a check may quote in its results. ``CheckContext`` keeps the
/// text of those documents (and of every invalid one) and drops the text of the others after
/// analysing them: for a large account the texts are most of its memory.
public enum StatementQuoting: Sendable, Hashable {
  /// The check quotes no statements.
  case none
  /// Documents with a statement whose Action or NotAction matches some target action, whatever its
  /// resources (the KMS checks: their all-keys rule is wider than the engine's all-resources rule,
  /// and their identity check reads the Conditions of Deny statements).
  case matchingTarget
  /// Documents whose Allow statements reach some target action on all resources.
  case allowingAnyOfTarget
  /// Documents whose Allow statements reach every target action on all resources.
  case allowingAllOfTarget
  /// Documents whose Allow statements reach every action of at least one of these targets on all
  /// resources (the escalation checks: a document that makes some method available), and documents
  /// with a statement matching some action of `matching`, whatever its resources
  /// (`privilege-escalation-policy` quotes the grants on one ARN that make a method a self-escalation).
  case allowingAllOfSome([ActionTarget], matching: ActionTarget? = nil)
}

/// A control of another framework that a check corresponds to, by id only (`CIS AWS Foundations
/// Benchmark` `1.16`, `AWS Security Hub` `IAM.1`): their texts are not reproduced.
public struct CheckReference: Sendable, Hashable {
  public var framework: String
  public var id: String

  public init(framework: String, id: String) {
    self.framework = framework
    self.id = id
  }

  /// A recommendation of the CIS Amazon Web Services Foundations Benchmark.
  public static func cis(_ id: String) -> CheckReference { CheckReference(framework: "CIS AWS Foundations Benchmark", id: id) }
  /// A control of AWS Security Hub (Cloud Security Posture Management).
  public static func securityHub(_ id: String) -> CheckReference { CheckReference(framework: "AWS Security Hub", id: id) }

  /// `CIS AWS Foundations Benchmark 1.16`.
  public var label: String { "\(framework) \(id)" }
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
  /// Whether this check is the founding test of its primary control (`kms-full-access-inline` for
  /// A.8.2): reports show it first. A control's verdict comes from every check whose primary control
  /// it is (``ControlVerdict``).
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
  /// The actions the check asks about, as data (nil: it asks about no action, e.g. how permissions are
  /// granted). Resolved against the action catalog by ``CheckContext``; "every action" means every
  /// action of that catalog (``ActionCatalog/sourceDescription``).
  public var target: ActionTarget?
  /// Which documents' statements the check may quote (``CheckContext`` keeps their text).
  public var quotes: StatementQuoting
  /// Corresponding controls of other frameworks (CIS AWS Foundations Benchmark, AWS Security Hub).
  public var references: [CheckReference]
  /// The checks whose results this check reads, by id: non-empty makes it a *derived* check, run by
  /// the ``Assessor`` in a second phase with those results (exceptions applied) in
  /// ``CheckContext/prior``. Inputs are first-phase checks of the catalog.
  public var inputs: [String]
  /// For a check of identities: the checks that judge the sources of their grant one policy at a
  /// time (`kms-full-access-inline` and `kms-full-access-managed` for `kms-full-access-identity`).
  /// An exception approved under one of them for a source policy also covers that source of this
  /// check's results; a result is excepted when every source is covered
  /// (``ExceptionRegister/coverage(of:account:sourceChecks:)``).
  public var sourceChecks: [String]

  public init(
    id: String, version: Int, title: String, controls: [String], rationale: String, remediation: String,
    methodology: [String], population: String, isPrimary: Bool = false, controlObjective: String? = nil,
    triggering: [CheckExample], nonTriggering: [CheckExample], examplePlacement: ExamplePlacement,
    target: ActionTarget? = nil, quotes: StatementQuoting = .none, references: [CheckReference] = [],
    capability: PrivilegeCapability? = nil, inputs: [String] = [], sourceChecks: [String] = []
  ) {
    self.sourceChecks = sourceChecks
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
    self.target = target
    self.quotes = quotes
    self.references = references
    self.inputs = inputs
  }

  /// The primary control: the first of ``controls``.
  public var primaryControl: String? { controls.first }
}

/// What a check sees: one decoded snapshot, the analysis of each of its distinct policy documents by
/// the general ``PolicyEngine``, and the KMS checks' own evaluations (``KMSPolicyEvaluator``).
public struct CheckContext: Sendable {
  public var snapshot: AuthorizationSnapshot
  public var evaluator: KMSPolicyEvaluator
  /// The general engine of this assessment (its caches live as long as the context).
  public let engine: PolicyEngine
  /// Managed policies by ARN.
  public var policiesByARN: [String: ManagedPolicy]
  /// Groups by name.
  public var groupsByName: [String: Principal]

  /// Evaluations of each distinct document (by SHA-256), computed once per target and shared by all
  /// checks: an account repeats the same documents across many principals and versions.
  public var fullAccess: [String: PolicyEvaluation]
  public var decrypt: [String: PolicyEvaluation]
  public var destructive: [String: PolicyEvaluation]
  /// The engine's analysis of every distinct identity-policy document (inline policies and every
  /// version of every managed policy), by SHA-256.
  public var analyses: [String: PolicyAnalysis]
  /// The checks' targets, resolved once against the engine's catalog.
  public var targets: [ActionTarget: ResolvedTarget]
  /// Every role's trust policy, parsed once per distinct document (by SHA-256) before the document
  /// texts are dropped: a trust policy is small, and its statements are what the trust checks quote.
  public var trustPolicies: [String: Result<TrustPolicy, TrustPolicyErrors>]
  /// Second phase only: the snapshot's capture time and the first-phase results that derived checks
  /// read (``CheckDescription/inputs``), exceptions applied. Nil in the first phase.
  public var prior: PriorResults?

  /// Analyses and evaluates every distinct document of `snapshot` once, on every core (each parsed
  /// once for both), then keeps the snapshot without the text of the documents no check may quote:
  /// the text stays for an invalid document and for one that bears on some check's target as the
  /// check's ``CheckDescription/quotes`` says; for a large account the dropped texts are most of its
  /// memory. Pass the snapshot as its last owner (`consume`) and the dropped texts are freed.
  ///
  /// `checks` are the descriptions of the checks that will run (their targets are resolved here; a
  /// target the catalog lacks is a defect of the check and stops the program).
  public init(
    snapshot full: consuming AuthorizationSnapshot, evaluator: KMSPolicyEvaluator = KMSPolicyEvaluator(),
    engine: PolicyEngine = PolicyEngine(), checks: [CheckDescription] = CheckCatalog.all.map(\.description)
  ) {
    self.evaluator = evaluator
    self.engine = engine
    var targets: [ActionTarget: ResolvedTarget] = [:]
    var quoting: [(StatementQuoting, [ActionSet])] = []
    for c in checks {
      func resolve(_ t: ActionTarget) -> ResolvedTarget {
        if let known = targets[t] { return known }
        let resolved: ResolvedTarget
        do { resolved = try engine.resolve(t) } catch { preconditionFailure("check \(c.id): \(error)") }
        targets[t] = resolved
        return resolved
      }
      let target = c.target.map(resolve)
      switch c.quotes {
      case .none: continue
      case .matchingTarget, .allowingAnyOfTarget, .allowingAllOfTarget:
        if let target { quoting.append((c.quotes, [target.actions])) }
      case .allowingAllOfSome(let parts, let matching):
        quoting.append((c.quotes, parts.map { resolve($0).actions }))
        if let matching { quoting.append((.matchingTarget, [resolve(matching).actions])) }
      }
    }
    self.targets = targets

    var trust: [String: Result<TrustPolicy, TrustPolicyErrors>] = [:]
    for p in full.principals where p.type == .role {
      if let t = p.trustPolicy, trust[t.sha256] == nil { trust[t.sha256] = TrustPolicy.parse(t.json) }
    }
    self.trustPolicies = trust

    var documents: [String: PolicyDocumentText] = [:]
    var judged: [String: PolicyDocumentText] = [:]  // inline and customer-managed defaults: all three KMS targets
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
    // Each document is parsed from its canonical text here, once, for the engine's analysis and the
    // KMS evaluations (judged documents are explained once for all three KMS targets), and its tree
    // dropped after them.
    let catalog = evaluator.catalog
    let kmsTargets = [catalog.allActionNames, catalog.decryptActionNames, catalog.destructiveActionNames]
    let list = documents.map { ($0.key, $0.value, judged[$0.key] != nil) }
    judged = [:]
    documents = [:]
    // Documents are independent: evaluate them on every core. Each iteration writes only its own slot.
    let evaluated = Parallel.map(list) { sha, document, isJudged -> (PolicyAnalysis, [PolicyEvaluation]) in
      let json = document.json
      let wanted = isJudged ? kmsTargets : [kmsTargets[0]]
      switch PolicyDocument.parse(json) {
      case .success(let parsed):
        return (engine.analyse(parsed), evaluator.evaluateActions(parsed, targets: wanted, relevantOnly: true))
      case .failure(let e):
        return (.invalid(e.errors), wanted.map { evaluator.evaluateActions(json, target: $0) })
      }
    }
    var fullAccess: [String: PolicyEvaluation] = [:]
    var decrypt: [String: PolicyEvaluation] = [:]
    var destructive: [String: PolicyEvaluation] = [:]
    var analyses: [String: PolicyAnalysis] = [:]
    analyses.reserveCapacity(list.count)
    var quoted = Set<String>()
    for ((sha, _, isJudged), (analysis, e)) in zip(list, evaluated) {
      analyses[sha] = analysis
      fullAccess[sha] = e[0]
      if isJudged { (decrypt[sha], destructive[sha]) = (e[1], e[2]) }
      if Self.mayBeQuoted(analysis, by: quoting) { quoted.insert(sha) }
    }
    self.fullAccess = fullAccess
    self.decrypt = decrypt
    self.destructive = destructive
    self.analyses = analyses

    let snapshot = full.keepingDocumentTexts(of: quoted)
    _ = consume full
    self.snapshot = snapshot
    self.policiesByARN = Dictionary(snapshot.managedPolicies.map { ($0.arn, $0) }, uniquingKeysWith: { a, _ in a })
    var groups: [String: Principal] = [:]
    var members: [String: [PrincipalRef]] = [:]
    var attached: [String: [PrincipalRef]] = [:]
    var bounded: [String: [PrincipalRef]] = [:]
    for p in snapshot.principals {
      if p.type == .group, groups[p.name] == nil { groups[p.name] = p }
      if p.type == .user { for g in Set(p.groups) { members[g, default: []].append(PrincipalRef(p)) } }
      for arn in Set(p.attachedPolicies.map(\.arn)) { attached[arn, default: []].append(PrincipalRef(p)) }
      if let b = p.permissionsBoundary { bounded[b.arn, default: []].append(PrincipalRef(p)) }
    }
    self.groupsByName = groups
    self.membersByGroup = members.mapValues { $0.sorted() }
    self.attachmentsByARN = attached.mapValues { $0.sorted() }
    self.boundariesByARN = bounded.mapValues { $0.sorted() }
  }

  /// Whether some check may quote statements of a document with this analysis (see
  /// ``StatementQuoting``); an invalid document is always kept (its errors name statements).
  static func mayBeQuoted(_ a: PolicyAnalysis, by quoting: [(StatementQuoting, [ActionSet])]) -> Bool {
    if !a.isValid { return true }
    for (rule, sets) in quoting {
      switch rule {
      case .none: continue
      case .matchingTarget: if sets.contains(where: { !a.matched.isDisjoint(with: $0) }) { return true }
      case .allowingAnyOfTarget: if sets.contains(where: { !a.allowed.isDisjoint(with: $0) }) { return true }
      case .allowingAllOfTarget, .allowingAllOfSome:
        if sets.contains(where: { !$0.isEmpty && $0.isSubset(of: a.allowed) }) { return true }
      }
    }
    return false
  }

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

  /// The engine's analysis of `document` (cached for every identity-policy document of the snapshot).
  public func analysis(of document: PolicyDocumentText) -> PolicyAnalysis {
    analyses[document.sha256] ?? engine.analyse(document)
  }

  /// A check's target, resolved (cached for the checks the context was made for).
  public func resolved(_ target: ActionTarget) -> ResolvedTarget {
    if let known = targets[target] { return known }
    do { return try engine.resolve(target) } catch { preconditionFailure("target \(target): \(error)") }
  }

  /// The parsed trust policy of `role`, or its problems; nil when the snapshot holds none for it.
  public func trustPolicy(of role: Principal) -> Result<TrustPolicy, TrustPolicyErrors>? {
    guard let t = role.trustPolicy else { return nil }
    if let known = trustPolicies[t.sha256] { return known }
    return TrustPolicy.parse(t.json)
  }

  /// Everything that applies to `principal` (a user or role) in this snapshot.
  public func identitySources(of principal: Principal) -> IdentitySources { IdentitySources(principal: principal, context: self) }

  /// The engine's input for `sources`, from the cached analyses.
  public func identityPolicies(_ sources: IdentitySources) -> IdentityPolicies { sources.policies { analysis(of: $0) } }

  /// Member users by group name, sorted (indexed once: checks ask per group).
  public var membersByGroup: [String: [PrincipalRef]]
  /// Principals by attached managed-policy ARN, sorted (indexed once: checks ask per policy).
  public var attachmentsByARN: [String: [PrincipalRef]]

  /// The users that are members of `group`.
  public func members(of group: Principal) -> [PrincipalRef] { membersByGroup[group.name] ?? [] }

  /// Every principal a managed policy is attached to.
  public func attachments(of arn: String) -> [PrincipalRef] { attachmentsByARN[arn] ?? [] }

  /// Users and roles by the ARN of their permissions boundary, sorted (indexed once).
  public var boundariesByARN: [String: [PrincipalRef]]

  /// Every user and role whose permissions boundary is the managed policy `arn`.
  public func boundaryUsers(of arn: String) -> [PrincipalRef] { boundariesByARN[arn] ?? [] }
}

/// What the second phase of an assessment gives derived checks (``CheckDescription/inputs``): the
/// capture time of the snapshot and the results of the checks they read, exceptions applied (a
/// failure covered by an exception in force is `excepted`).
public struct PriorResults: Sendable {
  /// When the snapshot was captured.
  public var capturedAt: Timestamp
  /// Results by check id, for the checks named as inputs.
  public var byCheck: [String: [CheckResult]]

  public init(capturedAt: Timestamp, byCheck: [String: [CheckResult]]) {
    self.capturedAt = capturedAt
    self.byCheck = byCheck
  }

  /// The results of check `id` (empty when it gave none).
  public func results(of id: String) -> [CheckResult] { byCheck[id] ?? [] }
}

/// A check of the catalog: one file each, declaring its description and examining a snapshot.
///
/// A check whose description names ``CheckDescription/inputs`` is *derived*: the ``Assessor`` runs
/// it after every other check, with their results in ``CheckContext/prior``.
public protocol Check: Sendable {
  var description: CheckDescription { get }
  /// One result per subject examined (the whole population, passes included).
  func run(_ context: CheckContext) -> [CheckResult]
}
