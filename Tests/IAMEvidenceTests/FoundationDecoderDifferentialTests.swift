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
    for category in [Disagreement.duplicateMembers, .duplicateIdentity, .integerSpelledAsFraction, .numberBeyondDouble] {
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
      name: "repeated member: Foundation keeps the first, ours the last",
      json: #"{"UserDetailList":[{"UserName":"first","UserName":"last","UserId":"AIDA1","Arn":"arn:u"}]}"#,
      expected: .explained(.duplicateMembers)),
    KnownCase(
      name: "repeated member changes the type that is read",
      json: #"{"UserDetailList":[{"UserName":"u","UserId":"AIDA1","Arn":"arn:u","Path":"/","Path":7}]}"#,
      expected: .explained(.duplicateMembers)),
    KnownCase(
      name: "canonically equivalent member names (KELVIN SIGN) are one key to both, first vs last",
      json: "{\"UserDetailList\":[{\(user),\"Tags\":[{\"Key\":\"a\",\"\u{212A}ey\":\"b\"}]}]}",
      expected: .explained(.duplicateMembers)),
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

// MARK: - The differential

/// Why the two decoders may legitimately disagree. Each case has a predicate in
/// ``Differential/classify(_:_:_:)`` or ``Differential/run(_:)``; anything else is a bug in one of them.
private enum Disagreement: String, CaseIterable, Sendable, Comparable {
  /// A member name repeats in one object (or two names are equal as Swift strings, i.e. canonically
  /// equivalent). Ours keeps the last, as AWS and `JSONSerialization` do; `JSONDecoder` the first.
  /// Checked by rewriting the input with only the last of each repeated member, where Foundation
  /// must then agree with ours exactly (so a decoder that switched to first-wins would be caught).
  case duplicateMembers = "duplicate members"
  /// `[1,]` or `{"a":1,}` in the export or in a policy document: RFC 8259 forbids the comma, ours
  /// refuses it, Foundation accepts it.
  case trailingComma = "trailing comma"
  /// `JSONDecoder` does not validate strings and numbers it never reads (invalid escapes, bad UTF-8,
  /// lone surrogates, control characters, leading zeros in unknown members); ours validates the whole
  /// file. Checked by Foundation's own strict `JSONSerialization` refusing the bytes.
  case skippedInvalidJSON = "invalid JSON where JSONDecoder does not look"
  /// Ours keeps number text verbatim; Foundation refuses numbers that overflow `Double` or underflow
  /// it to zero (`JSONDecoder` where it reads them, `JSONSerialization` anywhere).
  case numberBeyondDouble = "number beyond Double"
  /// Ours refuses a principal (type and ARN), an inline policy name of one principal, or a managed
  /// policy ARN that appears twice; Codable has no such rule. Checked on the reference result.
  case duplicateIdentity = "duplicate principal, inline policy name or managed policy"
  /// Ours refuses an ARN whose account field is not 12 digits, and a managed policy listing a
  /// `VersionId` twice; Codable has no such rule. Checked on the reference result.
  case invalidAccountOrVersion = "account id not 12 digits, or a version listed twice"
  /// `AttachmentCount` / `PermissionsBoundaryUsageCount` written `1.0` or `1e2`: `JSONDecoder` reads
  /// an `Int` from any integral number, ours wants an integer literal.
  case integerSpelledAsFraction = "integer written with a fraction or exponent"

  static func < (a: Disagreement, b: Disagreement) -> Bool { a.rawValue < b.rawValue }
}

/// Runs both decoders on one input and judges the outcome.
private enum Differential {
  enum Verdict: Equatable, Sendable {
    case bothDecoded
    case bothRefused
    case explained(Disagreement)
    case unexplained
  }

  struct Outcome {
    var verdict: Verdict
    /// What happened, for messages.
    var detail: String
    var ours: AuthorizationSnapshot?
    var principalCount: Int { ours?.principals.count ?? 0 }
  }

  static func run(_ bytes: [UInt8]) -> Outcome {
    let ours: Result<AuthorizationSnapshot, SnapshotDecodingError>
    do {
      ours = .success(try SnapshotDecoder(sourceName: FoundationDecoderDifferentialTests.sourceName).decode(bytes))
    } catch {
      ours = .failure(error)
    }
    let reference = FoundationReference.decode(bytes)
    let input = Lazy(bytes: bytes)
    var outcome: Outcome
    if let root = input.strict, let repaired = LastWins.repair(root) {
      // Repeated member names: ours keeps the last, JSONDecoder the first. Ours is judged against
      // Foundation reading the input with only the last of each repeated member kept.
      let lastWinsReference = FoundationReference.decode(repaired)
      outcome = classify(ours, lastWinsReference, input)
      switch outcome.verdict {
      case .unexplained:
        outcome.detail = "with repeated members resolved last-wins, " + outcome.detail
      case .bothDecoded, .bothRefused:
        if !sameOutcome(reference, lastWinsReference) {
          outcome = explained(.duplicateMembers, "JSONDecoder reads the first of repeated members", outcome.ours)
        }
      case .explained:
        break
      }
    } else {
      outcome = classify(ours, reference, input)
    }
    if case .failure(let error) = ours, let problem = errorShapeProblem(error) {
      outcome = Outcome(verdict: .unexplained, detail: "malformed error: \(problem) (\(error))", ours: nil)
    }
    return outcome
  }

  static func sameOutcome(
    _ a: Result<AuthorizationSnapshot, ReferenceError>, _ b: Result<AuthorizationSnapshot, ReferenceError>
  ) -> Bool {
    switch (a, b) {
    case (.failure, .failure): return true
    case (.success(let x), .success(let y)): return firstDifference(x, y) == nil
    default: return false
    }
  }

