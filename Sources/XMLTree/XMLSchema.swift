import CLibXML2

/// A compiled W3C XML Schema (XSD 1.0), for validating documents.
///
/// Two sources, two levels of trust:
/// - ``init(contentsOfFile:)`` is for trusted schemas (files shipped with the program): libxml2
///   reads them, and the files they `xs:include`/`xs:import`/`xs:redefine` through relative
///   `schemaLocation`s, from the local file system, with entity substitution. Network access is
///   disabled for the whole module (see `libxml2Setup`), so remote `schemaLocation`s fail to load
///   instead of being fetched.
/// - ``init(untrustedBytes:url:)`` is for a schema that came with the data (for example inside a
///   package to verify): it is compiled from memory and may not load anything at all.
///
/// Validation (``validate(_:)``) never loads anything.
///
/// Not `Sendable`: load one schema per task (or share it only from one task at a time).
public final class XMLSchema {
  /// The owned compiled schema.
  fileprivate let schema: xmlSchemaPtr
  /// The schema document of ``init(untrustedBytes:url:)``; the compiled schema points into it, so it
  /// lives as long (released after `deinit` has freed the schema).
  private let document: XMLDocument?

  /// The elements of the XML Schema namespace that name another schema document to read.
  static let referencingElements = ["import", "include", "redefine", "override"]

  /// Compiles a schema given as bytes that nobody vouches for, without letting it reach anything
  /// outside those bytes:
  ///
  /// - it is parsed from memory like ``XMLDocument/init(bytes:url:)`` (no entity expansion, no DTD
  ///   loaded, no network), and a document type declaration (`<!DOCTYPE`) is refused outright;
  /// - an `xs:include`, `xs:redefine` or `xs:override`, or an `xs:import` with a `schemaLocation`,
  ///   anywhere in the document, is refused before compiling: none can be honoured without reading
  ///   another file or URL (`file:///dev/stdin`, a FIFO, `/etc/passwd`, a relative path, `http:`…);
  /// - while the schema is compiled every external load is refused besides (libxml2's loader hook,
  ///   switched per thread), so nothing libxml2 might still try to read is ever opened.
  ///
  /// Error messages name the refused element or resource; nothing is read, so no local content can
  /// appear in them.
  ///
  /// - Parameters:
  ///   - bytes: The schema document.
  ///   - url: The name used in error messages; `nil` for none.
  /// - Throws: ``XMLError`` of kind `.schema`.
  public init(untrustedBytes bytes: some Collection<UInt8>, url: String? = nil) throws {
    LibXML2.ensureInitialized()
    let refusals = DiagnosticCollector()
    let document: XMLDocument
    do {
      document = try LibXML2.refusingExternalLoads(refusals) { try XMLDocument(bytes: bytes, url: url) }
    } catch let error as XMLError {
      throw XMLError(kind: .schema, diagnostics: refusals.diagnostics + error.diagnostics, fallbackMessage: error.message)
    }
    let problems = DiagnosticCollector()
    let doc = document.doc
    if doc.pointee.intSubset != nil || doc.pointee.extSubset != nil {
      let node = xmlNodePtr(OpaquePointer(doc.pointee.intSubset ?? doc.pointee.extSubset!))
      problems.record("a document type declaration (<!DOCTYPE) is not allowed in an untrusted schema", at: node)
    }
    let references = try document.nodes(
      matching: Self.referencingElements.map { "//xs:\($0)" }.joined(separator: " | "), namespaces: ["xs": XMLNamespaces.xsd])
    for element in references {
      let location = element.attribute("schemaLocation")
      guard element.name != "import" || location != nil else { continue }
      problems.record(
        "xs:\(element.name)" + (location.map { " of \"\(LibXML2.shown($0))\"" } ?? "")
          + " refused: an untrusted schema may not load another schema (no file, no URL)", at: element.node)
    }
    if problems.hasErrors {
      throw problems.error(.schema, fallbackMessage: "schema refused")
    }
    guard let parserContext = xmlSchemaNewDocParserCtxt(doc) else { fatalError("libxml2: out of memory") }
    defer { xmlSchemaFreeParserCtxt(parserContext) }
    let collector = DiagnosticCollector()
    xmlSchemaSetParserStructuredErrors(parserContext, collectDiagnostic, collector.context)
    let parsed = LibXML2.refusingExternalLoads(refusals) {
      collector.installedAsThreadHandler { xmlSchemaParse(parserContext) }
    }
    guard let parsed, !refusals.hasErrors else {
      if let parsed { xmlSchemaFree(parsed) }
      throw XMLError(
        kind: .schema, diagnostics: refusals.diagnostics + collector.diagnostics,
        fallbackMessage: "cannot compile schema \(url ?? "from memory")")
    }
    schema = parsed
    self.document = document
  }

  /// Loads and compiles the schema in the file at `path`, resolving relative `schemaLocation`s
  /// against it.
  ///
  /// - Throws: ``XMLError`` of kind `.schema` with all of libxml2's messages (each with file and
  ///   line) if the file is missing, not well-formed or not a valid schema.
  public init(contentsOfFile path: String) throws {
    LibXML2.ensureInitialized()
    guard let parserContext = xmlSchemaNewParserCtxt(path) else { fatalError("libxml2: out of memory") }
    defer { xmlSchemaFreeParserCtxt(parserContext) }
    let collector = DiagnosticCollector()
    xmlSchemaSetParserStructuredErrors(parserContext, collectDiagnostic, collector.context)
    // Well-formedness errors in the schema files are reported by internal parser contexts through
    // the thread's handler, so install the collector there too for the duration of the call.
    let parsed = collector.installedAsThreadHandler { xmlSchemaParse(parserContext) }
    guard let parsed else {
      throw collector.error(.schema, fallbackMessage: "cannot load schema \(path)")
    }
    schema = parsed
    document = nil
  }

