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
///
/// Its subject and status are stored in place; the rest of its detail (statements, notes, sources,
/// remediation, ...) in one shared, copy-on-write box: an account's report holds hundreds of
/// thousands of results, copied as they are sorted, filtered and written, and many of them (the
/// passes of a check, read back from one stored body) have the very same detail. The value
/// semantics are those of a plain struct.
public struct CheckResult: Sendable, Hashable {
  public var checkID: String
  public var checkVersion: Int
  public var status: ResultStatus
  public var principal: PrincipalRef?
  public var policy: PolicyRef?
  private var detail: Detail

  /// The part of a result kept in one box (immutable once shared: a writer copies it first).
  private final class Detail: @unchecked Sendable {
    var statements: [Int]
    var offendingStatements: [JSONValue]
    var reasons: [String]
    var notes: [ResultNote]
    var why: String
    var exception: AppliedException?
    var attachedTo: [PrincipalRef]
    var inheritedBy: [PrincipalRef]
    var sources: [GrantSource]
    var remediation: [String]
    var methods: [String]
    var methodSources: [MethodSources]
    var coveringExceptions: [SourceException]
    var boundaryOf: [PrincipalRef]

    init(
      statements: [Int],
      offendingStatements: [JSONValue],
      reasons: [String],
      notes: [ResultNote],
      why: String,
      exception: AppliedException?,
      attachedTo: [PrincipalRef],
      inheritedBy: [PrincipalRef],
      sources: [GrantSource],
      remediation: [String],
      methods: [String],
      methodSources: [MethodSources],
      coveringExceptions: [SourceException],
      boundaryOf: [PrincipalRef]
    ) {
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
      self.coveringExceptions = coveringExceptions
      self.boundaryOf = boundaryOf
    }

    func copy() -> Detail {
      Detail(
        statements: statements, offendingStatements: offendingStatements, reasons: reasons, notes: notes, why: why, exception: exception,
        attachedTo: attachedTo, inheritedBy: inheritedBy, sources: sources, remediation: remediation, methods: methods,
        methodSources: methodSources, coveringExceptions: coveringExceptions, boundaryOf: boundaryOf)
    }

    static func equal(_ a: Detail, _ b: Detail) -> Bool {
      a === b
        || (a.statements == b.statements && a.offendingStatements == b.offendingStatements && a.reasons == b.reasons && a.notes == b.notes
          && a.why == b.why && a.exception == b.exception && a.attachedTo == b.attachedTo && a.inheritedBy == b.inheritedBy
          && a.sources == b.sources && a.remediation == b.remediation && a.methods == b.methods && a.methodSources == b.methodSources
          && a.coveringExceptions == b.coveringExceptions && a.boundaryOf == b.boundaryOf)
    }

    func hash(into hasher: inout Hasher) {
      hasher.combine(statements)
      hasher.combine(offendingStatements)
      hasher.combine(reasons)
      hasher.combine(notes)
      hasher.combine(why)
      hasher.combine(exception)
      hasher.combine(attachedTo)
      hasher.combine(inheritedBy)
      hasher.combine(sources)
      hasher.combine(remediation)
      hasher.combine(methods)
      hasher.combine(methodSources)
      hasher.combine(coveringExceptions)
      hasher.combine(boundaryOf)
    }
  }

  /// 0-based indexes of the offending statements.
  public var statements: [Int] {
    get { detail.statements }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.statements
    }
  }

  /// The offending statements as written (canonical JSON objects).
  public var offendingStatements: [JSONValue] {
    get { detail.offendingStatements }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.offendingStatements
    }
  }

  /// Machine reason codes.
  public var reasons: [String] {
    get { detail.reasons }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.reasons
    }
  }

  public var notes: [ResultNote] {
    get { detail.notes }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.notes
    }
  }

  /// One sentence: why this status.
  public var why: String {
    get { detail.why }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.why
    }
  }

  public var exception: AppliedException? {
    get { detail.exception }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.exception
    }
  }

  /// Managed policies: every principal it is attached to.
  public var attachedTo: [PrincipalRef] {
    get { detail.attachedTo }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.attachedTo
    }
  }

  /// Group policies: the member users who inherit it.
  public var inheritedBy: [PrincipalRef] {
    get { detail.inheritedBy }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.inheritedBy
    }
  }

  /// Identity check: where the effective grant comes from.
  public var sources: [GrantSource] {
    get { detail.sources }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.sources
    }
  }

  /// Remediation steps, AWS CLI commands with the real names filled in.
  public var remediation: [String] {
    get { detail.remediation }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.remediation
    }
  }

  /// Escalation checks: the ids of the privilege-escalation methods available, sorted (empty for
  /// every other check; written to JSON only when not empty).
  public var methods: [String] {
    get { detail.methods }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.methods
    }
  }

  /// Escalation checks: per available method, the sources that make it available (written to JSON,
  /// as `method_sources`, only when not empty).
  public var methodSources: [MethodSources] {
    get { detail.methodSources }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.methodSources
    }
  }

  /// An identity result excepted because every source of its grant is covered by an exception in
  /// force: each source with the exception covering it (``exception`` is the one expiring first).
  /// Written to JSON, as `covering_exceptions`, only when not empty.
  public var coveringExceptions: [SourceException] {
    get { detail.coveringExceptions }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.coveringExceptions
    }
  }

  /// Customer-managed policy results: the users and roles whose permissions boundary the policy is
  /// (written to JSON, as `boundary_of`, only when not empty).
  public var boundaryOf: [PrincipalRef] {
    get { detail.boundaryOf }
    _modify {
      if !isKnownUniquelyReferenced(&detail) { detail = detail.copy() }
      yield &detail.boundaryOf
    }
  }

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
    self.detail = Detail(
      statements: statements, offendingStatements: offendingStatements, reasons: reasons, notes: notes, why: why,
      exception: exception, attachedTo: attachedTo, inheritedBy: inheritedBy, sources: sources, remediation: remediation,
      methods: methods, methodSources: methodSources, coveringExceptions: [], boundaryOf: [])
  }

  public static func == (a: CheckResult, b: CheckResult) -> Bool {
    a.checkID == b.checkID && a.checkVersion == b.checkVersion && a.status == b.status && a.principal == b.principal
      && a.policy == b.policy && Detail.equal(a.detail, b.detail)
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(checkID)
    hasher.combine(checkVersion)
    hasher.combine(status)
    hasher.combine(principal)
    hasher.combine(policy)
    detail.hash(into: &hasher)
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
