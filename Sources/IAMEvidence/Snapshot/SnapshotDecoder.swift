/// A snapshot that could not be decoded: the file, the JSON path of the offending value and why.
///
/// Printed as `snap.json: $.RoleDetailList[17].RolePolicyList[0].PolicyDocument: not valid
/// percent-encoded JSON`.
public struct SnapshotDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
  public var file: String
  public var path: String
  public var message: String

  public init(file: String, path: String, message: String) {
    self.file = file
    self.path = path
    self.message = message
  }

  public var description: String { "\(file): \(path): \(message)" }
}

/// Decodes `aws iam get-account-authorization-details` output (merged CLI pages, boto3 dumps, or
/// raw API responses with percent-encoded documents) into an ``AuthorizationSnapshot``.
///
/// Unknown members are ignored (AWS adds fields); missing optional members are nil; anything of the
/// wrong shape is an error naming its JSON path. There is one decoder, the streaming one
/// (``SnapshotStream``); the tests hold it to an independent reference built on Foundation's
/// `JSONDecoder`.
public struct SnapshotDecoder: Sendable {
  /// The file name used in error messages.
  public var sourceName: String

  public init(sourceName: String) { self.sourceName = sourceName }

  /// Decodes `bytes`, the exact content of one snapshot file.
  public func decode(_ bytes: [UInt8]) throws(SnapshotDecodingError) -> AuthorizationSnapshot {
    try bytes.withUnsafeBufferPointer { buffer throws(SnapshotDecodingError) in try decode(buffer: buffer) }
  }

  /// Decodes a snapshot in place (e.g. a memory-mapped file) in one streaming pass: no tree of the
  /// whole document is built, and policy documents are canonicalised and hashed as they are read.
  /// `consumed` is told, every few MB, the offset before which the bytes will not be read again.
  public func decode(
    buffer: UnsafeBufferPointer<UInt8>, consumed: ((Int) -> Void)? = nil
  ) throws(SnapshotDecodingError) -> AuthorizationSnapshot {
    var stream = SnapshotStream(buffer, file: sourceName, consumed: consumed)
    let snapshot = try stream.snapshot()
    try validate(snapshot)
    return snapshot
  }

  /// What the decoder checks once the snapshot is read: an ARN's account field, where there is one,
  /// is a 12-digit AWS account id (evidence names the account; anything else fails the evidence
  /// schema much later); and a managed policy lists each `VersionId` once (the versions are stored by
  /// id). Errors name the JSON path.
  func validate(_ snapshot: AuthorizationSnapshot) throws(SnapshotDecodingError) {
    for (i, p) in snapshot.principals.enumerated() {
      if let account = Self.badAccount(p.arn) { throw accountError(account, path: principalPath(snapshot.principals, i) + ".Arn") }
    }
    for (i, m) in snapshot.managedPolicies.enumerated() {
      if !m.isAWSManaged, let account = Self.badAccount(m.arn) { throw accountError(account, path: "$.Policies[\(i)].Arn") }
      var seen: [String: Int] = [:]
      for (j, v) in m.versions.enumerated() {
        if let first = seen[v.versionId] {
          throw SnapshotDecodingError(
            file: sourceName, path: "$.Policies[\(i)].PolicyVersionList[\(j)].VersionId",
            message: "duplicate version \(v.versionId) (first at $.Policies[\(i)].PolicyVersionList[\(first)])")
        }
        seen[v.versionId] = j
      }
    }
  }

  /// The account field of `arn` when it is there and is not 12 digits.
  private static func badAccount(_ arn: String) -> String? {
    guard let account = ARN.account(of: arn) else { return nil }
    let digits = account.utf8.count == 12 && account.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    return digits ? nil : account
  }

  private func accountError(_ account: String, path: String) -> SnapshotDecodingError {
    SnapshotDecodingError(file: sourceName, path: path, message: "the ARN's account id is not 12 digits: \"\(account.prefix(40))\"")
  }

