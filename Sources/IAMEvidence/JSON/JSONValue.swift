/// A JSON value as read from a snapshot, exact enough to re-serialise canonically.
///
/// Numbers keep their source text (IAM conditions may hold `3600` or `1.0`, and canonical output
/// must not turn one into the other); objects keep their members in source order so the decoder can
/// report positions and the canonical writer decides the order.
public enum JSONValue: Sendable, Equatable, Hashable {
  case null
  case bool(Bool)
  case number(String)
  case string(String)
  case array([JSONValue])
  case object([(key: String, value: JSONValue)])

  public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null): return true
    case (.bool(let a), .bool(let b)): return a == b
    case (.number(let a), .number(let b)): return a == b
    case (.string(let a), .string(let b)): return a == b
    case (.array(let a), .array(let b)): return a == b
    case (.object(let a), .object(let b)):
      return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    default: return false
    }
  }

  public func hash(into hasher: inout Hasher) {
    switch self {
    case .null: hasher.combine(0)
    case .bool(let b): hasher.combine(b)
    case .number(let n): hasher.combine(n)
    case .string(let s): hasher.combine(s)
    case .array(let a): hasher.combine(a)
    case .object(let members):
      hasher.combine(members.count)
      for m in members {
        hasher.combine(m.key)
        hasher.combine(m.value)
      }
    }
  }

  /// The member named `key` of an object (the last one when a key repeats, as AWS does), else nil.
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.last(where: { $0.key == key })?.value
  }

  /// The string payload, or nil for any other kind.
  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  /// The elements of an array, or nil for any other kind.
  public var arrayValue: [JSONValue]? {
    if case .array(let a) = self { return a }
    return nil
  }

  /// The members of an object, or nil for any other kind.
  public var objectValue: [(key: String, value: JSONValue)]? {
    if case .object(let o) = self { return o }
    return nil
  }

  /// A short name of the kind, for error messages ("an array", "a string", ...).
  public var kindDescription: String {
    switch self {
    case .null: return "null"
    case .bool: return "a boolean"
    case .number: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
  }
}
