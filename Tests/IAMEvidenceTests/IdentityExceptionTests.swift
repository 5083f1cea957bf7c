import Foundation
import Testing

@testable import IAMEvidence

/// Issue 17, defect 5: exceptions reach identity results. An identity result is excepted when an
/// exception matches its principal without a policy scope, or when every source of its failing grant
/// is covered by an exception for that policy (and that principal); the result says which.
@Suite(.temporaryDirectories) struct IdentityExceptionTests {
  static let capturedAt = ExceptionTests.capturedAt
  static let kmsStar = ExceptionTests.kmsStar
  static let pipelineARN = "arn:aws:iam::123456789012:role/data-pipeline"

  /// The role `data-pipeline` with its inline `pipeline-crypto` (and `extra` more failing inline
  /// policies), as in the README's register example.
  static func snapshot(extra: [String] = []) throws -> AuthorizationSnapshot {
    AuthorizationSnapshot(
      principals: [
        Synth.role(
          "data-pipeline", inline: [try Synth.inline("pipeline-crypto", kmsStar)] + (try extra.map { try Synth.inline($0, kmsStar) }))
      ],
      managedPolicies: [])
  }

  static func identity(_ outcome: Assessor.Outcome) throws -> CheckResult {
    try #require(outcome.results.first { $0.checkID == "kms-full-access-identity" && $0.principal?.name == "data-pipeline" })
  }

  @Test func anExceptionForTheOnlySourceExceptsTheIdentityResultAndSaysSo() throws {
    let register = try ExceptionTests.register([
      ExceptionTests.entry(id: "EXC-2024-007", principal: Self.pipelineARN, policy: "pipeline-crypto", expiresOn: "2024-09-30")
    ])
    let outcome = Assessor.assess(try Self.snapshot(), capturedAt: Self.capturedAt, register: register)
    #expect(try ExceptionTests.inlineResult(outcome, "data-pipeline", "pipeline-crypto").status == .excepted)
    let r = try Self.identity(outcome)
    #expect(r.status == .excepted)
    #expect(r.exception?.id == "EXC-2024-007" && r.exception?.expiresOn == "2024-09-30")
    #expect(r.coveringExceptions.map(\.source.label) == ["inline pipeline-crypto"])
    #expect(r.coveringExceptions.map(\.exception.id) == ["EXC-2024-007"])
    let note = try #require(r.notes.first { $0.code == "excepted" })
    #expect(note.message.contains("inline pipeline-crypto by EXC-2024-007"))
    #expect(outcome.staleExceptions.isEmpty)
    // The covering exceptions survive the stored form.
    let back = try #require(CheckResult(json: try JSONParser.parse(r.storedCanonicalBytes)))
    #expect(back.coveringExceptions == r.coveringExceptions)
    #expect(JSONWriter.canonical(r.storedJSON) == String(decoding: r.storedCanonicalBytes, as: UTF8.self))
  }

  @Test func anExceptionOfThePrincipalWithoutAPolicyScopeExceptsItDirectly() throws {
    let register = try ExceptionTests.register([
      ExceptionTests.entry(id: "EX-ID", check: "kms-full-access-identity", principal: "data-pipeline")
    ])
    let outcome = Assessor.assess(try Self.snapshot(extra: ["other"]), capturedAt: Self.capturedAt, register: register)
    let r = try Self.identity(outcome)
    #expect(r.status == .excepted && r.exception?.id == "EX-ID" && r.coveringExceptions.isEmpty)
    // An exception for another principal does not.
    let other = Assessor.assess(
      try Self.snapshot(), capturedAt: Self.capturedAt,
      register: try ExceptionTests.register([ExceptionTests.entry(check: "kms-full-access-identity", principal: "analyst")]))
    #expect(try Self.identity(other).status == .fail)
  }

