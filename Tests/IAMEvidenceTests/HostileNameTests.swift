import Foundation
import Testing

@testable import IAMEvidence

/// Names an attacker controls (issue 14, defects 11 and 12): control bytes reach no terminal raw,
/// packaged file names stay valid for `verify` and `sha256sum -c`, an account id must be 12 digits,
/// and a managed policy's versions are listed once.
@Suite(.temporaryDirectories, .packagedQuarter) struct HostileNameTests {
  static let kmsStar: JSONValue = .object([
    ("Version", .string("2012-10-17")),
    ("Statement", .array([.object([("Effect", .string("Allow")), ("Action", .string("kms:*")), ("Resource", .string("*"))])])),
  ])

  static func user(_ name: String, account: String = "123456789012", policy: String = "admin") -> JSONValue {
    .object([
      ("UserName", .string(name)), ("UserId", .string("AIDA\(name.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFFF })")),
      ("Arn", .string("arn:aws:iam::\(account):user/\(name)")),
      ("UserPolicyList", .array([.object([("PolicyName", .string(policy)), ("PolicyDocument", kmsStar)])])),
    ])
  }

  static func export(_ users: [JSONValue], policies: [JSONValue] = []) -> [UInt8] {
    JSONWriter.canonicalBytes(.object([("UserDetailList", .array(users)), ("Policies", .array(policies))]))
  }

  /// ESC sequences (a window-title change, a screen clear), a bell, a bidi override and a newline.
  static let evil = "evil\u{1B}]0;pwned\u{07}\u{202E}x\ny\u{1B}[2J"
  static let evilShown = #"evil\u{1B}]0;pwned\u{7}\u{202E}x\u{A}y\u{1B}[2J"#

