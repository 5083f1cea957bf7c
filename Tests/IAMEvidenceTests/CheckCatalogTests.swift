import Foundation
import Testing

@testable import IAMEvidence

/// One example of one check of the catalog, as a test argument.
struct CatalogExampleCase: Sendable, CustomTestStringConvertible {
  var checkID: String
  var triggering: Bool
  var index: Int
  var example: CheckExample

  var testDescription: String { "\(checkID) \(triggering ? "triggering" : "non-triggering")[\(index)]" }

  /// Every example of every registered check.
  static var all: [CatalogExampleCase] {
    CheckCatalog.all.flatMap { check -> [CatalogExampleCase] in
      let d = check.description
      return d.triggering.enumerated().map { CatalogExampleCase(checkID: d.id, triggering: true, index: $0, example: $1) }
        + d.nonTriggering.enumerated().map { CatalogExampleCase(checkID: d.id, triggering: false, index: $0, example: $1) }
    }
  }
}

/// The catalog itself: each check's own examples, the registry, and the README table.
@Suite struct CheckCatalogTests {
  static let exampleUser = "example-user"
  static let examplePolicyARN = "arn:aws:iam::123456789012:policy/example"

  static let exampleGroup = "example-group"
  static let exampleRole = "example-role"
  static let administratorAccessARN = "arn:aws:iam::aws:policy/AdministratorAccess"
  static let boundaryARN = "arn:aws:iam::123456789012:policy/example-boundary"

  /// A tiny snapshot holding `example` where the check's description (or the example itself) says to
  /// place it. There is always one user, so that every check of users has a subject.
  static func snapshot(placing example: CheckExample, _ placement: ExamplePlacement) throws -> AuthorizationSnapshot {
    let inline = try Synth.inline("example", example.policy)
    switch example.placement ?? placement {
    case .inlineOnUser:
      return AuthorizationSnapshot(principals: [Synth.user(exampleUser, inline: [inline])], managedPolicies: [])
    case .managedAttachedToUser:
      return AuthorizationSnapshot(
        principals: [Synth.user(exampleUser, attached: [examplePolicyARN])],
        managedPolicies: [try Synth.managed(examplePolicyARN, example.policy)])
    case .inlineOnRole:
      return AuthorizationSnapshot(principals: [Synth.user(exampleUser), Synth.role(exampleRole, inline: [inline])], managedPolicies: [])
    case .managedAttachedToRole:
      return AuthorizationSnapshot(
        principals: [Synth.user(exampleUser), Synth.role(exampleRole, attached: [examplePolicyARN])],
        managedPolicies: [try Synth.managed(examplePolicyARN, example.policy)])
    case .inlineOnGroup:
      return AuthorizationSnapshot(
        principals: [Synth.user(exampleUser, groups: [exampleGroup]), Synth.group(exampleGroup, inline: [inline])], managedPolicies: [])
    case .managedAttachedToGroup:
      return AuthorizationSnapshot(
        principals: [Synth.user(exampleUser, groups: [exampleGroup]), Synth.group(exampleGroup, attached: [examplePolicyARN])],
        managedPolicies: [try Synth.managed(examplePolicyARN, example.policy)])
    case .managedUnattached:
      return AuthorizationSnapshot(
        principals: [Synth.user(exampleUser)], managedPolicies: [try Synth.managed(examplePolicyARN, example.policy)])
    case .awsManagedAttachedToRole:
      return AuthorizationSnapshot(
        principals: [Synth.user(exampleUser), Synth.role(exampleRole, attached: [administratorAccessARN])],
        managedPolicies: [try Synth.managed(administratorAccessARN, example.policy)])
    case .managedAttachedToUserWithinBoundary(let boundary):
      return AuthorizationSnapshot(
        principals: [Synth.user(exampleUser, attached: [examplePolicyARN], boundary: boundaryARN)],
        managedPolicies: [try Synth.managed(examplePolicyARN, example.policy), try Synth.managed(boundaryARN, boundary)])
    case .managedAttachedToUserWithGroupInline(let groupPolicy):
      return AuthorizationSnapshot(
        principals: [
          Synth.user(exampleUser, attached: [examplePolicyARN], groups: [exampleGroup]),
          Synth.group(exampleGroup, inline: [try Synth.inline("group-example", groupPolicy)]),
        ],
        managedPolicies: [try Synth.managed(examplePolicyARN, example.policy)])
    case .trustPolicyOfRole:
      var role = Synth.role(exampleRole)
      role.trustPolicy = try Synth.document(example.policy)
      return AuthorizationSnapshot(principals: [Synth.user(exampleUser), role], managedPolicies: [])
    case .inlineOnRoleUsage(let created, let lastUsed, _):
      var role = Synth.role(exampleRole, inline: [inline])
      let createdAt: Timestamp = try #require(Timestamp(parsing: created))
      role.createDate = createdAt
      if let lastUsed {
        let lastUsedAt: Timestamp = try #require(Timestamp(parsing: lastUsed))
        role.roleLastUsedDate = lastUsedAt
      }
      return AuthorizationSnapshot(principals: [Synth.user(exampleUser), role], managedPolicies: [])
    }
  }

