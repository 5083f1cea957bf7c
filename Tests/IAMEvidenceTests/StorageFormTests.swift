import Foundation
import SQLiteDB
import Testing

@testable import IAMEvidence

/// How results and states are stored since issue 16: a result's detail as its subject's columns plus
/// a body shared by many results (``ResultBody``), state hashes written straight to bytes, times
/// printed digit by digit. What is stored, read back and shown must be exactly what it was.
@Suite(.temporaryDirectories) struct StorageFormTests {
  static let months = ["dev-series/2024-01.json", "dev-series/2024-02.json", "dev-series/2024-03.json", "dev-small.json"]

  /// A store holding the fixtures, each assessed; returns the assessments' results by snapshot.
  static func assessedStore() throws -> (EvidenceStore, [Int: [CheckResult]]) {
    let (store, _) = try TestSupport.makeStore()
    var results: [Int: [CheckResult]] = [:]
    for (i, file) in months.enumerated() {
      let record = try TestSupport.ingest(store, TestSupport.fixture(file), capturedAt: "2024-0\(i + 1)-28T00:00:00Z")
      results[record.id] = try store.workflow.assess(snapshotID: record.id, now: TestSupport.fixedNow).results
    }
    return (store, results)
  }

  @Test func everyDetailIsRebuiltExactlyByTheStoreAndByTheResultsView() throws {
    let (store, assessed) = try Self.assessedStore()
    let raw = try SQLiteConnection(path: store.path, mode: .readOnly)
    for (id, results) in assessed {
      let expected = results.map(\.storedCanonicalBytes).sorted { $0.lexicographicallyPrecedes($1) }
      let stored = try store.results(snapshotID: id).map(\.storedCanonicalBytes).sorted { $0.lexicographicallyPrecedes($1) }
      #expect(stored == expected)
      let view = try raw.query("SELECT detail FROM results WHERE snapshot_id = ?", [id]).map { Array(try $0.string("detail").utf8) }
      #expect(view.sorted { $0.lexicographicallyPrecedes($1) } == expected)
    }
    // Every result of the fixtures has a body, and the passes of a check share theirs.
    let details = try store.count("SELECT count(*) FROM result_details")
    #expect(try store.count("SELECT count(*) FROM result_details WHERE body_id IS NULL OR detail <> ''") == 0)
    #expect(details > 100)
    let passes = try store.count("SELECT count(*) FROM result_details WHERE status = 'pass'")
    #expect(try store.count("SELECT count(DISTINCT body_id) FROM result_details WHERE status = 'pass'") * 2 < passes)
    #expect(try store.checkIntegrity().isOK)
  }

  /// `report` reads the current snapshot's results from the rows its integrity check verifies, each
  /// decoded from its body's template parsed once (``ResultPrototypes``): exactly the results the
  /// store reads one by one, and each exactly what parsing its rebuilt detail gives.
  @Test func resultsReadWithTheIntegrityCheckAndFromPrototypesAreTheStoredOnes() throws {
    let (store, assessed) = try Self.assessedStore()
    for id in assessed.keys.sorted() {
      let (report, results) = try store.checkIntegrity(snapshotIDs: [id], readingResultsOf: id)
      #expect(report.isOK)
      #expect(results == (try store.results(snapshotID: id)))
      #expect(Set(results) == Set(assessed[id] ?? []))
    }
    let raw = try SQLiteConnection(path: store.path, mode: .readOnly)
    var prototypes = ResultPrototypes()
    var rows = 0
    var withPrototype = 0
    for row in try raw.query(
      "SELECT d.body_id, b.template, \(ResultBody.columnList) FROM result_details d JOIN result_bodies b ON b.id = d.body_id")
    {
      let template = Array(try row.string("template").utf8)
      let values = try ResultBody.members.map { try row.optionalString($0.column) }
      let detail = try #require(ResultBody.detail(template: template, values: values))
      let parsed = try #require(CheckResult(json: try JSONParser.parse(detail)))
      // (An escalation result's method sources name its policy before the top-level members do: the
      // placeholders are put there, and such a body has no prototype.)
      if ResultBody.prototype(template: template) != nil { withPrototype += 1 }
      #expect(prototypes.result(body: try row.int64("body_id"), template: template, values: values) == parsed)
      rows += 1
    }
    #expect(rows > 100)
    #expect(withPrototype * 10 > rows * 9)
  }