  static func expectClean(_ text: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let raw = text.unicodeScalars.filter {
      ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) || $0.properties.generalCategory == .format
    }
    #expect(raw.isEmpty, "\(what) printed raw \(raw.map { String($0.value, radix: 16) })", sourceLocation: sourceLocation)
  }

  @Test func controlBytesInNamesAreShownEscapedInEveryTextOutput() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("e.sqlite").path
    let january = dir.appendingPathComponent("jan.json")
    try Data(Self.export([Self.user("alice")])).write(to: january)
    let february = dir.appendingPathComponent("feb\u{1B}[31m.json")
    try Data(Self.export([Self.user("alice"), Self.user(Self.evil, policy: "p\u{1B}[5m")])).write(to: february)
    for (file, day) in [(january, "2024-01-31"), (february, "2024-02-29")] {
      let run = try TestSupport.run(["ingest", "--db", db, "--captured-at", day, file.path])
      #expect(run.status == 0, "\(run.stderr)")
      Self.expectClean(run.stdout, "ingest")
    }
    let runs: [(String, [String])] = [
      ("snapshots", ["snapshots"]), ("findings", ["findings"]), ("findings all", ["findings", "--status", "all"]),
      ("diff", ["diff", "1", "2"]), ("trend", ["trend"]), ("assess", ["assess"]),
    ]
    for (what, command) in runs {
      let run = try TestSupport.run([command[0], "--db", db] + command.dropFirst())
      #expect(run.status == 0, "\(what): \(run.stderr)")
      Self.expectClean(run.stdout + run.stderr, what)
    }
    let findings = try TestSupport.run(["findings", "--db", db])
    #expect(findings.stdout.contains("user \(Self.evilShown)  inline p\\u{1B}[5m"), "\(findings.stdout)")
    let diff = try TestSupport.run(["diff", "--db", db, "1", "2"])
    #expect(diff.stdout.contains(Self.evilShown), "\(diff.stdout)")
    let trend = try TestSupport.run(["trend", "--db", db])
    #expect(trend.stdout.contains(Self.evilShown), "\(trend.stdout)")
    let snapshots = try TestSupport.run(["snapshots", "--db", db])
    #expect(snapshots.stdout.contains(#"feb\u{1B}[31m.json"#), "\(snapshots.stdout)")
    // Machine formats keep the exact text (JSON escapes it its own way).
    let json = try TestSupport.run(["findings", "--db", db, "--format", "json"])
    #expect(try JSONParser.parse(json.stdout).arrayValue?.contains { $0["principal_name"]?.stringValue == Self.evil } == true)
    // Errors too: a name in an error message.
    let bad = dir.appendingPathComponent("dup.json")
    try Data(Self.export([Self.user(Self.evil), Self.user(Self.evil)])).write(to: bad)
    let refused = try TestSupport.run(["ingest", "--db", db, bad.path])
    #expect(refused.status == 2)
    Self.expectClean(refused.stderr, "an error")
    #expect(refused.stderr.contains(Self.evilShown), "\(refused.stderr)")
  }

  @Test func theEscapingHelper() {
    #expect(TerminalText.escape("plain name-1_2.json") == "plain name-1_2.json")
    #expect(TerminalText.escape("a\u{1B}b\u{0}c\u{7F}d\u{9B}e\u{200B}f\u{2028}g") == #"a\u{1B}b\u{0}c\u{7F}d\u{9B}e\u{200B}f\u{2028}g"#)
    #expect(TerminalText.escape("ü日本語😀 tab\there") == #"ü日本語😀 tab\u{9}here"#)
    #expect(TerminalText.escape("two\nlines\u{1B}", keepingNewlines: true) == "two\nlines\\u{1B}")
  }

  /// Defect 12: an account id taken from the ARNs that is not 12 digits failed only later, in the
  /// evidence schema. Refused at ingest, naming the JSON path.
  @Test func anAccountIDThatIsNotTwelveDigitsIsRefusedAtIngest() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("e.sqlite").path
    let cases: [(String, [UInt8], String)] = [
      (
        "short.json", Self.export([Self.user("a"), Self.user("b", account: "12345")]),
        #"$.UserDetailList[1].Arn: the ARN's account id is not 12 digits: "12345""#
      ),
      (
        "policy.json",
        Self.export(
          [Self.user("a")],
          policies: [
            .object([
              ("Arn", .string("arn:aws:iam::1234567890123:policy/p")), ("DefaultVersionId", .string("v1")),
              (
                "PolicyVersionList",
                .array([.object([("VersionId", .string("v1")), ("IsDefaultVersion", .bool(true)), ("Document", Self.kmsStar)])])
              ),
            ])
          ]), #"$.Policies[0].Arn: the ARN's account id is not 12 digits: "1234567890123""#
      ),
      (
        "letters.json", Self.export([Self.user("a", account: "12345678901x")]),
        #"$.UserDetailList[0].Arn: the ARN's account id is not 12 digits: "12345678901x""#
      ),
    ]
    for (name, bytes, message) in cases {
      let file = dir.appendingPathComponent(name)
      try Data(bytes).write(to: file)
      let run = try TestSupport.run(["ingest", "--db", db, file.path])
      #expect(run.status == 2, "\(name)")
      #expect(run.stderr == "error: \(file.path): \(message)\n", "\(run.stderr)")
    }
    if FileManager.default.fileExists(atPath: db) { #expect(try EvidenceStore(readingAt: db).snapshots().isEmpty) }
    // AWS-managed policies have no account, and need none.
    let aws = try SnapshotDecoder(sourceName: "aws.json").decode(
      Self.export(
        [Self.user("a")],
        policies: [
          .object([
            ("Arn", .string("arn:aws:iam::aws:policy/ReadOnlyAccess")),
            ("PolicyVersionList", .array([.object([("VersionId", .string("v1")), ("Document", Self.kmsStar)])])),
          ])
        ]))
    #expect(aws.managedPolicies.count == 1)
  }

  /// Defect 12: a managed policy listing one version id twice gave a raw SQLite UNIQUE error.
  @Test func aDuplicateVersionIDIsRefusedWithItsJSONPath() throws {
    func version(_ id: String) -> JSONValue { .object([("VersionId", .string(id)), ("Document", Self.kmsStar)]) }
    let bytes = Self.export(
      [Self.user("a")],
      policies: [
        .object([("Arn", .string("arn:aws:iam::123456789012:policy/ok")), ("PolicyVersionList", .array([version("v1")]))]),
        .object([
          ("Arn", .string("arn:aws:iam::123456789012:policy/p")),
          ("PolicyVersionList", .array([version("v1"), version("v2"), version("v2")])),
        ]),
      ])
    let expected = SnapshotDecodingError(
      file: "v.json", path: "$.Policies[1].PolicyVersionList[2].VersionId",
      message: "duplicate version v2 (first at $.Policies[1].PolicyVersionList[1])")
    #expect(throws: expected) { try SnapshotDecoder(sourceName: "v.json").decode(bytes) }
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("v.json")
    try Data(bytes).write(to: file)
    let run = try TestSupport.run(["ingest", "--db", dir.appendingPathComponent("e.sqlite").path, file.path])
    #expect(run.status == 2)
    #expect(
      run.stderr
        == "error: \(file.path): $.Policies[1].PolicyVersionList[2].VersionId: duplicate version v2 (first at $.Policies[1].PolicyVersionList[1])\n",
      "\(run.stderr)")
    #expect(!run.stderr.contains("UNIQUE") && !run.stderr.contains("SQLite") && !run.stderr.contains("Domain"))
  }

  /// Defect 11: a source file name with a newline or a backslash made a package that its own
  /// `verify` rejected.
  @Test func includedSnapshotsWithNewlinesOrBackslashesInTheirNamesVerify() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("e.sqlite").path
    let names = ["evil\nname.json", "back\\slash.json", "sp ace ü.json"]
    for (name, (month, day)) in zip(names, PackageSupport.months) {
      let file = dir.appendingPathComponent(name)
      try FileManager.default.copyItem(at: TestSupport.fixture("dev-series/\(month).json"), to: file)
      let run = try TestSupport.run(["ingest", "--db", db, "--captured-at", "\(month)-\(day)", file.path])
      #expect(run.status == 0, "\(run.stderr)")
    }
    let zip = dir.appendingPathComponent("q1.zip")
    let package = try TestSupport.run([
      "package", "--db", db, "--from", "2024-01-01", "--to", "2024-03-31", "--out", zip.path, "--include-snapshots", "--templates",
      TestSupport.packageRoot.appendingPathComponent("Templates").path, "--generated-at", "2099-04-02T09:00:00Z",
    ])
    #expect(package.status == 0, "\(package.stderr)")
    let members = try PackageSupport.zipMembers(zip)
    #expect(
      members.map(\.name).filter { $0.hasPrefix("snapshots/") } == [
        "snapshots/0001-evil_name.json", "snapshots/0002-back_slash.json", "snapshots/0003-sp_ace___.json",
      ])
    let verify = try TestSupport.run(["verify", zip.path])
    #expect(verify.status == 0, "\(verify.stderr)")
    let folder = try PackageSupport.unpack(members)
    defer { try? FileManager.default.removeItem(at: folder) }
    #expect(try TestSupport.run(["verify", folder.path]).status == 0)
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum") {
      let check = Process()
      check.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
      check.arguments = ["-c", "--strict", "MANIFEST.sha256"]
      check.currentDirectoryURL = folder
      check.standardOutput = FileHandle.nullDevice
      check.standardError = FileHandle.nullDevice
      try check.run()
      check.waitUntilExit()
      #expect(check.terminationStatus == 0, "sha256sum -c failed on the unpacked package")
    }
    #expect(EvidenceWorkflow.memberName(id: 12, sourceName: "/x/../a\u{1B}\\b/c\nd.json") == "0012-c_d.json")
    #expect(EvidenceWorkflow.memberName(id: 3, sourceName: "../..") == "0003-..")
  }
}