  /// When the example's snapshot was captured: as its placement says, else a fixed time.
  static func captureTime(of example: CheckExample, _ placement: ExamplePlacement) throws -> Timestamp {
    if case .inlineOnRoleUsage(_, _, let capturedAt) = example.placement ?? placement {
      return try #require(Timestamp(parsing: capturedAt))
    }
    return Timestamp(epochSeconds: 1_717_200_000)
  }

  /// Where a failure about `example` should point: the line the example is written on.
  static func location(of example: CheckExample) -> SourceLocation {
    let fileName = URL(fileURLWithPath: example.file).lastPathComponent
    return SourceLocation(fileID: "IAMEvidence/\(fileName)", filePath: example.file, line: max(example.line, 1), column: 1)
  }

  @Test(arguments: CatalogExampleCase.all)
  func example(_ c: CatalogExampleCase) throws {
    let location = Self.location(of: c.example)
    guard let check = CheckCatalog.check(id: c.checkID) else {
      Issue.record("\(c.checkID) is not registered", sourceLocation: location)
      return
    }
    let snapshot = try Self.snapshot(placing: c.example, check.description.examplePlacement)
    // A derived check reads other checks' results: the assessor's second phase gives them.
    let results =
      check.description.inputs.isEmpty
      ? check.run(CheckContext(snapshot: snapshot))
      : Assessor.assess(
        snapshot, capturedAt: try Self.captureTime(of: c.example, check.description.examplePlacement), checks: [check]
      ).results
    let summary = results.map { "\($0.status.rawValue) [\($0.noteCodes.joined(separator: ","))]: \($0.why)" }.joined(separator: " | ")
    if results.isEmpty {
      Issue.record("\(c.testDescription): no result at all (population incomplete) for \(c.example.policy)", sourceLocation: location)
      return
    }
    let failing = results.filter { $0.status == .fail }
    let relevant: [CheckResult]
    if c.triggering {
      if failing.isEmpty {
        Issue.record("\(c.testDescription) should fail but did not: \(summary)", sourceLocation: location)
      }
      relevant = failing
    } else {
      if !failing.isEmpty {
        Issue.record("\(c.testDescription) should not fail but did: \(summary)", sourceLocation: location)
      }
      if results.contains(where: { $0.status == .error }) {
        Issue.record("\(c.testDescription) gave an error result: \(summary)", sourceLocation: location)
      }
      relevant = results
    }
    for code in c.example.expectedNotes where !relevant.contains(where: { $0.hasNote(code) }) {
      Issue.record("\(c.testDescription): expected note \(code), got: \(summary)", sourceLocation: location)
    }
  }

  /// The generic test really runs: every check has examples, so there are arguments for each.
  @Test func everyCheckContributesExamples() {
    let ids = Set(CatalogExampleCase.all.map(\.checkID))
    #expect(ids == Set(CheckCatalog.all.map(\.description.id)))
    // An example remembers the file and line it is written on.
    for c in CatalogExampleCase.all {
      #expect(c.example.file.hasSuffix(".swift") && c.example.file.contains("Checks/Catalog/"), "\(c.testDescription): \(c.example.file)")
      #expect(c.example.line > 1)
    }
  }

  // MARK: - Registry

