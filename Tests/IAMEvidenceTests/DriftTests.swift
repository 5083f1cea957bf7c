import Foundation
import Testing
import XMLTree

@testable import IAMEvidence

/// The dev-series fixtures (three monthly snapshots with an `evolution` block in their truth files).
enum Series {
  static let account = "479265329499"
  static let months = ["01", "02", "03"]
  static func capturedAt(_ month: String) -> String {
    ["01": "2024-01-31T00:00:00Z", "02": "2024-02-29T00:00:00Z", "03": "2024-03-31T00:00:00Z"][month]!
  }
  static func url(_ month: String) -> URL { TestSupport.fixture("dev-series/2024-\(month).json") }
  static func truth(_ month: String) throws -> JSONValue {
    try JSONParser.parse(try TestSupport.bytes(TestSupport.fixture("dev-series/2024-\(month).truth.json")))
  }

  /// A store holding `months` of the series (captured at the end of each month), every one assessed.
  static func store(_ months: [String] = months) throws -> (EvidenceStore, [String: SnapshotRecord]) {
    let (store, _) = try TestSupport.makeStore()
    var records: [String: SnapshotRecord] = [:]
    for m in months {
      let r = try TestSupport.ingest(store, url(m), capturedAt: capturedAt(m))
      try store.workflow.assess(snapshotID: r.id, now: TestSupport.fixedNow)
      records[m] = r
    }
    return (store, records)
  }

  /// One planted statement of a truth file.
  struct Entry {
    var id: String
    var kind: PolicyKind
    var pattern: String
    var principalType: String?
    var principalName: String?
    var policyName: String
    var policyARN: String?
    var versionID: String?
    var statementIndex: Int

    /// `type name` of the owning principal (inline) or the ARN (managed).
    var policyIdentity: String {
      kind == .inline ? "\(principalType ?? "")|\(principalName ?? "")|\(policyName)" : (policyARN ?? policyName)
    }
  }

  static func entries(_ truth: JSONValue) -> [String: Entry] {
    var out: [String: Entry] = [:]
    for (list, kind) in [("inline", PolicyKind.inline), ("managed", .managed)] {
      for e in truth[list]?.arrayValue ?? [] {
        guard let id = e["id"]?.stringValue else { continue }
        out[id] = Entry(
          id: id, kind: kind, pattern: e["pattern"]?.stringValue ?? "", principalType: e["principal_type"]?.stringValue,
          principalName: e["principal_name"]?.stringValue, policyName: e["policy_name"]?.stringValue ?? "",
          policyARN: e["policy_arn"]?.stringValue, versionID: e["version_id"]?.stringValue,
          statementIndex: e["statement_index"]?.numberText.flatMap { Int($0) } ?? -1)
      }
    }
    return out
  }

  static func strings(_ v: JSONValue?) -> [String] { (v?.arrayValue ?? []).compactMap(\.stringValue) }

  /// The statement a truth entry points at, read from the decoded snapshot.
  static func statement(_ snapshot: AuthorizationSnapshot, _ e: Entry) -> JSONValue? {
    let document: JSONValue?
    if e.kind == .inline {
      document =
        snapshot.principals.first { $0.type.rawValue == e.principalType && $0.name == e.principalName }?
        .inlinePolicies.first { $0.name == e.policyName }?.document.json
    } else {
      document = snapshot.managedPolicies.first { $0.arn == e.policyARN }?.versions.first { $0.versionId == e.versionID }?.document.json
    }
    guard let s = document?["Statement"] else { return nil }
    if let list = s.arrayValue { return list.indices.contains(e.statementIndex) ? list[e.statementIndex] : nil }
    return e.statementIndex == 0 ? s : nil
  }
}

extension PolicyChange {
  /// The same identity as ``Series/Entry/policyIdentity``.
  var identity: String {
    kind == .inline ? "\(principal?.type.rawValue ?? "")|\(principal?.name ?? "")|\(name)" : (arn ?? name)
  }
}

/// Small snapshot files in the AWS CLI format with full control over ids and managed policies.
enum DriftFiles {
  static let account = "123456789012"
  static let kmsStar = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#
  static let harmless =
    #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:DescribeKey","Resource":"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]}"#

  struct User {
    var name: String
    var id: String
    var policies: [(name: String, document: String)] = []
    var attached: [String] = []
  }

  struct Managed {
    var name: String
    var defaultVersion: String
    var versions: [(id: String, document: String)]
    var arn: String { "arn:aws:iam::\(DriftFiles.account):policy/\(name)" }
  }

