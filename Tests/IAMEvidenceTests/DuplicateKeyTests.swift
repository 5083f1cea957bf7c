import Crypto
import Foundation
import SQLiteDB
import Testing

@testable import IAMEvidence

/// Issue 14, "Duplicate JSON keys": `"Action":"kms:*","Action":"ecr:GetObject"` used to keep the last
/// value silently, and the `kms:*` grant vanished from the evidence. A policy document that names a
/// member twice is stored as written and every check on it is an `error` noted `duplicate-key`; a
/// repeated member of the export's own structure is refused with its JSON path.
@Suite(.temporaryDirectories) struct DuplicateKeyTests {
  /// One document per encoding, each with its own `Sid` (three rows of `documents`), written with
  /// whitespace so that "as written" and "canonical" differ.
  static func documentText(_ sid: String) -> String {
    #"{ "Version": "2012-10-17", "Statement": [ { "Sid": "\#(sid)", "Effect": "Allow", "Action": "kms:*", "Action": "ecr:GetObject", "Resource": "*" } ] }"#
  }

  static let conditionText =
    #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1","aws:SourceVpc":"vpc-2"}}}}"#

  /// An export with one user per document encoding, a role whose inline document repeats a name deep
  /// in a Condition, and a customer-managed policy (attached to the role) whose default version
  /// repeats `Action` too; `clean` has an ordinary document.
  static func export() -> String {
    func user(_ name: String, _ document: String) -> String {
      #"{"UserName":"\#(name)","UserId":"AIDA\#(name.uppercased())","Arn":"arn:aws:iam::123456789012:user/\#(name)","UserPolicyList":[{"PolicyName":"p-\#(name)","PolicyDocument":\#(document)}]}"#
    }
    let managed = documentText("managed")
    return """
      {"UserDetailList":[
        \(user("object", documentText("object"))),
        \(user("percent", "\"" + PercentEncoding.encode(documentText("percent")) + "\"")),
        \(user("string", JSONWriter.quoted(documentText("string")))),
        \(user("clean", #"{"Statement":[{"Resource":"*","Action":"s3:GetObject","Effect":"Allow"}],"Version":"2012-10-17"}"#))
      ],
      "RoleDetailList":[{"RoleName":"deep","RoleId":"AROADEEP","Arn":"arn:aws:iam::123456789012:role/deep",
        "RolePolicyList":[{"PolicyName":"p-deep","PolicyDocument":\(conditionText)}],
        "AttachedManagedPolicies":[{"PolicyName":"dup-managed","PolicyArn":"arn:aws:iam::123456789012:policy/dup-managed"}]}],
      "Policies":[{"PolicyName":"dup-managed","Arn":"arn:aws:iam::123456789012:policy/dup-managed","DefaultVersionId":"v1",
        "PolicyVersionList":[{"VersionId":"v1","IsDefaultVersion":true,"Document":\(JSONWriter.quoted(managed))}]}]}
      """
  }

  /// The texts as written, by the SHA-256 they must be stored under.
  static var verbatim: [String: String] {
    var texts: [String: String] = [:]
    for text in ["object", "percent", "string", "managed"].map(documentText) + [conditionText] {
      texts[SHA256.hash(data: Array(text.utf8)).hexString] = text
    }
    return texts
  }

  // MARK: Decoding

  @Test(arguments: ["object", "percent", "string"])
  func aRepeatedNameKeepsTheDocumentAsWritten(encoding: String) throws {
    let snapshot = try SnapshotDecoder(sourceName: "dup.json").decode(Array(Self.export().utf8))
    let policy = try #require(snapshot.principals.first { $0.name == encoding }?.inlinePolicies.first)
    let text = Self.documentText(encoding)
    #expect(policy.document.canonical == text)
    #expect(policy.document.sha256 == SHA256.hash(data: Array(text.utf8)).hexString)
    #expect(policy.document.hasDuplicateKey)
    // Both values are there to be seen: nothing was dropped.
    let statement = try #require(policy.document.json["Statement"]?.arrayValue?.first?.objectValue)
    #expect(statement.filter { $0.key == "Action" }.map(\.value) == [.string("kms:*"), .string("ecr:GetObject")])
  }

