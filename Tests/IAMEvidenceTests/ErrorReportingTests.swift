import Foundation
import Testing
import XMLTree

@testable import IAMEvidence

/// Each layer's error is a ``UserFacingError``; the CLI prints any of them as `error: <description>`
/// (naming the file) and exits 2, and Foundation's file errors never reach the user raw.
@Suite(.temporaryDirectories) struct ErrorReportingTests {
  @Test func everyLayersErrorIsUserFacing() {
    let errors: [any Error] = [
      SnapshotDecodingError(file: "s.json", path: "$.UserDetailList", message: "expected an array"),
      StoreError(path: "e.sqlite", message: "no such database"),
      ExceptionRegisterError(file: "x.json", path: "$.exceptions[0]", message: "missing scope"),
      RenderError(path: "Templates", message: "no report templates found"),
      PackageError(path: "p.zip", message: "not a readable zip archive"),
      WorkflowError(path: "s.json", message: "$: empty file, expected a JSON object"),
    ]
    for error in errors {
      let facing = error as? any UserFacingError
      #expect(facing != nil, "\(type(of: error))")
      #expect(
        facing?.description.hasPrefix(["s.json", "e.sqlite", "x.json", "Templates", "p.zip"].first { "\(error)".hasPrefix($0) } ?? "?")
          == true)
    }
    #expect((XMLError.self as Any.Type) is any UserFacingError.Type)
    #expect(ExceptionRegisterError(file: "x.json", path: nil, message: "cannot read").description == "x.json: cannot read")
    #expect(WorkflowError(path: nil, message: "snapshot 2 has not been assessed").description == "snapshot 2 has not been assessed")
  }

  /// Runs the CLI and expects exit 2 with exactly `error: <message>` on standard error.
  static func expectError(_ arguments: [String], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let run = try TestSupport.run(arguments)
    #expect(run.status == 2, "\(arguments)", sourceLocation: sourceLocation)
    #expect(run.stderr == "error: \(message)\n", "\(arguments)", sourceLocation: sourceLocation)
  }

  @Test func theCLIPrintsEachLayersErrorPlainly() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("e.sqlite").path
    let missing = dir.appendingPathComponent("missing").path
    // Store.
    try Self.expectError(["findings", "--db", db], "\(db): no such database (run `iam-evidence ingest` first, or pass --db)")
    // Snapshot decoding.
    let bad = dir.appendingPathComponent("bad.json")
    try Data(#"{"UserDetailList": 3}"#.utf8).write(to: bad)
    try Self.expectError(["ingest", "--db", db, bad.path], "\(bad.path): $.UserDetailList: expected an array, found a number")
    // Service (input).
    let empty = dir.appendingPathComponent("empty")
    try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
    try Self.expectError(["ingest", "--db", db, empty.path], "\(empty.path): directory holds no *.json snapshot")
    // Exceptions register.
    try Self.expectError(
      ["ingest", "--db", db, "--exceptions", missing, bad.path],
      "\(missing): cannot read the exceptions register: No such file or directory")
    // A folder or a file larger than the bound is refused before anything is read into memory.
    try Self.expectError(
      ["ingest", "--db", db, "--exceptions", empty.path, bad.path],
      "\(empty.path): not a regular file (a folder); name the exceptions register itself")
    let huge = dir.appendingPathComponent("huge.json")
    #expect(FileManager.default.createFile(atPath: huge.path, contents: nil))
    let handle = try FileHandle(forWritingTo: huge)
    try handle.truncate(atOffset: UInt64(ExceptionRegister.maximumBytes + 1))
    try handle.close()
    try Self.expectError(
      ["ingest", "--db", db, "--exceptions", huge.path, bad.path], "\(huge.path): the exceptions register exceeds 16 MiB")
    // Packaging.
    try Self.expectError(["verify", missing], "\(missing): no such file or directory")
    // Rendering: a missing templates folder; a report folder that cannot be created (Foundation's error, wrapped).
    let ok = try TestSupport.run(["ingest", "--db", db, TestSupport.fixture("dev-small.json").path])
    #expect(ok.status == 0, "\(ok.stderr)")
    try Self.expectError(
      ["report", "--db", db, "--templates", missing],
      "\(missing): no report.xhtml in the templates folder named from --templates")
    let file = dir.appendingPathComponent("file")
    try Data().write(to: file)
    let templates = TestSupport.packageRoot.appendingPathComponent("Templates").path
    let run = try TestSupport.run(["report", "--db", db, "--templates", templates, "--out", file.path + "/report"])
    #expect(run.status == 2)
    #expect(
      run.stderr
        == "templates: \(templates) (from --templates)\nerror: \(file.path)/report: cannot create the folder: \(file.path) is not a folder\n",
      "\(run.stderr)")
    #expect(!run.stderr.contains("Domain") && !run.stderr.contains("Error:"), "\(run.stderr)")
  }
}
