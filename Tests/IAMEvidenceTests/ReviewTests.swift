import Crypto
import Foundation
import Testing
import XMLTree

@testable import IAMEvidence

/// An account with two assessed snapshots (April, May) for access reviews: alice holds `admin` in
/// both; carol holds `admin` and has a failing inline policy in April only.
struct ReviewFixture {
  typealias F = RegisterFixture
  static let checks = F.checks + [CheckVersion(id: "kms-full-access-inline", version: 1)]
  static let alice = F.user("alice")
  static let carol = F.user("carol")
  static let everything = PolicyRef(kind: .inline, name: "everything", documentSHA256: String(repeating: "e", count: 64))

  let register: RegisterFixture
  let april: SnapshotRecord
  let may: SnapshotRecord?
  var store: EvidenceStore { register.store }
  var workflow: EvidenceWorkflow { register.store.workflow }

  /// `carolErrsInMay`: carol is still there in May, but every check that looks at her has an
  /// `error` result (her policies could not be evaluated).
  init(withMay: Bool = true, carolErrsInMay: Bool = false) throws {
    register = try RegisterFixture()
    april = try register.snapshot("2024-04-30T23:00:00Z", [Self.alice, Self.carol])
    try register.assess(
      april,
      [
        F.result("admin-access-identity", .fail, Self.alice), F.result("admin-access-identity", .fail, Self.carol),
        CheckResult(
          checkID: "kms-full-access-inline", checkVersion: 1, status: .fail, principal: Self.carol, policy: Self.everything,
          why: "allows every KMS action"),
      ], checks: Self.checks)
    if withMay {
      let m = try register.snapshot("2024-05-31T23:00:00Z", carolErrsInMay ? [Self.alice, Self.carol] : [Self.alice])
      var results = [F.result("admin-access-identity", .fail, Self.alice)]
      if carolErrsInMay {
        results += [
          F.result("admin-access-identity", .error, Self.carol),
          CheckResult(
            checkID: "kms-full-access-inline", checkVersion: 1, status: .error, principal: Self.carol, policy: Self.everything,
            why: "the policy could not be evaluated"),
        ]
      }
      try register.assess(m, results, checks: Self.checks)
      may = m
    } else {
      may = nil
    }
  }

  /// April's sheet as `review export` writes it.
  func exported() throws -> String {
    let (record, items) = try workflow.reviewSheet(snapshot: String(april.id), account: nil, capabilities: F.map)
    return ReviewSheet.csv(snapshot: record, items: items)
  }

  /// April's sheet, each row answered by `answer` (row id → decision, reviewer, reviewed_on, comment, ticket).
  func filled(_ answer: (String) -> [String] = ReviewFixture.defaultAnswer) throws -> String {
    let records = try CSVReader.records(try exported(), file: "x").map { $0.map(\.value) }
    let header = records[0]
    let id = header.firstIndex(of: "row_id")!
    let first = header.firstIndex(of: "decision")!
    return CSV.table(
      header: header,
      rows: records.dropFirst().map { row in
        var row = row
        row.replaceSubrange(first..<(first + 5), with: answer(row[id]))
        return row
      })
  }

  static func defaultAnswer(_ rowID: String) -> [String] {
    rowID.contains("CAROL") ? ["revoke", "Dana", "2024-05-06", "contract ended", "SEC-1"] : ["keep", "Dana", "2024-05-06", "", ""]
  }

  /// Imports `text` as the file `review.csv`.
  @discardableResult
  func importSheet(_ text: String, key: Curve25519.Signing.PrivateKey? = nil) throws -> ReviewImportOutcome {
    try workflow.importReview(Array(text.utf8), file: "review.csv", signingKey: key, now: TestSupport.fixedNow, capabilities: F.map)
  }

  func reviewCount() throws -> Int { try store.count("SELECT count(*) FROM reviews") + store.count("SELECT count(*) FROM review_rows") }
}

@Suite(.temporaryDirectories) struct ReviewTests {
  typealias F = RegisterFixture

  // MARK: RFC 4180 reading

  @Test func readsQuotedFieldsLineBreaksCRLFAndABOM() throws {
    let text = "\u{FEFF}a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n1,,3"
    let records = try CSVReader.records(text, file: "s.csv")
    #expect(records.map { $0.map(\.value) } == [["a", "b", "c"], ["x, y", "say \"hi\"", "two\nlines"], ["1", "", "3"]])
    // Positions: the third record starts on line 4 (the quoted field held a line break).
    #expect(records[2].map(\.line) == [4, 4, 4] && records[2].map(\.column) == [1, 3, 4])
    #expect(try CSVReader.records("a,\n", file: "s").map { $0.map(\.value) } == [["a", ""]])
  }

