import Dispatch
import Foundation

/// The status of one examined subject under one check.
public enum ResultStatus: String, Sendable, Hashable, CaseIterable, Codable {
  case fail, error, excepted, pass

  /// Most severe first: fail, error, excepted, pass.
  public var severityRank: Int {
    switch self {
    case .fail: return 0
    case .error: return 1
    case .excepted: return 2
    case .pass: return 3
    }
  }
}

/// A user, group or role named in a result.
public struct PrincipalRef: Sendable, Hashable, Comparable {
  public var type: PrincipalType
  public var id: String
  public var name: String
  public var arn: String

  public init(type: PrincipalType, id: String, name: String, arn: String) {
    self.type = type
    self.id = id
    self.name = name
    self.arn = arn
  }

  public init(_ p: Principal) { self.init(type: p.type, id: p.id, name: p.name, arn: p.arn) }

  public static func < (a: PrincipalRef, b: PrincipalRef) -> Bool { (a.type, a.name, a.arn) < (b.type, b.name, b.arn) }
}

/// Inline (embedded in one principal) or managed (standalone, attachable).
public enum PolicyKind: String, Sendable, Hashable, Codable {
  case inline, managed
}

/// The policy a result is about.
public struct PolicyRef: Sendable, Hashable {
  public var kind: PolicyKind
  public var name: String
  /// Managed policies only.
  public var arn: String?
  /// Managed policies only: the version judged.
  public var versionID: String?
  /// SHA-256 of the canonical document judged.
  public var documentSHA256: String

  public init(kind: PolicyKind, name: String, arn: String? = nil, versionID: String? = nil, documentSHA256: String) {
    self.kind = kind
    self.name = name
    self.arn = arn
    self.versionID = versionID
    self.documentSHA256 = documentSHA256
  }
}

/// A qualification of a result (`conditional`, `neutralised-by-deny`, `unattached`, `exception-expired`, ...).
public struct ResultNote: Sendable, Hashable {
  public var code: String
  public var message: String
  /// 0-based statement indexes it is about.
  public var statements: [Int]
  /// Supporting JSON (e.g. the Condition block), canonical.
  public var detail: String?

  public init(code: String, message: String, statements: [Int] = [], detail: String? = nil) {
    self.code = code
    self.message = message
    self.statements = statements
    self.detail = detail
  }
}

/// One source of an identity's effective access (identity check).
public struct GrantSource: Sendable, Hashable {
  /// `inline`, `managed`, `group-inline`, `group-managed`.
  public var kind: String
  public var policyName: String
  public var policyARN: String?
  /// The group it comes through, for group sources.
  public var viaGroup: String?

  public init(kind: String, policyName: String, policyARN: String? = nil, viaGroup: String? = nil) {
    self.kind = kind
    self.policyName = policyName
    self.policyARN = policyARN
    self.viaGroup = viaGroup
  }

  /// A label such as `group developers: inline kms-admin` or `managed arn:aws:iam::aws:policy/AdministratorAccess`.
  public var label: String {
    let what = policyARN.map { "managed \($0)" } ?? "inline \(policyName)"
    return viaGroup.map { "group \($0): \(what)" } ?? what
  }
}

/// One exception applied to a result.
public struct AppliedException: Sendable, Hashable {
  public var id: String
  public var approvedBy: String
  public var expiresOn: String
  public init(id: String, approvedBy: String, expiresOn: String) {
    self.id = id
    self.approvedBy = approvedBy
    self.expiresOn = expiresOn
  }
}

/// The result of one check for one subject (a policy, or an identity) in one snapshot. Every subject
/// examined gets one, passes included: the population is complete.
public struct CheckResult: Sendable, Hashable {
  public var checkID: String
  public var checkVersion: Int
  public var status: ResultStatus
  public var principal: PrincipalRef?
  public var policy: PolicyRef?
  /// 0-based indexes of the offending statements.
  public var statements: [Int]
  /// The offending statements as written (canonical JSON objects).
  public var offendingStatements: [JSONValue]
  /// Machine reason codes.
  public var reasons: [String]
  public var notes: [ResultNote]
  /// One sentence: why this status.
  public var why: String
  public var exception: AppliedException?
  /// Managed policies: every principal it is attached to.
  public var attachedTo: [PrincipalRef]
  /// Group policies: the member users who inherit it.
  public var inheritedBy: [PrincipalRef]
  /// Identity check: where the effective grant comes from.
  public var sources: [GrantSource]
  /// Remediation steps, AWS CLI commands with the real names filled in.
  public var remediation: [String]

  public init(
    checkID: String, checkVersion: Int, status: ResultStatus, principal: PrincipalRef? = nil, policy: PolicyRef? = nil,
    statements: [Int] = [], offendingStatements: [JSONValue] = [], reasons: [String] = [], notes: [ResultNote] = [],
    why: String, exception: AppliedException? = nil, attachedTo: [PrincipalRef] = [], inheritedBy: [PrincipalRef] = [],
    sources: [GrantSource] = [], remediation: [String] = []
  ) {
    self.checkID = checkID
    self.checkVersion = checkVersion
    self.status = status
    self.principal = principal
    self.policy = policy
    self.statements = statements
    self.offendingStatements = offendingStatements
    self.reasons = reasons
    self.notes = notes
    self.why = why
    self.exception = exception
    self.attachedTo = attachedTo
    self.inheritedBy = inheritedBy
    self.sources = sources
    self.remediation = remediation
  }