  @Test func someSourcesCoveredExceptNothingAndSayWhichAreNot() throws {
    let register = try ExceptionTests.register([
      ExceptionTests.entry(id: "EXC-2024-007", principal: Self.pipelineARN, policy: "pipeline-crypto")
    ])
    let outcome = Assessor.assess(try Self.snapshot(extra: ["bulk-reencrypt"]), capturedAt: Self.capturedAt, register: register)
    let r = try Self.identity(outcome)
    #expect(r.status == .fail && r.exception == nil && r.coveringExceptions.isEmpty)
    let note = try #require(r.notes.first { $0.code == "exception-partial" })
    #expect(note.message.contains("inline pipeline-crypto (EXC-2024-007)") && note.message.contains("but not inline bulk-reencrypt"))
    // A second exception for the other policy completes the coverage; the first to expire is the one applied.
    let both = try ExceptionTests.register([
      ExceptionTests.entry(id: "EXC-2024-007", principal: Self.pipelineARN, policy: "pipeline-crypto", expiresOn: "2024-09-30"),
      ExceptionTests.entry(id: "EXC-2024-011", check: "*", principal: "data-pipeline", policy: "bulk-*", expiresOn: "2024-08-31"),
    ])
    let covered = try Self.identity(
      Assessor.assess(try Self.snapshot(extra: ["bulk-reencrypt"]), capturedAt: Self.capturedAt, register: both))
    #expect(covered.status == .excepted && covered.exception?.id == "EXC-2024-011")
    #expect(covered.coveringExceptions.map(\.exception.id) == ["EXC-2024-007", "EXC-2024-011"])
  }

  @Test func aCoveringExceptionOutOfForceLeavesItFailingWithTheReason() throws {
    let register = try ExceptionTests.register([
      ExceptionTests.entry(id: "EX-OLD", principal: "data-pipeline", policy: "pipeline-crypto", expiresOn: "2024-03-31")
    ])
    let outcome = Assessor.assess(try Self.snapshot(), capturedAt: Self.capturedAt, register: register)
    let r = try Self.identity(outcome)
    #expect(r.status == .fail && r.hasNote("exception-expired"))
    // The report's counts of unapplied matches see it, as the assessment did.
    let unapplied = EvidenceBuilder.unappliedMatches(
      outcome.results, register: register, account: "123456789012", capturedAt: Self.capturedAt, checks: CheckCatalog.all.map(\.description)
    )
    #expect(unapplied.expired["EX-OLD"] == 2, "the inline result and the identity result")
  }

  /// A user's grant through a group's inline policy is covered by an exception for the group's policy.
  @Test func aGroupSourceIsCoveredByTheGroupsException() throws {
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("alice", groups: ["platform"]), Synth.group("platform", inline: [try Synth.inline("kms-operators", Self.kmsStar)]),
      ], managedPolicies: [])
    let register = try ExceptionTests.register([ExceptionTests.entry(id: "EX-G", principal: "platform", policy: "kms-operators")])
    let outcome = Assessor.assess(snapshot, capturedAt: Self.capturedAt, register: register)
    let r = try #require(outcome.results.first { $0.checkID == "kms-full-access-identity" && $0.principal?.name == "alice" })
    #expect(r.status == .excepted && r.coveringExceptions.first?.source.viaGroup == "platform")
  }

  /// The evidence counts the identity result among the exception's applications, and the report and
  /// evidence.xml name the exceptions covering it.
  @Test func theReportSaysWhichExceptionsCoverIt() throws {
    let (store, _) = try TestSupport.makeStore()
    let text = """
      {"UserDetailList":[],"GroupDetailList":[],"Policies":[],"IsTruncated":false,"RoleDetailList":[{"Path":"/","RoleName":"data-pipeline",
       "RoleId":"AROADATAPIPELINE0001","Arn":"\(Self.pipelineARN)","CreateDate":"2023-01-01T00:00:00Z",
       "AssumeRolePolicyDocument":{"Version":"2012-10-17","Statement":[]},"RolePolicyList":[{"PolicyName":"pipeline-crypto",
       "PolicyDocument":\(Self.kmsStar)}],"AttachedManagedPolicies":[],"Tags":[],"InstanceProfileList":[]}]}
      """
    let register = try ExceptionTests.register([
      ExceptionTests.entry(id: "EXC-2024-007", principal: Self.pipelineARN, policy: "pipeline-crypto")
    ])
    try DriftFiles.ingest(store, text, name: "s.json", capturedAt: "2024-06-30", register: register)
    let model = try store.workflow.evidence(scope: .snapshot("latest"), account: nil, generatedAt: TestSupport.fixedNow)
    #expect(model.results.first { $0.checkID == "kms-full-access-identity" }?.status == .excepted)
    #expect(model.exceptions.first?.appliedTo == 2, "the inline result and the identity result")
    let html = String(decoding: try HTMLReport.render(model, templates: HTMLReportTests.templates), as: UTF8.self)
    #expect(html.contains("Sources covered by"))
    let xml = try XMLDocumentBytes.text(EvidenceXML.render(model, templates: HTMLReportTests.templates))
    #expect(xml.contains(#"<coveringException id="EXC-2024-007""#) && xml.contains(#"source="inline pipeline-crypto""#))
  }
}

/// Bytes as text, for assertions on rendered XML.
enum XMLDocumentBytes {
  static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
