import Foundation
import Testing

/// The test helpers' own guarantees: temporary folders do not outlive their scope.
@Suite struct TestSupportTests {
  @Test func aScopeRemovesItsTemporaryDirectories() async throws {
    let (url, nested) = try await TemporaryDirectories.withScope {
      let url = try TestSupport.temporaryDirectory()
      let nested = url.appendingPathComponent("a/b")
      try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
      try Data("x".utf8).write(to: nested.appendingPathComponent("file"))
      #expect(FileManager.default.fileExists(atPath: nested.path))
      return (url, nested)
    }
    #expect(!FileManager.default.fileExists(atPath: url.path))
    #expect(!FileManager.default.fileExists(atPath: nested.path))
  }
}