  /// Whatever ours accepts, our strict RFC 8259 parser accepts too (the file and every policy
  /// document: no trailing commas), and each of our documents hashes exactly as the parser's reading
  /// of its source does, number text included (which Codable cannot check).
  static func strictProblem(_ ours: AuthorizationSnapshot, _ input: Lazy) -> String? {
    guard let root = input.strict else { return "ours accepted bytes JSONParser refuses" }
    var mine: [(String, String)] = []
    forEachDocument(ours) { path, document, _ in mine.append((path, document.sha256)) }
    let source = SourceDocuments.collect(root)
    guard mine.count == source.count else { return "ours has \(mine.count) documents, the source \(source.count)" }
    for ((path, sha), expected) in zip(mine, source) {
      switch expected {
      case .failure(let why): return "\(path): ours accepted a document JSONParser refuses (\(why))"
      case .success(let exact) where exact != sha: return "\(path): sha256 \(sha), but the source document's is \(exact)"
      default: continue
      }
    }
    return nil
  }

  /// Facts about the input, computed only when a judgement needs them.
  final class Lazy {
    let bytes: [UInt8]
    init(bytes: [UInt8]) { self.bytes = bytes }
    lazy var lexical: LexicalFindings = Lexical.scan(bytes)
    /// The input as our strict RFC 8259 parser reads it (number text kept verbatim).
    lazy var strict: JSONValue? = try? JSONParser.parse(bytes)
    /// Foundation's strict parser accepts the bytes once numbers beyond `Double` are replaced by 0
    /// (it validates every value, keeps the last of repeated members, and accepts trailing commas).
    lazy var serializationAccepts: Bool = (try? JSONSerialization.jsonObject(with: Data(Lexical.neutralised(bytes)))) != nil
  }

  /// Our errors name the file, and a path made of `$`, `.Member` and `[index]` steps.
  static func errorShapeProblem(_ error: SnapshotDecodingError) -> String? {
    if error.file != FoundationDecoderDifferentialTests.sourceName { return "file is \(error.file.debugDescription)" }
    if error.message.isEmpty { return "empty message" }
    if error.description != "\(error.file): \(error.path): \(error.message)" { return "description is \(error.description)" }
    var rest = Substring(error.path)
    guard rest.first == "$" else { return "path does not start with $" }
    rest = rest.dropFirst()
    while let first = rest.first {
      if first == "." {
        let name = rest.dropFirst().prefix(while: { $0.isASCII && $0.isLetter })
        if name.isEmpty { return "empty member in path" }
        rest = rest.dropFirst(1 + name.count)
      } else if first == "[" {
        let digits = rest.dropFirst().prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty, rest.dropFirst(1 + digits.count).first == "]" else { return "bad index in path" }
        rest = rest.dropFirst(2 + digits.count)
      } else {
        return "unexpected \(first) in path"
      }
    }
    return nil
  }

  /// The verdict on one input. The predicates look at the input and at the reference result, not at
  /// our error messages or paths, which a rewrite may word differently.
  static func classify(
    _ ours: Result<AuthorizationSnapshot, SnapshotDecodingError>, _ reference: Result<AuthorizationSnapshot, ReferenceError>,
    _ input: Lazy
  ) -> Outcome {
    switch (ours, reference) {
    case (.success(let mine), _) where !input.serializationAccepts:
      // Ours must never accept bytes Foundation's strict parser refuses: JSONDecoder skipping a value
      // is no licence for us to.
      return Outcome(verdict: .unexplained, detail: "ours accepted bytes JSONSerialization refuses", ours: mine)

    case (.success(let mine), _) where strictProblem(mine, input) != nil:
      return Outcome(verdict: .unexplained, detail: strictProblem(mine, input) ?? "", ours: mine)

    case (.success(let mine), .success(let theirs)):
      if let violation = uniquenessViolation(theirs) ?? validityViolation(theirs) {
        return Outcome(verdict: .unexplained, detail: "ours accepted \(violation)", ours: mine)
      }
      if let problem = selfConsistencyProblem(mine) {
        return Outcome(verdict: .unexplained, detail: problem, ours: mine)
      }
      if let difference = firstDifference(mine, theirs) {
        return Outcome(verdict: .unexplained, detail: "both decoded, but \(difference)", ours: mine)
      }
      return Outcome(verdict: .bothDecoded, detail: "both decoded alike", ours: mine)

    case (.success(let mine), .failure(let theirs)):
      let why = "Foundation refused (\(theirs)) what ours accepted"
      if input.lexical.contains(.numberBeyondDouble) { return explained(.numberBeyondDouble, why, mine) }
      return Outcome(verdict: .unexplained, detail: why, ours: mine)

    case (.failure(let mine), .success(let theirs)):
      // Each of these makes refusing the input right, whatever error ours chose to report.
      let why = "ours refused (\(mine)) what Foundation accepted"
      if uniquenessViolation(theirs) != nil { return explained(.duplicateIdentity, why, nil) }
      if validityViolation(theirs) != nil { return explained(.invalidAccountOrVersion, why, nil) }
      if input.lexical.contains(.integerWithFraction) { return explained(.integerSpelledAsFraction, why, nil) }
      if !input.serializationAccepts { return explained(.skippedInvalidJSON, why, nil) }
      if input.lexical.contains(.trailingComma) { return explained(.trailingComma, why, nil) }
      return Outcome(verdict: .unexplained, detail: why, ours: nil)

    case (.failure, .failure):
      return Outcome(verdict: .bothRefused, detail: "both refused", ours: nil)
    }
  }

  static func explained(_ category: Disagreement, _ detail: String, _ ours: AuthorizationSnapshot?) -> Outcome {
    Outcome(verdict: .explained(category), detail: "\(category.rawValue): \(detail)", ours: ours)
  }

  /// The decoder's uniqueness rules, applied to the reference result (Swift `String` equality, as
  /// the decoder's sets and dictionaries use).
  static func uniquenessViolation(_ snapshot: AuthorizationSnapshot) -> String? {
    var principals = Set<String>()
    for p in snapshot.principals {
      if !principals.insert("\(p.type.rawValue) \(p.arn)").inserted { return "\(p.type.rawValue) \(p.arn) twice" }
      var names = Set<String>()
      for i in p.inlinePolicies where !names.insert(i.name).inserted { return "inline policy \(i.name) of \(p.arn) twice" }
    }
    var policies = Set<String>()
    for m in snapshot.managedPolicies where !policies.insert(m.arn).inserted { return "managed policy \(m.arn) twice" }
    return nil
  }

