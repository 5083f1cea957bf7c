/// Turns JSON text straight into its canonical form (the bytes ``JSONWriter/canonicalBytes(_:)`` writes
/// for the parsed value) without building a ``JSONValue`` tree.
///
/// It validates exactly as ``JSONParser`` does (strict RFC 8259, UTF-8, surrogate pairs, nesting
/// depth) and reports errors with the same messages and positions. Policy documents are most of a
/// snapshot's bytes, and allocating a tree for each only to serialise and hash it was the largest cost
/// of ingest: here each value is copied once into the output, and an object's members are reordered
/// only when the source did not already have them sorted.
///
/// An object that names a member twice is transcoded as ``JSONWriter`` writes it (the last one kept)
/// and flagged in ``foundDuplicateKey``: a caller that must not lose the other value (a policy
/// document) keeps the source text instead.
struct CanonicalTranscoder {
  var cursor: JSONParser.Cursor
  /// The canonical bytes written so far.
  var out: [UInt8] = []
  /// Members of the objects being written, innermost last: where each `"key":value` segment lies in `out`.
  private var members: [(start: Int, keyEnd: Int, end: Int)] = []
  /// Scratch copy of an object's segments while they are reordered.
  private var scratch: [UInt8] = []
  /// Most bytes ``out`` may reach; beyond, transcoding stops with an error and ``exceededLimit``
  /// set (a string over the limit is scanned, never copied).
  var maxOutput = Int.max
  /// Whether the last error was ``maxOutput`` being exceeded.
  private(set) var exceededLimit = false
  /// Whether some object of the value last transcoded names a member twice (names compared decoded,
  /// and, when one is not ASCII, as Swift strings: canonically equivalent names are one name, as
  /// ``JSONValue/subscript(key:)`` reads them). ``out`` then holds only the last of each.
  private(set) var foundDuplicateKey = false
  /// Whether the last string written was all ASCII (a non-ASCII member name makes its object be
  /// checked for canonically equivalent names).
  private var lastStringWasASCII = true

  init(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int = 0) {
    cursor = JSONParser.Cursor(bytes)
    cursor.index = index
    out.reserveCapacity(4096)
  }

  /// Transcodes the value at the cursor, appending its canonical form to ``out``.
  mutating func value() throws(JSONSyntaxError) {
    exceededLimit = false
    foundDuplicateKey = false
    try element()
    if out.count > maxOutput { throw tooLong() }
  }

  /// Stops transcoding: ``out`` would grow beyond ``maxOutput``.
  private mutating func tooLong() -> JSONSyntaxError {
    exceededLimit = true
    return cursor.error("longer than \(maxOutput) bytes in canonical form")
  }

  private mutating func element() throws(JSONSyntaxError) {
    guard cursor.index < cursor.bytes.count else { throw cursor.error("unexpected end of input (truncated JSON?)") }
    switch cursor.bytes[cursor.index] {
    case UInt8(ascii: "{"): try object()
    case UInt8(ascii: "["): try array()
    case UInt8(ascii: "\""): try string()
    case UInt8(ascii: "t"):
      try cursor.literal("true")
      out.append(contentsOf: "true".utf8)
    case UInt8(ascii: "f"):
      try cursor.literal("false")
      out.append(contentsOf: "false".utf8)
    case UInt8(ascii: "n"):
      try cursor.literal("null")
      out.append(contentsOf: "null".utf8)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      let range = try cursor.scanNumber()
      out.append(contentsOf: UnsafeBufferPointer(rebasing: cursor.bytes[range]))
    default:
      throw cursor.error("unexpected character \(cursor.describe(cursor.bytes[cursor.index])), expected a JSON value")
    }
  }

  /// Transcodes a whole JSON text (a leading byte order mark and surrounding whitespace allowed,
  /// nothing after the value), returning the first byte of the value (`{`, `[`, `"`, ...).
  mutating func document() throws(JSONSyntaxError) -> UInt8 {
    let bytes = cursor.bytes
    if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { cursor.index = 3 }
    cursor.skipWhitespace()
    if cursor.index >= bytes.count { throw cursor.error("empty input, expected a JSON value") }
    let first = bytes[cursor.index]
    try value()
    cursor.skipWhitespace()
    if cursor.index < bytes.count { throw cursor.error("unexpected data after the JSON value") }
    return first
  }

