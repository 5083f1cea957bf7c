import Foundation
import Testing

@testable import IAMEvidence

/// System/: the memory-mapped snapshot file and the allocator settings.
@Suite(.temporaryDirectories) struct MappedFileTests {
  static func withFile(_ bytes: [UInt8], _ body: (String) throws -> Void) throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("file.json").path
    #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    try body(path)
  }

  @Test func mapsTheFileAndKeepsItReadableAfterDroppingPages() throws {
    // Several pages of distinct bytes, and a tail that does not fill a page.
    let bytes = (0..<(5 * 4096 + 123)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
    try Self.withFile(bytes) { path in
      let file = try #require(MappedFile(path: path))
      #expect(Array(file.buffer) == bytes)
      // Dropped pages fault back in from the file: the content is unchanged, wherever the offset falls.
      for offset in [0, 1, 4096, 3 * 4096 + 7, bytes.count, bytes.count + 10_000] {
        file.discard(upTo: offset)
        #expect(Array(file.buffer) == bytes, "after discarding up to \(offset)")
      }
    }
  }

  @Test func snapshotBytesFromAMappingHashAndDecodeLikeACopy() throws {
    let bytes = try TestSupport.bytes(TestSupport.fixture("dev-small.json"))
    try Self.withFile(bytes) { path in
      let mapped = try #require(SnapshotBytes(mapping: path))
      #expect(mapped.sha256() == SnapshotBytes(bytes).sha256())
      #expect(mapped.sha256() == Digest.sha256(bytes))
      let decoded = try SnapshotDecoder(sourceName: path).decode(buffer: mapped.buffer, consumed: mapped.discard(upTo:))
      #expect(decoded == (try SnapshotDecoder(sourceName: path).decode(bytes)))
    }
  }

  @Test func whatCannotBeMappedIsNil() throws {
    try Self.withFile([]) { path in #expect(MappedFile(path: path) == nil, "an empty file") }
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(MappedFile(path: dir.path) == nil, "a directory")
    #expect(MappedFile(path: dir.appendingPathComponent("absent").path) == nil, "a missing file")
    let fifo = dir.appendingPathComponent("fifo").path
    #expect(mkfifo(fifo, 0o600) == 0)
    #expect(MappedFile(path: fifo) == nil, "a pipe (opening it must not block: it is never opened for reading data)")
  }

  @Test func ingestReadsAFileThroughItsMapping() throws {
    let bytes = try TestSupport.bytes(TestSupport.fixture("dev-small.json"))
    try Self.withFile(bytes) { path in
      let source = try IngestSource.load(path: path)
      #expect(Array(source.contents.buffer) == bytes)
      #expect(source.modificationTime != nil)
    }
    #expect(throws: WorkflowError(path: "/nonexistent/x.json", message: "cannot read the file")) {
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