  /// The decoder's validity rules, applied to the reference result: 12-digit account ids in ARNs
  /// (where there is an account field) and each managed policy's versions listed once.
  static func validityViolation(_ snapshot: AuthorizationSnapshot) -> String? {
    func bad(_ arn: String) -> Bool {
      guard let account = ARN.account(of: arn) else { return false }
      return account.utf8.count != 12 || !account.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
    for p in snapshot.principals where bad(p.arn) { return "account id of \(p.arn)" }
    for m in snapshot.managedPolicies {
      if !m.isAWSManaged && bad(m.arn) { return "account id of \(m.arn)" }
      var versions = Set<String>()
      for v in m.versions where !versions.insert(v.versionId).inserted { return "version \(v.versionId) of \(m.arn) twice" }
    }
    return nil
  }

  /// Each of our documents must carry the canonical form and hash of its own `json`.
  static func selfConsistencyProblem(_ snapshot: AuthorizationSnapshot) -> String? {
    var problem: String?
    forEachDocument(snapshot) { path, document, _ in
      guard problem == nil else { return }
      let again = PolicyDocumentText(json: document.json)
      if again.canonical != document.canonical || again.sha256 != document.sha256 {
        problem = "\(path): stored canonical form or hash is not that of the stored JSON"
      }
      if document.json.objectValue == nil { problem = "\(path): document is \(document.json.kindDescription)" }
    }
    return problem
  }

  static func forEachDocument(
    _ snapshot: AuthorizationSnapshot, _ body: (String, PolicyDocumentText, DocumentEncoding?) -> Void
  ) {
    for (pi, p) in snapshot.principals.enumerated() {
      if let trust = p.trustPolicy { body("principals[\(pi)].trustPolicy", trust, nil) }
      for (ii, i) in p.inlinePolicies.enumerated() { body("principals[\(pi)].inlinePolicies[\(ii)]", i.document, i.encoding) }
    }
    for (mi, m) in snapshot.managedPolicies.enumerated() {
      for (vi, v) in m.versions.enumerated() { body("managedPolicies[\(mi)].versions[\(vi)]", v.document, v.encoding) }
    }
  }

  /// The first field where the two snapshots differ, as `field: ours …, Foundation …`.
  static func firstDifference(_ ours: AuthorizationSnapshot, _ theirs: AuthorizationSnapshot) -> String? {
    let a = Fields(ours, documentKey: Fields.ourDocumentKey)
    let b = Fields(theirs, documentKey: Fields.referenceDocumentKey)
    for (x, y) in zip(a.entries, b.entries) {
      // Strings compare by their UTF-8 bytes: Swift's `==` would equate canonically equivalent text.
      if !x.name.utf8.elementsEqual(y.name.utf8) {
        return "field \(x.name) in ours, \(y.name) in Foundation's"
      }
      if !x.value.utf8.elementsEqual(y.value.utf8) {
        return "\(x.name): ours \(x.value.debugDescription), Foundation \(y.value.debugDescription)"
      }
    }
    if a.entries.count != b.entries.count {
      let extra =
        a.entries.count > b.entries.count
        ? "ours has \(a.entries[b.entries.count].name)" : "Foundation has \(b.entries[a.entries.count].name)"
      return "different shapes: \(extra)"
    }
    return nil
  }
}

/// A snapshot flattened to (field, value) pairs in a fixed order, for comparison.
private struct Fields {
  var entries: [(name: String, value: String)] = []

  init(_ s: AuthorizationSnapshot, documentKey: (PolicyDocumentText) -> String) {
    add("principals.count", s.principals.count)
    for (pi, p) in s.principals.enumerated() {
      let at = "principals[\(pi)]"
      add("\(at).type", p.type.rawValue)
      add("\(at).id", p.id)
      add("\(at).name", p.name)
      add("\(at).arn", p.arn)
      add("\(at).path", p.path)
      add("\(at).createDate", p.createDate)
      add("\(at).inlinePolicies.count", p.inlinePolicies.count)
      for (ii, i) in p.inlinePolicies.enumerated() {
        add("\(at).inlinePolicies[\(ii)].name", i.name)
        add("\(at).inlinePolicies[\(ii)].encoding", i.encoding.rawValue)
        add("\(at).inlinePolicies[\(ii)].document", documentKey(i.document))
      }
      add("\(at).attachedPolicies.count", p.attachedPolicies.count)
      for (ai, a) in p.attachedPolicies.enumerated() {
        add("\(at).attachedPolicies[\(ai)].name", a.name)
        add("\(at).attachedPolicies[\(ai)].arn", a.arn)
      }
      add("\(at).groups.count", p.groups.count)
      for (gi, g) in p.groups.enumerated() { add("\(at).groups[\(gi)]", g) }
      add("\(at).permissionsBoundary", p.permissionsBoundary == nil ? "none" : "set")
      if let b = p.permissionsBoundary {
        add("\(at).permissionsBoundary.type", b.type)
        add("\(at).permissionsBoundary.arn", b.arn)
      }
      add("\(at).tags.count", p.tags.count)
      for (ti, t) in p.tags.enumerated() {
        add("\(at).tags[\(ti)].key", t.key)
        add("\(at).tags[\(ti)].value", t.value)
      }
      add("\(at).trustPolicy", p.trustPolicy.map(documentKey))
      add("\(at).instanceProfiles.count", p.instanceProfiles.count)
      for (ii, i) in p.instanceProfiles.enumerated() {
        add("\(at).instanceProfiles[\(ii)].name", i.name)
        add("\(at).instanceProfiles[\(ii)].id", i.id)
        add("\(at).instanceProfiles[\(ii)].arn", i.arn)
      }
      add("\(at).roleLastUsedDate", p.roleLastUsedDate)
      add("\(at).roleLastUsedRegion", p.roleLastUsedRegion)
    }
    add("managedPolicies.count", s.managedPolicies.count)
    for (mi, m) in s.managedPolicies.enumerated() {
      let at = "managedPolicies[\(mi)]"
      add("\(at).arn", m.arn)
      add("\(at).name", m.name)
      add("\(at).id", m.id)
      add("\(at).path", m.path)
      add("\(at).defaultVersionId", m.defaultVersionId)
      add("\(at).attachmentCount", m.attachmentCount.map(String.init))
      add("\(at).permissionsBoundaryUsageCount", m.permissionsBoundaryUsageCount.map(String.init))
      add("\(at).isAttachable", m.isAttachable.map(String.init))
      add("\(at).description", m.description)
      add("\(at).createDate", m.createDate)
      add("\(at).updateDate", m.updateDate)
      add("\(at).versions.count", m.versions.count)
      for (vi, v) in m.versions.enumerated() {
        add("\(at).versions[\(vi)].versionId", v.versionId)
        add("\(at).versions[\(vi)].isDefault", String(v.isDefault))
        add("\(at).versions[\(vi)].createDate", v.createDate)
        add("\(at).versions[\(vi)].encoding", v.encoding.rawValue)
        add("\(at).versions[\(vi)].document", documentKey(v.document))
      }
    }
    add("isTruncated", String(s.isTruncated))
    add("marker", s.marker)
  }

