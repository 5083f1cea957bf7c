import Foundation

/// One privilege-escalation method: a set of actions that, allowed together on all resources, let an
/// identity give itself (or take over) more permissions than it was granted.
///
/// A method is *available* to an identity when the engine's "can perform" rule holds for its whole
/// action set (``PolicyEngine/canPerform(_:each:)``): every action allowed on all resources, none
/// denied unconditionally on all resources; conditions are noted, never narrowing.
public struct EscalationMethod: Sendable, Hashable {
  /// Stable id (`passrole-ec2`): results and the privileged-access register name methods by it, so it
  /// never changes meaning.
  public var id: String
  /// The actions, `service:Action` as AWS spells them (no wildcards).
  public var actions: [String]
  /// One line: how the actions are used to escalate.
  public var explanation: String
  /// Public sources describing the method (URLs).
  public var sources: [String]

  public init(id: String, actions: [String], explanation: String, sources: [String]) {
    self.id = id
    self.actions = actions
    self.explanation = explanation
    self.sources = sources
  }

  /// The method's actions as a check target.
  public var target: ActionTarget { .actions(actions) }
}

/// A problem with escalation-method JSON, located by its JSON path (`$.methods[3].actions[0]`).
public struct EscalationMethodCatalogError: Error, Sendable, Hashable, CustomStringConvertible {
  public var path: String
  public var message: String
  public init(path: String, _ message: String) {
    self.path = path
    self.message = message
  }
  public var description: String { "\(path): \(message)" }
}

/// The privilege-escalation methods the escalation checks look for, as data
/// (`Resources/escalation-methods.json`), with the source they were taken from and the date that
/// source was recorded. Evidence names the source and date, because "a method is available" means
/// one of the methods of this catalog.
///
/// The file is read strictly: format `iam-evidence-escalation-methods/1`; top-level members `format`,
/// `source`, `source_urls`, `source_date`, `note` (optional) and `methods`; each method exactly `id`
/// (lower-case letters, digits and `-`, unique), `actions` (non-empty, `service:Action`, no
/// wildcards, no repeats), `explanation` (one non-empty line) and `sources` (non-empty `https://`
/// URLs). Any other member, a repeated member name or a wrong type is refused with its JSON path.
public struct EscalationMethodCatalog: Sendable, Hashable {
  /// The only format this version reads.
  public static let format = "iam-evidence-escalation-methods/1"

  /// Who described the methods (`Rhino Security Labs, "AWS IAM Privilege Escalation – Methods and
  /// Mitigation" ...`).
  public var source: String
  /// The public pages of that source.
  public var sourceURLs: [String]
  /// When the methods were taken from the source (`YYYY-MM-DD`).
  public var sourceDate: String
  /// The methods, in file order.
  public var methods: [EscalationMethod]

  public init(source: String, sourceURLs: [String], sourceDate: String, methods: [EscalationMethod]) {
    self.source = source
    self.sourceURLs = sourceURLs
    self.sourceDate = sourceDate
    self.methods = methods
  }

