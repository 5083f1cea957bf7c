import Foundation
import IAMEvidence

// The valid exports of ``FoundationDecoderDifferentialTests``, generated from a seed.

/// A JSON tree as the generator builds it: members in order, numbers as text.
indirect enum Gen {
  case object([(String, Gen)])
  case array([Gen])
  case string(String)
  case number(String)
  case bool(Bool)
  case null
}

/// Builds random but valid exports and writes them in a random style.
final class ExportGenerator {
  var rng: SplitMix
  /// Writing style, drawn once per export.
  var indent: String?
  var looseWhitespace: Bool
  var escapePercent: Int
  var keyEscapePercent: Int
  var upperHex: Bool
  var escapeSlash: Bool
  var shuffleKeys: Bool
  var byteOrderMark: Bool

  init(seed: UInt64) {
    rng = SplitMix(state: seed)
    indent = rng.pick([nil, nil, "  ", "    ", "\t"])
    looseWhitespace = rng.chance(25)
    escapePercent = rng.pick([0, 0, 10, 50, 100])
    keyEscapePercent = rng.pick([0, 0, 0, 5, 30])
    upperHex = rng.chance(50)
    escapeSlash = rng.chance(30)
    shuffleKeys = rng.chance(50)
    byteOrderMark = rng.chance(5)
  }

  static let names = [
    "alice", "Zoë", "e\u{301}quipe", "日本語", "😀-bot", "quote\"d", "slash/ed", "back\\slash", "tab\tbed", "new\nline",
    "nul\u{0}byte", "sep\u{2028}arator", "bom\u{FEFF}", "ΩΩ", "max\u{10FFFF}", "plain", "deploy", "𝄞clef", "",
  ]
  static let unknownKeys = ["Extra", "x-amz-meta", "", "arn", "ARN", "UserName ", "Ｋey", "nul\u{0}", "😀", "Tags2", "Path/"]
  static let numbers = [
    "0", "-0", "3600", "1.0", "1.50", "-1.5e3", "2.5E-2", "1e2", "12345678901234567890", "0.1", "1E+2", "6.02214076e23",
    "-273.15", "9007199254740993", "4.9e-324", "1.7976931348623157e308",
  ]

  func name(_ index: Int) -> String { rng.pick(Self.names) + "-\(index)" }

  func maybe(_ members: inout [(String, Gen)], _ key: String, _ value: @autoclosure () -> Gen, present: Int = 60) {
    let roll = rng.below(100)
    if roll < present {
      members.append((key, value()))
    } else if roll < present + (100 - present) / 2 {
      members.append((key, .null))
    }
  }

  /// A list member: present with elements, or (when empty) present, null or absent.
  func list(_ members: inout [(String, Gen)], _ key: String, _ elements: [Gen]) {
    if !elements.isEmpty || rng.chance(40) {
      members.append((key, .array(elements)))
    } else if rng.chance(50) {
      members.append((key, .null))
    }
  }

  func finish(_ members: [(String, Gen)], extras: [String] = []) -> Gen {
    var members = members
    for _ in 0..<rng.below(3) where rng.chance(30) {
      let key = rng.pick(Self.unknownKeys + extras)
      if !members.contains(where: { $0.0 == key }) { members.append((key, junk(depth: 0))) }
    }
    if shuffleKeys {
      for i in members.indices.reversed() { members.swapAt(i, rng.below(i + 1)) }
    }
    return .object(members)
  }

  /// Any valid JSON value (for unknown members).
  func junk(depth: Int) -> Gen {
    switch rng.below(depth > 2 ? 4 : 6) {
    case 0: return .null
    case 1: return .bool(rng.chance(50))
    case 2: return .number(rng.pick(Self.numbers))
    case 3: return .string(rng.pick(Self.names))
    case 4: return .array((0..<rng.below(3)).map { _ in junk(depth: depth + 1) })
    default: return .object((0..<rng.below(3)).map { i in ("k\(i)\(rng.pick(Self.names))", junk(depth: depth + 1)) })
    }
  }