  mutating func add(_ name: String, _ value: String?) { entries.append((name, value.map { "\"\($0)\"" } ?? "nil")) }
  mutating func add(_ name: String, _ value: Int) { entries.append((name, String(value))) }
  mutating func add(_ name: String, _ value: Timestamp?) {
    entries.append((name, value.map { "\($0.epochSeconds)s .\($0.fraction) (\($0))" } ?? "nil"))
  }

  /// Our document: the hash of its canonical form with numbers rewritten as the `Double` they
  /// denote, and, when it holds no number, its own hash (which must then match Foundation's exactly).
  static func ourDocumentKey(_ d: PolicyDocumentText) -> String {
    guard NumberText.contains(d) else { return "sha256 \(d.sha256), exact" }
    return "sha256 \(PolicyDocumentText(json: NumberText.normalised(d.json)).sha256), numbers compared as Double"
  }

  /// Foundation's document: its numbers are already the `Double`s' text.
  static func referenceDocumentKey(_ d: PolicyDocumentText) -> String {
    "sha256 \(d.sha256), \(NumberText.contains(d) ? "numbers compared as Double" : "exact")"
  }
}

/// Number handling for comparison: Foundation yields a `Double`, ours the source text.
private enum NumberText {
  /// The text standing for a `Double` on both sides.
  static func text(_ d: Double) -> String { "\(d)" }

  /// Whether a document's canonical form (what is hashed: of repeated members only the last) holds
  /// a number: outside string literals, canonical JSON has only punctuation, literals and numbers.
  static func contains(_ document: PolicyDocumentText) -> Bool {
    var inString = false
    var escaped = false
    for b in document.canonical.utf8 {
      if inString {
        if escaped {
          escaped = false
        } else if b == UInt8(ascii: "\\") {
          escaped = true
        } else if b == UInt8(ascii: "\"") {
          inString = false
        }
      } else if b == UInt8(ascii: "\"") {
        inString = true
      } else if b == UInt8(ascii: "-") || (b >= 0x30 && b <= 0x39) {
        return true
      }
    }
    return false
  }

  static func normalised(_ value: JSONValue) -> JSONValue {
    switch value {
    case .number(let source): return .number(Double(source).map(text) ?? source)
    case .array(let elements): return .array(elements.map(normalised))
    case .object(let members): return .object(members.map { (key: $0.key, value: normalised($0.value)) })
    default: return value
    }
  }

  /// Whether Foundation can read `source` as a `Double`: finite, and not a non-zero value that
  /// underflows to zero.
  static func fitsDouble(_ source: some StringProtocol) -> Bool {
    guard let d = Double(String(source)) else { return true }
    if !d.isFinite { return false }
    let mantissa = source.prefix(while: { $0 != "e" && $0 != "E" })
    return d != 0 || !mantissa.contains(where: { $0 >= "1" && $0 <= "9" })
  }
}

// MARK: - Foundation's side

/// A reference decoding failure (Foundation's error, or a documented rule that refused a value).
private struct ReferenceError: Error, CustomStringConvertible {
  var path: String
  var message: String
  var description: String { "\(path): \(message)" }
}

/// Any member name.
private struct AnyKey: CodingKey {
  var stringValue: String
  var intValue: Int? { nil }
  init(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
}

/// A JSON value as `JSONDecoder` yields it. Numbers are `Double`s: Codable cannot hand out a number's
/// source text.
private indirect enum FoundationJSON: Decodable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([FoundationJSON])
  case object([String: FoundationJSON])

  /// Codable cannot ask what kind a value is; each wrong guess costs a thrown error, so the guesses
  /// go in order of frequency in policy documents.
  init(from decoder: any Decoder) throws {
    let single = try decoder.singleValueContainer()
    if single.decodeNil() {
      self = .null
    } else if let s = try? single.decode(String.self) {
      self = .string(s)
    } else if let object = try? decoder.container(keyedBy: AnyKey.self) {
      var members: [String: FoundationJSON] = [:]
      for key in object.allKeys { members[key.stringValue] = try object.decode(FoundationJSON.self, forKey: key) }
      self = .object(members)
    } else if var array = try? decoder.unkeyedContainer() {
      var elements: [FoundationJSON] = []
      while !array.isAtEnd { elements.append(try array.decode(FoundationJSON.self)) }
      self = .array(elements)
    } else if let b = try? single.decode(Bool.self) {
      self = .bool(b)
    } else {
      self = .number(try single.decode(Double.self))
    }
  }

  var jsonValue: JSONValue {
    switch self {
    case .null: return .null
    case .bool(let b): return .bool(b)
    case .number(let d): return .number(NumberText.text(d))
    case .string(let s): return .string(s)
    case .array(let elements): return .array(elements.map(\.jsonValue))
    case .object(let members): return .object(members.map { (key: $0.key, value: $0.value.jsonValue) })
    }
  }
}

/// The export's shape as Codable sees it (`Decodable`, the half of Codable that matters here): every
/// member ``SnapshotDecoder`` reads, nothing else.
private struct FoundationExport: Decodable {
  var users: [User]?
  var groups: [Group]?
  var roles: [Role]?
  var policies: [Policy]?
  var isTruncated: Bool?
  var marker: String?

  enum CodingKeys: String, CodingKey {
    case users = "UserDetailList", groups = "GroupDetailList", roles = "RoleDetailList", policies = "Policies"
    case isTruncated = "IsTruncated", marker = "Marker"
  }

