import Foundation
import SQLiteDB
import Testing
import XMLTree

@testable import IAMEvidence

/// Issue 15, first half: the scope file, the coverage rules and the verdict roll-up (pure), the
/// `accounts` command, exceptions limited to accounts, and `trend`/`diff --accounts`.
@Suite(.temporaryDirectories) struct AccountsTests {
  // MARK: Fixtures

  static let scopeJSON = """
    {"accounts": [
      {"id": "111122223333", "name": "shared-services", "owner": "platform team"},
      {"id": "444455556666", "name": "payments-prod"},
      {"id": "777788889999"}
    ]}
    """

  static func scope(_ text: String = scopeJSON) throws -> AccountScope {
    try AccountScope(bytes: Array(text.utf8), source: "scope.json")
  }

  /// The scope error for `text`, or nil when it is accepted.
  static func scopeError(_ text: String) -> AccountScopeError? {
    do {
      _ = try AccountScope(bytes: Array(text.utf8), source: "scope.json")
      return nil
    } catch { return error }
  }

  /// The demo organisation in a new store: the demo account's three snapshots and the two of
  /// `444455556666`, each assessed with `register`.
  static func organisationStore(register: String? = nil) throws -> EvidenceStore {
    let (store, _) = try TestSupport.makeStore()
    let reg = try register.map { try ExceptionRegister(bytes: Array($0.utf8), source: "exceptions.json") } ?? .empty
    for (url, capturedAt) in try DemoData.snapshots() + DemoData.organisationSnapshots() {
      let source = IngestSource(name: DemoData.relativeName(url), bytes: try TestSupport.bytes(url), modificationTime: nil)
      let outcome = try store.workflow.ingest(source, options: IngestOptions(capturedAt: capturedAt, now: TestSupport.fixedNow))
      guard case .ingested(let record) = outcome else { throw StoreError(path: url.path, message: "not ingested") }
      try store.workflow.assess(snapshotID: record.id, register: reg, now: TestSupport.fixedNow)
    }
    return store
  }

  static let quarterFrom = Timestamp(parsing: "2024-03-01T00:00:00Z")!
  static let quarterTo = Timestamp(parsing: "2024-05-31T23:59:59Z")!

  static func record(_ id: Int, _ account: String, _ capturedAt: String) -> SnapshotRecord {
    SnapshotRecord(
      id: id, account: account, capturedAt: Timestamp(parsing: capturedAt)!, capturedAtSource: .option,
      ingestedAt: TestSupport.fixedNow, sourceName: "\(account).json", byteSize: 1, sha256: String(repeating: "0", count: 64),
      encoding: "cli", toolVersion: "test", label: nil, isTruncated: false,
      counts: SnapshotCounts(users: 0, groups: 0, roles: 0, managedPolicies: 0, inlinePolicies: 0))
  }

  /// Counts for every check of the catalog: everything passes, except `failing` (one failure each)
  /// and `erring` (one error each).
  static func counts(failing: [String] = [], erring: [String] = []) -> [String: StatusCounts] {
    var out: [String: StatusCounts] = [:]
    for c in CheckCatalog.all.map(\.description.id) {
      out[c] = StatusCounts(fail: failing.contains(c) ? 1 : 0, pass: 2, error: erring.contains(c) ? 1 : 0)
    }
    return out
  }

  // MARK: Scope file

  @Test func aScopeFileIsReadWithNamesAndOwnersOptional() throws {
    let scope = try Self.scope()
    #expect(scope.accounts.map(\.id) == ["111122223333", "444455556666", "777788889999"])
    #expect(scope.accounts.map(\.name) == ["shared-services", "payments-prod", nil])
    #expect(scope.accounts.map(\.owner) == ["platform team", nil, nil])
    #expect(scope.contains("444455556666") && !scope.contains("123456789012"))
    #expect(scope.source == "scope.json")
  }

