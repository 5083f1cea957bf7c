import Foundation
import Testing

@testable import IAMEvidence

/// Reading snapshot input (issue 14, defects 3, 5 and 10): what is hashed is exactly what is
/// decoded, a file that changes while it is read is an error (never a SIGBUS), every input is bounded,
/// and a FIFO or device is refused, never waited on.
@Suite(.temporaryDirectories) struct InputFileTests {
  static func withFile(_ bytes: [UInt8], name: String = "file.json", _ body: (String, URL) throws -> Void) throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent(name).path
    #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    try body(path, dir)
  }

  static func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) } }

  @Test(arguments: [0, 100, InputFile.chunkSize + 7, InputFile.memoryLimit + 3 * 4096 + 123])
  func inputsComeBackExactlyWithTheHashOfTheirBytes(size: Int) throws {
    let bytes = Self.pattern(size)
    try Self.withFile(bytes) { path, _ in
      let source = try IngestSource.load(path: path)
      #expect(Array(source.contents.buffer) == bytes)
      #expect(source.contents.sha256 == Digest.sha256(bytes))
      #expect(source.modificationTime != nil)
      // Dropped pages of the private copy come back unchanged, wherever the offset falls.
      for offset in [0, 1, 4096, size / 2 + 7, size, size + 10_000] {
        source.contents.discard(upTo: offset)
        #expect(Array(source.contents.buffer) == bytes, "after discarding up to \(offset)")
      }
    }
  }

  /// Defect 3, first half: bytes rewritten between hashing and decoding used to be decoded under the
  /// hash of the old bytes. The decoder now reads the private bytes that were hashed.
  @Test func aFileRewrittenBetweenHashingAndDecodingStoresTheHashOfWhatWasDecoded() throws {
    let original = try TestSupport.bytes(TestSupport.fixture("dev-small.json"))
    let rewritten = Array(
      String(decoding: original, as: UTF8.self).replacingOccurrences(of: "backup-agent-dev", with: "backup-agent-EVE").utf8)
    #expect(rewritten.count == original.count && rewritten != original)
    try Self.withFile(original) { path, _ in
      let (store, dir) = try TestSupport.makeStore()
      defer { try? FileManager.default.removeItem(at: dir) }
      let source = try IngestSource.load(path: path)
      var options = IngestOptions(capturedAt: Timestamp(parsing: "2024-06-30"), now: TestSupport.fixedNow)
      options.afterHashing = { _ = FileManager.default.createFile(atPath: path, contents: Data(rewritten)) }
      guard case .ingested(let record) = try store.workflow.ingest(source, options: options) else {
        Issue.record("not ingested")
        return
      }
      #expect(try TestSupport.bytes(URL(fileURLWithPath: path)) == rewritten, "the file was rewritten meanwhile")
      #expect(record.sha256 == Digest.sha256(original))
      let names = try store.loadSnapshot(id: record.id).principals.map(\.name)
      #expect(names.contains("backup-agent-dev") && !names.contains("backup-agent-EVE"), "decoded what was hashed")
    }
  }

  /// Defect 3, second half: a file truncated while it is read is an error naming it; one truncated
  /// once read no longer matters (the old mapping raised SIGBUS when the decoder reached the pages).
  @Test func aFileThatShrinksOrGrowsWhileReadIsAnErrorNamingIt() throws {
    let bytes = Self.pattern(3 * InputFile.chunkSize)
    try Self.withFile(bytes) { path, _ in
      #expect(
        throws: WorkflowError(
          path: path,
          message:
            "the file shrank while it was being read (\(InputFile.chunkSize) bytes read, \(bytes.count) expected); ingest it again once nothing writes to it"
        )
      ) {
        try IngestSource.load(path: path, limit: InputFile.maximumBytes) { read in
          if read == InputFile.chunkSize { #expect(truncate(path, 10) == 0) }
        }
      }
    }
    try Self.withFile(bytes) { path, _ in
      #expect {
        try IngestSource.load(path: path, limit: InputFile.maximumBytes) { read in
          if read == InputFile.chunkSize, let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data(repeating: 0x20, count: 100))
            handle.closeFile()
          }
        }
      } throws: {
        "\($0)"
          == "\(path): the file grew while it was being read (\(bytes.count + 100) bytes read, \(bytes.count) expected); ingest it again once nothing writes to it"
      }
    }
    let large = Self.pattern(InputFile.memoryLimit + 5000)
    try Self.withFile(large) { path, _ in
      let source = try IngestSource.load(path: path)
      #expect(truncate(path, 0) == 0)
      // Every page is read after the original is gone: it is our own copy, not a mapping of the file.
      var sum = 0
      for b in source.contents.buffer { sum &+= Int(b) }
      #expect(sum == large.reduce(0) { $0 &+ Int($1) })
      #expect(source.contents.sha256 == Digest.sha256(large))
    }
  }

  /// Defect 5 (ingest part): inputs are bounded, files by their size before anything is read,
  /// standard input as it is read.
  @Test func inputsLargerThanTheLimitAreRefused() throws {
    try Self.withFile(Self.pattern(1025)) { path, _ throws in
      #expect(throws: WorkflowError(path: path, message: "the file exceeds the maximum snapshot size of 1 KiB")) {
        try IngestSource.load(path: path, limit: 1024, afterChunk: nil)
      }
      let exact = try IngestSource.load(path: path, limit: 1025, afterChunk: nil)
      #expect(exact.contents.buffer.count == 1025)
    }
    // A pipe that never ends, as standard input: refused once the limit is passed.
    let pipe = Pipe()
    let writer = Thread {
      let chunk = Data(repeating: 0x7B, count: 1 << 16)
      // Stops when the reading end is closed (EPIPE is ignored by the test process's writes below).
      for _ in 0..<64 { pipe.fileHandleForWriting.write(chunk) }
      try? pipe.fileHandleForWriting.close()
    }
    writer.start()
    #expect(throws: InputFileError.tooLarge(limit: 1 << 20)) {
      try InputFile.read(descriptor: pipe.fileHandleForReading.fileDescriptor, expectedSize: nil, limit: 1 << 20, afterChunk: nil)
    }
    // Drain the rest so the writer finishes.
    _ = pipe.fileHandleForReading.readDataToEndOfFile()
    #expect(
      IngestSource.message(.tooLarge(limit: InputFile.maximumBytes), standardInput: true)
        == "standard input exceeds the maximum snapshot size of 2 GiB")
  }

  /// Runs the CLI, killing it after `seconds`: a hang is a failure, not a stuck test run.
  static func runWithDeadline(_ arguments: [String], seconds: Double = 20) throws -> TestSupport.Run? {
    let process = Process()
    process.executableURL = TestSupport.binary
    process.arguments = arguments
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      return nil
    }
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return TestSupport.Run(status: process.terminationStatus, stdout: "", stderr: stderr)
  }

  /// Defect 10: a FIFO among the inputs hung ingest for ever.
  @Test func aFIFOOrADeviceIsRefusedNotWaitedOn() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("e.sqlite").path
    let fifo = dir.appendingPathComponent("pipe.json").path
    #expect(mkfifo(fifo, 0o600) == 0)
    let byName = try #require(try Self.runWithDeadline(["ingest", "--db", db, fifo]), "ingest of a FIFO hung")
    #expect(byName.status == 2)
    #expect(
      byName.stderr == "error: \(fifo): not a regular file (a FIFO); name a regular file, or - for standard input\n", "\(byName.stderr)")
    let device = try #require(try Self.runWithDeadline(["ingest", "--db", db, "/dev/zero"]), "ingest of /dev/zero hung")
    #expect(device.status == 2)
    #expect(device.stderr.contains("/dev/zero: not a regular file (a character device)"), "\(device.stderr)")

    // Inside a folder: refused, naming it, before any file of the folder is ingested.
    let folder = dir.appendingPathComponent("exports")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: TestSupport.fixture("dev-small.json"), to: folder.appendingPathComponent("a.json"))
    #expect(mkfifo(folder.appendingPathComponent("b.json").path, 0o600) == 0)
    let inFolder = try #require(try Self.runWithDeadline(["ingest", "--db", db, folder.path]), "ingest of a folder with a FIFO hung")
    #expect(inFolder.status == 2)
    #expect(
      inFolder.stderr
        == "error: \(folder.path)/b.json: not a regular file (a FIFO); only regular files are read from a folder\n", "\(inFolder.stderr)")
    if FileManager.default.fileExists(atPath: db) {
      #expect(try EvidenceStore(readingAt: db).snapshots().isEmpty)
    }
    // In-process too: nothing blocks.
    #expect(throws: WorkflowError(path: fifo, message: "not a regular file (a FIFO); name a regular file, or - for standard input")) {
      try IngestSource.load(path: fifo)
    }
    #expect(throws: WorkflowError(path: "/nonexistent/x.json", message: "cannot read the file: No such file or directory")) {
      try IngestSource.load(path: "/nonexistent/x.json")
    }
  }

  @Test func glibcAcceptsTheAllocatorSettings() {
    #if canImport(Glibc)
      #expect(Allocator.disableFastBins())
      #expect(Allocator.fixMmapThreshold(bytes: 128 * 1024))
    #endif
  }
}
