import Foundation
import IAMEvidence
import Testing

/// ``SnapshotDecoder`` against Foundation's `JSONDecoder`, through the public API only: the safety
/// net for replacing the decoder's internals.
///
/// A second, independent decoder is built from Codable structs mirroring the export's shape, decoded
/// by Foundation and then mapped to an ``AuthorizationSnapshot`` with the decoder's documented rules
/// (optional members, the three policy-document encodings, `Timestamp(parsing:)`, the
/// `ARN.resourceName` fallbacks); the decoder's uniqueness rules (principals, inline policy names,
/// managed policy ARNs) are checked on its result. Both run on every input, and:
///
/// * on the fixtures and a few hundred generated valid exports (unicode and escapes in names and
///   member names, all three document encodings, optional members present, absent or null, unknown
///   members, key order, pretty-printing, every date form) both decode, to the same snapshot field
///   by field;
/// * on thousands of damaged inputs (byte flips, insertions, deletions, truncations, and semantic
///   edits of the JSON tree) both decode alike or both refuse; every disagreement falls into one of
///   a few named categories where ours is deliberately stricter or Foundation laxer
///   (``Disagreement``), each checked by a predicate on the input or the reference result, never on
///   our error text;
/// * whenever ours refuses, the error names the file and a JSON path (`$`, `.Member`, `[i]`);
/// * whenever ours accepts, Foundation's strict `JSONSerialization` accepts the bytes too (so ours
///   never accepts malformed JSON that `JSONDecoder` merely skips over), and so does our RFC 8259
///   `JSONParser`, for the file and every policy document (no trailing commas).
///
/// Numbers: Codable cannot expose a number's source text, so against Foundation, documents holding
/// numbers are compared by value (both sides' numbers rewritten as the `Double` they denote), and
/// documents without numbers must hash to exactly the same SHA-256. Number text is then checked
/// against `JSONParser`'s reading of each document's source, which keeps it verbatim.
///
/// Everything runs in-process: a crash or a hang of either decoder fails the suite.
///
/// The parts live in `Differential/`: the Foundation mirrors (`FoundationMirrors.swift`), the judge
/// (`FoundationDifferential.swift`), the generator of valid exports (`ExportGenerator.swift`) and the
/// damage done to them (`ExportMutator.swift`).
@Suite struct FoundationDecoderDifferentialTests {
  static let sourceName = "diff.json"

  // MARK: Fixtures

  /// Every snapshot under `../shared/fixtures`, recursively (ground-truth sidecars skipped).
  fileprivate static func fixtureFiles() throws -> [URL] {
    let root = TestSupport.fixtures.resolvingSymlinksInPath()
    guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
    var files: [URL] = []
    for case let url as URL in walker where url.pathExtension == "json" && !url.lastPathComponent.hasSuffix(".truth.json") {
      files.append(url)
    }
    return files.sorted { $0.path < $1.path }
  }

  @Test func fixturesDecodeIdentically() throws {
    let files = try Self.fixtureFiles()
    #expect(files.count >= 6)
    for url in files {
      let bytes = try TestSupport.bytes(url)
      let outcome = Differential.run(bytes)
      #expect(outcome.verdict == .bothDecoded, "\(url.lastPathComponent): \(outcome.detail)")
      #expect(outcome.principalCount > 0, "\(url.lastPathComponent) decoded to an empty snapshot")
    }
  }

  // MARK: Generated valid exports

  @Test func generatedExportsDecodeIdentically() {
    var tally = Tally()
    for seed in 0..<Self.generatedCount {
      let (_, bytes) = Self.generated(seed: seed)
      let outcome = Differential.run(bytes)
      tally.add(outcome)
      #expect(outcome.verdict == .bothDecoded, "seed \(seed): \(outcome.detail)\n\(Self.excerpt(bytes))")
    }
    // The generator covers what it claims to: all three encodings, numbers and every principal kind.
    #expect(tally.encodings == [.object, .percentEncoded, .jsonString] && tally.principalTypes == [.user, .group, .role])
    #expect(tally.principals > 800 && tally.documents > 1500 && tally.documentsWithNumbers > 500)
    print("FoundationDecoderDifferentialTests generated: \(tally.summary)")
  }

  static let generatedCount = 250

  /// The generated export for `seed`: its JSON tree and its bytes (style drawn from the same seed).
  fileprivate static func generated(seed: Int, small: Bool = false) -> (Gen, [UInt8]) {
    let generator = ExportGenerator(seed: UInt64(seed) &* 0x2545_F491_4F6C_DD1D &+ 17)
    let tree = generator.export(small: small)
    return (tree, generator.serialize(tree))
  }

  // MARK: Damaged inputs

