import Foundation
import Testing

@testable import IAMEvidence

/// The hand-written parser against Foundation's: on the fixtures and on thousands of seeded
/// mutations (truncations, byte flips, insertions), both accept with equal values or both refuse;
/// ours never crashes or hangs, and its errors say where.
@Suite struct JSONDifferentialTests {
  typealias SplitMix = IAMEvidenceTests.SplitMix

  static func foundation(_ bytes: [UInt8]) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
  }

  /// Structural equality of our value and Foundation's (numbers compared as doubles; for duplicate
  /// keys both keep the last).
  static func same(_ ours: JSONValue, _ theirs: Any) -> Bool {
    switch ours {
    case .null: return theirs is NSNull
    case .bool(let b):
      if let n = theirs as? NSNumber, !(theirs is Bool) { return n.boolValue == b && (n.intValue == 0 || n.intValue == 1) }
      return (theirs as? Bool) == b
    case .number(let text):
      guard let n = theirs as? NSNumber, let d = Double(text) else { return false }
      return n.doubleValue == d || abs(n.doubleValue - d) <= abs(d) * 1e-12
    case .string(let s): return (theirs as? String) == s
    case .array(let a):
      guard let t = theirs as? [Any], t.count == a.count else { return false }
      return zip(a, t).allSatisfy { same($0, $1) }
    case .object(let members):
      guard let t = theirs as? [String: Any] else { return false }
      var last: [String: JSONValue] = [:]
      for m in members { last[m.key] = m.value }
      guard last.count == t.count else { return false }
      return last.allSatisfy { key, value in t[key].map { same(value, $0) } ?? false }
    }
  }

  @Test(arguments: ["dev-small.json", "dev-series/2024-02.json", "external/cloudsplaining-example-authz-details.json"])
  func fixturesParseTheSame(fixture: String) throws {
    let bytes = try TestSupport.bytes(TestSupport.fixture(fixture))
    let ours = try JSONParser.parse(bytes)
    let theirs = try #require(Self.foundation(bytes))
    #expect(Self.same(ours, theirs))
  }

  @Test func mutatedInputsAreAcceptedAlikeOrRefusedCleanly() throws {
    // A small policy-shaped document keeps each round fast while covering every token kind.
    let seed = Array(
      #"{"UserDetailList":[{"UserName":"a\u00e9\n","UserId":"AIDA1","Arn":"arn:aws:iam::123456789012:user/a","Tags":[{"Key":"k","Value":"v"}],"UserPolicyList":[{"PolicyName":"p","PolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:*",true,null,-1.5e3],"Resource":"*"}]}}]}],"IsTruncated":false}"#
        .utf8)
    #expect(Self.same(try JSONParser.parse(seed), try #require(Self.foundation(seed))))
    let alphabet = Array(#"{}[]",:0123456789.eE+-\/"truefalsnul u00ffé "#.utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xFF]
    var rng = SplitMix(state: 20_240_630)
    var accepted = 0
    var refused = 0
    for round in 0..<3000 {
      var bytes = seed
      for _ in 0...rng.below(3) {
        switch rng.below(4) {
        case 0: bytes = Array(bytes.prefix(rng.below(bytes.count + 1)))
        case 1: if !bytes.isEmpty { bytes[rng.below(bytes.count)] = alphabet[rng.below(alphabet.count)] }
        case 2: bytes.insert(alphabet[rng.below(alphabet.count)], at: rng.below(bytes.count + 1))
        default: if !bytes.isEmpty { bytes.remove(at: rng.below(bytes.count)) }
        }
      }
      let theirs = Self.foundation(bytes)
      do {
        let ours = try JSONParser.parse(bytes)
        accepted += 1
        // Whatever we accept, Foundation accepts too, with the same value.
        guard let theirs else {
          Issue.record("round \(round): we accepted what Foundation refuses: \(String(decoding: bytes, as: UTF8.self))")
          continue
        }
        #expect(Self.same(ours, theirs), "round \(round): \(String(decoding: bytes, as: UTF8.self))")
      } catch {
        refused += 1
        #expect(error.offset >= 0 && error.offset <= bytes.count && error.line >= 1)
        // Foundation is laxer in a few documented ways (it accepts a leading BOM-less UTF-16 or
        // unescaped control characters on some platforms); where it accepts, ours must have a reason.
        if theirs != nil {
          #expect(
            error.message.contains("control character") || error.message.contains("UTF-8") || error.message.contains("surrogate")
              || error.message.contains("escape"),
            "round \(round): we refused (\(error)) what Foundation accepts: \(String(decoding: bytes, as: UTF8.self))")
        }
      }
    }
    #expect(accepted > 50 && refused > 1000)
  }

  @Test func deepNestingIsRefusedNotACrash() {
    let deep = Array(repeating: UInt8(ascii: "["), count: 100_000) + Array(repeating: UInt8(ascii: "]"), count: 100_000)
    #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(deep) }
  }
}

/// The snapshot decoder on damaged exports: every outcome is a snapshot or an error naming the file
/// and a JSON path, never a crash.
@Suite struct SnapshotMutationTests {
  @Test func damagedExportsDecodeOrFailWithAPath() throws {
    let original = try TestSupport.bytes(TestSupport.fixture("dev-small.json"))
    var rng = JSONDifferentialTests.SplitMix(state: 7)
    let alphabet = Array(#"{}[]",:0"%7B-xé "#.utf8) + [0x00, 0xFF]
    var failures = 0
    for _ in 0..<300 {
      var bytes = original
      switch rng.below(3) {
      case 0: bytes = Array(bytes.prefix(rng.below(bytes.count)))
      case 1: bytes[rng.below(bytes.count)] = alphabet[rng.below(alphabet.count)]
      default: bytes.remove(at: rng.below(bytes.count))
      }
      do {
        _ = try SnapshotDecoder(sourceName: "m.json").decode(bytes)
      } catch {
        failures += 1
        #expect(error.file == "m.json" && error.path.hasPrefix("$") && !error.message.isEmpty)
      }
    }
    #expect(failures > 100)
  }
}
