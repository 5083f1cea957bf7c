import Foundation

/// What the demo did, step by step (the CLI prints each as it comes).
public enum DemoEvent {
  /// A demo snapshot was ingested and assessed.
  case ingested(name: String, record: SnapshotRecord, assessment: AssessmentSummary)
  /// A demo snapshot was in the database already.
  case alreadyIngested(name: String, record: SnapshotRecord)
  /// A report file was written.
  case wrote(URL)
  /// The coverage of the demo organisation's accounts over the report's period, by its scope file.
  case accounts(AccountCoverage)
  /// The demo's filled review sheet (``DemoData/reviewSheetURL()``) was imported, or had been.
  case reviewed(ReviewImportOutcome)
  /// The demo's review sheet could not be imported into this database (one whose snapshot ids differ
  /// from a fresh demo's, or data that changed since the sheet was written): why.
  case reviewNotImported(String)
}

extension EvidenceWorkflow {
  /// The main job end to end on the bundled demo account: ingests and assesses its snapshots into
  /// the database at `databasePath` (created, with its folder), then writes the report and evidence of
  /// the whole period into the folder `report` beside it, and the period's package as `quarter.zip`. Returns the evidence reported (nil when the database holds no
  /// snapshot). `templates` are the located templates
  /// (``TemplateSet/locate(explicit:executable:)``).
  ///
  /// The demo organisation's other accounts are ingested too (``DemoData/organisationSnapshots()``),
  /// and the organisation's report and package over the same period, by the demo scope file, are
  /// written beside the demo account's (`organisation/`, `organisation-quarter.zip`); their coverage
  /// is the last event: one account of the scope was never exported, a coverage gap. The returned
  /// evidence stays that of the demo account (``DemoData/account``).
  ///
  /// Every snapshot is ingested with its provenance: the demo operator (``DemoData/operatorName``),
  /// the caller identity saved beside its export (``DemoData/callerIdentityURL(of:)``), and `host`
  /// (the machine running the demo, injected so that tests are deterministic).
  public static func runDemo(
    databasePath: String, templates: TemplateSet, generatedAt: () throws -> Timestamp, now: () -> Timestamp,
    host: HostIdentity = .current(), event: (DemoEvent) -> Void
  ) throws -> EvidenceModel? {
    let folder = (databasePath as NSString).deletingLastPathComponent.isEmpty ? "." : (databasePath as NSString).deletingLastPathComponent
    do {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    } catch {
      throw WorkflowError(path: folder, message: "cannot create the folder: \(fileErrorReason(error, path: folder))")
    }
    let workflow = EvidenceWorkflow(store: try EvidenceStore(path: databasePath, create: true, now: now()))
    for (url, capturedAt) in try DemoData.snapshots() + DemoData.organisationSnapshots() {
      let data: Data
      do { data = try Data(contentsOf: url) } catch {
        throw WorkflowError(path: url.path, message: "cannot read: \(fileErrorReason(error, path: url.path))")
      }
      let source = IngestSource(name: "demo/" + DemoData.relativeName(url), bytes: [UInt8](data), modificationTime: nil)
      let callerURL = DemoData.callerIdentityURL(of: url)
      let caller = try CallerIdentity(
        bytes: try DemoData.read(callerURL), source: "demo/" + DemoData.relativeName(callerURL))
      let provenance = SnapshotProvenance.here(operatorName: DemoData.operatorName, callerIdentity: caller, host: host)
      switch try workflow.ingestAndAssess(
        source, options: IngestOptions(capturedAt: capturedAt, label: "demo", now: now(), provenance: provenance))
      {
      case (.ingested(let r), let assessment?), (.alreadyIngested(let r), let assessment?):
        event(.ingested(name: source.name, record: r, assessment: assessment))
      case (.ingested(let r), nil), (.alreadyIngested(let r), nil):
        event(.alreadyIngested(name: source.name, record: r))
      }
    }
    // A reviewer's answers to the April review sheet (carol.contractor revoked, gone in May).
    do {
      let url = try DemoData.reviewSheetURL()
      let bytes = try Data(contentsOf: url)
      event(.reviewed(try workflow.importReview([UInt8](bytes), file: "demo/" + url.lastPathComponent, signingKey: nil, now: now())))
    } catch {
      event(.reviewNotImported("\(error)"))
    }
    // The main job's last step: the period's report and evidence.
    let records = try workflow.store.snapshots(account: DemoData.account)
    guard let first = records.first, let last = records.last else { return nil }
    let model = try workflow.evidence(
      scope: .period(from: first.capturedAt, to: last.capturedAt), account: DemoData.account, generatedAt: try generatedAt())
    // The report folder belongs to the report (it is replaced whole), so not the database's folder.
    let report = URL(fileURLWithPath: folder).appendingPathComponent("report")
    for url in try ReportRenderer.write(model, templates: templates, to: report) { event(.wrote(url)) }
    // And the quarter's handoff package (unsigned; the bundled exports are not files it can include,
    // and its README.txt says so): the review, the provenance and the scope as an auditor gets them.
    let zip = URL(fileURLWithPath: folder).appendingPathComponent("quarter.zip")
    _ = try workflow.package(
      PackageRequest(
        account: DemoData.account, from: first.capturedAt, to: last.capturedAt, register: nil, includeSnapshots: true, signingKey: nil,
        templates: templates, generatedAt: model.generatedAt, cadenceDays: 31),
      to: zip, now: now)
    event(.wrote(zip))
    // The demo organisation over the same quarter, by its scope file: one report and one package for
    // its accounts, whose first page names the account never exported (a coverage gap). The scope file
    // is copied beside the database first, so that the evidence names it there (not inside the build
    // folder) and the commands the demo suggests can use it.
    let scopeCopy = URL(fileURLWithPath: folder).appendingPathComponent("scope.json")
    do {
      try Data(contentsOf: try DemoData.scopeURL()).write(to: scopeCopy, options: .atomic)
    } catch {
      throw WorkflowError(path: scopeCopy.path, message: "cannot write: \(fileErrorReason(error, path: scopeCopy.path))")
    }
    event(.wrote(scopeCopy))
    let scope = try AccountScope.load(path: scopeCopy.path)
    let organisation = try workflow.organisationEvidence(
      accounts: .all, scope: scope, from: first.capturedAt, to: last.capturedAt, generatedAt: model.generatedAt)
    let organisationReport = URL(fileURLWithPath: folder).appendingPathComponent("organisation")
    for url in try OrganisationReportRenderer.write(organisation, templates: templates, to: organisationReport) { event(.wrote(url)) }
    let organisationZip = URL(fileURLWithPath: folder).appendingPathComponent("organisation-quarter.zip")
    _ = try workflow.organisationPackage(
      OrganisationPackageRequest(
        accounts: .all, scope: scope, from: first.capturedAt, to: last.capturedAt, register: nil, includeSnapshots: true,
        signingKey: nil, templates: templates, generatedAt: model.generatedAt, cadenceDays: 31),
      to: organisationZip, now: now)
    event(.wrote(organisationZip))
    event(.accounts(organisation.coverage))
    return model
  }
}

