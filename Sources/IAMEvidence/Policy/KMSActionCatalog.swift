import Foundation

/// One AWS KMS action as listed in the Service Authorization Reference.
public struct KMSAction: Sendable, Hashable {
  /// The action name without service prefix, e.g. `Decrypt`.
  public var name: String
  /// `Read`, `List`, `Write`, `Permissions management` or `Tagging`.
  public var accessLevel: String
  /// Resource types the action can be scoped to (`key`, `alias`); empty for wildcard-only actions.
  public var resourceTypes: [String]
  /// Whether the action only supports `Resource: "*"` (e.g. `CreateKey`, `ListKeys`).
  public var resourceWildcardOnly: Bool

  public init(name: String, accessLevel: String, resourceTypes: [String], resourceWildcardOnly: Bool) {
    self.name = name
    self.accessLevel = accessLevel
    self.resourceTypes = resourceTypes
    self.resourceWildcardOnly = resourceWildcardOnly
  }

  /// The full action string, e.g. `kms:Decrypt`: the form used in every action set of this module.
  public var fullName: String { "kms:" + name }
}

/// A catalog problem (malformed or missing catalog JSON).
public struct KMSCatalogError: Error, Sendable, Hashable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// The catalog of KMS actions: the `kms` service of the bundled ``ActionCatalog`` (``bundled``), or any
/// JSON of the shape (`{"service": "kms", "actions": [{"name", "access_level", "resource_types",
/// "resource_wildcard_only"}]}`), so it is easy to update when AWS adds actions.
///
/// "Every KMS action" always means every action of the catalog in use.
///
/// Named subsets:
/// * ``decryptActions``: `Decrypt` and `ReEncryptFrom` (the actions that turn ciphertext back into data).
/// * ``destructiveActions``: the rule is *every action of access level "Permissions management"* (they
///   change who may use a key: `CreateGrant`, `PutKeyPolicy`, `RetireGrant`, `RevokeGrant`, and any such
///   action AWS adds later) *plus the writes that make existing ciphertext undecryptable or weaken a key*:
///   `ScheduleKeyDeletion`, `DisableKey`, `DeleteImportedKeyMaterial`, `DisconnectCustomKeyStore` (all
///   keys of the store become unusable at once) and `DisableKeyRotation`. Not included: `DeleteAlias` /
///   `UpdateAlias` (keys and ciphertext are untouched), `UpdateKeyDescription`, `ReplicateKey` (creates a
///   copy, destroys nothing), `ImportKeyMaterial`, `CancelKeyDeletion`, `DeleteCustomKeyStore` (only
///   possible once the store holds no keys).
public struct KMSActionCatalog: Sendable, Hashable {
  /// The actions, in catalog order.
  public let actions: [KMSAction]
  /// Every action's full name (`kms:Decrypt`, ...). Stored: the evaluator asks for it per document.
  public let allActionNames: Set<String>
  /// Full names of ``decryptActions``.
  public let decryptActionNames: Set<String>
  /// Full names of ``destructiveActions``.
  public let destructiveActionNames: Set<String>
  /// Full names of the actions that take only `Resource: "*"` (``KMSAction/resourceWildcardOnly``:
  /// `CreateKey`, `ListKeys`, `DisconnectCustomKeyStore`, ...).
  public let wildcardOnlyActionNames: Set<String>

  /// Names (without prefix) of the decrypt subset.
  public static let decryptActionNames: Set<String> = ["Decrypt", "ReEncryptFrom"]
  /// Names (without prefix) of the key-destroying / disabling / weakening writes of the destructive subset;
  /// the subset also holds every "Permissions management" action.
  public static let destroyingWriteNames: Set<String> = [
    "ScheduleKeyDeletion", "DisableKey", "DeleteImportedKeyMaterial", "DisconnectCustomKeyStore",
    "DisableKeyRotation",
  ]

  /// A catalog of the given actions.
  public init(actions: [KMSAction]) {
    self.actions = actions
    allActionNames = Set(actions.map(\.fullName))
    decryptActionNames = Set(actions.filter { Self.decryptActionNames.contains($0.name) }.map(\.fullName))
    destructiveActionNames = Set(
      actions.filter { $0.accessLevel == "Permissions management" || Self.destroyingWriteNames.contains($0.name) }.map(\.fullName))
    wildcardOnlyActionNames = Set(actions.filter(\.resourceWildcardOnly).map(\.fullName))
  }

