import CLibXML2

/// An XML document: owns a libxml2 tree (`xmlDocPtr`) and frees it when the last reference goes.
///
/// Elements (``XMLElement``) keep their document alive, so a handle never outlives its tree.
/// Elements taken out of the tree (``XMLElement/remove()``) stay allocated until the document is
/// freed, so handles to them (or into them) remain valid and they can be inserted again.
///
/// Not `Sendable`: a document and its elements must be used from one task at a time.
public final class XMLDocument {
  /// The owned libxml2 document.
  let doc: xmlDocPtr
  /// Top-level nodes unlinked from the tree; freed (before the document) in `deinit`.
  var detachedNodes: Set<xmlNodePtr> = []

  /// Creates an empty XML 1.0 document without a root element.
  public init() {
    LibXML2.ensureInitialized()
    guard let doc = xmlNewDoc("1.0") else { fatalError("libxml2: out of memory") }
    self.doc = doc
  }

  /// Takes ownership of a parsed document.
  private init(owning doc: xmlDocPtr) {
    self.doc = doc
  }

  /// Creates a document with a root element.
  ///
  /// - Parameters:
  ///   - name: The root's local name (an XML name without colon).
  ///   - namespaceURI: The root's namespace, declared on the root; `nil` for none.
  ///   - prefix: The prefix for `namespaceURI`; `nil` declares it as the default namespace.
  public convenience init(rootElement name: String, namespaceURI: String? = nil, prefix: String? = nil) {
    self.init()
    setRootElement(name, namespaceURI: namespaceURI, prefix: prefix)
  }

  /// Parses the file at `path`. See ``init(bytes:url:)`` for the parser settings.
  ///
  /// - Throws: ``XMLError`` of kind `.parse` with libxml2's message, file and line
  ///   (a missing file is reported the same way).
  public convenience init(contentsOfFile path: String) throws {
    let doc = try Self.parse(description: path) { context, options in
      xmlCtxtReadFile(context, path, nil, options)
    }
    self.init(owning: doc)
  }

  /// Parses a document from bytes (for example `Data` or `[UInt8]`); the encoding is taken from the
  /// XML declaration or byte order mark, UTF-8 by default.
  ///
  /// Parser settings, chosen for untrusted input:
  /// - entities are not expanded (no `XML_PARSE_NOENT`): references stay entity-reference nodes and
  ///   are written back as `&name;`; external entities are never read (no XXE);
  /// - no external DTD is loaded (no `XML_PARSE_DTDLOAD`/`DTDATTR`/`DTDVALID`) and nothing is
  ///   fetched from the network (`XML_PARSE_NONET`);
  /// - well-formedness and namespace errors fail the parse; warnings are ignored. References to
  ///   undeclared entities (e.g. `&nbsp;` from HTML) are errors: use numeric character references.
  ///
  /// - Parameters:
  ///   - bytes: The document.
  ///   - url: The name used in error messages and as base URL; `nil` for none.
  /// - Throws: ``XMLError`` of kind `.parse`.
  public convenience init(bytes: some Collection<UInt8>, url: String? = nil) throws {
    let doc = try Self.parseMemory(Array(bytes), url: url, encoding: nil)
    self.init(owning: doc)
  }

  /// Parses a document from a string. Its characters are used as is; an `encoding` in the XML
  /// declaration is ignored. See ``init(bytes:url:)`` for the parser settings.
  ///
  /// - Throws: ``XMLError`` of kind `.parse`.
  public convenience init(string: String, url: String? = nil) throws {
    let doc = try Self.parseMemory(Array(string.utf8), url: url, encoding: "UTF-8")
    self.init(owning: doc)
  }

  deinit {
    for node in detachedNodes { xmlFreeNode(node) }
    xmlFreeDoc(doc)
  }

  // MARK: Parsing

