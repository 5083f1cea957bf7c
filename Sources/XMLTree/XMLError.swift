import CLibXML2

/// One message reported by libxml2 (parser, XPath or schema).
public struct XMLDiagnostic: Sendable, Hashable, CustomStringConvertible {
  /// How serious libxml2 considers the message.
  public enum Severity: String, Sendable, Hashable {
    /// A warning; does not make an operation fail.
    case warning
    /// A recoverable error (for example a schema validity error or a namespace error).
    case error
    /// A fatal error (for example a well-formedness error).
    case fatal
  }

  /// The severity of the message.
  public var severity: Severity
  /// libxml2's message, without the trailing newline.
  public var message: String
  /// The file or URL the message refers to, if known.
  public var file: String?
  /// The 1-based line number, if known (nodes built in memory have none).
  public var line: Int?
  /// The 1-based column, if known.
  public var column: Int?
  /// For schema messages: the location of the offending node as an XPath with the prefixes of the
  /// document (none for the default namespace), e.g. `/assessment-results/result[2]/@uuid`; see
  /// ``XMLElement/path``.
  public var nodePath: String?

  /// Creates a diagnostic.
  public init(
    severity: Severity, message: String, file: String? = nil, line: Int? = nil, column: Int? = nil,
    nodePath: String? = nil
  ) {
    self.severity = severity
    self.message = message
    self.file = file
    self.line = line
    self.column = column
    self.nodePath = nodePath
  }

  /// `file:line:column: severity: message (at nodePath)`, leaving out what is unknown.
  public var description: String {
    var location = ""
    if let file { location += file }
    if let line { location += (location.isEmpty ? "line " : ":") + String(line) }
    if let column, line != nil { location += ":" + String(column) }
    var text = location.isEmpty ? "" : location + ": "
    text += severity.rawValue + ": " + message
    if let nodePath { text += " (at " + nodePath + ")" }
    return text
  }
}

/// An error from the XML layer, carrying libxml2's message, file and line.
public struct XMLError: Error, Sendable, CustomStringConvertible {
  /// The operation that failed.
  public enum Kind: String, Sendable, Hashable {
    /// Reading or parsing a document (including I/O errors).
    case parse
    /// Compiling or evaluating an XPath expression.
    case xpath
    /// Loading an XSD schema.
    case schema
    /// Validating a document against a schema.
    case validation
    /// Writing a document (libxml2's output failed, or a streamed document could not be put together).
    case output
  }

  /// The operation that failed.
  public var kind: Kind
  /// The first error message (libxml2's text).
  public var message: String
  /// The file or URL of the first error, if known.
  public var file: String?
  /// The 1-based line of the first error, if known.
  public var line: Int?
  /// Every message libxml2 reported during the operation, in order, warnings included
  /// (capped at ``XMLError/diagnosticLimit``).
  public var diagnostics: [XMLDiagnostic]

  /// Most diagnostics kept per operation; a hostile document can produce many more.
  public static let diagnosticLimit = 1000

  /// Creates an error from the diagnostics of one operation; `message` is used when none is an error.
  init(kind: Kind, diagnostics: [XMLDiagnostic], fallbackMessage: String) {
    self.kind = kind
    self.diagnostics = diagnostics
    if let first = diagnostics.first(where: { $0.severity != .warning }) {
      message = first.message
      file = first.file
      line = first.line
    } else {
      message = fallbackMessage
      file = nil
      line = nil
    }
  }

  /// The kind followed by each error-level diagnostic (or the message), one a line.
  public var description: String {
    let errors = diagnostics.filter { $0.severity != .warning }
    if errors.isEmpty {
      return "XML \(kind.rawValue) error: \(message)"
    }
    return "XML \(kind.rawValue) error: " + errors.map(\.description).joined(separator: "\n")
  }
}

/// Collects the structured errors of one libxml2 call. Lives on the caller's stack for the duration
/// of the call; libxml2 gets it as an unretained context pointer, so no global Swift state is used.
final class DiagnosticCollector {
  private(set) var diagnostics: [XMLDiagnostic] = []

  /// The pointer handed to libxml2 as error context. Keep `self` alive while libxml2 may use it.
  var context: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