  /// The stable identity of this result across snapshots: check, principal id (or policy ARN for
  /// managed policies), policy name, and the version for managed policies. A principal deleted and
  /// recreated under the same name has a new id, hence a new key.
  public var findingKey: String {
    var parts = [checkID]
    if let principal { parts.append(principal.id) }
    if let policy {
      switch policy.kind {
      case .inline: parts.append("inline:" + policy.name)
      case .managed:
        parts.append(policy.arn ?? policy.name)
        if let v = policy.versionID { parts.append(v) }
      }
    }
    return parts.joined(separator: "|")
  }

  /// Sorts `results` into ``reportOrder(_:_:)`` by small precomputed keys, then moves each result
  /// once into place: an account's assessment holds tens of thousands of (large) results.
  public static func sortForReport(_ results: inout [CheckResult]) {
    struct Key {
      var rank: Int
      var checkID: String
      var check: Int
      var principal: (String, String, String)
      var policy: (String, String, String)
    }
    let keys = results.map { r in
      Key(
        rank: r.status.severityRank, checkID: r.checkID, check: CheckCatalog.position(of: r.checkID),
        principal: (r.principal?.type.rawValue ?? "", r.principal?.name ?? "", r.principal?.arn ?? ""),
        policy: (r.policy?.name ?? "", r.policy?.arn ?? "", r.policy?.versionID ?? ""))
    }
    // order[k] is the index of the result that belongs at position k.
    var order = keys.withUnsafeBufferPointer { k in
      results.indices.sorted { i, j in
        if k[i].rank != k[j].rank { return k[i].rank < k[j].rank }
        if k[i].checkID != k[j].checkID { return k[i].check < k[j].check }
        if k[i].principal != k[j].principal { return k[i].principal < k[j].principal }
        return k[i].policy < k[j].policy
      }
    }
    // Apply the permutation in place, cycle by cycle, with swaps (no copy of the array).
    for start in order.indices where order[start] != start {
      var k = start
      while order[k] != start {
        let next = order[k]
        results.swapAt(k, next)
        order[k] = k
        k = next
      }
      order[k] = k
    }
  }

  /// Sort order of reports and listings: most severe first, then by catalog order of the check (the
  /// control's primary test first), principal and policy.
  public static func reportOrder(_ a: CheckResult, _ b: CheckResult) -> Bool {
    if a.status.severityRank != b.status.severityRank { return a.status.severityRank < b.status.severityRank }
    if a.checkID != b.checkID { return CheckCatalog.position(of: a.checkID) < CheckCatalog.position(of: b.checkID) }
    let ka = (a.principal?.type.rawValue ?? "", a.principal?.name ?? "", a.principal?.arn ?? "")
    let kb = (b.principal?.type.rawValue ?? "", b.principal?.name ?? "", b.principal?.arn ?? "")
    if ka != kb { return ka < kb }
    return (a.policy?.name ?? "", a.policy?.arn ?? "", a.policy?.versionID ?? "") < (
      b.policy?.name ?? "", b.policy?.arn ?? "", b.policy?.versionID ?? ""
    )
  }
}

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
  public var triggering: [CheckExample]
  public var nonTriggering: [CheckExample]
  public var examplePlacement: ExamplePlacement

  public init(
    id: String, version: Int, title: String, controls: [String], rationale: String, remediation: String,
    methodology: [String], population: String, isPrimary: Bool = false, triggering: [CheckExample],
    nonTriggering: [CheckExample], examplePlacement: ExamplePlacement
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
    self.triggering = triggering
    self.nonTriggering = nonTriggering
    self.examplePlacement = examplePlacement
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
    let judgedResults = Self.parallelMap(judgedList) {
      evaluator.evaluateActions($0.value.json, targets: targets, relevantOnly: true)
    }
    let otherResults = Self.parallelMap(others) { evaluator.evaluateActions($0.1.json, targets: [targets[0]], relevantOnly: true)[0] }
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

  /// `transform` applied to every element, spread over the available cores; order is kept.
  static func parallelMap<T: Sendable, R: Sendable>(
    _ items: [T], minimumCount: Int = 64, _ transform: @escaping @Sendable (T) -> R
  ) -> [R] {
    if items.count < minimumCount { return items.map(transform) }
    let chunks = min(ProcessInfo.processInfo.activeProcessorCount * 4, items.count)
    var slots = [R?](repeating: nil, count: items.count)
    slots.withUnsafeMutableBufferPointer { buffer in
      let output = DisjointSlots(base: buffer.baseAddress!)
      DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        var i = chunk
        while i < items.count {
          output.base[i] = transform(items[i])
          i += chunks
        }
      }
    }
    return slots.map { $0! }
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

/// A buffer whose slots concurrent iterations write: each iteration writes only the indexes it owns
/// (`i ≡ chunk mod chunks`), so no slot is shared and the unchecked sendability is sound.
private struct DisjointSlots<R>: @unchecked Sendable {
  let base: UnsafeMutablePointer<R?>
}
