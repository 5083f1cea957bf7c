import Foundation
import Testing

@testable import IAMEvidence

/// The pure computations the services feed with fetched records: the evidence model (exceptions
/// counted from the data, the package's control line from the catalogs) and the trend.
@Suite struct EvidenceBuilderTests {
  static let capturedAt = Timestamp(parsing: "2024-06-30T00:00:00Z")!

  /// Assesses ``ExceptionTests/snapshot()`` with `register` and builds its evidence from the records
  /// the store would give back, after `edit` has changed the results.
  static func model(register: ExceptionRegister, edit: (inout [CheckResult]) -> Void = { _ in }) throws -> EvidenceModel {
    let outcome = Assessor.assess(try ExceptionTests.snapshot(), capturedAt: capturedAt, register: register)
    var results = outcome.results
    edit(&results)
    let record = TextRenderTests.record(1, "2024-06-30T00:00:00Z")
    let assessment = AssessmentRecord(
      id: 1, snapshotID: 1, assessedAt: capturedAt, toolVersion: IAMEvidenceVersion.current,
      checks: CheckCatalog.all.map(\.checkVersion.label), exceptionsSource: register.source, exceptionsSHA256: register.sha256,
      exceptionsContent: register.content, staleExceptions: outcome.staleExceptions.map(\.id))
    return EvidenceBuilder.build(
      EvidenceRecords(
        current: record, period: [record], results: results, counts: [1: [:]], assessment: assessment, sqliteVersion: "3"),
      generatedAt: capturedAt)
  }

