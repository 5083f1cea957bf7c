/// The registry of checks: a literal list, guarded by a test (every check registered, ids unique).
public enum CheckCatalog {
  /// Every check, the founding test first (`kms-full-access-inline`, of A.8.2). A new check is one file
  /// in `Checks/Catalog/` and one line here.
  public static let all: [any Check] = [
    InlinePolicyFullKMSAccess(),
    ManagedPolicyFullKMSAccess(),
    DecryptAllKeys(),
    KeyDestructionAllKeys(),
    IdentityFullKMSAccess(),
    AdminAccessInline(),
    AdminAccessManaged(),
    AdminAccessIdentity(),
    UserDirectPolicies(),
    PrivilegeEscalationPolicy(),
    PrivilegeEscalationIdentity(),
    RoleTrustPublic(),
    RoleTrustOIDCUnrestricted(),
    PrivilegedRoleUnused(),
  ]

  /// The catalog position of check `id` (unknown ids sort last).
  public static func position(of id: String) -> Int { positions[id] ?? all.count }

  /// Positions by id, computed once: sorting results asks for them per comparison (searching the
  /// list copied each check's description every time).
  private static let positions: [String: Int] = {
    var out: [String: Int] = [:]
    for (i, c) in all.enumerated() where out[c.description.id] == nil { out[c.description.id] = i }
    return out
  }()

  /// The check with `id`, if registered.
  public static func check(id: String) -> (any Check)? { all.first { $0.description.id == id } }
}

extension Check {
  /// The check's id and version, as assessments record them.
  public var checkVersion: CheckVersion { CheckVersion(id: description.id, version: description.version) }
}
