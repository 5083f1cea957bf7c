import Foundation
import Testing

@testable import IAMEvidence

/// The document-level checks against the ground truth of the shared fixtures: the expected status of
/// each labelled document is derived from the pattern labels of all its labelled statements.
@Suite(.temporaryDirectories) struct CheckFixtureTests {
  static let snapshots = ["dev-small", "dev-series/2024-01", "dev-series/2024-02", "dev-series/2024-03"]

  /// A statement that alone allows every KMS action on all keys (see `pattern_legend`).
  static let fullAccess: Set<String> = [
    "kms_star_string", "kms_star_in_array", "kms_star_uppercase", "full_admin_star", "kms_star_key_wildcard_arn",
    "statement_single_object", "kms_star_resource_array", "notaction_allow_star", "kms_star_condition_viaservice",
  ]
  /// Statements that grant less than everything on all keys, or nothing KMS at all.
  static let notFullAccess: Set<String> = [
    "kms_star_single_key_arn", "kms_decrypt_only", "notaction_excludes_kms", "kms_readonly_wildcards",
  ]
  /// An unconditional Deny of `kms:*` on `*`: it cancels any KMS grant of the same document.
  static let unconditionalDenyAll = "deny_kms_star"
  /// A Deny with a Condition (ForceMFA): never credited.
  static let conditionalDeny = "deny_notaction_mfa"
  static let conditionalGrant = "kms_star_condition_viaservice"

  struct Entry {
    var json: JSONValue
    var id: String { json["id"]?.stringValue ?? "?" }
    var pattern: String { json["pattern"]?.stringValue ?? "?" }
    var statementIndex: Int {
      if case .number(let n)? = json["statement_index"] { return Int(n) ?? -1 }
      return -1
    }
    subscript(key: String) -> String? { json[key]?.stringValue }
    var isAWSManaged: Bool { json["aws_managed"] == .bool(true) }
    var isDefaultVersion: Bool { json["is_default_version"] == .bool(true) }
  }

  /// The verdict the labels of one document call for.
  static func documentFails(_ labels: [String]) -> Bool {
    labels.contains(where: fullAccess.contains) && !labels.contains(unconditionalDenyAll)
  }

  static func names(_ list: JSONValue?) -> [String] {
    (list?.arrayValue ?? []).compactMap { $0.stringValue ?? $0["name"]?.stringValue }.sorted()
  }

  static func truth(_ name: String) throws -> JSONValue {
    try JSONParser.parse(try TestSupport.bytes(TestSupport.fixture(name + ".truth.json")))
  }

  /// Ingests and assesses one fixture snapshot; returns its results.
  static func assessedResults(_ name: String) throws -> [CheckResult] {
    let (store, _) = try TestSupport.makeStore()
    let record = try TestSupport.ingest(store, TestSupport.fixture(name + ".json"))
    try store.workflow.assess(snapshotID: record.id, now: TestSupport.fixedNow)
    return try store.workflow.results(snapshotID: record.id)
  }

  @Test func legendKnowsEveryLabelThisSuiteClassifies() throws {
    var legend = Set<String>()
    var used = Set<String>()
    for name in Self.snapshots {
      let truth = try Self.truth(name)
      legend.formUnion((truth["pattern_legend"]?.objectValue ?? []).map(\.key))
      for e in (truth["inline"]?.arrayValue ?? []) + (truth["managed"]?.arrayValue ?? []) {
        used.insert(e["pattern"]?.stringValue ?? "?")
      }
    }
    let classified = Self.fullAccess.union(Self.notFullAccess).union([Self.unconditionalDenyAll, Self.conditionalDeny])
    #expect(used.isSubset(of: classified), "unclassified labels: \(used.subtracting(classified).sorted())")
    #expect(classified.isSubset(of: legend), "labels missing from the legends: \(classified.subtracting(legend).sorted())")
  }