  struct User: Decodable {
    var userId: String
    var userName: String
    var arn: String
    var path: String?
    var createDate: String?
    var userPolicyList: [Inline]?
    var groupList: [String]?
    var attachedManagedPolicies: [Attached]?
    var permissionsBoundary: Boundary?
    var tags: [Tag]?

    enum CodingKeys: String, CodingKey {
      case userId = "UserId", userName = "UserName", arn = "Arn", path = "Path", createDate = "CreateDate"
      case userPolicyList = "UserPolicyList", groupList = "GroupList", attachedManagedPolicies = "AttachedManagedPolicies"
      case permissionsBoundary = "PermissionsBoundary", tags = "Tags"
    }
  }

  /// Groups have no tags, boundary or trust policy: those members are not read.
  struct Group: Decodable {
    var groupId: String
    var groupName: String
    var arn: String
    var path: String?
    var createDate: String?
    var groupPolicyList: [Inline]?
    var attachedManagedPolicies: [Attached]?

    enum CodingKeys: String, CodingKey {
      case groupId = "GroupId", groupName = "GroupName", arn = "Arn", path = "Path", createDate = "CreateDate"
      case groupPolicyList = "GroupPolicyList", attachedManagedPolicies = "AttachedManagedPolicies"
    }
  }

  struct Role: Decodable {
    var roleId: String
    var roleName: String
    var arn: String
    var path: String?
    var createDate: String?
    var assumeRolePolicyDocument: FoundationJSON?
    var instanceProfileList: [InstanceProfile]?
    var rolePolicyList: [Inline]?
    var attachedManagedPolicies: [Attached]?
    var permissionsBoundary: Boundary?
    var tags: [Tag]?
    var roleLastUsed: RoleLastUsed?

    enum CodingKeys: String, CodingKey {
      case roleId = "RoleId", roleName = "RoleName", arn = "Arn", path = "Path", createDate = "CreateDate"
      case assumeRolePolicyDocument = "AssumeRolePolicyDocument", instanceProfileList = "InstanceProfileList"
      case rolePolicyList = "RolePolicyList", attachedManagedPolicies = "AttachedManagedPolicies"
      case permissionsBoundary = "PermissionsBoundary", tags = "Tags", roleLastUsed = "RoleLastUsed"
    }
  }

  /// `PolicyDocument` must be present (a `null` decodes to ``FoundationJSON/null`` and is refused later).
  struct Inline: Decodable {
    var policyName: String
    var policyDocument: FoundationJSON
    enum CodingKeys: String, CodingKey { case policyName = "PolicyName", policyDocument = "PolicyDocument" }
  }

  struct Attached: Decodable {
    var policyArn: String
    var policyName: String?
    enum CodingKeys: String, CodingKey { case policyArn = "PolicyArn", policyName = "PolicyName" }
  }

  /// Without a `PermissionsBoundaryArn` member there is no boundary, and the type is not looked at.
  struct Boundary: Decodable {
    var type: String?
    var arn: String?
    enum CodingKeys: String, CodingKey { case type = "PermissionsBoundaryType", arn = "PermissionsBoundaryArn" }

    init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      guard c.contains(.arn) else { return }
      type = try c.decodeIfPresent(String.self, forKey: .type)
      arn = try c.decode(String.self, forKey: .arn)
    }
  }

  struct Tag: Decodable {
    var key: String
    var value: String?
    enum CodingKeys: String, CodingKey { case key = "Key", value = "Value" }
  }

  struct InstanceProfile: Decodable {
    var name: String
    var id: String?
    var arn: String?
    enum CodingKeys: String, CodingKey { case name = "InstanceProfileName", id = "InstanceProfileId", arn = "Arn" }
  }

  struct RoleLastUsed: Decodable {
    var lastUsedDate: String?
    var region: String?
    enum CodingKeys: String, CodingKey { case lastUsedDate = "LastUsedDate", region = "Region" }
  }

  struct Policy: Decodable {
    var arn: String
    var policyName: String?
    var policyId: String?
    var path: String?
    var defaultVersionId: String?
    var attachmentCount: Int?
    var permissionsBoundaryUsageCount: Int?
    var isAttachable: Bool?
    var description: String?
    var createDate: String?
    var updateDate: String?
    var policyVersionList: [Version]?

    enum CodingKeys: String, CodingKey {
      case arn = "Arn", policyName = "PolicyName", policyId = "PolicyId", path = "Path", defaultVersionId = "DefaultVersionId"
      case attachmentCount = "AttachmentCount", permissionsBoundaryUsageCount = "PermissionsBoundaryUsageCount"
      case isAttachable = "IsAttachable", description = "Description", createDate = "CreateDate", updateDate = "UpdateDate"
      case policyVersionList = "PolicyVersionList"
    }
  }

  struct Version: Decodable {
    var document: FoundationJSON
    var versionId: String
    var isDefaultVersion: Bool?
    var createDate: String?
    enum CodingKeys: String, CodingKey {
      case document = "Document", versionId = "VersionId", isDefaultVersion = "IsDefaultVersion", createDate = "CreateDate"
    }
  }
}

/// Foundation's decoding mapped to an ``AuthorizationSnapshot`` with the decoder's documented rules
/// (but not its uniqueness rules, which ``Differential/uniquenessViolation(_:)`` applies).
private enum FoundationReference {
  static func decode(_ bytes: [UInt8]) -> Result<AuthorizationSnapshot, ReferenceError> {
    let export: FoundationExport
    do {
      export = try JSONDecoder().decode(FoundationExport.self, from: Data(bytes))
    } catch {
      return .failure(ReferenceError(path: "$", message: "JSONDecoder: \(error)"))
    }
    do {
      return .success(try snapshot(export))
    } catch let error as ReferenceError {
      return .failure(error)
    } catch {
      return .failure(ReferenceError(path: "$", message: "\(error)"))
    }
  }