  static func file(users: [User], managed: [Managed] = []) -> String {
    let userList = users.map { u in
      let policies = u.policies.map { #"{"PolicyName":\#(JSONWriter.quoted($0.name)),"PolicyDocument":\#($0.document)}"# }
      let attached = u.attached.map { name in
        #"{"PolicyName":\#(JSONWriter.quoted(name)),"PolicyArn":"arn:aws:iam::\#(account):policy/\#(name)"}"#
      }
      return """
        {"Path":"/","UserName":\(JSONWriter.quoted(u.name)),"UserId":"\(u.id)","Arn":"arn:aws:iam::\(account):user/\(u.name)",
         "CreateDate":"2023-01-01T00:00:00Z","UserPolicyList":[\(policies.joined(separator: ","))],
         "GroupList":[],"AttachedManagedPolicies":[\(attached.joined(separator: ","))],"Tags":[]}
        """
    }
    let policyList = managed.map { m in
      let versions = m.versions.map { v in
        #"{"Document":\#(v.document),"VersionId":"\#(v.id)","IsDefaultVersion":\#(v.id == m.defaultVersion),"CreateDate":"2023-01-01T00:00:00Z"}"#
      }
      let attachments = users.filter { $0.attached.contains(m.name) }.count
      return """
        {"PolicyName":"\(m.name)","PolicyId":"ANPA\(m.name.uppercased())","Arn":"\(m.arn)","Path":"/","DefaultVersionId":"\(m.defaultVersion)",
         "AttachmentCount":\(attachments),"PermissionsBoundaryUsageCount":0,"IsAttachable":true,"CreateDate":"2023-01-01T00:00:00Z",
         "UpdateDate":"2023-01-01T00:00:00Z","PolicyVersionList":[\(versions.joined(separator: ","))]}
        """
    }
    return """
      {"UserDetailList":[\(userList.joined(separator: ","))],"GroupDetailList":[],"RoleDetailList":[],
       "Policies":[\(policyList.joined(separator: ","))],"IsTruncated":false}
      """
  }

  /// Ingests `text` into `store` (captured at `capturedAt`) and assesses it with `register`.
  @discardableResult
  static func ingest(
    _ store: EvidenceStore, _ text: String, name: String, capturedAt: String, register: ExceptionRegister = .empty
  ) throws -> SnapshotRecord {
    let outcome = try store.workflow.ingest(
      IngestSource(name: name, bytes: Array(text.utf8), modificationTime: nil),
      options: IngestOptions(capturedAt: Timestamp(parsing: capturedAt), now: TestSupport.fixedNow))
    guard case .ingested(let record) = outcome else {
      Issue.record("\(name) was not ingested")
      throw StoreError(path: name, message: "not ingested")
    }
    try store.workflow.assess(snapshotID: record.id, register: register, now: TestSupport.fixedNow)
    return record
  }

  /// Replaces the value of every member named `key`, at any depth.
  static func replacing(_ key: String, in value: JSONValue, with f: (JSONValue) -> JSONValue) -> JSONValue {
    switch value {
    case .object(let members):
      return .object(members.map { ($0.key, $0.key == key ? f($0.value) : replacing(key, in: $0.value, with: f)) })
    case .array(let elements): return .array(elements.map { replacing(key, in: $0, with: f) })
    default: return value
    }
  }
}

/// `store.drift`: what changed between two snapshots, checked against the seeded evolution of the
/// dev series and against hand-made snapshots.
@Suite(.temporaryDirectories) struct DriftTests {
  static let fullAccessPatterns: Set<String> = [
    "kms_star_string", "kms_star_in_array", "kms_star_uppercase", "full_admin_star", "statement_single_object", "kms_star_resource_array",
  ]

  @Test(arguments: [("01", "02"), ("02", "03")])
  func driftFindsExactlyTheSeededChanges(from a: String, to b: String) throws {
    let (store, records) = try Series.store([a, b])
    let from = try #require(records[a])
    let to = try #require(records[b])
    let drift = try store.workflow.drift(from: from.id, to: to.id)
    let oldSnapshot = try store.loadSnapshot(id: from.id)
    let newSnapshot = try store.loadSnapshot(id: to.id)
    let oldResults = try store.workflow.results(snapshotID: from.id)
    let newResults = try store.workflow.results(snapshotID: to.id)
    let oldTruth = Series.entries(try Series.truth(a))
    let newTruth = Series.entries(try Series.truth(b))
    let evolution = try #require(try Series.truth(b)["evolution"])
    let log = evolution["log"]?.arrayValue ?? []
    let before = Dictionary(oldResults.map { ($0.findingKey, $0) }, uniquingKeysWith: { x, _ in x })
    let after = Dictionary(newResults.map { ($0.findingKey, $0) }, uniquingKeysWith: { x, _ in x })
    let resolved = Set(drift.resolved.map(\.findingKey))
    let isOpen: (CheckResult?) -> Bool = { $0?.status == .fail || $0?.status == .excepted }

    // Principals added and removed are exactly the log's operations; none of them is a recreation.
    func ops(_ op: String) -> Set<String> {
      Set(
        log.filter { $0["op"]?.stringValue == op }.map {
          "\($0["principal_type"]?.stringValue ?? "") \($0["principal_name"]?.stringValue ?? "")"
        })
    }
    let added = Set(drift.principalsAdded.map { "\($0.principal.type.rawValue) \($0.principal.name)" })
    let removed = Set(drift.principalsRemoved.map { "\($0.principal.type.rawValue) \($0.principal.name)" })
    #expect(added == ops("add_principal"))
    #expect(removed == ops("remove_principal"))
    #expect(drift.principalsAdded.count == added.count && drift.principalsRemoved.count == removed.count)
    #expect(!drift.principalsAdded.contains(where: \.recreated) && !drift.principalsRemoved.contains(where: \.recreated))

    func changed(_ e: Series.Entry) -> PolicyChange? { drift.policiesChanged.first { $0.identity == e.policyIdentity } }
    func inlineKey(_ check: String, _ snapshot: AuthorizationSnapshot, _ e: Series.Entry) -> String? {
      snapshot.principals.first { $0.type.rawValue == e.principalType && $0.name == e.principalName }.map {
        "\(check)|\($0.id)|inline:\(e.policyName)"
      }
    }

    // Every statement-level change explained by the log, and the policies it touches.
    var explainedStatementChanges = 0
    var explainedPolicies = Set<String>()
    var consequences = 0

    for id in Series.strings(evolution["introduced_ids"]) {
      let e = try #require(newTruth[id], "introduced \(id) has no truth entry in 2024-\(b)")
      let statement = try #require(Series.statement(newSnapshot, e), "\(id): no statement at the truth's location")
      explainedPolicies.insert(e.policyIdentity)
      if e.kind == .inline, added.contains("\(e.principalType ?? "") \(e.principalName ?? "")") {
        // A new principal brings its policies along.
        #expect(drift.policiesAdded.contains { $0.identity == e.policyIdentity }, "\(id)")
      } else if drift.policiesAdded.contains(where: { $0.identity == e.policyIdentity }) {
        #expect(oldTruth.values.allSatisfy { $0.policyIdentity != e.policyIdentity }, "\(id): added policy that held planted statements")
      } else {
        let c = try #require(changed(e), "\(id): \(e.policyIdentity) not among the changed policies")
        let diff = try #require(c.statements)
        #expect(
          diff.added.contains { $0.index == e.statementIndex && JSONWriter.canonical($0.statement) == JSONWriter.canonical(statement) },
          "\(id): statement \(e.statementIndex) not reported as added in \(diff.jsonValue)")
        explainedStatementChanges += 1
      }
      // An unconditional full-access statement makes the policy fail the inline check.
      if e.kind == .inline, Self.fullAccessPatterns.contains(e.pattern), let key = inlineKey("kms-full-access-inline", newSnapshot, e) {
        #expect(after[key]?.status == .fail, "\(id): \(key)")
        if isOpen(before[key]) {
          #expect(drift.stillOpen.contains { $0.findingKey == key })
        } else {
          #expect(drift.newFindings.contains { $0.findingKey == key }, "\(id): \(key) is not a new finding")
        }
        consequences += 1
      }
    }

