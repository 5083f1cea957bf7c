import Foundation
import Testing

@testable import IAMEvidence

/// Issue 17, defect 4: each check's methodology states the rule its code applies, in agreement with
/// its own examples (which the generic catalog test runs). The auditor's case: alice.admin's finding
/// said "allows all 55 target actions" and "54 granted action(s) remain" while the methodology said a
/// Deny removes actions and the identity fails only when every action remains.
@Suite struct MethodologyTests {
  static var descriptions: [CheckDescription] { CheckCatalog.all.map(\.description) }

  /// The rules of `check` naming note `code` (written `"code"`).
  static func rules(_ check: CheckDescription, naming code: String) -> [String] {
    check.methodology.filter { $0.contains("\"\(code)\"") }
  }

  /// Every note an example of a check expects is named in the check's methodology: what the results
  /// carry is explained where the rules are.
  @Test(arguments: CheckCatalog.all.map(\.description.id))
  func everyNoteOfTheExamplesIsNamed(checkID: String) throws {
    let check = try #require(CheckCatalog.check(id: checkID)).description
    for example in check.triggering + check.nonTriggering {
      for code in example.expectedNotes {
        #expect(!Self.rules(check, naming: code).isEmpty, "\(checkID): the methodology does not name \"\(code)\"")
      }
    }
  }

  /// A check with a triggering example noted `partial-deny` says that a partial Deny is a note and the
  /// subject still fails; one with a passing example noted `neutralised-by-deny` says the subject then
  /// passes. No rule says that a Deny removes actions from the grant.
  @Test(arguments: CheckCatalog.all.map(\.description.id))
  func denyRulesAgreeWithTheExamples(checkID: String) throws {
    let check = try #require(CheckCatalog.check(id: checkID)).description
    if check.triggering.contains(where: { $0.expectedNotes.contains("partial-deny") }) {
      let rules = Self.rules(check, naming: "partial-deny")
      #expect(rules.contains { $0.contains("still fails") }, "\(checkID): \(rules)")
    }
    if check.nonTriggering.contains(where: { $0.expectedNotes.contains("neutralised-by-deny") }) {
      let rules = Self.rules(check, naming: "neutralised-by-deny")
      #expect(rules.contains { $0.contains("pass") && $0.contains("every") }, "\(checkID): \(rules)")
    }
    for rule in check.methodology {
      #expect(!rule.contains("removes actions") && !rule.contains("remains."), "\(checkID): \(rule)")
    }
  }

  /// The demo's alice.admin: a group inline policy allows `kms:*` on every key ARN and denies
  /// `kms:ScheduleKeyDeletion` on every key. The identity fails; its result and the methodology say
  /// the same thing: all 55 actions allowed, 54 remain after the Deny, a partial Deny is a note.
  @Test func aliceAdminsFindingAgreesWithTheMethodology() throws {
    let policy =
      #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/*"},{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}"#
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("alice.admin", groups: ["platform-engineers"]),
        Synth.group("platform-engineers", inline: [try Synth.inline("kms-operators", policy)]),
      ], managedPolicies: [])
    let results = Assessor.assess(snapshot, capturedAt: TestSupport.fixedNow).results
    for checkID in ["kms-full-access-identity", "kms-full-access-inline"] {
      let r = try #require(results.first { $0.checkID == checkID })
      let check = try #require(CheckCatalog.check(id: checkID)).description
      #expect(r.status == .fail, "\(checkID)")
      #expect(r.why.contains("allows all 55 target actions on all keys"), "\(checkID): \(r.why)")
      #expect(r.why.contains("Deny statements mitigate it only in part (partial-deny)"), "\(checkID): \(r.why)")
      let note = try #require(r.notes.first { $0.code == "partial-deny" }, "\(checkID)")
      #expect(note.message.contains("denies kms:ScheduleKeyDeletion on every key; 54 granted action(s) remain"), "\(note.message)")
      // The methodology states exactly that: the grant of every action fails, a partial Deny is
      // noted with what remains, and the subject still fails.
      let rules = Self.rules(check, naming: "partial-deny")
      #expect(rules.contains { $0.contains("number of granted actions that remain") && $0.contains("still fails") }, "\(rules)")
      #expect(check.methodology.contains { $0.contains("fails when") && $0.contains("every KMS action") })
    }
  }

  /// The decrypt check names both of its two target actions in words (not "all 2 target actions").
  @Test func twoTargetActionsAreNamedAsBoth() throws {
    let snapshot = AuthorizationSnapshot(
      principals: [
        Synth.user("u", inline: [try Synth.inline("p", #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#)])
      ],
      managedPolicies: [])
    let results = Assessor.assess(snapshot, capturedAt: TestSupport.fixedNow).results
    let decrypt = try #require(results.first { $0.checkID == "kms-decrypt-all-keys" })
    #expect(decrypt.why.contains("allows both target actions (kms:Decrypt, kms:ReEncryptFrom) on all keys"), "\(decrypt.why)")
    #expect(!results.contains { $0.why.contains("all 2 ") || $0.notes.contains { $0.message.contains("all 2 ") } })
  }

  /// A permissions boundary is named once in a note ("Permissions boundary arn:…"), not as
  /// "Permissions boundary boundary arn:…", by both engines.
  @Test func aBoundaryIsNamedOnce() throws {
    let boundary = "arn:aws:iam::123456789012:policy/s3-only"
    let snapshot = AuthorizationSnapshot(
      principals: [Synth.user("u", attached: [Synth.policyARN("all")], boundary: boundary)],
      managedPolicies: [
        try Synth.managed(Synth.policyARN("all"), #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
        try Synth.managed(boundary, #"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#),
      ])
    let results = Assessor.assess(snapshot, capturedAt: TestSupport.fixedNow).results
    let notes = results.filter { $0.principal?.name == "u" }.flatMap(\.notes).filter { $0.code == "outside-boundary" }
    #expect(notes.count == 3, "admin-access-identity, kms-full-access-identity and privilege-escalation-identity")
    for n in notes {
      #expect(n.message.hasPrefix("Permissions boundary \(boundary) does not allow"), "\(n.message)")
      #expect(!n.message.contains("boundary boundary"))
    }
  }

  @Test func countedNounsAgree() {
    #expect(Plural.count(1, "result") == "1 result" && Plural.count(2, "result") == "2 results")
    #expect(Plural.count(0, "finding") == "0 findings" && Plural.count(1, "identity", "identities") == "1 identity")
  }
}
