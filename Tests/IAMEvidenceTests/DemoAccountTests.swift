import Foundation
import Testing

@testable import IAMEvidence

/// The bundled demo account shows what issue 13's checks find (its README says what is planted).
@Suite struct DemoAccountTests {
  /// Each demo month, decoded and assessed at its capture time, by file name.
  static func assessed() throws -> [String: [CheckResult]] {
    var out: [String: [CheckResult]] = [:]
    for (url, capturedAt) in try DemoData.snapshots() {
      let snapshot = try SnapshotDecoder(sourceName: url.lastPathComponent).decode(try TestSupport.bytes(url))
      out[url.lastPathComponent] = Assessor.assess(snapshot, capturedAt: capturedAt).results
    }
    return out
  }

  static func result(_ results: [CheckResult]?, _ check: String, _ principal: String, policy: String? = nil) throws -> CheckResult {
    try #require(results?.first { $0.checkID == check && $0.principal?.name == principal && (policy == nil || $0.policy?.name == policy) })
  }

  @Test func everyNewCheckFailsInTheLatestMonth() throws {
    let may = try #require(try Self.assessed()["2024-05-31.json"])
    for check in [
      "privilege-escalation-policy", "privilege-escalation-identity", "role-trust-public", "role-trust-oidc-unrestricted",
      "privileged-role-unused",
    ] {
      #expect(may.contains { $0.checkID == check && $0.status == .fail }, "\(check) fails nowhere in the demo")
      #expect(!may.contains { $0.checkID == check && $0.status == .error }, "\(check) has an error in the demo")
    }
  }

  @Test func whatIsPlantedIsWhatIsFound() throws {
    let months = try Self.assessed()
    let (march, april, may) = (months["2024-03-31.json"], months["2024-04-30.json"], months["2024-05-31.json"])
    // A method assembled from two sources: the PassRole policy passes alone, the user fails.
    let bob = try Self.result(may, "privilege-escalation-identity", "bob.dev")
    #expect(bob.status == .fail && bob.methods.contains("passrole-lambda-invoke") && bob.reasons.contains("combined-sources"))
    let invoke = try #require(bob.methodSources.first { $0.method == "passrole-lambda-invoke" })
    #expect(Set(invoke.sources.map(\.label)) == ["inline lambda-testing", "group developers: inline no-kms-admin"])
    #expect(try Self.result(may, "privilege-escalation-policy", "bob.dev", policy: "lambda-testing").status == .pass)
    #expect(
      try Self.result(april, "privilege-escalation-identity", "bob.dev").methods == [
        "glue-update-dev-endpoint", "lambda-update-function-code",
      ])
    // A boundary that removes every method.
    let ci = try Self.result(may, "privilege-escalation-identity", "ci-deployer")
    #expect(ci.status == .pass && ci.hasNote("outside-boundary"))
    // GitHub trust widened in April; a public trust with only an external id in May.
    #expect(try Self.result(march, "role-trust-oidc-unrestricted", "github-deploy").status == .pass)
    #expect(try Self.result(april, "role-trust-oidc-unrestricted", "github-deploy").status == .fail)
    let partner = try Self.result(may, "role-trust-public", "partner-audit")
    #expect(partner.status == .fail && partner.hasNote("conditional"))
    // Unused privileged roles: 79 days in March, 109 in April.
    #expect(try Self.result(march, "privileged-role-unused", "OrganizationAccountAccessRole").status == .pass)
    #expect(try Self.result(april, "privileged-role-unused", "OrganizationAccountAccessRole").status == .fail)
    let reporting = try Self.result(may, "privileged-role-unused", "reporting-lambda")
    #expect(reporting.status == .fail && reporting.hasNote("never-used"))
    #expect(
      march?.contains { $0.checkID == "privileged-role-unused" && $0.principal?.name == "reporting-lambda" } == false,
      "not privileged before May")
  }
}
