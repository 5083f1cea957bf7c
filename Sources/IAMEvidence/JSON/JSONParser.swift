/// An error from ``JSONParser``: what was wrong and where (byte offset, 1-based line and column).
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
  public var message: String
  public var offset: Int
  public var line: Int
  public var column: Int
  /// The JSON path of the offending member (`$.exceptions[2].id`) where the parser tracks paths
  /// (see ``JSONParser/parse(_:rejectDuplicateKeys:)``); nil otherwise.
  public var path: String? = nil

  public var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict RFC 8259 JSON parser working directly on UTF-8 bytes.
///
/// It validates UTF-8, rejects trailing garbage and nesting deeper than ``maxDepth`` (so hostile
/// input cannot exhaust the stack), and keeps number text verbatim.
public struct JSONParser {
  /// Deeper documents are refused rather than risking stack exhaustion.
  public static let maxDepth = 512

  /// Parses one JSON text from `bytes`.
  public static func parse(_ bytes: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
    let array = Array(bytes)
    return try array.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) -> JSONValue in
      var parser = Cursor(buffer)
      return try parser.parseDocument()
    }
  }

  /// Parses one JSON text from `bytes`; with `rejectDuplicateKeys`, an object that names a member
  /// twice is an error whose ``JSONSyntaxError/path`` is the JSON path of the second one (RFC 8259
  /// leaves duplicates to the implementation; for files people edit, such as the exceptions
  /// register, the last-one-wins reading would silently drop what was written first).
  public static func parse(_ bytes: some Collection<UInt8>, rejectDuplicateKeys: Bool) throws(JSONSyntaxError) -> JSONValue {
    let array = Array(bytes)
    return try array.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) -> JSONValue in
      var parser = Cursor(buffer)
      parser.tracksPaths = rejectDuplicateKeys
      return try parser.parseDocument()
    }
  }

  /// Parses one JSON text from a string.
  public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
    try parse(Array(text.utf8))
  }

  /// Parses from raw memory (e.g. a memory-mapped file) without copying it.
  public static func parse(buffer: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> JSONValue {
    var parser = Cursor(buffer)
    return try parser.parseDocument()
  }

  /// Whether every byte is below 0x80 (eight at a time).
  static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = bytes.baseAddress else { return true }
    let raw = UnsafeRawPointer(base)
    var i = 0
    var bits: UInt64 = 0
    while i + 8 <= bytes.count {
      bits |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
      i += 8
    }
    while i < bytes.count {
      bits |= UInt64(bytes[i])
      i += 1
    }
    return bits & 0x8080_8080_8080_8080 == 0
  }

  struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0
    /// Whether objects refuse a repeated member name, with ``path`` kept up to date for the error
    /// (off by default, which keeps every member in the tree: ``JSONValue/subscript(key:)`` then
    /// reads the last; the snapshot decoder turns it on for the values it skips).
    var tracksPaths = false
    /// The members and elements being parsed, outermost first (only while ``tracksPaths``).
    var path: [String] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// ``path`` as a JSON path, `$.a[0].b`.
    var pathString: String { "$" + path.joined() }

    func error(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
      let at = min(offset ?? index, bytes.count)
      var line = 1
      var lineStart = 0
      var i = 0
      while i < at {
        if bytes[i] == UInt8(ascii: "\n") {
          line += 1
          lineStart = i + 1
        }
        i += 1
      }
      return JSONSyntaxError(message: message, offset: at, line: line, column: at - lineStart + 1)
    }

    mutating func skipWhitespace() {
      // Pretty-printed exports are mostly indentation: runs of spaces are stepped over eight at a time.
      guard let base = bytes.baseAddress else { return }
      let raw = UnsafeRawPointer(base)
      while index < bytes.count {
        if index + 8 <= bytes.count, raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) == 0x2020_2020_2020_2020 {
          index += 8
          continue
        }
        switch bytes[index] {
        case 0x20, 0x0A, 0x0D, 0x09: index += 1
        default: return
        }
      }
    }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
      // A UTF-8 byte order mark is tolerated at the very start, as some Windows tools write one.
      if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
      skipWhitespace()
      if index >= bytes.count { throw error("empty input, expected a JSON value") }
      let value = try parseValue()
      skipWhitespace()
      if index < bytes.count { throw error("unexpected data after the JSON value") }
      return value
    }

    mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
      guard index < bytes.count else { throw error("unexpected end of input (truncated JSON?)") }
      switch bytes[index] {
      case UInt8(ascii: "{"): return try parseObject()
      case UInt8(ascii: "["): return try parseArray()
      case UInt8(ascii: "\""): return .string(try parseString())
      case UInt8(ascii: "t"): try literal("true"); return .bool(true)
      case UInt8(ascii: "f"): try literal("false"); return .bool(false)
      case UInt8(ascii: "n"): try literal("null"); return .null
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
      default: throw error("unexpected character \(describe(bytes[index])), expected a JSON value")
      }
    }

    func describe(_ byte: UInt8) -> String {
      if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
      return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
      let start = index
      let count = word.utf8CodeUnitCount
      guard index + count <= bytes.count else { throw error("unexpected end of input (truncated JSON?)") }
      let p = word.utf8Start
      for k in 0..<count where bytes[index + k] != p[k] {
        throw error("invalid literal, expected \(word)", at: start)
      }
      index += count
    }

    mutating func enter() throws(JSONSyntaxError) {
      depth += 1
      if depth > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
    }

    mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
      try enter()
      defer { depth -= 1 }
      index += 1
      var members: [(key: String, value: JSONValue)] = []
      var names = Set<String>()
      skipWhitespace()
      if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
        index += 1
        return .object(members)
      }
      while true {
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of input inside an object (truncated JSON?)") }
        guard bytes[index] == UInt8(ascii: "\"") else {
          throw error("expected a member name in quotes, found \(describe(bytes[index]))")
        }
        let keyStart = index
        let key = try parseString()
        if tracksPaths {
          path.append("." + key)
          guard names.insert(key).inserted else {
            var e = error("duplicate key \"\(key)\" (an object may name a member only once)", at: keyStart)
            e.path = pathString
            throw e
          }
        }
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of input inside an object (truncated JSON?)") }
        guard bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after member name") }
        index += 1
        skipWhitespace()
        let value = try parseValue()
        if tracksPaths { path.removeLast() }
        members.append((key, value))
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of input inside an object (truncated JSON?)") }
        switch bytes[index] {
        case UInt8(ascii: ","): index += 1
        case UInt8(ascii: "}"):
          index += 1
          return .object(members)
        default: throw error("expected ',' or '}' in an object, found \(describe(bytes[index]))")
        }
      }
    }

    mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
      try enter()
      defer { depth -= 1 }
      index += 1
      var elements: [JSONValue] = []
      skipWhitespace()
      if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
        index += 1
        return .array(elements)
      }
      while true {
        skipWhitespace()
        if tracksPaths { path.append("[\(elements.count)]") }
        elements.append(try parseValue())
        if tracksPaths { path.removeLast() }
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of input inside an array (truncated JSON?)") }
        switch bytes[index] {
        case UInt8(ascii: ","): index += 1
        case UInt8(ascii: "]"):
          index += 1
          return .array(elements)
        default: throw error("expected ',' or ']' in an array, found \(describe(bytes[index]))")
        }
      }
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> String {
      let range = try scanNumber()
      return String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Validates the number at the cursor and returns its byte range.
    mutating func scanNumber() throws(JSONSyntaxError) -> Range<Int> {
      let start = index
      if bytes[index] == UInt8(ascii: "-") { index += 1 }
      func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
      guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number", at: start) }
      if bytes[index] == UInt8(ascii: "0") {
        index += 1
      } else {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
      }
      if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
        index += 1
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number", at: start) }
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
      }
      if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
        index += 1
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
          index += 1
        }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number", at: start) }
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
      }
      return start..<index
    }

    mutating func parseString() throws(JSONSyntaxError) -> String {
      // Never nil without a limit.
      try parseString(maxBytes: .max)!
    }

    /// The string at the cursor, or nil (the cursor then somewhere inside it) when its decoded UTF-8
    /// is longer than `maxBytes`: a string over the limit is never copied, nor more than `maxBytes`
    /// of it decoded, so a hostile 50 MB name costs a scan, not an allocation.
    mutating func parseString(maxBytes: Int) throws(JSONSyntaxError) -> String? {
      let start = index
      index += 1  // opening quote
      // Fast path: no escapes, ASCII or valid UTF-8 copied in one go.
      var runStart = index
      var scalars: [UInt8] = []
      var usedBuffer = false
      while true {
        guard index < bytes.count else { throw error("unterminated string (truncated JSON?)", at: start) }
        let b = bytes[index]
        if b == UInt8(ascii: "\"") {
          if scalars.count + (index - runStart) > maxBytes { return nil }
          let run = UnsafeBufferPointer(rebasing: bytes[runStart..<index])
          index += 1
          if !usedBuffer { return try makeString(run, at: runStart) }
          scalars.append(contentsOf: run)
          return try makeString(scalars, at: start)
        } else if b == UInt8(ascii: "\\") {
          usedBuffer = true
          if scalars.count + (index - runStart) >= maxBytes { return nil }  // an escape adds at least a byte
          scalars.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
          index += 1
          guard index < bytes.count else { throw error("unterminated string (truncated JSON?)", at: start) }
          let e = bytes[index]
          index += 1
          switch e {
          case UInt8(ascii: "\""): scalars.append(0x22)
          case UInt8(ascii: "\\"): scalars.append(0x5C)
          case UInt8(ascii: "/"): scalars.append(0x2F)
          case UInt8(ascii: "b"): scalars.append(0x08)
          case UInt8(ascii: "f"): scalars.append(0x0C)
          case UInt8(ascii: "n"): scalars.append(0x0A)
          case UInt8(ascii: "r"): scalars.append(0x0D)
          case UInt8(ascii: "t"): scalars.append(0x09)
          case UInt8(ascii: "u"):
            var code = try hex4()
            if code >= 0xD800 && code < 0xDC00 {
              // A high surrogate must be followed by an escaped low surrogate.
              guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
              else { throw error("unpaired UTF-16 surrogate in \\u escape") }
              index += 2
              let low = try hex4()
              guard low >= 0xDC00 && low < 0xE000 else { throw error("unpaired UTF-16 surrogate in \\u escape") }
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if code >= 0xDC00 && code < 0xE000 {
              throw error("unpaired UTF-16 surrogate in \\u escape")
            }
            guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
            scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
          default:
            throw error("invalid escape '\\\(describe(e))' in string", at: index - 2)
          }
          runStart = index
        } else if b < 0x20 {
          throw error("control character \(describe(b)) inside a string must be escaped")
        } else {
          index += 1
        }
      }
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
      guard index + 4 <= bytes.count else { throw error("unexpected end of input in \\u escape") }
      var v: UInt32 = 0
      for _ in 0..<4 {
        let c = bytes[index]
        let d: UInt32
        switch c {
        case 0x30...0x39: d = UInt32(c - 0x30)
        case 0x41...0x46: d = UInt32(c - 0x41 + 10)
        case 0x61...0x66: d = UInt32(c - 0x61 + 10)
        default: throw error("invalid hex digit in \\u escape")
        }
        v = v << 4 | d
        index += 1
      }
      return v
    }

    func makeString(_ run: UnsafeBufferPointer<UInt8>, at offset: Int) throws(JSONSyntaxError) -> String {
      // Most strings of an export are ASCII, which needs no validation beyond the check itself.
      if JSONParser.isASCII(run) { return String(decoding: run, as: UTF8.self) }
      return try makeString(Array(run), at: offset)
    }

    func makeString(_ run: [UInt8], at offset: Int) throws(JSONSyntaxError) -> String {
      guard let s = String(validating: run, as: UTF8.self) else {
        throw error("string is not valid UTF-8", at: offset)
      }
      return s
    }
  }
}