  static func snapshot(_ export: FoundationExport) throws -> AuthorizationSnapshot {
    var principals: [Principal] = []
    for (i, u) in (export.users ?? []).enumerated() {
      let at = "$.UserDetailList[\(i)]"
      var p = Principal(type: .user, id: u.userId, name: u.userName, arn: u.arn, path: u.path)
      p.createDate = try date(u.createDate, "\(at).CreateDate")
      p.inlinePolicies = try inline(u.userPolicyList, "\(at).UserPolicyList")
      p.groups = u.groupList ?? []
      p.attachedPolicies = attached(u.attachedManagedPolicies)
      p.permissionsBoundary = boundary(u.permissionsBoundary)
      p.tags = tags(u.tags)
      principals.append(p)
    }
    for (i, g) in (export.groups ?? []).enumerated() {
      let at = "$.GroupDetailList[\(i)]"
      var p = Principal(type: .group, id: g.groupId, name: g.groupName, arn: g.arn, path: g.path)
      p.createDate = try date(g.createDate, "\(at).CreateDate")
      p.inlinePolicies = try inline(g.groupPolicyList, "\(at).GroupPolicyList")
      p.attachedPolicies = attached(g.attachedManagedPolicies)
      principals.append(p)
    }
    for (i, r) in (export.roles ?? []).enumerated() {
      let at = "$.RoleDetailList[\(i)]"
      var p = Principal(type: .role, id: r.roleId, name: r.roleName, arn: r.arn, path: r.path)
      p.createDate = try date(r.createDate, "\(at).CreateDate")
      if let trust = r.assumeRolePolicyDocument { p.trustPolicy = try document(trust, "\(at).AssumeRolePolicyDocument").0 }
      p.instanceProfiles = (r.instanceProfileList ?? []).map { InstanceProfile(name: $0.name, id: $0.id, arn: $0.arn) }
      p.inlinePolicies = try inline(r.rolePolicyList, "\(at).RolePolicyList")
      p.attachedPolicies = attached(r.attachedManagedPolicies)
      p.permissionsBoundary = boundary(r.permissionsBoundary)
      p.tags = tags(r.tags)
      if let last = r.roleLastUsed {
        p.roleLastUsedDate = try date(last.lastUsedDate, "\(at).RoleLastUsed.LastUsedDate")
        p.roleLastUsedRegion = last.region
      }
      principals.append(p)
    }
    var policies: [ManagedPolicy] = []
    for (i, m) in (export.policies ?? []).enumerated() {
      let at = "$.Policies[\(i)]"
      var versions: [PolicyVersion] = []
      for (vi, v) in (m.policyVersionList ?? []).enumerated() {
        let (text, encoding) = try document(v.document, "\(at).PolicyVersionList[\(vi)].Document")
        versions.append(
          PolicyVersion(
            versionId: v.versionId, isDefault: v.isDefaultVersion ?? false,
            createDate: try date(v.createDate, "\(at).PolicyVersionList[\(vi)].CreateDate"), document: text, encoding: encoding))
      }
      policies.append(
        ManagedPolicy(
          arn: m.arn, name: m.policyName ?? ARN.resourceName(of: m.arn), id: m.policyId, path: m.path,
          defaultVersionId: m.defaultVersionId, attachmentCount: m.attachmentCount,
          permissionsBoundaryUsageCount: m.permissionsBoundaryUsageCount, isAttachable: m.isAttachable,
          description: m.description, createDate: try date(m.createDate, "\(at).CreateDate"),
          updateDate: try date(m.updateDate, "\(at).UpdateDate"), versions: versions))
    }
    return AuthorizationSnapshot(
      principals: principals, managedPolicies: policies, isTruncated: export.isTruncated ?? false, marker: export.marker)
  }

  static func date(_ text: String?, _ path: String) throws -> Timestamp? {
    guard let text else { return nil }
    guard let t = Timestamp(parsing: text) else { throw ReferenceError(path: path, message: "not a date") }
    return t
  }

  static func inline(_ list: [FoundationExport.Inline]?, _ path: String) throws -> [InlinePolicy] {
    try (list ?? []).enumerated().map { i, item in
      let (text, encoding) = try document(item.policyDocument, "\(path)[\(i)].PolicyDocument")
      return InlinePolicy(name: item.policyName, document: text, encoding: encoding)
    }
  }

  static func attached(_ list: [FoundationExport.Attached]?) -> [AttachedPolicy] {
    (list ?? []).map { AttachedPolicy(name: $0.policyName ?? ARN.resourceName(of: $0.policyArn), arn: $0.policyArn) }
  }

  static func boundary(_ b: FoundationExport.Boundary?) -> PermissionsBoundary? {
    b?.arn.map { PermissionsBoundary(type: b?.type, arn: $0) }
  }

  static func tags(_ list: [FoundationExport.Tag]?) -> [IAMEvidence.Tag] {
    (list ?? []).map { IAMEvidence.Tag(key: $0.key, value: $0.value ?? "") }
  }

  /// A document is an object; or a string that, after leading JSON whitespace (space, LF, TAB, CR),
  /// starts with `{` and is plain JSON; or else percent-encoded JSON. Either string must hold an object.
  static func document(_ value: FoundationJSON, _ path: String) throws -> (PolicyDocumentText, DocumentEncoding) {
    switch value {
    case .object:
      return (PolicyDocumentText(json: value.jsonValue), .object)
    case .string(let s):
      let trimmed = String(s.unicodeScalars.drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }))
      if trimmed.unicodeScalars.first == "{" {
        return (try parseObject(Array(trimmed.utf8), path), .jsonString)
      }
      guard let decoded = PercentEncoding.decode(s) else { throw ReferenceError(path: path, message: "bad percent-encoding") }
      return (try parseObject(Array(decoded.utf8), path), .percentEncoded)
    default:
      throw ReferenceError(path: path, message: "not a policy document")
    }
  }

  static func parseObject(_ bytes: [UInt8], _ path: String) throws -> PolicyDocumentText {
    let json = try JSONDecoder().decode(FoundationJSON.self, from: Data(bytes))
    guard case .object = json else { throw ReferenceError(path: path, message: "document is not an object") }
    return PolicyDocumentText(json: json.jsonValue)
  }
}

// MARK: - Facts about an input

/// What a tolerant scan of an input (and of the policy documents held in its strings) finds.
private struct LexicalFindings: OptionSet, Sendable {
  let rawValue: Int
  static let trailingComma = LexicalFindings(rawValue: 1)
  /// In a policy document, where `JSONDecoder` reads every number.
  static let numberBeyondDouble = LexicalFindings(rawValue: 2)
  static let integerWithFraction = LexicalFindings(rawValue: 4)
}