/// The bundled demo account, three monthly snapshots written for this project, and its organisation:
/// `Demo/organisation/` holds the scope file and the other accounts' exports, laid out as most teams
/// export them (one folder per month, one file per account).
public enum DemoData {
  /// The demo account, whose report the demo writes.
  public static let account = "111122223333"
  /// The operator the demo records with every ingest (`ingest --operator`).
  public static let operatorName = "Dana Demo"

  /// The saved `aws sts get-caller-identity` output beside an export: `2024-03-31.json` →
  /// `2024-03-31.caller.json`.
  public static func callerIdentityURL(of export: URL) -> URL {
    export.deletingPathExtension().appendingPathExtension("caller.json")
  }

  static func read(_ url: URL) throws(WorkflowError) -> [UInt8] {
    do { return [UInt8](try Data(contentsOf: url)) } catch {
      throw WorkflowError(path: url.path, message: "cannot read: \(fileErrorReason(error, path: url.path))")
    }
  }

  /// The bundled `Demo` folder.
  static func folder() throws(WorkflowError) -> URL {
    guard let dir = Bundle.module.url(forResource: "Demo", withExtension: nil) else {
      throw WorkflowError(path: "Demo", message: "the demo data is missing from the tool's resources")
    }
    return dir
  }

  /// The demo's filled review sheet of the April snapshot (`Demo/review-2024-04-30.csv`): every item
  /// answered, carol.contractor's access marked revoke.
  public static func reviewSheetURL() throws(WorkflowError) -> URL {
    try folder().appendingPathComponent("review-2024-04-30.csv")
  }

