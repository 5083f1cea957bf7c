/// A capability a principal holds on one side of a drift and not on the other.
public struct PrivilegeChange: Sendable, Hashable {
  public var principal: PrincipalRef
  /// The capability code.
  public var capability: String

  public init(principal: PrincipalRef, capability: String) {
    self.principal = principal
    self.capability = capability
  }
}

/// The privileges gained and lost between two snapshots: "who became an administrator this quarter".
/// Capability codes are compared per principal (type and unique id): a change of escalation methods
/// within `escalation`, of sources or of exceptions is neither a gain nor a loss; a principal deleted
/// and recreated under the same name is a different principal (the new one gains, the old one loses).
public struct PrivilegeDrift: Sendable, Hashable {
  /// Held in the newer snapshot, not in the older, by capability then ARN.
  public var gained: [PrivilegeChange]
  /// Held in the older snapshot, not in the newer, by capability then ARN.
  public var lost: [PrivilegeChange]

  public init(gained: [PrivilegeChange] = [], lost: [PrivilegeChange] = []) {
    self.gained = gained
    self.lost = lost
  }

  public var isEmpty: Bool { gained.isEmpty && lost.isEmpty }

  /// Compares the registers of two snapshots (``PrivilegedRegister/entries(snapshot:results:capabilities:roleUsage:since:)``).
  public static func between(_ old: [PrivilegedPrincipal], _ new: [PrivilegedPrincipal]) -> PrivilegeDrift {
    func pairs(_ register: [PrivilegedPrincipal]) -> [String: PrivilegeChange] {
      var out: [String: PrivilegeChange] = [:]
      for e in register {
        for code in e.capabilities {
          out[PrivilegedRegister.key(e.principal) + "|" + code] = PrivilegeChange(principal: e.principal, capability: code)
        }
      }
      return out
    }
    let before = pairs(old)
    let after = pairs(new)
    func order(_ a: PrivilegeChange, _ b: PrivilegeChange) -> Bool {
      (a.capability, a.principal.arn, a.principal.id, a.principal.type.rawValue)
        < (b.capability, b.principal.arn, b.principal.id, b.principal.type.rawValue)
    }
    return PrivilegeDrift(
      gained: after.filter { before[$0.key] == nil }.map(\.value).sorted(by: order),
      lost: before.filter { after[$0.key] == nil }.map(\.value).sorted(by: order))
  }

  /// The `diff --format json` member: `gained` and `lost`, each a list of
  /// `{principal_arn, principal_id, capability}`.
  public var jsonValue: JSONValue {
    func list(_ changes: [PrivilegeChange]) -> JSONValue {
      .array(
        changes.map {
          .object([
            ("principal_arn", .string($0.principal.arn)), ("principal_id", .string($0.principal.id)),
            ("capability", .string($0.capability)),
          ])
        })
    }
    return .object([("gained", list(gained)), ("lost", list(lost))])
  }
}
