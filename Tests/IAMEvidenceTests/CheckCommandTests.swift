import Foundation
import Testing

@testable import IAMEvidence

/// The `ingest`, `assess`, `findings` and `checks` commands, through the built executable.
@Suite(.temporaryDirectories) struct CheckCommandTests {
  static let kmsStar = #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#
  static let clean =
    #"{"Statement":[{"Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt"],"Resource":"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]}"#

  /// A temporary directory with a database holding dev-small, ingested (and so assessed) by the CLI.
  static func devSmallDatabase() throws -> (dir: URL, db: String, ingest: TestSupport.Run) {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("e.sqlite").path
    let run = try TestSupport.run([
      "ingest", "--db", db, "--captured-at", "2024-06-30T00:00:00Z", TestSupport.fixture("dev-small.json").path,
    ])
    return (dir, db, run)
  }

  static func write(_ text: String, to dir: URL, _ name: String) throws -> String {
    let url = dir.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url.path
  }

  /// RFC 4180 records (quoted fields may hold commas, quotes and newlines).
  static func csvRecords(_ text: String) -> [[String]] {
    var records: [[String]] = []
    var record: [String] = []
    var field = ""
    var quoted = false
    var chars = Array(text)[...]
    while let c = chars.popFirst() {
      if quoted {
        if c == "\"" {
          if chars.first == "\"" {
            field.append("\"")
            chars.removeFirst()
          } else {
            quoted = false
          }
        } else {
          field.append(c)
        }
      } else if c == "\"" {
        quoted = true
      } else if c == "," {
        record.append(field)
        field = ""
      } else if c == "\n" {
        record.append(field)
        records.append(record)
        record = []
        field = ""
      } else {
        field.append(c)
      }
    }
    if !field.isEmpty || !record.isEmpty {
      record.append(field)
      records.append(record)
    }
    return records
  }