  /// Damaged inputs: outcomes counted, and an issue for each disagreement no category explains.
  fileprivate struct DamageCheck {
    var tally = Tally()
    var verbose = ProcessInfo.processInfo.environment["DIFFERENTIAL_VERBOSE"] != nil

    mutating func check(_ bytes: [UInt8], _ label: @autoclosure () -> String) {
      let outcome = Differential.run(bytes)
      tally.add(outcome)
      switch outcome.verdict {
      case .unexplained: Issue.record("\(label()): \(outcome.detail)\n\(FoundationDecoderDifferentialTests.excerpt(bytes))")
      case .explained where verbose: print("\(label()): \(outcome.detail)")
      default: break
      }
    }
  }

  /// Small generated exports: byte edits, and truncation at every k-th offset.
  @Test func bytesOfGeneratedExportsDamaged() {
    var damage = DamageCheck()
    var rng = SplitMix(state: 0x1A4D_0F20_24)
    for seed in 10_000..<10_120 {
      let (_, bytes) = Self.generated(seed: seed, small: true)
      for round in 0..<10 {
        damage.check(Mutator.bytes(bytes, &rng), "generated \(seed) byte edit \(round)")
      }
      if seed % 5 == 0 {
        let step = max(1, bytes.count / 25)
        for end in stride(from: 0, to: bytes.count, by: step) {
          damage.check(Array(bytes.prefix(end)), "generated \(seed) truncated at \(end)")
        }
      }
    }
    let tally = damage.tally
    #expect(tally.cases > 1500 && tally.bothRefused > 1000 && tally.bothDecoded > 100)
    // The categories byte edits reach, so their predicates are exercised (and a change in either
    // decoder that makes one vanish is noticed).
    for category in [Disagreement.trailingComma, .skippedInvalidJSON] {
      #expect(tally.categories[category, default: 0] > 0, "no case of \(category)")
    }
    print("FoundationDecoderDifferentialTests generated, bytes damaged: \(tally.summary)")
  }

  /// Small generated exports with one semantic edit of their JSON tree (a value of another kind, a
  /// member removed, repeated or added, an array element repeated or removed), written in a new style.
  @Test func treesOfGeneratedExportsDamaged() {
    var damage = DamageCheck()
    var rng = SplitMix(state: 0x7EE5_2024)
    for seed in 20_000..<20_120 {
      let (tree, _) = Self.generated(seed: seed, small: true)
      for round in 0..<6 {
        let generator = ExportGenerator(seed: rng.next())
        damage.check(generator.serialize(Mutator.tree(tree, &rng)), "generated \(seed) tree edit \(round)")
      }
    }
    let tally = damage.tally
    #expect(tally.cases == 720 && tally.bothRefused > 200 && tally.bothDecoded > 200)
    for category in [
      Disagreement.duplicateMembers, .documentDuplicateKeys, .duplicateIdentity, .integerSpelledAsFraction, .numberBeyondDouble,
    ] {
      #expect(tally.categories[category, default: 0] > 0, "no case of \(category)")
    }
    print("FoundationDecoderDifferentialTests generated, trees damaged: \(tally.summary)")
  }

  /// Fixtures: truncations, byte edits and string-literal swaps (fewer for the large files).
  @Test func damagedFixturesAgreeOrDifferOnlyInExplainedWays() throws {
    var damage = DamageCheck()
    var rng = SplitMix(state: 0xF1C5_2024)
    for url in try Self.fixtureFiles() {
      let bytes = try TestSupport.bytes(url)
      let rounds = bytes.count > 400_000 ? 1 : bytes.count > 100_000 ? 3 : 30
      let name = url.lastPathComponent
      let step = bytes.count / rounds + 1
      for end in stride(from: step / 2, to: bytes.count, by: step) {
        damage.check(Array(bytes.prefix(end)), "\(name) truncated at \(end)")
      }
      for round in 0..<rounds {
        damage.check(Mutator.bytes(bytes, &rng), "\(name) byte edit \(round)")
        damage.check(Mutator.swapStringLiteral(bytes, &rng), "\(name) literal swap \(round)")
      }
    }
    #expect(damage.tally.cases > 100)
    print("FoundationDecoderDifferentialTests damaged fixtures: \(damage.tally.summary)")
  }

  // MARK: Known cases: each legitimate difference, and agreements worth pinning down

  fileprivate struct KnownCase: CustomTestStringConvertible, Sendable {
    var name: String
    var json: String
    var expected: Differential.Verdict
    var testDescription: String { name }
  }

  static let user = #""UserName":"u","UserId":"AIDA1","Arn":"arn:aws:iam::123456789012:user/u""#
  static let document = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#