/// The members whose string values the decoder parses as policy documents.
private let documentMembers: Set<String> = ["PolicyDocument", "Document", "AssumeRolePolicyDocument"]

/// A forgiving tokenizer: it never fails, and reports commas before `}` or `]`, numbers in policy
/// documents that `Double` cannot hold, and `AttachmentCount` / `PermissionsBoundaryUsageCount`
/// written with a fraction or exponent. A document member's string is scanned as JSON too (plain or
/// percent-decoded).
private enum Lexical {
  static func scan(_ b: [UInt8], embedded: Bool = false) -> LexicalFindings {
    var found: LexicalFindings = []
    var i = 0
    // The member whose value comes next (nil once that value has started).
    var member: String?
    // For each open object or array: whether it is (inside) a policy document.
    var inDocument: [Bool] = []
    func nextSignificant(_ from: Int) -> Int {
      var j = from
      while j < b.count, b[j] == 0x20 || b[j] == 0x0A || b[j] == 0x0D || b[j] == 0x09 { j += 1 }
      return j
    }
    while i < b.count {
      if b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 {
        i += 1
        continue
      }
      let valueOf = member
      member = nil
      switch b[i] {
      case UInt8(ascii: "\""):
        let (text, end) = string(b, from: i)
        let next = nextSignificant(end)
        i = end
        if valueOf == nil, next < b.count, b[next] == UInt8(ascii: ":") {
          member = text
          i = next + 1
          continue
        }
        if !embedded, let valueOf, documentMembers.contains(valueOf) { found.formUnion(document(text)) }
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        inDocument.append(embedded || (inDocument.last ?? false) || valueOf.map(documentMembers.contains) == true)
        i += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        if !inDocument.isEmpty { inDocument.removeLast() }
        i += 1
      case UInt8(ascii: ","):
        let next = nextSignificant(i + 1)
        if next < b.count, b[next] == UInt8(ascii: "}") || b[next] == UInt8(ascii: "]") { found.insert(.trailingComma) }
        i += 1
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        let start = i
        while i < b.count,
          b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: ".")
            || b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") || (b[i] >= 0x30 && b[i] <= 0x39)
        {
          i += 1
        }
        let text = String(decoding: b[start..<i], as: UTF8.self)
        if embedded || inDocument.last == true, !NumberText.fitsDouble(text) { found.insert(.numberBeyondDouble) }
        if !embedded, valueOf == "AttachmentCount" || valueOf == "PermissionsBoundaryUsageCount", Int(text) == nil,
          let value = Double(text), value == value.rounded(), abs(value) < 9e18
        {
          found.insert(.integerWithFraction)
        }
      default:
        i += 1
      }
    }
    return found
  }

  /// The input with every number `Double` cannot hold replaced by `0` (strings left alone).
  static func neutralised(_ b: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(b.count)
    var i = 0
    while i < b.count {
      let c = b[i]
      if c == UInt8(ascii: "\"") {
        let end = stringEnd(b, from: i)
        out.append(contentsOf: b[i..<end])
        i = end
      } else if c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) {
        let start = i
        while i < b.count,
          b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: ".")
            || b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") || (b[i] >= 0x30 && b[i] <= 0x39)
        {
          i += 1
        }
        let token = b[start..<i]
        if NumberText.fitsDouble(String(decoding: token, as: UTF8.self)) {
          out.append(contentsOf: token)
        } else {
          out.append(UInt8(ascii: "0"))
        }
      } else {
        out.append(c)
        i += 1
      }
    }
    return out
  }

  /// A document member's string: scan its JSON, plain or percent-decoded.
  static func document(_ text: String) -> LexicalFindings {
    let trimmed = text.unicodeScalars.drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
    if trimmed.first == "{" { return scan(Array(String(trimmed).utf8), embedded: true) }
    guard let decoded = PercentEncoding.decodeBytes(text) else { return [] }
    return scan(decoded, embedded: true)
  }

  /// The index after the string literal starting at `from` (a quote).
  static func stringEnd(_ b: [UInt8], from: Int) -> Int {
    var i = from + 1
    while i < b.count, b[i] != UInt8(ascii: "\"") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
    return min(i + 1, b.count)
  }

  /// The string literal starting at `from` (a quote), unescaped leniently, and the index after it.
  static func string(_ b: [UInt8], from: Int) -> (String, Int) {
    var out: [UInt8] = []
    var i = from + 1
    var pendingHigh: UInt32?
    func append(_ scalar: UInt32) {
      out.append(contentsOf: Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
    }
    func hex4(_ at: Int) -> UInt32? {
      guard at + 4 <= b.count else { return nil }
      return UInt32(String(decoding: b[at..<at + 4], as: UTF8.self), radix: 16)
    }
    while i < b.count, b[i] != UInt8(ascii: "\"") {
      if b[i] == UInt8(ascii: "\\"), i + 1 < b.count {
        let e = b[i + 1]
        if e == UInt8(ascii: "u"), let code = hex4(i + 2) {
          if (0xD800..<0xDC00).contains(code) {
            if pendingHigh != nil { append(0xFFFD) }
            pendingHigh = code
          } else if (0xDC00..<0xE000).contains(code), let high = pendingHigh {
            append(0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00))
            pendingHigh = nil
          } else {
            if pendingHigh != nil { append(0xFFFD) }
            pendingHigh = nil
            append(code)
          }
          i += 6
          continue
        }
        if pendingHigh != nil { append(0xFFFD) }
        pendingHigh = nil
        let map: [UInt8: UInt8] = [0x62: 0x08, 0x66: 0x0C, 0x6E: 0x0A, 0x72: 0x0D, 0x74: 0x09]
        out.append(map[e] ?? e)
        i += 2
      } else {
        if pendingHigh != nil { append(0xFFFD) }
        pendingHigh = nil
        out.append(b[i])
        i += 1
      }
    }
    if pendingHigh != nil { append(0xFFFD) }
    return (String(decoding: out, as: UTF8.self), min(i + 1, b.count))
  }
}

