import Crypto
import Foundation
import IAMEvidence
import Testing

// The differential of ``FoundationDecoderDifferentialTests``: runs ``SnapshotDecoder`` and the
// Foundation mirror (FoundationMirrors.swift) on one input and judges the outcome.

/// Why the two decoders may legitimately disagree. Each case has a predicate in
/// ``Differential/classify(_:_:_:)`` or ``Differential/run(_:)``; anything else is a bug in one of them.
enum Disagreement: String, CaseIterable, Sendable, Comparable {
  /// A member name repeats in one object of the export's own structure, outside the policy
  /// documents (or two names are equal as Swift strings, i.e. canonically equivalent): ours refuses
  /// the export (naming the path), `JSONDecoder` reads the first. Checked on the input: whenever its
  /// strict parse shows such a repeat, ours must refuse (an acceptance is unexplained).
  case duplicateMembers = "duplicate members"
  /// A member name repeats inside a policy document: ours keeps the document's text as written
  /// (hashed as written; every check then reports `duplicate-key`), Foundation reads one of the
  /// values. Checked exactly: such a document of ours parses to the source's own tree (repeats,
  /// order and number text included) and hashes to its text, and everything else agrees with
  /// Foundation reading the input with only the last of each repeated member.
  case documentDuplicateKeys = "duplicate members in a policy document"
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
enum Differential {
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
    if let root = input.strict, let repeated = Repeats.inStructure(root) {
      // A repeated member of the export itself: ours must refuse it, whatever Foundation does.
      switch (ours, reference) {
      case (.success(let mine), _):
        outcome = Outcome(verdict: .unexplained, detail: "ours accepted a member named twice at \(repeated)", ours: mine)
      case (.failure, .failure):
        outcome = Outcome(verdict: .bothRefused, detail: "both refused", ours: nil)
      case (.failure(let mine), .success):
        outcome = explained(
          .duplicateMembers, "ours refused (\(mine)) a member named twice at \(repeated); JSONDecoder reads the first", nil)
      }
    } else if let root = input.strict, let repaired = LastWins.repair(root) {
      // Repeated members inside policy documents only: ours keeps those documents as written. The
      // rest is judged against Foundation reading the input with only the last of each repeated
      // member kept, ours with those documents in their last-wins canonical form.
      let lastWinsReference = FoundationReference.decode(repaired)
      if case .success(let mine) = ours, let problem = verbatimProblem(mine, root) {
        outcome = Outcome(verdict: .unexplained, detail: problem, ours: mine)
      } else {
        outcome = classify(ours.map(LastWins.canonicalDocuments), lastWinsReference, input)
        switch outcome.verdict {
        case .unexplained:
          outcome.detail = "with repeated members resolved last-wins, " + outcome.detail
        case .bothDecoded:
          outcome = explained(.documentDuplicateKeys, "ours keeps each such document's text as written", try? ours.get())
        case .bothRefused, .explained:
          break
        }
      }
    } else {
      outcome = classify(ours, reference, input)
    }
    if case .failure(let error) = ours, let problem = errorShapeProblem(error) {
      outcome = Outcome(verdict: .unexplained, detail: "malformed error: \(problem) (\(error))", ours: nil)
    }
    return outcome
  }