  @Test(arguments: [
    (#"{"accounts": [{"id": "111122223333"}], "acounts": []}"#, "$.acounts", "unknown field \"acounts\""),
    (#"{"accounts": [{"id": "111122223333", "nmae": "x"}]}"#, "$.accounts[0].nmae", "unknown field \"nmae\""),
    (#"{"accounts": [{"id": 111122223333}]}"#, "$.accounts[0].id", "expected the account id as a string"),
    (#"{"accounts": [{"id": "11112222333"}]}"#, "$.accounts[0].id", "not a 12-digit AWS account id"),
    (#"{"accounts": [{"id": "1111222233334"}]}"#, "$.accounts[0].id", "not a 12-digit AWS account id"),
    (#"{"accounts": [{"id": "١١١١٢٢٢٢٣٣٣٣"}]}"#, "$.accounts[0].id", "not a 12-digit AWS account id"),
    (#"{"accounts": [{"id": " 11112222333"}]}"#, "$.accounts[0].id", "not a 12-digit AWS account id"),
    (#"{"accounts": [{"name": "x"}]}"#, "$.accounts[0]", "missing id"),
    (
      #"{"accounts": [{"id": "111122223333"}, {"id": "444455556666"}, {"id": "111122223333"}]}"#, "$.accounts[2].id",
      "listed twice (also at $.accounts[0].id)"
    ),
    (#"{"accounts": []}"#, "$.accounts", "lists no account"),
    (#"{"accounts": null}"#, "$", "missing accounts"),
    (#"{}"#, "$", "missing accounts"),
    (#"{"accounts": {"id": "111122223333"}}"#, "$.accounts", "expected an array"),
    (#"{"accounts": [{"id": "111122223333", "name": "  "}]}"#, "$.accounts[0].name", "must not be empty or blank"),
    (#"{"accounts": [{"id": "111122223333", "owner": 7}]}"#, "$.accounts[0].owner", "expected a string"),
    (#"{"accounts": [{"id": "111122223333", "id": "444455556666"}]}"#, "$.accounts[0].id", "duplicate key \"id\""),
    (#"[]"#, "$", "expected an object"),
  ])
  func invalidScopeFilesAreRefusedNamingTheFileAndPath(text: String, path: String, message: String) throws {
    let error = try #require(Self.scopeError(text), "accepted: \(text)")
    #expect(error.file == "scope.json")
    #expect(error.path == path, "\(error)")
    #expect(error.message.contains(message), "\(error)")
    #expect(error.description.hasPrefix("scope.json: \(path): "))
  }

  @Test func aScopeFileIsBounded() throws {
    let long = String(repeating: "n", count: AccountScope.maximumTextBytes + 1)
    let error = try #require(Self.scopeError(#"{"accounts": [{"id": "111122223333", "name": "\#(long)"}]}"#))
    #expect(error.path == "$.accounts[0].name" && error.message.contains("longer than 1024 bytes"))
    let tooBig = [UInt8](repeating: 0x20, count: AccountScope.maximumBytes + 1)
    #expect(throws: AccountScopeError(file: "big.json", path: nil, message: "the scope file exceeds 16 MiB")) {
      try AccountScope(bytes: tooBig, source: "big.json")
    }
    let dir = try TestSupport.temporaryDirectory()
    let fifo = dir.appendingPathComponent("scope.json").path
    #expect(mkfifo(fifo, 0o600) == 0)
    let error2 = #expect(throws: AccountScopeError.self) { try AccountScope.load(path: fifo) }
    #expect(error2?.message.contains("not a regular file (a FIFO)") == true, "\(String(describing: error2))")
    let missing = #expect(throws: AccountScopeError.self) { try AccountScope.load(path: dir.appendingPathComponent("none.json").path) }
    #expect(missing?.description.hasSuffix("none.json: cannot read the scope file: No such file or directory") == true)
  }

  // MARK: Coverage rules and roll-up (pure)

  @Test func rollUpOrdersNotEffectiveThenNoEvidenceThenError() {
    typealias V = CoverageVerdict
    #expect(V.rollUp([]) == .noEvidence)
    #expect(V.rollUp([.effective, .effective]) == .effective)
    #expect(V.rollUp([.effective, .error]) == .error)
    #expect(V.rollUp([.error, .noEvidence, .effective]) == .noEvidence)
    #expect(V.rollUp([.noEvidence, .notEffective, .error]) == .notEffective)
    #expect(V.rollUp([.noEvidence]) == .noEvidence)
    // Whatever the order, one not effective decides, and one gap keeps the organisation from effective.
    for a in V.allCases {
      for b in V.allCases {
        let r = V.rollUp([a, b])
        #expect(r == V.rollUp([b, a]))
        if a == .notEffective || b == .notEffective { #expect(r == .notEffective) }
        if a == .noEvidence || b == .noEvidence { #expect(r != .effective) }
        if r == .effective { #expect(a == .effective && b == .effective) }
      }
    }
    #expect(V(ControlVerdict.notEffective) == .notEffective && V(nil) == .noEvidence && V(ControlVerdict.error) == .error)
  }

  @Test func anAccountInScopeWithoutSnapshotIsACoverageGapAndKeepsTheOrganisationFromEffective() throws {
    let scope = try Self.scope()
    let records = [
      AccountRecords(
        account: "111122223333", snapshots: [Self.record(1, "111122223333", "2024-05-31T00:00:00Z")], latestCounts: Self.counts(),
        privilegedIdentities: 0),
      AccountRecords(
        account: "444455556666", snapshots: [Self.record(2, "444455556666", "2024-05-30T00:00:00Z")], latestCounts: Self.counts(),
        privilegedIdentities: 1),
    ]
    let c = AccountCoverage.build(records, scope: scope, from: Self.quarterFrom, to: Self.quarterTo)
    #expect(c.controls.map(\.id) == ["A.8.2", "A.5.15", "A.8.3"])
    #expect(c.rows.map(\.account) == ["111122223333", "444455556666", "777788889999"])
    let gap = try #require(c.row("777788889999"))
    #expect(gap.isCoverageGap && gap.inScope && gap.snapshots.isEmpty && gap.latest == nil)
    #expect(gap.verdicts.allSatisfy { $0.verdict == .noEvidence && $0.assessment == nil })
    #expect(gap.counts == nil && gap.privilegedIdentities == nil)
    #expect(gap.gaps == [CoverageGap(from: Self.quarterFrom, to: Self.quarterTo, days: 91, fromSnapshot: nil, toSnapshot: nil)])
    #expect(c.coverageGaps.map(\.account) == ["777788889999"])
    // The two others are effective; the organisation is not, while the gap stands.
    #expect(c.row("111122223333")?.verdicts.allSatisfy { $0.verdict == .effective } == true)
    #expect(c.organisation.allSatisfy { $0.verdict == .noEvidence })
    #expect(c.organisation.first?.accounts == [.effective: ["111122223333", "444455556666"], .noEvidence: ["777788889999"]])
    // Without the third account in scope, the organisation is effective.
    let two = try Self.scope(#"{"accounts": [{"id": "111122223333"}, {"id": "444455556666"}]}"#)
    #expect(
      AccountCoverage.build(records, scope: two, from: Self.quarterFrom, to: Self.quarterTo).organisation.allSatisfy {
        $0.verdict == .effective
      })
  }

  @Test func accountsOutOfScopeAreListedAndLeftOutOfTheVerdict() throws {
    let scope = try Self.scope(#"{"accounts": [{"id": "111122223333", "name": "shared-services"}]}"#)
    let records = [
      AccountRecords(
        account: "111122223333", snapshots: [Self.record(1, "111122223333", "2024-05-31T00:00:00Z")], latestCounts: Self.counts()),
      AccountRecords(
        account: "222233334444", snapshots: [Self.record(2, "222233334444", "2024-05-31T00:00:00Z")],
        latestCounts: Self.counts(failing: ["admin-access-identity", "user-direct-policies"])),
    ]
    let c = AccountCoverage.build(records, scope: scope, from: nil, to: nil)
    #expect(c.rows.map(\.account) == ["111122223333", "222233334444"], "in scope first")
    let out = try #require(c.row("222233334444"))
    #expect(!out.inScope && !out.isCoverageGap && out.name == nil)
    #expect(out.verdict(of: "A.8.2") == .notEffective && out.verdict(of: "A.5.15") == .notEffective)
    #expect(c.outOfScope.map(\.account) == ["222233334444"])
    #expect(c.organisation.allSatisfy { $0.verdict == .effective }, "the failing account is out of scope")
    #expect(c.row("111122223333")?.label == "111122223333 (shared-services)")
    // Without a scope file, every account of the database is in scope, and the failure counts.
    let all = AccountCoverage.build(records, scope: nil, from: nil, to: nil)
    #expect(all.rows.allSatisfy { $0.inScope })
    #expect(all.organisation.map(\.verdict) == [.notEffective, .notEffective, .effective])
  }

  @Test func anAccountIsJudgedByItsLatestSnapshotInThePeriod() throws {
    let snapshots = [Self.record(1, "111122223333", "2024-03-31T00:00:00Z"), Self.record(5, "111122223333", "2024-05-31T00:00:00Z")]
    // The store gives the counts of the latest snapshot; the builder judges each control from them.
    let erring = AccountCoverage.build(
      [AccountRecords(account: "111122223333", snapshots: snapshots, latestCounts: Self.counts(erring: ["kms-decrypt-all-keys"]))],
      scope: nil, from: Self.quarterFrom, to: Self.quarterTo)
    let row = try #require(erring.rows.first)
    #expect(row.latest?.id == 5 && row.snapshots.count == 2)
    #expect(row.verdicts.map(\.verdict) == [.effective, .effective, .error])
    #expect(row.counts == StatusCounts(fail: 0, excepted: 0, pass: 2 * CheckCatalog.all.count, error: 1))
    #expect(erring.organisation.map(\.verdict) == [.effective, .effective, .error])
    // Gaps as trend defines them: 2024-03-01 → 03-31 is 30 days (within 31), 03-31 → 05-31 is 61.
    #expect(row.gaps == CoverageGap.gaps(in: snapshots, from: Self.quarterFrom, to: Self.quarterTo, cadenceDays: 31))
    #expect(row.gaps.map(\.days) == [61])
    // An excepted failure does not count, as for one snapshot.
    var excepted = Self.counts()
    excepted["admin-access-identity"] = StatusCounts(excepted: 1, pass: 1)
    let ok = AccountCoverage.build(
      [AccountRecords(account: "111122223333", snapshots: snapshots, latestCounts: excepted)], scope: nil, from: nil, to: nil)
    #expect(ok.rows.first?.verdict(of: "A.8.2") == .effective)
  }

  // MARK: The accounts command

  /// The demo organisation's database, checkpointed into one file with a rollback journal (so that a
  /// reading command that wrote anything would change its bytes or leave files beside it), and its
  /// scope file beside it.
  static func organisationDatabase() throws -> (db: String, scope: String, dir: URL) {
    let store = try organisationStore()
    let dir = URL(fileURLWithPath: store.path).deletingLastPathComponent()
    let scope = dir.appendingPathComponent("scope.json")
    try Data(scopeJSON.utf8).write(to: scope)
    return (store.path, scope.path, dir)
  }

  @Test func accountsJSONHasOneObjectPerAccountWithExactlyTheDocumentedMembers() throws {
    let (db, scope, _) = try Self.organisationDatabase()
    try SQLiteConnection(path: db, mode: .readWrite).execute("PRAGMA journal_mode = DELETE")
    let before = try ReadOnlyDatabaseTests.Fingerprint(URL(fileURLWithPath: db))
    let run = try TestSupport.run([
      "accounts", "--db", db, "--scope", scope, "--from", "2024-03-01", "--to", "2024-05-31", "--format", "json",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(try ReadOnlyDatabaseTests.Fingerprint(URL(fileURLWithPath: db)) == before, "accounts wrote to the database or its folder")
    let rows = try #require(try JSONParser.parse(run.stdout).arrayValue)
    #expect(rows.count == 3)
    let members = [
      "account", "error", "excepted", "fail", "gaps", "in_scope", "latest_captured_at", "latest_snapshot", "name", "pass",
      "privileged_identities", "snapshots_in_period", "verdicts",
    ]
    for row in rows { #expect(row.objectValue?.map(\.key).sorted() == members) }
    #expect(rows.map { $0["account"]?.stringValue } == ["111122223333", "444455556666", "777788889999"])
    #expect(rows.map { $0["name"]?.stringValue } == ["shared-services", "payments-prod", nil])

    // The demo account: its latest snapshot (3), counted as `findings` counts it, and its register.
    let store = try EvidenceStore(readingAt: db)
    let demo = rows[0]
    #expect(demo["in_scope"] == .bool(true) && demo["snapshots_in_period"] == .number("3") && demo["latest_snapshot"] == .number("3"))
    #expect(demo["latest_captured_at"] == .string("2024-05-31T23:59:59Z"))
    let results = try store.results(snapshotID: 3)
    for status in ResultStatus.allCases {
      #expect(demo[status.rawValue] == .number(String(results.filter { $0.status == status }.count)), "\(status)")
    }
    let register = try store.workflow.privileged(snapshot: "3", account: nil)
    #expect(demo["privileged_identities"] == .number(String(register[0].entries.count)))
    let model = try store.workflow.evidence(scope: .snapshot("3"), account: nil, generatedAt: TestSupport.fixedNow)
    #expect(demo["verdicts"] == .object(model.controlVerdicts.map { ($0.control.id, .string($0.verdict.rawValue)) }.sorted { $0.0 < $1.0 }))
    #expect(demo["gaps"] == .array([]))

    // The second account has a 61-day gap; the third was never exported.
    #expect(rows[1]["gaps"]?.arrayValue?.map { $0["days"] } == [.number("61")])
    let never = rows[2]
    #expect(never["snapshots_in_period"] == .number("0") && never["latest_snapshot"] == .null && never["latest_captured_at"] == .null)
    for key in ["fail", "error", "excepted", "pass", "privileged_identities"] { #expect(never[key] == .null, "\(key)") }
    #expect(
      never["verdicts"]
        == .object([("A.5.15", .string("no-evidence")), ("A.8.2", .string("no-evidence")), ("A.8.3", .string("no-evidence"))]))

    // Text: names beside ids, the organisation's verdict per control and the coverage gap.
    let text = try TestSupport.run(["accounts", "--db", db, "--scope", scope, "--from", "2024-03-01", "--to", "2024-05-31"])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.contains("444455556666  payments-prod"))
    #expect(text.stdout.contains("  A.8.2 Privileged access rights: not-effective ("))
    #expect(text.stdout.contains("coverage GAP: account 777788889999 is in scope and has no snapshot in the period"))
    let csv = try TestSupport.run(["accounts", "--db", db, "--scope", scope, "--format", "csv"])
    #expect(csv.stdout.hasPrefix("account,name,in_scope,snapshots_in_period,latest_snapshot,latest_captured_at,verdict A.8.2,"))
    #expect(csv.stdout.split(separator: "\n").count == 4)
    #expect(try ReadOnlyDatabaseTests.Fingerprint(URL(fileURLWithPath: db)) == before)
  }

  @Test func accountsRefusesABadScopeFileAndAnUnassessedSnapshot() throws {
    let (db, _, dir) = try Self.organisationDatabase()
    let bad = dir.appendingPathComponent("bad.json")
    try Data(#"{"accounts": [{"id": "111122223333"}, {"id": "111122223333"}]}"#.utf8).write(to: bad)
    let run = try TestSupport.run(["accounts", "--db", db, "--scope", bad.path])
    #expect(run.status == 2)
    #expect(run.stderr == "error: \(bad.path): $.accounts[1].id: account 111122223333 is listed twice (also at $.accounts[0].id)\n")
    #expect(run.stdout.isEmpty)
    // A latest snapshot whose results are gone reads as never assessed: refused, not "no evidence".
    try SQLiteConnection(path: db, mode: .readWrite).execute("DELETE FROM snapshot_results WHERE snapshot_id = 5")
    let unassessed = try TestSupport.run(["accounts", "--db", db])
    #expect(unassessed.status == 2)
    #expect(unassessed.stderr.contains("snapshot 5 was never assessed"), "\(unassessed.stderr)")
    // The period decides which snapshot is the latest: up to April, snapshot 4 is payments-prod's.
    let april = try TestSupport.run(["accounts", "--db", db, "--to", "2024-04-30", "--format", "json"])
    #expect(april.status == 0, "\(april.stderr)")
    #expect(try JSONParser.parse(april.stdout).arrayValue?.map { $0["latest_snapshot"] } == [.number("2"), .number("4")])
  }

  // MARK: Exceptions limited to accounts

  static let scopedRegister = """
    {"exceptions": [
      {"id": "EX-ORG-1", "check": "admin-access-identity", "accounts": ["111122223333"],
       "scope": {"principal": "OrganizationAccountAccessRole"},
       "justification": "Break-glass access of the management account.",
       "approved_by": "ciso@example.com", "approved_on": "2024-01-01", "expires_on": "2024-12-31"},
      {"id": "EX-ORG-2", "check": "user-direct-policies", "accounts": ["777788889999"],
       "scope": {"principal": "ci-deployer"},
       "justification": "Only in the sandbox.",
       "approved_by": "ciso@example.com", "approved_on": "2024-01-01", "expires_on": "2024-12-31"}
    ]}
    """

  @Test func anExceptionLimitedToOneAccountAppliesThereAndNotInAnother() throws {
    let store = try Self.organisationStore(register: Self.scopedRegister)
    func status(_ snapshot: Int) throws -> [ResultStatus] {
      try store.results(snapshotID: snapshot, check: "admin-access-identity")
        .filter { $0.principal?.name == "OrganizationAccountAccessRole" }.map(\.status)
    }
    #expect(try status(3) == [.excepted], "the demo account, listed")
    #expect(try store.results(snapshotID: 3).first { $0.status == .excepted }?.exception?.id == "EX-ORG-1")
    #expect(try status(5) == [.fail], "payments-prod, not listed")
    #expect(try store.results(snapshotID: 5).allSatisfy { $0.exception == nil })
    // An exception for another account is neither applied nor stale here.
    #expect(try store.latestAssessment(snapshotID: 3)?.staleExceptions == [])
    #expect(try store.latestAssessment(snapshotID: 5)?.staleExceptions == [])
    // The reports list only the exceptions that concern their account, with the accounts named.
    let period = ReportScope.period(from: Self.quarterFrom, to: Self.quarterTo)
    let demo = try store.workflow.evidence(scope: period, account: "111122223333", generatedAt: TestSupport.fixedNow)
    #expect(demo.exceptions.map(\.exception.id) == ["EX-ORG-1"])
    #expect(demo.exceptions.first?.appliedTo == 1 && demo.exceptions.first?.exception.accounts == ["111122223333"])
    let payments = try store.workflow.evidence(scope: period, account: "444455556666", generatedAt: TestSupport.fixedNow)
    #expect(payments.exceptions.isEmpty)
    let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))
    let outputs = try ReportRenderer.render(demo, templates: templates)
    let xml = try XMLDocument(string: String(decoding: try #require(outputs.first { $0.name == "evidence.xml" }).bytes, as: UTF8.self))
    let exception = try #require(
      try xml.nodes(matching: "/e:evidence/e:exceptions/e:exception[@id='EX-ORG-1']", namespaces: ["e": "urn:iam-evidence:evidence:1"])
        .first)
    #expect(exception.attribute("accounts") == "111122223333")
    let html = String(decoding: try #require(outputs.first { $0.name == "report.html" }).bytes, as: UTF8.self)
    #expect(html.contains("account <code class=\"wrap\">111122223333</code>"))
  }

  @Test func anExceptionWithoutAccountsAppliesInEveryAccountAndAnUnknownAccountInNone() throws {
    let register = try ExceptionRegister(bytes: Array(Self.scopedRegister.utf8), source: "x.json")
    let everywhere = try ExceptionRegister(
      bytes: Array(Self.scopedRegister.replacingOccurrences(of: #""accounts": ["111122223333"],"#, with: "").utf8), source: "x.json")
    let limited = try #require(register.exceptions.first)
    #expect(limited.applies(toAccount: "111122223333") && !limited.applies(toAccount: "444455556666"))
    #expect(!limited.applies(toAccount: nil), "an unknown account is not one of those listed")
    let open = try #require(everywhere.exceptions.first)
    #expect(open.accounts == nil && open.applies(toAccount: "444455556666") && open.applies(toAccount: nil))
  }

  @Test(arguments: [
    (#""accounts": []"#, "$.exceptions[0].accounts", "lists no account"),
    (#""accounts": ["11112222333"]"#, "$.exceptions[0].accounts[0]", "not a 12-digit AWS account id"),
    (#""accounts": [111122223333]"#, "$.exceptions[0].accounts[0]", "expected the account id as a string"),
    (#""accounts": ["111122223333", "111122223333"]"#, "$.exceptions[0].accounts[1]", "account 111122223333 is listed twice"),
    (#""accounts": "111122223333""#, "$.exceptions[0].accounts", "expected an array"),
  ])
  func invalidExceptionAccountsAreRefused(member: String, path: String, message: String) throws {
    let text = """
      {"exceptions": [{"id": "E1", "check": "admin-access-identity", \(member), "scope": {"principal": "x"},
        "justification": "j", "approved_by": "a", "approved_on": "2024-01-01", "expires_on": "2024-12-31"}]}
      """
    let error = #expect(throws: ExceptionRegisterError.self) { try ExceptionRegister(bytes: Array(text.utf8), source: "ex.json") }
    #expect(error?.path == path, "\(String(describing: error))")
    #expect(error?.message.contains(message) == true, "\(String(describing: error))")
  }

  // MARK: trend and diff --accounts

  /// `object` without its `account` member.
  static func untagged(_ value: JSONValue) -> JSONValue { .object((value.objectValue ?? []).filter { $0.key != "account" }) }

  @Test func trendAccountsTagsEveryItemAndMatchesEachAccountsOwnTrend() throws {
    let (db, scope, _) = try Self.organisationDatabase()
    let period = ["--from", "2024-03-01", "--to", "2024-05-31"]
    let run = try TestSupport.run(["trend", "--db", db, "--accounts", "all", "--scope", scope, "--format", "json"] + period)
    #expect(run.status == 0, "\(run.stderr)")
    let all = try JSONParser.parse(run.stdout)
    #expect(all.objectValue?.map(\.key) == ["accounts", "cadence_days", "findings", "gaps", "rows", "version_changes"])
    #expect(all["accounts"]?.arrayValue?.map { $0["account"]?.stringValue } == ["111122223333", "444455556666", "777788889999"])
    #expect(all["accounts"]?.arrayValue?.map { $0["snapshots"] } == [.number("3"), .number("2"), .number("0")])
    for key in ["rows", "findings", "gaps", "version_changes"] {
      let items = all[key]?.arrayValue ?? []
      #expect(items.allSatisfy { $0["account"]?.stringValue != nil }, "\(key) carry account")
    }
    for account in ["111122223333", "444455556666"] {
      let one = try TestSupport.run(["trend", "--db", db, "--account", account, "--format", "json"] + period)
      let single = try JSONParser.parse(one.stdout)
      #expect(single["account"] == .string(account))
      for key in ["rows", "findings", "gaps", "version_changes"] {
        let mine = (all[key]?.arrayValue ?? []).filter { $0["account"] == .string(account) }.map(Self.untagged)
        #expect(mine == single[key]?.arrayValue, "\(account) \(key)")
      }
    }
    // The account never exported: no rows, and its gap is the whole period.
    let never = (all["gaps"]?.arrayValue ?? []).filter { $0["account"] == .string("777788889999") }
    #expect(never.map { $0["days"] } == [.number("91")])
    // A list of ids, in the order given; text names each account; csv carries the account.
    let some = try TestSupport.run(["trend", "--db", db, "--accounts", "444455556666,111122223333", "--scope", scope] + period)
    #expect(some.status == 0, "\(some.stderr)")
    #expect(some.stdout.hasPrefix("account 444455556666 (payments-prod): 2 snapshots\n"))
    #expect(some.stdout.contains("\naccount 111122223333 (shared-services): 3 snapshots\n"))
    let csv = try TestSupport.run(["trend", "--db", db, "--accounts", "all", "--format", "csv"] + period)
    #expect(csv.stdout.hasPrefix("account,name,snapshot,captured_at,check,fail,error,excepted,pass,assessed,version\n111122223333,,1,"))
    // Refused: a bad id, an account unknown to the database and the scope, --account with --accounts.
    for (args, message) in [
      (["--accounts", "all,111122223333"], "\"all\" is not a 12-digit AWS account id"),
      (["--accounts", "123456789012"], "no snapshot of account 123456789012"),
      (["--accounts", "111122223333", "--account", "111122223333"], "give --account or --accounts, not both"),
    ] {
      let bad = try TestSupport.run(["trend", "--db", db] + args)
      #expect(bad.status == 2 && bad.stderr.contains(message), "\(args): \(bad.stderr)")
    }
  }

  @Test func diffAccountsComparesEachAccountsFirstAndLastSnapshotOfThePeriod() throws {
    let (db, scope, _) = try Self.organisationDatabase()
    let run = try TestSupport.run(["diff", "--db", db, "--accounts", "all", "--scope", scope, "--format", "json"])
    #expect(run.status == 0, "\(run.stderr)")
    let all = try JSONParser.parse(run.stdout)
    let accounts = try #require(all["accounts"]?.arrayValue)
    #expect(accounts.map { $0["account"]?.stringValue } == ["111122223333", "444455556666", "777788889999"])
    #expect(accounts.map { $0["from_snapshot"] } == [.number("1"), .number("4"), .null])
    #expect(accounts.map { $0["to_snapshot"] } == [.number("3"), .number("5"), .null])
    #expect(accounts[2]["drift"] == .null && accounts[2]["snapshots_in_period"] == .number("0"))
    for (i, (from, to)) in [("1", "3"), ("4", "5")].enumerated() {
      let one = try JSONParser.parse(try TestSupport.run(["diff", "--db", db, from, to, "--format", "json"]).stdout)
      let drift = try #require(accounts[i]["drift"])
      // The same drift, every finding tagged with its account.
      for list in drift["findings"]?.objectValue ?? [] {
        #expect(list.value.arrayValue?.allSatisfy { $0["account"] == accounts[i]["account"] } == true)
        #expect(list.value.arrayValue?.map(Self.untagged) == one["findings"]?[list.key]?.arrayValue)
      }
      #expect(Self.withoutFindings(drift) == Self.withoutFindings(one))
    }
    // A period that leaves payments-prod one snapshot: nothing to compare there.
    let text = try TestSupport.run(["diff", "--db", db, "--accounts", "all", "--scope", scope, "--from", "2024-04-01"])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(
      text.stdout.hasPrefix(
        "== account 111122223333 (shared-services): 2 snapshots in the period\ndrift of account 111122223333: snapshot 2"))
    #expect(text.stdout.contains("== account 444455556666 (payments-prod): 1 snapshot in the period\nnothing to compare: one snapshot (5,"))
    #expect(
      text.stdout.contains("== account 777788889999: 0 snapshots in the period\ncoverage GAP: in scope and no snapshot in the period\n"))
    for (args, message) in [
      (["--accounts", "all", "1", "3"], "give the period with --from and --to instead of FROM and TO"),
      (["--accounts", "all", "--format", "html"], "--accounts writes text or json"),
      (["--from", "2024-01-01", "1", "3"], "--scope, --from and --to go with --accounts"),
      (["1"], "give the two snapshots to compare"),
    ] {
      let bad = try TestSupport.run(["diff", "--db", db] + args)
      #expect(bad.status == 2 && bad.stderr.contains(message), "\(args): \(bad.stderr)")
    }
  }

  static func withoutFindings(_ drift: JSONValue) -> JSONValue { .object((drift.objectValue ?? []).filter { $0.key != "findings" }) }

  /// One account, without --accounts: the output keeps its shape (no `account` on rows, the same
  /// members, the same text header and CSV columns) whatever else the database holds.
  @Test func singleAccountTrendAndDiffKeepTheirShape() throws {
    let (db, _, _) = try Self.organisationDatabase()
    let json = try JSONParser.parse(try TestSupport.run(["trend", "--db", db, "--account", "444455556666", "--format", "json"]).stdout)
    #expect(json.objectValue?.map(\.key) == ["account", "cadence_days", "findings", "gaps", "rows", "version_changes"])
    #expect(
      json["rows"]?.arrayValue?.first?.objectValue?.map(\.key) == [
        "assessed", "captured_at", "check", "error", "excepted", "fail", "pass", "snapshot", "version",
      ])
    let store = try EvidenceStore(readingAt: db)
    let report = try store.workflow.trend(account: "444455556666", from: nil, to: nil)
    #expect(
      try TestSupport.run(["trend", "--db", db, "--account", "444455556666", "--format", "json"]).stdout
        == JSONWriter.pretty(report.jsonValue) + "\n")
    #expect(try TestSupport.run(["trend", "--db", db, "--account", "444455556666", "--format", "csv"]).stdout == CSV.trend(report))
    let text = try TestSupport.run(["trend", "--db", db, "--account", "444455556666"]).stdout
    #expect(text.hasPrefix("account 444455556666: 2 snapshots\nSNAPSHOT  CAPTURED-AT"))
    #expect(text.hasSuffix("coverage GAP: 61 days from 2024-03-31 to 2024-05-31 (cadence 31 days)\n"))
    let drift = try store.workflow.drift(from: "4", to: "5", account: nil)
    #expect(try TestSupport.run(["diff", "--db", db, "4", "5", "--format", "json"]).stdout == JSONWriter.pretty(drift.jsonValue) + "\n")
    #expect(try TestSupport.run(["diff", "--db", db, "4", "5"]).stdout == DriftText.render(drift))
  }

  // MARK: Many accounts in one database

  /// The ledger digests a result list in range scans; keys spread over the table (a new account's
  /// results reusing a few rows stored with the first account's) are read in several scans, and the
  /// digest, the rows handed on and the keys reported missing are those of reading each key alone.
  @Test func spreadKeysAreDigestedAsEachKeyAlone() throws {
    let dir = try TestSupport.temporaryDirectory()
    let db = try SQLiteConnection(path: dir.appendingPathComponent("t.sqlite").path)
    try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    let insert = try db.prepare("INSERT INTO t (id, v) VALUES (?, ?)")
    for i in 1...5_000 where i % 7 != 0 { try insert.execute([i, "row \(i)"]) }
    let range = try db.prepare("SELECT id, v FROM t WHERE id BETWEEN ? AND ? ORDER BY id")
    // Near keys (one scan), a key listed twice, far keys (scans of their own), missing keys (multiples of 7).
    let keys: [Int64] = [1, 2, 2, 3, 7, 40, 100, 101, 2_000, 2_001, 2_002, 4_900, 4_998, 4_999, 5_000]
    var spread = RowDigest()
    var seen: [Int64] = []
    var missing: [Int64] = []
    try spread.rows(keyedBy: keys, range, each: { seen.append($0.int64(0) ?? -1) }, missing: { missing.append($0) })
    var alone = RowDigest()
    var expected: [Int64] = []
    for key in keys {
      let n = try alone.rows(range, [key, key]) { expected.append($0.int64(0) ?? -1) }
      #expect(n == (key % 7 == 0 ? 0 : 1))
    }
    #expect(seen == expected)
    #expect(missing == [7, 2_002, 4_900, 4_998])
    #expect(spread.hex() == alone.hex())
  }

  // MARK: Demo

  @Test func theDemoShowsTheOrganisationsCoverageGap() throws {
    let dir = try TestSupport.temporaryDirectory()
    let run = try TestSupport.run(
      ["demo", "--db", "d/demo.sqlite"], environment: ["SOURCE_DATE_EPOCH": "1720000000"], cwd: dir)
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.contains("777788889999  analytics-sandbox  in     0"))
    #expect(run.stdout.contains("coverage GAP: account 777788889999 (analytics-sandbox) is in scope and has no snapshot in the period"))
    #expect(
      run.stdout.contains(
        "  A.8.2 Privileged access rights: not-effective (not-effective: 2 (111122223333 (shared-services), 444455556666 (payments-prod)); no-evidence: 1 (777788889999 (analytics-sandbox)))"
      ))
    // The report is the demo account's.
    let xml = try XMLDocument(
      string: String(decoding: try TestSupport.bytes(dir.appendingPathComponent("d/report/evidence.xml")), as: UTF8.self))
    let scope = try #require(try xml.nodes(matching: "/e:evidence/e:scope", namespaces: ["e": "urn:iam-evidence:evidence:1"]).first)
    #expect(scope.attribute("account") == "111122223333")
    #expect(try xml.nodes(matching: "/e:evidence/e:scope/e:snapshot", namespaces: ["e": "urn:iam-evidence:evidence:1"]).count == 3)
  }
}
