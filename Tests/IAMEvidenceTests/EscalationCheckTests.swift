import Foundation
import Testing

@testable import IAMEvidence

/// `privilege-escalation-policy` and `privilege-escalation-identity` on small synthetic accounts:
/// methods assembled from several sources, broken by a Deny or a boundary, the full administrator,
/// what the snapshot lacks, and the JSON the register reads.
@Suite struct EscalationCheckTests {
  static let admin = #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
  static let passRole = #"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#
  static let runInstances = #"{"Statement":[{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}]}"#
  static let allMethods = EscalationMethodCatalog.bundled.methods.map(\.id).sorted()

  static func run(_ check: some Check, _ snapshot: AuthorizationSnapshot) -> [CheckResult] {
    let results = check.run(CheckContext(snapshot: snapshot))
    #expect(results.allSatisfy { $0.checkID == check.description.id && $0.checkVersion == check.description.version })
    return results
  }

  static func identity(_ snapshot: AuthorizationSnapshot, _ name: String) throws -> CheckResult {
    let results = run(PrivilegeEscalationIdentity(), snapshot)
    #expect(results.count == snapshot.users.count + snapshot.roles.count, "one result per user and role")
    return try #require(results.first { $0.principal?.name == name })
  }

  // MARK: privilege-escalation-identity

