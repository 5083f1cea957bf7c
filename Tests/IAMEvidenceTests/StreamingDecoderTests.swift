import Foundation
import Testing

@testable import IAMEvidence

/// The streaming decoder (``SnapshotDecoder/decode(buffer:consumed:)``, the only one) on every
/// document encoding and on damaged raw-API exports, judged against the Foundation reference of
/// ``FoundationDecoderDifferentialTests`` (``Differential``); and the canonical transcoder against
/// ``JSONWriter``.
@Suite struct StreamingDecoderTests {
  typealias SplitMix = JSONDifferentialTests.SplitMix

  /// The same account written three ways (objects, percent-encoded, plain JSON strings) with keys in
  /// another order, escapes and extra whitespace: the same canonical documents.
  @Test func encodingsAndSpellingsGiveTheSameDocuments() throws {
    let doc =
      #"{ "Statement" : [ { "Resource":"*", "Effect":"Allow", "Action":["kms:*","s3:Get\u002A"], "Sid":"caf\u00e9 \"q\"" } ], "Version":"2012-10-17" }"#
    func snapshot(_ document: String) -> [UInt8] {
      Array(
        #"{"UserDetailList":[{"UserName":"u","UserId":"AIDA1","Arn":"arn:aws:iam::123456789012:user/u","UserPolicyList":[{"PolicyName":"p","PolicyDocument":\#(document)}]}]}"#
          .utf8)
    }
    let object = try SnapshotDecoder(sourceName: "o.json").decode(snapshot(doc))
    let percent = try SnapshotDecoder(sourceName: "p.json").decode(snapshot("\"" + PercentEncoding.encode(doc) + "\""))
    let plain = try SnapshotDecoder(sourceName: "s.json").decode(snapshot(JSONWriter.quoted(doc)))
    let expected = JSONWriter.canonical(try JSONParser.parse(doc))
    for (s, encoding) in [(object, DocumentEncoding.object), (percent, .percentEncoded), (plain, .jsonString)] {
      let policy = try #require(s.principals.first?.inlinePolicies.first)
      #expect(policy.document.canonical == expected && policy.encoding == encoding)
      #expect(policy.document.json == (try JSONParser.parse(expected)))
    }
    #expect(expected.hasPrefix(#"{"Statement":[{"Action":["kms:*","s3:Get*"],"Effect":"Allow","Resource":"*","Sid":"café \"q\""}]"#))
  }