  func date() -> String {
    let year = 2000 + rng.below(30)
    let month = 1 + rng.below(12)
    let day = month == 2 && year % 4 == 0 && rng.chance(30) ? 29 : 1 + rng.below(28)
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let datePart = "\(year)-\(two(month))-\(two(day))"
    if rng.chance(10) { return datePart }
    let second = rng.chance(5) ? 60 : rng.below(60)
    var s = datePart + rng.pick(["T", "T", "t", " "]) + "\(two(rng.below(24))):\(two(rng.below(60))):\(two(second))"
    if rng.chance(30) { s += "." + rng.pick(["0", "5", "123", "500000", "000001", "999999999"]) }
    s += rng.pick(["Z", "Z", "z", "+00:00", "-05:30", "+0530", "+14:00", ""])
    return s
  }

  func arn(_ kind: String, _ name: String) -> String {
    rng.pick([
      "arn:aws:iam::123456789012:\(kind)/\(name)", "arn:aws:iam::123456789012:\(kind)/team/\(name)",
      "arn:aws-cn:iam::210987654321:\(kind)/a/b/\(name)",
    ])
  }

  func policyArn(_ index: Int) -> String {
    let name = self.name(index)
    return rng.pick([
      "arn:aws:iam::aws:policy/\(name)", "arn:aws:iam::aws:policy/service-role/\(name)", "arn:aws:iam::123456789012:policy/\(name)",
      "arn:aws:iam::123456789012:policy/\(name)/", "plain-\(name)", "a:b:\(name)",
    ])
  }

  // MARK: Documents

  func statement() -> Gen {
    var members: [(String, Gen)] = []
    if rng.chance(40) { members.append(("Sid", .string(rng.pick(["S1", "Allow All", "Zoë", "😀"])))) }
    members.append(("Effect", .string(rng.pick(["Allow", "Deny"]))))
    let actions = ["kms:*", "s3:GetObject", "iam:*", "*", "ec2:Describe*", "kms:Decrypt"]
    let action: Gen = rng.chance(50) ? .string(rng.pick(actions)) : .array((0..<1 + rng.below(3)).map { _ in .string(rng.pick(actions)) })
    members.append((rng.chance(85) ? "Action" : "NotAction", action))
    let resources = ["*", "arn:aws:s3:::bucket/*", "arn:aws:kms:eu-west-1:123456789012:key/1234", "arn:aws:s3:::b/ü/\"q\"/\\"]
    let resource: Gen =
      rng.chance(60) ? .string(rng.pick(resources)) : .array((0..<1 + rng.below(3)).map { _ in .string(rng.pick(resources)) })
    members.append((rng.chance(90) ? "Resource" : "NotResource", resource))
    if rng.chance(40) {
      var condition: [(String, Gen)] = []
      if rng.chance(60) { condition.append(("NumericLessThan", .object([("aws:MultiFactorAuthAge", .number(rng.pick(Self.numbers)))]))) }
      if rng.chance(50) { condition.append(("Bool", .object([("aws:SecureTransport", rng.chance(50) ? .bool(false) : .string("true"))]))) }
      if rng.chance(40) {
        condition.append(("StringEquals", .object([("aws:PrincipalTag/team", .array([.string(rng.pick(Self.names)), .null]))])))
      }
      members.append(("Condition", .object(condition)))
    }
    if rng.chance(15) { members.append(("Principal", .object([("AWS", .string("arn:aws:iam::123456789012:root"))]))) }
    return finish(members)
  }

  func policyTree() -> Gen {
    var members: [(String, Gen)] = [("Version", .string(rng.pick(["2012-10-17", "2008-10-17"])))]
    if rng.chance(20) { members.append(("Id", .string(rng.pick(Self.names)))) }
    members.append(("Statement", rng.chance(20) ? statement() : .array((0..<rng.below(4)).map { _ in statement() })))
    return finish(members)
  }

