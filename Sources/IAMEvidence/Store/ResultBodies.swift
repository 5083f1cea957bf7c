import SQLiteDB

/// The stored form of a result whose detail is its subject's columns plus text that many results
/// share: a *body*, kept once in `result_bodies` (migration `0006-result-bodies`).
///
/// A result's detail (canonical JSON) repeats the subject that `result_details` already holds in
/// columns: the principal's id, name and ARN, the policy's name, ARN and version, the document's
/// SHA-256 and the finding key. Without them, the details of the passes of one check are all the
/// same text. The body is the detail with the value of each such member replaced by a placeholder,
/// the byte 0x03 and a letter naming the column (raw control bytes never occur in canonical JSON, so
/// placeholders are unambiguous); the result's row keeps its columns, an empty `detail` and the
/// body's id. The detail is rebuilt by putting each column's value back as a JSON string (or `null`),
/// exactly as the canonical writer wrote it: a body is only made when that holds for every member,
/// checked byte for byte when it is made, and only for values without control characters, which
/// the canonical writer and SQLite's `json_quote` (the `results` view rebuilds the detail in SQL)
/// escape differently. Every other result keeps its whole detail, as before.
enum ResultBody {
  static let mark: UInt8 = 0x03

  /// The members replaced by placeholders: their key, the `result_details` column holding their
  /// value, and their placeholder letter, in key order.
  static let members: [(key: String, column: String, letter: UInt8)] = [
    ("document_sha256", "document_sha256", UInt8(ascii: "a")),
    ("finding_key", "finding_key", UInt8(ascii: "b")),
    ("policy_arn", "policy_arn", UInt8(ascii: "c")),
    ("policy_name", "policy_name", UInt8(ascii: "d")),
    ("policy_version", "policy_version", UInt8(ascii: "e")),
    ("principal_arn", "principal_arn", UInt8(ascii: "f")),
    ("principal_id", "principal_id", UInt8(ascii: "g")),
    ("principal_name", "principal_name", UInt8(ascii: "h")),
  ]

  /// The index of `finding_key` in ``members``: the one value a decoded result does not keep.
  static let findingKeyMember = 1

  private static let keys: [[UInt8]] = members.map { Array($0.key.utf8) }

  /// Whether `value` can be put back by a placeholder: short enough to be stored in place (see
  /// ``LongStrings``), and without control characters.
  static func fits(_ value: String?) -> Bool {
    guard var value else { return true }
    return value.withUTF8 { bytes in bytes.count < LongStrings.threshold && !bytes.contains(where: { $0 < 0x20 }) }
  }