  @Test func expiredMatchesAreCountedFromTheDataNotFromTheWordingOfNotes() throws {
    // EX-OLD covers data-loader's two failing policies but expired; EX-NEW is in force for analyst.
    let register = try ExceptionTests.register([
      ExceptionTests.entry(id: "EX-OLD", principal: "data-loader", expiresOn: "2024-03-31"),
      ExceptionTests.entry(id: "EX-NEW", principal: "analyst"),
      ExceptionTests.entry(id: "EX-NONE", principal: "nobody"),
    ])
    let model = try Self.model(register: register)
    func use(_ id: String, _ m: EvidenceModel) throws -> ExceptionUse { try #require(m.exceptions.first { $0.exception.id == id }) }
    #expect(try use("EX-OLD", model).expiredMatches == 2)
    #expect(try use("EX-OLD", model).appliedTo == 0)
    #expect(try use("EX-NEW", model).expiredMatches == 0)
    #expect(try use("EX-NEW", model).appliedTo == 1)
    #expect(try use("EX-NONE", model).isStale)
    // The count agrees with the notes the assessment wrote...
    #expect(model.results.filter { r in r.notes.contains { $0.code == "exception-expired" } }.count == 2)
    // ...but does not depend on their wording.
    let reworded = try Self.model(register: register) { results in
      for i in results.indices { for j in results[i].notes.indices { results[i].notes[j].message = "reworded" } }
    }
    #expect(try use("EX-OLD", reworded).expiredMatches == 2)
  }

  @Test func thePackageStatesTheControlsFromTheCatalogs() throws {
    let model = try Self.model(register: .empty)
    #expect(
      HandoffPackage.controlLine(model)
        == "Controls: ISO/IEC 27001:2022 A.8.2 Privileged access rights (no identity may hold full AWS KMS access on all keys), A.5.15 Access control, A.8.3 Information access restriction."
    )
    #expect(model.foundingControl?.id == "A.8.2")
    #expect(HandoffPackage.verdictLines(model).count == 1 + model.controlVerdicts.count)
    // Another founding test, mapped to another control, states its objective after that control.
    var other = model
    other.checks = other.checks.map { c in
      var c = c
      c.isPrimary = c.id == "kms-decrypt-all-keys"
      if c.isPrimary { c.controlObjective = "no identity may decrypt with every key" }
      return c
    }
    #expect(other.foundingControl?.id == "A.8.3")
    #expect(
      HandoffPackage.controlLine(other)
        == "Controls: ISO/IEC 27001:2022 A.8.2 Privileged access rights, A.5.15 Access control, A.8.3 Information access restriction (no identity may decrypt with every key)."
    )
  }

  /// One verdict per control that is the primary control of some check: not effective when one of its
  /// primary checks has a failure that is not excepted, error when none fails but one has errors.
  @Test func oneVerdictPerPrimaryControl() throws {
    let model = try Self.model(register: .empty)
    #expect(model.controlVerdicts.map(\.control.id) == ["A.8.2", "A.5.15", "A.8.3"])
    #expect(model.controls.map(\.id) == ["A.8.2", "A.5.15", "A.5.18", "A.8.3", "A.8.24"])
    let a82 = try #require(model.controlVerdicts.first)
    #expect(a82.foundingCheck == "kms-full-access-inline")
    #expect(a82.checks.first?.id == "kms-full-access-inline")
    #expect(Set(a82.checks.map(\.id)) == Set(model.checks.filter { $0.controls.first == "A.8.2" }.map(\.id)))
    func verdict(_ counts: [StatusCounts]) -> ControlVerdict { ControlVerdict(counts: counts) }
    #expect(verdict([StatusCounts(pass: 3), StatusCounts(fail: 1)]) == .notEffective)
    #expect(verdict([StatusCounts(error: 2), StatusCounts(fail: 1)]) == .notEffective)
    #expect(verdict([StatusCounts(excepted: 2, error: 1), StatusCounts(pass: 1)]) == .error)
    #expect(verdict([StatusCounts(excepted: 2), StatusCounts(pass: 1)]) == .effective)
    #expect(verdict([]) == .effective)
    // A check that is only related to a control does not judge it: A.8.3's only primary check passes
    // on an account where nothing grants decryption with every key, whatever the others say.
    let counts: [String: StatusCounts] = Dictionary(
      uniqueKeysWithValues: model.checks.map { ($0.id, $0.id == "kms-decrypt-all-keys" ? StatusCounts(pass: 4) : StatusCounts(fail: 1)) })
    let verdicts = ControlAssessment.all(controls: model.controls, checks: model.checks, counts: counts)
    #expect(verdicts.map(\.verdict) == [.notEffective, .notEffective, .effective])
  }

  @Test func theTrendIsComputedFromRowsAlone() {
    func open(_ key: String, _ status: ResultStatus = .fail) -> OpenResult {
      OpenResult(
        findingKey: key, checkID: "kms-full-access-inline", status: status, principalType: "user", principalName: key, policyName: "p")
    }
    let counts: [String: StatusCounts] = ["kms-full-access-inline": StatusCounts(fail: 1)]
    var builder = TrendBuilder(
      account: Synth.account, from: Timestamp(parsing: "2024-01-01")!, to: Timestamp(parsing: "2024-06-30")!, cadenceDays: 31)
    builder.add(TextRenderTests.record(1, "2024-01-31T00:00:00Z"), counts: counts, openResults: [open("a")])
    builder.add(TextRenderTests.record(2, "2024-02-29T00:00:00Z"), counts: counts, openResults: [open("a", .excepted), open("b")])
    builder.add(TextRenderTests.record(3, "2024-03-31T00:00:00Z"), counts: [:], openResults: [])  // not assessed: says nothing
    builder.add(TextRenderTests.record(4, "2024-06-30T00:00:00Z"), counts: counts, openResults: [open("b")])
    let report = builder.report()
    #expect(report.snapshots.map(\.id) == [1, 2, 3, 4])
    #expect(report.rows.count == 4 * CheckCatalog.all.count)
    #expect(report.rows.filter { $0.snapshotID == 3 }.allSatisfy { !$0.assessed })
    let a = report.findings.first { $0.key == "a" }
    #expect(a?.resolvedAt == Timestamp(parsing: "2024-06-30T00:00:00Z") && a?.lastStatus == .excepted && a?.subject == "user a / inline p")
    let b = report.findings.first { $0.key == "b" }
    #expect(b?.resolvedAt == nil && b?.daysOpen == 122)
    #expect(report.gaps.map(\.days) == [91])
  }

  /// A finding whose subject cannot be evaluated in the next snapshot (an error result) is not
  /// resolved by it: it stays open until a snapshot that evaluates the subject and finds it passing.
  @Test func aFindingThatTurnsIntoAnErrorIsNotResolved() {
    func result(_ key: String, _ status: ResultStatus) -> OpenResult {
      OpenResult(
        findingKey: key, checkID: "kms-full-access-inline", status: status, principalType: "user", principalName: key, policyName: "p")
    }
    let failing: [String: StatusCounts] = ["kms-full-access-inline": StatusCounts(fail: 1)]
    let erring: [String: StatusCounts] = ["kms-full-access-inline": StatusCounts(error: 1)]
    var builder = TrendBuilder(account: Synth.account, from: nil, to: nil)
    builder.add(TextRenderTests.record(1, "2024-01-31T00:00:00Z"), counts: failing, openResults: [result("a", .fail)])
    builder.add(TextRenderTests.record(2, "2024-02-29T00:00:00Z"), counts: erring, openResults: [result("a", .error)])
    let unresolved = builder.report().findings.first { $0.key == "a" }
    #expect(unresolved?.resolvedAt == nil && unresolved?.lastSeen == Timestamp(parsing: "2024-01-31T00:00:00Z"))
    builder.add(
      TextRenderTests.record(3, "2024-03-31T00:00:00Z"), counts: ["kms-full-access-inline": StatusCounts(pass: 1)], openResults: [])
    #expect(builder.report().findings.first { $0.key == "a" }?.resolvedAt == Timestamp(parsing: "2024-03-31T00:00:00Z"))
  }
}
