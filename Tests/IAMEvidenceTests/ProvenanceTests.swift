import Foundation
import SQLiteDB
import Testing
import XMLTree

@testable import IAMEvidence

/// Provenance of each export (issue 17): the caller identity file, the operator, what ingest records
/// and the ledger covers, migration 0007, and the tool build.
@Suite(.temporaryDirectories) struct ProvenanceTests {
  static let account = "479265329499"
  static let january = TestSupport.fixture("dev-series/2024-01.json")

  /// The output of `aws sts get-caller-identity --output json` (the CLI indents by four spaces).
  static func callerJSON(account: String = account, userID: String = "AROAEXAMPLEREADER:olive") -> String {
    """
    {
        "UserId": "\(userID)",
        "Account": "\(account)",
        "Arn": "arn:aws:sts::\(account):assumed-role/iam-evidence-reader/olive"
    }

    """
  }

  // MARK: The caller identity file

  @Test func aCallerIdentityIsReadAsTheAWSCLIPrintsIt() throws {
    let bytes = Array(Self.callerJSON().utf8)
    let c = try CallerIdentity(bytes: bytes, source: "c.json")
    #expect(c.account == Self.account && c.userID == "AROAEXAMPLEREADER:olive" && c.source == "c.json")
    #expect(c.arn == "arn:aws:sts::479265329499:assumed-role/iam-evidence-reader/olive")
    #expect(c.sha256 == Digest.sha256(bytes))
    // An IAM user's identity too.
    let user = try CallerIdentity(
      bytes: Array(#"{"UserId":"AIDAX","Account":"111122223333","Arn":"arn:aws:iam::111122223333:user/exporter"}"#.utf8), source: "u.json")
    #expect(user.arn.hasSuffix(":user/exporter"))
  }

  @Test(arguments: [
    ("[1]", "$", "expected a JSON object with UserId, Account and Arn"),
    ("not json", "$", "not valid JSON"),
    (#"{"UserId":"A","Account":"479265329499"}"#, "$", "missing Arn"),
    (#"{"UserId":"A","Account":"47926532949","Arn":"arn:aws:iam::47926532949:user/x"}"#, "$.Account", "not a 12-digit AWS account id"),
    (#"{"UserId":"A","Account":479265329499,"Arn":"arn:aws:iam::479265329499:user/x"}"#, "$.Account", "expected a string"),
    (#"{"UserId":"A","Account":"479265329499","Arn":"arn:aws:iam::111122223333:user/x"}"#, "$.Arn", "names account 111122223333"),
    (#"{"UserId":"A","Account":"479265329499","Arn":"arn:aws:s3:::bucket"}"#, "$.Arn", "not an IAM or STS ARN"),
    (#"{"UserId":"","Account":"479265329499","Arn":"arn:aws:iam::479265329499:user/x"}"#, "$.UserId", "must not be empty"),
    (#"{"UserId":"A","Account":"479265329499","Arn":"arn:aws:iam::479265329499:user/x","Extra":1}"#, "$.Extra", "unknown field \"Extra\""),
    (
      #"{"UserId":"A","Account":"479265329499","Account":"111122223333","Arn":"arn:aws:iam::479265329499:user/x"}"#, "$.Account",
      "duplicate key \"Account\""
    ),
  ])
  func aCallerIdentityOfTheWrongShapeNamesTheFileAndThePath(text: String, path: String, message: String) {
    do {
      _ = try CallerIdentity(bytes: Array(text.utf8), source: "caller.json")
      Issue.record("accepted \(text)")
    } catch {
      #expect(error.file == "caller.json" && error.path == path, "\(error)")
      #expect(error.message.contains(message), "\(error)")
    }
  }

  @Test func aCallerIdentityFileIsABoundedRegularFile() throws {
    let dir = try TestSupport.temporaryDirectory()
    let big = dir.appendingPathComponent("big.json")
    try Data(repeating: 0x20, count: CallerIdentity.maximumBytes + 1).write(to: big)
    for (path, expected) in [
      (big.path, "exceeds 64 KiB"), (dir.path, "not a regular file"), (dir.appendingPathComponent("none.json").path, "cannot read"),
    ] {
      do {
        _ = try CallerIdentity.load(path: path)
        Issue.record("read \(path)")
      } catch {
        #expect("\(error)".hasPrefix(path + ": ") && "\(error)".contains(expected), "\(error)")
      }
    }
  }

  @Test func theOperatorIsANameOnOneLine() throws {
    #expect(try SnapshotProvenance.operatorName("  Olive Operator ") == "Olive Operator")
    for bad in ["", "   ", "Olive\nOperator", "x\u{1B}[2J", String(repeating: "o", count: 257)] {
      #expect(throws: WorkflowError.self) { try SnapshotProvenance.operatorName(bad) }
    }
  }

  // MARK: What ingest records

  @Test func ingestRecordsProvenanceAndTheLedgerCoversIt() throws {
    let (store, _) = try TestSupport.makeStore()
    let given = TestSupport.provenance(account: Self.account)
    let r = try TestSupport.ingest(store, Self.january, capturedAt: "2024-01-31T23:00:00Z", provenance: given)
    #expect(try store.provenance(snapshotIDs: [r.id]) == [r.id: given])
    let entry = try #require(try store.db.query("SELECT entry FROM ledger WHERE kind = 'ingest'").first?.string("entry"))
    #expect(entry.contains("\"snapshot_provenance\":"))
    #expect(try store.checkIntegrity().isOK)

    // Append-only, and an edit by someone who drops the triggers is named.
    #expect(throws: (any Error).self) { try store.db.execute("UPDATE snapshot_provenance SET host = 'elsewhere'") }
    #expect(throws: (any Error).self) { try store.db.execute("DELETE FROM snapshot_provenance") }
    try store.db.execute("DROP TRIGGER snapshot_provenance_no_update; DROP TRIGGER snapshot_provenance_no_delete")
    try store.db.execute("UPDATE snapshot_provenance SET operator = 'Mallory'")
    var problems = try store.checkIntegrity().problems.map(\.description)
    #expect(
      problems.contains { $0.hasPrefix("table snapshot_provenance, the rows of snapshot \(r.id): changed since ledger entry") },
      "\(problems)")
    try store.db.execute("DELETE FROM snapshot_provenance")
    problems = try store.checkIntegrity().problems.map(\.description)
    #expect(
      problems.contains { $0.hasPrefix("table snapshot_provenance, the rows of snapshot \(r.id): changed since ledger entry") },
      "\(problems)")
  }

  @Test func provenanceAddedToASnapshotIngestedWithoutItIsNamed() throws {
    let (store, _) = try TestSupport.makeStore()
    let r = try TestSupport.ingest(store, Self.january)
    #expect(try store.provenance(snapshotIDs: [r.id]).isEmpty)
    #expect(try store.checkIntegrity().isOK)
    try store.db.run(
      "INSERT INTO snapshot_provenance (snapshot_id, operator, host, os_user, tool_name, tool_version, tool_source_sha256) VALUES (?,?,?,?,?,?,?)",
      [r.id, "Mallory", "h", "u", "iam-evidence", "0.1.0", String(repeating: "c", count: 64)])
    let problems = try store.checkIntegrity().problems.map(\.description)
    #expect(problems.contains { $0.contains("does not record snapshot_provenance") }, "\(problems)")
  }

  @Test func aCallerIdentityOfAnotherAccountIsRefusedAndNothingIsWritten() throws {
    let (store, _) = try TestSupport.makeStore()
    let other = TestSupport.provenance(account: "111122223333")
    do {
      _ = try TestSupport.ingest(store, Self.january, provenance: other)
      Issue.record("ingested")
    } catch let error as WorkflowError {
      #expect(error.path == "exports/111122223333.caller.json", "\(error)")
      #expect(
        error.message.hasPrefix(
          "$.Account: the caller identity is of account 111122223333, but 2024-01.json is an export of account 479265329499; nothing of it was written"
        ))
    }
    #expect(try store.count("SELECT count(*) FROM snapshots") == 0)
    #expect(try store.count("SELECT count(*) FROM snapshot_provenance") == 0)
    #expect(try store.count("SELECT count(*) FROM ledger") == 0)
    // The same bytes already ingested: still refused, since the claim is wrong.
    _ = try TestSupport.ingest(store, Self.january)
    let source = IngestSource(name: "2024-01.json", bytes: try TestSupport.bytes(Self.january), modificationTime: nil)
    #expect(throws: WorkflowError.self) {
      try store.workflow.ingest(source, options: IngestOptions(now: TestSupport.fixedNow, provenance: other))
    }
  }

  // MARK: The command

  @Test func ingestTakesTheCallerIdentityAndTheOperator() throws {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("evidence.sqlite").path
    let caller = dir.appendingPathComponent("2024-01-31.caller.json")
    try Data(Self.callerJSON().utf8).write(to: caller)
    let run = try TestSupport.run([
      "ingest", "--db", db, "--caller-identity", caller.path, "--operator", "Olive Operator", Self.january.path,
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let store = try EvidenceStore(readingAt: db)
    let p = try #require(try store.provenance(snapshotIDs: [1])[1])
    let here = HostIdentity.current()
    #expect(p.operatorName == "Olive Operator" && p.host == here.host && p.osUser == here.user)
    #expect(p.callerIdentity?.arn == "arn:aws:sts::479265329499:assumed-role/iam-evidence-reader/olive")
    #expect(p.callerIdentity?.source == caller.path && p.callerIdentity?.sha256 == Digest.sha256(Array(Self.callerJSON().utf8)))
    // The binary the tests run was built from this tree.
    #expect(p.build == ToolBuild.current)
    // Without the options, the host, the OS user and the build are still recorded.
    let plain = try TestSupport.run(["ingest", "--db", db, TestSupport.fixture("dev-series/2024-02.json").path])
    #expect(plain.status == 0, "\(plain.stderr)")
    let q = try #require(try store.provenance(snapshotIDs: [2])[2])
    #expect(q.operatorName == nil && q.callerIdentity == nil && q.host == here.host && q.build == ToolBuild.current)
  }

  @Test func aWrongCallerIdentityOrOperatorWritesNothing() throws {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("evidence.sqlite")
    let caller = dir.appendingPathComponent("c.json")
    try Data(#"{"UserId":"A","Account":"479265329499"}"#.utf8).write(to: caller)
    var run = try TestSupport.run(["ingest", "--db", db.path, "--caller-identity", caller.path, Self.january.path])
    #expect(run.status == 2)
    #expect(run.stderr == "error: \(caller.path): $: missing Arn: not the output of aws sts get-caller-identity\n", "\(run.stderr)")
    run = try TestSupport.run(["ingest", "--db", db.path, "--operator", " ", Self.january.path])
    #expect(run.status == 2 && run.stderr.contains("--operator must name who runs"), "\(run.stderr)")
    try Data(Self.callerJSON().utf8).write(to: caller)
    run = try TestSupport.run(["ingest", "--db", db.path, "--account", "111122223333", "--caller-identity", caller.path, Self.january.path])
    #expect(run.status == 2 && run.stderr.contains("not the --account 111122223333"), "\(run.stderr)")
    #expect(!FileManager.default.fileExists(atPath: db.path))
  }

  /// A folder spanning two accounts with one caller identity: the matching export is ingested, the
  /// other refused naming both files; `*.caller.json` kept beside the exports is not a snapshot.
  @Test func aFolderOfAnotherAccountsExportIsRefusedAtThatFile() throws {
    let dir = try TestSupport.temporaryDirectory()
    let exports = dir.appendingPathComponent("exports")
    try FileManager.default.createDirectory(at: exports, withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: Self.january, to: exports.appendingPathComponent("a-2024-01-31.json"))
    try FileManager.default.copyItem(
      at: TestSupport.fixture("dev-small.json"), to: exports.appendingPathComponent("b-2024-01-31.json"))
    let caller = exports.appendingPathComponent("a-2024-01-31.caller.json")
    try Data(Self.callerJSON().utf8).write(to: caller)
    let db = dir.appendingPathComponent("evidence.sqlite").path
    let run = try TestSupport.run(["ingest", "--db", db, "--caller-identity", caller.path, exports.path])
    #expect(run.status == 2)
    #expect(run.stdout.hasPrefix("snapshot 1  account 479265329499"), "\(run.stdout)")
    #expect(
      run.stderr.hasPrefix(
        "error: \(caller.path): $.Account: the caller identity is of account 479265329499, but \(exports.path)/b-2024-01-31.json is an export of account 239588431284; nothing of it was written"
      ), "\(run.stderr)")
    let store = try EvidenceStore(readingAt: db)
    #expect(try store.count("SELECT count(*) FROM snapshots") == 1)
    #expect(try store.checkIntegrity().isOK)
  }

  // MARK: Migration 0007

  /// A database written before 0007 existed, with 0008-reviews (and the later 0009) applied and a
  /// review stored (made here by undoing 0007: the ledger of before, no review entry, no provenance
  /// table): reading commands refuse it until migrated; `migrate` applies 0007 after them and records
  /// the review in the ledger, marked backfilled.
  @Test func migration0007IsAppliedToADatabaseThatAlreadyHas0008() throws {
    let fx = try ReviewFixture()
    try fx.importSheet(try fx.filled())
    let db = fx.store.path
    try fx.store.db.execute(
      """
      DROP TRIGGER ledger_no_update; DROP TRIGGER ledger_no_delete;
      DELETE FROM ledger WHERE kind = 'review';
      CREATE TABLE ledger_before (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('ingest', 'assessment')),
        snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
        assessment_id INTEGER REFERENCES assessments(id),
        recorded_at TEXT NOT NULL,
        backfilled INTEGER NOT NULL,
        entry TEXT NOT NULL,
        digest TEXT NOT NULL,
        head TEXT NOT NULL
      );
      INSERT INTO ledger_before SELECT id, kind, snapshot_id, assessment_id, recorded_at, backfilled, entry, digest, head FROM ledger;
      DROP TABLE ledger;
      ALTER TABLE ledger_before RENAME TO ledger;
      CREATE INDEX ledger_snapshot ON ledger(snapshot_id);
      CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
      CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
      DROP TABLE snapshot_provenance;
      DELETE FROM schema_migrations WHERE name = '0007-provenance';
      """)
    let names = try fx.store.db.query("SELECT name FROM schema_migrations ORDER BY rowid").map { try $0.string("name") }
    #expect(names.suffix(2) == ["0008-reviews", "0009-id-list-runs-and-bases"] && !names.contains("0007-provenance"))
    let refused = try TestSupport.run(["check-db", "--db", db])
    #expect(refused.status == 2 && refused.stderr.contains("schema migration \"0007-provenance\" not applied"), "\(refused.stderr)")

    let migrate = try TestSupport.run(["migrate", "--db", db])
    #expect(migrate.stdout == "\(db): applied schema migration(s) 0007-provenance\n", "\(migrate.stdout)\(migrate.stderr)")
    let raw = try SQLiteConnection(path: db, mode: .readOnly)
    let after = try raw.query("SELECT name FROM schema_migrations ORDER BY rowid").map { try $0.string("name") }
    #expect(after.suffix(3) == ["0008-reviews", "0009-id-list-runs-and-bases", "0007-provenance"])
    let review = try #require(try raw.query("SELECT kind, review_id, backfilled FROM ledger ORDER BY id DESC").first)
    #expect(try review.string("kind") == "review" && review.int("review_id") == 1 && review.bool("backfilled"))
    let check = try TestSupport.run(["check-db", "--db", db])
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    #expect(check.stdout.contains("5 ledger entries (1 backfilled by a migration)"), "\(check.stdout)")
    // The next ingest records its provenance in the new table and extends the chain.
    let next = try TestSupport.run(["ingest", "--db", db, "--operator", "Olive Operator", Self.january.path])
    #expect(next.status == 0, "\(next.stderr)")
    #expect(try EvidenceStore(readingAt: db).checkIntegrity().isOK)
  }

  // MARK: The tool build

  /// `ToolBuild.current.sourceSHA256` is what README says: the SHA-256 of the `sha256sum` listing of
  /// Package.swift and the regular files under Plugins/, Sources/ and Templates/, sorted bytewise by
  /// path, recomputed here from the tree the tests run in (so it fails when the sources changed after
  /// the build: run `swift test`, not `--skip-build`, after an edit).
  @Test func theToolBuildIsTheHashOfTheSourceTree() throws {
    let root = TestSupport.packageRoot
    var files = ["Package.swift"]
    for folder in ["Plugins", "Sources", "Templates"] {
      let base = root.appendingPathComponent(folder)
      let walker = try #require(FileManager.default.enumerator(atPath: base.path))
      for case let relative as String in walker {
        let attributes = try FileManager.default.attributesOfItem(atPath: base.appendingPathComponent(relative).path)
        if attributes[.type] as? FileAttributeType == .typeRegular { files.append(folder + "/" + relative) }
      }
    }
    files.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    var listing = ""
    for file in files { listing += "\(Digest.sha256(try TestSupport.bytes(root.appendingPathComponent(file))))  \(file)\n" }
    #expect(ToolBuild.current.sourceSHA256 == Digest.sha256(Array(listing.utf8)))
    #expect(ToolBuild.current.name == "iam-evidence" && ToolBuild.current.version == IAMEvidenceVersion.current)
    #expect(files.contains("Sources/SourceDigest/main.swift") && files.contains("Templates/report.css"))
  }
}

/// What the documents say of themselves: the document id, scope and limitations (one text in every
/// document), the provenance of each snapshot, the sign-off, the printed page.
@Suite(.temporaryDirectories) struct DocumentTests {
  static let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))

  static func html(_ model: EvidenceModel) throws -> String {
    String(decoding: try HTMLReport.render(model, templates: templates), as: UTF8.self)
  }

  @Test func theDocumentIDIsDerivedFromWhatTheEvidenceStates() throws {
    let model = try EvidenceXMLTests.quarter()
    #expect(model.documentID.wholeMatch(of: /IAMEV-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}/) != nil, "\(model.documentID)")
    #expect(model.documentID.replacingOccurrences(of: "-", with: "").dropFirst(5) == model.evidenceDigest.uppercased().prefix(16))
    // The same evidence gives the same id; another time, build or chain head another.
    #expect(try EvidenceXMLTests.quarter().documentID == model.documentID)
    var later = model
    later.generatedAt = Timestamp(parsing: "2099-01-01T00:00:00Z")!
    var build = model
    build.toolBuild = ToolBuild(name: "iam-evidence", version: "0.1.0", sourceSHA256: String(repeating: "c", count: 64))
    var chain = model
    chain.ledger.snapshots[model.current.id]?.head = String(repeating: "d", count: 64)
    #expect(Set([model, later, build, chain].map(\.documentID)).count == 4)
  }

  @Test func everyDocumentStatesTheSameScopeAndLimitations() throws {
    let model = try EvidenceXMLTests.quarter()
    let scope = model.scopeStatement
    #expect(scope.accounts == ["479265329499"] && scope.toolBuild == TestSupport.fixedBuild)
    #expect(scope.lines.count == 6 && scope.lines[2].hasPrefix("Not examined: the root user"))
    for item in ["IAM Identity Center", "KMS key policies and grants", "service control policies (SCPs)", "resource-based policies", "MFA"]
    {
      #expect(ScopeStatement.notExamined.contains { $0.contains(item) }, "\(item)")
    }
    // The report: the section, and the brief statement on page 1.
    let html = try Self.html(model)
    #expect(html.contains("<section id=\"scope\" class=\"major\">"))
    for item in ScopeStatement.notExamined + [ScopeStatement.examined, ScopeStatement.reliance] {
      #expect(html.contains(item), "\(item)")
    }
    #expect(html.contains("<div class=\"cover-scope\" data-slot=\"cover-scope\"><p class=\"cover-scope-text\"><strong>Scope: </strong>"))
    #expect(ScopeStatement.notExaminedInBrief.first == "the root user" && ScopeStatement.notExaminedInBrief.count == 6)
    #expect(html.contains("Not examined: " + ScopeStatement.notExaminedInBrief.joined(separator: "; ") + " (see Scope and limitations)."))
    // evidence.xml.
    let xml = try XMLDocument(bytes: try EvidenceXML.render(model, templates: EvidenceXMLTests.templates))
    let e = ["e": EvidenceXML.namespace]
    #expect(
      try xml.nodes(matching: "/e:evidence/e:limitations/e:notExamined", namespaces: e).map(\.textContent) == ScopeStatement.notExamined)
    #expect(try xml.firstNode(matching: "/e:evidence/e:limitations/e:examined", namespaces: e)?.textContent == ScopeStatement.examined)
    #expect(try xml.firstNode(matching: "/e:evidence/e:limitations/e:actionCatalog", namespaces: e)?.textContent == scope.actionCatalog)
    // OSCAL: the metadata's remarks, one paragraph per line.
    let oscal = try OSCALTests.validated(OSCALAssessmentResults.render(model, trend: nil))
    let remarks = try oscal.nodes(matching: "/o:assessment-results/o:metadata/o:remarks/o:p", namespaces: OSCALTests.ns).map(\.textContent)
    #expect(remarks == ["Scope and limitations."] + scope.lines)
  }

  @Test func theReportCarriesTheDocumentIDOnEveryPageTheProvenanceAndTheSignOff() throws {
    let model = try EvidenceXMLTests.quarter()
    let html = try Self.html(model)
    let id = model.documentID
    #expect(html.contains("<span class=\"rh-item rh-document\">Document \(id)</span>"))
    #expect(html.contains("@bottom-left { content: \"Document \(id)\"") && html.contains("counter(page) \" of \" counter(pages)"))
    #expect(html.contains("<p class=\"document-id\" data-slot=\"document-id\">Document <strong class=\"document-id-value\">\(id)</strong>"))
    #expect(html.contains("Document \(id). Generated by iam-evidence 0.1.0"))
    // Page 1: every control's verdict, now and over the period.
    #expect(html.contains("<table class=\"data cover-verdict-table\"><caption>Verdicts</caption>"))
    for a in model.controlVerdicts { #expect(html.contains("<span class=\"control-id\">\(a.control.id)</span>")) }
    // The chain of custody: January without an operator, February and March with one and the caller.
    #expect(html.contains("<td class=\"muted\">not given (no --operator)</td>"))
    #expect(html.contains("<td>Olive Operator</td>"))
    #expect(html.contains("<code class=\"wrap\">arn:aws:sts::479265329499:assumed-role/iam-evidence-reader/olive</code>"))
    #expect(html.contains("<td>host audit-host, OS user auditor</td>"))
    // The sign-off: prepared by the operator of the current snapshot's ingest.
    #expect(html.contains("<dt>Prepared by</dt><dd>Olive Operator</dd>"))
    var blank = model
    blank.provenance = [:]
    let unsigned = try Self.html(blank)
    #expect(unsigned.contains("<dt>Prepared by</dt><dd><span class=\"sign-line\"></span></dd>"))
    #expect(unsigned.contains("prepared by is left to be filled in by hand"))
    #expect(unsigned.contains("not recorded: ingested without provenance"))
  }

  @Test func evidenceXMLAndOSCALCarryTheProvenanceAndTheDocumentID() throws {
    let model = try EvidenceXMLTests.quarter()
    let xml = try XMLDocument(bytes: try EvidenceXML.render(model, templates: EvidenceXMLTests.templates))
    let e = ["e": EvidenceXML.namespace]
    #expect(try xml.firstNode(matching: "/e:evidence", namespaces: e)?.attribute("documentId") == model.documentID)
    #expect(
      try xml.firstNode(matching: "/e:evidence/e:tool", namespaces: e)?.attribute("sourceSha256") == TestSupport.fixedBuild.sourceSHA256)
    let provenance = try xml.nodes(matching: "/e:evidence/e:scope/e:snapshot/e:provenance", namespaces: e)
    #expect(provenance.count == 3)
    #expect(provenance.map { $0.attribute("operator") } == [nil, "Olive Operator", "Olive Operator"])
    #expect(provenance.allSatisfy { $0.attribute("host") == "audit-host" && $0.attribute("osUser") == "auditor" })
    #expect(try xml.nodes(matching: "//e:snapshot/e:provenance/e:callerIdentity[@account='479265329499']", namespaces: e).count == 2)

    let oscal = try OSCALTests.validated(OSCALAssessmentResults.render(model, trend: nil))
    let o = OSCALTests.ns
    let documentID = try #require(try oscal.firstNode(matching: "/o:assessment-results/o:metadata/o:document-id", namespaces: o))
    #expect(documentID.textContent == model.documentID && documentID.attribute("scheme") == OSCALAssessmentResults.documentIDScheme)
    #expect(try oscal.nodes(matching: "//o:metadata/o:party[@type='person'][o:name='Olive Operator']", namespaces: o).count == 1)
    #expect(try oscal.nodes(matching: "//o:metadata/o:responsible-party[@role-id='operator']/o:party-uuid", namespaces: o).count == 1)
    #expect(
      try oscal.nodes(
        matching:
          "//o:back-matter/o:resource/o:prop[@name='caller-arn'][@value='arn:aws:sts::479265329499:assumed-role/iam-evidence-reader/olive']",
        namespaces: o
      ).count == 2)
    #expect(
      try oscal.nodes(matching: "//o:back-matter/o:resource/o:prop[@name='ingest-host'][@value='audit-host']", namespaces: o).count == 3)
  }

  /// End to end: ingest with --caller-identity and --operator, review export, fill, import, package.
  /// README.txt states the same scope, the provenance, the review and its follow-up, and one document
  /// id shared with report.html, evidence.xml and assessment-results.xml.
  @Test func thePackageStatesProvenanceReviewScopeAndOneDocumentID() throws {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("evidence.sqlite").path
    let caller = dir.appendingPathComponent("caller.json")
    try Data(ProvenanceTests.callerJSON().utf8).write(to: caller)
    for (month, day) in [("2024-01", "31"), ("2024-02", "29"), ("2024-03", "31")] {
      let run = try TestSupport.run([
        "ingest", "--db", db, "--captured-at", "\(month)-\(day)T23:00:00Z", "--caller-identity", caller.path, "--operator",
        "Olive Operator", TestSupport.fixture("dev-series/\(month).json").path,
      ])
      #expect(run.status == 0, "\(run.stderr)")
    }
    let sheet = dir.appendingPathComponent("review.csv")
    let export = try TestSupport.run(["review", "export", "--db", db, "--snapshot", "latest", "--out", sheet.path])
    #expect(export.status == 0, "\(export.stderr)")
    let records = try CSVReader.records(try String(contentsOf: sheet, encoding: .utf8), file: "x").map { $0.map(\.value) }
    let filled = CSV.table(
      header: records[0], rows: records.dropFirst().map { Array($0.prefix(13)) + ["keep", "Rita Reviewer", "2024-04-02", "", ""] })
    try Data(filled.utf8).write(to: sheet)
    let imported = try TestSupport.run(["review", "import", "--db", db, sheet.path])
    #expect(imported.status == 0, "\(imported.stderr)")
    let zip = dir.appendingPathComponent("q1.zip")
    let package = try TestSupport.run([
      "package", "--db", db, "--from", "2024-01-01", "--to", "2024-03-31", "--generated-at", "2099-04-02T09:00:00Z", "--out", zip.path,
    ])
    #expect(package.status == 0, "\(package.stderr)")
    let members = try PackageSupport.zipMembers(zip)
    func member(_ name: String) throws -> String {
      String(decoding: try #require(members.first { $0.name == name }).bytes, as: UTF8.self)
    }
    let readme = try member("README.txt")
    let store = try EvidenceStore(readingAt: db)
    let model = try store.workflow.evidence(
      scope: .period(from: Timestamp(parsing: "2024-01-01")!, to: Timestamp(parsing: "2024-03-31T23:59:59Z")!), account: nil,
      generatedAt: Timestamp(parsing: "2099-04-02T09:00:00Z")!)
    #expect(readme.contains("\nScope and limitations\n---------------------\n" + model.scopeStatement.lines.joined(separator: "\n") + "\n"))
    #expect(readme.contains("Document \(model.documentID) (report.html, evidence.xml and assessment-results.xml carry the same id"))
    #expect(try member("report.html").contains("Document \(model.documentID)"))
    #expect(try member("evidence.xml").contains("documentId=\"\(model.documentID)\""))
    #expect(try member("assessment-results.xml").contains(">\(model.documentID)</document-id>"))
    #expect(
      readme.contains(
        "snapshot 3 (2024-03-31): exported with the credentials of arn:aws:sts::479265329499:assumed-role/iam-evidence-reader/olive (caller identity \(caller.path), SHA-256 \(Digest.sha256(Array(ProvenanceTests.callerJSON().utf8)))); ingested at"
      ), "\(readme)")
    #expect(
      readme.contains(
        "by operator Olive Operator (OS user \(HostIdentity.current().user) on host \(HostIdentity.current().host)) with \(ToolBuild.current.description)"
      ))
    #expect(
      readme.contains(
        "\nAccess reviews\n--------------\n  review 1 of snapshot 3 (2024-03-31): reviewed by Rita Reviewer from 2024-04-02 to 2024-04-02;"),
      "\(readme)")
    #expect(readme.contains("Sign-off of snapshot 3: prepared by Olive Operator; reviewed by Rita Reviewer on 2024-04-02 (review 1)."))
  }

