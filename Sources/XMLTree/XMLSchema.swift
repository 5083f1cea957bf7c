import CLibXML2

/// A compiled W3C XML Schema (XSD 1.0), for validating documents.
///
/// Schemas are trusted input (files shipped with the program): libxml2 reads them, and the files
/// they `xs:include`/`xs:import`/`xs:redefine` through relative `schemaLocation`s, from the local file
/// system, with entity substitution. Network access is disabled for the whole module (see
/// `libxml2Setup`), so remote `schemaLocation`s fail to load instead of being fetched.
///
/// Not `Sendable`: load one schema per task (or share it only from one task at a time).
public final class XMLSchema {
  /// The owned compiled schema.
  private let schema: xmlSchemaPtr

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
    let status = withExtendedLifetime(collector) { xmlSchemaValidateDoc(validationContext, document.doc) }
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
