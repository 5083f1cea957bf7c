import Foundation
import Testing

@testable import IAMEvidence

/// The plain-text and CSV renderings the CLI prints: drift, findings CSV and the assessment summary.
@Suite struct TextRenderTests {
  static let kmsStar = #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#
  static let narrow =
    #"{"Statement":[{"Sid":"Use","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:eu-west-1:123456789012:key/1"}]}"#

  static func record(_ id: Int, _ day: String) -> SnapshotRecord {
    SnapshotRecord(
      id: id, account: Synth.account, capturedAt: Timestamp(parsing: day)!, capturedAtSource: .option,
      ingestedAt: Timestamp(parsing: day)!, sourceName: "\(day).json", byteSize: 1, sha256: String(repeating: "0", count: 64),
      encoding: "cli", toolVersion: IAMEvidenceVersion.current, label: nil, isTruncated: false,
      counts: SnapshotCounts(users: 0, groups: 0, roles: 0, managedPolicies: 0, inlinePolicies: 0))
  }

  /// alice's kms-admin is fixed and narrowed; bob appears with full KMS access; carol leaves.
  static func drift() throws -> DriftReport {
    let old = AuthorizationSnapshot(
      principals: [Synth.user("alice", inline: [try Synth.inline("kms-admin", kmsStar)]), Synth.user("carol")], managedPolicies: [])
    let new = AuthorizationSnapshot(
      principals: [
        Synth.user("alice", inline: [try Synth.inline("kms-admin", narrow)], groups: ["ops"]),
        Synth.role("bob", inline: [try Synth.inline("admin", kmsStar)]),
      ], managedPolicies: [])
    let at = Timestamp(parsing: "2024-06-30T00:00:00Z")!
    return DriftReport.compute(
      from: record(1, "2024-05-31T00:00:00Z"), to: record(2, "2024-06-30T00:00:00Z"), old: old, new: new,
      oldResults: Assessor.assess(old, capturedAt: at).results, newResults: Assessor.assess(new, capturedAt: at).results)
  }

  @Test func driftTextListsEveryKindOfChange() throws {
    let text = DriftText.render(try Self.drift())
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(lines.first == "drift of account 123456789012: snapshot 1 (2024-05-31T00:00:00Z) -> snapshot 2 (2024-06-30T00:00:00Z)")
    #expect(lines.last == "", "ends with a newline")
    for expected in [
      "new findings: 4", "  kms-full-access-inline  role bob / inline admin", "resolved: 4",
      "  kms-full-access-inline  user alice / inline kms-admin", "newly excepted: 0", "exception expired: 0", "still open: 1",
      "  user-direct-policies  user alice",
      "principals added: 1", "  + role bob (AROABOB)", "principals removed: 1", "  - user carol (AIDACAROL)", "access changes: 1",
      "  joined  user alice  ops", "policies added: 1", "  + inline admin of role bob", "policies removed: 0", "policies changed: 1",
      "  ~ inline kms-admin of user alice",
      #"      ~ Statement[0->0].Action: "kms:*" -> "kms:Decrypt""#,
      #"      ~ Statement[0->0].Sid: (absent) -> "Use""#,
    ] {
      #expect(lines.contains(expected), "missing line: \(expected)\n\(text)")
    }
    // Findings are grouped in catalog order: the primary check first.
    let new = lines.drop { $0 != "new findings: 4" }.dropFirst().prefix { $0.hasPrefix("  ") }
    #expect(new.first?.contains("kms-full-access-inline") == true)
  }

  @Test func findingsCSVHasOneRowPerResultAndNeutralisesFormulas() throws {
    let snapshot = AuthorizationSnapshot(
      principals: [Synth.user("=cmd", inline: [try Synth.inline("kms-admin", Self.kmsStar)])], managedPolicies: [])
    let results = Assessor.assess(snapshot, capturedAt: Timestamp(epochSeconds: 0)).results
    let csv = CSV.findings(results, snapshot: 7)
    let lines = csv.split(separator: "\n").map(String.init)
    #expect(
      lines.first
        == "snapshot,check,status,principal_type,principal_name,principal_arn,policy_kind,policy_name,policy_arn,policy_version,statements,reasons,notes,exception,why"
    )
    #expect(lines.count == results.count + 1)
    #expect(csv.hasSuffix("\n"))
    let first = try #require(lines.dropFirst().first)
    #expect(first.hasPrefix("7,kms-full-access-inline,fail,user,'=cmd,arn:aws:iam::123456789012:user/=cmd,inline,kms-admin,,,0,"))
  }

  @Test func assessSummaryCountsEachCheckByStatus() throws {
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("alice", inline: [try Synth.inline("kms-admin", Self.kmsStar)]),
        Synth.user("bob", inline: [try Synth.inline("narrow", Self.narrow)]),
      ], managedPolicies: [])
    let outcome = Assessor.assess(snapshot, capturedAt: Timestamp(epochSeconds: 0))
    let lines = AssessSummary.line(record: Self.record(3, "2024-06-30T00:00:00Z"), outcome: outcome).split(separator: "\n")
    #expect(lines.first == "assessed snapshot 3 (123456789012, captured 2024-06-30T00:00:00Z)")
    #expect(lines.dropFirst().map { $0.split(separator: ":").first.map(String.init) } == CheckCatalog.all.map { "  " + $0.description.id })
    #expect(lines.contains("  kms-full-access-inline: 1 fail, 0 error, 0 excepted, 1 pass"))
  }
}
