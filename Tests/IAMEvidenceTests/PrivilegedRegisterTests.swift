import Foundation
import Testing
import XMLTree

@testable import IAMEvidence

/// A synthetic account for the privileged-access register: snapshots written through the store API
/// and results of the register's checks (including checks of issues 12 and 13 that are not in the
/// catalog yet) stored as assessments.
struct RegisterFixture {
  /// The mapping issue 13 specifies, injected: the catalog declares only `kms-full-access` so far.
  static let map = CapabilityMap([
    "admin-access-identity": "admin",
    "privilege-escalation-identity": "escalation",
    "kms-full-access-identity": "kms-full-access",
    "role-trust-public": PrivilegeCapability("public-trust", principalTypes: [.role]),
    "role-trust-oidc-unrestricted": PrivilegeCapability("oidc-unrestricted", principalTypes: [.role]),
  ])
  static let checks = map.checkIDs.map { CheckVersion(id: $0, version: 1) }
  static let account = "123456789012"

  let store: EvidenceStore
  let dir: URL

  init() throws { (store, dir) = try TestSupport.makeStore() }

  static func user(_ name: String, id: String? = nil) -> PrincipalRef {
    PrincipalRef(type: .user, id: id ?? "AIDA" + name.uppercased(), name: name, arn: "arn:aws:iam::\(account):user/\(name)")
  }

  static func role(_ name: String) -> PrincipalRef {
    PrincipalRef(type: .role, id: "AROA" + name.uppercased(), name: name, arn: "arn:aws:iam::\(account):role/\(name)")
  }

  /// A result of `check` (version 1 unless given) for `p`.
  static func result(
    _ check: String, _ status: ResultStatus, _ p: PrincipalRef, version: Int = 1, sources: [GrantSource] = [], methods: [String] = [],
    methodSources: [MethodSources] = [], exception: AppliedException? = nil
  ) -> CheckResult {
    CheckResult(
      checkID: check, checkVersion: version, status: status, principal: p, why: "\(check) \(status.rawValue) for \(p.name)",
      exception: exception, sources: sources, methods: methods, methodSources: methodSources)
  }

  /// Writes a snapshot captured at `capturedAt` holding `principals` (roles with `lastUsed`).
  func snapshot(_ capturedAt: String, _ principals: [PrincipalRef], lastUsed: [String: (String, String)] = [:]) throws -> SnapshotRecord {
    let snapshot = AuthorizationSnapshot(
      principals: principals.map { p in
        Principal(
          type: p.type, id: p.id, name: p.name, arn: p.arn, roleLastUsedDate: lastUsed[p.name].flatMap { Timestamp(parsing: $0.0) },
          roleLastUsedRegion: lastUsed[p.name]?.1)
      }, managedPolicies: [])
    let at = Timestamp(parsing: capturedAt)!
    let outcome = try store.insertSnapshot(
      snapshot,
      NewSnapshot(
        account: Self.account, capturedAt: at, capturedAtSource: .option, ingestedAt: at, sourceName: "synthetic-\(capturedAt).json",
        byteSize: 1, sha256: Digest.sha256(Array(capturedAt.utf8)), label: nil))
    guard case .ingested(let record) = outcome else { throw StoreError(path: "", message: "not ingested") }
    return record
  }

  /// Stores an assessment of `s` with `results`, for `checks` (default: every register check, v1).
  func assess(_ s: SnapshotRecord, _ results: [CheckResult], checks: [CheckVersion] = checks) throws {
    try store.insertAssessment(
      NewAssessment(
        snapshotID: s.id, assessedAt: TestSupport.fixedNow, checks: checks, exceptionsSource: nil,
        exceptionsSHA256: ExceptionRegister.empty.sha256, exceptionsContent: "", staleExceptions: []),
      results: results)
  }
}

