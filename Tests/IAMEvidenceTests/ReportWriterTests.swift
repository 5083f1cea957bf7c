import Foundation
import Testing

@testable import IAMEvidence

/// A report's files are replaced together or not at all (issue 14, defect 8: a full disk left
/// report.html new and evidence.xml/xsd old). Failures are injected into the file writer.
@Suite(.temporaryDirectories, .packagedQuarter) struct ReportWriterTests {
  static let names = ["report.html", "evidence.xml", "evidence.xsd"]

  static func outputs(_ tag: String) -> [ReportWriter.Output] {
    names.map { ReportWriter.Output(name: $0, bytes: Array("\(tag) \($0)\n".utf8)) }
  }

  /// A folder `parent/report` holding the "old" report; the caller removes `parent`.
  static func oldReport() throws -> (parent: URL, report: URL) {
    let parent = try TestSupport.temporaryDirectory()
    let report = parent.appendingPathComponent("report")
    try FileManager.default.createDirectory(at: report, withIntermediateDirectories: true)
    for o in outputs("old") { try Data(o.bytes).write(to: report.appendingPathComponent(o.name)) }
    return (parent, report)
  }

  static func contents(_ folder: URL) throws -> [String: String] {
    var result: [String: String] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
      result[name] = String(decoding: try TestSupport.bytes(folder.appendingPathComponent(name)), as: UTF8.self)
    }
    return result
  }

  static func expected(_ tag: String) -> [String: String] {
    Dictionary(uniqueKeysWithValues: names.map { ($0, "\(tag) \($0)\n") })
  }

  /// A writer that fails (like a full disk) on the `failing`-th file, after writing part of it.
  static func failing(on failing: Int) -> (DirectoryHandle, ReportWriter.Output) throws(FileSystemFailure) -> Void {
    var count = 0
    return { folder, output throws(FileSystemFailure) in
      count += 1
      if count == failing {
        try folder.createFile(output.name, mode: 0o644, bytes: Array(output.bytes.prefix(3)))
        throw FileSystemFailure(path: folder.path(of: output.name), "cannot write", code: ENOSPC)
      }
      try folder.createFile(output.name, mode: 0o644, bytes: output.bytes)
    }
  }

  @Test(arguments: [true, false]) func aFailureMidWriteLeavesTheOldReportWhole(exchange: Bool) throws {
    let (parent, report) = try Self.oldReport()
    defer { try? FileManager.default.removeItem(at: parent) }
    for failing in 1...3 {
      #expect(throws: RenderError.self) {
        try ReportWriter.write(Self.outputs("new"), to: report, exchange: exchange, writeFile: Self.failing(on: failing))
      }
      #expect(try Self.contents(report) == Self.expected("old"), "failing on file \(failing)")
      #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == ["report"], "no temporary folder is left")
    }
    let error = try #require(throws: RenderError.self) {
      try ReportWriter.write(Self.outputs("new"), to: report, exchange: exchange, writeFile: Self.failing(on: 2))
    }
    #expect(error.description.contains("evidence.xml: cannot write: No space left on device"), "\(error)")
  }

  @Test(arguments: [true, false]) func aSuccessfulWriteReplacesEveryFile(exchange: Bool) throws {
    let (parent, report) = try Self.oldReport()
    defer { try? FileManager.default.removeItem(at: parent) }
    let written = try ReportWriter.write(Self.outputs("new"), to: report, exchange: exchange, writeFile: Self.failing(on: 0))
    #expect(written.map(\.lastPathComponent) == Self.names)
    #expect(try Self.contents(report) == Self.expected("new"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == ["report"])
    // A folder that does not exist yet (nor its parent) is created.
    let fresh = parent.appendingPathComponent("a/b/report")
    try ReportWriter.write(Self.outputs("fresh"), to: fresh)
    #expect(try Self.contents(fresh) == Self.expected("fresh"))
  }

  @Test func aFolderHoldingOtherFilesIsRefusedAndLeftAlone() throws {
    let (parent, report) = try Self.oldReport()
    defer { try? FileManager.default.removeItem(at: parent) }
    try Data("mine\n".utf8).write(to: report.appendingPathComponent("notes.txt"))
    let error = try #require(throws: RenderError.self) { try ReportWriter.write(Self.outputs("new"), to: report) }
    #expect(error.description.contains("holds files that are not part of a report (notes.txt)"), "\(error)")
    var expected = Self.expected("old")
    expected["notes.txt"] = "mine\n"
    #expect(try Self.contents(report) == expected)
    #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == ["report"])

    // A link in place of the folder is refused too, and what it points to is untouched.
    let link = parent.appendingPathComponent("linked")
    try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: report.path)
    #expect(throws: RenderError.self) { try ReportWriter.write(Self.outputs("new"), to: link) }
    #expect(try Self.contents(report) == expected)
  }

  /// A crash between the two renames of the fallback leaves the old report aside and no report
  /// folder: the next write puts it back first, so even a failing write leaves the old report whole.
  @Test func anInterruptedSwapIsRecovered() throws {
    let (parent, report) = try Self.oldReport()
    defer { try? FileManager.default.removeItem(at: parent) }
    let aside = parent.appendingPathComponent(ReportWriter.oldPrefix("report") + "crashed")
    try FileManager.default.moveItem(at: report, to: aside)
    let staged = parent.appendingPathComponent(ReportWriter.newPrefix("report") + "crashed")
    try FileManager.default.createDirectory(at: staged, withIntermediateDirectories: true)
    try Data("half".utf8).write(to: staged.appendingPathComponent("report.html"))

    #expect(throws: RenderError.self) {
      try ReportWriter.write(Self.outputs("new"), to: report, exchange: false, writeFile: Self.failing(on: 3))
    }
    #expect(try Self.contents(report) == Self.expected("old"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == ["report"])

    try ReportWriter.write(Self.outputs("new"), to: report)
    #expect(try Self.contents(report) == Self.expected("new"))
  }

  @Test func theReportCommandRefusesAFolderWithOtherFiles() throws {
    let base = try PackageSupport.base()
    let dir = try PackageSupport.copyDatabase(base)
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("evidence.sqlite").path
    // The database's own folder: refused, nothing written.
    let run = try TestSupport.run(["report", "--db", db, "--out", dir.path, "--generated-at", PackageSupport.generatedAt])
    #expect(run.status == 2, "\(run.stdout)")
    #expect(run.stderr.contains("holds files that are not part of a report"), "\(run.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { $0.hasPrefix("evidence.sqlite") })
  }
}
