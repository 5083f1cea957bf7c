/// One capability a principal holds: the result that gives it.
public struct HeldCapability: Sendable, Hashable {
  /// The capability code (``PrivilegeCapability/code``).
  public var code: String
  public var checkID: String
  public var checkVersion: Int
  /// `fail`, or `excepted` when an approved exception covers it.
  public var status: ResultStatus
  /// Escalation: the method ids available, sorted.
  public var methods: [String]
  /// Where it comes from: per escalation method when the result lists sources per method, else the
  /// result's sources (each with no method).
  public var sources: [CapabilitySource]
  /// The exception that covers it (`excepted` results).
  public var exception: AppliedException?

  public init(
    code: String, checkID: String, checkVersion: Int, status: ResultStatus, methods: [String] = [], sources: [CapabilitySource] = [],
    exception: AppliedException? = nil
  ) {
    self.code = code
    self.checkID = checkID
    self.checkVersion = checkVersion
    self.status = status
    self.methods = methods
    self.sources = sources
    self.exception = exception
  }
}

/// A source of a held capability: a policy (inline, managed, through a group), and for escalation the
/// method it contributes to.
public struct CapabilitySource: Sendable, Hashable {
  public var capability: String
  /// The escalation method, nil for other capabilities.
  public var method: String?
  public var source: GrantSource

  public init(capability: String, method: String? = nil, source: GrantSource) {
    self.capability = capability
    self.method = method
    self.source = source
  }
}

/// An entry of the privileged-access register: a user or role holding at least one privileged
/// capability in one snapshot.
public struct PrivilegedPrincipal: Sendable, Hashable {
  public var snapshotID: Int
  public var principal: PrincipalRef
  /// The capabilities held, sorted by code (then check).
  public var held: [HeldCapability]
  /// Roles: `RoleLastUsed` in this snapshot (both fields nil: never used). Nil for users.
  public var lastUsed: RoleLastUse?
  /// The capture time of the earliest snapshot from which this principal (same unique id) held at
  /// least one capability in every assessed snapshot of its account up to this one.
  public var privilegedSince: Timestamp

  public init(snapshotID: Int, principal: PrincipalRef, held: [HeldCapability], lastUsed: RoleLastUse?, privilegedSince: Timestamp) {
    self.snapshotID = snapshotID
    self.principal = principal
    self.held = held
    self.lastUsed = lastUsed
    self.privilegedSince = privilegedSince
  }

  /// The capability codes, sorted, each once.
  public var capabilities: [String] { Array(Set(held.map(\.code))).sorted() }
  /// The escalation method ids, sorted, each once.
  public var methods: [String] { Array(Set(held.flatMap(\.methods))).sorted() }
  /// Every source, by capability.
  public var sources: [CapabilitySource] { held.flatMap(\.sources) }
  /// The exceptions covering its capabilities.
  public var exceptions: [(capability: String, checkID: String, exception: AppliedException)] {
    held.compactMap { h in h.exception.map { (h.code, h.checkID, $0) } }
  }
  /// Whether every capability it holds is covered by an exception.
  public var isFullyExcepted: Bool { held.allSatisfy { $0.status == .excepted } }

  /// Reading order: capabilities (as a sorted list of codes), then name (ignoring case, as a reader
  /// looks a name up; then exactly), type, ARN and unique id.
  public static func readingOrder(_ a: PrivilegedPrincipal, _ b: PrivilegedPrincipal) -> Bool {
    let (ca, cb) = (a.capabilities, b.capabilities)
    if ca != cb { return ca.lexicographicallyPrecedes(cb) }
    return (a.principal.name.lowercased(), a.principal.name, a.principal.type.rawValue, a.principal.arn, a.principal.id)
      < (b.principal.name.lowercased(), b.principal.name, b.principal.type.rawValue, b.principal.arn, b.principal.id)
  }
}

/// The privileged-access register of one snapshot: every user and role holding a capability, computed
/// from fetched results (pure: the service fetches, see ``EvidenceWorkflow/privileged(snapshot:account:capabilities:)``).
public enum PrivilegedRegister {
  /// The identity of a principal across snapshots: its type and unique id (a principal deleted and
  /// recreated under the same name has a new id, so it starts again).
  public static func key(_ p: PrincipalRef) -> String { p.type.rawValue + "|" + p.id }