  /// The integrity check verifies and decodes a long list on a second thread and a short one as it
  /// reads it: both give the same results and problems, in the order of the rows, name a row they
  /// cannot read, and a row whose rebuilt detail does not match its `sha256` column.
  @Test func resultsWorkedOnAThreadOrInlineAreTheSame() throws {
    let (store, _) = try Self.assessedStore()
    let raw = try SQLiteConnection(path: store.path, mode: .readOnly)
    var rows: [ResultWorker.Row] = []
    for row in try raw.query(
      """
      SELECT d.id, d.sha256, d.body_id, b.template, \(ResultBody.columnList)
      FROM result_details d JOIN result_bodies b ON b.id = d.body_id ORDER BY d.id
      """
    ) {
      rows.append(
        .init(
          id: try row.int64("id"), body: try row.int64("body_id"), template: Array(try row.string("template").utf8),
          texts: PackedTexts(try ResultBody.members.map { try row.optionalString($0.column) } + [try row.string("sha256")]), detail: nil,
          verify: true, decode: true))
    }
    rows += rows + rows  // more than two batches
    // One whose body is missing, one holding a detail that is not a result, one whose sha256 is not
    // that of its rebuilt detail, and the same verified but not decoded.
    rows.insert(.init(id: -1, body: 1, template: nil, texts: PackedTexts(), detail: nil, verify: false, decode: true), at: rows.count / 2)
    rows.append(.init(id: -2, body: nil, template: nil, texts: PackedTexts(), detail: Array("{}".utf8), verify: false, decode: true))
    var tampered = rows[0]
    tampered.id = -3
    tampered.texts = PackedTexts((0..<ResultBody.members.count).map { rows[0].texts.string($0) } + [String(repeating: "0", count: 64)])
    rows.append(tampered)
    tampered.id = -4
    tampered.decode = false
    rows.append(tampered)
    #expect(rows.count > ResultWorker.batchSize * 2)
    let threaded = ResultWorker(threaded: true)
    let inline = ResultWorker(threaded: false)
    for row in rows {
      threaded.add(row)
      inline.add(row)
    }
    let (a, b) = (try threaded.finish(), try inline.finish())
    #expect(a.results == b.results)
    #expect(a.verifyProblems == b.verifyProblems && a.decodeProblems == b.decodeProblems)
    #expect(a.results.count == rows.count - 3)
    #expect(a.decodeProblems.map(\.rows) == ["row -1", "row -2"])
    #expect(a.verifyProblems.map(\.rows) == ["row -3", "row -4"])
    #expect(a.verifyProblems.allSatisfy { $0.message.contains("does not match its sha256 column") })
    var prototypes = ResultPrototypes()
    let expected = rows.compactMap { r in
      r.decode
        ? r.template.flatMap {
          prototypes.result(body: r.body ?? 0, template: $0, values: (0..<ResultBody.members.count).map { r.texts.string($0) })
        } : nil
    }
    #expect(a.results == expected)
  }

  @Test func packedTextsGiveBackEachField() {
    let fields: [String?] = ["arn:aws:iam::123456789012:user/ä", nil, "", "x", nil, String(repeating: "y", count: 300)]
    let packed = PackedTexts(fields)
    #expect(packed.count == fields.count)
    #expect((0..<fields.count).map { packed.string($0) } == fields)
    #expect(packed.field(2).map(Array.init) == [] && packed.field(1) == nil && packed.field(6) == nil)
    #expect(PackedTexts().field(0) == nil)
  }