  /// The demo organisation's scope file (`Demo/organisation/scope.json`).
  public static func scopeURL() throws(WorkflowError) -> URL {
    try folder().appendingPathComponent("organisation/scope.json")
  }

  /// The demo organisation's scope: the demo account, a second account with snapshots, and a third
  /// that was never exported.
  public static func scope() throws -> AccountScope {
    try AccountScope.load(path: try scopeURL().path)
  }

  /// The other accounts' exports (`Demo/organisation/<month-end date>/<account>.json`), by date then
  /// name, each captured at the end of its folder's day.
  public static func organisationSnapshots() throws(WorkflowError) -> [(url: URL, capturedAt: Timestamp)] {
    let root = try folder().appendingPathComponent("organisation")
    var out: [(url: URL, capturedAt: Timestamp)] = []
    for day in try jsonNames(in: root, directories: true) {
      guard let t = Timestamp(parsing: day) else { continue }
      let dir = root.appendingPathComponent(day)
      for name in try jsonNames(in: dir, directories: false) {
        out.append((dir.appendingPathComponent(name), Timestamp(epochSeconds: t.epochSeconds + 86_399)))
      }
    }
    return out
  }

  /// `organisation/2024-03-31/444455556666.json` for a file of the organisation, else the file's name.
  static func relativeName(_ url: URL) -> String {
    let parent = url.deletingLastPathComponent()
    guard parent.deletingLastPathComponent().lastPathComponent == "organisation" else { return url.lastPathComponent }
    return "organisation/\(parent.lastPathComponent)/\(url.lastPathComponent)"
  }

  /// The entries of `dir`, sorted: its folders, or its `*.json` files.
  static func jsonNames(in dir: URL, directories: Bool) throws(WorkflowError) -> [String] {
    do {
      return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { name in
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path, isDirectory: &isDirectory)
        return directories
          ? isDirectory.boolValue : (!isDirectory.boolValue && name.hasSuffix(".json") && !name.hasSuffix(".caller.json"))
      }.sorted()
    } catch {
      throw WorkflowError(path: dir.path, message: "cannot read the demo data: \(fileErrorReason(error))")
    }
  }

  /// The demo account's snapshot files, oldest first, each with the capture time its file name gives.
  public static func snapshots() throws(WorkflowError) -> [(url: URL, capturedAt: Timestamp)] {
    let dir = try folder()
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
        $0.hasSuffix(".json") && !$0.hasSuffix(".caller.json")
      }.sorted()
    } catch {
      throw WorkflowError(path: dir.path, message: "cannot read the demo data: \(fileErrorReason(error))")
    }
    return names.compactMap { name in
      // Files are named by the last day of the month they stand for; captured at the end of that day.
      guard let day = Timestamp(parsing: String(name.dropLast(5))) else { return nil }
      return (dir.appendingPathComponent(name), Timestamp(epochSeconds: day.epochSeconds + 86_399))
    }
  }
}