  deinit {
    xmlSchemaFree(schema)
  }

  /// Validates `document` against this schema.
  ///
  /// - Throws: ``XMLError`` of kind `.validation` whose ``XMLError/diagnostics`` hold every
  ///   validity error (capped at ``XMLError/diagnosticLimit``), each with the line (for parsed
  ///   documents) and the node's path such as `/assessment-results/metadata` (for all documents).
  public func validate(_ document: XMLDocument) throws {
    guard let validationContext = xmlSchemaNewValidCtxt(schema) else { fatalError("libxml2: out of memory") }
    defer { xmlSchemaFreeValidCtxt(validationContext) }
    let collector = DiagnosticCollector()
    xmlSchemaSetValidStructuredErrors(validationContext, collectDiagnostic, collector.context)
    // A compiled schema needs nothing more; should libxml2 still try to load a resource (a schema
    // named by the document's xsi:schemaLocation, say), it is refused.
    let status = LibXML2.refusingExternalLoads(collector) {
      withExtendedLifetime(collector) { xmlSchemaValidateDoc(validationContext, document.doc) }
    }
    if status != 0 || collector.hasErrors {
      throw collector.error(
        .validation,
        fallbackMessage: status < 0 ? "internal error while validating" : "document is not valid (code \(status))")
    }
  }

  /// Whether `document` is valid; see ``validate(_:)`` for the messages.
  public func isValid(_ document: XMLDocument) -> Bool {
    (try? validate(document)) != nil
  }
}

/// Validates a document against an ``XMLSchema`` as its bytes come, a piece at a time, without
/// building a tree: libxml2's push parser with the schema's validation plugged into its SAX events
/// (`xmlSchemaSAXPlug`). What it validates is the serialized document itself, so it serves writers
/// that never hold the whole document (``XMLDocument/writeXML(indented:streaming:to:)``); memory
/// stays at a few MB whatever the document's size.
///
/// Not `Sendable`: feed it from one thread (it may be a thread other than the writer's).
public final class XMLStreamValidator {
  private let schema: XMLSchema
  private let validation: xmlSchemaValidCtxtPtr
  private let parser: xmlParserCtxtPtr
  private var plug: xmlSchemaSAXPlugPtr?
  private let collector = DiagnosticCollector()
  private let name: String

  /// A validator for one document; `url` names it in messages.
  public init(schema: XMLSchema, url: String? = nil) {
    LibXML2.ensureInitialized()
    self.schema = schema
    name = url ?? "document"
    guard let validation = xmlSchemaNewValidCtxt(schema.schema) else { fatalError("libxml2: out of memory") }
    self.validation = validation
    // A SAX handler doing nothing but validation: no tree is built.
    var sax = xmlSAXHandler()
    sax.initialized = XML_SAX2_MAGIC
    guard let parser = xmlCreatePushParserCtxt(&sax, nil, nil, 0, url) else { fatalError("libxml2: out of memory") }
    self.parser = parser
    _ = xmlCtxtUseOptions(parser, Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue))
    xmlSchemaSetValidStructuredErrors(validation, collectDiagnostic, collector.context)
    plug = xmlSchemaSAXPlug(validation, &parser.pointee.sax, &parser.pointee.userData)
    if plug == nil { fatalError("libxml2: cannot plug schema validation into the parser") }
  }

  deinit {
    if let plug { xmlSchemaSAXUnplug(plug) }
    xmlFreeParserCtxt(parser)
    xmlSchemaFreeValidCtxt(validation)
  }

  /// Parses and validates the next bytes of the document.
  ///
  /// - Throws: ``XMLError`` of kind `.validation` at the first well-formedness or validity error.
  public func feed(_ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    repeat {
      let count = min(bytes.count - offset, 1 << 26)
      let chunk = bytes.baseAddress.map { UnsafeRawPointer($0 + offset).assumingMemoryBound(to: CChar.self) }
      try parse(chunk, count, terminate: false)
      offset += count
    } while offset < bytes.count
  }

  /// Ends the document and throws unless all of it was well-formed and valid.
  public func finish() throws {
    try parse(nil, 0, terminate: true)
    if let plug {
      xmlSchemaSAXUnplug(plug)
      self.plug = nil
    }
    if parser.pointee.wellFormed == 0 || xmlSchemaIsValid(validation) != 1 || collector.hasErrors {
      throw collector.error(.validation, fallbackMessage: "\(name) is not valid")
    }
  }

  private func parse(_ chunk: UnsafePointer<CChar>?, _ count: Int, terminate: Bool) throws {
    let status = LibXML2.refusingExternalLoads(collector) {
      collector.installedAsThreadHandler { xmlParseChunk(parser, chunk, Int32(count), terminate ? 1 : 0) }
    }
    if status != 0 || collector.hasErrors || parser.pointee.wellFormed == 0 {
      throw collector.error(.validation, fallbackMessage: "\(name) is not well-formed (libxml2 error \(status))")
    }
  }
}
