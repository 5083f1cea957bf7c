/// A member name written twice in one object of a JSON value: the name and the JSON path of its
/// second occurrence (`$.Statement[0].Action`), in the form ``JSONParser/parse(_:rejectDuplicateKeys:)``
/// reports it.
public struct JSONDuplicateKey: Sendable, Hashable {
  public var key: String
  public var path: String

  public init(key: String, path: String) {
    self.key = key
    self.path = path
  }
}

extension JSONValue {
  /// The repeated member names of this value's objects, at any depth, in document order (each
  /// occurrence after the first, at most `limit` of them). Names are compared as Swift strings, as
  /// ``subscript(key:)`` and ``JSONParser/parse(_:rejectDuplicateKeys:)`` compare them (canonically
  /// equivalent Unicode is one name). Empty for a tree that names every member once.
  ///
  /// The order is the parser's: an object's members in turn, each name checked before its value is
  /// walked, so the first entry is what the parser with `rejectDuplicateKeys` refuses.
  public func duplicateKeys(limit: Int = .max) -> [JSONDuplicateKey] {
    // Nearly every document names each member once: that is checked without building paths.
    guard limit > 0, repeatsAName else { return [] }
    var found: [JSONDuplicateKey] = []
    var path: [PathStep] = []
    collectDuplicates(&path, &found, limit: limit)
    return found
  }

  /// Whether some object, at any depth, names a member twice (the walk of ``duplicateKeys(limit:)``
  /// without its paths).
  private var repeatsAName: Bool {
    switch self {
    case .array(let elements):
      for e in elements where e.isContainer && e.repeatsAName { return true }
      return false
    case .object(let members):
      if members.count > 16 {
        var seen = Set<String>(minimumCapacity: members.count)
        for m in members where !seen.insert(m.key).inserted { return true }
      } else {
        for i in members.indices.dropFirst() where members[..<i].contains(where: { $0.key == members[i].key }) { return true }
      }
      for m in members where m.value.isContainer && m.value.repeatsAName { return true }
      return false
    default:
      return false
    }
  }

  private enum PathStep {
    case key(String)
    case index(Int)
  }

  private func collectDuplicates(_ path: inout [PathStep], _ found: inout [JSONDuplicateKey], limit: Int) {
    guard found.count < limit else { return }
    switch self {
    case .array(let elements):
      for (i, e) in elements.enumerated() where e.isContainer {
        path.append(.index(i))
        e.collectDuplicates(&path, &found, limit: limit)
        path.removeLast()
      }
    case .object(let members):
      // Small objects (nearly all of a policy) are compared pairwise; large ones through a set, so a
      // hostile object of many members costs linear time.
      var seen = Set<String>()
      if members.count > 16 { seen.reserveCapacity(members.count) }
      for (i, m) in members.enumerated() {
        let repeated: Bool
        if members.count <= 16 {
          repeated = members[..<i].contains { $0.key == m.key }
        } else {
          repeated = !seen.insert(m.key).inserted
        }
        path.append(.key(m.key))
        if repeated {
          found.append(JSONDuplicateKey(key: m.key, path: Self.pathString(path)))
          if found.count >= limit { return }
        }
        if m.value.isContainer { m.value.collectDuplicates(&path, &found, limit: limit) }
        path.removeLast()
        if found.count >= limit { return }
      }
    default:
      return
    }
  }

  private var isContainer: Bool {
    switch self {
    case .array, .object: return true
    default: return false
    }
  }

  private static func pathString(_ path: [PathStep]) -> String {
    var s = "$"
    for step in path {
      switch step {
      case .key(let k): s += "." + k
      case .index(let i): s += "[\(i)]"
      }
    }
    return s
  }
}
