import CLibXML2

/// Part of an HTML document written by ``XMLDocument/writeHTML5(streaming:to:)`` while the document
/// is serialized, instead of being held in its tree: elements of other documents, each built, written
/// and released in turn (a report of 200 accounts need not hold 200 accounts' sections at once).
public struct XMLStreamedHTML {
  /// The element whose content is written: in the document, without children, not inside another
  /// streamed element.
  public var parent: XMLElement
  /// Writes the content with ``XMLHTMLFragmentWriter/write(_:)``, one element at a time.
  public var write: (XMLHTMLFragmentWriter) throws -> Void

  public init(parent: XMLElement, write: @escaping (XMLHTMLFragmentWriter) throws -> Void) {
    self.parent = parent
    self.write = write
  }
}

/// Writes elements of any document into the content of a streamed element of an HTML document
/// (``XMLStreamedHTML``), serialized as ``XMLDocument/html5Bytes(indented:)`` serializes elements.
public final class XMLHTMLFragmentWriter {
  private let output: XMLOutput

  init(output: @escaping XMLOutput) { self.output = output }

  /// Writes `element` with its subtree as the next child of the streamed element: libxml2's XHTML
  /// serialization, the text of `script` and `style` elements unescaped where polyglot markup allows
  /// it. Namespaces declared above `element` in its own document are not repeated: the document
  /// written into must have the same ones in scope (the XHTML namespace, for an HTML page).
  public func write(_ element: XMLElement) throws {
    var marked: [xmlNodePtr] = []
    XMLDocument.markRawText(in: element.node, marked: &marked)
    defer { for node in marked { node.pointee.name = clibxml2_text_name() } }
    let options = XML_SAVE_XHTML.rawValue | XML_SAVE_NO_DECL.rawValue
    try element.document.save(options: Int32(options), to: output) { xmlSaveTree($0, element.node) }
  }
}

extension XMLDocument {
  /// Writes the document to `output` as ``html5Bytes(indented:)`` gives it, with the content of each
  /// element of `streaming` written in its place while the document is serialized (the same bytes as
  /// had those elements been built in the tree).
  ///
  /// How: the document is serialized into memory with a placeholder element in each streamed element
  /// and written up to each placeholder; there the streamed elements are written, then the rest. The
  /// placeholder's name is drawn at random, and text cannot imitate it (libxml2 escapes `<`); should
  /// it appear other than exactly once, nothing is written and ``XMLError`` (kind `.output`) is thrown.
  public func writeHTML5(streaming: [XMLStreamedHTML], to output: XMLOutput) throws {
    var markers: [[UInt8]] = []
    var placeholders: [xmlNodePtr] = []
    let tag = String(UInt64.random(in: 0...UInt64.max), radix: 36) + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    for (i, s) in streaming.enumerated() {
      precondition(s.parent.document === self, "a streamed element belongs to another document")
      precondition(s.parent.node.pointee.children == nil, "a streamed element must have no children yet")
      let name = "xmltree-streamed-\(i)-\(tag)"
      guard let node = LibXML2.withXMLChars(name, { xmlNewDocNode(doc, s.parent.node.pointee.ns, $0, nil) }) else {
        fatalError("libxml2: out of memory")
      }
      xmlAddChild(s.parent.node, node)
      placeholders.append(node)
      // XHTML output writes an empty element other than the HTML void ones with an end tag.
      let prefix = s.parent.node.pointee.ns.flatMap { LibXML2.string($0.pointee.prefix) }.map { $0 + ":" } ?? ""
      markers.append(Array("<\(prefix)\(name)></\(prefix)\(name)>".utf8))
    }
    let skeleton = html5Bytes()
    for node in placeholders {
      xmlUnlinkNode(node)
      xmlFreeNode(node)
    }
    guard let located = Self.locate(markers, in: skeleton) else {
      throw XMLError(kind: .output, diagnostics: [], fallbackMessage: "the document's text imitates the streaming placeholder")
    }
    try withoutActuallyEscaping(output) { output in
      let fragments = XMLHTMLFragmentWriter(output: output)
      try skeleton.withUnsafeBytes { bytes in
        var cursor = 0
        for (position, index) in located {
          try output(UnsafeRawBufferPointer(rebasing: bytes[cursor..<position]))
          try streaming[index].write(fragments)
          cursor = position + markers[index].count
        }
        try output(UnsafeRawBufferPointer(rebasing: bytes[cursor...]))
      }
    }
  }
}