  private mutating func string() throws(JSONSyntaxError) {
    let bytes = cursor.bytes
    let start = cursor.index
    var i = start + 1
    var ascii = true
    // Fast path: a run without escapes is already canonical; copy it after validating it.
    while i < bytes.count {
      let b = bytes[i]
      if b == UInt8(ascii: "\"") {
        if out.count + (i - start + 1) > maxOutput { throw tooLong() }
        let run = UnsafeBufferPointer(rebasing: bytes[(start + 1)..<i])
        if !ascii, String(validating: run, as: UTF8.self) == nil {
          throw cursor.error("string is not valid UTF-8", at: start + 1)
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...i]))
        cursor.index = i + 1
        lastStringWasASCII = ascii
        return
      }
      if b == UInt8(ascii: "\\") { break }
      if b < 0x20 {
        cursor.index = i
        throw cursor.error("control character \(cursor.describe(b)) inside a string must be escaped")
      }
      if b >= 0x80 { ascii = false }
      i += 1
    }
    // Escapes (or a truncated string): decode as the parser does, then write the canonical escaping.
    cursor.index = start
    guard let decoded = try cursor.parseString(maxBytes: max(maxOutput - out.count, 0)) else { throw tooLong() }
    lastStringWasASCII = decoded.utf8.allSatisfy { $0 < 0x80 }
    JSONWriter.writeString(decoded, into: &out)
  }

  private mutating func array() throws(JSONSyntaxError) {
    try cursor.enter()
    defer { cursor.depth -= 1 }
    cursor.index += 1
    out.append(UInt8(ascii: "["))
    cursor.skipWhitespace()
    if cursor.index < cursor.bytes.count, cursor.bytes[cursor.index] == UInt8(ascii: "]") {
      cursor.index += 1
      out.append(UInt8(ascii: "]"))
      return
    }
    while true {
      cursor.skipWhitespace()
      try element()
      if out.count > maxOutput { throw tooLong() }
      cursor.skipWhitespace()
      guard cursor.index < cursor.bytes.count else {
        throw cursor.error("unexpected end of input inside an array (truncated JSON?)")
      }
      switch cursor.bytes[cursor.index] {
      case UInt8(ascii: ","):
        cursor.index += 1
        out.append(UInt8(ascii: ","))
      case UInt8(ascii: "]"):
        cursor.index += 1
        out.append(UInt8(ascii: "]"))
        return
      default: throw cursor.error("expected ',' or ']' in an array, found \(cursor.describe(cursor.bytes[cursor.index]))")
      }
    }
  }

  private mutating func object() throws(JSONSyntaxError) {
    try cursor.enter()
    defer { cursor.depth -= 1 }
    cursor.index += 1
    out.append(UInt8(ascii: "{"))
    let first = members.count
    let bodyStart = out.count
    var nonASCIIKey = false
    cursor.skipWhitespace()
    if cursor.index < cursor.bytes.count, cursor.bytes[cursor.index] == UInt8(ascii: "}") {
      cursor.index += 1
      out.append(UInt8(ascii: "}"))
      return
    }
    while true {
      cursor.skipWhitespace()
      guard cursor.index < cursor.bytes.count else {
        throw cursor.error("unexpected end of input inside an object (truncated JSON?)")
      }
      guard cursor.bytes[cursor.index] == UInt8(ascii: "\"") else {
        throw cursor.error("expected a member name in quotes, found \(cursor.describe(cursor.bytes[cursor.index]))")
      }
      if members.count > first { out.append(UInt8(ascii: ",")) }
      let start = out.count
      try string()
      if !lastStringWasASCII { nonASCIIKey = true }
      let keyEnd = out.count
      cursor.skipWhitespace()
      guard cursor.index < cursor.bytes.count else {
        throw cursor.error("unexpected end of input inside an object (truncated JSON?)")
      }
      guard cursor.bytes[cursor.index] == UInt8(ascii: ":") else { throw cursor.error("expected ':' after member name") }
      cursor.index += 1
      out.append(UInt8(ascii: ":"))
      cursor.skipWhitespace()
      try element()
      if out.count > maxOutput { throw tooLong() }
      members.append((start, keyEnd, out.count))
      cursor.skipWhitespace()
      guard cursor.index < cursor.bytes.count else {
        throw cursor.error("unexpected end of input inside an object (truncated JSON?)")
      }
      switch cursor.bytes[cursor.index] {
      case UInt8(ascii: ","): cursor.index += 1
      case UInt8(ascii: "}"):
        cursor.index += 1
        if nonASCIIKey && !foundDuplicateKey { checkEquivalentKeys(from: first) }
        reorder(from: first, bodyStart: bodyStart)
        members.removeSubrange(first...)
        out.append(UInt8(ascii: "}"))
        return
      default: throw cursor.error("expected ',' or '}' in an object, found \(cursor.describe(cursor.bytes[cursor.index]))")
      }
    }
  }

  /// Puts the members `members[first...]` (written in source order from `bodyStart`) in canonical order:
  /// sorted by the UTF-8 bytes of their decoded keys, ties in source order, the last of equal keys kept.
  private mutating func reorder(from first: Int, bodyStart: Int) {
    let count = members.count - first
    if count < 2 { return }
    var sorted = true
    for k in (first + 1)..<members.count where compareKeys(members[k - 1], members[k]) >= 0 {
      sorted = false
      break
    }
    if sorted { return }
    var order = Array(first..<members.count)
    order.sort { a, b in
      let c = compareKeys(members[a], members[b])
      return c == 0 ? a < b : c < 0
    }
    // Of equal keys only the last (in source order, hence last in the stable sort) is kept.
    let kept = order.indices.filter { $0 + 1 == order.count || compareKeys(members[order[$0]], members[order[$0 + 1]]) != 0 }
    if kept.count < count { foundDuplicateKey = true }
    scratch.removeAll(keepingCapacity: true)
    scratch.append(contentsOf: out[bodyStart...])
    out.removeSubrange(bodyStart...)
    var written = 0
    for position in kept {
      let m = order[position]
      if written > 0 { out.append(UInt8(ascii: ",")) }
      let segment = members[m]
      out.append(contentsOf: scratch[(segment.start - bodyStart)..<(segment.end - bodyStart)])
      written += 1
    }
  }

  /// Flags ``foundDuplicateKey`` when two of the members `members[first...]` have names that differ
  /// in bytes but are equal as Swift strings (`K` and KELVIN SIGN `K`): rare, so the names are decoded
  /// only for objects with a non-ASCII name.
  private mutating func checkEquivalentKeys(from first: Int) {
    var names = Set<String>()
    for m in members[first...] {
      let quoted = Array(out[m.start..<m.keyEnd])
      guard let name = (try? JSONParser.parse(quoted))?.stringValue else { continue }
      if !names.insert(name).inserted {
        foundDuplicateKey = true
        return
      }
    }
  }

  /// Compares two members' keys by their decoded UTF-8 bytes (the canonical escapes in `out` are
  /// `\"`, `\\`, `\n`, `\r`, `\t` and `\u00XX`).
  private func compareKeys(_ a: (start: Int, keyEnd: Int, end: Int), _ b: (start: Int, keyEnd: Int, end: Int)) -> Int {
    out.withUnsafeBufferPointer { buffer in
      var i = a.start + 1
      var j = b.start + 1
      let endA = a.keyEnd - 1
      let endB = b.keyEnd - 1
      func next(_ k: inout Int) -> UInt8 {
        let c = buffer[k]
        guard c == 0x5C else {
          k += 1
          return c
        }
        let e = buffer[k + 1]
        switch e {
        case UInt8(ascii: "n"):
          k += 2
          return 0x0A
        case UInt8(ascii: "r"):
          k += 2
          return 0x0D
        case UInt8(ascii: "t"):
          k += 2
          return 0x09
        case UInt8(ascii: "u"):
          let hi = buffer[k + 4]
          let lo = buffer[k + 5]
          k += 6
          return hexValue(hi) << 4 | hexValue(lo)
        default:
          k += 2
          return e
        }
      }
      while i < endA && j < endB {
        let x = next(&i)
        let y = next(&j)
        if x != y { return x < y ? -1 : 1 }
      }
      if i < endA { return 1 }
      if j < endB { return -1 }
      return 0
    }
  }

  private func hexValue(_ c: UInt8) -> UInt8 { c <= UInt8(ascii: "9") ? c - UInt8(ascii: "0") : c - UInt8(ascii: "a") + 10 }
}