  @Test(arguments: snapshots)
  func inlinePolicies(name: String) throws {
    let truth = try Self.truth(name)
    let results = try Self.assessedResults(name)
    let inline = results.with(check: "kms-full-access-inline")
    let entries = (truth["inline"]?.arrayValue ?? []).map(Entry.init)
    #expect(entries.count >= 10)

    struct Key: Hashable {
      var principalARN: String
      var policy: String
    }
    let documents = Dictionary(grouping: entries) { Key(principalARN: $0["principal_arn"] ?? "", policy: $0["policy_name"] ?? "") }
    var expectedFailures = 0
    for (key, docEntries) in documents.sorted(by: { ($0.key.principalARN, $0.key.policy) < ($1.key.principalARN, $1.key.policy) }) {
      let labels = docEntries.map(\.pattern)
      let ids = docEntries.map(\.id).joined(separator: ",")
      let matching = inline.filter { $0.principal?.arn == key.principalARN && $0.policy?.name == key.policy }
      guard matching.count == 1, let result = matching.first else {
        Issue.record("\(name) \(ids): \(matching.count) results for \(key.principalARN) \(key.policy)")
        continue
      }
      let fails = Self.documentFails(labels)
      if fails { expectedFailures += 1 }
      #expect(result.status == (fails ? .fail : .pass), "\(name) \(ids) \(labels): \(result.status) — \(result.why)")
      #expect(result.policy?.kind == .inline)
      for entry in docEntries {
        if fails && Self.fullAccess.contains(entry.pattern) {
          #expect(
            result.statements.contains(entry.statementIndex),
            "\(name) \(entry.id): statement \(entry.statementIndex) not in \(result.statements)")
        }
        if fails && entry.pattern == Self.conditionalGrant {
          #expect(
            result.notes.contains { $0.code == "conditional" && $0.statements.contains(entry.statementIndex) },
            "\(name) \(entry.id): no conditional note: \(result.noteCodes)")
        }
        if entry.pattern == Self.unconditionalDenyAll && labels.contains(where: Self.fullAccess.contains) {
          #expect(result.hasNote("neutralised-by-deny"), "\(name) \(entry.id): \(result.noteCodes)")
        }
        if entry["principal_type"] == "group" {
          #expect(
            result.inheritedBy.map(\.name).sorted() == Self.names(entry.json["group_members"]),
            "\(name) \(entry.id): inherited by \(result.inheritedBy.map(\.name))")
        }
      }
      if fails {
        #expect(!result.remediation.isEmpty)
        #expect(result.offendingStatements.count == result.statements.count)
      } else {
        #expect(result.statements.isEmpty && result.reasons.isEmpty && result.remediation.isEmpty)
      }
    }
    // Background statements never add a failure, and every inline policy is in the population.
    #expect(inline.filter { $0.status == .fail }.count == expectedFailures, "\(name): failures beyond the labelled documents")
    #expect(!inline.contains { $0.status == .error })
    let snapshot = try SnapshotDecoder(sourceName: name).decode(try TestSupport.bytes(TestSupport.fixture(name + ".json")))
    #expect(inline.count == snapshot.counts.inlinePolicies)
  }

  @Test(arguments: snapshots)
  func customerManagedPolicies(name: String) throws {
    let truth = try Self.truth(name)
    let results = try Self.assessedResults(name)
    let managed = results.with(check: "kms-full-access-managed")
    let entries = (truth["managed"]?.arrayValue ?? []).map(Entry.init).filter { !$0.isAWSManaged }
    #expect(!entries.isEmpty)

    struct Key: Hashable {
      var arn: String
      var version: String
    }
    let versions = Dictionary(grouping: entries) { Key(arn: $0["policy_arn"] ?? "", version: $0["version_id"] ?? "") }
    let latent = Set(
      versions.filter { !($0.value.first?.isDefaultVersion ?? true) && Self.documentFails($0.value.map(\.pattern)) }.map(\.key.arn))
    var expectedFailures = 0
    for (key, docEntries) in versions where docEntries.first?.isDefaultVersion == true {
      let labels = docEntries.map(\.pattern)
      let ids = docEntries.map(\.id).joined(separator: ",")
      let matching = managed.filter { $0.policy?.arn == key.arn }
      guard matching.count == 1, let result = matching.first else {
        Issue.record("\(name) \(ids): \(matching.count) results for \(key.arn)")
        continue
      }
      let fails = Self.documentFails(labels)
      if fails { expectedFailures += 1 }
      #expect(result.status == (fails ? .fail : .pass), "\(name) \(ids) \(labels): \(result.status) — \(result.why)")
      #expect(result.policy?.versionID == key.version)
      #expect(result.principal == nil)
      for entry in docEntries {
        if fails && Self.fullAccess.contains(entry.pattern) {
          #expect(
            result.statements.contains(entry.statementIndex),
            "\(name) \(entry.id): statement \(entry.statementIndex) not in \(result.statements)")
        }
        if fails && entry.pattern == Self.conditionalGrant {
          #expect(result.hasNote("conditional"), "\(name) \(entry.id): \(result.noteCodes)")
        }
        let attached = (entry.json["attached_to"]?.arrayValue ?? []).map {
          "\($0["type"]?.stringValue ?? "?")/\($0["name"]?.stringValue ?? "?")"
        }
        #expect(
          result.attachedTo.map { "\($0.type.rawValue)/\($0.name)" }.sorted() == attached.sorted(),
          "\(name) \(entry.id): attached to \(result.attachedTo.map(\.name))")
        if fails && attached.isEmpty { #expect(result.hasNote("unattached")) }
      }
    }
    for result in managed {
      let arn = result.policy?.arn ?? "?"
      #expect(result.hasNote("latent-version") == latent.contains(arn), "\(name) \(arn): notes \(result.noteCodes)")
    }
    // Every customer-managed policy is judged; nothing fails beyond the labelled default versions.
    let snapshot = try SnapshotDecoder(sourceName: name).decode(try TestSupport.bytes(TestSupport.fixture(name + ".json")))
    #expect(managed.count == snapshot.managedPolicies.filter { !$0.isAWSManaged }.count)
    #expect(managed.filter { $0.status == .fail }.count == expectedFailures, "\(name): failures beyond the labelled documents")
    #expect(!latent.isEmpty || name != "dev-small", "dev-small plants a latent full-access version")
  }

  /// Identity results exist for every user and role, and AdministratorAccess holders fail.
  @Test func identityPopulationOfDevSmall() throws {
    let results = try Self.assessedResults("dev-small")
    let identity = results.with(check: "kms-full-access-identity")
    let snapshot = try SnapshotDecoder(sourceName: "dev-small").decode(try TestSupport.bytes(TestSupport.fixture("dev-small.json")))
    #expect(identity.count == snapshot.users.count + snapshot.roles.count)
    #expect(identity.allSatisfy { $0.principal?.type != .group && $0.policy == nil })
    // backup-prod-cron-exec has FraudReadOnlyPolicy (Allow * on *) attached.
    let role = try #require(identity.first { $0.principal?.name == "backup-prod-cron-exec" })
    #expect(role.status == .fail)
    #expect(role.sources.contains { $0.policyARN == "arn:aws:iam::239588431284:policy/FraudReadOnlyPolicy" && $0.kind == "managed" })
  }
}