  fileprivate static let knownCases: [KnownCase] = [
    KnownCase(
      name: "repeated member of the export: ours refuses it, Foundation keeps the first",
      json: #"{"UserDetailList":[{"UserName":"first","UserName":"last","UserId":"AIDA1","Arn":"arn:u"}]}"#,
      expected: .explained(.duplicateMembers)),
    KnownCase(
      name: "repeated member that changes the type that is read",
      json: #"{"UserDetailList":[{"UserName":"u","UserId":"AIDA1","Arn":"arn:u","Path":"/","Path":7}]}"#,
      expected: .explained(.duplicateMembers)),
    KnownCase(
      name: "canonically equivalent member names (KELVIN SIGN) are one name: refused",
      json: "{\"UserDetailList\":[{\(user),\"Tags\":[{\"Key\":\"a\",\"\u{212A}ey\":\"b\"}]}]}",
      expected: .explained(.duplicateMembers)),
    KnownCase(
      name: "repeated list of the export", json: #"{"UserDetailList":[],"UserDetailList":[]}"#,
      expected: .explained(.duplicateMembers)),
    KnownCase(
      name: "repeated member inside a member the decoder does not read",
      json: #"{"UserDetailList":[{"# + user + #","Extra":{"a":[{"b":1,"b":2}]}}]}"#,
      expected: .explained(.duplicateMembers)),
    KnownCase(
      name: "repeated member inside a policy document (object): kept as written",
      json: #"{"UserDetailList":[{"#
        + user
        + #","UserPolicyList":[{"PolicyName":"p","PolicyDocument":{"Statement":[{"Effect":"Allow","Action":"kms:*","Action":"ecr:GetObject","Resource":"*"}]}}]}]}"#,
      expected: .explained(.documentDuplicateKeys)),
    KnownCase(
      name: "repeated member inside a policy document (JSON string): kept as written",
      json:
        #"{"RoleDetailList":[{"RoleName":"r","RoleId":"AROA1","Arn":"arn:r","AssumeRolePolicyDocument":"{\"Version\":1,\"Version\":2}"}]}"#,
      expected: .explained(.documentDuplicateKeys)),
    KnownCase(
      name: "repeated member deep in a percent-encoded policy document: kept as written",
      json:
        #"{"Policies":[{"Arn":"arn:aws:iam::aws:policy/P","PolicyVersionList":[{"VersionId":"v1","Document":"%7B%22C%22:%7B%22S%22:%7B%22k%22:1,%22k%22:2%7D%7D%7D"}]}]}"#,
      expected: .explained(.documentDuplicateKeys)),
    KnownCase(
      name: "canonically equivalent names inside a policy document: kept as written",
      json: "{\"UserDetailList\":[{\(user),\"UserPolicyList\":[{\"PolicyName\":\"p\",\"PolicyDocument\":{\"Key\":1,\"\u{212A}ey\":2}}]}]}",
      expected: .explained(.documentDuplicateKeys)),
    KnownCase(
      name: "trailing comma in the export", json: #"{"UserDetailList":[],}"#, expected: .explained(.trailingComma)),
    KnownCase(
      name: "trailing comma inside a JSON-string document",
      json: #"{"UserDetailList":[{"#
        + user + #","UserPolicyList":[{"PolicyName":"p","PolicyDocument":"{\"Version\":\"2012-10-17\",}"}]}]}"#,
      expected: .explained(.trailingComma)),
    KnownCase(
      name: "invalid escape in an unknown member", json: #"{"Extra":"\q","UserDetailList":[]}"#,
      expected: .explained(.skippedInvalidJSON)),
    KnownCase(
      name: "lone surrogate in an unknown member", json: #"{"UserDetailList":[{"# + user + #","Note":"\ud800"}]}"#,
      expected: .explained(.skippedInvalidJSON)),
    KnownCase(
      name: "leading zero in a member groups do not read",
      json: #"{"GroupDetailList":[{"GroupName":"g","GroupId":"AGPA1","Arn":"arn:g","Tags":[01]}]}"#,
      expected: .explained(.skippedInvalidJSON)),
    KnownCase(
      name: "number beyond Double in a policy document",
      json: #"{"UserDetailList":[{"#
        + user + #","UserPolicyList":[{"PolicyName":"p","PolicyDocument":{"Version":"2012-10-17","N":1e400}}]}]}"#,
      expected: .explained(.numberBeyondDouble)),
    KnownCase(
      name: "number that underflows Double in a policy document",
      json: #"{"Policies":[{"Arn":"a","PolicyVersionList":[{"VersionId":"v1","Document":"%7B%22N%22:1e-400%7D"}]}]}"#,
      expected: .explained(.numberBeyondDouble)),
    KnownCase(
      name: "number beyond Double in an unknown member: JSONDecoder skips it, ours keeps it",
      json: #"{"Extra":-1e400}"#, expected: .bothDecoded),
    KnownCase(
      name: "the same user twice", json: "{\"UserDetailList\":[{\(user)},{\(user)}]}", expected: .explained(.duplicateIdentity)),
    KnownCase(
      name: "two inline policies of one name",
      json: "{\"UserDetailList\":[{\(user),\"UserPolicyList\":[{\"PolicyName\":\"p\",\"PolicyDocument\":\(document)},"
        + "{\"PolicyName\":\"p\",\"PolicyDocument\":\(document)}]}]}",
      expected: .explained(.duplicateIdentity)),
    KnownCase(
      name: "inline policy names equal only under canonical equivalence",
      json: "{\"UserDetailList\":[{\(user),\"UserPolicyList\":[{\"PolicyName\":\"\u{E9}\",\"PolicyDocument\":\(document)},"
        + "{\"PolicyName\":\"e\\u0301\",\"PolicyDocument\":\(document)}]}]}",
      expected: .explained(.duplicateIdentity)),
    KnownCase(
      name: "the same managed policy twice",
      json: #"{"Policies":[{"Arn":"arn:aws:iam::aws:policy/P","PolicyVersionList":[]},{"Arn":"arn:aws:iam::aws:policy/P"}]}"#,
      expected: .explained(.duplicateIdentity)),
    KnownCase(
      name: "AttachmentCount written 1.0", json: #"{"Policies":[{"Arn":"arn:aws:iam::aws:policy/P","AttachmentCount":1.0}]}"#,
      expected: .explained(.integerSpelledAsFraction)),
    KnownCase(
      name: "PermissionsBoundaryUsageCount written 1e2",
      json: #"{"Policies":[{"Arn":"arn:aws:iam::aws:policy/P","PermissionsBoundaryUsageCount":1e2}]}"#,
      expected: .explained(.integerSpelledAsFraction)),
    // Agreements worth pinning down for a rewrite.
    KnownCase(
      name: "member names match under canonical equivalence, on both sides",
      json: "{\"UserDetailList\":[{\(user),\"Tags\":[{\"\u{212A}ey\":\"k\"}]}]}", expected: .bothDecoded),
    KnownCase(
      name: "a byte order mark is accepted by both", json: "\u{FEFF}{\"UserDetailList\":[{\(user)}]}", expected: .bothDecoded),
    KnownCase(
      name: "members that groups do not read may hold anything",
      json: #"{"GroupDetailList":[{"GroupName":"g","GroupId":"AGPA1","Arn":"arn:g","Tags":7,"PermissionsBoundary":[]}]}"#,
      expected: .bothDecoded),
    KnownCase(
      name: "a boundary without an ARN is none, whatever its type says",
      json: #"{"RoleDetailList":[{"RoleName":"r","RoleId":"AROA1","Arn":"arn:r","PermissionsBoundary":{"PermissionsBoundaryType":5}}]}"#,
      expected: .bothDecoded),
    KnownCase(
      name: "invalid UTF-8 percent-decoded is refused by both",
      json: "{\"UserDetailList\":[{\(user),\"UserPolicyList\":[{\"PolicyName\":\"p\",\"PolicyDocument\":\"%7B%22a%22:%22%FF%22%7D\"}]}]}",
      expected: .bothRefused),
  ]

  @Test(arguments: knownCases)
  fileprivate func knownCaseIsClassified(_ known: KnownCase) {
    let outcome = Differential.run(Array(known.json.utf8))
    #expect(outcome.verdict == known.expected, "\(outcome.detail)")
  }

  /// A JSON-string document whose leading whitespace holds CR LF (a regression test: trimmed as
  /// `Character`s, CR LF is one grapheme equal to neither "\r" nor "\n", and such a document went
  /// down the percent-encoded path, its `%` signs decoded or refused).
  @Test(arguments: [
    ("CR LF before a plain JSON document", #"\r\n"# + document.replacingOccurrences(of: "\"", with: "\\\"")),
    (
      "CR LF before a plain JSON document holding %",
      #"\r\n{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"100%\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"#
    ),
    (
      "CR LF before a plain JSON document holding %41",
      #" \r\n{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"x%41\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"#
    ),
  ])
  func plainDocumentAfterCRLF(name: String, escapedDocument: String) {
    let json = "{\"UserDetailList\":[{\(Self.user),\"UserPolicyList\":[{\"PolicyName\":\"p\",\"PolicyDocument\":\"\(escapedDocument)\"}]}]}"
    let outcome = Differential.run(Array(json.utf8))
    #expect(outcome.verdict == .bothDecoded, "\(name): \(outcome.detail)")
  }

  /// The first 600 bytes of an input, for failure messages.
  fileprivate static func excerpt(_ bytes: [UInt8]) -> String {
    let head = String(decoding: bytes.prefix(600), as: UTF8.self)
    return "input (\(bytes.count) bytes): \(head.debugDescription)\(bytes.count > 600 ? "…" : "")"
  }
}