  /// Random JSON values (nested objects with unsorted and repeated keys, escapes, numbers):
  /// transcoding the text equals writing the parsed tree, and the transcoder flags a repeated name
  /// exactly when the tree has one (for canonically equivalent names, see `DuplicateKeyTests`).
  @Test func transcoderMatchesTheWriter() throws {
    var rng = SplitMix(state: 42)
    let keys = ["a", "b", "B", "é", "a\"b", "a\\b", "\n", "\u{7F}", "ab", "", "Z\u{1F600}"]
    func value(_ depth: Int) -> JSONValue {
      switch rng.below(depth > 3 ? 5 : 7) {
      case 0: return .null
      case 1: return .bool(rng.below(2) == 0)
      case 2: return .number(["0", "-1.5e3", "3600", "1.0", "12345678901234567890"][rng.below(5)])
      case 3, 4: return .string(keys[rng.below(keys.count)] + (rng.below(3) == 0 ? "\u{1}\t/" : ""))
      case 5: return .array((0..<rng.below(4)).map { _ in value(depth + 1) })
      default: return .object((0..<rng.below(5)).map { _ in (key: keys[rng.below(keys.count)], value: value(depth + 1)) })
      }
    }
    var flagged = 0
    for round in 0..<2000 {
      let v = value(0)
      // Written with members in source order (not canonical) and with \u escapes for some characters.
      let text = Self.sourceText(v, escapeAll: round % 3 == 0)
      let bytes = Array(text.utf8)
      let (transcoded, repeated) = try bytes.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in
        var t = CanonicalTranscoder(buffer)
        _ = try t.document()
        return (t.out, t.foundDuplicateKey)
      }
      let tree = try JSONParser.parse(bytes)
      #expect(transcoded == JSONWriter.canonicalBytes(tree), "round \(round): \(text)")
      #expect(repeated == !tree.duplicateKeys().isEmpty, "round \(round): \(text)")
      if repeated { flagged += 1 }
    }
    #expect(flagged > 50)
  }

  /// JSON text for `v` with members in the order given and, optionally, every non-ASCII or special
  /// character as a `\u` escape.
  static func sourceText(_ v: JSONValue, escapeAll: Bool) -> String {
    func string(_ s: String) -> String {
      guard escapeAll else { return JSONWriter.quoted(s) }
      var out = "\""
      for unit in s.utf16 {
        if unit < 0x20 || unit > 0x7E || unit == 0x22 || unit == 0x5C || unit == 0x2F {
          out += "\\u" + String(format: "%04X", unit)
        } else {
          out += String(UnicodeScalar(UInt8(unit)))
        }
      }
      return out + "\""
    }
    switch v {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .number(let n): return n
    case .string(let s): return string(s)
    case .array(let a): return "[ " + a.map { sourceText($0, escapeAll: escapeAll) }.joined(separator: " ,\n") + " ]"
    case .object(let m):
      return "{ " + m.map { string($0.key) + " : " + sourceText($0.value, escapeAll: escapeAll) }.joined(separator: ", ") + " }"
    }
  }

  /// Damaged exports (truncations, byte flips, insertions, deletions) of fixtures, as the CLI writes
  /// them and with every document percent-encoded as the raw API does: the decoder and the
  /// Foundation reference decode alike or both refuse, or differ only in an explained way
  /// (``Differential`` also demands that a refusal names the file and a JSON path).
  @Test func damagedExportsAgree() throws {
    let fixtures = ["dev-small.json", "external/cloudsplaining-example-authz-details.json"]
    let alphabet = Array(#"{}[]",:0"%7B-xé \u"#.utf8) + [0x00, 0xFF, 0x0A]
    var rng = SplitMix(state: 2024)
    var accepted = 0
    var refused = 0
    for fixture in fixtures {
      let original = try TestSupport.bytes(TestSupport.fixture(fixture))
      // A raw-API copy (every document percent-encoded) covers the string paths too.
      for (variant, source) in [("cli", original), ("raw", try Self.percentEncoded(original))] {
        for round in 0..<(fixture == "dev-small.json" ? 300 : 60) {
          var bytes = source
          for _ in 0...rng.below(2) {
            switch rng.below(4) {
            case 0: bytes = Array(bytes.prefix(rng.below(bytes.count)))
            case 1: if !bytes.isEmpty { bytes[rng.below(bytes.count)] = alphabet[rng.below(alphabet.count)] }
            case 2: bytes.insert(alphabet[rng.below(alphabet.count)], at: rng.below(bytes.count + 1))
            default: if !bytes.isEmpty { bytes.remove(at: rng.below(bytes.count)) }
            }
          }
          let outcome = Differential.run(bytes)
          if outcome.verdict == .unexplained { Issue.record("\(fixture) \(variant) round \(round): \(outcome.detail)") }
          if outcome.ours != nil { accepted += 1 } else { refused += 1 }
        }
      }
    }
    #expect(accepted > 50 && refused > 300)
  }

  /// `bytes` with every policy document replaced by its percent-encoded canonical text.
  static func percentEncoded(_ bytes: [UInt8]) throws -> [UInt8] {
    func encode(_ v: JSONValue, key: String?) -> JSONValue {
      switch v {
      case .object(let members):
        if key == "PolicyDocument" || key == "Document" || key == "AssumeRolePolicyDocument" {
          return .string(PercentEncoding.encode(JSONWriter.canonical(v)))
        }
        return .object(members.map { ($0.key, encode($0.value, key: $0.key)) })
      case .array(let a): return .array(a.map { encode($0, key: nil) })
      default: return v
      }
    }
    return JSONWriter.canonicalBytes(encode(try JSONParser.parse(bytes), key: nil))
  }

  /// The decoder says how far it has read, in order, ending at the end of the input.
  @Test func reportsConsumedBytesInOrder() throws {
    let bytes = try TestSupport.bytes(TestSupport.fixture("dev-small.json"))
    var offsets: [Int] = []
    _ = try bytes.withUnsafeBufferPointer { buffer throws(SnapshotDecodingError) in
      try SnapshotDecoder(sourceName: "d.json").decode(buffer: buffer) { offsets.append($0) }
    }
    #expect(offsets.last == bytes.count && offsets == offsets.sorted())
  }
}
