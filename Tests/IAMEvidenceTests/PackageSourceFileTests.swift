import Foundation
import Testing

@testable import IAMEvidence

#if canImport(Glibc)
  import Glibc
#endif

/// The package reads back each snapshot's source file by the name it was ingested under: whatever
/// is at that name now (a FIFO, a device, a larger file) must neither block nor be read unbounded.
@Suite(.temporaryDirectories) struct PackageSourceFileTests {
  /// `body` done within `seconds` on another thread; on a timeout, `fifo` is opened for writing so
  /// that a reader blocked on it returns, and the answer is false.
  static func finishes(within seconds: Double, unblocking fifo: String, _ body: @escaping @Sendable () -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      body()
      done.signal()
    }
    if done.wait(timeout: .now() + seconds) == .success { return true }
    let fd = open(fifo, O_WRONLY | O_NONBLOCK)
    if fd >= 0 { close(fd) }
    _ = done.wait(timeout: .now() + 5)
    return false
  }

  /// A snapshot ingested from a file in a new folder, and the path of that file.
  static func ingested() throws -> (store: EvidenceStore, record: SnapshotRecord, path: String, dir: URL) {
    let (store, dir) = try TestSupport.makeStore()
    let path = dir.appendingPathComponent("export.json").path
    try FileManager.default.copyItem(atPath: TestSupport.fixture("dev-small.json").path, toPath: path)
    let outcome = try store.workflow.ingest(
      IngestSource(name: path, bytes: try TestSupport.bytes(URL(fileURLWithPath: path)), modificationTime: nil),
      options: IngestOptions(capturedAt: Timestamp(parsing: "2024-06-30T00:00:00Z"), now: TestSupport.fixedNow))
    guard case .ingested(let record) = outcome else { throw StoreError(path: path, message: "not ingested") }
    return (store, record, path, dir)
  }

  @Test func aFIFOSwappedInForTheSourceFileIsRefusedNotWaitedOn() throws {
    let (_, record, path, dir) = try Self.ingested()
    defer { try? FileManager.default.removeItem(at: dir) }
    // The file as ingested is read back whole.
    let read = try EvidenceWorkflow.sourceFiles(of: [record], required: true)
    let original = try TestSupport.bytes(URL(fileURLWithPath: path))
    #expect(read.files.count == 1 && read.files[0].bytes == original)
    #expect(EvidenceWorkflow.sha256(ofFile: path) == record.sha256)

    try FileManager.default.removeItem(atPath: path)
    #expect(mkfifo(path, 0o600) == 0)
    let omitted = Locked<[(id: Int, reason: String)]?>(nil)
    #expect(
      Self.finishes(within: 10, unblocking: path) {
        let answer = try? EvidenceWorkflow.sourceFiles(of: [record], required: false).omitted
        omitted.withLock { $0 = answer }
      }, "reading the source files waited on a FIFO")
    #expect(omitted.withLock { $0 }?.map(\.reason) == ["its source file \(path) is not readable here"])
    let hashed = Locked<String??>(nil)
    #expect(
      Self.finishes(within: 10, unblocking: path) {
        let answer = EvidenceWorkflow.sha256(ofFile: path)
        hashed.withLock { $0 = .some(answer) }
      }, "hashing waited on a FIFO")
    #expect(hashed.withLock { $0 } == .some(nil))
    let zipped = Locked<String?>(nil)
    #expect(
      Self.finishes(within: 10, unblocking: path) {
        do {
          _ = try ZipStream.read(
            URL(fileURLWithPath: path), expectedSHA256: record.sha256, byteCount: record.byteSize, source: "snapshot 1")
        } catch { zipped.withLock { $0 = (error as? PackageError)?.message } }
      }, "the organisation package waited on a FIFO")
    #expect(
      zipped.withLock { $0 } == "cannot read snapshot 1's file: not a regular file (a FIFO); name a regular file, or - for standard input")
  }

  @Test func aLargerFileIsNotTheSnapshotAndIsNotReadToItsEnd() throws {
    let (_, record, path, dir) = try Self.ingested()
    defer { try? FileManager.default.removeItem(at: dir) }
    let handle = try #require(FileHandle(forWritingAtPath: path))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(" ".utf8))
    try handle.close()
    let read = try EvidenceWorkflow.sourceFiles(of: [record], required: false)
    #expect(read.files.isEmpty)
    #expect(read.omitted.map(\.reason) == ["its source file \(path) differs from what was ingested (SHA-256 mismatch)"])
    #expect(throws: WorkflowError(path: path, message: "differs from what was ingested as snapshot \(record.id) (SHA-256 mismatch)")) {
      try EvidenceWorkflow.sourceFiles(of: [record], required: true)
    }
  }
}