  /// A snapshot with nothing to review (no privileged identity, no open finding) is exported with one
  /// row to sign and imported as a completed review with zero items, which every document states.
  @Test func aSnapshotWithNothingToReviewIsReviewedWithZeroItems() throws {
    typealias F = RegisterFixture
    let register = try RegisterFixture()
    let alice = F.user("alice")
    let s = try register.snapshot("2024-06-30T23:00:00Z", [alice])
    try register.assess(s, [F.result("admin-access-identity", .pass, alice)])
    let (record, items) = try register.store.workflow.reviewSheet(snapshot: "latest", account: nil, capabilities: F.map)
    #expect(items.isEmpty)
    let csv = ReviewSheet.csv(snapshot: record, items: items)
    let rows = try CSVReader.records(csv, file: "x").map { $0.map(\.value) }
    #expect(rows.count == 2 && rows[1][4] == "none" && rows[1][9] == "nothing to review")
    func signed(_ answer: [String], extra: [[String]] = []) -> String {
      CSV.table(header: rows[0], rows: [Array(rows[1].prefix(13)) + answer] + extra)
    }
    func refused(_ text: String, _ message: String) {
      let error = #expect(throws: (any Error).self) {
        try register.store.workflow.importReview(
          Array(text.utf8), file: "review.csv", signingKey: nil, now: TestSupport.fixedNow, capabilities: F.map)
      }
      #expect(error.map { "\($0)".contains(message) } == true, "\(String(describing: error))")
    }
    refused(signed(["keep", "Dana", "2024-07-01", "", ""]), "row none takes no decision")
    refused(signed(["", "", "2024-07-01", "", ""]), "row none names no reviewer")
    refused(signed(["", "Dana", "2024-06-01", "", ""]), "before the snapshot was captured")
    refused(
      signed(["", "Dana", "2024-07-01", "", ""], extra: [Array(rows[1].prefix(4)) + ["x"] + Array(repeating: "", count: 13)]),
      "must be the sheet's only row")
    let outcome = try register.store.workflow.importReview(
      Array(signed(["", "Dana", "2024-07-01", "nothing held", ""]).utf8), file: "review.csv", signingKey: nil, now: TestSupport.fixedNow,
      capabilities: F.map)
    #expect(outcome == .imported(id: 1, snapshotID: s.id, rows: 0, reviewers: ["Dana"], signer: nil))
    let stored = try #require(try register.store.reviews(snapshotIDs: [s.id]).first)
    #expect(stored.isNothingToReview && stored.reviewers == ["Dana"] && stored.firstReviewedOn == "2024-07-01")
    #expect(try register.store.checkIntegrity().isOK)
    let model = try register.store.workflow.evidence(
      scope: .snapshot("latest"), account: nil, generatedAt: TestSupport.fixedNow, capabilities: F.map)
    #expect(model.currentReview?.review.id == 1)
    #expect(
      try Self.html(model).contains(
        "Nothing to review: the snapshot had no privileged identity and no open finding, and Dana confirmed it on 2024-07-01."))
    let xml = try XMLDocument(bytes: try EvidenceXML.render(model, templates: EvidenceXMLTests.templates))
    #expect(
      try xml.nodes(matching: "//e:review[@nothingToReview='true'][@currentReviewed]", namespaces: ["e": EvidenceXML.namespace]).isEmpty)
    #expect(
      try xml.nodes(
        matching: "//e:reviews[@currentReviewed='true']/e:review[@nothingToReview='true']", namespaces: ["e": EvidenceXML.namespace]
      ).count == 1)
    let oscal = try OSCALTests.validated(OSCALAssessmentResults.render(model, trend: nil))
    #expect(
      try oscal.nodes(matching: "//o:assessment-log/o:entry/o:description/o:p", namespaces: OSCALTests.ns).contains {
        $0.textContent.contains("nothing to review")
      })
    // The sheet of a snapshot that has items cannot say there is nothing.
    let fx = try ReviewFixture()
    let april = try CSVReader.records(try fx.exported(), file: "x").map { $0.map(\.value) }
    let lie = CSV.table(
      header: april[0], rows: [Array(april[1].prefix(4)) + ["none", "none", "", "", "", "", "", "", "", "", "Dana", "2024-05-06", "", ""]])
    do {
      try fx.importSheet(lie)
      Issue.record("imported")
    } catch {
      #expect("\(error)".contains("says there is nothing to review, but snapshot \(fx.april.id) has 5 item(s) to review"), "\(error)")
    }
  }

  /// Printed with Chromium (131 and later print CSS page-margin boxes), page 1 carries the title, the
  /// verdicts, the scope and the document id, and every page its number. Runs where chromium and
  /// pdftotext are installed.
  @Test(
    .enabled(
      if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/pdftotext")))
  func thePrintedFirstPageCarriesTitleVerdictsScopeAndNumbers() throws {
    let model = try EvidenceXMLTests.quarter()
    let dir = try TestSupport.temporaryDirectory()
    let html = dir.appendingPathComponent("report.html")
    try Data(try HTMLReport.render(model, templates: Self.templates)).write(to: html)
    let pdf = dir.appendingPathComponent("report.pdf")
    func run(_ tool: String, _ arguments: [String]) throws -> String {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: tool)
      p.arguments = arguments
      let out = Pipe()
      p.standardOutput = out
      p.standardError = FileHandle.nullDevice
      p.environment = ["HOME": dir.path, "PATH": "/usr/bin:/bin"]
      try p.run()
      let data = out.fileHandleForReading.readDataToEndOfFile()
      p.waitUntilExit()
      return String(decoding: data, as: UTF8.self)
    }
    _ = try run(
      "/usr/bin/chromium",
      [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", "--user-data-dir=\(dir.path)/chromium",
        "--print-to-pdf=\(pdf.path)", html.absoluteString,
      ])
    let first = try run("/usr/bin/pdftotext", ["-f", "1", "-l", "1", "-layout", pdf.path, "-"])
    #expect(first.contains("Privileged access rights — audit evidence"), "\(first)")
    #expect(first.contains("Verdicts") && first.contains("A.8.2 Privileged access rights") && first.contains("A.5.15 Access control"))
    #expect(first.contains("Not effective"))
    #expect(first.contains("Scope: account 479265329499"))
    #expect(first.contains("Document \(model.documentID)"))
    #expect(first.contains("Page 1 of "))
    let all = try run("/usr/bin/pdftotext", ["-layout", pdf.path, "-"])
    let pages = all.filter { $0 == "\u{0C}" }.count
    #expect(pages > 3 && all.contains("Page 2 of \(pages)") && all.contains("Page \(pages) of \(pages)"), "\(pages) pages")
  }
}