  /// The pool gives each text's string, the same storage for the same long text, and repairs
  /// invalid UTF-8 as `String(decoding:as:)` does.
  @Test func theStringPoolSharesEachLongText() {
    func storage(_ s: String) -> UnsafePointer<UInt8>? { s.utf8.withContiguousStorageIfAvailable { $0.baseAddress } ?? nil }
    var pool = StringPool()
    let arn = Array("arn:aws:iam::123456789012:role/a-role-with-a-long-name".utf8)
    let first = pool.string(arn[...])
    let again = pool.string(Array(arn)[...])
    let other = pool.string(Array("arn:aws:iam::123456789012:role/another-role-name".utf8)[...])
    #expect(first == String(decoding: arn, as: UTF8.self) && again == first)
    #expect(storage(first) != nil && storage(first) == storage(again))
    #expect(other == "arn:aws:iam::123456789012:role/another-role-name" && storage(other) != storage(first))
    #expect(pool.string(Array("short".utf8)[...]) == "short" && pool.string([][...]) == "")
    let invalid: [UInt8] = Array("a long text with a bad byte: ".utf8) + [0xFF, 0x41]
    #expect(pool.string(invalid[...]) == String(decoding: invalid, as: UTF8.self))
    #expect(pool.string(invalid[...]) == String(decoding: invalid, as: UTF8.self))
  }

