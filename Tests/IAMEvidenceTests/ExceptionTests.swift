import Foundation
import Testing

@testable import IAMEvidence

/// The exceptions register: parsing, matching, expiry, stale entries, and its record in the store.
@Suite(.temporaryDirectories) struct ExceptionTests {
  static let kmsStar = #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#
  static let capturedAt = Timestamp(parsing: "2024-06-30T00:00:00Z")!

  /// A role `data-loader` with two failing inline policies and a user `analyst` with one.
  static func snapshot() throws -> AuthorizationSnapshot {
    AuthorizationSnapshot(
      principals: [
        Synth.role("data-loader", inline: [try Synth.inline("kms-admin", kmsStar), try Synth.inline("other-admin", kmsStar)]),
        Synth.user("analyst", inline: [try Synth.inline("kms-admin", kmsStar)]),
      ],
      managedPolicies: [])
  }

  static func entry(
    id: String = "EX-1", check: String = "kms-full-access-inline", principal: String? = nil, policy: String? = nil,
    approvedOn: String = "2024-01-15", expiresOn: String = "2024-12-31"
  ) -> String {
    var scope: [String] = []
    if let principal { scope.append("\"principal\":\"\(principal)\"") }
    if let policy { scope.append("\"policy\":\"\(policy)\"") }
    return """
      {"id":"\(id)","check":"\(check)","scope":{\(scope.joined(separator: ","))},"justification":"Migration in progress",
       "approved_by":"ciso@example.com","approved_on":"\(approvedOn)","expires_on":"\(expiresOn)","ticket":"SEC-42"}
      """
  }

  static func register(_ entries: [String], source: String = "exceptions.json") throws -> ExceptionRegister {
    try ExceptionRegister(bytes: Array("{\"exceptions\":[\(entries.joined(separator: ","))]}".utf8), source: source)
  }