  @Test func anOrdinaryDocumentIsStillCanonical() throws {
    let snapshot = try SnapshotDecoder(sourceName: "dup.json").decode(Array(Self.export().utf8))
    let document = try #require(snapshot.principals.first { $0.name == "clean" }?.inlinePolicies.first?.document)
    #expect(document.canonical == #"{"Statement":[{"Action":"s3:GetObject","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#)
    #expect(!document.hasDuplicateKey)
  }

  /// The transcoder flags exactly the values the tree walk finds repeats in (names compared decoded,
  /// canonically equivalent names included), and the walk names the path the parser refuses.
  @Test(
    arguments: [
      (#"{"a":1,"b":2}"#, nil),
      (#"{"b":1,"a":{"x":[{"k":1},{"k":2}]}}"#, nil),
      (#"{"a":1,"a":2}"#, "$.a"),
      (#"{"z":[{"c":{"d":true,"d":false}}],"a":0}"#, "$.z[0].c.d"),
      (#"{"Action":"kms:*","\u0041ction":"ecr:GetObject"}"#, "$.Action"),
      ("{\"Key\":1,\"\u{212A}ey\":2}", "$.\u{212A}ey"),
      ("{\"\u{212A}ey\":1,\"Key\":2}", "$.Key"),
    ] as [(String, String?)])
  func theTranscoderTheTreeAndTheParserAgreeOnRepeats(text: String, path: String?) throws {
    let bytes = Array(text.utf8)
    let flagged = try bytes.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in
      var t = CanonicalTranscoder(buffer)
      _ = try t.document()
      return t.foundDuplicateKey
    }
    #expect(flagged == (path != nil))
    let tree = try JSONParser.parse(bytes)
    #expect(tree.duplicateKeys().first?.path == path)
    if let path {
      let error = try #require(throws: JSONSyntaxError.self) { try JSONParser.parse(bytes, rejectDuplicateKeys: true) }
      #expect(error.path == path)
    }
  }

  // MARK: The export's own structure

  static let user = #""UserName":"u","UserId":"AIDAU","Arn":"arn:aws:iam::123456789012:user/u""#

  static let structuralRepeats: [(json: String, path: String)] = {
    let u: String = user
    var cases: [(json: String, path: String)] = []
    cases.append((#"{"UserDetailList":[{"UserName":"a","# + u + "}]}", "$.UserDetailList[0].UserName"))
    cases.append((#"{"UserDetailList":[],"GroupDetailList":[],"UserDetailList":[{"# + u + "}]}", "$.UserDetailList"))
    cases.append(
      (
        #"{"UserDetailList":[{"# + u + #","UserPolicyList":[{"PolicyName":"a","PolicyName":"b","PolicyDocument":{"Statement":[]}}]}]}"#,
        "$.UserDetailList[0].UserPolicyList[0].PolicyName"
      ))
    cases.append((#"{"UserDetailList":[{"# + u + #","Tags":[{"Key":"k","Value":"1","Value":"2"}]}]}"#, "$.UserDetailList[0].Tags[0].Value"))
    cases.append(
      (
        #"{"Policies":[{"Arn":"arn:aws:iam::aws:policy/P","PolicyVersionList":[{"VersionId":"v1","Document":{},"IsDefaultVersion":true,"IsDefaultVersion":false}]}]}"#,
        "$.Policies[0].PolicyVersionList[0].IsDefaultVersion"
      ))
    cases.append((#"{"IsTruncated":false,"IsTruncated":true}"#, "$.IsTruncated"))
    // Inside a member the decoder does not read: the member's path (the line and column say where).
    cases.append((#"{"UserDetailList":[{"# + u + #","Extra":{"a":[{"b":1,"b":2}]}}]}"#, "$.UserDetailList[0].Extra"))
    // A name that is not a plain word is named in the message, at its object's path.
    cases.append((#"{"UserDetailList":[{"# + u + #","x y":1,"x y":2}]}"#, "$.UserDetailList[0]"))
    return cases
  }()

  @Test(arguments: structuralRepeats)
  func aRepeatedMemberOfTheExportIsRefusedWithItsPath(json: String, path: String) throws {
    let error = try #require(throws: SnapshotDecodingError.self) { try SnapshotDecoder(sourceName: "dup.json").decode(Array(json.utf8)) }
    #expect(error.file == "dup.json")
    #expect(error.path == path, "\(error)")
    #expect(error.message.contains("twice"), "\(error)")
  }

  @Test func ingestRefusesARepeatedMemberOfTheExportAndWritesNothing() throws {
    let dir = try TestSupport.temporaryDirectory()
    let file = dir.appendingPathComponent("two-names.json")
    try Data(
      #"{"UserDetailList":[{"UserName":"first","UserName":"second","UserId":"AIDA1","Arn":"arn:aws:iam::123456789012:user/x"}]}"#.utf8
    )
    .write(to: file)
    let run = try TestSupport.run(["ingest", "--db", "e.sqlite", "--captured-at", "2024-06-30T00:00:00Z", "two-names.json"], cwd: dir)
    #expect(run.status == 2)
    #expect(run.stderr.contains("two-names.json: $.UserDetailList[0].UserName: member \"UserName\" appears twice"), "\(run.stderr)")
    let store = try EvidenceStore(path: dir.appendingPathComponent("e.sqlite").path, create: true, now: TestSupport.fixedNow)
    #expect(try store.count("SELECT count(*) FROM snapshots") == 0)
    #expect(try store.count("SELECT count(*) FROM documents") == 0)
  }

  // MARK: Checks

  /// Checks that judge what identity-policy documents say (a target of actions): `user-direct-policies`
  /// judges that a policy is attached to a user, whatever it says, so a repeated name does not concern it.
  static let contentChecks = Set(CheckCatalog.all.map(\.description).filter { $0.target != nil }.map(\.id))

  /// Every result of a check that reads documents on a document that repeats a name, and every
  /// identity holding only such documents, is an error noted `duplicate-key` with the name and its
  /// path; each such check of the catalog gives at least one such result.
  static func expectDuplicateKeyErrors(_ results: [CheckResult], _ comment: String) {
    let shas = Set(verbatim.keys)
    var concerned = Set<String>()
    for r in results where contentChecks.contains(r.checkID) {
      let onDocument = r.policy.map { shas.contains($0.documentSHA256) } ?? false
      let identity = r.policy == nil && ["object", "percent", "string", "deep"].contains(r.principal?.name ?? "")
      guard onDocument || identity else { continue }
      concerned.insert(r.checkID)
      #expect(r.status == .error, "\(comment): \(r.checkID) \(r.principal?.name ?? "") \(r.policy?.name ?? ""): \(r.status)")
      let messages = r.notes.filter { $0.code == "duplicate-key" }.map(\.message)
      let action = #""Action" at $.Statement[0].Action"#
      let condition = #""aws:SourceVpc" at $.Statement.Condition.StringEquals.aws:SourceVpc"#
      // The role holds both documents of its own: its identity result names both repeats.
      let expected: [String] =
        switch (r.principal?.name, r.policy?.kind) {
        case ("deep", .inline?): [condition]
        case ("deep", nil): [condition, action]
        default: [action]
        }
      for text in expected {
        #expect(messages.contains { $0.contains(text) }, "\(comment): \(r.checkID) \(r.principal?.name ?? ""): \(messages)")
      }
      #expect(r.statements.isEmpty && r.offendingStatements.isEmpty && r.reasons.isEmpty)
    }
    #expect(concerned == contentChecks, "\(comment): checks with such results \(concerned.sorted())")
    // The others judge attachments, trust policies (their own repeated-name rule) or other checks' results.
    #expect(
      Set(CheckCatalog.all.map(\.description.id)).subtracting(contentChecks) == [
        "user-direct-policies", "role-trust-public", "role-trust-oidc-unrestricted", "privileged-role-unused",
      ])
  }

  @Test func everyCheckOnSuchADocumentIsAnErrorNotedDuplicateKey() throws {
    let snapshot = try SnapshotDecoder(sourceName: "dup.json").decode(Array(Self.export().utf8))
    let outcome = Assessor.assess(snapshot, capturedAt: TestSupport.fixedNow)
    Self.expectDuplicateKeyErrors(outcome.results, "decoded")
    // The clean user is judged as before.
    #expect(
      outcome.results.filter { $0.principal?.name == "clean" && Self.contentChecks.contains($0.checkID) }.allSatisfy { $0.status == .pass })
    // A repeated name does not hide that a policy is attached to a user directly.
    #expect(
      outcome.results.filter { $0.checkID == "user-direct-policies" && ["object", "percent", "string"].contains($0.principal?.name ?? "") }
        .allSatisfy { $0.status == .fail })
  }

  /// The `kms:*` hidden behind a repeated `Action` must not let an identity pass on what its other
  /// policies grant: it is an error unless the others grant full access on their own (then it fails,
  /// whatever the hidden grant was).
  @Test func anIdentityHoldingSuchADocumentNeverPasses() throws {
    let hidden = try Synth.inline("hidden", Self.documentText("hidden"))
    let decrypt = try Synth.inline("decrypt", #"{"Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}"#)
    let admin = try Synth.inline("admin", #"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#)
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("partial", inline: [hidden, decrypt]), Synth.user("alone", inline: [hidden]),
        Synth.user("full", inline: [hidden, admin]),
      ],
      managedPolicies: [])
    let identity = Assessor.assess(snapshot, capturedAt: TestSupport.fixedNow).results.with(check: "kms-full-access-identity")
    func result(_ name: String) throws -> CheckResult { try #require(identity.first { $0.principal?.name == name }) }
    for name in ["partial", "alone"] {
      let r = try result(name)
      #expect(r.status == .error && r.hasNote("duplicate-key") && r.hasNote("source-invalid"), "\(name): \(r.status) \(r.noteCodes)")
    }
    let full = try result("full")
    #expect(full.status == .fail && full.hasNote("source-invalid"), "\(full.noteCodes)")
  }

  @Test func bothEnginesSeeADocumentThatRepeatsANameAsInvalid() throws {
    let json = try JSONParser.parse(Self.documentText("x"))
    let evaluation = KMSPolicyEvaluator().evaluateFullKMSAccess(json)
    #expect(evaluation.verdict.isInvalid)
    #expect(evaluation.verdict.errors.map(\.kind) == [.duplicateKey])
    #expect(evaluation.verdict.errors.first?.path == "$.Statement[0].Action")
    #expect(evaluation.verdict.errors.first?.statementIndex == 0)
    let analysis = PolicyEngine().analyse(json)
    #expect(!analysis.isValid && analysis.errors.map(\.kind) == [.duplicateKey])
    // Only the repeats are reported: the grammar is not judged on one of the values.
    let both = try JSONParser.parse(#"{"Statement":{"Effect":"allow","Effect":"Allow","Action":"*","Resource":"*"},"Bogus":1}"#)
    guard case .failure(let errors) = PolicyDocument.parse(both) else {
      Issue.record("a document with a repeated name parsed")
      return
    }
    #expect(errors.errors.map(\.kind) == [.duplicateKey])
    #expect(errors.errors.map(\.path) == ["$.Statement.Effect"])
  }

  // MARK: Through the store and the CLI

  @Test func storedAsWrittenShownByFindingsAndTheReportAndTheSameAfterReassessing() throws {
    let dir = try TestSupport.temporaryDirectory()
    try Data(Self.export().utf8).write(to: dir.appendingPathComponent("dup.json"))
    let ingest = try TestSupport.run(["ingest", "--db", "e.sqlite", "--captured-at", "2024-06-30T00:00:00Z", "dup.json"], cwd: dir)
    #expect(ingest.status == 0, "\(ingest.stderr)")

    // Byte-exact texts in `documents`, under the SHA-256 of the text.
    let path = dir.appendingPathComponent("e.sqlite").path
    do {
      let db = try SQLiteConnection(path: path, mode: .readOnly)
      for (sha, text) in Self.verbatim {
        let rows = try db.query("SELECT canonical FROM documents WHERE sha256 = ?", [sha])
        #expect(try rows.first?.string("canonical") == text, "document \(text)")
      }
    }

    func findings() throws -> [CheckResult] {
      let run = try TestSupport.run(["findings", "--db", "e.sqlite", "--status", "all", "--format", "json"], cwd: dir)
      #expect(run.status == 0, "\(run.stderr)")
      #expect(run.stdout.contains("duplicate-key"))
      let items = try #require(try JSONParser.parse(run.stdout).arrayValue)
      return items.compactMap { item in
        guard let check = item["check"]?.stringValue, let status = item["status"]?.stringValue.flatMap(ResultStatus.init) else {
          return nil
        }
        var r = CheckResult(checkID: check, checkVersion: 1, status: status, why: "")
        if let name = item["principal_name"]?.stringValue, let arn = item["principal_arn"]?.stringValue,
          let type = item["principal_type"]?.stringValue.flatMap(PrincipalType.init)
        {
          r.principal = PrincipalRef(type: type, id: "", name: name, arn: arn)
        }
        if let kind = item["policy_kind"]?.stringValue.flatMap(PolicyKind.init), let name = item["policy_name"]?.stringValue {
          r.policy = PolicyRef(kind: kind, name: name, documentSHA256: Self.sha(ofPolicy: name) ?? "")
        }
        r.notes = (item["notes"]?.arrayValue ?? []).map {
          ResultNote(code: $0["code"]?.stringValue ?? "", message: $0["message"]?.stringValue ?? "")
        }
        return r
      }
    }
    Self.expectDuplicateKeyErrors(try findings(), "findings after ingest")

    // The load path: re-assessed from the database, the documents come back as written.
    let store = try EvidenceStore(path: path, create: false, now: TestSupport.fixedNow)
    let loaded = try store.loadSnapshot(id: 1)
    let documents = loaded.principals.flatMap(\.inlinePolicies).map(\.document) + loaded.managedPolicies.flatMap(\.versions).map(\.document)
    #expect(Set(documents.filter(\.hasDuplicateKey).map(\.canonical)) == Set(Self.verbatim.values))
    let reassess = try TestSupport.run(["assess", "--db", "e.sqlite", "--snapshot", "latest"], cwd: dir)
    #expect(reassess.status == 0, "\(reassess.stderr)")
    Self.expectDuplicateKeyErrors(try findings(), "findings after re-assessing")
    #expect(Self.expectIdentical(Assessor.assess(loaded, capturedAt: TestSupport.fixedNow).results, try findings()))

    let check = try TestSupport.run(["check-db", "--db", "e.sqlite"], cwd: dir)
    #expect(check.status == 0 && check.stdout.hasPrefix("OK"), "\(check.stdout)\(check.stderr)")

    let report = try TestSupport.run(
      ["report", "--db", "e.sqlite", "--out", "out", "--generated-at", "2099-07-01T00:00:00Z"], cwd: dir)
    #expect(report.status == 0, "\(report.stderr)")
    let html = try String(contentsOf: dir.appendingPathComponent("out/report.html"), encoding: .utf8)
    #expect(html.contains(">duplicate-key<"))
    #expect(html.contains("duplicate key \"Action\" at $.Statement[0].Action"))
    let xml = try String(contentsOf: dir.appendingPathComponent("out/evidence.xml"), encoding: .utf8)
    #expect(xml.contains("code=\"duplicate-key\""))
  }

  /// The SHA-256 the export's policy of that name must be stored under (its text as written), nil
  /// for the clean one.
  static func sha(ofPolicy name: String) -> String? {
    let texts = [
      "p-object": documentText("object"), "p-percent": documentText("percent"), "p-string": documentText("string"),
      "dup-managed": documentText("managed"), "p-deep": conditionText,
    ]
    return texts[name].map { SHA256.hash(data: Array($0.utf8)).hexString }
  }

  /// The same statuses and note codes per check and subject.
  static func expectIdentical(_ a: [CheckResult], _ b: [CheckResult]) -> Bool {
    func key(_ r: CheckResult) -> String {
      "\(r.checkID) \(r.principal?.name ?? "-") \(r.policy?.name ?? "-") \(r.status.rawValue) \(r.noteCodes.sorted())"
    }
    return a.map(key).sorted() == b.map(key).sorted()
  }
}
