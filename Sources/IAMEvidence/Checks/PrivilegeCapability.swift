/// A privileged capability of the privileged-access register (ISO/IEC 27001:2022 A.8.2): what a
/// principal can do because one of its results is `fail` or `excepted` (an `error` result gives
/// nothing: it is a finding of its own). A check declares the capability it gives in its catalog
/// entry (``CheckDescription/capability``), so the register needs no list of check ids:
///
///     capability: "kms-full-access"                              // users and roles
///     capability: PrivilegeCapability("public-trust", principalTypes: [.role])
public struct PrivilegeCapability: Sendable, Hashable, ExpressibleByStringLiteral {
  /// The stable code: `admin`, `escalation`, `kms-full-access`, `public-trust`, `oidc-unrestricted`.
  public var code: String
  /// The principal types that hold it through the check: users and roles unless the check says
  /// otherwise (trust-policy capabilities are held by roles only). Groups never hold one: the register
  /// lists identities, and a group's grants reach it through its member users.
  public var principalTypes: Set<PrincipalType>

  public init(_ code: String, principalTypes: Set<PrincipalType> = [.user, .role]) {
    self.code = code
    self.principalTypes = principalTypes.subtracting([.group])
  }

  public init(stringLiteral code: String) { self.init(code) }
}

/// Which check gives which capability: the catalog's ``CheckDescription/capability`` declarations
/// (``catalog``), or a mapping given by a caller (tests).
public struct CapabilityMap: Sendable {
  /// Capabilities by check id.
  public let byCheck: [String: PrivilegeCapability]

  public init(_ byCheck: [String: PrivilegeCapability]) { self.byCheck = byCheck }

  /// The declarations of `checks` (a check without ``CheckDescription/capability`` gives none).
  public init(checks: [CheckDescription]) {
    var map: [String: PrivilegeCapability] = [:]
    for c in checks { if let capability = c.capability { map[c.id] = capability } }
    self.init(map)
  }

  /// The mapping the catalog declares.
  public static var catalog: CapabilityMap { CapabilityMap(checks: CheckCatalog.all.map(\.description)) }

  /// The checks that give a capability, sorted.
  public var checkIDs: [String] { byCheck.keys.sorted() }

  /// The capability code a `fail` or `excepted` result of `check` gives a principal of `type`, if any.
  public func capability(check: String, principalType: PrincipalType) -> String? {
    guard let c = byCheck[check], c.principalTypes.contains(principalType) else { return nil }
    return c.code
  }

  /// The capability a result gives its principal: only `fail` and `excepted` count.
  public func capability(of r: CheckResult) -> String? {
    guard r.status == .fail || r.status == .excepted, let p = r.principal else { return nil }
    return capability(check: r.checkID, principalType: p.type)
  }

  /// Every capability code, sorted.
  public var codes: [String] { Set(byCheck.values.map(\.code)).sorted() }
}
