import Foundation

/// One ISO/IEC 27001:2022 Annex A control with its 2013 crosswalk.
public struct Control: Sendable, Hashable {
  public var id: String
  public var title: String
  public var description: String
  /// Corresponding ISO/IEC 27001:2013 controls (id, title).
  public var crosswalk2013: [(id: String, title: String)]

  public static func == (a: Control, b: Control) -> Bool { a.id == b.id }
  public func hash(into h: inout Hasher) { h.combine(id) }
}

/// The control catalog, kept as data (`Resources/controls.json`) so the mapping is easy to change.
public struct ControlCatalog: Sendable {
  public var framework: String
  public var controls: [Control]

  /// The catalog shipped with the tool.
  public static let bundled: ControlCatalog = {
    guard let url = Bundle.module.url(forResource: "controls", withExtension: "json"),
      let data = try? Data(contentsOf: url), let catalog = try? ControlCatalog(json: JSONParser.parse([UInt8](data)))
    else { fatalError("the bundled control catalog is missing or invalid: a build defect") }
    return catalog
  }()

  public init(json: JSONValue) throws {
    framework = json["framework"]?.stringValue ?? "ISO/IEC 27001:2022"
    controls = (json["controls"]?.arrayValue ?? []).compactMap { c in
      guard let id = c["id"]?.stringValue, let title = c["title"]?.stringValue else { return nil }
      let crosswalk = (c["crosswalk_2013"]?.arrayValue ?? []).compactMap { x -> (id: String, title: String)? in
        guard let id = x["id"]?.stringValue else { return nil }
        return (id, x["title"]?.stringValue ?? "")
      }
      return Control(id: id, title: title, description: c["description"]?.stringValue ?? "", crosswalk2013: crosswalk)
    }
  }

  /// The control with `id`.
  public func control(_ id: String) -> Control? { controls.first { $0.id == id } }
}