    for id in Series.strings(evolution["fixed_ids"]) {
      let e = try #require(oldTruth[id], "fixed \(id) has no truth entry in 2024-\(a)")
      let how = try #require(log.first { $0["op"]?.stringValue == "fix" && $0["id"]?.stringValue == id }?["how"]?.stringValue)
      explainedPolicies.insert(e.policyIdentity)
      let statement = try #require(Series.statement(oldSnapshot, e))
      switch how {
      case "statement_removed":
        let c = try #require(changed(e), "\(id)")
        let diff = try #require(c.statements)
        #expect(
          diff.removed.contains { $0.index == e.statementIndex && JSONWriter.canonical($0.statement) == JSONWriter.canonical(statement) },
          "\(id): \(diff.jsonValue)")
        explainedStatementChanges += 1
      case "resource_narrowed":
        let c = try #require(changed(e), "\(id)")
        let diff = try #require(c.statements)
        let match = diff.changed.first { $0.fromIndex == e.statementIndex }
        #expect(match?.changes.map(\.element) == ["Resource"], "\(id): \(diff.jsonValue)")
        #expect(match?.changes.first?.from.map(JSONWriter.canonical) == statement["Resource"].map(JSONWriter.canonical))
        explainedStatementChanges += 1
      case "policy_deleted":
        #expect(drift.policiesRemoved.contains { $0.identity == e.policyIdentity }, "\(id): \(e.policyIdentity) not removed")
        #expect(changed(e) == nil)
        // Every finding on the deleted policy is resolved.
        if e.kind == .inline {
          let pid = try #require(oldSnapshot.principals.first { $0.type.rawValue == e.principalType && $0.name == e.principalName }?.id)
          for r in oldResults where isOpen(r) && r.principal?.id == pid && r.policy?.kind == .inline && r.policy?.name == e.policyName {
            #expect(resolved.contains(r.findingKey), "\(id): \(r.findingKey) not resolved")
            consequences += 1
          }
        }
      default:
        Issue.record("\(id): unknown fix \(how)")
      }
      // A fixed statement whose document now passes resolves the inline check's finding.
      if e.kind == .inline, how != "policy_deleted", let key = inlineKey("kms-full-access-inline", oldSnapshot, e),
        before[key]?.status == .fail, after[key]?.status == .pass
      {
        #expect(resolved.contains(key), "\(id): \(key) not resolved")
        consequences += 1
      }
    }

    for id in Series.strings(evolution["removed_with_principal_ids"]) {
      let e = try #require(oldTruth[id])
      let gone = try #require(oldSnapshot.principals.first { $0.type.rawValue == e.principalType && $0.name == e.principalName })
      #expect(drift.principalsRemoved.contains { $0.principal.id == gone.id && $0.principal.arn == gone.arn }, "\(id)")
      #expect(drift.policiesRemoved.contains { $0.identity == e.policyIdentity }, "\(id)")
      for r in oldResults where isOpen(r) && r.principal?.id == gone.id {
        #expect(resolved.contains(r.findingKey), "\(id): \(r.findingKey) not resolved")
        consequences += 1
      }
    }
    #expect(consequences > 0)

