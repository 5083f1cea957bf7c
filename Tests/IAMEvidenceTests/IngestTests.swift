import Foundation
import Testing

@testable import IAMEvidence

/// Counts straight from the file's JSON, independent of the decoder.
private func fileCounts(_ url: URL) throws -> SnapshotCounts {
  let root = try JSONParser.parse(try TestSupport.bytes(url))
  func list(_ key: String) -> [JSONValue] { root[key]?.arrayValue ?? [] }
  let inline =
    list("UserDetailList").reduce(0) { $0 + ($1["UserPolicyList"]?.arrayValue?.count ?? 0) }
    + list("GroupDetailList").reduce(0) { $0 + ($1["GroupPolicyList"]?.arrayValue?.count ?? 0) }
    + list("RoleDetailList").reduce(0) { $0 + ($1["RolePolicyList"]?.arrayValue?.count ?? 0) }
  return SnapshotCounts(
    users: list("UserDetailList").count, groups: list("GroupDetailList").count, roles: list("RoleDetailList").count,
    managedPolicies: list("Policies").count, inlinePolicies: inline)
}

@Suite(.temporaryDirectories) struct IngestTests {
  static let reconcileCases: [(String, String?)] = [
    ("dev-small.json", nil),
    ("dev-series/2024-01.json", nil),
    ("dev-series/2024-02.json", nil),
    ("dev-series/2024-03.json", nil),
    ("external/cloudsplaining-example-authz-details.json", nil),
    // A hand-edited sample mixing in a few ARNs of another account: --account names the owner.
    ("external/cloudsplaining-example.json", "200611803367"),
  ]