  @Test func aMethodAssembledFromTwoSourcesIsFoundWithBothSources() throws {
    let runARN = Synth.policyARN("run-instances")
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("dev", attached: [runARN], groups: ["deployers"]),
        Synth.group("deployers", inline: [try Synth.inline("pass-any-role", Self.passRole)]),
        Synth.user("other", attached: [runARN]),
      ],
      managedPolicies: [try Synth.managed(runARN, Self.runInstances)])
    let dev = try Self.identity(snapshot, "dev")
    #expect(dev.status == .fail, "\(dev.why)")
    #expect(dev.methods == ["passrole-ec2"])
    let sources = try #require(dev.methodSources.first { $0.method == "passrole-ec2" }).sources
    #expect(Set(sources.map(\.label)) == ["managed \(runARN)", "group deployers: inline pass-any-role"])
    #expect(Set(dev.sources.map(\.label)) == Set(sources.map(\.label)))
    #expect(dev.reasons.contains("combined-sources"), "\(dev.reasons)")
    #expect(
      dev.why.contains("passrole-ec2 (ec2:RunInstances: managed \(runARN); iam:PassRole: group deployers: inline pass-any-role)"),
      "\(dev.why)")
    #expect(dev.remediation.contains { $0.contains("aws iam remove-user-from-group --group-name deployers --user-name dev") })
    // Neither source alone: the user without the group cannot pass a role.
    let other = try Self.identity(snapshot, "other")
    #expect(other.status == .pass && other.methods.isEmpty && other.methodSources.isEmpty)

    // The result's JSON carries the sorted methods and the sources per method, as the register reads them.
    let json = dev.jsonValue(snapshot: 1)
    #expect(json["methods"] == .array([.string("passrole-ec2")]))
    let perMethod = try #require(json["method_sources"]?.arrayValue)
    #expect(perMethod.count == 1 && perMethod[0]["method"] == .string("passrole-ec2"))
    #expect(perMethod[0]["sources"]?.arrayValue?.count == 2)
    #expect(CheckResult(json: json) == dev, "the stored form reads back")
    #expect(dev.storedCanonicalBytes == JSONWriter.canonicalBytes(dev.storedJSON))
    // A pass carries neither member: other stored results keep their bytes.
    #expect(other.jsonValue(snapshot: 1)["methods"] == nil && other.jsonValue(snapshot: 1)["method_sources"] == nil)
  }

  @Test func aFullAdministratorWithoutDeniesHasEveryMethod() throws {
    let snapshot = AuthorizationSnapshot(
      principals: [Synth.role("admin", attached: ["arn:aws:iam::aws:policy/AdministratorAccess"])],
      managedPolicies: [try Synth.managed("arn:aws:iam::aws:policy/AdministratorAccess", Self.admin)])
    let r = try Self.identity(snapshot, "admin")
    #expect(r.status == .fail)
    #expect(r.methods == Self.allMethods)
    #expect(r.methodSources.map(\.method) == Self.allMethods)
    #expect(r.methodSources.allSatisfy { $0.sources.map(\.label) == ["managed arn:aws:iam::aws:policy/AdministratorAccess"] })
    #expect(r.why.hasPrefix("21 privilege-escalation methods are available"), "\(r.why)")
    #expect(PrivilegeEscalationIdentity().description.capability == "escalation")
  }

  @Test func oneUnconditionalDenyBreaksTheMethodsThatNeedItsAction() throws {
    let denyPassRole = #"{"Statement":[{"Effect":"Deny","Action":"iam:PassRole","Resource":"*"}]}"#
    let snapshot = AuthorizationSnapshot(
      principals: [Synth.user("ops", inline: [try Synth.inline("admin", Self.admin), try Synth.inline("no-pass", denyPassRole)])],
      managedPolicies: [])
    let r = try Self.identity(snapshot, "ops")
    #expect(r.status == .fail)
    let passing = Self.allMethods.filter { id in EscalationMethodCatalog.bundled.method(id: id)!.actions.contains("iam:PassRole") }
    #expect(passing.count == 6)
    #expect(r.methods == Self.allMethods.filter { !passing.contains($0) })
    #expect(r.hasNote("neutralised-by-deny"))
    // The Deny is noted once, not once per method it breaks.
    #expect(r.notes.filter { $0.code == "neutralised-by-deny" }.count == 1, "\(r.notes.map(\.message))")

    // With a Deny of everything, nothing is left: a pass.
    let denyAll = #"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#
    let locked = try Self.identity(
      AuthorizationSnapshot(
        principals: [Synth.user("ops", inline: [try Synth.inline("admin", Self.admin), try Synth.inline("no", denyAll)])],
        managedPolicies: []),
      "ops")
    #expect(locked.status == .pass && locked.methods.isEmpty)
    #expect(locked.why.contains("a Deny or the permissions boundary removes some of them"), "\(locked.why)")
  }

  @Test func aConditionalOrLimitedDenyDoesNotBreakAMethod() throws {
    let conditionalDeny =
      #"{"Statement":[{"Effect":"Deny","Action":"iam:PassRole","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}]}"#
    let limitedDeny = #"{"Statement":[{"Effect":"Deny","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/admin"}]}"#
    for (deny, note) in [(conditionalDeny, "conditional-deny"), (limitedDeny, "deny-limited-resources")] {
      let snapshot = AuthorizationSnapshot(
        principals: [
          Synth.user(
            "u", inline: [try Synth.inline("p", Self.passRole), try Synth.inline("r", Self.runInstances), try Synth.inline("d", deny)])
        ], managedPolicies: [])
      let r = try Self.identity(snapshot, "u")
      #expect(r.status == .fail && r.methods == ["passrole-ec2"], "\(r.why)")
      #expect(r.hasNote(note), "\(r.notes.map(\.code))")
    }
  }

  @Test func aPermissionsBoundaryRemovesAMethod() throws {
    let arn = Synth.policyARN("deployer")
    let boundary = Synth.policyARN("ec2-only")
    let both = #"{"Statement":[{"Effect":"Allow","Action":["iam:PassRole","ec2:RunInstances"],"Resource":"*"}]}"#
    let ec2Only = #"{"Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}"#
    let snapshot = AuthorizationSnapshot(
      principals: [Synth.user("bounded", attached: [arn], boundary: boundary), Synth.user("free", attached: [arn])],
      managedPolicies: [try Synth.managed(arn, both), try Synth.managed(boundary, ec2Only)])
    let bounded = try Self.identity(snapshot, "bounded")
    #expect(bounded.status == .pass, "\(bounded.why)")
    let note = try #require(bounded.notes.first { $0.code == "outside-boundary" })
    #expect(note.message.contains("iam:PassRole") && note.message.contains("passrole-ec2"), "\(note.message)")
    #expect(try Self.identity(snapshot, "free").methods == ["passrole-ec2"])
  }

  @Test func conditionsAreNotedAndDoNotNarrow() throws {
    let conditional =
      #"{"Statement":[{"Effect":"Allow","Action":"iam:CreateAccessKey","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}"#
    let r = try Self.identity(
      AuthorizationSnapshot(principals: [Synth.role("r", inline: [try Synth.inline("keys", conditional)])], managedPolicies: []), "r")
    #expect(r.status == .fail && r.methods == ["iam-create-access-key"])
    #expect(r.hasNote("conditional"))
    #expect(r.why.contains("Conditions do not narrow the grant"))
  }

  @Test func whatTheSnapshotLacksIsAnErrorUnlessAMethodIsKnownAvailable() throws {
    let missing = Synth.policyARN("gone")
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("unknown", attached: [missing]),
        Synth.user(
          "known", inline: [try Synth.inline("keys", #"{"Statement":[{"Effect":"Allow","Action":"iam:CreateAccessKey","Resource":"*"}]}"#)],
          attached: [missing]),
        Synth.user("orphan", groups: ["no-such-group"]),
        Synth.user("bad", inline: [try Synth.inline("broken", #"{"Statement":[{"Effect":"Permit","Action":"*","Resource":"*"}]}"#)]),
      ], managedPolicies: [])
    let unknown = try Self.identity(snapshot, "unknown")
    #expect(unknown.status == .error && unknown.hasNote("unknown-policy"), "\(unknown.why)")
    let known = try Self.identity(snapshot, "known")
    #expect(known.status == .fail && known.methods == ["iam-create-access-key"] && known.hasNote("unknown-policy"))
    #expect(try Self.identity(snapshot, "orphan").status == .error)
    let bad = try Self.identity(snapshot, "bad")
    #expect(bad.status == .error && bad.hasNote("invalid-grammar"), "\(bad.notes.map(\.code))")
  }

  // MARK: privilege-escalation-policy

  @Test func aPolicyFailsOnlyForMethodsItMakesAvailableOnItsOwn() throws {
    let group = Synth.group("ops", inline: [try Synth.inline("pass", Self.passRole), try Synth.inline("run", Self.runInstances)])
    let split =
      #"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"},{"Sid":"Launch","Effect":"Allow","Action":"ec2:Run*","Resource":"*"}]}"#
    let snapshot = AuthorizationSnapshot(
      principals: [Synth.user("alice", groups: ["ops"]), group, Synth.role("builder", inline: [try Synth.inline("split", split)])],
      managedPolicies: [])
    let results = Self.run(PrivilegeEscalationPolicy(), snapshot)
    #expect(results.count == 3)
    // Each group policy alone makes no method available: the identity check sees them together.
    #expect(results.filter { $0.principal?.name == "ops" }.allSatisfy { $0.status == .pass })
    let builder = try #require(results.first { $0.policy?.name == "split" })
    #expect(builder.status == .fail && builder.methods == ["passrole-ec2"])
    #expect(builder.statements == [0, 1] && builder.offendingStatements.count == 2)
    #expect(builder.methodSources == [MethodSources(method: "passrole-ec2", sources: [GrantSource(kind: "inline", policyName: "split")])])
    #expect(builder.why.contains("passrole-ec2 (ec2:RunInstances: Statement[1]; iam:PassRole: Statement[0])"), "\(builder.why)")
    let alice = try Self.identity(snapshot, "alice")
    #expect(alice.methods == ["passrole-ec2"])
  }

  @Test func managedPoliciesListAttachmentsLatentVersionsAndUnattached() throws {
    let attached = Synth.policyARN("iam-writer")
    let spare = Synth.policyARN("spare")
    var latent = try Synth.managed(Synth.policyARN("read-only"), #"{"Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}]}"#)
    latent.versions.append(
      PolicyVersion(
        versionId: "v2", isDefault: false,
        document: try Synth.document(#"{"Statement":[{"Effect":"Allow","Action":"iam:Attach*Policy","Resource":"*"}]}"#)))
    let writer = #"{"Statement":[{"Effect":"Allow","Action":"iam:PutUserPolicy","Resource":"*"}]}"#
    let snapshot = AuthorizationSnapshot(
      principals: [Synth.user("alice", attached: [attached])],
      managedPolicies: [
        try Synth.managed(attached, writer), try Synth.managed(spare, writer), latent,
        try Synth.managed("arn:aws:iam::aws:policy/AdministratorAccess", Self.admin),
      ])
    let results = Self.run(PrivilegeEscalationPolicy(), snapshot)
    #expect(results.count == 3, "AWS-managed policies are not judged here")
    let a = try #require(results.first { $0.policy?.arn == attached })
    #expect(a.status == .fail && a.attachedTo.map(\.name) == ["alice"] && !a.hasNote("unattached"))
    #expect(a.remediation.contains { $0.contains("aws iam detach-user-policy --user-name alice") })
    let s = try #require(results.first { $0.policy?.arn == spare })
    #expect(s.status == .fail && s.hasNote("unattached"))
    let l = try #require(results.first { $0.policy?.name == "read-only" })
    #expect(l.status == .pass)
    let note = try #require(l.notes.first { $0.code == "latent-version" })
    #expect(note.message.contains("v2 makes iam-attach-group-policy, iam-attach-user-policy available"), "\(note.message)")
  }

  @Test func anInvalidPolicyIsAnErrorNeverAPass() throws {
    let results = Self.run(
      PrivilegeEscalationPolicy(),
      AuthorizationSnapshot(
        principals: [Synth.user("u", inline: [try Synth.inline("p", #"{"Statement":[{"Effect":"Allow","Action":"iam:*"}]}"#)])],
        managedPolicies: []))
    #expect(results.map(\.status) == [.error])
    #expect(results.first?.hasNote("invalid-grammar") == true)
  }
}