  @Test func malformedCSVNamesFileLineAndColumn() {
    func error(_ text: String) -> ReviewSheetError? {
      do {
        _ = try CSVReader.records(text, file: "sheet.csv")
        return nil
      } catch { return error }
    }
    #expect(error("a,b\nc,d\"e\n")?.description.hasPrefix("sheet.csv:2:4: a quote inside an unquoted field") == true)
    #expect(error("a,b\n\"c\"x,d\n")?.description.hasPrefix("sheet.csv:2:4: text after the closing quote") == true)
    #expect(error("a,b\nc,\"never closed\nmore")?.description.hasPrefix("sheet.csv:2:3: a quoted field is never closed") == true)
    #expect(error("a,b\rc,d")?.description.hasPrefix("sheet.csv:1:4: a carriage return not followed by a line feed") == true)
  }

  // MARK: Export

  @Test func exportListsRegisterAndOpenFindingsWithStableRowIDsAndTheSnapshotOnEveryRow() throws {
    let fx = try ReviewFixture()
    let records = try CSVReader.records(try fx.exported(), file: "x").map { $0.map(\.value) }
    #expect(records[0] == ReviewSheet.columns)
    let id = ReviewSheet.columns.firstIndex(of: "row_id")!
    #expect(
      records.dropFirst().map { $0[id] } == [
        "priv:AIDAALICE:admin", "priv:AIDACAROL:admin", "finding:kms-full-access-inline|AIDACAROL|inline:everything",
        "finding:admin-access-identity|AIDAALICE", "finding:admin-access-identity|AIDACAROL",
      ])
    for row in records.dropFirst() {
      #expect(row[0] == String(fx.april.id) && row[1] == fx.april.sha256)
      #expect(row.suffix(5) == ["", "", "", "", ""])
    }
    // The same database gives the same sheet.
    #expect(try fx.exported() == fx.exported())
  }

  @Test func exportOnlyReadsTheDatabase() throws {
    let fx = try ReviewFixture()
    let reader = try EvidenceStore(readingAt: fx.store.path)
    let (record, items) = try reader.workflow.reviewSheet(snapshot: String(fx.april.id), account: nil, capabilities: F.map)
    #expect(record.id == fx.april.id && items.count == 5)
    // Through the CLI: the database's bytes are untouched, the sheet is renamed into place, and the
    // database itself is refused as the output.
    let dbURL = URL(fileURLWithPath: fx.store.path)
    let before = try Data(contentsOf: dbURL)
    let out = fx.register.dir.appendingPathComponent("sheet.csv")
    let run = try TestSupport.run(["review", "export", "--db", dbURL.path, "--snapshot", "latest", "--out", out.path])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(try Data(contentsOf: dbURL) == before)
    #expect(FileManager.default.fileExists(atPath: out.path))
    let names = try FileManager.default.contentsOfDirectory(atPath: fx.register.dir.path)
    #expect(!names.contains { $0.hasSuffix(".tmp") })
    let refused = try TestSupport.run(["review", "export", "--db", dbURL.path, "--out", dbURL.path])
    #expect(refused.status == 2 && refused.stderr.contains("is the database"))
    #expect(try Data(contentsOf: dbURL) == before)
  }

  // MARK: Import

  @Test func importStoresTheReviewWithItsSheetAndRows() throws {
    let fx = try ReviewFixture()
    let sheet = try fx.filled()
    guard case .imported(let id, let snapshot, let rows, let reviewers, let signer) = try fx.importSheet(sheet) else {
      Issue.record("not imported")
      return
    }
    #expect(snapshot == fx.april.id && rows == 5 && reviewers == ["Dana"] && signer == nil)
    let stored = try fx.store.reviews(snapshotIDs: [fx.april.id])
    #expect(stored.map(\.id) == [id])
    let r = try #require(stored.first)
    #expect(r.sheetSHA256 == Digest.sha256(Array(sheet.utf8)) && r.sourceName == "review.csv")
    #expect(r.count(.revoke) == 3 && r.count(.keep) == 2 && r.count(.exception) == 0)
    #expect(r.firstReviewedOn == "2024-05-06" && r.lastReviewedOn == "2024-05-06")
    #expect(r.rows.first?.principal == ReviewFixture.alice && r.rows.first?.subject == "admin")
    #expect(try fx.store.reviewSheet(id: id) == sheet)
    // The same sheet again writes nothing.
    #expect(try fx.importSheet(sheet) == .alreadyImported(id: id, snapshotID: fx.april.id))
    #expect(try fx.store.count("SELECT count(*) FROM reviews") == 1)
  }

  @Test func signedImportRecordsTheKeyAndASignatureOfTheSheet() throws {
    let fx = try ReviewFixture()
    let key = SigningKeys.generate()
    let sheet = try fx.filled()
    guard case .imported(_, _, _, _, let signer) = try fx.importSheet(sheet, key: key) else {
      Issue.record("not imported")
      return
    }
    #expect(signer == SigningKeys.fingerprint(key.publicKey))
    let r = try #require(try fx.store.reviews(snapshotIDs: [fx.april.id]).first)
    let signature = try #require(r.signature.flatMap { Data(base64Encoded: $0) })
    #expect(key.publicKey.isValidSignature(signature, for: Data(sheet.utf8)))
    #expect(!key.publicKey.isValidSignature(signature, for: Data((sheet + " ").utf8)))
  }

  /// Imports `text`, expecting it refused with a message containing `message` (and the line when
  /// given); nothing is written.
  func expectRefused(
    _ fx: ReviewFixture, _ text: String, _ message: String, line: Int? = nil, column: Int? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    do {
      try fx.importSheet(text)
      Issue.record("imported; expected \"\(message)\"", sourceLocation: sourceLocation)
    } catch let error as ReviewSheetError {
      #expect(error.file == "review.csv", sourceLocation: sourceLocation)
      #expect(error.message.contains(message), "\(error)", sourceLocation: sourceLocation)
      if let line { #expect(error.line == line, "\(error)", sourceLocation: sourceLocation) }
      if let column { #expect(error.column == column, "\(error)", sourceLocation: sourceLocation) }
    }
    #expect(try fx.reviewCount() == 0, sourceLocation: sourceLocation)
  }

  @Test func everyRowMustBeAnswered() throws {
    let fx = try ReviewFixture()
    func answering(_ values: [String]) throws -> String {
      try fx.filled { $0 == "priv:AIDACAROL:admin" ? values : ReviewFixture.defaultAnswer($0) }
    }
    try expectRefused(fx, try answering(["", "Dana", "2024-05-06", "", ""]), "has no decision", line: 3)
    try expectRefused(
      fx, try answering(["maybe", "Dana", "2024-05-06", "", ""]), "decision \"maybe\" is not keep, revoke or exception", line: 3)
    try expectRefused(fx, try answering(["keep", "  ", "2024-05-06", "", ""]), "names no reviewer", line: 3)
    try expectRefused(fx, try answering(["keep", "Dana", "", "", ""]), "has no reviewed_on date", line: 3)
    try expectRefused(fx, try answering(["keep", "Dana", "6/5/2024", "", ""]), "is not a date YYYY-MM-DD", line: 3)
    try expectRefused(fx, try answering(["keep", "Dana", "2024-02-30", "", ""]), "is not a date YYYY-MM-DD", line: 3)
    // The column of the field at fault: where "maybe" starts on its line.
    let line = try answering(["maybe", "Dana", "2024-05-06", "", ""]).split(separator: "\n")[2]
    let column = line.distance(from: line.startIndex, to: try #require(line.firstRange(of: ",maybe,")).lowerBound) + 2
    try expectRefused(fx, try answering(["maybe", "Dana", "2024-05-06", "", ""]), "is not keep", line: 3, column: column)
    // Decisions are read without case or surrounding blanks.
    try fx.importSheet(try answering([" Keep ", "Dana", "2024-05-06", "", ""]))
  }

  @Test func datesAreNotBeforeTheSnapshotsCaptureDayNorInTheFuture() throws {
    let fx = try ReviewFixture()
    func dated(_ day: String) throws -> String {
      try fx.filled { $0 == "priv:AIDAALICE:admin" ? ["keep", "Dana", day, "", ""] : ReviewFixture.defaultAnswer($0) }
    }
    try expectRefused(fx, try dated("2024-04-29"), "before the snapshot was captured (2024-04-30)", line: 2)
    // The day after the import's clock is accepted (a reviewer ahead of UTC), not later.
    try expectRefused(fx, try dated("2024-07-03"), "in the future", line: 2)
    try fx.importSheet(try dated("2024-04-30"))
  }

  @Test func unknownDuplicateAndMissingRowsAreRefused() throws {
    let fx = try ReviewFixture()
    let sheet = try fx.filled()
    var lines = sheet.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    // Unknown: a row id edited by hand.
    var edited = lines
    edited[2] = edited[2].replacingOccurrences(of: "priv:AIDACAROL:admin", with: "priv:AIDAMALLORY:admin")
    try expectRefused(fx, edited.joined(separator: "\n"), "row priv:AIDAMALLORY:admin is not an item of snapshot", line: 3)
    // Duplicate: a row twice.
    var twice = lines
    twice.insert(lines[2], at: 3)
    try expectRefused(fx, twice.joined(separator: "\n"), "row priv:AIDACAROL:admin appears twice (first on line 3)", line: 4)
    // Missing: a row deleted.
    lines.remove(at: 5)
    try expectRefused(
      fx, lines.joined(separator: "\n"),
      "1 item(s) of snapshot \(fx.april.id) are not in the sheet: finding:admin-access-identity|AIDACAROL")
  }

  @Test func theSheetMustBeThisDatabasesSnapshot() throws {
    let fx = try ReviewFixture()
    let sheet = try fx.filled()
    try expectRefused(
      fx, sheet.replacingOccurrences(of: fx.april.sha256, with: String(repeating: "0", count: 64)),
      "the sheet was exported from another database")
    let other = String(fx.april.id) + ","
    try expectRefused(
      fx, sheet.replacingOccurrences(of: "\n" + other, with: "\n99,"), "the sheet names snapshot 99, which is not in")
    // Rows of two snapshots in one sheet.
    var lines = sheet.split(separator: "\n").map(String.init)
    lines[3] = "99" + lines[3].dropFirst(other.count - 1)
    try expectRefused(fx, lines.joined(separator: "\n"), "one sheet reviews one snapshot", line: 4, column: 1)
  }

  @Test func formAndSizeAreChecked() throws {
    let fx = try ReviewFixture()
    let sheet = try fx.filled()
    try expectRefused(fx, "", "an empty file")
    try expectRefused(fx, ReviewSheet.columns.joined(separator: ",") + "\n", "the sheet has no rows")
    try expectRefused(fx, sheet.replacingOccurrences(of: "reviewed_on", with: "reviewed"), "unknown column \"reviewed\"", line: 1)
    try expectRefused(fx, sheet.replacingOccurrences(of: ",ticket\n", with: ",comment\n"), "the column \"comment\" appears twice", line: 1)
    try expectRefused(fx, sheet.replacingOccurrences(of: ",ticket\n", with: "\n"), "no column \"ticket\"")
    var lines = sheet.split(separator: "\n").map(String.init)
    lines[2] += ",extra"
    try expectRefused(fx, lines.joined(separator: "\n"), "19 field(s) where the header has 18", line: 3)
    try expectRefused(
      fx, sheet.replacingOccurrences(of: "contract ended", with: "contract \"ended\""), "a quote inside an unquoted field", line: 3)
    // Not UTF-8 on line 4.
    var bytes = Array(sheet.utf8)
    let third = bytes.indices.filter { bytes[$0] == 0x0A }[2]
    bytes.insert(0xFF, at: third + 3)
    do {
      _ = try fx.workflow.importReview(bytes, file: "review.csv", signingKey: nil, now: TestSupport.fixedNow, capabilities: F.map)
      Issue.record("imported")
    } catch let error as ReviewSheetError {
      #expect(error.line == 4 && error.message.contains("not UTF-8"))
    }
    // Bounded: a sheet larger than the limit is refused before it is parsed.
    let big = [UInt8](repeating: 0x41, count: ReviewImport.maximumBytes + 1)
    #expect(throws: ReviewSheetError.self) {
      try fx.workflow.importReview(big, file: "review.csv", signingKey: nil, now: TestSupport.fixedNow, capabilities: F.map)
    }
    let path = fx.register.dir.appendingPathComponent("big.csv")
    try Data(big).write(to: path)
    do {
      _ = try fx.workflow.importReview(path: path.path, signingKey: nil, now: TestSupport.fixedNow, capabilities: F.map)
      Issue.record("imported")
    } catch let error as ReviewSheetError {
      #expect(error.file == path.path && error.message.contains("exceeds"))
    }
    #expect(try fx.reviewCount() == 0)
  }

  @Test func aFailingImportWritesNothingEvenHalfwayThroughItsRows() throws {
    let fx = try ReviewFixture()
    // A trigger that fails the third row's insert: the review and the first two rows were written
    // inside the same transaction and must be gone.
    try fx.store.db.execute(
      """
      CREATE TEMP TRIGGER fail_third AFTER INSERT ON main.review_rows WHEN NEW.position = 2
      BEGIN SELECT RAISE(ABORT, 'injected failure'); END
      """)
    #expect(throws: StoreError.self) { try fx.importSheet(try fx.filled()) }
    #expect(try fx.reviewCount() == 0)
    try fx.store.db.execute("DROP TRIGGER temp.fail_third")
    try fx.importSheet(try fx.filled())
    #expect(try fx.store.count("SELECT count(*) FROM review_rows") == 5)
    // Stored reviews are append-only.
    #expect(throws: (any Error).self) { try fx.store.db.execute("DELETE FROM review_rows") }
    #expect(throws: (any Error).self) { try fx.store.db.execute("UPDATE reviews SET sheet_sha256 = 'x'") }
  }

  // MARK: Follow-up

  @Test func followUpOfRevokeRows() {
    let alice = ReviewFixture.alice
    let carol = ReviewFixture.carol
    func row(_ kind: ReviewItemKind, _ p: PrincipalRef?, _ subject: String, _ identity: String? = nil, _ d: ReviewDecision = .revoke)
      -> StoredReviewRow
    {
      StoredReviewRow(
        rowID: kind == .privileged ? ReviewSheet.rowID(principalID: p!.id, capability: subject) : ReviewSheet.rowID(findingKey: identity!),
        kind: kind, principal: p, subject: subject, findingIdentity: identity, decision: d, reviewer: "Dana", reviewedOn: "2024-05-06")
    }
    let rows = [
      row(.privileged, alice, "admin"),  // still held
      row(.privileged, alice, "kms-full-access"),  // alice holds admin only now
      row(.privileged, carol, "admin"),  // carol gone
      row(.finding, carol, "kms-full-access-inline", "kms-full-access-inline|AIDACAROL|inline:everything"),
      row(.finding, nil, "kms-decrypt-all-keys", "kms-decrypt-all-keys|arn:aws:iam::1:policy/p"),  // still open (another version)
      row(.privileged, carol, "escalation", nil, .keep),  // no follow-up for keep
      row(.privileged, carol, "escalation", nil, .exception),
    ]
    let next = NextSnapshotAccess(
      snapshot: PrivilegedRegisterTests.snapshot,
      register: [
        PrivilegedPrincipal(
          snapshotID: 7, principal: alice,
          held: [HeldCapability(code: "admin", checkID: "admin-access-identity", checkVersion: 1, status: .fail)],
          lastUsed: nil, privilegedSince: PrivilegedRegisterTests.snapshot.capturedAt),
        // carol recreated under the same name: a new unique id, so her old access is gone.
        PrivilegedPrincipal(
          snapshotID: 7, principal: F.user("carol", id: "AIDACAROL2"),
          held: [HeldCapability(code: "admin", checkID: "admin-access-identity", checkVersion: 1, status: .fail)], lastUsed: nil,
          privilegedSince: PrivilegedRegisterTests.snapshot.capturedAt),
      ], openFindingIdentities: ["kms-decrypt-all-keys|arn:aws:iam::1:policy/p"])
    let follow = ReviewFollowUps.followUps(rows, next: next)
    #expect(follow.map(\.state) == [.notRevoked, .revoked, .revoked, .revoked, .notRevoked])
    // What the next snapshot could not evaluate is undetermined, unless it is still there anyway.
    var erring = next
    erring.unevaluated = [
      NextSnapshotAccess.accessKey(principalID: alice.id, capability: "admin"),
      NextSnapshotAccess.accessKey(principalID: alice.id, capability: "kms-full-access"),
    ]
    erring.unevaluatedFindings = ["kms-full-access-inline|AIDACAROL|inline:everything", "kms-decrypt-all-keys|arn:aws:iam::1:policy/p"]
    #expect(
      ReviewFollowUps.followUps(rows, next: erring).map(\.state) == [.notRevoked, .undetermined, .revoked, .undetermined, .notRevoked])
    // From the snapshot's error results: a capability check's error makes its capability of that
    // principal unevaluated; any error result makes its finding unevaluated.
    let fromResults = NextSnapshotAccess(
      snapshot: PrivilegedRegisterTests.snapshot, register: [], openFindingIdentities: [],
      errorResults: [
        F.result("admin-access-identity", .error, carol),
        CheckResult(checkID: "no-capability-check", checkVersion: 1, status: .error, principal: alice, why: "x"),
      ], capabilities: F.map)
    #expect(fromResults.unevaluated == [NextSnapshotAccess.accessKey(principalID: carol.id, capability: "admin")])
    #expect(fromResults.unevaluatedFindings.count == 2)
    #expect(follow.allSatisfy { $0.nextSnapshotID == 7 })
    let pending = ReviewFollowUps.followUps(rows, next: nil)
    #expect(pending.map(\.state) == Array(repeating: .pending, count: 5) && pending.allSatisfy { $0.nextSnapshotID == nil })
  }

  @Test func reviewEvidenceFollowsRevokesIntoTheNextSnapshot() throws {
    let fx = try ReviewFixture()
    try fx.importSheet(try fx.filled())
    let evidence = try fx.workflow.reviewEvidence(of: [fx.april], capabilities: F.map)
    #expect(evidence.count == 1)
    #expect(
      evidence[0].followUps.map(\.row.rowID) == [
        "priv:AIDACAROL:admin", "finding:kms-full-access-inline|AIDACAROL|inline:everything", "finding:admin-access-identity|AIDACAROL",
      ])
    #expect(evidence[0].followUps.allSatisfy { $0.state == .revoked && $0.nextSnapshotID == fx.may?.id })
    // Revoking alice, who keeps admin in May: not revoked.
    let fx2 = try ReviewFixture()
    try fx2.importSheet(
      try fx2.filled { $0 == "priv:AIDAALICE:admin" ? ["revoke", "Dana", "2024-05-06", "", ""] : ReviewFixture.defaultAnswer($0) })
    let states = try fx2.workflow.reviewEvidence(of: [fx2.april], capabilities: F.map)[0].followUps.map(\.state)
    #expect(states == [.notRevoked, .revoked, .revoked, .revoked])
    // Carol still there in May, but her checks erred: nothing shows her access gone, so no revoke
    // is done; alice's error-free revoke is still decided.
    let fx4 = try ReviewFixture(carolErrsInMay: true)
    try fx4.importSheet(
      try fx4.filled { $0 == "priv:AIDAALICE:admin" ? ["revoke", "Dana", "2024-05-06", "", ""] : ReviewFixture.defaultAnswer($0) })
    let erred = try fx4.workflow.reviewEvidence(of: [fx4.april], capabilities: F.map)[0].followUps
    #expect(
      erred.map(\.row.rowID) == [
        "priv:AIDAALICE:admin", "priv:AIDACAROL:admin", "finding:kms-full-access-inline|AIDACAROL|inline:everything",
        "finding:admin-access-identity|AIDACAROL",
      ])
    #expect(erred.map(\.state) == [.notRevoked, .undetermined, .undetermined, .undetermined])
    #expect(erred.allSatisfy { $0.nextSnapshotID == fx4.may?.id })
    // Without a May snapshot: pending.
    let fx3 = try ReviewFixture(withMay: false)
    try fx3.importSheet(try fx3.filled())
    #expect(try fx3.workflow.reviewEvidence(of: [fx3.april], capabilities: F.map)[0].followUps.allSatisfy { $0.state == .pending })
  }
}