    // No invented drift: statement-level changes on policies holding planted statements are exactly
    // the explained ones, and every changed policy is one the log touched.
    let planted = Set(oldTruth.values.map(\.policyIdentity)).union(newTruth.values.map(\.policyIdentity))
    let reported = drift.policiesChanged.filter { planted.contains($0.identity) }.reduce(0) { n, c in
      n + (c.statements.map { $0.added.count + $0.removed.count + $0.changed.count } ?? 0)
    }
    #expect(reported == explainedStatementChanges)
    for c in drift.policiesChanged {
      #expect(explainedPolicies.contains(c.identity), "unexplained change of \(c.identity)")
      #expect(!c.defaultVersionSwitched)
    }
    // Policies added or removed: with a principal, or by the log; managed ones only AWS-managed
    // policies that appear or vanish with attachments (no customer-managed policy is created or deleted).
    for c in drift.policiesAdded {
      if c.kind == .inline {
        let p = try #require(c.principal)
        #expect(added.contains("\(p.type.rawValue) \(p.name)") || explainedPolicies.contains(c.identity), "unexplained \(c.identity)")
      } else {
        #expect(c.arn?.hasPrefix("arn:aws:iam::aws:policy/") == true, "unexplained \(c.identity)")
      }
    }
    for c in drift.policiesRemoved {
      if c.kind == .inline {
        let p = try #require(c.principal)
        #expect(removed.contains("\(p.type.rawValue) \(p.name)") || explainedPolicies.contains(c.identity), "unexplained \(c.identity)")
      } else {
        #expect(c.arn?.hasPrefix("arn:aws:iam::aws:policy/") == true, "unexplained \(c.identity)")
      }
    }