  /// Reads catalog JSON (see the type's rules).
  public init(json: JSONValue) throws(EscalationMethodCatalogError) {
    let top = try Self.members(json, "$", required: ["format", "source", "source_urls", "source_date", "methods"], optional: ["note"])
    guard let format = top["format"]?.stringValue, format == Self.format else {
      throw EscalationMethodCatalogError(path: "$.format", "must be \"\(Self.format)\"")
    }
    source = try Self.text(top["source"], "$.source")
    sourceURLs = try Self.urls(top["source_urls"], "$.source_urls")
    sourceDate = try Self.text(top["source_date"], "$.source_date")
    guard Timestamp(parsing: sourceDate) != nil, sourceDate.utf8.count == 10 else {
      throw EscalationMethodCatalogError(path: "$.source_date", "must be a date YYYY-MM-DD")
    }
    if let note = top["note"] { _ = try Self.text(note, "$.note") }
    guard let list = top["methods"]?.arrayValue, !list.isEmpty else {
      throw EscalationMethodCatalogError(path: "$.methods", "must be a non-empty array")
    }
    var methods: [EscalationMethod] = []
    var seen = Set<String>()
    for (i, item) in list.enumerated() {
      let path = "$.methods[\(i)]"
      let m = try Self.members(item, path, required: ["id", "actions", "explanation", "sources"], optional: [])
      let id = try Self.text(m["id"], path + ".id")
      guard id.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }) else {
        throw EscalationMethodCatalogError(
          path: path + ".id", "must hold only lower-case letters, digits and '-', found \(JSONWriter.quoted(id))")
      }
      guard seen.insert(id).inserted else { throw EscalationMethodCatalogError(path: path + ".id", "repeats id \(JSONWriter.quoted(id))") }
      guard let actionList = m["actions"]?.arrayValue, !actionList.isEmpty else {
        throw EscalationMethodCatalogError(path: path + ".actions", "must be a non-empty array of action names")
      }
      var actions: [String] = []
      for (j, a) in actionList.enumerated() {
        let name = try Self.text(a, "\(path).actions[\(j)]")
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !name.contains("*"), !name.contains("?") else {
          throw EscalationMethodCatalogError(
            path: "\(path).actions[\(j)]", "must be one action service:Action without wildcards, found \(JSONWriter.quoted(name))")
        }
        guard !actions.contains(where: { $0.lowercased() == name.lowercased() }) else {
          throw EscalationMethodCatalogError(path: "\(path).actions[\(j)]", "repeats \(name)")
        }
        actions.append(name)
      }
      let explanation = try Self.text(m["explanation"], path + ".explanation")
      guard !explanation.contains("\n") else { throw EscalationMethodCatalogError(path: path + ".explanation", "must be one line") }
      methods.append(
        EscalationMethod(id: id, actions: actions, explanation: explanation, sources: try Self.urls(m["sources"], path + ".sources")))
    }
    self.methods = methods
  }

  /// Reads catalog JSON bytes.
  public init(data: some Collection<UInt8>) throws(EscalationMethodCatalogError) {
    let json: JSONValue
    do { json = try JSONParser.parse(data) } catch { throw EscalationMethodCatalogError(path: "$", "not JSON: \(error)") }
    try self.init(json: json)
  }

  /// Loads the catalog bundled with the library (`Resources/escalation-methods.json`).
  public static func loadBundled() throws(EscalationMethodCatalogError) -> EscalationMethodCatalog {
    guard let url = Bundle.module.url(forResource: "escalation-methods", withExtension: "json") else {
      throw EscalationMethodCatalogError(path: "escalation-methods.json", "not found in the bundle")
    }
    let data: Data
    do { data = try Data(contentsOf: url) } catch { throw EscalationMethodCatalogError(path: url.path, "cannot read: \(error)") }
    return try EscalationMethodCatalog(data: data)
  }

  /// The bundled catalog. It ships inside the library, so failing to load it is a build defect and
  /// stops the program; use ``loadBundled()`` to handle that case yourself.
  public static let bundled: EscalationMethodCatalog = {
    do { return try loadBundled() } catch { preconditionFailure("IAMEvidence: escalation-methods.json: \(error)") }
  }()

  /// The method with `id`.
  public func method(id: String) -> EscalationMethod? { methods.first { $0.id == id } }

  /// Every action of every method: what the escalation checks ask about.
  public var target: ActionTarget { .union(methods.map(\.target)) }

  /// `21 methods from Rhino Security Labs, "…" (…), recorded 2026-12-05`: what "a method" means, for
  /// evidence.
  public var sourceDescription: String { "\(methods.count) methods from \(source), recorded \(sourceDate)" }

  // MARK: - Reading

  /// The members of an object at `path`, refusing a repeated name, an unknown member or a missing one.
  private static func members(
    _ value: JSONValue, _ path: String, required: [String], optional: [String]
  ) throws(EscalationMethodCatalogError) -> [String: JSONValue] {
    guard let list = value.objectValue else {
      throw EscalationMethodCatalogError(path: path, "must be an object, found \(value.kindDescription)")
    }
    var out: [String: JSONValue] = [:]
    for (key, v) in list {
      guard required.contains(key) || optional.contains(key) else {
        throw EscalationMethodCatalogError(path: path, "unknown member \(JSONWriter.quoted(key))")
      }
      guard out[key] == nil else { throw EscalationMethodCatalogError(path: "\(path).\(key)", "repeated member") }
      out[key] = v
    }
    for key in required where out[key] == nil { throw EscalationMethodCatalogError(path: "\(path).\(key)", "is missing") }
    return out
  }

  private static func text(_ value: JSONValue?, _ path: String) throws(EscalationMethodCatalogError) -> String {
    guard let s = value?.stringValue, !s.trimmingCharacters(in: .whitespaces).isEmpty else {
      throw EscalationMethodCatalogError(path: path, "must be a non-empty string")
    }
    return s
  }

  private static func urls(_ value: JSONValue?, _ path: String) throws(EscalationMethodCatalogError) -> [String] {
    guard let list = value?.arrayValue, !list.isEmpty else {
      throw EscalationMethodCatalogError(path: path, "must be a non-empty array of URLs")
    }
    var out: [String] = []
    for (i, v) in list.enumerated() {
      let url = try text(v, "\(path)[\(i)]")
      guard url.hasPrefix("https://"), !url.contains(" ") else {
        throw EscalationMethodCatalogError(path: "\(path)[\(i)]", "must be an https:// URL, found \(JSONWriter.quoted(url))")
      }
      out.append(url)
    }
    return out
  }
}