/// How reviews are shown: the report's section and sign-off, evidence.xml, OSCAL, and the demo.
@Suite(.temporaryDirectories) struct ReviewPresentationTests {
  typealias F = RegisterFixture
  static let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))
  static let generatedAt = Timestamp(parsing: "2024-06-02T00:00:00Z")!

  /// The April–May period of `fx`.
  static func evidence(_ fx: ReviewFixture) throws -> EvidenceModel {
    try fx.workflow.evidence(
      scope: .period(from: Timestamp(parsing: "2024-04-01")!, to: Timestamp(parsing: "2024-05-31T23:59:59Z")!), account: nil,
      generatedAt: generatedAt, capabilities: F.map)
  }

  static func html(_ model: EvidenceModel) throws -> String {
    String(decoding: try HTMLReport.render(model, templates: templates), as: UTF8.self)
  }

  @Test func withoutAReviewOfTheLastSnapshotTheReportSaysSoAndLeavesTheSignOffBlank() throws {
    let fx = try ReviewFixture()
    var model = try Self.evidence(fx)
    #expect(model.reviews.isEmpty && model.currentReview == nil)
    var html = try Self.html(model)
    #expect(html.contains("No completed review of the period's last snapshot"))
    #expect(html.contains("No access review of any snapshot of the period was imported."))
    #expect(html.contains("reviewed by and date are left to be filled in by hand"))
    // April reviewed, May not: the review and its follow-up are shown, and the statement stays.
    try fx.importSheet(try fx.filled())
    model = try Self.evidence(fx)
    #expect(model.reviews.count == 1 && model.currentReview == nil)
    html = try Self.html(model)
    #expect(html.contains("No completed review of the period's last snapshot"))
    #expect(html.contains("Follow-up of review 1"))
    #expect(html.contains("revoked</strong> (gone in snapshot \(fx.may!.id) of 2024-05-31)"))
    #expect(html.contains("<td>Dana</td>") && html.contains("<td class=\"num\">3</td>"))
  }

  @Test func aReviewOfTheLastSnapshotFillsTheSignOff() throws {
    let fx = try ReviewFixture()
    let may = try #require(fx.may)
    let (record, items) = try fx.workflow.reviewSheet(snapshot: String(may.id), account: nil, capabilities: F.map)
    let sheet = CSV.table(
      header: ReviewSheet.columns,
      rows: try CSVReader.records(ReviewSheet.csv(snapshot: record, items: items), file: "x").dropFirst().map { r in
        r.prefix(13).map(\.value) + ["keep", "Erin Auditee", "2024-06-01", "", ""]
      })
    try fx.importSheet(sheet)
    let model = try Self.evidence(fx)
    #expect(model.currentReview?.review.reviewers == ["Erin Auditee"])
    let html = try Self.html(model)
    #expect(!html.contains("No completed review of the period's last snapshot"))
    #expect(html.contains("<dt>Reviewed by</dt><dd>Erin Auditee</dd>") && html.contains("<dt>Date</dt><dd>2024-06-01</dd>"))
    #expect(html.contains("Review 1 revoked nothing"))
  }

  @Test func evidenceXMLAndOSCALCarryTheReviewsAndValidate() throws {
    let fx = try ReviewFixture()
    let key = SigningKeys.generate()
    try fx.importSheet(try fx.filled(), key: key)
    let model = try Self.evidence(fx)
    let xml = try XMLDocument(bytes: try EvidenceXML.render(model, templates: Self.templates))
    let ns = ["e": EvidenceXML.namespace]
    func count(_ doc: XMLDocument, _ xpath: String, _ ns: [String: String]) throws -> Int {
      try doc.nodes(matching: xpath, namespaces: ns).count
    }
    #expect(try count(xml, "/e:evidence/e:reviews[@currentReviewed='false'][@count='1']", ns) == 1)
    #expect(try count(xml, "//e:review[@snapshot='\(fx.april.id)'][@revoke='3'][@keep='2'][@exception='0']", ns) == 1)
    #expect(try count(xml, "//e:review[@signerFingerprint='\(SigningKeys.fingerprint(key.publicKey))']", ns) == 1)
    #expect(try count(xml, "//e:review/e:item", ns) == 5)
    #expect(try count(xml, "//e:review/e:followUp[@state='revoked'][@nextSnapshot='\(fx.may!.id)']", ns) == 3)
    // An undetermined follow-up (carol's checks erred in May) is valid evidence too, and OSCAL counts it.
    let erring = try ReviewFixture(carolErrsInMay: true)
    try erring.importSheet(try erring.filled())
    let erringModel = try Self.evidence(erring)
    let erringXML = try XMLDocument(bytes: try EvidenceXML.render(erringModel, templates: Self.templates))
    #expect(try count(erringXML, "//e:review/e:followUp[@state='undetermined'][@nextSnapshot='\(erring.may!.id)']", ns) == 3)
    #expect(
      try Self.html(erringModel).contains(
        "<strong class=\"overdue\">undetermined</strong> (snapshot \(erring.may!.id) of 2024-05-31 could not evaluate it"))
    let erringOSCAL = try OSCALTests.validated(OSCALAssessmentResults.render(erringModel, trend: nil))
    #expect(try count(erringOSCAL, "//o:assessment-log/o:entry/o:prop[@name='follow-up-undetermined'][@value='3']", OSCALTests.ns) == 1)
    #expect(try count(erringOSCAL, "//o:assessment-log/o:entry/o:prop[@name='follow-up-revoked'][@value='0']", OSCALTests.ns) == 1)

    let oscal = try OSCALTests.validated(OSCALAssessmentResults.render(model, trend: nil))
    let o = OSCALTests.ns
    #expect(try count(oscal, "//o:metadata/o:party[@type='person'][o:name='Dana']", o) == 1)
    #expect(try count(oscal, "//o:metadata/o:responsible-party[@role-id='access-reviewer']/o:party-uuid", o) == 1)
    let entries = try oscal.nodes(matching: "//o:result/o:assessment-log/o:entry", namespaces: o)
    #expect(entries.count == 1)
    #expect(try count(oscal, "//o:assessment-log/o:entry/o:prop[@name='follow-up-revoked'][@value='3']", o) == 1)
    #expect(try count(oscal, "//o:assessment-log/o:entry/o:logged-by[@role-id='access-reviewer']", o) == 1)
    // The entry sits in April's result.
    #expect(try count(oscal, "//o:result[o:prop[@name='snapshot-id'][@value='\(fx.april.id)']]/o:assessment-log", o) == 1)
  }

  @Test func theDemoImportsItsReviewSheetAndFollowsCarolsRevokeIntoMay() throws {
    let dir = try TestSupport.temporaryDirectory()
    var events: [DemoEvent] = []
    let model = try #require(
      try EvidenceWorkflow.runDemo(
        databasePath: dir.appendingPathComponent("demo.sqlite").path, templates: Self.templates, generatedAt: { Self.generatedAt },
        now: { TestSupport.fixedNow }, event: { events.append($0) }))
    #expect(
      events.contains {
        if case .reviewed(.imported(_, _, let rows, let reviewers, nil)) = $0 { return rows > 0 && reviewers.count == 2 }
        return false
      })
    let review = try #require(model.reviews.first)
    #expect(model.reviews.count == 1 && review.snapshot.capturedAt.dateString == "2024-04-30")
    #expect(
      !review.followUps.isEmpty && review.followUps.allSatisfy { $0.state == .revoked && $0.row.principal?.name == "carol.contractor" })
    #expect(review.review.count(.revoke) == review.followUps.count)
    // A second run finds it imported.
    _ = try EvidenceWorkflow.runDemo(
      databasePath: dir.appendingPathComponent("demo.sqlite").path, templates: Self.templates, generatedAt: { Self.generatedAt },
      now: { TestSupport.fixedNow },
      event: { e in
        if case .reviewNotImported(let why) = e { Issue.record("not imported: \(why)") }
      })
  }
}