  @Test func ingestPrintsTheAssessmentSummary() throws {
    let (_, db, run) = try Self.devSmallDatabase()
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.contains("assessed snapshot 1 (239588431284"), "\(run.stdout)")
    let store = try EvidenceStore(path: db, create: false, now: TestSupport.fixedNow)
    let results = try store.workflow.results(snapshotID: 1)
    for check in CheckCatalog.all.map(\.description.id) {
      let rs = results.with(check: check)
      let line =
        "\(check): \(rs.filter { $0.status == .fail }.count) fail, \(rs.filter { $0.status == .error }.count) error, "
        + "\(rs.filter { $0.status == .excepted }.count) excepted, \(rs.filter { $0.status == .pass }.count) pass"
      #expect(run.stdout.contains(line), "missing \(line) in \(run.stdout)")
    }
  }

  @Test func findingsJSON() throws {
    let (_, db, _) = try Self.devSmallDatabase()
    let run = try TestSupport.run(["findings", "--db", db, "--format", "json"])
    #expect(run.status == 0, "findings exits 0 even with failures: \(run.stderr)")
    let items = try #require(try JSONParser.parse(run.stdout).arrayValue)
    #expect(!items.isEmpty)
    let keys = [
      "snapshot", "check", "status", "principal_type", "principal_name", "principal_arn", "policy_kind", "policy_name", "policy_arn",
      "policy_version", "statements", "reasons", "notes", "exception", "attached_to", "sources", "remediation",
    ]
    for item in items {
      let present = Set((item.objectValue ?? []).map(\.key))
      #expect(Set(keys).isSubset(of: present), "missing \(Set(keys).subtracting(present).sorted())")
      #expect(item["status"]?.stringValue == "fail", "default is the failures")
      #expect(item["snapshot"] == .number("1"))
    }
    // Every failing inline policy has its remediation with the real names filled in.
    let inline = items.filter { $0["check"]?.stringValue == "kms-full-access-inline" }
    #expect(!inline.isEmpty)
    for item in inline {
      let name = try #require(item["principal_name"]?.stringValue)
      #expect((item["remediation"]?.arrayValue ?? []).contains { $0.stringValue?.contains(name) == true })
    }

    let all = try TestSupport.run(["findings", "--db", db, "--format", "json", "--status", "all"])
    #expect(all.status == 0)
    let allItems = try #require(try JSONParser.parse(all.stdout).arrayValue)
    let store = try EvidenceStore(path: db, create: false, now: TestSupport.fixedNow)
    #expect(allItems.count == (try store.workflow.results(snapshotID: 1)).count)
    #expect(allItems.count == (try store.count("SELECT count(*) FROM results WHERE snapshot_id=1")))
    #expect(allItems.contains { $0["status"]?.stringValue == "pass" })
    #expect(allItems.count > items.count)

    let oneCheck = try TestSupport.run([
      "findings", "--db", db, "--format", "json", "--status", "all", "--check", "kms-full-access-managed",
    ])
    let managed = try #require(try JSONParser.parse(oneCheck.stdout).arrayValue)
    #expect(managed.count == 3)
    #expect(managed.allSatisfy { $0["check"]?.stringValue == "kms-full-access-managed" && $0["policy_kind"]?.stringValue == "managed" })
  }

  @Test func findingsCSV() throws {
    let (_, db, _) = try Self.devSmallDatabase()
    let run = try TestSupport.run(["findings", "--db", db, "--format", "csv", "--status", "all"])
    #expect(run.status == 0)
    let records = Self.csvRecords(run.stdout)
    let header = try #require(records.first)
    #expect(header.starts(with: ["snapshot", "check", "status", "principal_type", "principal_name", "principal_arn"]))
    let store = try EvidenceStore(path: db, create: false, now: TestSupport.fixedNow)
    #expect(records.count - 1 == (try store.workflow.results(snapshotID: 1)).count)
    #expect(records.dropFirst().allSatisfy { $0.count == header.count })
  }

  @Test func csvGuardsAgainstFormulas() throws {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("e.sqlite").path
    let file = try Self.write(
      Synth.snapshotFile(users: [(name: "=1+2", policyName: "@SUM", document: Self.kmsStar)]), to: dir, "formula.json")
    let ingest = try TestSupport.run(["ingest", "--db", db, "--captured-at", "2024-06-30T00:00:00Z", file])
    #expect(ingest.status == 0, "\(ingest.stderr)")
    let run = try TestSupport.run(["findings", "--db", db, "--format", "csv", "--check", "kms-full-access-inline"])
    let records = Self.csvRecords(run.stdout)
    #expect(records.count == 2)
    let row = try #require(records.last)
    #expect(row.contains("'=1+2"), "\(row)")
    #expect(row.contains("'@SUM"), "\(row)")
    for field in records.flatMap({ $0 }) {
      #expect(!(field.first.map { "=+-@".contains($0) } ?? false), "unguarded field \(field)")
    }
  }

  @Test func assessFailOn() throws {
    let (dir, db, _) = try Self.devSmallDatabase()
    let failing = try TestSupport.run(["assess", "--db", db, "--fail-on", "fail"])
    #expect(failing.status == 1, "\(failing.stdout) \(failing.stderr)")
    #expect(failing.stdout.contains("assessed snapshot 1"))
    let plain = try TestSupport.run(["assess", "--db", db])
    #expect(plain.status == 0)
    let findings = try TestSupport.run(["findings", "--db", db])
    #expect(findings.status == 0)
    #expect(findings.stdout.contains("FAIL  kms-full-access-inline"))

    let cleanDB = dir.appendingPathComponent("clean.sqlite").path
    // Two roles (users with inline policies would fail user-direct-policies).
    func role(_ name: String, _ policy: String, _ document: String) -> String {
      """
      {"Path":"/","RoleName":"\(name)","RoleId":"AROA\(name.uppercased())","Arn":"arn:aws:iam::\(Synth.account):role/\(name)",
       "CreateDate":"2023-01-01T00:00:00Z","RolePolicyList":[{"PolicyName":"\(policy)","PolicyDocument":\(document)}],
       "AttachedManagedPolicies":[],"InstanceProfileList":[],"Tags":[]}
      """
    }
    let roles = [
      role("app", "one-key", Self.clean), role("ops", "s3", #"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#),
    ]
    let file = try Self.write(
      #"{"UserDetailList":[],"GroupDetailList":[],"RoleDetailList":["# + roles.joined(separator: ",")
        + #"],"Policies":[],"IsTruncated":false}"#,
      to: dir, "clean.json")
    #expect(try TestSupport.run(["ingest", "--db", cleanDB, "--captured-at", "2024-06-30T00:00:00Z", file]).status == 0)
    let passing = try TestSupport.run(["assess", "--db", cleanDB, "--fail-on", "fail"])
    #expect(passing.status == 0, "\(passing.stdout) \(passing.stderr)")
    #expect(passing.stdout.contains("kms-full-access-inline: 0 fail, 0 error, 0 excepted, 2 pass"), "\(passing.stdout)")
    let none = try TestSupport.run(["findings", "--db", cleanDB])
    #expect(none.status == 0)
    #expect(none.stdout.contains("no fail results"))
  }

  @Test func checksCommand() throws {
    let run = try TestSupport.run(["checks", "--format", "json"])
    #expect(run.status == 0)
    let items = try #require(try JSONParser.parse(run.stdout).arrayValue)
    #expect(items.compactMap { $0["id"]?.stringValue } == CheckCatalogTests.stableIDs)
    for item in items {
      let controls = item["controls"]?.arrayValue ?? []
      #expect(!controls.isEmpty)
      #expect(controls.allSatisfy { ($0["id"]?.stringValue ?? "").hasPrefix("A.") && !($0["title"]?.stringValue ?? "").isEmpty })
      // Each check of actions names its target and the action catalog (source and date) it is read in.
      if let target = item["target"], target != .null {
        #expect(target["description"]?.stringValue?.isEmpty == false)
        #expect(target["action_catalog"]?["date"]?.stringValue == ActionCatalog.bundled.source.date)
        #expect(target["action_catalog"]?["source"]?.stringValue == ActionCatalog.bundled.source.source)
      }
    }
    let admin = try #require(items.first { $0["id"]?.stringValue == "admin-access-managed" })
    #expect(admin["target"]?["actions"] == .number(String(ActionCatalog.bundled.count)))
    #expect(admin["references"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["1.16", "IAM.1"])
    let direct = try #require(items.first { $0["id"]?.stringValue == "user-direct-policies" })
    #expect(direct["target"] == .null)
    #expect(direct["controls"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["A.5.15", "A.5.18", "A.8.2"])
    #expect(
      direct["references"]?.arrayValue?.map { "\($0["framework"]?.stringValue ?? "") \($0["id"]?.stringValue ?? "")" } == [
        "CIS AWS Foundations Benchmark 1.15", "AWS Security Hub IAM.2",
      ])
    let markdown = try TestSupport.run(["checks", "--format", "markdown"])
    #expect(markdown.stdout == CatalogDocument.markdownTable() + "\n")
    let text = try TestSupport.run(["checks"])
    #expect(text.stdout.contains("kms-full-access-inline (v\(InlinePolicyFullKMSAccess().description.version))  [founding test of A.8.2]"))
    #expect(text.stdout.contains("action catalog: \(ActionCatalog.bundled.sourceDescription)"))
  }

  @Test func usageAndInputErrors() throws {
    let (dir, db, _) = try Self.devSmallDatabase()
    let unknown = try TestSupport.run(["findings", "--db", db, "--check", "kms-nope"])
    #expect(unknown.status == 2)
    #expect(unknown.stderr.contains("kms-nope"))
    let badStatus = try TestSupport.run(["findings", "--db", db, "--status", "failed"])
    #expect(badStatus.status == 2)

    let register = try Self.write(#"{"exceptions":[{"id":"E","check":"kms-everything"}]}"#, to: dir, "bad-exceptions.json")
    let assess = try TestSupport.run(["assess", "--db", db, "--exceptions", register])
    #expect(assess.status == 2)
    #expect(assess.stderr.contains(register), "\(assess.stderr)")
    #expect(assess.stderr.contains("$.exceptions[0]"), "\(assess.stderr)")

    let notJSON = try Self.write("id: E\n", to: dir, "exceptions.yaml")
    let ingest = try TestSupport.run(["ingest", "--db", db, "--exceptions", notJSON, TestSupport.fixture("dev-series/2024-01.json").path])
    #expect(ingest.status == 2)
    #expect(ingest.stderr.contains(notJSON), "\(ingest.stderr)")
    let missing = dir.appendingPathComponent("no-such-register.json").path
    let absent = try TestSupport.run(["assess", "--db", db, "--exceptions", missing])
    #expect(absent.status == 2)
    #expect(absent.stderr.contains(missing))
    // Nothing was ingested or assessed by the failed commands.
    let store = try EvidenceStore(path: db, create: false, now: TestSupport.fixedNow)
    #expect(try store.count("SELECT count(*) FROM snapshots") == 1)
    #expect(try store.count("SELECT count(*) FROM assessments") == 1)
  }

  @Test func exceptionsThroughTheCLI() throws {
    let (dir, db, _) = try Self.devSmallDatabase()
    let register = try Self.write(
      """
      {"exceptions":[{"id":"EX-7","check":"kms-full-access-inline","scope":{"principal":"arn:aws:iam::*:user/s3-uploader-*","policy":"legacy-access"},
        "justification":"Legacy uploader, replaced in Q3","approved_by":"ciso@example.com","approved_on":"2024-05-01","expires_on":"2024-09-30"},
       {"id":"EX-GONE","check":"*","scope":{"principal":"nobody"},"justification":"j","approved_by":"a","approved_on":"2024-05-01","expires_on":"2024-09-30"}]}
      """, to: dir, "exceptions.json")
    let assess = try TestSupport.run(["assess", "--db", db, "--exceptions", register])
    #expect(assess.status == 0, "\(assess.stderr)")
    #expect(assess.stdout.contains("stale exception EX-GONE"))
    #expect(!assess.stdout.contains("stale exception EX-7"))
    let excepted = try TestSupport.run(["findings", "--db", db, "--format", "json", "--status", "excepted"])
    let items = try #require(try JSONParser.parse(excepted.stdout).arrayValue)
    #expect(items.count == 1)
    #expect(items.first?["policy_name"]?.stringValue == "legacy-access")
    #expect(items.first?["exception"]?["id"]?.stringValue == "EX-7")
  }
}
