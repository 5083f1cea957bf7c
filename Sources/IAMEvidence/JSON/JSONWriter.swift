/// Serialises ``JSONValue``s: the canonical form that policy documents are hashed and stored in,
/// and an indented form for people.
public enum JSONWriter {
  /// Canonical JSON: object keys sorted by their UTF-8 bytes, no insignificant whitespace, strings
  /// escaped minimally (`"`, `\`, and control characters), numbers as written in the source.
  /// Two documents that differ only in key order, whitespace or escaping give the same bytes.
  public static func canonical(_ value: JSONValue) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(256)
    writeCanonical(value, into: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// Canonical JSON as UTF-8 bytes.
  public static func canonicalBytes(_ value: JSONValue) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(256)
    writeCanonical(value, into: &out)
    return out
  }

  /// Compact JSON with object members in their own order, repeated names kept: the written form of
  /// a tree that canonical JSON cannot hold (``PolicyDocumentText/init(json:)``).
  public static func compactBytes(_ value: JSONValue) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(256)
    writeCompact(value, into: &out)
    return out
  }

  static func writeCompact(_ value: JSONValue, into out: inout [UInt8]) {
    switch value {
    case .array(let elements):
      out.append(UInt8(ascii: "["))
      for (i, e) in elements.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        writeCompact(e, into: &out)
      }
      out.append(UInt8(ascii: "]"))
    case .object(let members):
      out.append(UInt8(ascii: "{"))
      for (i, m) in members.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        writeString(m.key, into: &out)
        out.append(UInt8(ascii: ":"))
        writeCompact(m.value, into: &out)
      }
      out.append(UInt8(ascii: "}"))
    default:
      writeCanonical(value, into: &out)
    }
  }

  /// Indented JSON (two spaces), keys sorted, for reports and terminals.
  public static func pretty(_ value: JSONValue, indent: Int = 0) -> String {
    var out: [UInt8] = []
    writePretty(value, indent: indent, into: &out)
    return String(decoding: out, as: UTF8.self)
  }

  static func sortedMembers(_ members: [(key: String, value: JSONValue)]) -> [(key: String, value: JSONValue)] {
    // Sort by UTF-8 bytes, ties in source order; of duplicate keys the last one wins, as in AWS's
    // parser. Sorting first makes duplicates adjacent, so no hashing is needed.
    if members.count < 2 { return members }
    // Members built in key order (as the tool's own JSON is) need no sorting.
    if zip(members, members.dropFirst()).allSatisfy({ $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) { return members }
    let order = members.indices.sorted { i, j in
      let a = members[i].key.utf8
      let b = members[j].key.utf8
      if a.elementsEqual(b) { return i < j }
      return a.lexicographicallyPrecedes(b)
    }
    var out: [(key: String, value: JSONValue)] = []
    out.reserveCapacity(members.count)
    for i in order {
      if let last = out.last, last.key == members[i].key {
        out[out.count - 1] = members[i]
      } else {
        out.append(members[i])
      }
    }
    return out
  }

  static func writeCanonical(_ value: JSONValue, into out: inout [UInt8]) {
    switch value {
    case .null: out.append(contentsOf: "null".utf8)
    case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
    case .number(let n): out.append(contentsOf: n.utf8)
    case .string(let s): writeString(s, into: &out)
    case .array(let elements):
      out.append(UInt8(ascii: "["))
      for (i, e) in elements.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        writeCanonical(e, into: &out)
      }
      out.append(UInt8(ascii: "]"))
    case .object(let members):
      out.append(UInt8(ascii: "{"))
      for (i, m) in sortedMembers(members).enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        writeString(m.key, into: &out)
        out.append(UInt8(ascii: ":"))
        writeCanonical(m.value, into: &out)
      }
      out.append(UInt8(ascii: "}"))
    }
  }

  static func writePretty(_ value: JSONValue, indent: Int, into out: inout [UInt8]) {
    func newline(_ level: Int) {
      out.append(UInt8(ascii: "\n"))
      out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: level * 2))
    }
    switch value {
    case .array(let elements) where !elements.isEmpty:
      out.append(UInt8(ascii: "["))
      for (i, e) in elements.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        newline(indent + 1)
        writePretty(e, indent: indent + 1, into: &out)
      }
      newline(indent)
      out.append(UInt8(ascii: "]"))
    case .object(let members) where !members.isEmpty:
      out.append(UInt8(ascii: "{"))
      for (i, m) in sortedMembers(members).enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        newline(indent + 1)
        writeString(m.key, into: &out)
        out.append(contentsOf: ": ".utf8)
        writePretty(m.value, indent: indent + 1, into: &out)
      }
      newline(indent)
      out.append(UInt8(ascii: "}"))
    default:
      writeCanonical(value, into: &out)
    }
  }

  static let hexDigits = Array("0123456789abcdef".utf8)

  /// Writes a JSON string literal (also used by the CLI's JSON output).
  public static func writeString(_ s: String, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    // Most strings need no escaping: copied in one go.
    var s = s
    let copied = s.withUTF8 { bytes in
      guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else { return false }
      out.append(contentsOf: bytes)
      return true
    }
    if copied {
      out.append(UInt8(ascii: "\""))
      return
    }
    for b in s.utf8 {
      switch b {
      case 0x22: out.append(contentsOf: [0x5C, 0x22])
      case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
      case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
      case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
      case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
      case 0..<0x20:
        out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
        out.append(hexDigits[Int(b >> 4)])
        out.append(hexDigits[Int(b & 0xF)])
      default: out.append(b)
      }
    }
    out.append(UInt8(ascii: "\""))
  }

  /// A JSON string literal for `s`.
  public static func quoted(_ s: String) -> String {
    var out: [UInt8] = []
    writeString(s, into: &out)
    return String(decoding: out, as: UTF8.self)
  }
}
