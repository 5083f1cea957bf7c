import Foundation
import IAMEvidence

// The damaged inputs of ``FoundationDecoderDifferentialTests``: byte edits and JSON tree edits.

enum Mutator {
  static let alphabet: [UInt8] = Array(#"{}[]",:0123456789.eE+-\/"tfnul %7B é"#.utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xED, 0xFF]

  /// One to four byte edits: replace, insert, delete, insert beside a structural character, or
  /// insert a comma before a closing bracket.
  static func bytes(_ original: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
    var bytes = original
    for _ in 0...rng.below(3) {
      switch rng.below(9) {
      case 0, 1: if !bytes.isEmpty { bytes[rng.below(bytes.count)] = rng.pick(alphabet) }
      case 2, 3: bytes.insert(rng.pick(alphabet), at: rng.below(bytes.count + 1))
      case 4, 5: if !bytes.isEmpty { bytes.remove(at: rng.below(bytes.count)) }
      case 6, 7:
        // Next to a structural character, where an edit changes the shape rather than a name.
        if let at = next(in: bytes, from: rng.below(bytes.count + 1), where: { "{}[],:\"".utf8.contains($0) }) {
          bytes.insert(rng.pick(alphabet), at: at + rng.below(2))
        }
      default:
        if let at = next(in: bytes, from: rng.below(bytes.count + 1), where: { $0 == UInt8(ascii: "}") || $0 == UInt8(ascii: "]") }) {
          bytes.insert(UInt8(ascii: ","), at: at)
        }
      }
    }
    return bytes
  }

  /// The first index at or after `from` whose byte matches.
  static func next(in bytes: [UInt8], from: Int, where matches: (UInt8) -> Bool) -> Int? {
    var i = from
    while i < bytes.count, !matches(bytes[i]) { i += 1 }
    return i < bytes.count ? i : nil
  }

  static let replacements: [String] = [
    "null", "0", "1.0", "1e2", "-1", "true", "{}", "[]", "\"\"", "\"x\"", "\"2024-02-30\"", "\"%ZZ\"", "\"{\"", "\"[]\"",
    #""{\"a\":1,}""#, "\"%7B%7D\"", "\"%5B%5D\"", "1e400", "[{}]", #""\ud800""#, #"{"Arn":"dup"}"#,
  ]

  /// Replaces one string literal (a key or a value) of the input with another JSON value.
  static func swapStringLiteral(_ bytes: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
    var starts: [Int] = []
    var i = 0
    while i < bytes.count {
      if bytes[i] == UInt8(ascii: "\"") {
        starts.append(i)
        i = Lexical.stringEnd(bytes, from: i)
      } else {
        i += 1
      }
    }
    guard !starts.isEmpty else { return bytes }
    let start = rng.pick(starts)
    let end = Lexical.stringEnd(bytes, from: start)
    return Array(bytes[..<start]) + Array(rng.pick(replacements).utf8) + Array(bytes[end...])
  }

  static let knownKeys = [
    "Arn", "UserName", "RoleName", "GroupId", "PolicyName", "PolicyDocument", "Document", "VersionId", "Tags", "Key",
    "PermissionsBoundaryArn", "CreateDate", "AttachmentCount", "IsTruncated", "RoleLastUsed", "UserDetailList",
  ]

  /// One semantic edit of the tree: a value replaced by another kind, a member removed, repeated or
  /// added under a name the decoder reads, an array element repeated or removed.
  static func tree(_ root: Gen, _ rng: inout SplitMix) -> Gen {
    var count = 0
    countNodes(root, &count)
    var target = rng.below(count)
    return edit(root, &target, &rng)
  }

  static func countNodes(_ node: Gen, _ count: inout Int) {
    count += 1
    switch node {
    case .object(let members): for m in members { countNodes(m.1, &count) }
    case .array(let elements): for e in elements { countNodes(e, &count) }
    default: break
    }
  }

  static func edit(_ node: Gen, _ target: inout Int, _ rng: inout SplitMix) -> Gen {
    if target == 0 {
      target = -1
      return replace(node, &rng)
    }
    target -= 1
    switch node {
    case .object(let members): return .object(members.map { ($0.0, target >= 0 ? edit($0.1, &target, &rng) : $0.1) })
    case .array(let elements): return .array(elements.map { target >= 0 ? edit($0, &target, &rng) : $0 })
    default: return node
    }
  }

  static func replace(_ node: Gen, _ rng: inout SplitMix) -> Gen {
    switch (node, rng.below(3)) {
    case (.object(var members), 0) where !members.isEmpty:
      let i = rng.below(members.count)
      switch rng.below(3) {
      case 0: members.remove(at: i)
      case 1: members.insert((members[i].0, rng.chance(50) ? members[i].1 : scalar(&rng)), at: rng.below(members.count + 1))
      default: members.append((rng.pick(knownKeys), scalar(&rng)))
      }
      return .object(members)
    case (.array(var elements), 0) where !elements.isEmpty:
      let i = rng.below(elements.count)
      if rng.chance(60) { elements.insert(elements[i], at: rng.below(elements.count + 1)) } else { elements.remove(at: i) }
      return .array(elements)
    default:
      return scalar(&rng)
    }
  }

  static func scalar(_ rng: inout SplitMix) -> Gen {
    rng.pick([
      .null, .bool(true), .number("1"), .number("1.0"), .number("1e2"), .number("-0"), .number("1e400"), .string(""),
      .string("x"), .string("2024-02-30"), .string("2024-01-31 10:41:45"), .string("%ZZ"), .string("{"), .string("%7B%7D"),
      .string(" \n{\"Version\":1}"), .string("[]"), .object([]), .array([]), .array([.string("a")]),
    ])
  }
}