  /// Each of our documents whose source repeats a member name keeps the source's text: it parses
  /// to exactly the source's tree (repeats, member order and number text included), says so
  /// (``PolicyDocumentText/hasDuplicateKey``) and is hashed as that text; no other document says so.
  static func verbatimProblem(_ ours: AuthorizationSnapshot, _ root: JSONValue) -> String? {
    var mine: [(String, PolicyDocumentText)] = []
    forEachDocument(ours) { path, document, _ in mine.append((path, document)) }
    let source = SourceDocuments.trees(root)
    guard mine.count == source.count else { return "ours has \(mine.count) documents, the source \(source.count)" }
    for ((path, document), tree) in zip(mine, source) {
      guard let tree else { return "\(path): ours accepted a document JSONParser refuses" }
      let repeats = !tree.duplicateKeys(limit: 1).isEmpty
      if document.hasDuplicateKey != repeats {
        return "\(path): the source \(repeats ? "repeats" : "does not repeat") a member name, ours says the opposite"
      }
      guard repeats else { continue }
      guard let parsed = try? JSONParser.parse(document.canonical), parsed == tree else {
        return "\(path): the document repeats a member name, but ours is not its text as written: \(document.canonical.prefix(200))"
      }
      if SHA256.hash(data: Array(document.canonical.utf8)).hexString != document.sha256 {
        return "\(path): the document kept as written is not hashed as its text"
      }
    }
    return nil
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
struct Fields {
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
enum NumberText {
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

// MARK: - Facts about an input

/// What a tolerant scan of an input (and of the policy documents held in its strings) finds.
struct LexicalFindings: OptionSet, Sendable {
  let rawValue: Int
  static let trailingComma = LexicalFindings(rawValue: 1)
  /// In a policy document, where `JSONDecoder` reads every number.
  static let numberBeyondDouble = LexicalFindings(rawValue: 2)
  static let integerWithFraction = LexicalFindings(rawValue: 4)
}

/// The members whose string values the decoder parses as policy documents.
let documentMembers: Set<String> = ["PolicyDocument", "Document", "AssumeRolePolicyDocument"]

/// A forgiving tokenizer: it never fails, and reports commas before `}` or `]`, numbers in policy
/// documents that `Double` cannot hold, and `AttachmentCount` / `PermissionsBoundaryUsageCount`
/// written with a fraction or exponent. A document member's string is scanned as JSON too (plain or
/// percent-decoded).
enum Lexical {
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

/// Where the export itself (outside its policy documents, as the decoder finds them) names a member
/// twice in one object (names compared as Swift strings, as the decoder compares them).
enum Repeats {
  /// The JSON path of the first repeated member outside the policy documents, nil when there is none.
  static func inStructure(_ root: JSONValue) -> String? {
    var steps: [String] = []
    return walk(root, &steps)
  }

  /// The members the decoder reads as policy documents: `(list, item list, member)` for inline
  /// policies and managed policy versions; `AssumeRolePolicyDocument` directly under a role.
  static func isDocument(_ steps: [String]) -> Bool {
    let inline = [("UserDetailList", "UserPolicyList"), ("GroupDetailList", "GroupPolicyList"), ("RoleDetailList", "RolePolicyList")]
    if steps.count == 5, steps[1].hasPrefix("["), steps[3].hasPrefix("[") {
      if steps[4] == "PolicyDocument", inline.contains(where: { $0.0 == steps[0] && $0.1 == steps[2] }) { return true }
      if steps[0] == "Policies", steps[2] == "PolicyVersionList", steps[4] == "Document" { return true }
    }
    return steps.count == 3 && steps[0] == "RoleDetailList" && steps[1].hasPrefix("[") && steps[2] == "AssumeRolePolicyDocument"
  }

  static func walk(_ value: JSONValue, _ steps: inout [String]) -> String? {
    if isDocument(steps) { return nil }
    switch value {
    case .object(let members):
      for (i, m) in members.enumerated() {
        if members[..<i].contains(where: { $0.key == m.key }) { return "$." + (steps + [m.key]).joined(separator: ".") }
        steps.append(m.key)
        defer { steps.removeLast() }
        if let found = walk(m.value, &steps) { return found }
      }
    case .array(let elements):
      for (i, e) in elements.enumerated() {
        steps.append("[\(i)]")
        defer { steps.removeLast() }
        if let found = walk(e, &steps) { return found }
      }
    default:
      break
    }
    return nil
  }
}

/// The input with only the last of each repeated member name kept (names compared as Swift
/// strings, as both decoders' lookups compare them), in policy documents held in strings too; nil
/// when nothing repeats or the input is not JSON. Written back with ``JSONWriter`` (numbers verbatim),
/// documents in their original encoding.
enum LastWins {
  /// `snapshot` with each document that repeats a member name (kept as written) in the canonical
  /// form of its last-wins reading, as the reference of the repaired input holds it.
  static func canonicalDocuments(_ snapshot: AuthorizationSnapshot) -> AuthorizationSnapshot {
    func fix(_ d: PolicyDocumentText) -> PolicyDocumentText {
      guard d.hasDuplicateKey else { return d }
      var changed = false
      return PolicyDocumentText(json: lastWins(d.json, embedded: true, &changed))
    }
    var s = snapshot
    for pi in s.principals.indices {
      s.principals[pi].trustPolicy = s.principals[pi].trustPolicy.map(fix)
      for ii in s.principals[pi].inlinePolicies.indices {
        s.principals[pi].inlinePolicies[ii].document = fix(s.principals[pi].inlinePolicies[ii].document)
      }
    }
    for mi in s.managedPolicies.indices {
      for vi in s.managedPolicies[mi].versions.indices {
        s.managedPolicies[mi].versions[vi].document = fix(s.managedPolicies[mi].versions[vi].document)
      }
    }
    return s
  }

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
enum SourceDocuments {
  static func collect(_ root: JSONValue) -> [Result<String, SourceError>] {
    trees(root).map { tree in
      guard let tree else { return .failure(SourceError("not a policy document JSONParser accepts")) }
      // Of repeated members only the last (names compared as Swift strings): what the last-wins
      // reference holds, and what ours is compared in (``LastWins/canonicalDocuments(_:)``).
      var changed = false
      return .success(PolicyDocumentText(json: LastWins.lastWins(tree, embedded: true, &changed)).sha256)
    }
  }

  /// The documents as trees (nil: not a document our strict parser accepts), repeated members kept.
  static func trees(_ root: JSONValue) -> [JSONValue?] {
    var out: [JSONValue?] = []
    for user in list(root, "UserDetailList") { inline(user, "UserPolicyList", &out) }
    for group in list(root, "GroupDetailList") { inline(group, "GroupPolicyList", &out) }
    for role in list(root, "RoleDetailList") {
      if let trust = role["AssumeRolePolicyDocument"], trust != .null { out.append(document(trust)) }
      inline(role, "RolePolicyList", &out)
    }
    for policy in list(root, "Policies") {
      for version in list(policy, "PolicyVersionList") { out.append(version["Document"].flatMap(document)) }
    }
    return out
  }

  struct SourceError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
  }

  static func list(_ value: JSONValue, _ key: String) -> [JSONValue] { value[key]?.arrayValue ?? [] }

  static func inline(_ principal: JSONValue, _ key: String, _ out: inout [JSONValue?]) {
    for item in list(principal, key) { out.append(item["PolicyDocument"].flatMap(document)) }
  }

  /// A document member's value as the decoder reads it: the object, or the JSON object a string holds
  /// (plain, or percent-encoded); nil when our strict parser refuses it or it is not an object.
  static func document(_ value: JSONValue) -> JSONValue? {
    var json = value
    if case .string(let s) = value {
      let trimmed = String(s.unicodeScalars.drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }))
      if trimmed.unicodeScalars.first == "{" {
        guard let parsed = try? JSONParser.parse(trimmed) else { return nil }
        json = parsed
      } else {
        guard let decoded = PercentEncoding.decode(s), let parsed = try? JSONParser.parse(decoded) else { return nil }
        json = parsed
      }
    }
    return json.objectValue == nil ? nil : json
  }
}

// MARK: - Counting

struct Tally {
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