  /// `XML_PARSE_NONET | XML_PARSE_BIG_LINES` (line numbers above 65535); see ``init(bytes:url:)``.
  private static let parseOptions = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue)

  private static func parseMemory(_ bytes: [UInt8], url: String?, encoding: String?) throws -> xmlDocPtr {
    guard bytes.count <= Int(Int32.max) else {
      throw XMLError(kind: .parse, diagnostics: [], fallbackMessage: "document larger than 2 GiB")
    }
    return try parse(description: url ?? "XML document") { context, options in
      bytes.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) { chars in
          xmlCtxtReadMemory(context, chars.baseAddress, Int32(chars.count), url, encoding, options)
        }
      }
    }
  }

  /// Runs `read` with a fresh parser context whose errors go to a per-call collector.
  private static func parse(
    description: String, _ read: (xmlParserCtxtPtr, Int32) -> xmlDocPtr?
  ) throws -> xmlDocPtr {
    LibXML2.ensureInitialized()
    guard let context = xmlNewParserCtxt() else { fatalError("libxml2: out of memory") }
    defer { xmlFreeParserCtxt(context) }
    let collector = DiagnosticCollector()
    // libxml2 calls sax->serror with the parser context as user data; `_private` is ours.
    context.pointee.sax.pointee.serror = collectParserDiagnostic
    context.pointee._private = collector.context
    let doc = withExtendedLifetime(collector) { read(context, parseOptions) }
    context.pointee._private = nil
    if let doc {
      if context.pointee.wellFormed != 0, !collector.hasErrors { return doc }
      xmlFreeDoc(doc)
    }
    throw collector.error(.parse, fallbackMessage: "cannot parse \(description)")
  }

  // MARK: Tree

  /// The document (root) element, or `nil` if there is none.
  public var rootElement: XMLElement? {
    xmlDocGetRootElement(doc).map { XMLElement($0, in: self) }
  }

  /// Replaces the root element (if any) with a new, empty one and returns it. The old root is
  /// removed like ``XMLElement/remove()`` (handles to it stay valid).
  ///
  /// - Parameters:
  ///   - name: The local name; must be an XML name without colon.
  ///   - namespaceURI: The namespace, declared on the new root; `nil` for none.
  ///   - prefix: The prefix for `namespaceURI`; `nil` declares the default namespace.
  @discardableResult
  public func setRootElement(_ name: String, namespaceURI: String? = nil, prefix: String? = nil) -> XMLElement {
    precondition(LibXML2.isNCName(name), "invalid XML element name \(name.debugDescription)")
    guard let node = LibXML2.withXMLChars(name, { xmlNewDocNode(doc, nil, $0, nil) }) else {
      fatalError("libxml2: out of memory")
    }
    if let old = xmlDocSetRootElement(doc, node) { detachedNodes.insert(old) }
    let root = XMLElement(node, in: self)
    if let namespaceURI {
      root.applyNamespace(.uri(namespaceURI, prefix: prefix))
    }
    return root
  }

  /// The document's URL (the file path or `url` it was parsed from), if any.
  public var url: String? {
    LibXML2.string(doc.pointee.URL)
  }

  // MARK: XPath

  /// Evaluates an XPath 1.0 expression with the document as context node and returns the selected
  /// elements in document order (other selected nodes, such as text or attributes, are skipped).
  ///
  /// ```swift
  /// let slots = try doc.nodes(
  ///   matching: "//h:*[@data-slot='findings']", namespaces: ["h": "http://www.w3.org/1999/xhtml"])
  /// ```
  ///
  /// - Parameters:
  ///   - xpath: The expression. Names in a namespace (including the default namespace of an XHTML
  ///     template) must use a prefix registered in `namespaces`.
  ///   - namespaces: Prefix to namespace URI bindings for the expression.
  /// - Throws: ``XMLError`` of kind `.xpath` if the expression is invalid or does not select nodes.
  public func nodes(matching xpath: String, namespaces: [String: String] = [:]) throws -> [XMLElement] {
    try evaluate(xpath, namespaces: namespaces, contextNode: xmlNodePtr(OpaquePointer(doc)))
  }

  /// The first element ``nodes(matching:namespaces:)`` selects, or `nil`.
  public func firstNode(matching xpath: String, namespaces: [String: String] = [:]) throws -> XMLElement? {
    try nodes(matching: xpath, namespaces: namespaces).first
  }

  /// Evaluates `xpath` with `contextNode`, collecting errors per call.
  func evaluate(_ xpath: String, namespaces: [String: String], contextNode: xmlNodePtr) throws -> [XMLElement] {
    guard let context = xmlXPathNewContext(doc) else { fatalError("libxml2: out of memory") }
    defer { xmlXPathFreeContext(context) }
    let collector = DiagnosticCollector()
    context.pointee.error = collectDiagnostic
    context.pointee.userData = collector.context
    context.pointee.node = contextNode
    for (prefix, uri) in namespaces.sorted(by: { $0.key < $1.key }) {
      guard LibXML2.isNCName(prefix), !uri.utf8.contains(0),
        LibXML2.withXMLChars(prefix, { p in LibXML2.withXMLChars(uri) { xmlXPathRegisterNs(context, p, $0) } }) == 0
      else {
        throw XMLError(
          kind: .xpath, diagnostics: [], fallbackMessage: "cannot register XPath namespace prefix \(prefix.debugDescription)")
      }
    }
    let result = withExtendedLifetime(collector) {
      LibXML2.withXMLChars(xpath) { xmlXPathEvalExpression($0, context) }
    }
    guard let result else {
      throw collector.error(.xpath, fallbackMessage: "invalid XPath expression \(xpath.debugDescription)")
    }
    defer { xmlXPathFreeObject(result) }
    guard result.pointee.type == XPATH_NODESET else {
      throw XMLError(
        kind: .xpath, diagnostics: collector.diagnostics,
        fallbackMessage: "XPath expression \(xpath.debugDescription) does not select nodes")
    }
    guard let set = result.pointee.nodesetval, let table = set.pointee.nodeTab else { return [] }
    var elements: [XMLElement] = []
    for index in 0..<Int(set.pointee.nodeNr) {
      if let node = table[index], node.pointee.type == XML_ELEMENT_NODE {
        elements.append(XMLElement(node, in: self))
      }
    }
    return elements
  }

  // MARK: Serialization

  /// The document as UTF-8 XML, starting with `<?xml version="1.0" encoding="UTF-8"?>` and a line
  /// break, ending with a line break. Output depends only on the tree (attributes keep their order).
  ///
  /// Text and attribute values are escaped by libxml2 (`&`, `<`, `>`, and in attributes `"` and
  /// tab/line-break characters as character references).
  ///
  /// - Parameter indented: Indent nested elements by two spaces. Elements that contain text are left
  ///   as they are, so mixed content keeps its whitespace.
  public func xmlBytes(indented: Bool = false) -> [UInt8] {
    let options = indented ? XML_SAVE_FORMAT.rawValue : 0
    return save(options: Int32(options)) { xmlSaveDoc($0, doc) }
  }

  /// ``xmlBytes(indented:)`` as a string.
  public func xmlString(indented: Bool = false) -> String {
    String(decoding: xmlBytes(indented: indented), as: UTF8.self)
  }

  /// The document as an HTML5 document in XHTML (polyglot) syntax, UTF-8, without XML declaration:
  /// `<!DOCTYPE html>`, a line break, then the root element serialized by libxml2's XHTML rules, and
  /// a final line break. The root should be `<html>` in the XHTML namespace
  /// (`http://www.w3.org/1999/xhtml`); any DOCTYPE of the document itself is not written.
  ///
  /// - Empty elements are written with an end tag (`<div></div>`, `<script src="…"></script>`);
  ///   only the HTML4 void elements (`area`, `base`, `basefont`, `br`, `col`, `frame`, `hr`, `img`,
  ///   `input`, `isindex`, `link`, `meta`, `param`) are self-closed, as `<br />`. HTML5's newer void
  ///   elements (`wbr`, `source`, `track`, `embed`) get an end tag, which browsers ignore.
  /// - Text inside `<script>` and `<style>` is written unescaped when it contains no `<`, `&` or
  ///   `]]>` (so CSS `a > b` works); otherwise it is escaped, which is safe but will not run as
  ///   intended: keep such characters out of inline scripts and styles.
  /// - No `<meta http-equiv="Content-Type">` is added (libxml2's XHTML mode would); put
  ///   `<meta charset="utf-8" />` in the template's `<head>`.
  /// - libxml2's XHTML rules also add `xml:lang` next to `lang` and `id` next to `name` on some
  ///   elements (as XHTML 1.0 required); both are harmless in HTML5.
  ///
  /// - Parameter indented: Indent nested elements (only where an element has no text children).
  public func html5Bytes(indented: Bool = false) -> [UInt8] {
    var output = Array("<!DOCTYPE html>\n".utf8)
    guard let root = xmlDocGetRootElement(doc) else { return output }
    let options = XML_SAVE_XHTML.rawValue | XML_SAVE_NO_DECL.rawValue | (indented ? XML_SAVE_FORMAT.rawValue : 0)
    withDetachedHTMLRoot(root) { output += save(options: Int32(options)) { xmlSaveTree($0, root) } }
    output.append(UInt8(ascii: "\n"))
    return output
  }

  /// Runs `body` with the root element `root` detached from the document and the text of its
  /// `script` and `style` elements marked "no escaping" where polyglot markup allows it; both are
  /// undone afterwards. (libxml2 adds a Content-Type `<meta>` to `<head>` only when `<html>` is the
  /// document's root. Serializing a deep copy instead doubled the memory of a large report: 260 MB
  /// more for 11,000 findings.)
  func withDetachedHTMLRoot<R>(_ root: xmlNodePtr, _ body: () throws -> R) rethrows -> R {
    let next = root.pointee.next
    let previous = root.pointee.prev
    xmlUnlinkNode(root)
    var marked: [xmlNodePtr] = []
    Self.markRawText(in: root, marked: &marked)
    defer {
      for node in marked { node.pointee.name = clibxml2_text_name() }
      if let next {
        xmlAddPrevSibling(next, root)
      } else if let previous {
        xmlAddNextSibling(previous, root)
      } else {
        _ = xmlDocSetRootElement(doc, root)
      }
    }
    return try body()
  }

  /// ``html5Bytes(indented:)`` as a string.
  public func html5String(indented: Bool = false) -> String {
    String(decoding: html5Bytes(indented: indented), as: UTF8.self)
  }

  /// Serializes with a libxml2 save context writing UTF-8 into a memory buffer.
  func save(options: Int32, _ write: (xmlSaveCtxtPtr) -> Void) -> [UInt8] {
    guard let buffer = xmlBufferCreate() else { fatalError("libxml2: out of memory") }
    defer { xmlBufferFree(buffer) }
    guard let context = xmlSaveToBuffer(buffer, "UTF-8", options) else { fatalError("libxml2: out of memory") }
    write(context)
    xmlSaveClose(context)
    guard let content = xmlBufferContent(buffer) else { return [] }
    return Array(UnsafeBufferPointer(start: content, count: Int(xmlBufferLength(buffer))))
  }

  /// Marks text children of `script` and `style` elements (no namespace or XHTML) that need no
  /// escaping in polyglot markup as "no escaping" text, throughout the subtree at `node`, adding each
  /// to `marked`.
  static func markRawText(in node: xmlNodePtr, marked: inout [xmlNodePtr]) {
    var child = node.pointee.children
    while let current = child {
      if current.pointee.type == XML_ELEMENT_NODE {
        markRawText(in: current, marked: &marked)
      }
      child = current.pointee.next
    }
    guard node.pointee.type == XML_ELEMENT_NODE,
      let name = LibXML2.string(node.pointee.name), name == "script" || name == "style",
      node.pointee.ns == nil || LibXML2.string(node.pointee.ns.pointee.href) == XMLNamespaces.xhtml
    else { return }
    child = node.pointee.children
    while let current = child {
      if current.pointee.type == XML_TEXT_NODE, let text = LibXML2.string(current.pointee.content),
        !text.contains("<"), !text.contains("&"), !text.contains("]]>")
      {
        current.pointee.name = clibxml2_text_noenc_name()
        marked.append(current)
      }
      child = current.pointee.next
    }
  }
}

/// Well-known namespace URIs.
public enum XMLNamespaces {
  /// XHTML: `http://www.w3.org/1999/xhtml`.
  public static let xhtml = "http://www.w3.org/1999/xhtml"
  /// The `xml:` prefix namespace: `http://www.w3.org/XML/1998/namespace`.
  public static let xml = "http://www.w3.org/XML/1998/namespace"
  /// XML Schema instance (`xsi:`): `http://www.w3.org/2001/XMLSchema-instance`.
  public static let xsi = "http://www.w3.org/2001/XMLSchema-instance"
  /// XML Schema (`xs:`): `http://www.w3.org/2001/XMLSchema`.
  public static let xsd = "http://www.w3.org/2001/XMLSchema"
  /// SVG: `http://www.w3.org/2000/svg`.
  public static let svg = "http://www.w3.org/2000/svg"
  /// OSCAL 1.0: `http://csrc.nist.gov/ns/oscal/1.0`.
  public static let oscal = "http://csrc.nist.gov/ns/oscal/1.0"
}
