import Foundation
import Testing

@testable import IAMEvidence

/// `kms-full-access-identity` on small synthetic accounts: groups, AWS-managed policies, boundaries,
/// missing documents, policies that only add up together, and Denies from another policy.
@Suite(.temporaryDirectories) struct IdentityCheckTests {
  static let kmsStar = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#
  static let adminDocument = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
  static let adminARN = "arn:aws:iam::aws:policy/AdministratorAccess"
  static let s3Only = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#

  static func identity(_ snapshot: AuthorizationSnapshot, _ name: String) throws -> CheckResult {
    let results = IdentityFullKMSAccess().run(CheckContext(snapshot: snapshot))
    #expect(results.allSatisfy { $0.checkID == "kms-full-access-identity" })
    #expect(results.count == snapshot.users.count + snapshot.roles.count, "one result per user and role")
    return try #require(results.first { $0.principal?.name == name }, "no identity result for \(name)")
  }

  @Test func userInheritsFullAccessFromGroupInlinePolicy() throws {
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("alice", groups: ["kms-admins"]), Synth.user("bob"),
        Synth.group("kms-admins", inline: [try Synth.inline("kms-everything", Self.kmsStar)]),
      ],
      managedPolicies: [])
    let alice = try Self.identity(snapshot, "alice")
    #expect(alice.status == .fail)
    #expect(alice.principal?.type == .user)
    #expect(alice.sources == [GrantSource(kind: "group-inline", policyName: "kms-everything", viaGroup: "kms-admins")])
    #expect(alice.sources.first?.label == "group kms-admins: inline kms-everything")
    #expect(alice.remediation.contains { $0.contains("aws iam remove-user-from-group --group-name kms-admins --user-name alice") })
    let bob = try Self.identity(snapshot, "bob")
    #expect(bob.status == .pass)
    #expect(bob.sources.isEmpty && bob.remediation.isEmpty)

    // The inline check reports the group's policy once, with the members who inherit it.
    let inline = InlinePolicyFullKMSAccess().run(CheckContext(snapshot: snapshot))
    #expect(inline.count == 1)
    #expect(inline.first?.status == .fail)
    #expect(inline.first?.principal?.type == .group)
    #expect(inline.first?.inheritedBy.map(\.name) == ["alice"])
  }

  @Test func groupAttachedPolicyIsASource() throws {
    let arn = Synth.policyARN("kms-admin")
    let snapshot = AuthorizationSnapshot(
      principals: [Synth.user("carol", groups: ["ops"]), Synth.group("ops", attached: [arn])],
      managedPolicies: [try Synth.managed(arn, Self.kmsStar)])
    let carol = try Self.identity(snapshot, "carol")
    #expect(carol.status == .fail)
    #expect(carol.sources == [GrantSource(kind: "group-managed", policyName: "kms-admin", policyARN: arn, viaGroup: "ops")])
  }

  static func adminRole(boundary: String? = nil, extraPolicies: [ManagedPolicy] = []) throws -> AuthorizationSnapshot {
    AuthorizationSnapshot(
      principals: [Synth.role("deployer", attached: [adminARN] + extraPolicies.map(\.arn), boundary: boundary)],
      managedPolicies: [try Synth.managed(adminARN, adminDocument)] + extraPolicies)
  }

  @Test func awsManagedAdministratorAccessFails() throws {
    let role = try Self.identity(try Self.adminRole(), "deployer")
    #expect(role.status == .fail)
    #expect(role.principal?.type == .role)
    #expect(role.sources == [GrantSource(kind: "managed", policyName: "AdministratorAccess", policyARN: Self.adminARN)])
    #expect(role.reasons.contains("allow-star"))
    #expect(role.remediation.contains { $0.contains("aws iam detach-role-policy --role-name deployer --policy-arn \(Self.adminARN)") })
    // AWS-managed policies are not in the managed-policy check's population.
    #expect(ManagedPolicyFullKMSAccess().run(CheckContext(snapshot: try Self.adminRole())).isEmpty)
  }

  @Test func boundaryWithoutKMSMakesTheGrantIneffective() throws {
    let boundaryARN = Synth.policyARN("s3-only-boundary")
    let snapshot = try Self.adminRole(boundary: boundaryARN, extraPolicies: [])
    var withBoundary = snapshot
    withBoundary.managedPolicies.append(try Synth.managed(boundaryARN, Self.s3Only))
    let role = try Self.identity(withBoundary, "deployer")
    #expect(role.status == .pass, "\(role.why)")
    #expect(role.hasNote("outside-boundary"), "\(role.noteCodes)")
    #expect(role.sources.isEmpty)
    #expect(!role.hasNote("boundary-unknown"))
  }

  @Test func unknownBoundaryIsNotedAndIgnored() throws {
    let role = try Self.identity(try Self.adminRole(boundary: Synth.policyARN("not-exported")), "deployer")
    #expect(role.hasNote("boundary-unknown"), "\(role.noteCodes)")
    #expect(role.notes.first { $0.code == "boundary-unknown" }?.message.contains(Synth.policyARN("not-exported")) == true)
    #expect(role.status == .fail, "judged without the boundary")
  }

  @Test func missingAttachedPolicyAloneIsAnError() throws {
    let missing = Synth.policyARN("deleted-before-export")
    let snapshot = AuthorizationSnapshot(principals: [Synth.role("orphan", attached: [missing])], managedPolicies: [])
    let role = try Self.identity(snapshot, "orphan")
    #expect(role.status == .error)
    let note = try #require(role.notes.first { $0.code == "unknown-policy" })
    #expect(note.message.contains(missing))
    #expect(role.why.contains(missing))

    // A grant of full access elsewhere still fails: the missing policy cannot undo it.
    let alsoAdmin = AuthorizationSnapshot(
      principals: [Synth.role("orphan", attached: [missing, Self.adminARN])],
      managedPolicies: [try Synth.managed(Self.adminARN, Self.adminDocument)])
    let failing = try Self.identity(alsoAdmin, "orphan")
    #expect(failing.status == .fail)
    #expect(failing.hasNote("unknown-policy"))
  }

  /// Version 2: a group missing from the snapshot may grant KMS access, so its member cannot pass;
  /// a grant of full access from what is known still fails.
  @Test func missingGroupIsAnErrorUnlessTheKnownSourcesAlreadyGrantAll() throws {
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("member", inline: [try Synth.inline("s3", Self.s3Only)], groups: ["gone"]),
        Synth.user("admin", inline: [try Synth.inline("kms", Self.kmsStar)], groups: ["gone"]),
        Synth.user("plain", inline: [try Synth.inline("s3", Self.s3Only)]),
      ],
      managedPolicies: [])
    let member = try Self.identity(snapshot, "member")
    #expect(member.status == .error)
    #expect(member.hasNote("unknown-group"), "\(member.noteCodes)")
    #expect(member.why.contains("group gone") && member.why.contains("cannot be shown to pass"), "\(member.why)")
    #expect(try Self.identity(snapshot, "admin").status == .fail)
    #expect(try Self.identity(snapshot, "plain").status == .pass)
    #expect(IdentityFullKMSAccess().description.version >= 2, "the unknown-group rule came with version 2")
  }

  @Test func policiesThatOnlyAddUpTogetherFailListingBoth() throws {
    let crypt = try Synth.managed(
      Synth.policyARN("crypt"), #"{"Statement":[{"Effect":"Allow","Action":"kms:*crypt*","Resource":"*"}]}"#)
    let rest = try Synth.managed(
      Synth.policyARN("everything-but-crypt"), #"{"Statement":[{"Effect":"Allow","NotAction":"kms:*crypt*","Resource":"*"}]}"#)
    let snapshot = AuthorizationSnapshot(
      principals: [Synth.user("dave", attached: [crypt.arn, rest.arn]), Synth.user("erin", attached: [crypt.arn])],
      managedPolicies: [crypt, rest])
    let dave = try Self.identity(snapshot, "dave")
    #expect(dave.status == .fail, "\(dave.why)")
    #expect(Set(dave.sources.compactMap(\.policyARN)) == [crypt.arn, rest.arn])
    #expect(dave.sources.allSatisfy { $0.kind == "managed" })
    #expect(dave.reasons.contains("combined-sources"), "\(dave.reasons)")
    // Each alone is not full access.
    #expect(try Self.identity(snapshot, "erin").status == .pass)
    let managed = ManagedPolicyFullKMSAccess().run(CheckContext(snapshot: snapshot))
    #expect(managed.count == 2 && managed.allSatisfy { $0.status == .pass })
  }

  @Test func unconditionalDenyInAnotherPolicyNeutralises() throws {
    let deny = try Synth.managed(
      Synth.policyARN("deny-kms"), #"{"Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"*"}]}"#)
    let role = try Self.identity(try Self.adminRole(extraPolicies: [deny]), "deployer")
    #expect(role.status == .pass, "\(role.why)")
    #expect(role.hasNote("neutralised-by-deny"), "\(role.noteCodes)")
    #expect(role.sources.isEmpty)

    // A conditional deny is not credited.
    let conditional = try Synth.managed(
      Synth.policyARN("deny-kms-without-mfa"),
      #"{"Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#
    )
    let stillFailing = try Self.identity(try Self.adminRole(extraPolicies: [conditional]), "deployer")
    #expect(stillFailing.status == .fail)
    #expect(stillFailing.hasNote("conditional-deny"), "\(stillFailing.noteCodes)")
  }
}

/// Invalid documents never pass silently.
@Suite(.temporaryDirectories) struct InvalidPolicyTests {
  static let invalidDocuments: [(name: String, document: String, problem: String)] = [
    ("lowercase-effect", #"{"Statement":[{"Effect":"allow","Action":"kms:*","Resource":"*"}]}"#, "Effect"),
    ("action-and-notaction", #"{"Statement":[{"Effect":"Allow","Action":"kms:*","NotAction":"s3:*","Resource":"*"}]}"#, "NotAction"),
    ("statement-string", #"{"Statement":"Allow kms:* on *"}"#, "Statement"),
  ]

  @Test(arguments: invalidDocuments.map(\.name))
  func invalidInlinePolicyIsAnError(name: String) throws {
    let item = try #require(Self.invalidDocuments.first { $0.name == name })
    let snapshot = AuthorizationSnapshot(
      principals: [Synth.user("mallory", inline: [try Synth.inline(name, item.document)])], managedPolicies: [])
    for check in [InlinePolicyFullKMSAccess() as any Check, DecryptAllKeys(), KeyDestructionAllKeys()] {
      let results = check.run(CheckContext(snapshot: snapshot))
      #expect(results.count == 1)
      let result = try #require(results.first)
      #expect(result.status == .error, "\(check.description.id) \(name): \(result.status)")
      let grammar = result.notes.filter { $0.code == "invalid-grammar" }
      #expect(!grammar.isEmpty, "\(name): \(result.noteCodes)")
      #expect(grammar.contains { $0.message.contains(item.problem) }, "\(name): \(grammar.map(\.message))")
      #expect(result.remediation.isEmpty && result.statements.isEmpty)
    }
  }

  @Test func errorResultsAreStored() throws {
    let file = Synth.snapshotFile(
      users: Self.invalidDocuments.map { (name: "user-\($0.name)", policyName: $0.name, document: $0.document) })
    let (store, _) = try TestSupport.makeStore()
    let outcome = try store.workflow.ingest(
      IngestSource(name: "invalid.json", bytes: Array(file.utf8), modificationTime: nil),
      options: IngestOptions(capturedAt: Timestamp(parsing: "2024-06-30T00:00:00Z"), now: TestSupport.fixedNow))
    guard case .ingested(let record) = outcome else {
      Issue.record("not ingested")
      return
    }
    try store.workflow.assess(snapshotID: record.id, now: TestSupport.fixedNow)
    let errors = try store.workflow.results(snapshotID: record.id, check: "kms-full-access-inline", statuses: [.error])
    #expect(errors.count == Self.invalidDocuments.count)
    #expect(Set(errors.compactMap(\.policy?.name)) == Set(Self.invalidDocuments.map(\.name)))
    #expect(errors.allSatisfy { $0.hasNote("invalid-grammar") })
    #expect(try store.workflow.results(snapshotID: record.id, check: "kms-full-access-inline", statuses: [.pass]).isEmpty)
    // The identity check cannot show those users pass either.
    let identity = try store.workflow.results(snapshotID: record.id, check: "kms-full-access-identity")
    #expect(identity.count == Self.invalidDocuments.count)
    #expect(identity.allSatisfy { $0.status == .error }, "\(identity.map(\.status))")
  }

  @Test func managedPolicyWithInvalidDefaultOrNoDefaultIsAnError() throws {
    let bad = try Synth.managed(Synth.policyARN("bad"), #"{"Statement":[{"Effect":"allow","Action":"kms:*","Resource":"*"}]}"#)
    var noDefault = try Synth.managed(Synth.policyARN("no-default"), #"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
    noDefault.defaultVersionId = "v9"
    noDefault.versions[0].isDefault = false
    let results = ManagedPolicyFullKMSAccess().run(
      CheckContext(snapshot: AuthorizationSnapshot(principals: [], managedPolicies: [bad, noDefault])))
    #expect(results.count == 2)
    #expect(results.allSatisfy { $0.status == .error })
    #expect(results.first { $0.policy?.arn == bad.arn }?.hasNote("invalid-grammar") == true)
    #expect(results.first { $0.policy?.arn == noDefault.arn }?.hasNote("no-default-version") == true)

    // The other checks over customer-managed policies keep the population complete too.
    for check in [DecryptAllKeys() as any Check, KeyDestructionAllKeys()] {
      let rs = check.run(CheckContext(snapshot: AuthorizationSnapshot(principals: [], managedPolicies: [bad, noDefault])))
      #expect(rs.count == 2, "\(check.description.id): \(rs.count) results for 2 policies")
      #expect(rs.allSatisfy { $0.status == .error }, "\(check.description.id): \(rs.map(\.status))")
      #expect(rs.first { $0.policy?.arn == noDefault.arn }?.hasNote("no-default-version") == true, "\(check.description.id)")
    }
  }
}