  /// The body of canonical `detail` whose members listed in ``members`` have `values` (in that
  /// order), or nil when it is not made: a member not found with exactly that value, or a value that
  /// does not ``fits(_:)``.
  ///
  /// Each member is looked for, in key order, as its key and the value as the canonical writer
  /// writes it, starting a member (after `{` or `,`) and ending one (before `,` or `}`): raw quotes
  /// only delimit strings in canonical JSON, so that is a member of some object of the detail
  /// (normally the top level; a nested one with the very same key and value would only make the body
  /// less shared). Whichever it is, ``detail(template:values:)`` puts back exactly the bytes replaced.
  static func template(detail: [UInt8], values: [String?]) -> [UInt8]? {
    guard values.count == members.count, values.allSatisfy(fits) else { return nil }
    return detail.withUnsafeBufferPointer { d -> [UInt8]? in
      var out: [UInt8] = []
      out.reserveCapacity(d.count)
      var copied = 0
      var position = 1
      for k in 0..<members.count {
        guard let (start, end) = find(k, values[k], in: d, from: position) else { return nil }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: d[copied..<start]))
        out.append(mark)
        out.append(members[k].letter)
        copied = end
        position = end
      }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: d[copied...]))
      return out
    }
  }

  /// The extent of the value of member `k` holding `value`, the first at or after `position`.
  private static func find(_ k: Int, _ value: String?, in d: UnsafeBufferPointer<UInt8>, from position: Int) -> (Int, Int)? {
    let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), colon = UInt8(ascii: ":")
    return keys[k].withUnsafeBufferPointer { key -> (Int, Int)? in
      var i = max(position, 1)
      while i + key.count + 3 < d.count {
        defer { i += 1 }
        guard d[i] == quote, d[i - 1] == comma || d[i - 1] == UInt8(ascii: "{") else { continue }
        var j = 0
        while j < key.count && d[i + 1 + j] == key[j] { j += 1 }
        guard j == key.count, d[i + 1 + j] == quote, d[i + 2 + j] == colon else { continue }
        let start = i + 3 + j
        guard let end = valueEnd(d, start, value), end < d.count, d[end] == comma || d[end] == UInt8(ascii: "}") else { continue }
        return (start, end)
      }
      return nil
    }
  }

  /// The index after `value`, as the canonical writer writes it, when `d` holds it at `start` (it has
  /// no control characters: ``fits(_:)``); nil when it does not.
  private static func valueEnd(_ d: UnsafeBufferPointer<UInt8>, _ start: Int, _ value: String?) -> Int? {
    guard var value else {
      let null: [UInt8] = [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")]
      guard start + 4 <= d.count, (0..<4).allSatisfy({ d[start + $0] == null[$0] }) else { return nil }
      return start + 4
    }
    return value.withUTF8 { v -> Int? in
      guard start < d.count, d[start] == UInt8(ascii: "\"") else { return nil }
      var j = start + 1
      for c in v {
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
          guard j < d.count, d[j] == UInt8(ascii: "\\") else { return nil }
          j += 1
        }
        guard j < d.count, d[j] == c else { return nil }
        j += 1
      }
      guard j < d.count, d[j] == UInt8(ascii: "\"") else { return nil }
      return j + 1
    }
  }

  /// The detail `template` stands for, given the values of ``members`` (in that order); nil when the
  /// template holds a placeholder that is not one (damage, which the caller reports).
  static func detail(template: [UInt8], values: [String?]) -> [UInt8]? {
    guard values.count == members.count else { return nil }
    // The bytes between placeholders are copied a run at a time (every stored result is rebuilt
    // this way when read, and again when the ledger verifies it).
    return template.withUnsafeBufferPointer { t -> [UInt8]? in
      var out: [UInt8] = []
      out.reserveCapacity(t.count + 256)
      var run = 0
      var i = 0
      while i < t.count {
        guard t[i] == mark else {
          i += 1
          continue
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: t[run..<i]))
        guard i + 1 < t.count, let k = members.firstIndex(where: { $0.letter == t[i + 1] }) else { return nil }
        encode(values[k], into: &out)
        i += 2
        run = i
      }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: t[run..<t.count]))
      return out
    }
  }

  /// A member's value as the canonical writer writes it.
  static func encode(_ value: String?, into out: inout [UInt8]) {
    if let value { JSONWriter.writeString(value, into: &out) } else { out.append(contentsOf: "null".utf8) }
  }
}

extension ResultBody {
  /// The columns a reader of details selects besides `detail` and `body_id`.
  static let columnList = members.map(\.column).joined(separator: ", ")

  /// The values of ``members`` of `result`, as its row stores them when it has a body.
  static func values(of result: CheckResult, findingKey: String) -> [String?] {
    [
      result.policy?.documentSHA256, findingKey, result.policy?.arn, result.policy?.name, result.policy?.versionID,
      result.principal?.arn, result.principal?.id, result.principal?.name,
    ]
  }
}

extension ResultBody {
  /// The result every detail of `template` stands for, with the values of ``members`` left to fill
  /// in (``result(_:values:)``): parsed once per body instead of once per result. Nil when that
  /// would not give exactly what parsing each rebuilt detail gives, and the caller rebuilds and
  /// parses instead: unless each placeholder is the whole value of its own member of the top-level
  /// object (the members a stored result is read from), every placeholder is one of those, and no
  /// string of the template holds U+0003 (which stands for a placeholder here).
  static func prototype(template: [UInt8]) -> CheckResult? {
    let escaped = Array(#"\u0003"#.utf8)
    guard template.lazy.filter({ $0 == mark }).count == members.count, !contains(template, escaped) else { return nil }
    // Each placeholder becomes a JSON string holding U+0003 and its letter.
    var text: [UInt8] = []
    text.reserveCapacity(template.count + 64)
    var i = 0
    while i < template.count {
      if template[i] == mark, i + 1 < template.count {
        text.append(UInt8(ascii: "\""))
        text.append(contentsOf: escaped)
        text.append(template[i + 1])
        text.append(UInt8(ascii: "\""))
        i += 2
      } else {
        text.append(template[i])
        i += 1
      }
    }
    guard let json = try? JSONParser.parse(text),
      members.allSatisfy({ json[$0.key] == .string("\u{3}" + String(UnicodeScalar($0.letter))) }),
      let prototype = CheckResult(json: json)
    else { return nil }
    return prototype
  }

  private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
    guard bytes.count >= needle.count else { return false }
    return bytes.withUnsafeBufferPointer { b in
      (0...(b.count - needle.count)).contains { i in b[i] == needle[0] && b[i..<i + needle.count].elementsEqual(needle) }
    }
  }