  /// A catalog from parsed catalog JSON; throws when the shape is wrong.
  public init(json: JSONValue) throws(KMSCatalogError) {
    if let service = json["service"], service.stringValue != "kms" {
      throw KMSCatalogError("catalog service must be \"kms\"")
    }
    guard let items = json["actions"]?.arrayValue else {
      throw KMSCatalogError("catalog must be an object with an \"actions\" array")
    }
    var actions: [KMSAction] = []
    var seen: Set<String> = []
    for (i, item) in items.enumerated() {
      guard let name = item["name"]?.stringValue, !name.isEmpty, !name.contains(":"),
        !name.contains("*"), !name.contains("?")
      else { throw KMSCatalogError("actions[\(i)]: name must be a non-empty action name without prefix") }
      guard let level = item["access_level"]?.stringValue else {
        throw KMSCatalogError("actions[\(i)] (\(name)): access_level must be a string")
      }
      guard let types = item["resource_types"]?.arrayValue?.compactMap(\.stringValue),
        types.count == item["resource_types"]?.arrayValue?.count
      else { throw KMSCatalogError("actions[\(i)] (\(name)): resource_types must be an array of strings") }
      guard case .bool(let wildcardOnly)? = item["resource_wildcard_only"] else {
        throw KMSCatalogError("actions[\(i)] (\(name)): resource_wildcard_only must be a boolean")
      }
      guard seen.insert(name.lowercased()).inserted else {
        throw KMSCatalogError("actions[\(i)]: duplicate action \(name)")
      }
      actions.append(KMSAction(name: name, accessLevel: level, resourceTypes: types, resourceWildcardOnly: wildcardOnly))
    }
    if actions.isEmpty { throw KMSCatalogError("catalog lists no actions") }
    self.init(actions: actions)
  }

  /// A catalog from catalog JSON bytes.
  public init(data: some Collection<UInt8>) throws(KMSCatalogError) {
    let json: JSONValue
    do { json = try JSONParser.parse(data) } catch { throw KMSCatalogError("catalog JSON: \(error)") }
    try self.init(json: json)
  }

  /// The KMS view of the bundled action catalog (``ActionCatalog/bundled``, `Resources/aws-actions.json`).
  public static func loadBundled() throws(KMSCatalogError) -> KMSActionCatalog {
    let catalog: ActionCatalog
    do { catalog = try ActionCatalog.loadBundled() } catch { throw KMSCatalogError("bundled action catalog: \(error)") }
    return try KMSActionCatalog(catalog: catalog)
  }

  /// The bundled catalog. It ships inside the library, so failing to load it is a build defect and stops
  /// the program; use ``loadBundled()`` to handle that case yourself.
  public static let bundled: KMSActionCatalog = {
    do { return try KMSActionCatalog(catalog: .bundled) } catch { preconditionFailure("IAMEvidence: \(error)") }
  }()

  /// `Decrypt` and `ReEncryptFrom`.
  public var decryptActions: [KMSAction] { actions.filter { Self.decryptActionNames.contains($0.name) } }

  /// Permissions-management actions plus the key-destroying/disabling/weakening writes (see the type doc).
  public var destructiveActions: [KMSAction] {
    actions.filter { $0.accessLevel == "Permissions management" || Self.destroyingWriteNames.contains($0.name) }
  }

  /// The action named `name` (`Decrypt`, `kms:decrypt`, ...; case-insensitive), if the catalog has it.
  public func action(named name: String) -> KMSAction? {
    var bare = Substring(name)
    if let colon = bare.firstIndex(of: ":") {
      guard bare[..<colon].lowercased() == "kms" else { return nil }
      bare = bare[bare.index(after: colon)...]
    }
    let lower = bare.lowercased()
    return actions.first { $0.name.lowercased() == lower }
  }

  /// The canonical full name for `name`: the catalog spelling when known (`decrypt` → `kms:Decrypt`),
  /// otherwise `name` itself, prefixed with `kms:` when it has no service prefix.
  public func canonicalName(_ name: String) -> String {
    // Already canonical (the common case: targets built from the catalog itself).
    if name.hasPrefix("kms:"), actions.contains(where: { $0.fullName == name }) { return name }
    if let a = action(named: name) { return a.fullName }
    return name.contains(":") ? name : "kms:" + name
  }
}