  private func principalPath(_ principals: [Principal], _ index: Int) -> String {
    let type = principals[index].type
    let position = principals[..<index].reduce(0) { $0 + ($1.type == type ? 1 : 0) }
    let list = type == .user ? "UserDetailList" : type == .group ? "GroupDetailList" : "RoleDetailList"
    return "$.\(list)[\(position)]"
  }

}

/// RFC 3986 percent-decoding. Only `%XX` escapes are decoded: `+` is a literal plus, not a space.
public enum PercentEncoding {
  /// The decoded bytes, or nil when an escape is malformed.
  public static func decodeBytes(_ s: String) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count)
    var it = s.utf8.makeIterator()
    func hex(_ c: UInt8) -> UInt8? {
      switch c {
      case 0x30...0x39: return c - 0x30
      case 0x41...0x46: return c - 0x41 + 10
      case 0x61...0x66: return c - 0x61 + 10
      default: return nil
      }
    }
    while let c = it.next() {
      if c == UInt8(ascii: "%") {
        guard let h = it.next(), let l = it.next(), let hv = hex(h), let lv = hex(l) else { return nil }
        out.append(hv << 4 | lv)
      } else {
        out.append(c)
      }
    }
    return out
  }

  /// The decoded text, or nil when an escape is malformed or the result is not UTF-8.
  public static func decode(_ s: String) -> String? {
    guard let bytes = decodeBytes(s) else { return nil }
    return String(validating: bytes, as: UTF8.self)
  }

  /// Percent-encodes every byte outside RFC 3986's unreserved set (as the IAM API does).
  public static func encode(_ s: String) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for b in s.utf8 {
      switch b {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
        out.append(b)
      default:
        out.append(contentsOf: [UInt8(ascii: "%"), digits[Int(b >> 4)], digits[Int(b & 0xF)]])
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}

/// A JSON value with its path, for decoding with precise error messages.
struct Node {
  var value: JSONValue
  var path: String
  var file: String

  func error(_ message: String) -> SnapshotDecodingError {
    SnapshotDecodingError(file: file, path: path, message: message)
  }

  func object() throws(SnapshotDecodingError) -> [(key: String, value: JSONValue)] {
    guard case .object(let members) = value else {
      throw error("expected an object, found \(value.kindDescription)")
    }
    return members
  }

  func string() throws(SnapshotDecodingError) -> String {
    guard case .string(let s) = value else { throw error("expected a string, found \(value.kindDescription)") }
    return s
  }

  func child(_ key: String) -> Node? {
    guard let v = value[key] else { return nil }
    return Node(value: v, path: path + "." + key, file: file)
  }

  func optionalArray(_ key: String) throws(SnapshotDecodingError) -> [(Node, Int)] {
    guard let c = child(key), c.value != .null else { return [] }
    guard case .array(let elements) = c.value else {
      throw c.error("expected an array, found \(c.value.kindDescription)")
    }
    return elements.enumerated().map { (Node(value: $1, path: "\(c.path)[\($0)]", file: file), $0) }
  }

  func requiredString(_ key: String) throws(SnapshotDecodingError) -> String {
    guard let c = child(key) else { throw error("missing \(key)") }
    return try c.string()
  }

  func optionalString(_ key: String) throws(SnapshotDecodingError) -> String? {
    guard let c = child(key), c.value != .null else { return nil }
    return try c.string()
  }

  func optionalBool(_ key: String) throws(SnapshotDecodingError) -> Bool? {
    guard let c = child(key), c.value != .null else { return nil }
    guard case .bool(let b) = c.value else { throw c.error("expected true or false, found \(c.value.kindDescription)") }
    return b
  }

  func optionalInt(_ key: String) throws(SnapshotDecodingError) -> Int? {
    guard let c = child(key), c.value != .null else { return nil }
    guard case .number(let n) = c.value, let i = Int(n) else {
      throw c.error("expected an integer, found \(c.value.kindDescription)")
    }
    return i
  }

  func optionalDate(_ key: String) throws(SnapshotDecodingError) -> Timestamp? {
    guard let s = try optionalString(key) else { return nil }
    guard let t = Timestamp(parsing: s) else { throw child(key)!.error("not a valid date: \"\(s)\"") }
    return t
  }
}
