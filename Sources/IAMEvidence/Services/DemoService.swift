import Foundation

/// What the demo did, step by step (the CLI prints each as it comes).
public enum DemoEvent {
  /// A demo snapshot was ingested and assessed.
  case ingested(name: String, record: SnapshotRecord, assessment: Assessor.Outcome)
  /// A demo snapshot was in the database already.
  case alreadyIngested(name: String, record: SnapshotRecord)
  /// A report file was written.
  case wrote(URL)
}

extension EvidenceWorkflow {
  /// The main job end to end on the bundled demo account: ingests and assesses its snapshots into
  /// the database at `databasePath` (created, with its folder), then writes the report and evidence of
  /// the whole period into the folder `report` beside it. Returns the evidence reported (nil when the database holds no
  /// snapshot). `templates` are the located templates
  /// (``TemplateSet/locate(explicit:executable:)``).
  public static func runDemo(
    databasePath: String, templates: TemplateSet, generatedAt: () throws -> Timestamp, now: () -> Timestamp, event: (DemoEvent) -> Void
  ) throws -> EvidenceModel? {
    let folder = (databasePath as NSString).deletingLastPathComponent.isEmpty ? "." : (databasePath as NSString).deletingLastPathComponent
    do {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    } catch {
      throw WorkflowError(path: folder, message: "cannot create the folder: \(fileErrorReason(error, path: folder))")
    }
    let workflow = EvidenceWorkflow(store: try EvidenceStore(path: databasePath, create: true, now: now()))
    for (url, capturedAt) in try DemoData.snapshots() {
      let data: Data
      do { data = try Data(contentsOf: url) } catch {
        throw WorkflowError(path: url.path, message: "cannot read: \(fileErrorReason(error, path: url.path))")
      }
      let source = IngestSource(name: "demo/" + url.lastPathComponent, bytes: [UInt8](data), modificationTime: nil)
      switch try workflow.ingestAndAssess(source, options: IngestOptions(capturedAt: capturedAt, label: "demo", now: now())) {
      case (.ingested(let r), let assessment?), (.alreadyIngested(let r), let assessment?):
        event(.ingested(name: source.name, record: r, assessment: assessment))
      case (.ingested(let r), nil), (.alreadyIngested(let r), nil):
        event(.alreadyIngested(name: source.name, record: r))
      }
    }
    // The main job's last step: the period's report and evidence.
    let records = try workflow.store.snapshots()
    guard let first = records.first, let last = records.last else { return nil }
    let model = try workflow.evidence(
      scope: .period(from: first.capturedAt, to: last.capturedAt), account: nil, generatedAt: try generatedAt())
    let outputs = try ReportRenderer.render(model, templates: templates)
    // The report folder belongs to the report (it is replaced whole), so not the database's folder.
    for url in try ReportWriter.write(outputs, to: URL(fileURLWithPath: folder).appendingPathComponent("report")) { event(.wrote(url)) }
    return model
  }
}

/// The bundled demo account: three monthly snapshots written for this project.
public enum DemoData {
  /// The demo snapshot files, oldest first, each with the capture time its file name gives.
  public static func snapshots() throws(WorkflowError) -> [(url: URL, capturedAt: Timestamp)] {
    guard let dir = Bundle.module.url(forResource: "Demo", withExtension: nil) else {
      throw WorkflowError(path: "Demo", message: "the demo data is missing from the tool's resources")
    }
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
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