/// The input with only the last of each repeated member name kept (names compared as Swift
/// strings, as both decoders' lookups compare them), in policy documents held in strings too; nil
/// when nothing repeats or the input is not JSON. Written back with ``JSONWriter`` (numbers verbatim),
/// documents in their original encoding.
private enum LastWins {
  static func repair(_ root: JSONValue) -> [UInt8]? {
    var changed = false
    let repaired = lastWins(root, embedded: false, &changed)
    return changed ? JSONWriter.canonicalBytes(repaired) : nil
  }

  static func lastWins(_ value: JSONValue, embedded: Bool, _ changed: inout Bool) -> JSONValue {
    switch value {
    case .object(let members):
      var kept: [(key: String, value: JSONValue)] = []
      for m in members {
        if let earlier = kept.firstIndex(where: { $0.key == m.key }) {
          kept.remove(at: earlier)
          changed = true
        }
        if !embedded, documentMembers.contains(m.key), case .string(let text) = m.value {
          kept.append((m.key, .string(document(text, &changed))))
        } else {
          kept.append((m.key, lastWins(m.value, embedded: embedded, &changed)))
        }
      }
      return .object(kept)
    case .array(let elements):
      return .array(elements.map { lastWins($0, embedded: embedded, &changed) })
    default:
      return value
    }
  }

  /// A document member's string with repeated members in its JSON, repaired; as is otherwise.
  static func document(_ s: String, _ changed: inout Bool) -> String {
    var inner = false
    let first = s.utf8.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x09 && $0 != 0x0D }
    if first == UInt8(ascii: "{") {
      let trimmed = s.utf8.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }
      guard let json = try? JSONParser.parse(trimmed), json.objectValue != nil else { return s }
      let repaired = lastWins(json, embedded: true, &inner)
      guard inner else { return s }
      changed = true
      return JSONWriter.canonical(repaired)
    }
    guard let decoded = PercentEncoding.decode(s), let json = try? JSONParser.parse(decoded), json.objectValue != nil else { return s }
    let repaired = lastWins(json, embedded: true, &inner)
    guard inner else { return s }
    changed = true
    return PercentEncoding.encode(JSONWriter.canonical(repaired))
  }
}

/// The policy documents of a parsed input, in the order ``Differential/forEachDocument(_:_:)``
/// visits ours, each as the SHA-256 of its canonical form (number text verbatim) or why our strict
/// parser refuses it. Lists and members are read as the decoder reads them (the last of repeated
/// members, `null` lists empty).
private enum SourceDocuments {
  static func collect(_ root: JSONValue) -> [Result<String, SourceError>] {
    var out: [Result<String, SourceError>] = []
    for user in list(root, "UserDetailList") { inline(user, "UserPolicyList", &out) }
    for group in list(root, "GroupDetailList") { inline(group, "GroupPolicyList", &out) }
    for role in list(root, "RoleDetailList") {
      if let trust = role["AssumeRolePolicyDocument"], trust != .null { out.append(document(trust)) }
      inline(role, "RolePolicyList", &out)
    }
    for policy in list(root, "Policies") {
      for version in list(policy, "PolicyVersionList") { out.append(version["Document"].map(document) ?? .failure(SourceError("none"))) }
    }
    return out
  }

  struct SourceError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
  }

  static func list(_ value: JSONValue, _ key: String) -> [JSONValue] { value[key]?.arrayValue ?? [] }

  static func inline(_ principal: JSONValue, _ key: String, _ out: inout [Result<String, SourceError>]) {
    for item in list(principal, key) { out.append(item["PolicyDocument"].map(document) ?? .failure(SourceError("none"))) }
  }

  static func document(_ value: JSONValue) -> Result<String, SourceError> {
    var json = value
    if case .string(let s) = value {
      let trimmed = String(s.unicodeScalars.drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }))
      do {
        if trimmed.unicodeScalars.first == "{" {
          json = try JSONParser.parse(trimmed)
        } else if let decoded = PercentEncoding.decode(s) {
          json = try JSONParser.parse(decoded)
        } else {
          return .failure(SourceError("bad percent-encoding"))
        }
      } catch {
        return .failure(SourceError(error.description))
      }
    }
    guard json.objectValue != nil else { return .failure(SourceError("not an object")) }
    return .success(PolicyDocumentText(json: json).sha256)
  }
}

// MARK: - Counting

private struct Tally {
  var cases = 0
  var bothDecoded = 0
  var bothRefused = 0
  var categories: [Disagreement: Int] = [:]
  var principals = 0
  var documents = 0
  var documentsWithNumbers = 0
  var encodings = Set<DocumentEncoding>()
  var principalTypes = Set<PrincipalType>()

  mutating func add(_ outcome: Differential.Outcome) {
    cases += 1
    switch outcome.verdict {
    case .bothDecoded: bothDecoded += 1
    case .bothRefused: bothRefused += 1
    case .explained(let category): categories[category, default: 0] += 1
    case .unexplained: break
    }
    guard outcome.verdict == .bothDecoded, let snapshot = outcome.ours else { return }
    principals += snapshot.principals.count
    principalTypes.formUnion(snapshot.principals.map(\.type))
    Differential.forEachDocument(snapshot) { _, document, encoding in
      documents += 1
      if NumberText.contains(document) { documentsWithNumbers += 1 }
      if let encoding { encodings.insert(encoding) }
    }
  }

  var summary: String {
    let explained = categories.sorted { $0.key < $1.key }.map { "\($0.key.rawValue): \($0.value)" }
    return "\(cases) cases, \(bothDecoded) both decoded, \(bothRefused) both refused; explained: "
      + (explained.isEmpty ? "none" : explained.joined(separator: ", "))
      + "; \(principals) principals, \(documents) documents (\(documentsWithNumbers) with numbers)"
  }
}

// MARK: - Generating exports

/// A JSON tree as the generator builds it: members in order, numbers as text.
private indirect enum Gen {
  case object([(String, Gen)])
  case array([Gen])
  case string(String)
  case number(String)
  case bool(Bool)
  case null
}

/// Builds random but valid exports and writes them in a random style.
private final class ExportGenerator {
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

// MARK: - Damaging inputs

private enum Mutator {
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