  /// A template whose placeholders are not each the whole value of its own top-level member, or
  /// which holds U+0003 in a string, has no prototype: its results are rebuilt and parsed, and come
  /// out the same.
  @Test func aTemplateThatAPrototypeCannotStandForIsRebuiltAndParsed() throws {
    let r = Self.result(
      principal: PrincipalRef(type: .user, id: "AIDA1", name: "one", arn: "arn:aws:iam::123456789012:user/one"),
      policy: PolicyRef(kind: .inline, name: "p", documentSHA256: String(repeating: "a", count: 64)))
    let values = Self.values(r)
    let template = try #require(ResultBody.template(detail: r.storedCanonicalBytes, values: values))
    #expect(ResultBody.prototype(template: template) != nil)
    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    let mark = String(UnicodeScalar(ResultBody.mark))
    // U+0003 written in a string of the result.
    let escaped = bytes(text(template).replacingOccurrences(of: "No statement", with: #"No\u0003g statement"#))
    // A placeholder inside a nested object (its top-level member then holds a plain value).
    let nested = bytes(
      text(template).replacingOccurrences(of: "\"principal_name\":\(mark)h", with: "\"principal_name\":\"one\"")
        .replacingOccurrences(of: "\"sources\":[{", with: "\"sources\":[{\"principal_name\":\(mark)h,"))
    // A placeholder that is only part of a value.
    let partial = bytes(text(template).replacingOccurrences(of: "\"principal_id\":\(mark)g", with: "\"principal_id\":[\(mark)g]"))
    for (name, damaged) in [("escaped", escaped), ("nested", nested), ("partial", partial)] {
      #expect(damaged != template, "\(name)")
      #expect(ResultBody.prototype(template: damaged) == nil, "\(name)")
      var prototypes = ResultPrototypes()
      let rebuilt = ResultBody.detail(template: damaged, values: values).flatMap { try? JSONParser.parse($0) }.flatMap(
        CheckResult.init(json:))
      #expect(prototypes.result(body: 1, template: damaged, values: values) == rebuilt, "\(name)")
    }
    #expect(ResultBody.prototype(template: bytes("{}")) == nil)
  }

  static func result(principal: PrincipalRef?, policy: PolicyRef?) -> CheckResult {
    CheckResult(
      checkID: "kms-full-access-inline", checkVersion: 1, status: .pass, principal: principal, policy: policy,
      why: "No statement allows any of the 55 target actions on all keys.",
      sources: [GrantSource(kind: "inline", policyName: "shared")])
  }

  static func values(_ r: CheckResult) -> [String?] { ResultBody.values(of: r, findingKey: r.findingKey) }

  @Test func aBodyPutsBackQuotesBackslashesAndNonASCIIAndIsSharedAcrossSubjects() throws {
    let names = ["plain", "quo\"te", "back\\slash", "ünïcødé 🔑", "", "a\"b\\c\"d"]
    var bodies = Set<[UInt8]>()
    for name in names {
      let r = Self.result(
        principal: PrincipalRef(type: .user, id: "AIDA\(name)", name: name, arn: "arn:aws:iam::123456789012:user/\(name)"),
        policy: PolicyRef(kind: .inline, name: "policy-\(name)", documentSHA256: String(repeating: "a", count: 64)))
      let detail = r.storedCanonicalBytes
      let template = try #require(ResultBody.template(detail: detail, values: Self.values(r)), "\(name)")
      #expect(template.filter { $0 == ResultBody.mark }.count == ResultBody.members.count)
      #expect(ResultBody.detail(template: template, values: Self.values(r)) == detail)
      bodies.insert(template)
    }
    // The subject is all that differed: one body for all of them.
    #expect(bodies.count == 1)
    let a = Self.result(
      principal: PrincipalRef(type: .user, id: "AIDA1", name: "one", arn: "arn:aws:iam::123456789012:user/one"),
      policy: PolicyRef(kind: .inline, name: "p", documentSHA256: String(repeating: "a", count: 64)))
    let b = Self.result(
      principal: PrincipalRef(type: .user, id: "AIDA2", name: "two", arn: "arn:aws:iam::123456789012:user/two"),
      policy: PolicyRef(kind: .inline, name: "p", documentSHA256: String(repeating: "b", count: 64)))
    #expect(
      ResultBody.template(detail: a.storedCanonicalBytes, values: Self.values(a))
        == ResultBody.template(detail: b.storedCanonicalBytes, values: Self.values(b)))
  }

  @Test func noBodyIsMadeForWhatCouldNotBePutBack() throws {
    func principal(_ name: String) -> PrincipalRef {
      PrincipalRef(type: .role, id: "AROA1", name: name, arn: "arn:aws:iam::123456789012:role/x")
    }
    let policy = PolicyRef(kind: .inline, name: "p", documentSHA256: String(repeating: "c", count: 64))
    // Control characters (escaped differently by SQLite's json_quote), a long string (stored once in
    // long_strings), and the long-string marker byte.
    for name in ["tab\there", "nul\u{0}byte", "bell\u{7}", String(repeating: "n", count: LongStrings.threshold), "\u{1}7\u{2}"] {
      let r = Self.result(principal: principal(name), policy: policy)
      #expect(ResultBody.template(detail: r.storedCanonicalBytes, values: Self.values(r)) == nil, "\(name.debugDescription)")
    }
    let r = Self.result(principal: principal("fine"), policy: policy)
    var values = Self.values(r)
    #expect(ResultBody.template(detail: r.storedCanonicalBytes, values: values) != nil)
    // Values that are not the detail's: no body rather than a wrong one.
    values[7] = "other"
    #expect(ResultBody.template(detail: r.storedCanonicalBytes, values: values) == nil)
    values[7] = nil
    #expect(ResultBody.template(detail: r.storedCanonicalBytes, values: values) == nil)
    #expect(ResultBody.template(detail: Array("[1,2]".utf8), values: Self.values(r)) == nil)
    #expect(ResultBody.template(detail: Array("{}".utf8), values: Self.values(r)) == nil)
    // A damaged template (an unknown placeholder) is refused when read, not put back wrongly.
    #expect(ResultBody.detail(template: [UInt8(ascii: "{"), ResultBody.mark, UInt8(ascii: "z"), UInt8(ascii: "}")], values: values) == nil)
    #expect(ResultBody.detail(template: [UInt8(ascii: "{"), ResultBody.mark], values: values) == nil)
  }

  /// A database written before bodies existed (every migration but 0006, including later ones such as
  /// 0008-reviews: every detail whole) is migrated by the next writer and reads back as it did:
  /// findings, the results view, check-db; new results are then stored with bodies beside the old rows.
  /// 0009 is left out too: it makes the results view again over 0006's, so it cannot have been applied
  /// before it.
  @Test func aDatabaseWrittenBeforeBodiesIsMigratedAndReadsTheSame() throws {
    let (source, assessed) = try Self.assessedStore()
    let dir = try TestSupport.temporaryDirectory()
    let old = dir.appendingPathComponent("old.sqlite").path
    do {
      let raw = try SQLiteConnection(path: old)
      try raw.execute("PRAGMA page_size = 16384; PRAGMA journal_mode = WAL")
      try SQLiteMigrator(migrations: Schema.migrations.filter { !["0006-result-bodies", "0009-id-list-runs-and-bases"].contains($0.name) })
        .migrate(
          raw, appliedAt: "2024-01-01T00:00:00Z")
      try raw.run("ATTACH DATABASE ? AS src", [source.path])
      try raw.execute("BEGIN")
      for table in [
        "documents", "snapshots", "principal_states", "principal_inline_policies", "principal_attachments", "principal_groups",
        "principal_tags", "principal_instance_profiles", "role_usages", "snapshot_principal_lists", "managed_policy_states",
        "managed_policy_state_versions", "snapshot_managed_policies", "assessments", "snapshot_results", "long_strings", "ledger",
      ] {
        try raw.execute("INSERT INTO main.\(table) SELECT * FROM src.\(table)")
      }
      // The details whole, as the view of the source rebuilds them.
      try raw.execute(
        """
        INSERT INTO main.result_details SELECT d.id, d.sha256, d.check_id, d.check_version, d.finding_key, d.status, d.principal_type,
          d.principal_id, d.principal_name, d.principal_arn, d.policy_kind, d.policy_name, d.policy_arn, d.policy_version,
          d.document_sha256, d.exception_id,
          replace(replace(replace(replace(replace(replace(replace(replace(b.template,
            char(3) || 'a', json_quote(d.document_sha256)), char(3) || 'b', json_quote(d.finding_key)),
            char(3) || 'c', json_quote(d.policy_arn)), char(3) || 'd', json_quote(d.policy_name)),
            char(3) || 'e', json_quote(d.policy_version)), char(3) || 'f', json_quote(d.principal_arn)),
            char(3) || 'g', json_quote(d.principal_id)), char(3) || 'h', json_quote(d.principal_name))
        FROM src.result_details d JOIN src.result_bodies b ON b.id = d.body_id
        """)
      try raw.execute("COMMIT")
      try raw.execute("DETACH DATABASE src")
      #expect(
        try raw.scalar("SELECT count(*) FROM result_details") == .integer(Int64(try source.count("SELECT count(*) FROM result_details"))))
    }
    let refused = try TestSupport.run(["findings", "--db", old, "--status", "all"])
    #expect(refused.status == 2 && refused.stderr.contains("0006-result-bodies"), "\(refused.stderr)")

    let migrated = try EvidenceStore(path: old, create: false, now: TestSupport.fixedNow)
    #expect(migrated.migrationsApplied == ["0006-result-bodies", "0009-id-list-runs-and-bases"])
    #expect(try migrated.count("SELECT count(*) FROM result_details WHERE body_id IS NOT NULL") == 0)
    #expect(try migrated.checkIntegrity().isOK)
    let rawOld = try SQLiteConnection(path: old, mode: .readOnly)
    let rawSource = try SQLiteConnection(path: source.path, mode: .readOnly)
    let viewSQL = "SELECT snapshot_id, check_id, finding_key, status, detail FROM results ORDER BY snapshot_id, check_id, finding_key"
    #expect(try rawOld.query(viewSQL).map(\.values) == rawSource.query(viewSQL).map(\.values))
    for (id, results) in assessed {
      #expect(
        try migrated.results(snapshotID: id).map(\.storedCanonicalBytes).sorted { $0.lexicographicallyPrecedes($1) }
          == results.map(\.storedCanonicalBytes).sorted { $0.lexicographicallyPrecedes($1) })
    }
    let findings = try TestSupport.run(["findings", "--db", old, "--status", "all", "--format", "json", "--account", "479265329499"])
    let expected = try TestSupport.run([
      "findings", "--db", source.path, "--status", "all", "--format", "json", "--account", "479265329499",
    ])
    #expect(findings.status == 0 && findings.stdout == expected.stdout, "\(findings.stderr)")

