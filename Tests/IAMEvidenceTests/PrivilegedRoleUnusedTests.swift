import Foundation
import Testing

@testable import IAMEvidence

/// `privileged-role-unused` and the assessor's second phase: the population from the other checks'
/// results (fail or excepted, exceptions applied first), the 90-day boundary to the second, roles
/// never used, service-linked roles.
@Suite struct PrivilegedRoleUnusedTests {
  static let admin = #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
  static let capturedAt = Timestamp(parsing: "2024-06-01T00:00:00Z")!

  static func role(
    _ name: String, policy: String = admin, created: String? = "2023-01-01T00:00:00Z", lastUsed: String?, path: String = "/"
  ) throws -> Principal {
    var r = Synth.role(name, inline: [try Synth.inline("p", policy)])
    r.path = path
    r.createDate = created.flatMap(Timestamp.init(parsing:))
    r.roleLastUsedDate = lastUsed.flatMap(Timestamp.init(parsing:))
    r.roleLastUsedRegion = lastUsed == nil ? nil : "eu-west-1"
    return r
  }

  static func assess(_ principals: [Principal], at time: Timestamp = capturedAt, register: ExceptionRegister = .empty) -> Assessor.Outcome {
    Assessor.assess(AuthorizationSnapshot(principals: principals, managedPolicies: []), capturedAt: time, register: register)
  }

  static func unused(_ outcome: Assessor.Outcome) -> [String: CheckResult] {
    Dictionary(uniqueKeysWithValues: outcome.results.with(check: "privileged-role-unused").map { ($0.principal!.name, $0) })
  }

  @Test func exactlyNinetyDaysPassesAndOneSecondMoreFails() throws {
    let results = Self.unused(
      Self.assess(
        [
          try Self.role("ninety", lastUsed: "2024-03-03T00:00:00Z"),
          try Self.role("ninety-and-a-second", lastUsed: "2024-03-02T23:59:59Z"),
          try Self.role("fraction-equal", lastUsed: "2024-03-03T00:00:00.5Z"),
          try Self.role("recent", lastUsed: "2024-05-31T12:00:00Z"),
        ], at: Timestamp(parsing: "2024-06-01T00:00:00.50Z")!))
    #expect(results["ninety"]?.status == .fail, "captured half a second after 90 days")
    #expect(results["ninety-and-a-second"]?.status == .fail)
    #expect(results["fraction-equal"]?.status == .pass, ".5 and .50 are the same instant: exactly 90 days")
    #expect(results["recent"]?.status == .pass)

    let exact = Self.unused(Self.assess([try Self.role("ninety", lastUsed: "2024-03-03T00:00:00Z")]))
    let r = try #require(exact["ninety"])
    #expect(r.status == .pass)
    #expect(r.why == "Last used 2024-03-03T00:00:00Z in eu-west-1, 90 days before the capture time (2024-06-01T00:00:00Z): within 90 days.")
    #expect(PrivilegedRoleUnused.isMore(than: 90 * 86_400, from: Timestamp(parsing: "2024-03-03T00:00:00Z")!, to: Self.capturedAt) == false)
  }

  @Test func neverUsedFailsOnlyWhenCreatedMoreThanNinetyDaysBefore() throws {
    let results = Self.unused(
      Self.assess([
        try Self.role("old", created: "2023-06-01T00:00:00Z", lastUsed: nil),
        try Self.role("new", created: "2024-03-03T00:00:00Z", lastUsed: nil),
        try Self.role("undated", created: nil, lastUsed: nil),
      ]))
    let old = try #require(results["old"])
    #expect(old.status == .fail && old.reasons == ["never-used"] && old.hasNote("never-used"))
    #expect(
      old.why
        == "Never used; created 2023-06-01T00:00:00Z, 366 days before the capture time (2024-06-01T00:00:00Z): more than 90 days without use."
    )
    #expect(old.remediation.contains { $0.contains("aws iam delete-role --role-name old") })
    #expect(results["new"]?.status == .pass)
    #expect(results["undated"]?.status == .error, "a role never used whose age is unknown cannot pass")
  }

  @Test func thePopulationIsThePrivilegedRolesExceptServiceLinkedOnes() throws {
    let escalation = #"{"Statement":[{"Effect":"Allow","Action":["iam:PassRole","ec2:RunInstances"],"Resource":"*"}]}"#
    let kms = #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#
    let readOnly = #"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#
    let outcome = Self.assess([
      try Self.role("admin", lastUsed: nil),
      try Self.role("escalator", policy: escalation, lastUsed: nil),
      try Self.role("kms", policy: kms, lastUsed: nil),
      try Self.role("reader", policy: readOnly, lastUsed: nil),
      try Self.role("AWSServiceRoleForSupport", lastUsed: nil, path: "/aws-service-role/support.amazonaws.com/"),
      Synth.user("admin-user", inline: [try Synth.inline("p", Self.admin)]),
    ])
    let results = Self.unused(outcome)
    #expect(Set(results.keys) == ["admin", "escalator", "kms"], "other roles, service-linked roles and users get no result")
    #expect(results.values.allSatisfy { $0.status == .fail })
    let notes = try #require(results["escalator"]?.notes.first { $0.code == "privileged" }).message
    #expect(notes == "Privileged according to privilege-escalation-identity fail.", "\(notes)")
    #expect(results["admin"]?.notes.first?.message.contains("admin-access-identity fail") == true)
    #expect(results["kms"]?.notes.first?.message.contains("kms-full-access-identity fail") == true)
  }

  @Test func anErrorResultOfAnInputDoesNotMakeARolePrivileged() throws {
    // An attached policy missing from the snapshot: the identity checks give error, not fail.
    var role = try Self.role(
      "unknown", policy: #"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#, lastUsed: nil)
    role.attachedPolicies = [AttachedPolicy(name: "gone", arn: Synth.policyARN("gone"))]
    let outcome = Self.assess([role])
    #expect(outcome.results.first { $0.checkID == "admin-access-identity" }?.status == .error)
    #expect(Self.unused(outcome).isEmpty)
  }

  @Test func exceptionsApplyToTheInputsFirstAndToTheDerivedResults() throws {
    let register = try ExceptionTests.register([
      ExceptionTests.entry(id: "EX-ADMIN", check: "admin-access-identity", principal: "break-glass", approvedOn: "2024-01-01"),
      ExceptionTests.entry(id: "EX-DORMANT", check: "privileged-role-unused", principal: "break-glass", approvedOn: "2024-01-01"),
    ])
    let outcome = Self.assess([try Self.role("break-glass", lastUsed: nil)], register: register)
    let admin = try #require(outcome.results.first { $0.checkID == "admin-access-identity" })
    #expect(admin.status == .excepted)
    // The excepted administrator is still privileged, and its dormancy is excepted by its own entry.
    let r = try #require(Self.unused(outcome)["break-glass"])
    #expect(r.status == .excepted && r.exception?.id == "EX-DORMANT")
    #expect(r.notes.first { $0.code == "privileged" }?.message.contains("admin-access-identity excepted (exception EX-ADMIN)") == true)
    #expect(outcome.staleExceptions.isEmpty)
  }

  @Test func aDerivedCheckAloneRunsItsInputsButReturnsOnlyItsResults() throws {
    let outcome = Assessor.assess(
      AuthorizationSnapshot(principals: [try Self.role("admin", lastUsed: nil)], managedPolicies: []), capturedAt: Self.capturedAt,
      checks: [PrivilegedRoleUnused()])
    #expect(outcome.results.map(\.checkID) == ["privileged-role-unused"])
    #expect(outcome.results.first?.status == .fail)
  }
}