/// Stored reviews are covered by the integrity check.
@Suite(.temporaryDirectories) struct ReviewIntegrityTests {
  typealias F = RegisterFixture

  /// Each edit is named twice: the ledger entry of the import no longer matches the rows, and the
  /// rows no longer match the sheet (or its signature).
  @Test func anEditedDecisionOrSheetOrSignatureIsAProblemAndNoEvidenceIsWritten() throws {
    for (edit, ledger, own) in [
      (
        "UPDATE review_rows SET decision = 'keep' WHERE decision = 'revoke'",
        "table review_rows, the rows of review 1: changed since ledger entry",
        "differ from the sheet stored with the review"
      ),
      ("UPDATE reviews SET sheet = sheet || ' '", "table reviews, row 1: changed since ledger entry", "no longer hashes"),
      ("UPDATE reviews SET signature = 'AAAA'", "table reviews, row 1: changed since ledger entry", "signature does not verify"),
    ] {
      let fx = try ReviewFixture()
      try fx.importSheet(try fx.filled(), key: SigningKeys.generate())
      #expect(try fx.store.checkIntegrity().problems.isEmpty)
      // Only someone who drops the append-only triggers can edit a review.
      try fx.store.db.execute("DROP TRIGGER reviews_no_update; DROP TRIGGER review_rows_no_update")
      try fx.store.db.execute(edit)
      let problems = try fx.store.checkIntegrity().problems.map(\.description)
      #expect(problems.count == 2, "\(edit): \(problems)")
      #expect(problems.contains { $0.contains(ledger) }, "\(edit): \(problems)")
      #expect(problems.contains { $0.contains(own) }, "\(edit): \(problems)")
      #expect(throws: WorkflowError.self) { try ReviewPresentationTests.evidence(fx) }
    }
  }