  static let stableIDs = [
    "kms-full-access-inline", "kms-full-access-managed", "kms-decrypt-all-keys", "kms-key-destruction-all-keys",
    "kms-full-access-identity", "admin-access-inline", "admin-access-managed", "admin-access-identity", "user-direct-policies",
    "privilege-escalation-policy", "privilege-escalation-identity", "role-trust-public", "role-trust-oidc-unrestricted",
    "privileged-role-unused",
  ]

  @Test func registryIDsAreUniqueAndStable() {
    let ids = CheckCatalog.all.map(\.description.id)
    #expect(Set(ids).count == ids.count, "duplicate ids: \(ids)")
    #expect(ids == Self.stableIDs)
    for (i, id) in ids.enumerated() {
      #expect(CheckCatalog.check(id: id)?.description.id == id)
      #expect(CheckCatalog.position(of: id) == i)
    }
    #expect(CheckCatalog.check(id: "kms-nope") == nil)
    #expect(CheckCatalog.position(of: "kms-nope") == ids.count)
  }

  /// A derived check reads first-phase checks of the catalog (the assessor runs two phases, no more).
  @Test func derivedChecksReadFirstPhaseChecksOfTheCatalog() {
    let derived = CheckCatalog.all.map(\.description).filter { !$0.inputs.isEmpty }
    #expect(derived.map(\.id) == ["privileged-role-unused"])
    for d in derived {
      for id in d.inputs {
        #expect(CheckCatalog.check(id: id)?.description.inputs == [], "\(d.id): input \(id)")
      }
    }
  }

  @Test func primaryCheckIsTheFoundingControl() throws {
    let first = try #require(CheckCatalog.all.first).description
    #expect(first.id == "kms-full-access-inline")
    #expect(first.isPrimary)
    #expect(first.controls.first == "A.8.2")
    #expect(CheckCatalog.all.dropFirst().allSatisfy { !$0.description.isPrimary }, "only one primary test")
  }

  @Test func controlIDsExistWithTheirISOTitles() throws {
    let catalog = ControlCatalog.bundled
    for d in CheckCatalog.all.map(\.description) {
      #expect(!d.controls.isEmpty, "\(d.id) names no control")
      for id in d.controls {
        #expect(catalog.control(id) != nil, "\(d.id): control \(id) not in the bundled catalog")
      }
    }
    #expect(try #require(catalog.control("A.8.2")).title == "Privileged access rights")
    #expect(try #require(catalog.control("A.8.3")).title == "Information access restriction")
    #expect(catalog.control("A.8.24")?.title == "Use of cryptography")
    #expect(catalog.control("A.5.15")?.title == "Access control")
    #expect(catalog.control("A.5.18")?.title == "Access rights")
    #expect(catalog.control("A.5.15")?.crosswalk2013.map(\.id) == ["A.9.1.1", "A.9.1.2"])
    #expect(catalog.control("A.5.18")?.crosswalk2013.map(\.id) == ["A.9.2.2", "A.9.2.5", "A.9.2.6"])
  }

  @Test func everyCheckIsDocumented() {
    for d in CheckCatalog.all.map(\.description) {
      #expect(d.triggering.count >= 1, "\(d.id) has no triggering example")
      #expect(d.nonTriggering.count >= 1, "\(d.id) has no non-triggering example")
      #expect(!d.rationale.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(d.id): rationale")
      #expect(!d.remediation.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(d.id): remediation")
      #expect(!d.methodology.isEmpty, "\(d.id): methodology")
      #expect(d.methodology.allSatisfy { !$0.trimmingCharacters(in: .whitespaces).isEmpty }, "\(d.id): empty methodology line")
      #expect(!d.title.isEmpty && !d.population.isEmpty, "\(d.id): title/population")
      #expect(d.version >= 1, "\(d.id): version")
    }
  }

  @Test func catalogJSONNamesControlsWithTitles() throws {
    let json = CatalogDocument.json()
    let items = try #require(json.arrayValue)
    #expect(items.compactMap { $0["id"]?.stringValue } == Self.stableIDs)
    let first = try #require(items.first)
    let control = try #require(first["controls"]?.arrayValue?.first)
    #expect(control["id"]?.stringValue == "A.8.2")
    #expect(control["title"]?.stringValue == "Privileged access rights")
    #expect(first["primary"] == .bool(true))
  }

