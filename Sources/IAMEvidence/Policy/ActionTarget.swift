/// What a check asks about, as data: named actions, every action of a service, the actions of some
/// access levels (of one service or of all), every action of the catalog, or a union of these.
///
/// A target is resolved once against a catalog (``PolicyEngine/resolve(_:)``) into a
/// ``ResolvedTarget``; evaluations then work on its ``ResolvedTarget/actions``.
public indirect enum ActionTarget: Sendable, Hashable, CustomStringConvertible {
  /// Named actions, `service:Action` (case-insensitive), e.g. `["iam:PassRole"]`.
  case actions([String])
  /// Every action of a service, by prefix (`kms`).
  case service(String)
  /// Every action of the given access levels, of one service (prefix) or of the whole catalog (nil).
  case accessLevels(Set<AccessLevel>, service: String?)
  /// Every action of the catalog.
  case allActions
  /// The actions of any of the targets.
  case union([ActionTarget])

  /// `iam:PassRole`, `every kms action`, `every action of the catalog`, ...
  public var description: String {
    switch self {
    case .actions(let names): return names.joined(separator: ", ")
    case .service(let prefix): return "every \(prefix) action"
    case .accessLevels(let levels, let service):
      let names = levels.sorted().map(\.rawValue).joined(separator: ", ")
      return "every \(service.map { "\($0) " } ?? "")action of access level \(names)"
    case .allActions: return "every action of the catalog"
    case .union(let parts): return parts.map(\.description).joined(separator: "; ")
    }
  }

  /// The target's actions in `catalog`; throws for a named action or service the catalog lacks (a
  /// check naming one is a defect, not a property of the account).
  public func resolve(in catalog: ActionCatalog) throws(ActionCatalogError) -> ActionSet {
    switch self {
    case .actions(let names):
      var indexes: [Int] = []
      for n in names {
        guard let i = catalog.index(of: n) else { throw ActionCatalogError("target action \(n) is not in the catalog") }
        indexes.append(i)
      }
      return ActionSet(indexes: indexes)
    case .service(let prefix):
      guard let s = catalog.service(prefix: prefix) else { throw ActionCatalogError("target service \(prefix) is not in the catalog") }
      return ActionSet(range: s.actions)
    case .accessLevels(let levels, let service):
      if let service, catalog.service(prefix: service) == nil {
        throw ActionCatalogError("target service \(service) is not in the catalog")
      }
      return catalog.actions(levels: levels, service: service)
    case .allActions:
      return catalog.all
    case .union(let parts):
      var sets: [ActionSet] = []
      for p in parts { sets.append(try p.resolve(in: catalog)) }
      return ActionSet.union(sets)
    }
  }
}

/// A target resolved against a catalog: its actions, and how to name them in evidence.
public struct ResolvedTarget: Sendable, Hashable {
  public let target: ActionTarget
  public let actions: ActionSet
  /// E.g. `all 20,455 actions of the catalog`, `all 55 kms actions`, `iam:PassRole`.
  public let phrase: String
  /// The actions' full names in catalog order (`iam:PassRole`, ...).
  public let names: [String]?

  public init(target: ActionTarget, actions: ActionSet, phrase: String, names: [String]? = nil) {
    self.target = target
    self.actions = actions
    self.phrase = phrase
    self.names = names
  }
}