    // The finding buckets partition the open results.
    let openAfter = Set(newResults.filter { isOpen($0) }.map(\.findingKey))
    let buckets = (drift.newFindings + drift.stillOpen + drift.newlyExcepted + drift.exceptionExpired + drift.changedFindings.map(\.after))
      .map(\.findingKey)
    #expect(Set(buckets) == openAfter && buckets.count == openAfter.count)
    #expect(resolved == Set(oldResults.filter { isOpen($0) }.map(\.findingKey)).subtracting(openAfter))
    #expect(drift.newlyExcepted.isEmpty && drift.exceptionExpired.isEmpty)
  }

  @Test func encodingOnlyChangesAreNoDrift() throws {
    let (store, _) = try TestSupport.makeStore()
    let original = try TestSupport.ingest(store, Series.url("01"), capturedAt: "2024-01-31T00:00:00Z")
    try store.workflow.assess(snapshotID: original.id, now: TestSupport.fixedNow)
    let parsed = try JSONParser.parse(try TestSupport.bytes(Series.url("01")))

    let raw = IngestTests.rawEncoded(parsed)
    let rawText = String(decoding: JSONWriter.canonicalBytes(raw), as: UTF8.self)
    #expect(rawText.contains("%7B%0A"), "documents are percent-encoded strings")
    let encoded = try DriftFiles.ingest(store, rawText, name: "raw.json", capturedAt: "2024-02-29T00:00:00Z")
    #expect(encoded.encoding == "raw")

    // Only RoleLastUsed moves on (as in every monthly export).
    let moved = DriftFiles.replacing("RoleLastUsed", in: parsed) { _ in
      .object([("LastUsedDate", .string("2024-03-30T08:15:00+00:00")), ("Region", .string("eu-central-1"))])
    }
    #expect(moved != parsed)
    let lastUsed = try DriftFiles.ingest(
      store, String(decoding: JSONWriter.canonicalBytes(moved), as: UTF8.self), name: "last-used.json", capturedAt: "2024-03-31T00:00:00Z")

    let open = try store.workflow.results(snapshotID: original.id).filter { $0.status == .fail || $0.status == .excepted }
    #expect(!open.isEmpty)
    // RoleLastUsed is what privileged-role-unused judges: roles used again resolve its findings, and that
    // is the only change (the next assertions leave that check out for the RoleLastUsed snapshot).
    let usageFindings = open.filter { $0.checkID == "privileged-role-unused" }
    #expect(!usageFindings.isEmpty, "the series has privileged roles unused for more than 90 days")
    let usage = try store.workflow.drift(from: original.id, to: lastUsed.id)
    #expect(Set(usage.resolved.map(\.findingKey)) == Set(usageFindings.map(\.findingKey)))
    #expect(usage.resolved.allSatisfy { $0.checkID == "privileged-role-unused" && $0.status == .pass })
    for later in [encoded, lastUsed] {
      var drift = try store.workflow.drift(from: original.id, to: later.id)
      var open = open
      if later.id == lastUsed.id {
        drift.resolved.removeAll { $0.checkID == "privileged-role-unused" }
        open.removeAll { $0.checkID == "privileged-role-unused" }
      }
      #expect(drift.isEmpty, "\(later.sourceName): \(JSONWriter.pretty(drift.jsonValue).prefix(2000))")
      #expect(drift.policiesChanged.isEmpty && drift.policiesAdded.isEmpty && drift.policiesRemoved.isEmpty)
      #expect(drift.principalsAdded.isEmpty && drift.principalsRemoved.isEmpty)
      #expect(drift.newFindings.isEmpty && drift.resolved.isEmpty)
      #expect(Set(drift.stillOpen.map(\.findingKey)) == Set(open.map(\.findingKey)))
      #expect(drift.stillOpen.count == open.count)
    }
    // The encoded one against the RoleLastUsed one: nothing but the roles used again.
    var again = try store.workflow.drift(from: encoded.id, to: lastUsed.id)
    #expect(again.resolved.allSatisfy { $0.checkID == "privileged-role-unused" })
    again.resolved = []
    #expect(again.isEmpty)
  }

  @Test func recreatedPrincipalIsADifferentSubject() throws {
    let (store, _) = try TestSupport.makeStore()
    let bob = DriftFiles.User(
      name: "bob", id: "AIDABOB000000000001",
      policies: [("s3", #"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)])
    let oldAlice = DriftFiles.User(name: "alice", id: "AIDAALICE0000000001", policies: [("kms-admin", DriftFiles.kmsStar)])
    var newAlice = oldAlice
    newAlice.id = "AIDAALICE0000000002"
    let a = try DriftFiles.ingest(store, DriftFiles.file(users: [oldAlice, bob]), name: "a.json", capturedAt: "2024-01-31")
    let b = try DriftFiles.ingest(store, DriftFiles.file(users: [newAlice, bob]), name: "b.json", capturedAt: "2024-02-29")
    let drift = try store.workflow.drift(from: a.id, to: b.id)

    #expect(drift.principalsAdded.map(\.principal.id) == [newAlice.id])
    #expect(drift.principalsRemoved.map(\.principal.id) == [oldAlice.id])
    #expect(drift.principalsAdded.allSatisfy(\.recreated) && drift.principalsRemoved.allSatisfy(\.recreated))
    #expect(drift.principalsAdded.first?.principal.arn == drift.principalsRemoved.first?.principal.arn)
    // The same policy on the new principal is another subject: removed with the old, added with the new.
    #expect(drift.policiesAdded.map { "\($0.principal?.id ?? "") \($0.name)" } == ["\(newAlice.id) kms-admin"])
    #expect(drift.policiesRemoved.map { "\($0.principal?.id ?? "") \($0.name)" } == ["\(oldAlice.id) kms-admin"])
    #expect(drift.policiesChanged.isEmpty)

    let oldKey = "kms-full-access-inline|\(oldAlice.id)|inline:kms-admin"
    let newKey = "kms-full-access-inline|\(newAlice.id)|inline:kms-admin"
    #expect(drift.resolved.contains { $0.findingKey == oldKey })
    #expect(drift.newFindings.contains { $0.findingKey == newKey })
    #expect(!drift.stillOpen.contains { $0.principal?.name == "alice" })
    // Every open finding of alice moved from one subject to the other.
    #expect(drift.resolved.allSatisfy { $0.principal?.id == oldAlice.id })
    #expect(drift.newFindings.allSatisfy { $0.principal?.id == newAlice.id })
    #expect(drift.resolved.count == drift.newFindings.count)

    let json = drift.jsonValue
    #expect(json["principals"]?["added"]?.arrayValue?.first?["recreated"] == .bool(true))
    #expect(json["principals"]?["removed"]?.arrayValue?.first?["recreated"] == .bool(true))
  }

  @Test func managedDefaultVersionSwitch() throws {
    let (store, _) = try TestSupport.makeStore()
    let user = DriftFiles.User(name: "ops", id: "AIDAOPS000000000001", attached: ["kms-tools"])
    func policy(default v: String) -> DriftFiles.Managed {
      DriftFiles.Managed(name: "kms-tools", defaultVersion: v, versions: [("v1", DriftFiles.kmsStar), ("v2", DriftFiles.harmless)])
    }
    let a = try DriftFiles.ingest(
      store, DriftFiles.file(users: [user], managed: [policy(default: "v2")]), name: "a.json", capturedAt: "2024-01-31")
    let b = try DriftFiles.ingest(
      store, DriftFiles.file(users: [user], managed: [policy(default: "v1")]), name: "b.json", capturedAt: "2024-02-29")
    let drift = try store.workflow.drift(from: a.id, to: b.id)

    #expect(drift.policiesChanged.count == 1)
    let c = try #require(drift.policiesChanged.first)
    #expect(c.kind == .managed && c.arn == policy(default: "v1").arn && c.name == "kms-tools")
    #expect(c.defaultVersionSwitched)
    #expect(c.fromVersion == "v2" && c.toVersion == "v1")
    #expect(c.fromSHA256 != c.toSHA256)
    let diff = try #require(c.statements)
    #expect(!diff.isEmpty)
    // One statement each, no Sid: matched by position, Action and Resource changed.
    #expect(diff.added.isEmpty && diff.removed.isEmpty)
    #expect(diff.changed.first?.changes.map(\.element) == ["Action", "Resource"])
    #expect(diff.changed.first?.changes.first?.to == .string("kms:*"))
    #expect(drift.policiesAdded.isEmpty && drift.policiesRemoved.isEmpty)
    #expect(drift.principalsAdded.isEmpty && drift.principalsRemoved.isEmpty)

    let managed = drift.newFindings.with(check: "kms-full-access-managed")
    #expect(managed.count == 1)
    #expect(managed.first?.policy?.arn == c.arn && managed.first?.policy?.versionID == "v1")
    #expect(managed.first?.findingKey == "kms-full-access-managed|\(c.arn ?? "")|v1")
    #expect(drift.resolved.with(check: "kms-full-access-managed").isEmpty, "v2 passed before")

    let json = try #require(drift.jsonValue["policies"]?["changed"]?.arrayValue?.first)
    #expect(json["default_version_switched"] == .bool(true))
    #expect(json["from_version"] == .string("v2") && json["to_version"] == .string("v1"))
    #expect(json["statements"]?["changed"]?.arrayValue?.count == 1)
  }

  /// Issue 17, defect 3: a managed policy whose default version switched from v2 to v1 and that fails
  /// under both is one finding, changed (its identity is the policy, not the version), not a resolved
  /// finding (v2) and a new one (v1); the trend and the period's findings follow the same identity.
  @Test func aVersionSwitchOfAFailingPolicyIsOneChangedFinding() throws {
    let (store, _) = try TestSupport.makeStore()
    let user = DriftFiles.User(name: "ops", id: "AIDAOPS000000000001", attached: ["deploy-pipeline"])
    let decryptOnly = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#
    let everything = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
    func policy(default v: String) -> DriftFiles.Managed {
      DriftFiles.Managed(name: "deploy-pipeline", defaultVersion: v, versions: [("v1", everything), ("v2", decryptOnly)])
    }
    let a = try DriftFiles.ingest(
      store, DriftFiles.file(users: [user], managed: [policy(default: "v2")]), name: "a.json", capturedAt: "2024-04-30")
    let b = try DriftFiles.ingest(
      store, DriftFiles.file(users: [user], managed: [policy(default: "v1")]), name: "b.json", capturedAt: "2024-05-31")
    let drift = try store.workflow.drift(from: a.id, to: b.id)
    let arn = policy(default: "v1").arn

    // kms-decrypt-all-keys fails under both versions: one changed finding.
    let changed = drift.changedFindings.filter { $0.after.checkID == "kms-decrypt-all-keys" && $0.after.policy?.arn == arn }
    #expect(changed.count == 1)
    #expect(changed.first?.before.policy?.versionID == "v2" && changed.first?.after.policy?.versionID == "v1")
    #expect(changed.first?.versionSwitched == true)
    #expect(!drift.resolved.contains { $0.policy?.arn == arn }, "nothing of the policy is resolved: it got worse")
    #expect(!drift.newFindings.contains { $0.checkID == "kms-decrypt-all-keys" && $0.policy?.arn == arn })
    #expect(!drift.stillOpen.contains { $0.policy?.arn == arn })
    // Checks it fails only under v1 are new findings of the policy.
    #expect(drift.newFindings.contains { $0.checkID == "kms-full-access-managed" && $0.policy?.arn == arn })
    #expect(drift.newFindings.contains { $0.checkID == "admin-access-managed" && $0.policy?.arn == arn })
    // In every rendering.
    let json = drift.jsonValue["findings"]?["changed"]?.arrayValue ?? []
    #expect(json.contains { $0["from_version"] == .string("v2") && $0["to_version"] == .string("v1") })
    let text = DriftText.render(drift)
    #expect(text.contains("changed findings: \(drift.changedFindings.count)") && text.contains("default version v2 -> v1"))
    let xml = String(decoding: try DriftXML.render(drift, templates: DriftHTMLTests.templates), as: UTF8.self)
    #expect(xml.contains(#"fromVersion="v2""#) && xml.contains("<changedFindings count="))
    let html = String(decoding: try DriftHTML.render(drift, templates: DriftHTMLTests.templates), as: UTF8.self)
    #expect(html.contains("default version v2 → v1"))

    // The trend follows the policy across the switch: first seen in April, still open in May.
    let trend = try store.workflow.trend(account: nil, from: nil, to: nil)
    let life = try #require(trend.findings.first { $0.checkID == "kms-decrypt-all-keys" && $0.key.contains(arn) })
    #expect(life.key == "kms-decrypt-all-keys|\(arn)" && life.firstSnapshotID == a.id && life.lastSnapshotID == b.id)
    #expect(life.resolvedAt == nil && trend.findings.filter { $0.key.hasPrefix("kms-decrypt-all-keys|\(arn)") }.count == 1)
  }

  @Test func newlyExceptedAndExceptionExpired() throws {
    let (store, _) = try TestSupport.makeStore()
    let user = DriftFiles.User(name: "analyst", id: "AIDAANALYST00000001", policies: [("kms-admin", DriftFiles.kmsStar)])
    let text = DriftFiles.file(users: [user])
    let a = try DriftFiles.ingest(store, text, name: "a.json", capturedAt: "2024-01-31T00:00:00Z")
    let b = try DriftFiles.ingest(store, text + "\n", name: "b.json", capturedAt: "2024-02-29T00:00:00Z")
    let key = "kms-full-access-inline|\(user.id)|inline:kms-admin"
    // The identity result's only source is that inline policy: the exception covers it too.
    let identity = "kms-full-access-identity|\(user.id)"
    func register(expires: String) throws -> ExceptionRegister {
      try ExceptionTests.register([ExceptionTests.entry(id: "EX-7", principal: "analyst", policy: "kms-admin", expiresOn: expires)])
    }

    // The register applies to the second snapshot only.
    try store.workflow.assess(snapshotID: b.id, register: try register(expires: "2024-12-31"), now: TestSupport.fixedNow)
    var drift = try store.workflow.drift(from: a.id, to: b.id)
    #expect(drift.newlyExcepted.map(\.findingKey) == [key, identity])
    #expect(drift.newlyExcepted.allSatisfy { $0.exception?.id == "EX-7" })
    #expect(!drift.stillOpen.contains { $0.findingKey == key } && !drift.newFindings.contains { $0.findingKey == key })
    #expect(drift.resolved.isEmpty && drift.exceptionExpired.isEmpty)
    #expect(!drift.isEmpty)
    #expect(drift.policiesChanged.isEmpty && drift.principalsAdded.isEmpty)

    // An exception in force at the first capture time, expired by the second's.
    let expiring = try register(expires: "2024-02-15")
    for s in [a, b] { try store.workflow.assess(snapshotID: s.id, register: expiring, now: TestSupport.fixedNow) }
    #expect(try store.workflow.results(snapshotID: a.id).first { $0.findingKey == key }?.status == .excepted)
    drift = try store.workflow.drift(from: a.id, to: b.id)
    #expect(drift.exceptionExpired.map(\.findingKey) == [key, identity])
    #expect(drift.exceptionExpired.allSatisfy { $0.status == .fail && $0.hasNote("exception-expired") })
    #expect(!drift.newFindings.contains { $0.findingKey == key } && !drift.stillOpen.contains { $0.findingKey == key })
    #expect(drift.newlyExcepted.isEmpty && drift.resolved.isEmpty)

    let json = drift.jsonValue
    #expect(json["findings"]?["exception_expired"]?.arrayValue?.first?["finding_key"] == .string(key))
  }

  @Test func driftRefusesUnassessedAndForeignSnapshots() throws {
    let (store, _) = try TestSupport.makeStore()
    let dev = try TestSupport.ingest(store, Series.url("01"), capturedAt: "2024-01-31")
    let other = try DriftFiles.ingest(
      store, DriftFiles.file(users: [DriftFiles.User(name: "x", id: "AIDAX")]), name: "x.json", capturedAt: "2024-02-01")
    #expect(throws: WorkflowError.self) { try store.workflow.drift(from: dev.id, to: other.id) }
    let dev2 = try TestSupport.ingest(store, Series.url("02"), capturedAt: "2024-02-29")
    #expect(throws: WorkflowError.self) { try store.workflow.drift(from: dev.id, to: dev2.id) }
  }
}

/// `iam-evidence diff` (and the account rules of `trend`/`report`), through the built executable.
@Suite(.temporaryDirectories) struct DriftCommandTests {
  static let templates = TestSupport.packageRoot.appendingPathComponent("Templates").path

  /// A database with the three months of the dev series, ingested (and assessed) by the CLI.
  static func seriesDatabase() throws -> (dir: URL, db: String) {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("e.sqlite").path
    for m in Series.months {
      let run = try TestSupport.run(["ingest", "--db", db, "--captured-at", Series.capturedAt(m), Series.url(m).path])
      #expect(run.status == 0, "\(run.stderr)")
    }
    return (dir, db)
  }

  static func json(_ run: TestSupport.Run) throws -> JSONValue {
    #expect(run.status == 0, "\(run.stderr)")
    return try JSONParser.parse(run.stdout)
  }

  static func keys(_ v: JSONValue?) -> [String] { (v?.objectValue ?? []).map(\.key) }
  /// Member names as a set (the writer sorts them).
  static func keySet(_ v: JSONValue?) -> Set<String> { Set(keys(v)) }

  @Test func diffJSON() throws {
    let (_, db) = try Self.seriesDatabase()
    let root = try Self.json(try TestSupport.run(["diff", "--db", db, "--format", "json", "1", "2"]))
    #expect(root["from"]?.numberText == "1" && root["to"]?.numberText == "2")
    #expect(Self.keySet(root["findings"]) == ["new", "resolved", "still_open", "newly_excepted", "exception_expired", "changed"])
    #expect(Self.keySet(root["principals"]) == ["added", "removed"])
    #expect(Self.keySet(root["policies"]) == ["added", "removed", "changed"])

    // Finding elements have the fields of `findings --format json` (escalation results add `methods`
    // and `method_sources`, and only they).
    let listed = try Self.json(try TestSupport.run(["findings", "--db", db, "--snapshot", "2", "--status", "all", "--format", "json"]))
    let escalation: Set<String> = ["methods", "method_sources"]
    // Present only where they say something: a policy used as a permissions boundary, an identity
    // result excepted through its sources.
    let optional: Set<String> = ["boundary_of", "covering_exceptions"]
    let fields = Self.keys(listed.arrayValue?.first { $0["methods"] == nil }).filter { !optional.contains($0) }
    #expect(!fields.isEmpty)
    let findingElements = ["new", "resolved", "still_open"].flatMap { root["findings"]?[$0]?.arrayValue ?? [] }
    #expect(!findingElements.isEmpty)
    for f in findingElements {
      let isEscalation = f["check"]?.stringValue?.hasPrefix("privilege-escalation-") == true && f["status"] != .string("pass")
      #expect(Self.keys(f).filter { !escalation.contains($0) && !optional.contains($0) } == fields)
      #expect(Self.keySet(f).isSuperset(of: escalation) == isEscalation, "\(Self.keys(f))")
    }
    #expect(root["findings"]?["resolved"]?.arrayValue?.isEmpty == false)

    #expect(root["principals"]?["added"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["platform-admin"])
    #expect(root["principals"]?["removed"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["github-actions-billing-staging"])
    let changed = root["policies"]?["changed"]?.arrayValue ?? []
    #expect(changed.count == 3)
    for c in changed {
      #expect(Self.keySet(c["statements"]) == ["added", "removed", "changed"])
    }
    let narrowed = try #require(changed.first { $0["principal_name"] == .string("priya_lopez") })
    #expect(narrowed["statements"]?["changed"]?.arrayValue?.first?["elements"]?.arrayValue?.first?["element"] == .string("Resource"))

    // Selectors: previous/latest and dates (the latest snapshot captured on or before that day).
    let latest = try Self.json(try TestSupport.run(["diff", "--db", db, "--format", "json", "previous", "latest"]))
    #expect(latest["from"]?.numberText == "2" && latest["to"]?.numberText == "3")
    let dated = try Self.json(try TestSupport.run(["diff", "--db", db, "--format", "json", "2024-02-15", "2024-03-31"]))
    #expect(dated["from"]?.numberText == "1" && dated["to"]?.numberText == "3")
    let text = try TestSupport.run(["diff", "--db", db, "2024-01-31", "2024-02-29"])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.contains("snapshot 1 (2024-01-31T00:00:00Z) -> snapshot 2"))
    #expect(text.stdout.contains("principals added: 1"))
  }

  @Test func diffXMLValidatesAgainstTheSchema() throws {
    let (dir, db) = try Self.seriesDatabase()
    for (a, b) in [("1", "2"), ("2", "3")] {
      let out = dir.appendingPathComponent("drift-\(a)-\(b).xml").path
      let run = try TestSupport.run(["diff", "--db", db, "--format", "xml", "--templates", Self.templates, "--out", out, a, b])
      #expect(run.status == 0, "\(run.stderr)")
      #expect(run.stdout.isEmpty)
      let doc = try XMLDocument(contentsOfFile: out)
      try XMLSchema(contentsOfFile: TestSupport.packageRoot.appendingPathComponent("Templates/evidence.xsd").path).validate(doc)
      let ns = ["e": EvidenceXML.namespace]
      #expect(try doc.nodes(matching: "/e:drift", namespaces: ns).count == 1)
      let drift = try TestSupport.run(["diff", "--db", db, "--format", "json", a, b])
      let json = try JSONParser.parse(drift.stdout)
      #expect(
        try doc.nodes(matching: "/e:drift/e:policiesChanged/e:policy", namespaces: ns).count
          == json["policies"]?["changed"]?.arrayValue?.count)
      #expect(
        try doc.nodes(matching: "/e:drift/e:principalsRemoved/e:principal", namespaces: ns).count
          == json["principals"]?["removed"]?.arrayValue?.count)
    }
  }

  @Test func diffHTMLEscapesHostileNames() throws {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("e.sqlite").path
    let hostile = "<script>alert(1)</script>"
    let user = DriftFiles.User(name: "eve<b>", id: "AIDAEVE000000000001", policies: [(hostile, DriftFiles.harmless)])
    var changed = user
    changed.policies = [(hostile, DriftFiles.kmsStar)]
    for (name, u, at) in [("a.json", user, "2024-01-31"), ("b.json", changed, "2024-02-29")] {
      let path = try CheckCommandTests.write(DriftFiles.file(users: [u]), to: dir, name)
      let run = try TestSupport.run(["ingest", "--db", db, "--captured-at", at, path])
      #expect(run.status == 0, "\(run.stderr)")
    }
    let run = try TestSupport.run(["diff", "--db", db, "--format", "html", "--templates", Self.templates, "1", "2"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(!run.stdout.lowercased().contains("<script"))
    #expect(!run.stdout.contains("<b>"))
    #expect(run.stdout.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    #expect(run.stdout.contains("eve&lt;b&gt;"))
    #expect(run.stdout.contains("Policies changed"))
  }

  @Test func severalAccountsNeedAccount() throws {
    let (dir, db) = try Self.seriesDatabase()
    let other = try CheckCommandTests.write(
      DriftFiles.file(users: [DriftFiles.User(name: "x", id: "AIDAX", policies: [("k", DriftFiles.kmsStar)])]), to: dir, "other.json")
    let ingest = try TestSupport.run(["ingest", "--db", db, "--captured-at", "2024-03-31", other])
    #expect(ingest.status == 0, "\(ingest.stderr)")

    let out = dir.appendingPathComponent("report").path
    for args in [["trend"], ["report", "--templates", Self.templates, "--out", out], ["diff", "latest", "previous"]] {
      let run = try TestSupport.run(args + ["--db", db])
      #expect(run.status == 2, "\(args): \(run.stdout)")
      #expect(run.stderr.contains("--account"), "\(args): \(run.stderr)")
      let with = try TestSupport.run(args + ["--db", db, "--account", Series.account])
      #expect(with.status == 0, "\(args): \(with.stderr)")
    }
    let trend = try Self.json(try TestSupport.run(["trend", "--db", db, "--account", Series.account, "--format", "json"]))
    #expect(Set((trend["rows"]?.arrayValue ?? []).compactMap { $0["snapshot"]?.numberText }) == ["1", "2", "3"])
    let diff = try Self.json(
      try TestSupport.run(["diff", "--db", db, "--account", Series.account, "--format", "json", "previous", "latest"]))
    #expect(diff["from"]?.numberText == "2" && diff["to"]?.numberText == "3")

    let across = try TestSupport.run(["diff", "--db", db, "1", "4"])
    #expect(across.status == 2)
    #expect(across.stderr.contains("different accounts"), "\(across.stderr)")
  }

  @Test func listingCommandsExitZeroWithFindings() throws {
    let (_, db) = try Self.seriesDatabase()
    let findings = try TestSupport.run(["findings", "--db", db])
    #expect(findings.status == 0 && findings.stdout.contains("FAIL"), "\(findings.stderr)")
    for args in [["snapshots"], ["trend"], ["diff", "1", "3"], ["diff", "--format", "json", "1", "3"], ["trend", "--format", "csv"]] {
      let run = try TestSupport.run(args + ["--db", db])
      #expect(run.status == 0, "\(args): \(run.stderr)")
      #expect(!run.stdout.isEmpty)
    }
  }
}
