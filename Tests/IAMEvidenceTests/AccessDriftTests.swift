import Testing

@testable import IAMEvidence

/// Drift beyond policy documents: attachments, group memberships, boundaries, trust policies and
/// renames (same unique id, new path) of principals present in both snapshots.
@Suite struct AccessDriftTests {
  static func record(_ id: Int, _ day: String) -> SnapshotRecord {
    SnapshotRecord(
      id: id, account: Synth.account, capturedAt: Timestamp(parsing: day)!, capturedAtSource: .option,
      ingestedAt: Timestamp(parsing: day)!, sourceName: "\(id).json", byteSize: 1, sha256: String(repeating: "a", count: 64),
      encoding: "cli", toolVersion: "test", label: nil, isTruncated: false,
      counts: SnapshotCounts(users: 0, groups: 0, roles: 0, managedPolicies: 0, inlinePolicies: 0))
  }

  @Test func attachmentsMembershipsBoundariesAndRenamesAreReported() throws {
    let readOnly = Synth.policyARN("read-only")
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    let inline = try Synth.inline("s3", #"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
    var alice = Synth.user("alice", inline: [inline], attached: [readOnly], groups: ["devs"])
    var role = Synth.role("ci")
    let before = AuthorizationSnapshot(principals: [alice, role, Synth.group("devs"), Synth.group("ops")], managedPolicies: [])

    alice.attachedPolicies = [AttachedPolicy(name: "AdministratorAccess", arn: admin)]
    alice.groups = ["ops"]
    alice.arn = "arn:aws:iam::\(Synth.account):user/people/alice"  // path moved; same unique id
    role.permissionsBoundary = PermissionsBoundary(type: "Policy", arn: Synth.policyARN("boundary"))
    role.trustPolicy = try Synth.document(#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#)
    let after = AuthorizationSnapshot(principals: [alice, role, Synth.group("devs"), Synth.group("ops")], managedPolicies: [])

    let drift = DriftReport.compute(
      from: Self.record(1, "2024-01-31"), to: Self.record(2, "2024-02-29"), old: before, new: after, oldResults: [], newResults: [])
    // A rename is not a removed and an added principal, and its inline policy did not change.
    #expect(drift.principalsAdded.isEmpty && drift.principalsRemoved.isEmpty)
    #expect(drift.policiesAdded.isEmpty && drift.policiesRemoved.isEmpty && drift.policiesChanged.isEmpty)
    let changes = Set(drift.accessChanges.map { "\($0.kind) \($0.principal.name) \($0.subject)" })
    #expect(
      changes == [
        "renamed alice arn:aws:iam::\(Synth.account):user/alice",
        "attached alice \(admin)", "detached alice \(readOnly)", "joined alice ops", "left alice devs",
        "boundary-changed ci \(Synth.policyARN("boundary"))",
        "trust-policy-changed ci \(role.trustPolicy!.sha256)",
      ])
    #expect(!drift.isEmpty)
    let json = drift.jsonValue
    #expect(json["access"]?.arrayValue?.count == 7)
  }
}