    // A new snapshot stores its results with bodies; old and new rows read back side by side.
    let export = HostileNameTests.export([HostileNameTests.user("new-admin", account: "479265329499")])
    guard
      case .ingested(let record) = try migrated.workflow.ingest(
        IngestSource(name: "new.json", bytes: export, modificationTime: nil),
        options: IngestOptions(capturedAt: Timestamp(parsing: "2024-04-30"), now: TestSupport.fixedNow))
    else { throw StoreError(path: old, message: "not ingested") }
    let outcome = try migrated.workflow.assess(snapshotID: record.id, now: TestSupport.fixedNow)
    #expect(try migrated.count("SELECT count(*) FROM result_details WHERE body_id IS NOT NULL") == outcome.results.count)
    #expect(
      try migrated.results(snapshotID: record.id).map(\.storedCanonicalBytes).sorted { $0.lexicographicallyPrecedes($1) }
        == outcome.results.map(\.storedCanonicalBytes).sorted { $0.lexicographicallyPrecedes($1) })
    #expect(try migrated.checkIntegrity().isOK)
  }

  /// The hashes of principal and managed-policy states are the SHA-256 of the canonical JSON array of
  /// their fields, as they were when built as a ``JSONValue`` tree (so states stored before are still
  /// found and linked).
  @Test(arguments: months) func stateHashesAreThoseOfTheCanonicalFieldArrays(_ file: String) throws {
    let snapshot = try SnapshotDecoder(sourceName: file).decode(TestSupport.bytes(TestSupport.fixture(file)))
    #expect(!snapshot.principals.isEmpty)
    for p in snapshot.principals {
      #expect(StateHash.principal(p, createDate: p.createDate?.description) == Self.referencePrincipalHash(p))
    }
    for m in snapshot.managedPolicies {
      let dates = m.versions.map { $0.createDate?.description }
      #expect(
        StateHash.managedPolicy(m, createDate: m.createDate?.description, updateDate: m.updateDate?.description, versionDates: dates)
          == Self.referencePolicyHash(m))
    }
  }

  @Test func stateHashesOfHostileFieldsAreThoseOfTheCanonicalFieldArrays() throws {
    let bytes = HostileNameTests.export([
      HostileNameTests.user(HostileNameTests.evil), HostileNameTests.user("quo\"te\\"), HostileNameTests.user("ünï\u{0}"),
    ])
    let snapshot = try SnapshotDecoder(sourceName: "hostile.json").decode(bytes)
    #expect(snapshot.principals.count == 3)
    for p in snapshot.principals {
      #expect(StateHash.principal(p, createDate: p.createDate?.description) == Self.referencePrincipalHash(p))
    }
  }

  static func opt(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }

  static func referencePrincipalHash(_ p: Principal) -> String {
    var fields: [JSONValue] = [
      .string(p.type.rawValue), .string(p.id), .string(p.name), .string(p.arn), opt(p.path), opt(p.createDate?.description),
      opt(p.permissionsBoundary?.arn), opt(p.permissionsBoundary?.type), opt(p.trustPolicy?.sha256),
    ]
    fields.append(.array(p.inlinePolicies.map { .array([.string($0.name), .string($0.document.sha256)]) }))
    fields.append(.array(p.attachedPolicies.map { .array([.string($0.arn), .string($0.name)]) }))
    fields.append(.array(p.groups.map(JSONValue.string)))
    fields.append(.array(p.tags.map { .array([.string($0.key), .string($0.value)]) }))
    fields.append(.array(p.instanceProfiles.map { .array([.string($0.name), opt($0.id), opt($0.arn)]) }))
    return ContentHash.hex(JSONWriter.canonicalBytes(.array(fields)))
  }

  static func referencePolicyHash(_ m: ManagedPolicy) -> String {
    var fields: [JSONValue] = [
      .string(m.arn), opt(m.id), .string(m.name), opt(m.path), opt(m.defaultVersionId), m.isAttachable.map(JSONValue.bool) ?? .null,
      opt(m.description), opt(m.createDate?.description), opt(m.updateDate?.description),
    ]
    fields.append(
      .array(
        m.versions.map {
          .array([.string($0.versionId), .bool($0.isDefault), opt($0.createDate?.description), .string($0.document.sha256)])
        }))
    return ContentHash.hex(JSONWriter.canonicalBytes(.array(fields)))
  }

  /// The general form of ``Timestamp/description``, for comparison with its fast path.
  static func referenceDescription(_ t: Timestamp) -> String {
    func pad(_ v: Int, _ width: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    let days = Int(t.epochSeconds >= 0 ? t.epochSeconds / 86_400 : (t.epochSeconds - 86_399) / 86_400)
    let secs = Int(t.epochSeconds - Int64(days) * 86_400)
    let (y, m, d) = Timestamp.civilFromDays(days)
    var s = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2))"
    if !t.fraction.isEmpty { s += "." + t.fraction }
    return s + "Z"
  }

  @Test func timestampsPrintAsTheyDidOnTheFastPath() {
    var random = SplitMix(state: 16)
    // Years 0 to 9999 take the fast path; 10000 and before year 0 the general one.
    var samples: [Timestamp] = [
      Timestamp(epochSeconds: -62_167_219_200), Timestamp(epochSeconds: 253_402_300_799, fraction: "999"),
      Timestamp(epochSeconds: 253_402_300_800), Timestamp(epochSeconds: -62_167_219_201), Timestamp(epochSeconds: 0),
      Timestamp(parsing: "2024-02-29T23:59:59.5+01:00")!,
    ]
    for _ in 0..<5_000 {
      let seconds = Int64(random.below(600_000_000_000)) - 150_000_000_000
      samples.append(Timestamp(epochSeconds: seconds, fraction: random.chance(30) ? String(random.below(1_000_000)) : ""))
    }
    for t in samples { #expect(t.description == Self.referenceDescription(t), "\(t.epochSeconds)") }
    #expect(Timestamp(epochSeconds: 0).description == "1970-01-01T00:00:00Z")
  }

  /// Texts are bound with their length: a NUL byte inside one is kept (a C string would end there),
  /// and the empty text stays text, not NULL.
  @Test func textsWithNULBytesAndEmptyTextsRoundTrip() throws {
    let db = try SQLiteConnection(path: ":memory:")
    try db.execute("CREATE TABLE t (a TEXT, b TEXT, c BLOB)")
    let insert = try db.prepare("INSERT INTO t VALUES (?, ?, ?)")
    try insert.execute(["nul\u{0}byte", "", SQLiteValue.blob([0, 1, 2])])
    try insert.execute(["ünï", String(repeating: "x", count: 100_000), SQLiteValue.blob([])])
    let rows = try db.query("SELECT a, b, c, typeof(b) AS kind, length(CAST(a AS BLOB)) AS bytes FROM t ORDER BY rowid")
    #expect(try rows[0].string("a") == "nul\u{0}byte")
    #expect(try rows[0].string("b") == "" && rows[0].string("kind") == "text")
    #expect(try rows[0].int("bytes") == 8)
    #expect(try rows[0].value("c") == .blob([0, 1, 2]))
    #expect(try rows[1].string("a") == "ünï" && rows[1].string("b").count == 100_000)
    // Bound the other way too (bind, then step), and the statement runs again with new values.
    let select = try db.prepare("SELECT count(*) AS n FROM t WHERE a = ?")
    try select.bind(["nul\u{0}byte"])
    #expect(try select.step()?.values.first == .integer(1))
    try insert.execute(["again", SQLiteValue.null, SQLiteValue.null])
    #expect(try db.scalar("SELECT count(*) FROM t WHERE b IS NULL") == .integer(1))
  }
}