  /// `prototype` (``prototype(template:)``) with the values of ``members`` (in that order) filled
  /// in, as ``CheckResult/init(json:)`` reads them from the rebuilt detail (`finding_key` is not
  /// read: the result computes its key).
  static func result(_ prototype: CheckResult, values: [String?]) -> CheckResult {
    var r = prototype
    if r.principal != nil {
      r.principal?.arn = values[5] ?? ""
      r.principal?.id = values[6] ?? ""
      r.principal?.name = values[7] ?? ""
    }
    if r.policy != nil {
      r.policy?.documentSHA256 = values[0] ?? ""
      r.policy?.arn = values[2]
      r.policy?.name = values[3] ?? ""
      r.policy?.versionID = values[4]
    }
    return r
  }
}

/// Results decoded from their bodies (``ResultBody``), each body's template parsed once
/// (``ResultBody/prototype(template:)``); no database access, so it can work on another thread.
struct ResultPrototypes {
  /// Per body, its prototype (the inner nil: none, each detail is rebuilt and parsed).
  private var prototypes: [Int64: CheckResult?] = [:]

  /// The result of body `body`, whose template is `template`, with `values` (of
  /// ``ResultBody/members``, in that order); nil when the template is damaged.
  mutating func result(body: Int64, template: [UInt8], values: [String?]) -> CheckResult? {
    let prototype: CheckResult?
    if let known = prototypes[body] {
      prototype = known
    } else {
      prototype = ResultBody.prototype(template: template)
      prototypes[body] = .some(prototype)
    }
    if let prototype { return ResultBody.result(prototype, values: values) }
    guard let detail = ResultBody.detail(template: template, values: values) else { return nil }
    return Self.result(detail: detail)
  }

  /// The result a whole detail (long strings put back) holds; nil when it is not one.
  static func result(detail: [UInt8]) -> CheckResult? {
    guard let json = try? JSONParser.parse(detail) else { return nil }
    return CheckResult(json: json)
  }
}

/// Reads result details back as they were stored: long strings (``LongStrings``) and bodies
/// (``ResultBody``) put back, each long string and body read once.
struct ResultDetailReader {
  var strings: LongStringReader
  private var bodies: [Int64: [UInt8]] = [:]
  private var prototypes = ResultPrototypes()
  private var statement: SQLiteStatement?

  init(db: SQLiteConnection) { strings = LongStringReader(db: db) }

  /// The stored template of body `id`, nil when there is no such row.
  mutating func template(_ id: Int64) throws -> [UInt8]? {
    if let cached = bodies[id] { return cached }
    if statement == nil { statement = try strings.db.prepare("SELECT template FROM result_bodies WHERE id = ?") }
    guard let statement else { return nil }
    try statement.bind([id])
    var text: [UInt8]?
    try statement.forEachRawRow { row in text = row.bytes(0) }
    statement.reset()
    if let text { bodies[id] = text }
    return text
  }

  /// The result `row` holds (a `result_details` row with the columns `detail`, `body_id` and
  /// ``ResultBody/columnList``); nil when a long string or the body it refers to is missing or damaged.
  mutating func result(_ row: SQLiteRow) throws -> CheckResult? {
    guard let body = try row.optionalInt64("body_id") else { return try result(detail: Array(try row.string("detail").utf8)) }
    return try result(body: body, values: try ResultBody.members.map { try row.optionalString($0.column) })
  }

  /// The result of body `body` with `values` (of ``ResultBody/members``, in that order); nil when
  /// the body is missing or damaged.
  mutating func result(body: Int64, values: [String?]) throws -> CheckResult? {
    guard let template = try template(body) else { return nil }
    return prototypes.result(body: body, template: template, values: values)
  }

  /// The result of a stored detail (long strings not yet put back); nil when it is not one.
  mutating func result(detail stored: [UInt8]) throws -> CheckResult? {
    try strings.expand(stored).flatMap(ResultPrototypes.result(detail:))
  }
}