@Suite(.temporaryDirectories) struct PrivilegedRegisterTests {
  typealias F = RegisterFixture
  static let snapshot = SnapshotRecord(
    id: 7, account: F.account, capturedAt: Timestamp(parsing: "2024-06-30T23:00:00Z")!, capturedAtSource: .option,
    ingestedAt: Timestamp(parsing: "2024-07-01T00:00:00Z")!, sourceName: "s.json", byteSize: 1, sha256: String(repeating: "a", count: 64),
    encoding: "cli", toolVersion: "test", label: nil, isTruncated: false,
    counts: SnapshotCounts(users: 0, groups: 0, roles: 0, managedPolicies: 0, inlinePolicies: 0))

  // MARK: The register of one snapshot (pure)

  @Test func failAndExceptedCountErrorAndPassDoNotRolesOnlyForTrust() {
    let alice = F.user("alice")
    let bob = F.user("bob")
    let carol = F.user("carol")
    let deploy = F.role("deploy")
    let web = F.role("web")
    let ci = F.role("ci")
    let group = PrincipalRef(type: .group, id: "AGPAADMINS", name: "admins", arn: "arn:aws:iam::\(F.account):group/admins")
    let exception = AppliedException(id: "EXC-1", approvedBy: "CISO", expiresOn: "2024-12-31")
    let admin = GrantSource(kind: "managed", policyName: "AdministratorAccess", policyARN: "arn:aws:iam::aws:policy/AdministratorAccess")
    let pass = GrantSource(kind: "group-inline", policyName: "pass", viaGroup: "devs")
    let run = GrantSource(kind: "managed", policyName: "ec2", policyARN: "arn:aws:iam::\(F.account):policy/ec2")
    let keys = GrantSource(kind: "inline", policyName: "keys")
    let results = [
      F.result("admin-access-identity", .fail, alice, sources: [admin]),
      F.result("kms-full-access-identity", .excepted, alice, sources: [admin], exception: exception),
      // Unsorted methods in, sorted out; sources per method.
      F.result(
        "privilege-escalation-identity", .fail, deploy, methods: ["passrole-ec2", "iam-create-access-key"],
        methodSources: [
          MethodSources(method: "passrole-ec2", sources: [pass, run]), MethodSources(method: "iam-create-access-key", sources: [keys]),
        ]),
      F.result("role-trust-public", .excepted, web, exception: AppliedException(id: "EXC-2", approvedBy: "CTO", expiresOn: "2025-01-31")),
      F.result("role-trust-oidc-unrestricted", .fail, ci),
      // Neither error nor pass gives a capability; trust capabilities are for roles only; groups hold none.
      F.result("admin-access-identity", .error, bob),
      F.result("kms-full-access-identity", .pass, bob),
      F.result("role-trust-public", .fail, carol),
      F.result("admin-access-identity", .fail, group),
      F.result("kms-full-access-inline", .fail, carol),
    ]
    let entries = PrivilegedRegister.entries(
      snapshot: Self.snapshot, results: results, capabilities: F.map,
      roleUsage: [deploy.id: RoleLastUse(date: Timestamp(parsing: "2024-06-01T10:00:00Z"), region: "eu-west-1")],
      since: [PrivilegedRegister.key(alice): Timestamp(parsing: "2024-01-31T23:00:00Z")!])
    // Reading order: capabilities, then name.
    #expect(entries.map(\.principal.name) == ["alice", "deploy", "ci", "web"])
    #expect(entries.map(\.capabilities) == [["admin", "kms-full-access"], ["escalation"], ["oidc-unrestricted"], ["public-trust"]])
    let a = entries[0]
    #expect(a.privilegedSince == Timestamp(parsing: "2024-01-31T23:00:00Z"))
    #expect(a.lastUsed == nil)
    #expect(a.exceptions.map(\.exception.id) == ["EXC-1"] && a.exceptions.map(\.capability) == ["kms-full-access"])
    #expect(a.sources.map(\.capability) == ["admin", "kms-full-access"])
    #expect(!a.isFullyExcepted)
    let d = entries[1]
    #expect(d.methods == ["iam-create-access-key", "passrole-ec2"])
    #expect(d.sources.map(\.method) == ["iam-create-access-key", "passrole-ec2", "passrole-ec2"])
    #expect(d.sources.map(\.source) == [keys, pass, run])
    #expect(d.lastUsed == RoleLastUse(date: Timestamp(parsing: "2024-06-01T10:00:00Z"), region: "eu-west-1"))
    // A principal missing from the run starts now.
    #expect(d.privilegedSince == Self.snapshot.capturedAt)
    #expect(entries[2].lastUsed == RoleLastUse(date: nil, region: nil), "a role with no recorded use")
    #expect(entries[3].isFullyExcepted && entries[3].exceptions.map(\.exception.id) == ["EXC-2"])

    // The JSON fields (`privileged --format json`).
    let dj = d.jsonValue
    #expect(dj["methods"] == .array([.string("iam-create-access-key"), .string("passrole-ec2")]))
    #expect(
      dj["sources"]?.arrayValue?.map { $0["method"] } == [
        .string("iam-create-access-key"), .string("passrole-ec2"), .string("passrole-ec2"),
      ])
    #expect(dj["sources"]?.arrayValue?[1]["label"] == .string("group devs: inline pass"))
    #expect(dj["last_used"] == .object([("date", .string("2024-06-01T10:00:00Z")), ("region", .string("eu-west-1"))]))
    #expect(entries[2].jsonValue["last_used"] == .object([("date", .null), ("region", .null)]))
    let aj = a.jsonValue
    #expect(aj["last_used"] == .null)
    #expect(aj["capabilities"] == .array([.string("admin"), .string("kms-full-access")]))
    #expect(
      aj["exceptions"]?.arrayValue?.first
        == .object([
          ("capability", .string("kms-full-access")), ("check", .string("kms-full-access-identity")), ("id", .string("EXC-1")),
          ("approved_by", .string("CISO")), ("expires_on", .string("2024-12-31")),
        ]))
    #expect(aj["privileged_since"] == .string("2024-01-31T23:00:00Z"))
  }

  /// The catalog declares the capability of every check issue 13 names that exists, with the
  /// principal types the issue gives (guards the declarations of checks added later).
  @Test func theCatalogDeclaresTheIssuesMapping() {
    let catalog = CapabilityMap.catalog
    #expect(catalog.byCheck["kms-full-access-identity"] == "kms-full-access")
    for check in CheckCatalog.all.map(\.description.id) {
      #expect(catalog.byCheck[check] == F.map.byCheck[check], "\(check)")
    }
    // The mapping is data: a description without a capability gives none.
    #expect(CapabilityMap(checks: CheckCatalog.all.map(\.description)).checkIDs == catalog.checkIDs)
    #expect(CheckCatalog.check(id: "kms-full-access-inline")?.description.capability == nil)
  }

  // MARK: Escalation fields of CheckResult

  @Test func methodsAndMethodSourcesRoundTripAndAreAbsentOtherwise() throws {
    let weird = "q\"uo\\te\n\u{1}é😀</script>"
    let r = F.result(
      "privilege-escalation-identity", .fail, F.user(weird), sources: [GrantSource(kind: "inline", policyName: weird)],
      methods: ["iam-put-user-policy", "passrole-ec2"],
      methodSources: [
        MethodSources(method: "iam-put-user-policy", sources: [GrantSource(kind: "inline", policyName: weird)]),
        MethodSources(
          method: "passrole-ec2",
          sources: [
            GrantSource(kind: "group-managed", policyName: "p", policyARN: "arn:aws:iam::1:policy/p", viaGroup: weird),
            GrantSource(kind: "inline", policyName: "x"),
          ]),
      ])
    #expect(r.storedCanonicalBytes == JSONWriter.canonicalBytes(r.storedJSON))
    let back = try #require(CheckResult(json: try JSONParser.parse(String(decoding: r.storedCanonicalBytes, as: UTF8.self))))
    #expect(back == r)
    let json = r.jsonValue(snapshot: 3)
    #expect(json["methods"] == .array([.string("iam-put-user-policy"), .string("passrole-ec2")]))
    #expect(json["method_sources"]?.arrayValue?.count == 2)

    // Every other result keeps the bytes it had before these fields existed: no new member.
    let plain = F.result("kms-full-access-identity", .fail, F.user("a"), sources: [GrantSource(kind: "inline", policyName: "x")])
    #expect(plain.storedCanonicalBytes == JSONWriter.canonicalBytes(plain.storedJSON))
    #expect(plain.jsonValue(snapshot: 1)["methods"] == nil && plain.jsonValue(snapshot: 1)["method_sources"] == nil)
    let text = String(decoding: plain.storedCanonicalBytes, as: UTF8.self)
    #expect(!text.contains("method"))
    #expect(text.contains(#""inherited_by":[],"notes":[]"#))
  }

  // MARK: Privileged since, through the store

  /// Six snapshots: a gap where alice holds nothing (her run starts again), bob deleted and
  /// recreated under the same ARN (a new run), carol with an error result (no capability), a
  /// snapshot never assessed (neither ends nor extends a run), and a check assessed again in a new
  /// version (only the latest assessment's version counts).
  static func history() throws -> (F, [SnapshotRecord]) {
    let f = try F()
    let alice = F.user("alice")
    let bob1 = F.user("bob", id: "AIDABOB1")
    let bob2 = F.user("bob", id: "AIDABOB2")
    let carol = F.user("carol")
    let dave = F.user("dave")
    let eve = F.user("eve")
    let r = F.role("partner-access")
    let everyone1 = [alice, bob1, carol, dave, eve, r]
    let everyone2 = [alice, bob2, carol, dave, r]
    let used = ["partner-access": ("2024-04-20T08:00:00Z", "eu-central-1")]
    let s1 = try f.snapshot("2024-01-31T23:00:00Z", everyone1)
    let s2 = try f.snapshot("2024-02-29T23:00:00Z", everyone1)
    let s3 = try f.snapshot("2024-03-31T23:00:00Z", everyone1)
    let s4 = try f.snapshot("2024-04-30T23:00:00Z", everyone2, lastUsed: used)
    let s5 = try f.snapshot("2024-05-15T23:00:00Z", everyone2, lastUsed: used)  // never assessed
    let s6 = try f.snapshot("2024-05-31T23:00:00Z", everyone2)
    let trust = { (s: ResultStatus) in F.result("role-trust-public", s, r) }
    try f.assess(
      s1,
      [
        F.result("admin-access-identity", .fail, alice), F.result("kms-full-access-identity", .fail, bob1),
        F.result("kms-full-access-identity", .fail, eve), trust(.fail),
      ])
    try f.assess(
      s2,
      [
        F.result("admin-access-identity", .fail, alice), F.result("kms-full-access-identity", .fail, bob1),
        F.result("kms-full-access-identity", .error, carol), trust(.fail),
      ])
    try f.assess(
      s3,
      [
        F.result("admin-access-identity", .pass, alice), F.result("kms-full-access-identity", .fail, bob1),
        F.result("kms-full-access-identity", .fail, carol), trust(.fail),
      ])
    try f.assess(
      s4,
      [
        F.result("privilege-escalation-identity", .fail, alice, methods: ["iam-create-access-key", "passrole-ec2"]),
        F.result("admin-access-identity", .fail, bob2), F.result("kms-full-access-identity", .pass, carol), trust(.fail),
      ])
    _ = s5
    try f.assess(
      s6,
      [
        F.result(
          "privilege-escalation-identity", .excepted, alice, methods: ["lambda-update-function-code"],
          exception: AppliedException(id: "EXC-9", approvedBy: "CISO", expiresOn: "2024-12-31")),
        F.result("admin-access-identity", .fail, alice), F.result("admin-access-identity", .fail, bob2),
        F.result("kms-full-access-identity", .fail, dave), trust(.excepted),
      ])
    // kms-full-access-identity assessed again in version 2: dave passes; version 1 no longer counts.
    try f.assess(
      s6, [F.result("kms-full-access-identity", .pass, dave, version: 2)],
      checks: [CheckVersion(id: "kms-full-access-identity", version: 2)])
    return (f, try f.store.snapshots())
  }

  @Test func privilegedSinceAcrossSnapshotsGapsRecreatedPrincipalsAndVersions() throws {
    let (f, s) = try Self.history()
    #expect(s.count == 6)
    let workflow = f.store.workflow
    let latest = try #require(try workflow.privileged(snapshot: "latest", account: nil, capabilities: F.map).first)
    #expect(latest.snapshot.id == s[5].id)
    let byName = Dictionary(uniqueKeysWithValues: latest.entries.map { ($0.principal.name, $0) })
    // bob (recreated) before alice: ["admin"] sorts before ["admin", "escalation"].
    #expect(latest.entries.map(\.principal.name) == ["bob", "alice", "partner-access"])
    // alice: admin in 1-2, nothing in 3 (a gap), escalation from 4 on; 5 was never assessed.
    #expect(byName["alice"]?.privilegedSince == s[3].capturedAt)
    #expect(byName["alice"]?.capabilities == ["admin", "escalation"])
    #expect(byName["alice"]?.methods == ["lambda-update-function-code"])
    #expect(byName["alice"]?.exceptions.map(\.exception.id) == ["EXC-9"])
    // bob: same ARN, new unique id from snapshot 4: starts again.
    #expect(byName["bob"]?.principal.id == "AIDABOB2")
    #expect(byName["bob"]?.privilegedSince == s[3].capturedAt)
    // The role: privileged in every assessed snapshot (excepted in the last), last use from snapshot 6.
    #expect(byName["partner-access"]?.privilegedSince == s[0].capturedAt)
    #expect(byName["partner-access"]?.lastUsed == RoleLastUse(date: nil, region: nil))
    // dave failed version 1 of the KMS check, but version 2, assessed later, counts: not privileged.
    #expect(byName["dave"] == nil)

    // Every snapshot: the counts follow the same rules (error does not count, version 2 wins).
    let all = try workflow.privileged(snapshot: "all", account: nil, capabilities: F.map)
    #expect(all.map(\.snapshot.id) == [s[0].id, s[1].id, s[2].id, s[3].id, s[5].id], "snapshot 5 was never assessed")
    #expect(all.map(\.entries.count) == [4, 3, 3, 3, 3])
    let third = Dictionary(uniqueKeysWithValues: all[2].entries.map { ($0.principal.name, $0) })
    #expect(third["carol"]?.privilegedSince == s[2].capturedAt, "an error in snapshot 2 is no capability")
    #expect(third["bob"]?.principal.id == "AIDABOB1" && third["bob"]?.privilegedSince == s[0].capturedAt)
    #expect(third["alice"] == nil)
    let fourth = Dictionary(uniqueKeysWithValues: all[3].entries.map { ($0.principal.name, $0) })
    #expect(fourth["partner-access"]?.lastUsed == RoleLastUse(date: Timestamp(parsing: "2024-04-20T08:00:00Z"), region: "eu-central-1"))
    let counts = try workflow.privilegedHistory(through: s[5], registersOf: [], capabilities: F.map).counts
    #expect(counts.map(\.count) == [4, 3, 3, 3, 0, 3])
    #expect(counts.map(\.assessed) == [true, true, true, true, false, true])
    // The pure builder on its own agrees.
    var builder = PrivilegeHistoryBuilder(capabilities: F.map)
    for snapshot in s {
      let (lists, open) = try f.store.openPrincipalResults(snapshotID: snapshot.id, checks: F.map.checkIDs)
      builder.add(snapshot, lists: lists, open: open)
    }
    #expect(builder.counts == counts)
    #expect(builder.since[PrivilegedRegister.key(F.user("alice"))] == s[3].capturedAt)
  }

  /// The register's read of `RoleLastUsed` (the snapshot's usage list) gives what the snapshot holds.
  @Test func roleLastUseIsTheSnapshots() throws {
    let (store, _) = try TestSupport.makeStore()
    for (month, day) in [("2024-01", "31"), ("2024-03", "31")] {
      let r = try TestSupport.ingest(store, TestSupport.fixture("dev-series/\(month).json"), capturedAt: "\(month)-\(day)T23:00:00Z")
      var expected: [String: RoleLastUse] = [:]
      for p in try store.loadSnapshot(id: r.id).principals where p.type == .role {
        if p.roleLastUsedDate != nil || p.roleLastUsedRegion != nil {
          expected[p.id] = RoleLastUse(date: p.roleLastUsedDate, region: p.roleLastUsedRegion)
        }
      }
      #expect(!expected.isEmpty)
      #expect(try store.roleLastUse(snapshotID: r.id) == expected)
      // And the principals view agrees on how many roles have one.
      #expect(
        try store.count(
          """
          SELECT count(*) FROM principals WHERE snapshot_id = ? AND principal_type = 'role'
          AND (role_last_used_date IS NOT NULL OR role_last_used_region IS NOT NULL)
          """, [r.id]) == expected.count)
    }
  }

  @Test func theLatestAssessedVersionOfACheckCounts() {
    let lists = [
      ResultListRecord(checkID: "a", checkVersion: 2, assessmentID: 3), ResultListRecord(checkID: "a", checkVersion: 1, assessmentID: 5),
      ResultListRecord(checkID: "b", checkVersion: 1, assessmentID: 4), ResultListRecord(checkID: "b", checkVersion: 2, assessmentID: 4),
    ]
    #expect(ResultListRecord.currentVersions(lists) == [CheckVersion(id: "a", version: 1), CheckVersion(id: "b", version: 2)])
  }

  // MARK: The CLI

  @Test func privilegedCommandListsTheRegisterAndWritesNothing() throws {
    let (f, s) = try Self.history()
    let db = f.dir.appendingPathComponent("evidence.sqlite")
    _ = try f.store.fileSize()  // checkpoint: everything in the main file, the WAL empty
    func state() -> [Data] {
      ["", "-wal"].map { suffix in (try? Data(contentsOf: URL(fileURLWithPath: db.path + suffix))) ?? Data() }
    }
    let before = state()
    // Snapshot 3 has bob (AIDABOB1) and carol, both with full KMS access, and the role
    // partner-access, whose trust policy lets anyone assume it (role-trust-public).
    let run = try TestSupport.run(["privileged", "--db", db.path, "--snapshot", String(s[2].id), "--format", "json"])
    #expect(run.status == 0, "\(run.stderr)")
    let json = try JSONParser.parse(run.stdout)
    let objects = try #require(json.arrayValue)
    #expect(objects.count == 3)
    for o in objects {
      #expect(
        Set(o.objectValue?.map(\.key) ?? []) == [
          "snapshot", "principal_type", "principal_name", "principal_arn", "principal_id", "capabilities", "methods", "sources",
          "exceptions", "last_used", "privileged_since",
        ])
      #expect(o["snapshot"] == .number(String(s[2].id)))
    }
    let users = objects.filter { $0["principal_type"] == .string("user") }
    for o in users {
      #expect(o["capabilities"] == .array([.string("kms-full-access")]))
      #expect(o["last_used"] == .null, "users have no RoleLastUsed")
    }
    #expect(users.map { $0["principal_id"]?.stringValue } == ["AIDABOB1", "AIDACAROL"])
    #expect(users.map { $0["privileged_since"]?.stringValue } == [s[0].capturedAt.description, s[2].capturedAt.description])
    let role = try #require(objects.first { $0["principal_type"] == .string("role") })
    #expect(role["principal_name"] == .string("partner-access"))
    #expect(role["capabilities"] == .array([.string("public-trust")]))
    #expect(role["last_used"]?.objectValue != nil, "roles carry RoleLastUsed (here empty)")
    let csv = try TestSupport.run(["privileged", "--db", db.path, "--snapshot", "all", "--format", "csv"])
    #expect(csv.status == 0, "\(csv.stderr)")
    let lines = csv.stdout.split(separator: "\n")
    #expect(lines.first?.hasPrefix("snapshot,principal_type,principal_name,principal_arn,principal_id,capabilities,") == true)
    // Users (stored results): alice (an administrator in 1, 2 and 6, escalation in 4), eve and bob
    // (KMS) in 1, bob in 2, bob and carol in 3, the recreated bob (AIDABOB2, an administrator) in 4
    // and 6; none in 5 (never assessed).
    let userLines = lines.dropFirst().filter { $0.split(separator: ",", omittingEmptySubsequences: false).dropFirst().first == "user" }
    #expect(userLines.count == 3 + 2 + 2 + 2 + 0 + 2, "\(csv.stdout)")
    #expect(lines.contains("4,user,bob,arn:aws:iam::123456789012:user/bob,AIDABOB2,admin,,,,,,2024-04-30T23:00:00Z"))
    // Every line of snapshot 6 is counted by the text form's heading.
    let latest = lines.dropFirst().filter { $0.hasPrefix("\(s[5].id),") }.count
    let text = try TestSupport.run(["privileged", "--db", db.path])
    #expect(
      text.status == 0 && text.stdout.hasPrefix("snapshot \(s[5].id) (2024-05-31T23:00:00Z): \(latest) privileged identities"),
      "\(text.stdout.prefix(200))")
    // Reading commands never write to the database.
    #expect(state() == before)
    // A snapshot never assessed is an error, not an empty register.
    let unassessed = try TestSupport.run(["privileged", "--db", db.path, "--snapshot", String(s[4].id)])
    #expect(unassessed.status == 2 && unassessed.stderr.contains("was never assessed"))
  }

  // MARK: Drift

  @Test func diffListsPrivilegesGainedAndLostButNotMethodChanges() throws {
    let (f, s) = try Self.history()
    let workflow = f.store.workflow
    // 3 → 4: bob (new id) gains admin, alice gains escalation; the old bob and carol lose KMS.
    let d = try workflow.drift(from: s[2].id, to: s[3].id, capabilities: F.map)
    #expect(
      d.privileges.gained.map { "\($0.capability) \($0.principal.name) \($0.principal.id)" } == [
        "admin bob AIDABOB2", "escalation alice AIDAALICE",
      ])
    #expect(
      d.privileges.lost.map { "\($0.capability) \($0.principal.name) \($0.principal.id)" } == [
        "kms-full-access bob AIDABOB1", "kms-full-access carol AIDACAROL",
      ])
    // 4 → 6: alice's escalation methods change entirely and she gains admin; escalation is no gain or loss.
    let later = try workflow.drift(from: s[3].id, to: s[5].id, capabilities: F.map)
    #expect(later.privileges.gained.map { "\($0.capability) \($0.principal.name)" } == ["admin alice"])
    #expect(later.privileges.lost.isEmpty)

    // JSON: gained and lost with exactly the three fields; first in the document.
    let json = d.jsonValue
    #expect(json.objectValue?.firstIndex { $0.key == "privileges" } == 5)
    let gained = try #require(json["privileges"]?["gained"]?.arrayValue)
    #expect(gained.first?.objectValue?.map(\.key).sorted() == ["capability", "principal_arn", "principal_id"])
    #expect(gained.first?["principal_arn"] == .string("arn:aws:iam::\(F.account):user/bob"))
    // Text and HTML show it first.
    let text = DriftText.render(d).split(separator: "\n")
    #expect(text[1] == "privileges gained: 2" && text[2].hasPrefix("  + admin  user bob"))
    #expect(text[4] == "privileges lost: 2")
    let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))
    let html = try HTMLReportTests.parse(try DriftHTML.render(d, templates: templates))
    let first = try #require(try html.firstNode(matching: "//h:body/h:section", namespaces: HTMLReportTests.ns))
    #expect(first.attribute("id") == "privileges")
    #expect(first.textContent.contains("AIDABOB2") && first.textContent.contains("2 gained, 2 lost"))
    // XML: valid against the schema, with both lists.
    let xml = try XMLDocument(bytes: try DriftXML.render(d, templates: templates))
    let ns = ["e": EvidenceXML.namespace]
    #expect(try xml.nodes(matching: "/e:drift/e:privileges/e:gained/e:change", namespaces: ns).count == 2)
    #expect(try xml.firstNode(matching: "/e:drift/e:privileges/e:lost", namespaces: ns)?.attribute("count") == "2")

    // The pure comparison: a method change within escalation is neither gained nor lost.
    let p = F.user("x")
    func entry(_ held: [HeldCapability]) -> PrivilegedPrincipal {
      PrivilegedPrincipal(snapshotID: 1, principal: p, held: held, lastUsed: nil, privilegedSince: Self.snapshot.capturedAt)
    }
    let old = entry([HeldCapability(code: "escalation", checkID: "e", checkVersion: 1, status: .fail, methods: ["passrole-ec2"])])
    let new = entry([HeldCapability(code: "escalation", checkID: "e", checkVersion: 1, status: .excepted, methods: ["iam-put-user-policy"])]
    )
    #expect(PrivilegeDrift.between([old], [new]).isEmpty)
    #expect(PrivilegeDrift.between([old], []).lost.map(\.capability) == ["escalation"])
  }

  // MARK: Evidence, OSCAL and the report

  @Test func evidenceXMLAndOSCALCarryTheRegisterAndStayValid() throws {
    let (f, s) = try Self.history()
    let model = try f.store.workflow.evidence(
      scope: .period(from: s[0].capturedAt, to: s[3].capturedAt), account: nil, generatedAt: TestSupport.fixedNow, capabilities: F.map)
    #expect(model.current.id == s[3].id)
    #expect(model.privileged.map(\.principal.name) == ["bob", "alice", "partner-access"])
    #expect(model.privilegedCounts.map(\.count) == [4, 3, 3, 3])

    let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))
    // evidence.xml: rendered only when valid.
    let doc = try XMLDocument(bytes: try EvidenceXML.render(model, templates: templates))
    let ns = ["e": EvidenceXML.namespace]
    let principals = try doc.nodes(matching: "//e:privilegedAccess/e:principal", namespaces: ns)
    #expect(principals.map { $0.attribute("name") } == ["bob", "alice", "partner-access"])
    #expect(principals[1].attribute("privilegedSince") == s[3].capturedAt.description)
    #expect(
      try doc.nodes(matching: "//e:principal[@name='alice']/e:capability/e:method", namespaces: ns).map { $0.attribute("id") } == [
        "iam-create-access-key", "passrole-ec2",
      ])
    #expect(
      try doc.firstNode(matching: "//e:principal[@name='partner-access']/e:lastUsed", namespaces: ns)?.attribute("region") == "eu-central-1"
    )
    #expect(try doc.nodes(matching: "//e:history/e:privilegedCount", namespaces: ns).map { $0.attribute("count") } == ["4", "3", "3", "3"])
    // A register the schema refuses is never written.
    let broken = EvidenceXML.build(model)
    try #require(try broken.firstNode(matching: "//e:privilegedAccess/e:principal", namespaces: ns)).setAttribute("privilegedSince", "soon")
    #expect(throws: XMLError.self) { try XMLSchema(contentsOfFile: templates.evidenceXSD.path).validate(broken) }

    // OSCAL: valid against NIST's schema; each privileged identity's inventory item says so.
    let oscal = try OSCALTests.validated(OSCALAssessmentResults.render(model, trend: nil))
    let o = ["o": XMLNamespaces.oscal]
    let alice = try #require(
      try oscal.firstNode(matching: "//o:inventory-item[o:prop[@name='iam-name'][@value='alice']]", namespaces: o))
    #expect(
      try alice.nodes(matching: "o:prop[@name='privileged-capability']", namespaces: o).map { $0.attribute("value") } == ["escalation"])
    #expect(try alice.nodes(matching: "o:prop[@name='escalation-method']", namespaces: o).count == 2)
    #expect(
      try alice.firstNode(matching: "o:prop[@name='privileged-since']", namespaces: o)?.attribute("value") == s[3].capturedAt.description)
    #expect(
      try oscal.nodes(matching: "//o:result/o:prop[@name='privileged-identities']", namespaces: o).map { $0.attribute("value") } == [
        "4", "3", "3", "3",
      ])

    // The report's register section: one row per identity, the role's last use and the methods.
    let html = try HTMLReportTests.parse(try HTMLReport.render(model, templates: templates))
    let section = try #require(try html.firstNode(matching: "//h:section[@id='privileged']", namespaces: HTMLReportTests.ns))
    #expect(try section.nodes(matching: ".//h:tbody/h:tr", namespaces: HTMLReportTests.ns).count == 3)
    for text in ["passrole-ec2", "iam-create-access-key", "2024-04-20", "eu-central-1", "AIDABOB2", "public-trust"] {
      #expect(section.textContent.contains(text), "\(text)")
    }
  }
}