  // MARK: - README

  @Test func readmeShowsTheGeneratedCheckTable() throws {
    let readme = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
    let table = CatalogDocument.markdownTable()
    #expect(table.contains("`kms-full-access-inline` (founding test)"))
    #expect(table.contains("CIS AWS Foundations Benchmark 1.15; AWS Security Hub IAM.2"))
    #expect(table.contains("**A.8.2** Privileged access rights"))
    #expect(
      readme.contains(table),
      "README.md is out of step with the catalog: regenerate its table with `iam-evidence checks --format markdown`:\n\(table)")
  }
}

/// The in-place report sort gives exactly the order of ``CheckResult/reportOrder(_:_:)``.
@Suite struct ReportSortTests {
  @Test func inPlaceSortMatchesReportOrder() throws {
    let snapshot = try SnapshotDecoder(sourceName: "dev-small").decode(try TestSupport.bytes(TestSupport.fixture("dev-small.json")))
    var assessed = Assessor.assess(snapshot, capturedAt: Timestamp(epochSeconds: 1_700_000_000)).results
    // Results of checks the catalog does not know (a retired check's, read from an older database)
    // come after the catalog's, ordered by check id.
    for (i, id) in ["zz-retired-check", "aa-retired-check"].enumerated() {
      assessed += assessed.prefix(12).map { r in
        var r = r
        r.checkID = id
        r.checkVersion = i + 1
        return r
      }
    }
    var rng = JSONDifferentialTests.SplitMix(state: 5)
    for _ in 0..<20 {
      var shuffled = assessed
      for i in shuffled.indices.reversed() { shuffled.swapAt(i, rng.below(i + 1)) }
      var sorted = shuffled
      CheckResult.sortForReport(&sorted)
      #expect(sorted == shuffled.sorted(by: CheckResult.reportOrder))
      let unknown = sorted.map(\.checkID).filter { CheckCatalog.position(of: $0) == CheckCatalog.all.count }
      #expect(unknown == unknown.sorted() && unknown.count == 24)
    }
    #expect(assessed.count > 20)
  }
}

/// The stored bytes of a result, written directly, are exactly the canonical form of its JSON tree
/// (they are its content address across snapshots).
@Suite struct StoredResultBytesTests {
  @Test(arguments: ["dev-small.json", "dev-series/2024-03.json", "external/cloudsplaining-example-authz-details.json"])
  func directBytesEqualTheCanonicalTree(fixture: String) throws {
    let snapshot = try SnapshotDecoder(sourceName: fixture).decode(try TestSupport.bytes(TestSupport.fixture(fixture)))
    let results = Assessor.assess(snapshot, capturedAt: Timestamp(epochSeconds: 1_700_000_000)).results
    // The dev fixtures exercise notes and quoted statements; the external one is checked as it is.
    if fixture.hasPrefix("dev") {
      #expect(results.contains { !$0.notes.isEmpty } && results.contains { !$0.offendingStatements.isEmpty })
    }
    #expect(results.count > 10)
    for r in results {
      #expect(r.storedCanonicalBytes == JSONWriter.canonicalBytes(r.storedJSON), "\(r.findingKey)")
    }
  }

  @Test func hostileAndEmptyValues() {
    let weird = "q\"uo\\te\n\u{1}é😀</script>"
    let principal = PrincipalRef(type: .user, id: weird, name: "", arn: weird)
    let r = CheckResult(
      checkID: "c", checkVersion: 2, status: .excepted, principal: principal,
      policy: PolicyRef(kind: .managed, name: weird, arn: nil, versionID: "v1", documentSHA256: ""), statements: [0, 12],
      offendingStatements: [.object([("b", .number("1.0")), ("a", .array([.null, .bool(true)]))])], reasons: [weird],
      notes: [ResultNote(code: "x", message: weird, statements: [], detail: nil)], why: weird,
      exception: AppliedException(id: weird, approvedBy: "", expiresOn: "2025-01-01"), attachedTo: [principal], inheritedBy: [],
      sources: [GrantSource(kind: "inline", policyName: weird, policyARN: nil, viaGroup: weird)], remediation: [])
    #expect(r.storedCanonicalBytes == JSONWriter.canonicalBytes(r.storedJSON))
  }
}