  /// The register of `snapshot` from its `results` (those of the check versions that count, see
  /// ``ResultListRecord/currentVersions(_:)``), its roles' usage by unique id, and the start of each
  /// principal's current run by ``key(_:)`` (``PrivilegeHistoryBuilder/since``; a principal missing
  /// there is privileged since this snapshot). In reading order.
  public static func entries(
    snapshot: SnapshotRecord, results: [CheckResult], capabilities: CapabilityMap, roleUsage: [String: RoleLastUse],
    since: [String: Timestamp]
  ) -> [PrivilegedPrincipal] {
    var byPrincipal: [String: (PrincipalRef, [HeldCapability])] = [:]
    for r in results {
      guard let code = capabilities.capability(of: r), let p = r.principal else { continue }
      var sources: [CapabilitySource] = []
      if r.methodSources.isEmpty {
        sources = r.sources.map { CapabilitySource(capability: code, source: $0) }
      } else {
        for m in r.methodSources.sorted(by: { $0.method < $1.method }) {
          sources += m.sources.map { CapabilitySource(capability: code, method: m.method, source: $0) }
        }
      }
      let held = HeldCapability(
        code: code, checkID: r.checkID, checkVersion: r.checkVersion, status: r.status, methods: Array(Set(r.methods)).sorted(),
        sources: sources, exception: r.status == .excepted ? r.exception : nil)
      byPrincipal[key(p), default: (p, [])].1.append(held)
    }
    return byPrincipal.map { (k, entry) in
      PrivilegedPrincipal(
        snapshotID: snapshot.id, principal: entry.0,
        held: entry.1.sorted { ($0.code, $0.checkID, $0.checkVersion) < ($1.code, $1.checkID, $1.checkVersion) },
        lastUsed: entry.0.type == .role ? (roleUsage[entry.0.id] ?? RoleLastUse(date: nil, region: nil)) : nil,
        privilegedSince: since[k] ?? snapshot.capturedAt)
    }.sorted(by: PrivilegedPrincipal.readingOrder)
  }

  /// Keeps the results of the check versions that count (``ResultListRecord/currentVersions(_:)``).
  public static func currentResults(_ results: [CheckResult], lists: [ResultListRecord]) -> [CheckResult] {
    let current = ResultListRecord.currentVersions(lists)
    return results.filter { current.contains(CheckVersion(id: $0.checkID, version: $0.checkVersion)) }
  }
}

extension PrivilegedPrincipal {
  /// The `privileged --format json` object.
  public var jsonValue: JSONValue {
    func s(_ x: String?) -> JSONValue { x.map(JSONValue.string) ?? .null }
    return .object([
      ("snapshot", .number(String(snapshotID))),
      ("principal_type", .string(principal.type.rawValue)),
      ("principal_name", .string(principal.name)),
      ("principal_arn", .string(principal.arn)),
      ("principal_id", .string(principal.id)),
      ("capabilities", .array(capabilities.map(JSONValue.string))),
      ("methods", .array(methods.map(JSONValue.string))),
      (
        "sources",
        .array(
          sources.map {
            .object([
              ("capability", .string($0.capability)), ("method", s($0.method)), ("kind", .string($0.source.kind)),
              ("label", .string($0.source.label)), ("policy_name", .string($0.source.policyName)), ("policy_arn", s($0.source.policyARN)),
              ("via_group", s($0.source.viaGroup)),
            ])
          })
      ),
      (
        "exceptions",
        .array(
          exceptions.map {
            .object([
              ("capability", .string($0.capability)), ("check", .string($0.checkID)), ("id", .string($0.exception.id)),
              ("approved_by", .string($0.exception.approvedBy)), ("expires_on", .string($0.exception.expiresOn)),
            ])
          })
      ),
      (
        "last_used",
        lastUsed.map { .object([("date", s($0.date?.description)), ("region", s($0.region))]) } ?? .null
      ),
      ("privileged_since", .string(privilegedSince.description)),
    ])
  }
}
