import Foundation
import Testing

@testable import XMLTree

#if canImport(Glibc)
  import Glibc
#endif

/// A schema that came with the data may not reach anything outside its own bytes (issue 14, defect
/// 4): every hostile reference is refused before anything is opened, and nothing hangs.
@Suite struct UntrustedSchemaTests {
  static let header = #"<?xml version="1.0"?>"#
  static let open =
    #"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns="urn:t" elementFormDefault="qualified">"#
  static let body =
    #"<xs:element name="doc"><xs:simpleType><xs:restriction base="xs:string"><xs:maxLength value="5"/></xs:restriction></xs:simpleType></xs:element>"#

  /// A schema whose first child is `reference` (an xs:import, xs:include…).
  static func schema(_ reference: String) -> String {
    header + open + reference + body + "</xs:schema>"
  }

  /// A folder holding a FIFO (`fifo.xsd`), a valid schema (`other.xsd`), removed by the caller.
  static func folder() throws -> (dir: URL, fifo: URL, other: URL) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xmltree-untrusted-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let fifo = dir.appendingPathComponent("fifo.xsd")
    guard mkfifo(fifo.path, 0o600) == 0 else { throw CocoaError(.fileWriteUnknown) }
    let other = dir.appendingPathComponent("other.xsd")
    try Data(schema("").utf8).write(to: other)
    return (dir, fifo, other)
  }

  /// Whether some process has the FIFO open for reading right now (a writer can then open it).
  static func fifoHasReader(_ fifo: URL) -> Bool {
    let fd = Glibc.open(fifo.path, O_WRONLY | O_NONBLOCK)
    guard fd >= 0 else { return false }  // ENXIO: nobody reading
    close(fd)
    return true
  }

  /// Runs `body` on another thread and waits at most `seconds`; on a timeout, unblocks a reader of
  /// `fifo` (by opening and closing its write end) and returns nil.
  static func withTimeout<T: Sendable>(_ seconds: Double, fifo: URL, _ body: @escaping @Sendable () -> T) -> T? {
    let box = TimeoutBox<T>()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      box.value = body()
      done.signal()
    }
    if done.wait(timeout: .now() + seconds) == .success { return box.value }
    let fd = Glibc.open(fifo.path, O_WRONLY | O_NONBLOCK)
    if fd >= 0 { close(fd) }
    _ = done.wait(timeout: .now() + 10)
    return nil
  }

  @Test func everyReferenceToAnotherDocumentIsRefusedWithoutOpeningIt() throws {
    let (dir, fifo, other) = try Self.folder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let locations = [
      "file:///dev/stdin", "/dev/stdin", fifo.path, "file://" + fifo.path, "fifo.xsd", "/etc/passwd", "file:///etc/passwd",
      "../../../../../../etc/passwd", "other.xsd", other.path, "http://127.0.0.1:9/schema.xsd", "https://example.com/schema.xsd",
    ]
    let references = locations.flatMap { location in
      [
        #"<xs:import namespace="urn:o" schemaLocation="\#(location)"/>"#, #"<xs:include schemaLocation="\#(location)"/>"#,
        #"<xs:redefine schemaLocation="\#(location)"/>"#, #"<xs:override schemaLocation="\#(location)"/>"#,
      ]
    }
    // Relative locations resolve against the schema's URL: the folder that holds the FIFO and other.xsd.
    let url = dir.appendingPathComponent("evidence.xsd").path
    for reference in references {
      let outcome = Self.withTimeout(20, fifo: fifo) { () -> String? in
        do {
          _ = try XMLSchema(untrustedBytes: Array(Self.schema(reference).utf8), url: url)
          return nil
        } catch let error as XMLError {
          return error.kind == .schema ? error.description : "wrong kind: \(error)"
        } catch {
          return "unexpected: \(error)"
        }
      }
      guard let outcome else {
        Issue.record("hung on \(reference)")
        continue
      }
      let message = try #require(outcome, "accepted \(reference)")
      #expect(message.contains("refused"), "\(reference): \(message)")
      #expect(!message.contains("root:"), "\(reference): \(message)")
      #expect(!Self.fifoHasReader(fifo))
    }
  }

  @Test func aDocumentTypeDeclarationIsRefused() throws {
    for doctype in [
      #"<!DOCTYPE xs:schema [<!ENTITY e SYSTEM "file:///etc/passwd">]>"#, #"<!DOCTYPE xs:schema SYSTEM "file:///dev/stdin">"#,
      #"<!DOCTYPE xs:schema [<!ENTITY % p SYSTEM "file:///dev/stdin"> %p;]>"#,
    ] {
      let text = Self.header + doctype + Self.open + Self.body + "</xs:schema>"
      let error = try #require(throws: XMLError.self) { try XMLSchema(untrustedBytes: Array(text.utf8), url: "evidence.xsd") }
      #expect(error.kind == .schema)
      #expect(!error.description.contains("root:"), "\(error)")
    }
  }

  @Test func aSelfContainedSchemaCompilesAndValidates() throws {
    let schema = try XMLSchema(untrustedBytes: Array(Self.schema("").utf8), url: "evidence.xsd")
    try schema.validate(try XMLDocument(string: #"<doc xmlns="urn:t">short</doc>"#))
    #expect(!schema.isValid(try XMLDocument(string: #"<doc xmlns="urn:t">far too long</doc>"#)))
    // An import that names only a namespace reads nothing and is allowed.
    let importing = try XMLSchema(
      untrustedBytes: Array(Self.schema(#"<xs:import namespace="http://www.w3.org/XML/1998/namespace"/>"#).utf8), url: "evidence.xsd")
    #expect(importing.isValid(try XMLDocument(string: #"<doc xmlns="urn:t">ok</doc>"#)))
  }

  /// The loader hook itself: inside `refusingExternalLoads` even a trusted file load is refused, and
  /// outside it loads work again.
  @Test func theLoaderRefusesEveryLoadOnlyInsideTheScope() throws {
    let (dir, _, other) = try Self.folder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let refusals = DiagnosticCollector()
    let inside = LibXML2.refusingExternalLoads(refusals) { Result { try XMLSchema(contentsOfFile: other.path) } }
    #expect(throws: XMLError.self) { try inside.get() }
    #expect(refusals.diagnostics.contains { $0.message.contains("refused to load") }, "\(refusals.diagnostics)")
    _ = try XMLSchema(contentsOfFile: other.path)
  }
}

/// The result slot of ``UntrustedSchemaTests/withTimeout(_:fifo:_:)``: written by the worker before it
/// signals, read after the wait.
private final class TimeoutBox<T>: @unchecked Sendable {
  var value: T?
}
