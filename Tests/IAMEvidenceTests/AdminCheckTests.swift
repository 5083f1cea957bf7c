import Foundation
import Testing

@testable import IAMEvidence

/// The administrator checks and `user-direct-policies` on small synthetic accounts and against the
/// ground truth of the shared fixtures; and which document texts the check context keeps.
@Suite(.temporaryDirectories) struct AdminCheckTests {
  static let admin = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
  static let allButIAM = #"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#
  static let iamOnly = #"{"Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#
  static let s3Only = #"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
  static let administratorAccess = "arn:aws:iam::aws:policy/AdministratorAccess"

  static func run(_ check: some Check, _ snapshot: AuthorizationSnapshot) -> [CheckResult] {
    let results = check.run(CheckContext(snapshot: snapshot))
    #expect(results.allSatisfy { $0.checkID == check.description.id && $0.checkVersion == check.description.version })
    return results
  }

  static func identity(_ snapshot: AuthorizationSnapshot, _ name: String) throws -> CheckResult {
    let results = run(AdminAccessIdentity(), snapshot)
    #expect(results.count == snapshot.users.count + snapshot.roles.count, "one result per user and role")
    return try #require(results.first { $0.principal?.name == name })
  }

  // MARK: admin-access-inline

  @Test func inlineAdministratorFailsWithItsStatementQuoted() throws {
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("alice", groups: ["ops"]),
        Synth.group("ops", inline: [try Synth.inline("everything", Self.admin), try Synth.inline("no-iam", Self.allButIAM)]),
      ], managedPolicies: [])
    let results = Self.run(AdminAccessInline(), snapshot)
    #expect(results.count == 2)
    let everything = try #require(results.first { $0.policy?.name == "everything" })
    #expect(everything.status == .fail)
    #expect(everything.statements == [0])
    #expect(everything.offendingStatements.first?["Action"] == .string("*"))
    #expect(everything.reasons == ["allow-star", "resource-star"])
    #expect(everything.inheritedBy.map(\.name) == ["alice"])
    #expect(everything.remediation.contains { $0.contains("aws iam delete-group-policy --group-name ops --policy-name everything") })
    let noIAM = try #require(results.first { $0.policy?.name == "no-iam" })
    #expect(noIAM.status == .pass, "NotAction iam:* leaves IAM out: \(noIAM.why)")
    #expect(noIAM.offendingStatements.isEmpty && noIAM.remediation.isEmpty)
  }

  @Test func statementsThatOnlyTogetherCoverEverythingFail() throws {
    let together =
      #"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"},{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#
    let results = Self.run(
      AdminAccessInline(),
      AuthorizationSnapshot(principals: [Synth.role("r", inline: [try Synth.inline("p", together)])], managedPolicies: []))
    let r = try #require(results.first)
    #expect(r.status == .fail)
    #expect(r.statements == [0, 1])
    #expect(r.reasons.contains("combined-statements"), "\(r.reasons)")
  }

  @Test func invalidInlinePolicyIsAnError() throws {
    let bad = #"{"Statement":[{"Effect":"Permit","Action":"*","Resource":"*"}]}"#
    let results = Self.run(
      AdminAccessInline(), AuthorizationSnapshot(principals: [Synth.user("u", inline: [try Synth.inline("p", bad)])], managedPolicies: []))
    #expect(results.map(\.status) == [.error])
    #expect(results.first?.hasNote("invalid-grammar") == true)
  }

  // MARK: admin-access-managed

  @Test func managedAdministratorPolicyListsAttachmentsAndLatentVersions() throws {
    let attached = Synth.policyARN("admin")
    let unattached = Synth.policyARN("spare-admin")
    var latent = try Synth.managed(Synth.policyARN("s3-tools"), Self.s3Only)
    latent.versions.append(PolicyVersion(versionId: "v2", isDefault: false, document: try Synth.document(Self.admin)))
    let snapshot = AuthorizationSnapshot(
      principals: [Synth.user("alice", attached: [attached]), Synth.role("ci", attached: [attached, Self.administratorAccess])],
      managedPolicies: [
        try Synth.managed(attached, Self.admin), try Synth.managed(unattached, Self.admin), latent,
        try Synth.managed(Self.administratorAccess, Self.admin),
      ])
    let results = Self.run(AdminAccessManaged(), snapshot)
    #expect(results.count == 3, "AWS-managed policies are not judged here")
    let a = try #require(results.first { $0.policy?.arn == attached })
    #expect(a.status == .fail)
    #expect(a.attachedTo.map(\.name) == ["alice", "ci"])
    #expect(!a.hasNote("unattached"))
    #expect(a.remediation.contains { $0.contains("aws iam detach-role-policy --role-name ci --policy-arn \(attached)") })
    let u = try #require(results.first { $0.policy?.arn == unattached })
    #expect(u.status == .fail && u.hasNote("unattached") && u.attachedTo.isEmpty)
    let l = try #require(results.first { $0.policy?.name == "s3-tools" })
    #expect(l.status == .pass)
    #expect(l.hasNote("latent-version"), "\(l.noteCodes)")
    #expect(l.notes.first { $0.code == "latent-version" }?.message.contains("--version-id v2") == true)
  }

  @Test func managedPolicyWithoutDefaultVersionIsAnError() throws {
    let arn = Synth.policyARN("broken")
    let policy = ManagedPolicy(
      arn: arn, name: "broken", defaultVersionId: "v3",
      versions: [PolicyVersion(versionId: "v1", isDefault: false, document: try Synth.document(Self.admin))])
    let results = Self.run(AdminAccessManaged(), AuthorizationSnapshot(principals: [], managedPolicies: [policy]))
    #expect(results.map(\.status) == [.error])
    #expect(results.first?.hasNote("no-default-version") == true)
  }

  // MARK: admin-access-identity

  @Test func awsManagedAdministratorAccessMakesAnAdministrator() throws {
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.role("deployer", attached: [Self.administratorAccess]), Synth.user("bob", inline: [try Synth.inline("s3", Self.s3Only)]),
      ],
      managedPolicies: [try Synth.managed(Self.administratorAccess, Self.admin)])
    let role = try Self.identity(snapshot, "deployer")
    #expect(role.status == .fail)
    #expect(role.sources == [GrantSource(kind: "managed", policyName: "AdministratorAccess", policyARN: Self.administratorAccess)])
    #expect(
      role.remediation.first?.contains("aws iam detach-role-policy --role-name deployer --policy-arn \(Self.administratorAccess)") == true)
    #expect(try Self.identity(snapshot, "bob").status == .pass)
  }

  @Test func sourcesAddUpAcrossGroupsAndEachIsListed() throws {
    let iam = Synth.policyARN("iam-admin")
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("carol", inline: [try Synth.inline("almost", Self.allButIAM)], groups: ["iam-team"]),
        Synth.group("iam-team", attached: [iam]),
      ],
      managedPolicies: [try Synth.managed(iam, Self.iamOnly)])
    let carol = try Self.identity(snapshot, "carol")
    #expect(carol.status == .fail, "\(carol.why)")
    #expect(
      carol.sources == [
        GrantSource(kind: "inline", policyName: "almost"),
        GrantSource(kind: "group-managed", policyName: "iam-admin", policyARN: iam, viaGroup: "iam-team"),
      ])
    #expect(carol.reasons.contains("combined-sources"))
  }

  @Test func boundaryLimitsTheGrant() throws {
    let boundary = Synth.policyARN("s3-boundary")
    let snapshot = AuthorizationSnapshot(
      principals: [Synth.role("app", attached: [Self.administratorAccess], boundary: boundary)],
      managedPolicies: [try Synth.managed(Self.administratorAccess, Self.admin), try Synth.managed(boundary, Self.s3Only)])
    let app = try Self.identity(snapshot, "app")
    #expect(app.status == .pass, "\(app.why)")
    #expect(app.hasNote("outside-boundary"))
  }

  /// The issue's rule: whatever the snapshot lacks or cannot read makes the result `error` unless what
  /// is known already makes the identity an administrator.
  @Test(arguments: [false, true])
  func missingOrInvalidPoliciesAndBoundariesGiveErrorUnlessAdministrator(knownAdmin: Bool) throws {
    let missing = Synth.policyARN("not-in-snapshot")
    let invalidBoundary = Synth.policyARN("bad-boundary")
    let grant = try Synth.inline("grant", knownAdmin ? Self.admin : Self.s3Only)
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("unknown-policy", inline: [grant], attached: [missing]),
        Synth.user("unknown-boundary", inline: [grant], boundary: missing),
        Synth.user("invalid-boundary", inline: [grant], boundary: invalidBoundary),
        Synth.user("unknown-group", inline: [grant], groups: ["gone"]),
        Synth.user(
          "invalid-source", inline: [grant, try Synth.inline("bad", #"{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#)]),
      ],
      managedPolicies: [try Synth.managed(invalidBoundary, #"{"Statement":"nope"}"#)])
    for name in ["unknown-policy", "unknown-boundary", "invalid-boundary", "unknown-group", "invalid-source"] {
      let r = try Self.identity(snapshot, name)
      #expect(r.status == (knownAdmin ? .fail : .error), "\(name): \(r.status) \(r.why)")
      #expect(!r.notes.isEmpty, "\(name): the gap is noted")
      if !knownAdmin { #expect(r.why.contains("cannot be shown"), "\(name): \(r.why)") }
    }
    let unknownBoundary = try Self.identity(snapshot, "unknown-boundary")
    #expect(unknownBoundary.hasNote("unknown-policy"), "\(unknownBoundary.noteCodes)")
  }

  @Test func denyOfEverythingNeutralisesButAPartialDenyDoesNot() throws {
    let denyAll = #"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#
    let denySome = #"{"Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.role("denied", inline: [try Synth.inline("admin", Self.admin), try Synth.inline("deny", denyAll)]),
        Synth.role("partly", inline: [try Synth.inline("admin", Self.admin), try Synth.inline("deny", denySome)]),
      ], managedPolicies: [])
    #expect(try Self.identity(snapshot, "denied").status == .pass)
    let partly = try Self.identity(snapshot, "partly")
    #expect(partly.status == .fail)
    #expect(partly.hasNote("partial-deny"), "\(partly.noteCodes)")
  }

  // MARK: user-direct-policies

  @Test func usersWithDirectPoliciesFailAndListThem() throws {
    let arn = Synth.policyARN("tools")
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("direct", inline: [try Synth.inline("mine", Self.s3Only)], attached: [arn, Self.administratorAccess]),
        Synth.user("grouped", groups: ["team"]), Synth.group("team", inline: [try Synth.inline("team", Self.s3Only)]),
        Synth.role("role", inline: [try Synth.inline("r", Self.s3Only)]),
      ],
      managedPolicies: [try Synth.managed(arn, Self.s3Only)])
    let results = Self.run(UserDirectPolicies(), snapshot)
    #expect(results.count == 2, "every user, and only users")
    let direct = try #require(results.first { $0.principal?.name == "direct" })
    #expect(direct.status == .fail)
    #expect(
      direct.sources == [
        GrantSource(kind: "inline", policyName: "mine"), GrantSource(kind: "managed", policyName: "tools", policyARN: arn),
        GrantSource(kind: "managed", policyName: "AdministratorAccess", policyARN: Self.administratorAccess),
      ])
    #expect(direct.reasons == ["inline-policy", "attached-policy"])
    #expect(direct.remediation.contains("Then delete inline policy mine: aws iam delete-user-policy --user-name direct --policy-name mine"))
    #expect(try #require(results.first { $0.principal?.name == "grouped" }).status == .pass)
  }

  // MARK: Fixtures

  /// On every fixture, `admin-access-inline` fails exactly the inline policies with a labelled
  /// `Action "*"` on `Resource "*"` statement, and `admin-access-managed` exactly the customer-managed
  /// policies whose default version has one (no fixture policy adds up to everything otherwise).
  @Test(arguments: CheckFixtureTests.snapshots)
  func documentChecksMatchTheTruth(name: String) throws {
    let truth = try CheckFixtureTests.truth(name)
    let results = try CheckFixtureTests.assessedResults(name)
    func entries(_ key: String) -> [CheckFixtureTests.Entry] { (truth[key]?.arrayValue ?? []).map(CheckFixtureTests.Entry.init) }
    let inlineAdmins = Set(
      entries("inline").filter { $0.pattern == "full_admin_star" }.map {
        "\($0["principal_type"] ?? "")/\($0["principal_name"] ?? "")/\($0["policy_name"] ?? "")"
      })
    let inlineFailing = Set(
      results.with(check: "admin-access-inline").filter { $0.status == .fail }.map {
        "\($0.principal?.type.rawValue ?? "")/\($0.principal?.name ?? "")/\($0.policy?.name ?? "")"
      })
    #expect(inlineFailing == inlineAdmins)
    if name == "dev-small" { #expect(!inlineAdmins.isEmpty, "the fixture plants an inline administrator") }
    let managed = entries("managed").filter { !$0.isAWSManaged && $0.pattern == "full_admin_star" }
    let managedAdmins = Set(managed.filter(\.isDefaultVersion).compactMap { $0["policy_arn"] })
    let managedFailing = Set(results.with(check: "admin-access-managed").filter { $0.status == .fail }.compactMap(\.policy?.arn))
    #expect(managedFailing == managedAdmins)
    if name == "dev-small" { #expect(!managedAdmins.isEmpty, "the fixture plants a customer-managed administrator policy") }
    let latent = Set(managed.filter { !$0.isDefaultVersion }.compactMap { $0["policy_arn"] })
    let noted = Set(results.with(check: "admin-access-managed").filter { $0.hasNote("latent-version") }.compactMap(\.policy?.arn))
    #expect(noted == latent)
    #expect(results.with(check: "admin-access-inline").allSatisfy { $0.status != .error })
    // Every user or role holding AdministratorAccess (AWS-managed, in every fixture) is an administrator.
    let holders = results.with(check: "admin-access-identity").filter {
      $0.sources.contains { $0.policyARN == Self.administratorAccess }
    }
    #expect(holders.allSatisfy { $0.status == .fail || $0.status == .excepted })
  }

  // MARK: Document texts kept

  /// The texts kept are those a check may quote: every document the KMS evaluator finds bearing on
  /// KMS (as the context kept before the engine), every document allowing every action or making a
  /// privilege-escalation method available, every invalid one; a document about other services only
  /// is dropped.
  @Test(arguments: ["dev-small.json", "dev-series/2024-03.json", "external/cloudsplaining-example-authz-details.json"])
  func keptTextsCoverEveryQuotableDocument(fixture: String) throws {
    let snapshot = try SnapshotDecoder(sourceName: fixture).decode(try TestSupport.bytes(TestSupport.fixture(fixture)))
    let evaluator = KMSPolicyEvaluator()
    var needed = Set<String>()
    var all = Set<String>()
    let engine = PolicyEngine()
    let everything = try engine.resolve(.allActions)
    let methods = try EscalationMethodCatalog.bundled.methods.map { try engine.resolve($0.target) }
    for document in snapshot.principals.flatMap({ $0.inlinePolicies.map(\.document) })
      + snapshot.managedPolicies.flatMap({ $0.versions.map(\.document) })
    {
      all.insert(document.sha256)
      let e = evaluator.evaluateActions(document.json, targets: [evaluator.catalog.allActionNames], relevantOnly: true)[0]
      if !e.statements.isEmpty || e.verdict.isInvalid || !e.notes.isEmpty { needed.insert(document.sha256) }
      if engine.fullAccess(engine.analyse(document), target: everything).verdict == .holds { needed.insert(document.sha256) }
      // privilege-escalation-policy quotes the statements of a document that makes a method available.
      if engine.canPerform(engine.analyse(document), each: methods).contains(where: { $0.verdict == .can }) {
        needed.insert(document.sha256)
      }
    }
    let context = CheckContext(snapshot: snapshot)
    var kept = Set<String>()
    for document in context.snapshot.principals.flatMap({ $0.inlinePolicies.map(\.document) })
      + context.snapshot.managedPolicies.flatMap({ $0.versions.map(\.document) }) where !document.canonical.isEmpty
    {
      kept.insert(document.sha256)
    }
    #expect(needed.isSubset(of: kept), "texts dropped that a check may quote: \(needed.subtracting(kept))")
    #expect(kept.count < all.count, "documents about other services only are dropped")
    #expect(context.analyses.count == all.count, "every distinct document is analysed once")
  }
}
