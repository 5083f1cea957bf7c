import Foundation
import XMLTree

/// Renders the files of an organisation's report (`report --accounts`): `report.html`
/// (``OrganisationHTML``), `evidence.xml` (root `organisationEvidence`, validated against its schema
/// as it is written), a copy of `evidence.xsd`, and `population.csv` (every account's population, one
/// row per result, the account first). As for one account (``ReportRenderer``): evidence.xml and
/// population.csv are written first, each hashed on its way out, population.csv on another thread;
/// then report.html, whose accounts name them where they list a check's population only as counts.
public enum OrganisationReportRenderer {
  /// The files of the report, in the order a package lists them (those of one account's report).
  public static let fileNames = ReportRenderer.fileNames

  /// Every file in memory, in ``fileNames`` order (nothing is written; tests).
  public static func render(_ org: OrganisationEvidence, templates: TemplateSet) throws -> [ReportWriter.Output] {
    let outputs = Locked<[String: [UInt8]]>([:])
    try produce(org, templates: templates) { name, rows, body in
      var bytes: [UInt8] = []
      let sink = RenderSink { bytes.append(contentsOf: $0) }
      try body(sink)
      let file = try sink.finish(name: name, rows: rows)
      outputs.withLock { $0[name] = bytes }
      return file
    }
    return outputs.withLock { all in fileNames.map { ReportWriter.Output(name: $0, bytes: all[$0] ?? []) } }
  }

  /// Writes the report as the whole content of `directory` (``ReportWriter/write(names:to:fill:)``: a
  /// new folder, flushed, then put in place); `phase` is told each file once written.
  @discardableResult
  public static func write(
    _ org: OrganisationEvidence, templates: TemplateSet, to directory: URL, phase: (String) -> Void = { _ in }
  ) throws -> [URL] {
    try ReportWriter.write(names: fileNames, to: directory) { folder in
      try produce(org, templates: templates, phase: phase) { name, rows, body in try folder.create(name, rows: rows, body) }
    }
  }

  /// Renders each file through `create(name, rows, body)` (called from two threads at once).
  static func produce(
    _ org: OrganisationEvidence, templates: TemplateSet, phase: (String) -> Void = { _ in },
    create: @escaping @Sendable (String, Int, (RenderSink) throws -> Void) throws -> RenderedFile
  ) throws {
    let xsd = [UInt8](try Data(contentsOf: templates.evidenceXSD))
    let results = org.accounts.reduce(0) { $0 + $1.model.results.count }
    let csvJob = BackgroundJob { () throws -> (RenderedFile, [String: [String: ClosedRange<Int>]]) in
      var rows: [String: [String: ClosedRange<Int>]] = [:]
      let file = try create(ReportRenderer.populationCSVName, results) { sink in rows = try writePopulation(org, to: sink) }
      return (file, rows)
    }
    defer { _ = try? csvJob.result() }
    let validation = ConcurrentValidation(schemaPath: templates.evidenceXSD.path, name: "evidence.xml")
    defer { validation.cancel() }
    let evidence: RenderedFile
    do {
      evidence = try create("evidence.xml", results) { sink in
        try OrganisationEvidenceXML.write(org) { piece in
          try sink.write(piece)
          try validation.feed(piece)
        }
      }
    } catch is ConcurrentValidation.Stopped {
      try validation.finish()
      throw ConcurrentValidation.Stopped()
    }
    phase("evidence.xml")
    let (csv, rows) = try csvJob.result()
    phase(ReportRenderer.populationCSVName)
    _ = try create("report.html", 0) { sink in
      try OrganisationHTML.write(
        org, templates: templates,
        files: { a in
          var file = evidence
          file.rows = a.model.results.count
          return HTMLReport.PopulationFiles(evidence: file, csv: csv, csvRows: rows[a.account] ?? [:])
        }
      ) { try sink.write($0) }
    }
    phase("report.html")
    try validation.finish()
    phase("evidence.xml validated")
    _ = try create("evidence.xsd", 0) { sink in try xsd.withUnsafeBytes { try sink.write($0) } }
  }

  /// The header of the organisation's `population.csv`: the account, then one account's columns.
  public static let populationHeader = ["account"] + CSV.populationHeader

  /// Writes the organisation's `population.csv` to `sink`: the header, then each account's results as
  /// its own report's population.csv lists them (``CSV/writePopulation(_:order:to:)``), the account
  /// first. Returns, per account, the rows of each check (1 is the first row after the header).
  @discardableResult
  public static func writePopulation(_ org: OrganisationEvidence, to sink: RenderSink) throws -> [String: [String: ClosedRange<Int>]] {
    var line: [UInt8] = []
    func append(_ fields: [String]) {
      for (i, f) in fields.enumerated() {
        if i > 0 { line.append(UInt8(ascii: ",")) }
        CSV.appendField(f, to: &line)
      }
      line.append(UInt8(ascii: "\n"))
    }
    append(populationHeader)
    var ranges: [String: [String: ClosedRange<Int>]] = [:]
    var row = 0
    for a in org.accounts {
      let model = a.model
      var byCheck: [String: [Int]] = [:]
      for (i, r) in model.results.enumerated() { byCheck[r.checkID, default: []].append(i) }
      for check in HTMLReport.populationOrder(model) {
        guard let indices = byCheck[check] else { continue }
        ranges[a.account, default: [:]][check] = row + 1...row + indices.count
        row += indices.count
        for i in indices {
          append([a.account] + CSV.populationRow(model.results[i], snapshot: model.current.id))
          if line.count >= 1 << 16 {
            try line.withUnsafeBytes { try sink.write($0) }
            line.removeAll(keepingCapacity: true)
          }
        }
      }
    }
    try line.withUnsafeBytes { try sink.write($0) }
    return ranges
  }

  /// The default folder of an organisation's report: `Reports/organisation/<period end, or
  /// generation date>/`.
  public static func defaultDirectory(for org: OrganisationEvidence, base: URL) -> URL {
    base.appendingPathComponent("organisation").appendingPathComponent((org.periodTo ?? org.generatedAt).dateString)
  }
}