  /// A document in one of the three encodings.
  func document() -> Gen {
    let tree = policyTree()
    switch rng.below(4) {
    case 0, 1:
      return tree
    case 2:
      let inner = ExportGenerator(seed: rng.next())
      inner.byteOrderMark = false
      let serialized = String(decoding: inner.serialize(tree), as: UTF8.self)
      let text = String(serialized.unicodeScalars.drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }))
      return .string(rng.pick(["", "", " ", "\n", "\t ", " \n\t", "\r", "\n\r", "\r\n", " \r\n\t"]) + text)
    default:
      let inner = ExportGenerator(seed: rng.next())
      inner.byteOrderMark = false
      inner.indent = rng.chance(70) ? nil : "  "
      return .string((rng.chance(10) ? " " : "") + percentEncode(String(decoding: inner.serialize(tree), as: UTF8.self)))
    }
  }

  /// Percent-encodes like the IAM API, but leaves some characters raw (the decoder only decodes
  /// `%XX`), in either hex case. The first character is always encoded, so the text never starts with `{`.
  func percentEncode(_ text: String) -> String {
    let digits = Array((rng.chance(50) ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
    var out = ""
    for (index, scalar) in text.unicodeScalars.enumerated() {
      let unreserved =
        scalar.properties.isASCIIHexDigit || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
        || "-._~".unicodeScalars.contains(scalar)
      let raw: Bool
      if index == 0 || scalar == "%" {
        raw = false
      } else if unreserved {
        raw = rng.chance(90)
      } else {
        raw = rng.chance(20)
      }
      if raw {
        out.unicodeScalars.append(scalar)
      } else {
        for byte in String(scalar).utf8 {
          out += "%" + String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
        }
      }
    }
    return out
  }

  // MARK: Principals and policies

  func inline(_ count: Int) -> [Gen] {
    (0..<count).map { i in finish([("PolicyName", .string(name(i))), ("PolicyDocument", document())]) }
  }

  func attached() -> [Gen] {
    (0..<rng.below(3)).map { i in
      var members: [(String, Gen)] = [("PolicyArn", .string(policyArn(i)))]
      maybe(&members, "PolicyName", .string(name(i)))
      return finish(members)
    }
  }

  func boundary(_ members: inout [(String, Gen)]) {
    switch rng.below(6) {
    case 0:
      members.append(("PermissionsBoundary", .null))
    case 1:
      // No ARN: no boundary, and the type is not read.
      members.append(("PermissionsBoundary", .object(rng.chance(50) ? [] : [("PermissionsBoundaryType", junk(depth: 0))])))
    case 2, 3:
      var b: [(String, Gen)] = [("PermissionsBoundaryArn", .string(policyArn(99)))]
      maybe(&b, "PermissionsBoundaryType", .string("Policy"))
      members.append(("PermissionsBoundary", finish(b)))
    default:
      break
    }
  }

  func tags() -> [Gen] {
    (0..<rng.below(3)).map { i in
      var members: [(String, Gen)] = [("Key", .string(name(i)))]
      maybe(&members, "Value", .string(rng.pick(Self.names)), present: 70)
      return finish(members)
    }
  }

  func common(_ members: inout [(String, Gen)]) {
    maybe(&members, "Path", .string(rng.pick(["/", "/team/", "/a/b/", "/ü/"])))
    maybe(&members, "CreateDate", .string(date()), present: 70)
  }

  func user(_ i: Int) -> Gen {
    let name = self.name(i)
    var members: [(String, Gen)] = [
      ("UserName", .string(name)), ("UserId", .string("AIDA\(i)X")), ("Arn", .string(arn("user", name))),
    ]
    common(&members)
    list(&members, "UserPolicyList", inline(rng.below(3)))
    list(&members, "GroupList", (0..<rng.below(3)).map { .string(self.name($0)) })
    list(&members, "AttachedManagedPolicies", attached())
    boundary(&members)
    list(&members, "Tags", tags())
    // Members only roles have: a user's are not read.
    return finish(members, extras: ["RoleLastUsed", "AssumeRolePolicyDocument", "InstanceProfileList", "GroupPolicyList"])
  }

  func group(_ i: Int) -> Gen {
    let name = self.name(i)
    var members: [(String, Gen)] = [
      ("GroupName", .string(name)), ("GroupId", .string("AGPA\(i)X")), ("Arn", .string(arn("group", name))),
    ]
    common(&members)
    list(&members, "GroupPolicyList", inline(rng.below(3)))
    list(&members, "AttachedManagedPolicies", attached())
    return finish(members, extras: ["Tags", "PermissionsBoundary", "UserPolicyList", "GroupList"])
  }

  func role(_ i: Int) -> Gen {
    let name = self.name(i)
    var members: [(String, Gen)] = [
      ("RoleName", .string(name)), ("RoleId", .string("AROA\(i)X")), ("Arn", .string(arn("role", name))),
    ]
    common(&members)
    maybe(&members, "AssumeRolePolicyDocument", document(), present: 75)
    list(
      &members, "InstanceProfileList",
      (0..<rng.below(3)).map { i in
        var p: [(String, Gen)] = [("InstanceProfileName", .string(self.name(i)))]
        maybe(&p, "InstanceProfileId", .string("AIPA\(i)"))
        maybe(&p, "Arn", .string(arn("instance-profile", "p\(i)")))
        return finish(p, extras: ["Roles"])
      })
    list(&members, "RolePolicyList", inline(rng.below(3)))
    list(&members, "AttachedManagedPolicies", attached())
    boundary(&members)
    list(&members, "Tags", tags())
    switch rng.below(4) {
    case 0: members.append(("RoleLastUsed", .null))
    case 1: members.append(("RoleLastUsed", .object([])))
    case 2:
      var last: [(String, Gen)] = []
      maybe(&last, "LastUsedDate", .string(date()))
      maybe(&last, "Region", .string(rng.pick(["eu-west-1", "us-east-1", "ü"])))
      members.append(("RoleLastUsed", finish(last)))
    default: break
    }
    return finish(members, extras: ["GroupList", "UserPolicyList"])
  }

  func policy(_ i: Int) -> Gen {
    var members: [(String, Gen)] = [("Arn", .string(policyArn(i)))]
    maybe(&members, "PolicyName", .string(name(i)))
    maybe(&members, "PolicyId", .string("ANPA\(i)"))
    maybe(&members, "Path", .string("/"))
    maybe(&members, "DefaultVersionId", .string("v1"))
    maybe(&members, "AttachmentCount", .number(rng.pick(["0", "3", "-0", "12", "9223372036854775807"])))
    maybe(&members, "PermissionsBoundaryUsageCount", .number(rng.pick(["0", "1", "-2"])))
    maybe(&members, "IsAttachable", .bool(rng.chance(80)))
    maybe(&members, "Description", .string(rng.pick(Self.names)))
    maybe(&members, "CreateDate", .string(date()))
    maybe(&members, "UpdateDate", .string(date()))
    let versions: [Gen] = (0..<rng.below(4)).map { v in
      var version: [(String, Gen)] = [("Document", document()), ("VersionId", .string("v\(v + 1)"))]
      maybe(&version, "IsDefaultVersion", .bool(v == 0))
      maybe(&version, "CreateDate", .string(date()))
      return finish(version)
    }
    list(&members, "PolicyVersionList", versions)
    return finish(members)
  }

  /// An export; a small one has at most two users, one group, two roles and two managed policies.
  func export(small: Bool = false) -> Gen {
    let most = small ? 1 : 0
    var members: [(String, Gen)] = []
    list(&members, "UserDetailList", (0..<rng.below(4 - most)).map { user($0) })
    list(&members, "GroupDetailList", (0..<rng.below(3 - most)).map { group($0) })
    list(&members, "RoleDetailList", (0..<rng.below(4 - most)).map { role($0) })
    list(&members, "Policies", (0..<rng.below(4 - most)).map { policy($0) })
    maybe(&members, "IsTruncated", .bool(rng.chance(50)), present: 50)
    maybe(&members, "Marker", .string(rng.pick(["AAEAA", "ü/+==", "", "%7B"])), present: 40)
    return finish(members, extras: ["ResponseMetadata"])
  }

  // MARK: Writing

  func serialize(_ value: Gen) -> [UInt8] {
    var out: [UInt8] = byteOrderMark ? [0xEF, 0xBB, 0xBF] : []
    if looseWhitespace { space(&out) }
    write(value, level: 0, into: &out)
    if looseWhitespace || indent != nil { out.append(0x0A) }
    return out
  }

  func space(_ out: inout [UInt8]) {
    guard looseWhitespace else { return }
    for _ in 0..<rng.below(3) { out.append(contentsOf: rng.pick([" ", "\t", "\n", "\r\n", "\r"]).utf8) }
  }

  func newline(_ level: Int, _ out: inout [UInt8]) {
    guard let indent else { return space(&out) }
    out.append(0x0A)
    for _ in 0..<level { out.append(contentsOf: indent.utf8) }
  }

  func write(_ value: Gen, level: Int, into out: inout [UInt8]) {
    switch value {
    case .null: out.append(contentsOf: "null".utf8)
    case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
    case .number(let n): out.append(contentsOf: n.utf8)
    case .string(let s): writeString(s, escapePercent: escapePercent, into: &out)
    case .array(let elements):
      out.append(UInt8(ascii: "["))
      for (i, e) in elements.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        newline(level + 1, &out)
        write(e, level: level + 1, into: &out)
      }
      if !elements.isEmpty { newline(level, &out) }
      out.append(UInt8(ascii: "]"))
    case .object(let members):
      out.append(UInt8(ascii: "{"))
      for (i, m) in members.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        newline(level + 1, &out)
        writeString(m.0, escapePercent: keyEscapePercent, into: &out)
        space(&out)
        out.append(UInt8(ascii: ":"))
        if indent != nil { out.append(0x20) }
        space(&out)
        write(m.1, level: level + 1, into: &out)
      }
      if !members.isEmpty { newline(level, &out) }
      out.append(UInt8(ascii: "}"))
    }
  }

  static let shortEscapes: [UInt32: String] = [
    0x22: "\\\"", 0x5C: "\\\\", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t",
  ]

  /// A string literal: `"` and `\` always escaped, control characters as short or `\u` escapes, and
  /// `escapePercent` of the other characters as `\u` escapes (surrogate pairs above the BMP).
  func writeString(_ s: String, escapePercent: Int, into out: inout [UInt8]) {
    let digits = Array((upperHex ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
    func unit(_ u: UInt32, _ out: inout [UInt8]) {
      out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u")])
      for shift in [12, 8, 4, 0] { out.append(digits[Int((u >> UInt32(shift)) & 0xF)]) }
    }
    out.append(UInt8(ascii: "\""))
    for scalar in s.unicodeScalars {
      let v = scalar.value
      if let escape = Self.shortEscapes[v], v == 0x22 || v == 0x5C || rng.chance(70) {
        out.append(contentsOf: escape.utf8)
      } else if v < 0x20 || rng.chance(escapePercent) {
        if v > 0xFFFF {
          unit(0xD800 + ((v - 0x10000) >> 10), &out)
          unit(0xDC00 + ((v - 0x10000) & 0x3FF), &out)
        } else {
          unit(v, &out)
        }
      } else if v == 0x2F && escapeSlash {
        out.append(contentsOf: "\\/".utf8)
      } else {
        out.append(contentsOf: String(scalar).utf8)
      }
    }
    out.append(UInt8(ascii: "\""))
  }
}