  /// What the sheet does not hold is bound by the ledger alone: the reviewers column, the import
  /// time, a review deleted whole, a review inserted by hand.
  @Test func theLedgerCoversWhatTheSheetCannot() throws {
    for (edit, expected) in [
      ("UPDATE reviews SET reviewers = '[\"Mallory\"]'", "table reviews, row 1: changed since ledger entry"),
      ("UPDATE reviews SET imported_at = '2024-05-01T00:00:00Z'", "table reviews, row 1: changed since ledger entry"),
      (
        "DELETE FROM review_rows; DELETE FROM reviews",
        "records review 1 of snapshot 1, which is no longer in the database"
      ),
      (
        "INSERT INTO reviews SELECT 2, snapshot_id, sheet_sha256 || 'x', sheet, source_name, imported_at, tool_version, reviewers, first_reviewed_on, last_reviewed_on, NULL, NULL, NULL FROM reviews",
        "table reviews, row 2: has no ledger entry"
      ),
    ] {
      let fx = try ReviewFixture()
      try fx.importSheet(try fx.filled())
      #expect(try fx.store.checkIntegrity().problems.isEmpty)
      try fx.store.db.execute(
        "DROP TRIGGER reviews_no_update; DROP TRIGGER review_rows_no_update; DROP TRIGGER reviews_no_delete; DROP TRIGGER review_rows_no_delete"
      )
      try fx.store.db.execute(edit)
      let problems = try fx.store.checkIntegrity().problems.map(\.description)
      #expect(problems.contains { $0.contains(expected) }, "\(edit): \(problems)")
      #expect(throws: WorkflowError.self) { try ReviewPresentationTests.evidence(fx) }
    }
  }
}