  static func inlineResult(_ outcome: Assessor.Outcome, _ principal: String, _ policy: String) throws -> CheckResult {
    try #require(
      outcome.results.first { $0.checkID == "kms-full-access-inline" && $0.principal?.name == principal && $0.policy?.name == policy })
  }

  @Test func withoutRegisterEverythingFails() throws {
    let outcome = Assessor.assess(try Self.snapshot(), capturedAt: Self.capturedAt)
    #expect(outcome.results.with(check: "kms-full-access-inline").count == 3)
    #expect(outcome.results.with(check: "kms-full-access-inline").allSatisfy { $0.status == .fail && $0.exception == nil })
    #expect(outcome.staleExceptions.isEmpty)
    // Report order: most severe first.
    let ranks = outcome.results.map(\.status.severityRank)
    #expect(ranks == ranks.sorted())
  }

  @Test func inForceExceptionExceptsTheFailure() throws {
    let register = try Self.register([Self.entry(principal: "arn:aws:iam::*:role/data-*")])
    let outcome = Assessor.assess(try Self.snapshot(), capturedAt: Self.capturedAt, register: register)
    for policy in ["kms-admin", "other-admin"] {
      let r = try Self.inlineResult(outcome, "data-loader", policy)
      #expect(r.status == .excepted)
      #expect(r.exception == AppliedException(id: "EX-1", approvedBy: "ciso@example.com", expiresOn: "2024-12-31"))
      #expect(r.hasNote("excepted"))
    }
    #expect(try Self.inlineResult(outcome, "analyst", "kms-admin").status == .fail, "the glob names roles data-* only")
    // Other checks are not covered by an exception for kms-full-access-inline.
    #expect(outcome.results.with(check: "kms-decrypt-all-keys").allSatisfy { $0.status == .fail })
    #expect(outcome.staleExceptions.isEmpty)
  }

  @Test func principalNameAndPolicyScopes() throws {
    let byName = Assessor.assess(
      try Self.snapshot(), capturedAt: Self.capturedAt, register: try Self.register([Self.entry(principal: "analyst")]))
    #expect(try Self.inlineResult(byName, "analyst", "kms-admin").status == .excepted)
    #expect(try Self.inlineResult(byName, "data-loader", "kms-admin").status == .fail)

    let byPolicy = Assessor.assess(
      try Self.snapshot(), capturedAt: Self.capturedAt,
      register: try Self.register([Self.entry(principal: "data-loader", policy: "kms-admin")]))
    #expect(try Self.inlineResult(byPolicy, "data-loader", "kms-admin").status == .excepted)
    #expect(try Self.inlineResult(byPolicy, "data-loader", "other-admin").status == .fail)
    #expect(try Self.inlineResult(byPolicy, "analyst", "kms-admin").status == .fail)

    let policyOnly = Assessor.assess(
      try Self.snapshot(), capturedAt: Self.capturedAt, register: try Self.register([Self.entry(policy: "other-*")]))
    #expect(try Self.inlineResult(policyOnly, "data-loader", "other-admin").status == .excepted)
    #expect(try Self.inlineResult(policyOnly, "data-loader", "kms-admin").status == .fail)

    // check "*" covers every check of the catalog.
    let everyCheck = Assessor.assess(
      try Self.snapshot(), capturedAt: Self.capturedAt, register: try Self.register([Self.entry(check: "*", principal: "analyst")]))
    let analyst = everyCheck.results.filter { $0.principal?.name == "analyst" && $0.status != .pass }
    #expect(analyst.count == 5, "inline, decrypt, destruction, identity and direct-policy results")
    #expect(analyst.allSatisfy { $0.status == .excepted }, "\(analyst.map { "\($0.checkID) \($0.status)" })")
    #expect(everyCheck.results.filter { $0.principal?.name == "analyst" && $0.status == .pass }.allSatisfy { $0.exception == nil })
  }

  @Test func expiryIsInclusiveOfItsLastDay() throws {
    func status(expiresOn: String, capturedAt: String) throws -> CheckResult {
      let outcome = Assessor.assess(
        try Self.snapshot(), capturedAt: Timestamp(parsing: capturedAt)!,
        register: try Self.register([Self.entry(principal: "analyst", expiresOn: expiresOn)]))
      return try Self.inlineResult(outcome, "analyst", "kms-admin")
    }
    let expired = try status(expiresOn: "2024-06-29", capturedAt: "2024-06-30T00:00:00Z")
    #expect(expired.status == .fail)
    #expect(expired.exception == nil)
    #expect(expired.notes.first { $0.code == "exception-expired" }?.message.contains("EX-1") == true, "\(expired.noteCodes)")

    #expect(try status(expiresOn: "2024-06-30", capturedAt: "2024-06-30T00:00:00Z").status == .excepted)
    #expect(try status(expiresOn: "2024-06-30", capturedAt: "2024-06-30T23:59:59Z").status == .excepted)
    #expect(try status(expiresOn: "2024-06-30", capturedAt: "2024-07-01T00:00:00Z").status == .fail)
    // A time on expires_on does not stretch the exception into the next day: the day is what counts.
    let timed = try status(expiresOn: "2024-06-30T12:00:00Z", capturedAt: "2024-07-01T06:00:00Z")
    #expect(timed.status == .fail)
    #expect(timed.hasNote("exception-expired"))
    #expect(try status(expiresOn: "2024-06-30T12:00:00Z", capturedAt: "2024-06-30T23:00:00Z").status == .excepted)
  }

  /// Issue 14, defect 9: `approved_on: 2024-03-15` must not except what was captured before that day.
  @Test func aBackdatedExceptionDoesNotApplyBeforeItsApproval() throws {
    func result(approvedOn: String, capturedAt: String) throws -> CheckResult {
      let outcome = Assessor.assess(
        try Self.snapshot(), capturedAt: Timestamp(parsing: capturedAt)!,
        register: try Self.register([Self.entry(principal: "analyst", approvedOn: approvedOn)]))
      #expect(outcome.staleExceptions.isEmpty, "an exception that matched a failure is not stale, in force or not")
      return try Self.inlineResult(outcome, "analyst", "kms-admin")
    }
    for captured in ["2024-01-31T23:59:59Z", "2024-02-29T12:00:00Z", "2024-03-14T23:59:59Z"] {
      let early = try result(approvedOn: "2024-03-15", capturedAt: captured)
      #expect(early.status == .fail, "\(captured)")
      #expect(early.exception == nil)
      let note = try #require(early.notes.first { $0.code == "exception-not-yet-approved" }, "\(early.noteCodes)")
      #expect(note.message.contains("EX-1") && note.message.contains("2024-03-15"), "\(note.message)")
      #expect(!early.hasNote("exception-expired") && !early.hasNote("excepted"))
    }
    // In force from the very start of the approval day (UTC), whatever time of day approved_on names.
    #expect(try result(approvedOn: "2024-03-15", capturedAt: "2024-03-15T00:00:00Z").status == .excepted)
    #expect(try result(approvedOn: "2024-03-15T18:00:00Z", capturedAt: "2024-03-15T06:00:00Z").status == .excepted)
    #expect(try result(approvedOn: "2024-03-15T18:00:00Z", capturedAt: "2024-03-14T23:00:00Z").status == .fail)
  }

  @Test func anExceptionForEverythingNeedsScopeAllAndSaysSo() throws {
    let text = """
      {"exceptions":[{"id":"EX-ALL","check":"*","scope":{"principal":"*"},"scope_all":true,"justification":"Account being decommissioned",
       "approved_by":"ciso@example.com","approved_on":"2024-01-01","expires_on":"2024-12-31"},
      \(Self.entry(id: "EX-NARROW", principal: "analyst"))]}
      """
    let register = try ExceptionRegister(bytes: Array(text.utf8), source: "exceptions.json")
    #expect(register.exceptions.map(\.isScopeAll) == [true, false])
    let outcome = Assessor.assess(try Self.snapshot(), capturedAt: Self.capturedAt, register: register)
    #expect(outcome.results.filter { $0.principal != nil }.allSatisfy { $0.status != .fail })
  }

  /// The rules added for issue 14 do not apply to a register already recorded with an assessment:
  /// its report still lists it.
  @Test func aRecordedRegisterIsReadByTheRulesItWasAcceptedUnder() throws {
    let old =
      #"{"exceptions":[{"id":"E","check":"*","scope":{"policy":"*"},"justification":" ","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01","note":"x"}]}"#
    #expect(throws: ExceptionRegisterError.self) { try ExceptionRegister(bytes: Array(old.utf8), source: "x.json") }
    let recorded = try ExceptionRegister(recordedBytes: Array(old.utf8), source: "x.json")
    #expect(recorded.exceptions.map(\.id) == ["E"])
    #expect(recorded.exceptions.first?.isScopeAll == true)
  }

  @Test func expiredExceptionIsNotStaleButUnmatchedOneIs() throws {
    let register = try Self.register([
      Self.entry(id: "EX-OLD", principal: "analyst", expiresOn: "2024-03-31"),
      Self.entry(id: "EX-NOBODY", principal: "arn:aws:iam::*:user/nobody"),
      Self.entry(id: "EX-OTHER-CHECK", check: "kms-full-access-managed", principal: "analyst"),
    ])
    let outcome = Assessor.assess(try Self.snapshot(), capturedAt: Self.capturedAt, register: register)
    #expect(outcome.staleExceptions.map(\.id).sorted() == ["EX-NOBODY", "EX-OTHER-CHECK"])
    #expect(try Self.inlineResult(outcome, "analyst", "kms-admin").hasNote("exception-expired"))
  }

  @Test func exceptionsNeverTouchPasses() throws {
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.role(
          "reader", inline: [try Synth.inline("describe", #"{"Statement":[{"Effect":"Allow","Action":"kms:Describe*","Resource":"*"}]}"#)])
      ],
      managedPolicies: [])
    let outcome = Assessor.assess(
      snapshot, capturedAt: Self.capturedAt, register: try Self.register([Self.entry(check: "*", principal: "reader")]))
    #expect(outcome.results.allSatisfy { $0.status == .pass && $0.exception == nil })
    #expect(outcome.staleExceptions.map(\.id) == ["EX-1"])
  }

  // MARK: - Bad register files

  static let badRegisters: [(label: String, text: String, path: String, message: String)] = [
    (
      "missing id",
      #"{"exceptions":[{"check":"kms-full-access-inline","scope":{"principal":"x"},"justification":"j","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01"}]}"#,
      "$.exceptions[0]", "missing id"
    ),
    (
      "unknown check",
      #"{"exceptions":[{"id":"E","check":"kms-everything","scope":{"principal":"x"},"justification":"j","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01"}]}"#,
      "$.exceptions[0].check", "unknown check"
    ),
    (
      "expires before approved",
      #"{"exceptions":[{"id":"E","check":"kms-full-access-inline","scope":{"principal":"x"},"justification":"j","approved_by":"a","approved_on":"2024-03-01","expires_on":"2024-02-01"}]}"#,
      "$.exceptions[0].expires_on", "expires before"
    ),
    ("not JSON", "exceptions: - id: E", "$", "not valid JSON"),
    (
      "duplicate id", "{\"exceptions\":[\(entry(id: "E", principal: "x")),\(entry(id: "E", principal: "y"))]}", "$.exceptions[1]",
      "appears twice"
    ),
    (
      "empty scope",
      #"{"exceptions":[{"id":"E","check":"*","scope":{},"justification":"j","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01"}]}"#,
      "$.exceptions[0].scope", "principal or a policy"
    ),
    (
      "bad date",
      #"{"exceptions":[{"id":"E","check":"*","scope":{"policy":"p"},"justification":"j","approved_by":"a","approved_on":"2024-13-01","expires_on":"2024-02-01"}]}"#,
      "$.exceptions[0].approved_on", "not a valid date"
    ),
    // Issue 14, defect 9 and the duplicate-key risk.
    (
      "blank justification",
      #"{"exceptions":[{"id":"E","check":"*","scope":{"policy":"p"},"justification":" \t\n ","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01"}]}"#,
      "$.exceptions[0].justification", "must not be empty or blank"
    ),
    (
      "empty approver",
      #"{"exceptions":[{"id":"E","check":"*","scope":{"policy":"p"},"justification":"j","approved_by":"","approved_on":"2024-01-01","expires_on":"2024-02-01"}]}"#,
      "$.exceptions[0].approved_by", "must not be empty or blank"
    ),
    (
      "duplicate key in an exception",
      #"{"exceptions":[{"id":"E","check":"*","scope":{"policy":"p"},"justification":"j","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01","expires_on":"2099-12-31"}]}"#,
      "$.exceptions[0].expires_on", "duplicate key \"expires_on\""
    ),
    (
      "duplicate key in a scope",
      #"{"exceptions":[{"id":"E","check":"*","scope":{"policy":"p","policy":"*"},"justification":"j","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01"}]}"#,
      "$.exceptions[0].scope.policy", "duplicate key"
    ),
    (
      "duplicate register key",
      #"{"exceptions":[],"exceptions":[{"id":"E","check":"*","scope":{"policy":"p"},"justification":"j","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01"}]}"#,
      "$.exceptions", "duplicate key"
    ),
    (
      "unknown field",
      #"{"exceptions":[{"id":"E","check":"*","scope":{"policy":"p"},"justification":"j","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01","expires":"2024-01-02"}]}"#,
      "$.exceptions[0].expires", "unknown field \"expires\""
    ),
    ("unknown register field", #"{"exceptions":[],"note":"x"}"#, "$.note", "unknown field"),
    (
      "unknown scope field",
      #"{"exceptions":[{"id":"E","check":"*","scope":{"policy":"p","account":"1"},"justification":"j","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01"}]}"#,
      "$.exceptions[0].scope.account", "unknown field"
    ),
    (
      "everything without scope_all",
      #"{"exceptions":[{"id":"E","check":"*","scope":{"principal":"*","policy":"*"},"justification":"j","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01"}]}"#,
      "$.exceptions[0]", "scope_all"
    ),
    (
      "every principal of every check without scope_all",
      #"{"exceptions":[{"id":"E","check":"*","scope":{"principal":"**"},"justification":"j","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01","scope_all":false}]}"#,
      "$.exceptions[0]", "scope_all"
    ),
    (
      "scope_all on a narrow exception",
      #"{"exceptions":[{"id":"E","check":"kms-full-access-inline","scope":{"principal":"*"},"justification":"j","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01","scope_all":true}]}"#,
      "$.exceptions[0].scope_all", "narrows the exception"
    ),
    (
      "scope_all not a boolean",
      #"{"exceptions":[{"id":"E","check":"*","scope":{"policy":"*"},"justification":"j","approved_by":"a","approved_on":"2024-01-01","expires_on":"2024-02-01","scope_all":"yes"}]}"#,
      "$.exceptions[0].scope_all", "expected true or false"
    ),
  ]

  @Test(arguments: badRegisters.map(\.label))
  func badRegisterNamesFileAndPath(label: String) throws {
    let bad = try #require(Self.badRegisters.first { $0.label == label })
    do {
      _ = try ExceptionRegister(bytes: Array(bad.text.utf8), source: "registers/exceptions.json")
      Issue.record("\(label): accepted")
    } catch {
      #expect(error.file == "registers/exceptions.json")
      #expect(error.path == bad.path, "\(label): \(error)")
      #expect(error.message.contains(bad.message), "\(label): \(error)")
      #expect(error.description.hasPrefix("registers/exceptions.json: \(bad.path): "))
    }
  }

  @Test func emptyRegisterFileIsFine() throws {
    let register = try ExceptionRegister(bytes: Array(#"{"exceptions":[]}"#.utf8), source: "x.json")
    #expect(register.exceptions.isEmpty)
    #expect(ExceptionRegister.empty.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(register.sha256 != ExceptionRegister.empty.sha256)
  }

  // MARK: - Through the store

  @Test func storeRecordsTheRegisterAndExceptedResults() throws {
    let (store, _) = try TestSupport.makeStore()
    let file = Synth.snapshotFile(users: [(name: "analyst", policyName: "kms-admin", document: Self.kmsStar)])
    guard
      case .ingested(let record) = try store.workflow.ingest(
        IngestSource(name: "s.json", bytes: Array(file.utf8), modificationTime: nil),
        options: IngestOptions(capturedAt: Self.capturedAt, now: TestSupport.fixedNow))
    else {
      Issue.record("not ingested")
      return
    }
    let text = "{\"exceptions\":[\(Self.entry(principal: "analyst")),\(Self.entry(id: "EX-STALE", principal: "ghost"))]}"
    let register = try ExceptionRegister(bytes: Array(text.utf8), source: "/etc/iam/exceptions.json")
    #expect(register.sha256.count == 64)
    let outcome = try store.workflow.assess(snapshotID: record.id, register: register, now: TestSupport.fixedNow)
    #expect(outcome.staleExceptions.map(\.id) == ["EX-STALE"])

    let assessment = try #require(try store.latestAssessment(snapshotID: record.id))
    #expect(assessment.exceptionsSHA256 == register.sha256)
    #expect(assessment.exceptionsContent == text)
    #expect(assessment.exceptionsSource == "/etc/iam/exceptions.json")
    #expect(assessment.staleExceptions == ["EX-STALE"])
    #expect(assessment.checks == CheckCatalog.all.map { "\($0.description.id)@\($0.description.version)" })

    let excepted = try store.workflow.results(snapshotID: record.id, statuses: [.excepted])
    #expect(excepted.map(\.checkID) == ["kms-full-access-inline"])
    #expect(excepted.first?.exception?.id == "EX-1")
    #expect(excepted.first?.exception?.expiresOn == "2024-12-31")
    #expect(try store.count("SELECT count(*) FROM results WHERE snapshot_id=? AND exception_id='EX-1'", [record.id]) == 1)

    // Assessing again without a register: the exception is gone, the failure is back.
    try store.workflow.assess(snapshotID: record.id, now: TestSupport.fixedNow)
    #expect(try store.workflow.results(snapshotID: record.id, statuses: [.excepted]).isEmpty)
    let latest = try #require(try store.latestAssessment(snapshotID: record.id))
    #expect(latest.exceptionsSHA256 == ExceptionRegister.empty.sha256)
    #expect(latest.exceptionsSource == nil)
    #expect(latest.id > assessment.id)
  }

  // MARK: - Re-assessing

  @Test func reassessingReplacesResults() throws {
    let (store, _) = try TestSupport.makeStore()
    let record = try TestSupport.ingest(store, TestSupport.fixture("dev-small.json"))
    #expect(try store.latestAssessment(snapshotID: record.id) == nil)
    #expect(try !store.isAssessed(snapshotID: record.id))
    let first = try store.workflow.assess(snapshotID: record.id, now: TestSupport.fixedNow)
    let count = try store.count("SELECT count(*) FROM results WHERE snapshot_id=?", [record.id])
    let assessments = try store.count("SELECT count(*) FROM assessments WHERE snapshot_id=?", [record.id])
    #expect(count == first.results.count)
    #expect(count > 0)
    #expect(assessments == 1)

    let second = try store.workflow.assess(snapshotID: record.id, now: TestSupport.fixedNow)
    #expect(try store.count("SELECT count(*) FROM results WHERE snapshot_id=?", [record.id]) == count)
    #expect(try store.count("SELECT count(*) FROM assessments WHERE snapshot_id=?", [record.id]) == assessments + 1)
    let latest = try #require(try store.latestAssessment(snapshotID: record.id))
    #expect(try store.count("SELECT count(*) FROM results WHERE snapshot_id=? AND assessment_id=?", [record.id, latest.id]) == count)
    #expect(second.results == first.results)
    // Stored results read back as they were produced, in report order.
    #expect(try store.workflow.results(snapshotID: record.id) == second.results)
  }
}