  /// Whether an error (not just a warning) was reported.
  var hasErrors: Bool { diagnostics.contains { $0.severity != .warning } }

  static func from(_ context: UnsafeMutableRawPointer) -> DiagnosticCollector {
    Unmanaged<DiagnosticCollector>.fromOpaque(context).takeUnretainedValue()
  }

  func record(_ error: UnsafePointer<xmlError>) {
    guard diagnostics.count < XMLError.diagnosticLimit else { return }
    let e = error.pointee
    let severity: XMLDiagnostic.Severity
    switch e.level {
    case XML_ERR_NONE: return
    case XML_ERR_WARNING: severity = .warning
    case XML_ERR_ERROR: severity = .error
    default: severity = .fatal
    }
    var message = e.message.map { String(cString: $0) } ?? "libxml2 error \(e.code)"
    while let last = message.last, last.isWhitespace { message.removeLast() }
    var nodePath: String?
    if let node = e.node,
      e.domain == Int32(XML_FROM_SCHEMASV.rawValue) || e.domain == Int32(XML_FROM_SCHEMASP.rawValue)
    {
      nodePath = LibXML2.path(of: node.assumingMemoryBound(to: xmlNode.self))
    }
    diagnostics.append(
      XMLDiagnostic(
        severity: severity,
        message: message,
        file: e.file.map { String(cString: $0) },
        line: e.line > 0 ? Int(e.line) : nil,
        column: e.int2 > 0 ? Int(e.int2) : nil,
        nodePath: nodePath
      ))
  }

  /// Records that a load of `resource` was refused (see ``LibXML2/refusingExternalLoads(_:_:)``). The
  /// name comes from the untrusted document: it is shortened and its control characters escaped.
  func recordRefusedLoad(of resource: String) {
    guard diagnostics.count < XMLError.diagnosticLimit else { return }
    diagnostics.append(
      XMLDiagnostic(
        severity: .error,
        message: "refused to load \"\(LibXML2.shown(resource))\": a schema or document read from untrusted bytes may not load anything"
      ))
  }

  /// Records an error of our own (not libxml2's) about `node`.
  func record(_ message: String, at node: xmlNodePtr) {
    guard diagnostics.count < XMLError.diagnosticLimit else { return }
    let line = Int(xmlGetLineNo(node))
    diagnostics.append(
      XMLDiagnostic(severity: .error, message: message, line: line > 0 ? line : nil, nodePath: LibXML2.path(of: node)))
  }

  func error(_ kind: XMLError.Kind, fallbackMessage: String) -> XMLError {
    XMLError(kind: kind, diagnostics: diagnostics, fallbackMessage: fallbackMessage)
  }

  /// Runs `body` with this collector installed as the calling thread's structured error handler
  /// (libxml2 keeps it per thread), restoring the previous handler afterwards. `body` must be
  /// synchronous, so it cannot move to another thread while the handler is installed.
  func installedAsThreadHandler<R>(_ body: () throws -> R) rethrows -> R {
    var previousHandler: xmlStructuredErrorFunc?
    var previousContext: UnsafeMutableRawPointer?
    clibxml2_get_structured_error(&previousHandler, &previousContext)
    xmlSetStructuredErrorFunc(context, collectDiagnostic)
    defer { xmlSetStructuredErrorFunc(previousContext, previousHandler) }
    return try withExtendedLifetime(self) { try body() }
  }
}

/// libxml2 structured error handler whose context is a `DiagnosticCollector`.
func collectDiagnostic(_ context: UnsafeMutableRawPointer?, _ error: xmlErrorPtr?) {
  guard let context, let error else { return }
  DiagnosticCollector.from(context).record(error)
}

/// libxml2 structured error handler for parser contexts: libxml2 passes the parser context, whose
/// `_private` field holds the `DiagnosticCollector`.
func collectParserDiagnostic(_ context: UnsafeMutableRawPointer?, _ error: xmlErrorPtr?) {
  guard let context, let error else { return }
  let parser = context.assumingMemoryBound(to: xmlParserCtxt.self)
  guard let collector = parser.pointee._private else { return }
  DiagnosticCollector.from(collector).record(error)
}