/// The demo ingests with provenance, and its quarter package shows it with the review and the scope.
@Suite(.temporaryDirectories) struct DemoPackageTests {
  @Test func theDemoQuarterPackageShowsTheReviewTheProvenanceAndTheScope() throws {
    let dir = try TestSupport.temporaryDirectory()
    let host = HostIdentity(host: "demo-host", user: "demo-user")
    var wrote: [URL] = []
    let model = try #require(
      try EvidenceWorkflow.runDemo(
        databasePath: dir.appendingPathComponent("demo.sqlite").path, templates: DocumentTests.templates,
        generatedAt: { Timestamp(parsing: "2024-07-02T00:00:00Z")! }, now: { TestSupport.fixedNow }, host: host,
        event: { if case .wrote(let url) = $0 { wrote.append(url) } }))
    let zip = dir.appendingPathComponent("quarter.zip")
    #expect(wrote.contains(zip))
    // Every snapshot of the demo account carries the demo operator and the caller identity saved beside its export.
    for s in model.snapshots {
      let p = try #require(model.provenance[s.id])
      #expect(p.operatorName == DemoData.operatorName && p.host == "demo-host" && p.osUser == "demo-user")
      #expect(p.callerIdentity?.account == DemoData.account && p.callerIdentity?.source == "demo/\(s.capturedAt.dateString).caller.json")
    }
    let members = Dictionary(uniqueKeysWithValues: try PackageSupport.zipMembers(zip).map { ($0.name, $0.bytes) })
    let readme = String(decoding: try #require(members["README.txt"]), as: UTF8.self)
    #expect(readme.contains("\nScope and limitations\n---------------------\nAccounts covered: 111122223333.\n"))
    #expect(
      readme.contains(
        "  snapshot 2 (2024-04-30): exported with the credentials of arn:aws:sts::111122223333:assumed-role/iam-evidence-reader/dana.demo (caller identity demo/2024-04-30.caller.json, SHA-256 "
      ), "\(readme)")
    #expect(readme.contains("by operator Dana Demo (OS user demo-user on host demo-host)"))
    #expect(readme.contains("  review 1 of snapshot 2 (2024-04-30): reviewed by Dana Whitfield, Sam Okafor from 2024-05-06 to 2024-05-07;"))
    #expect(
      readme.contains(
        "follow-up of user carol.contractor holds kms-full-access, revoke by Dana Whitfield on 2024-05-06, ticket SEC-1042: revoked in snapshot 3 (2024-05-31)"
      ))
    #expect(readme.contains("No completed review of the period's last snapshot (snapshot 3)."))
    #expect(readme.contains("Sign-off of snapshot 3: prepared by Dana Demo; reviewed by (no completed review: to be signed by hand)."))
    let report = String(decoding: try #require(members["report.html"]), as: UTF8.self)
    #expect(report.contains("<section id=\"scope\" class=\"major\">") && report.contains("<dt>Prepared by</dt><dd>Dana Demo</dd>"))
    #expect(report.contains("<code class=\"wrap\">arn:aws:sts::111122223333:assumed-role/iam-evidence-reader/dana.demo</code>"))
    #expect(report.contains("Document \(model.documentID)"))
    _ = try OSCALTests.validated(try #require(members["assessment-results.xml"]))

    // Then the demo organisation's report and package, by its scope file, showing the account never exported.
    let organisation = dir.appendingPathComponent("organisation")
    #expect(wrote.contains(organisation.appendingPathComponent("report.html")))
    let orgZip = dir.appendingPathComponent("organisation-quarter.zip")
    #expect(wrote.last == orgZip)
    let org = Dictionary(uniqueKeysWithValues: try PackageSupport.zipMembers(orgZip).map { ($0.name, $0.bytes) })
    let orgReadme = String(decoding: try #require(org["README.txt"]), as: UTF8.self)
    #expect(
      orgReadme.contains(
        "Coverage gaps (in scope, no snapshot in the period: no evidence on every control):\n  777788889999 (analytics-sandbox), owner data team"
      ))
    // The scope file is copied beside the database, and the evidence names that copy.
    let scopeCopy = dir.appendingPathComponent("scope.json")
    #expect(wrote.contains(scopeCopy))
    #expect(try Data(contentsOf: scopeCopy) == (try Data(contentsOf: try DemoData.scopeURL())))
    #expect(orgReadme.contains("Organisation: 3 account(s) in scope (scope file \(scopeCopy.path)"))
    #expect(!orgReadme.contains(".build"))
    let orgReport = String(decoding: try #require(org["report.html"]), as: UTF8.self)
    #expect(orgReport.contains("No evidence — coverage gap, no snapshot in the period</strong> (1): 777788889999 (analytics-sandbox)."))
    #expect(try Data(contentsOf: organisation.appendingPathComponent("report.html")) == Data(orgReport.utf8))
    #expect(org["accounts/444455556666/drift.json"] != nil && org["accounts.csv"] != nil)
    _ = try OSCALTests.validated(try #require(org["assessment-results.xml"]))
  }
}