  @Test(arguments: reconcileCases)
  func countsInTheDatabaseReconcileWithTheFile(name: String, account: String?) throws {
    let url = TestSupport.fixture(name)
    let expected = try fileCounts(url)
    let (store, _) = try TestSupport.makeStore()
    let record = try TestSupport.ingest(store, url, account: account)
    #expect(record.counts == expected)
    let id = record.id
    #expect(try store.count("SELECT count(*) FROM principals WHERE snapshot_id=? AND principal_type='user'", [id]) == expected.users)
    #expect(try store.count("SELECT count(*) FROM principals WHERE snapshot_id=? AND principal_type='group'", [id]) == expected.groups)
    #expect(try store.count("SELECT count(*) FROM principals WHERE snapshot_id=? AND principal_type='role'", [id]) == expected.roles)
    #expect(try store.count("SELECT count(*) FROM managed_policies WHERE snapshot_id=?", [id]) == expected.managedPolicies)
    #expect(try store.count("SELECT count(*) FROM inline_policies WHERE snapshot_id=?", [id]) == expected.inlinePolicies)
    // Every policy version of the file is stored, not only the default one.
    let root = try JSONParser.parse(try TestSupport.bytes(url))
    let versions = (root["Policies"]?.arrayValue ?? []).reduce(0) { $0 + ($1["PolicyVersionList"]?.arrayValue?.count ?? 0) }
    #expect(
      try store.count(
        "SELECT count(*) FROM managed_policy_versions WHERE snapshot_id=?",
        [id]) == versions)
  }

  @Test func truthFileCountsMatchForTheSyntheticFixtures() throws {
    for name in ["dev-small", "dev-series/2024-01", "dev-series/2024-02", "dev-series/2024-03"] {
      let truth = try JSONParser.parse(try TestSupport.bytes(TestSupport.fixture(name + ".truth.json")))
      let (store, _) = try TestSupport.makeStore()
      let record = try TestSupport.ingest(store, TestSupport.fixture(name + ".json"))
      let c = truth["counts"]!
      #expect(String(record.counts.users) == c["users"]?.numberText)
      #expect(String(record.counts.roles) == c["roles"]?.numberText)
      #expect(String(record.counts.inlinePolicies) == c["inline_policies"]?.numberText)
      #expect(record.account == truth["account_id"]?.stringValue)
      #expect(record.sha256 == truth["snapshot_sha256"]?.stringValue)
    }
  }

  /// Rewrites every policy document of a CLI export as a raw-API percent-encoded string.
  static func rawEncoded(_ value: JSONValue, key: String? = nil) -> JSONValue {
    let documentKeys: Set<String> = ["PolicyDocument", "Document", "AssumeRolePolicyDocument"]
    if let key, documentKeys.contains(key), case .object = value {
      // Different whitespace and key order too: the raw API does not preserve the CLI's layout.
      return .string(PercentEncoding.encode(JSONWriter.pretty(value)))
    }
    switch value {
    case .object(let members): return .object(members.reversed().map { ($0.key, rawEncoded($0.value, key: $0.key)) })
    case .array(let elements): return .array(elements.map { rawEncoded($0, key: key) })
    default: return value
    }
  }

  @Test func bothDocumentEncodingsGiveIdenticalStoredDocuments() throws {
    let url = TestSupport.fixture("dev-small.json")
    let raw = Self.rawEncoded(try JSONParser.parse(try TestSupport.bytes(url)))
    let rawBytes = JSONWriter.canonicalBytes(raw)
    #expect(String(decoding: rawBytes, as: UTF8.self).contains("%7B%0A"))

    let (store, _) = try TestSupport.makeStore()
    let cli = try TestSupport.ingest(store, url)
    let documentsAfterCLI = try store.count("SELECT count(*) FROM documents")
    let outcome = try store.workflow.ingest(
      IngestSource(name: "raw.json", bytes: rawBytes, modificationTime: nil),
      options: IngestOptions(capturedAt: Timestamp(parsing: "2024-07-01"), now: TestSupport.fixedNow))
    guard case .ingested(let rawRecord) = outcome else {
      Issue.record("raw variant not ingested")
      return
    }
    #expect(cli.encoding == "cli")
    #expect(rawRecord.encoding == "raw")
    // No new document: every raw one canonicalised to one already stored.
    #expect(try store.count("SELECT count(*) FROM documents") == documentsAfterCLI)
    let pairs = """
      SELECT count(*) FROM (
        SELECT principal_arn, policy_name, document_sha256 FROM inline_policies WHERE snapshot_id = ?
        EXCEPT
        SELECT principal_arn, policy_name, document_sha256 FROM inline_policies WHERE snapshot_id = ?)
      """
    #expect(try store.count(pairs, [cli.id, rawRecord.id]) == 0)
    #expect(try store.count(pairs, [rawRecord.id, cli.id]) == 0)
    // Nothing about the principals changed either: the raw snapshot links to the same stored states.
    #expect(
      try store.count(
        "SELECT count(*) FROM (SELECT state_id FROM principals WHERE snapshot_id=? EXCEPT SELECT state_id FROM principals WHERE snapshot_id=?)",
        [rawRecord.id, cli.id]) == 0)
  }

  @Test func mixedEncodingsInOneFileAndPlusIsNotASpace() throws {
    let doc = #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a+b/*"}}"#
    let json = """
      {"UserDetailList":[{"UserName":"u","UserId":"AIDA1","Arn":"arn:aws:iam::123456789012:user/u",
        "UserPolicyList":[
          {"PolicyName":"raw","PolicyDocument":"\(PercentEncoding.encode(doc).replacingOccurrences(of: "%2B", with: "+"))"},
          {"PolicyName":"cli","PolicyDocument":\(doc)}]}]}
      """
    let snapshot = try SnapshotDecoder(sourceName: "m.json").decode(Array(json.utf8))
    let policies = snapshot.principals[0].inlinePolicies
    #expect(policies.map(\.encoding) == [.percentEncoded, .object])
    #expect(policies[0].document == policies[1].document)
    #expect(policies[0].document.canonical.contains("a+b/*"))
    #expect(snapshot.encodingSummary == "mixed")
  }

  @Test func sameBytesTwiceAddNothing() throws {
    let (store, _) = try TestSupport.makeStore()
    let url = TestSupport.fixture("dev-small.json")
    let first = try TestSupport.ingest(store, url)
    let rows = try store.count("SELECT (SELECT count(*) FROM snapshot_principals) + (SELECT count(*) FROM documents)")
    let again = try store.workflow.ingest(
      IngestSource(name: "copy.json", bytes: try TestSupport.bytes(url), modificationTime: nil),
      options: IngestOptions(now: TestSupport.fixedNow))
    guard case .alreadyIngested(let existing) = again else {
      Issue.record("second ingest was not recognised")
      return
    }
    #expect(existing.id == first.id)
    #expect(try store.count("SELECT count(*) FROM snapshots") == 1)
    #expect(try store.count("SELECT (SELECT count(*) FROM snapshot_principals) + (SELECT count(*) FROM documents)") == rows)
  }

  /// Content addressing keeps a monthly re-ingest small: each later month must add well under half
  /// of what the first one did. Measured in bytes used in pages (SQLite's dbstat), as whole 16 KB
  /// pages are too coarse for exports this small.
  @Test func laterMonthsGrowTheDatabaseByWellUnderHalfOfTheFirst() throws {
    let (store, _) = try TestSupport.makeStore()
    func used() throws -> Int { try store.integer("SELECT sum(pgsize - unused) FROM dbstat", []) }
    let empty = try used()
    var sizes = [empty]
    for month in ["2024-01", "2024-02", "2024-03"] {
      try TestSupport.ingest(store, TestSupport.fixture("dev-series/\(month).json"), capturedAt: month + "-28T00:00:00Z")
      sizes.append(try used())
    }
    let growth = zip(sizes.dropFirst(), sizes).map { $0 - $1 }
    print("dedupe growth (bytes): empty \(empty), months \(growth)")
    #expect(growth[1] * 2 < growth[0])
    #expect(growth[2] * 2 < growth[0])
  }

  @Test func datesInEveryExportFormatAreNormalisedToUTC() {
    #expect(Timestamp(parsing: "2014-07-30T17:09:20Z")?.description == "2014-07-30T17:09:20Z")
    #expect(Timestamp(parsing: "2018-11-20T17:14:45+00:00")?.description == "2018-11-20T17:14:45Z")
    #expect(Timestamp(parsing: "2023-03-09 10:41:45+00:00")?.description == "2023-03-09T10:41:45Z")
    #expect(Timestamp(parsing: "2023-03-09T10:41:45.123000+00:00")?.description == "2023-03-09T10:41:45.123Z")
    #expect(Timestamp(parsing: "2023-03-09T12:41:45+02:00")?.description == "2023-03-09T10:41:45Z")
    #expect(Timestamp(parsing: "2024-02-29")?.description == "2024-02-29T00:00:00Z")
    #expect(Timestamp(parsing: "2023-02-29") == nil)
    #expect(Timestamp(parsing: "yesterday") == nil)
    #expect(Timestamp(parsing: "1969-12-31T23:59:59Z")?.description == "1969-12-31T23:59:59Z")
  }

  @Test func missingPolicyNameIsDerivedFromTheARN() throws {
    let json = """
      {"Policies":[{"Arn":"arn:aws:iam::123456789012:policy/team/ops-kms","DefaultVersionId":"v1",
        "PolicyVersionList":[{"VersionId":"v1","IsDefaultVersion":true,"Document":{"Statement":[]}}]}]}
      """
    let snapshot = try SnapshotDecoder(sourceName: "p.json").decode(Array(json.utf8))
    #expect(snapshot.managedPolicies[0].name == "ops-kms")
    #expect(snapshot.managedPolicies[0].id == nil)
  }

  @Test func truncatedExportIsRefusedUnlessAllowed() throws {
    let json =
      #"{"IsTruncated": true, "Marker": "abc", "UserDetailList": [{"UserName":"u","UserId":"AIDA1","Arn":"arn:aws:iam::123456789012:user/u"}]}"#
    let (store, _) = try TestSupport.makeStore()
    let source = IngestSource(name: "page1.json", bytes: Array(json.utf8), modificationTime: nil)
    #expect {
      try store.workflow.ingest(source, options: IngestOptions(now: TestSupport.fixedNow))
    } throws: { error in
      "\(error)".contains("page1.json: $.IsTruncated") && "\(error)".contains("--allow-truncated")
    }
    #expect(try store.count("SELECT count(*) FROM snapshots") == 0)
    let outcome = try store.workflow.ingest(source, options: IngestOptions(allowTruncated: true, now: TestSupport.fixedNow))
    guard case .ingested(let record) = outcome else {
      Issue.record("not ingested")
      return
    }
    #expect(record.isTruncated)
  }

  @Test func capturedAtComesFromTheOptionThenTheFileTime() throws {
    let (store, _) = try TestSupport.makeStore()
    let bytes = try TestSupport.bytes(TestSupport.fixture("dev-small.json"))
    let mtime = Timestamp(parsing: "2024-05-05T05:05:05Z")!
    guard
      case .ingested(let r) = try store.workflow.ingest(
        IngestSource(name: "a.json", bytes: bytes, modificationTime: mtime), options: IngestOptions(now: TestSupport.fixedNow))
    else {
      Issue.record("not ingested")
      return
    }
    #expect(r.capturedAt == mtime)
    #expect(r.capturedAtSource == .fileModificationTime)
    #expect(r.ingestedAt == TestSupport.fixedNow)
  }
}

extension JSONValue {
  var numberText: String? {
    if case .number(let n) = self { return n }
    return nil
  }
}
