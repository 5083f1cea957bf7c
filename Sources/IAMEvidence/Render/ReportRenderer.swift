import Foundation
import XMLTree

/// Renders the files of a report: `report.html`, `evidence.xml` (validated against its schema),
/// a copy of `evidence.xsd`, and `population.csv` (one row per result). When some check's
/// population is too large to list (``HTMLReport/summarisesPopulation(_:)``), report.html names
/// evidence.xml and population.csv with their row counts and SHA-256 instead.
///
/// evidence.xml and population.csv are rendered first, a piece at a time, each hashed on its way
/// out; evidence.xml is validated on another thread as it is written (``XMLStreamValidator``), and
/// nothing is returned (nor a report folder put in place) unless it is valid.
public enum ReportRenderer {
  /// The file holding one row per result.
  public static let populationCSVName = "population.csv"

  /// The files of a report, in the order a package lists them.
  public static let fileNames = ["report.html", "evidence.xml", "evidence.xsd", populationCSVName]

  /// Every file in memory, in ``fileNames`` order (nothing is written).
  public static func render(_ model: EvidenceModel, templates: TemplateSet) throws -> [ReportWriter.Output] {
    let outputs = Locked<[String: [UInt8]]>([:])
    try produce(model, templates: templates) { name, rows, body in
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
  /// new folder, flushed, then put in place), each file rendered straight into its file; `phase` is
  /// told the name of each file once written. Returns the written paths.
  @discardableResult
  public static func write(
    _ model: EvidenceModel, templates: TemplateSet, to directory: URL, phase: (String) -> Void = { _ in }
  ) throws -> [URL] {
    try ReportWriter.write(names: fileNames, to: directory) { folder in
      try produce(model, templates: templates, phase: phase) { name, rows, body in try folder.create(name, rows: rows, body) }
    }
  }

  /// Renders each file through `create(name, rows, body)`, which runs `body` with the file's sink and
  /// returns what was written (it is called from two threads at once). evidence.xml is written on
  /// this thread while population.csv is written on another, which then builds report.html's tree;
  /// report.html, which names both files, is written last.
  static func produce(
    _ model: EvidenceModel, templates: TemplateSet, phase: (String) -> Void = { _ in },
    create: @escaping @Sendable (String, Int, (RenderSink) throws -> Void) throws -> RenderedFile
  ) throws {
    let xsd = [UInt8](try Data(contentsOf: templates.evidenceXSD))
    let csvJob = BackgroundJob { () throws -> (RenderedFile, HTMLReport.Prepared) in
      var rows: [String: ClosedRange<Int>] = [:]
      let file = try create(populationCSVName, model.results.count) { sink in
        rows = try CSV.writePopulation(model, order: HTMLReport.populationOrder(model), to: sink)
      }
      // report.html's tree too, while evidence.xml is written: only what it says of evidence.xml waits.
      return (file, try HTMLReport.prepare(model, templates: templates, csv: file, csvRows: rows))
    }
    // The other thread is done before this returns, whatever happens here: the caller may then remove the folder.
    defer { _ = try? csvJob.result() }
    let validation = ConcurrentValidation(schemaPath: templates.evidenceXSD.path, name: "evidence.xml")
    defer { validation.cancel() }
    let evidence: RenderedFile
    do {
      evidence = try create("evidence.xml", model.results.count) { sink in
        try EvidenceXML.write(model) { piece in
          try sink.write(piece)
          try validation.feed(piece)
        }
      }
    } catch is ConcurrentValidation.Stopped {
      try validation.finish()  // the validation's own error: it stopped the writing
      throw ConcurrentValidation.Stopped()
    }
    phase("evidence.xml")
    let (_, html) = try csvJob.result()
    phase("population.csv, report.html built")
    _ = try create("report.html", 0) { sink in try html.write(evidence: evidence) { try sink.write($0) } }
    phase("report.html")
    try validation.finish()
    phase("evidence.xml validated")
    _ = try create("evidence.xsd", 0) { sink in try xsd.withUnsafeBytes { try sink.write($0) } }
  }
}

/// Validates a document against a schema on a thread of its own while the document is written:
/// ``feed(_:)`` hands it the bytes (in blocks of 1 MB, at most 16 waiting), ``finish()`` waits for the
/// verdict. For evidence.xml of 300,000 results, validating takes about as long as writing.
final class ConcurrentValidation {
  /// The validator stopped (the document is invalid): ``finish()`` says why.
  struct Stopped: Error {}

  private let channel = BlockChannel(capacity: 16)
  private let outcome = Locked<(any Error)?>(nil)
  private let done = DispatchSemaphore(value: 0)
  private var pending: [UInt8] = []
  private var waited = false

  init(schemaPath: String, name: String) {
    let channel = channel
    let outcome = outcome
    let done = done
    Thread.detachNewThread {
      do {
        let validator = XMLStreamValidator(schema: try XMLSchema(contentsOfFile: schemaPath), url: name)
        while let block = channel.receive() { try block.withUnsafeBytes { try validator.feed($0) } }
        if !channel.isCancelled { try validator.finish() }
      } catch {
        outcome.withLock { $0 = error }
        channel.cancel()
      }
      done.signal()
    }
    pending.reserveCapacity(1 << 20)
  }

  /// The next bytes of the document.
  func feed(_ bytes: UnsafeRawBufferPointer) throws {
    pending.append(contentsOf: bytes)
    if pending.count >= 1 << 20 { try send() }
  }

  private func send() throws {
    guard !pending.isEmpty else { return }
    guard channel.send(pending) else { throw Stopped() }
    pending.removeAll(keepingCapacity: true)
  }

  /// Ends the document, waits for the validation and throws its error, if any.
  func finish() throws {
    if !waited {
      try? send()
      channel.close()
      done.wait()
      waited = true
    }
    if let error = outcome.withLock({ $0 }) { throw error }
  }

  /// Stops the validation (if not finished) and waits for its thread.
  func cancel() {
    guard !waited else { return }
    channel.cancel()
    done.wait()
    waited = true
  }
}
