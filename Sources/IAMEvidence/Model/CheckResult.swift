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

/// The sources that together make one privilege-escalation method available to an identity
/// (escalation checks): the method's id and every policy that grants a part of its action set.
public struct MethodSources: Sendable, Hashable {
  /// The escalation method's id (`passrole-ec2`, `iam-create-policy-version`, ...).
  public var method: String
  public var sources: [GrantSource]

  public init(method: String, sources: [GrantSource]) {
    self.method = method
    self.sources = sources
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
  /// Escalation checks: the ids of the privilege-escalation methods available, sorted (empty for
  /// every other check; written to JSON only when not empty).
  public var methods: [String]
  /// Escalation checks: per available method, the sources that make it available (written to JSON,
  /// as `method_sources`, only when not empty).
  public var methodSources: [MethodSources]
  /// An identity result excepted because every source of its grant is covered by an exception in
  /// force: each source with the exception covering it (``exception`` is the one expiring first).
  /// Written to JSON, as `covering_exceptions`, only when not empty.
  public var coveringExceptions: [SourceException] = []
  /// Customer-managed policy results: the users and roles whose permissions boundary the policy is
  /// (written to JSON, as `boundary_of`, only when not empty).
  public var boundaryOf: [PrincipalRef] = []

  public init(
    checkID: String, checkVersion: Int, status: ResultStatus, principal: PrincipalRef? = nil, policy: PolicyRef? = nil,
    statements: [Int] = [], offendingStatements: [JSONValue] = [], reasons: [String] = [], notes: [ResultNote] = [],
    why: String, exception: AppliedException? = nil, attachedTo: [PrincipalRef] = [], inheritedBy: [PrincipalRef] = [],
    sources: [GrantSource] = [], remediation: [String] = [], methods: [String] = [], methodSources: [MethodSources] = []
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
    self.methods = methods
    self.methodSources = methodSources
  }

  /// The stable identity of this result across snapshots: check, principal id (or policy ARN for
  /// managed policies), policy name, and the version for managed policies. A principal deleted and
  /// recreated under the same name has a new id, hence a new key.
  public var findingKey: String {
    // Built in one string (no array of parts): every stored result computes its key.
    var key = checkID
    if let principal {
      key += "|"
      key += principal.id
    }
    if let policy {
      switch policy.kind {
      case .inline:
        key += "|inline:"
        key += policy.name
      case .managed:
        key += "|"
        key += policy.arn ?? policy.name
        if let v = policy.versionID {
          key += "|"
          key += v
        }
      }
    }
    return key
  }

  /// The identity of the finding across snapshots: ``findingKey`` without a managed policy's version.
  /// A managed policy is the same subject whatever version is its default: when the default switches
  /// (v2 → v1) and the policy still fails, that is the same finding, changed (``DriftReport/changedFindings``),
  /// not one resolved and one new. Drift, trend and the period's findings follow this identity; the
  /// stored `finding_key` (and ``findingKey``) keeps the version it was judged on.
  public var findingIdentity: String {
    CheckResult.findingIdentity(key: findingKey, policyVersion: policy?.kind == .managed ? policy?.versionID : nil)
  }

  /// ``findingIdentity`` from a stored finding key and the managed policy version it ends with (nil
  /// for every other result): the key without its trailing `|<version>`.
  public static func findingIdentity(key: String, policyVersion: String?) -> String {
    guard let v = policyVersion, key.hasSuffix("|" + v) else { return key }
    return String(key.dropLast(v.count + 1))
  }
}
