import CLibXML2

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension String {
  /// Calls `body` with the string's UTF-8 as a NUL-terminated C string typed as `xmlChar` (no copy
  /// for most strings: Swift keeps a terminating NUL after their bytes).
  fileprivate func withXMLChars<R>(_ body: (UnsafePointer<xmlChar>) throws -> R) rethrows -> R {
    try withCString { try body(UnsafeRawPointer($0).assumingMemoryBound(to: xmlChar.self)) }
  }
}

/// Where a document written piece by piece goes (``XMLDocument/writeXML(indented:streaming:to:)``,
/// ``XMLDocument/writeHTML5(indented:to:)``): called with each piece of output in order, a few KB at a
/// time as libxml2's output buffer fills. An error it throws stops the writing and is rethrown.
public typealias XMLOutput = (UnsafeRawBufferPointer) throws -> Void

/// Something elements are written into, one call at a time: a tree (``XMLTreeWriter``) or a stream of
/// bytes (``XMLStreamWriter``). Code written against it gives the same document either way, so a
/// renderer has one description of its repeated elements whether it builds them or streams them.
///
/// Calls nest like the document: ``startElement(_:)``, then the element's attributes, then its
/// content (text, or child elements), then ``endElement()``. Text and attribute values are
/// sanitised like ``XMLElement``'s and escaped by libxml2.
public protocol XMLContentWriter: AnyObject {
  /// Opens a child element of the current element (a local name, in the current element's namespace).
  func startElement(_ name: String)
  /// Sets an attribute of the element just opened (before any content).
  func attribute(_ name: String, _ value: String)
  /// Appends text to the current element (empty text adds nothing).
  func text(_ text: String)
  /// Closes the current element.
  func endElement()
}

extension XMLContentWriter {
  /// An element with `attributes` (in order, `nil` values left out) and no content.
  public func emptyElement(_ name: String, _ attributes: KeyValuePairs<String, String?>) {
    startElement(name)
    for (key, value) in attributes { if let value { attribute(key, value) } }
    endElement()
  }

  /// An element holding only `text`.
  public func textElement(_ name: String, _ text: String) {
    startElement(name)
    self.text(text)
    endElement()
  }
}

/// Writes elements into a tree with ``XMLElement``: the children of the element it was made for.
public final class XMLTreeWriter: XMLContentWriter {
  private var open: [XMLElement]

  /// A writer whose elements become children of `element`; attributes written before any element is
  /// opened are set on `element` itself.
  public init(into element: XMLElement) {
    open = [element]
  }

  public func startElement(_ name: String) { open.append(open[open.count - 1].addChild(name)) }
  public func attribute(_ name: String, _ value: String) { open[open.count - 1].setAttribute(name, value) }
  public func text(_ text: String) { open[open.count - 1].addText(text) }
  public func endElement() {
    precondition(open.count > 1, "endElement without startElement")
    open.removeLast()
  }
}

/// Writes elements straight to bytes, without building a tree: libxml2's `xmlTextWriter` writes the
/// markup, text is escaped by libxml2's `xmlOutputBufferWriteEscape` and attribute values by
/// `xmlAttrSerializeTxtContent` — the functions its tree serializer uses — so the bytes are those
/// ``XMLDocument/xmlBytes(indented:)`` gives for the same elements in a tree (the tests compare them).
///
/// Made by ``XMLDocument/writeXML(indented:streaming:to:)`` for the content of the elements it
/// streams. In indented output an element holds either text or elements, not both (libxml2 does not
/// indent mixed content; a writer cannot know ahead which an element will hold).
///
/// Errors (libxml2's, or the output's) are kept: the writer then writes nothing more, and
/// ``check()`` throws the first one; check it now and then to stop early.
public final class XMLStreamWriter: XMLContentWriter {
  /// What an open element holds so far.
  private enum Content { case nothing, elements, text }

  private let sink: OutputSink
  private let buffer: xmlOutputBufferPtr
  private let writer: xmlTextWriterPtr
  /// A document declaring UTF-8, handed to libxml2's attribute escaping so that non-ASCII characters
  /// are kept as they are, as in a document saved as UTF-8 (without one they become references).
  private let utf8Document: xmlDocPtr
  private let scratch: xmlBufferPtr
  private var open: [Content] = []
  /// Indent as libxml2's formatted output does; `level` is that of the elements written at the top.
  var formatted = false
  var level = 0
  /// The prefix of the elements' namespace (nil: the default namespace, or none).
  var prefix: String?
  /// Elements written at the top since ``level`` was set.
  var topLevelCount = 0
  private var error: Error?
  private var checkedNames: Set<String> = []
  private static let spaces = [UInt8](repeating: UInt8(ascii: " "), count: 60)

  init(output: @escaping XMLOutput) {
    LibXML2.ensureInitialized()
    sink = OutputSink(output)
    guard let buffer = xmlOutputBufferCreateIO(OutputSink.write, nil, Unmanaged.passUnretained(sink).toOpaque(), nil),
      let writer = xmlNewTextWriter(buffer)
    else { fatalError("libxml2: out of memory") }
    self.buffer = buffer
    self.writer = writer  // owns `buffer` from here on
    guard let doc = xmlNewDoc("1.0"), let scratch = xmlBufferCreate() else { fatalError("libxml2: out of memory") }
    doc.pointee.encoding = UnsafePointer(xmlStrdup("UTF-8"))
    utf8Document = doc
    self.scratch = scratch
  }

  deinit {
    xmlFreeTextWriter(writer)
    xmlFreeDoc(utf8Document)
    xmlBufferFree(scratch)
  }

  public func startElement(_ name: String) {
    guard error == nil else { return }
    checkName(name)
    if let last = open.indices.last {
      precondition(!formatted || open[last] != .text, "indented output cannot mix text and elements in <\(name)>'s parent")
      if formatted && open[last] == .nothing { raw("\n") }  // ends the parent's start tag
      open[last] = .elements
    } else {
      topLevelCount += 1
    }
    if formatted { indent(level + open.count) }
    let status =
      if let prefix {
        prefix.withXMLChars { p in name.withXMLChars { xmlTextWriterStartElementNS(writer, p, $0, nil) } }
      } else {
        name.withXMLChars { xmlTextWriterStartElement(writer, $0) }
      }
    note(status)
    open.append(.nothing)
  }

  public func attribute(_ name: String, _ value: String) {
    guard error == nil else { return }
    precondition(open.last == .nothing, "attribute \(name) written after content")
    checkName(name)
    note(name.withXMLChars { xmlTextWriterStartAttribute(writer, $0) })
    xmlBufferEmpty(scratch)
    XMLCharacters.sanitized(value).withXMLChars { xmlAttrSerializeTxtContent(scratch, utf8Document, nil, $0) }
    note(xmlTextWriterWriteRawLen(writer, xmlBufferContent(scratch), xmlBufferLength(scratch)))
    note(xmlTextWriterEndAttribute(writer))
  }

  public func text(_ text: String) {
    guard error == nil, !text.isEmpty else { return }
    precondition(!open.isEmpty, "text outside an element")
    precondition(!formatted || open[open.count - 1] != .elements, "indented output cannot mix elements and text")
    raw("")  // ends the start tag
    open[open.count - 1] = .text
    note(XMLCharacters.sanitized(text).withXMLChars { xmlOutputBufferWriteEscape(buffer, $0, nil) })
  }

  public func endElement() {
    guard error == nil else { return }
    precondition(!open.isEmpty, "endElement without startElement")
    let content = open.removeLast()
    if formatted && content == .elements { indent(level + open.count) }
    note(xmlTextWriterEndElement(writer))
    if formatted { raw("\n") }
  }

  /// Writes `element` (of any document), with its attributes and subtree, as the next child of the
  /// current element, serialized by libxml2 as ``XMLDocument/xmlBytes(indented:)`` serializes an
  /// element (indented at this writer's depth in indented output). Namespaces declared above
  /// `element` in its own document are not repeated: the names it uses must mean the same here.
  public func copy(of element: XMLElement) {
    guard error == nil else { return }
    if let last = open.indices.last {
      precondition(!formatted || open[last] != .text, "indented output cannot mix text and elements in <\(element.name)>'s parent")
      if formatted && open[last] == .nothing { raw("\n") }  // ends the parent's start tag
      open[last] = .elements
    } else {
      topLevelCount += 1
    }
    raw("")  // ends a start tag still open
    if formatted { indent(level + open.count) }
    xmlNodeDumpOutput(buffer, element.document.doc, element.node, Int32(level + open.count), formatted ? 1 : 0, "UTF-8")
    if buffer.pointee.error != 0 { note(-1) }
    if formatted { raw("\n") }
  }

  /// Throws the first error met so far.
  public func check() throws {
    if let error { throw error }
  }

  /// Bytes already serialized by libxml2 (the parts of a document around the streamed elements).
  func raw(_ bytes: UnsafeRawBufferPointer) {
    guard error == nil, let base = bytes.baseAddress else { return }
    note(xmlTextWriterWriteRawLen(writer, base.assumingMemoryBound(to: xmlChar.self), Int32(bytes.count)))
  }

  func raw(_ text: StaticString) {
    raw(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
  }

  /// Writes everything out; throws the first error.
  func finish() throws {
    precondition(open.isEmpty || error != nil, "elements left open")
    note(xmlTextWriterFlush(writer))
    try check()
  }

  /// libxml2's indentation at `level`: two spaces a level, at most 60.
  private func indent(_ level: Int) {
    Self.spaces.withUnsafeBytes { raw(UnsafeRawBufferPointer(rebasing: $0.prefix(min(2 * level, 60)))) }
  }

  /// Names come from the program, not from data; a precondition checks each is an XML name without
  /// colon. ASCII names (all of ours) are checked in place; others by libxml2, once each.
  private func checkName(_ name: String) {
    let ascii = name.utf8.withContiguousStorageIfAvailable { bytes -> Bool? in
      guard let first = bytes.first else { return false }
      func letter(_ b: UInt8) -> Bool { (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") || b == UInt8(ascii: "_") }
      guard letter(first) else { return first < 0x80 ? false : nil }
      for b in bytes.dropFirst() {
        if b >= 0x80 { return nil }
        guard letter(b) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") else {
          return false
        }
      }
      return true
    }
    if let ascii = ascii ?? nil {
      precondition(ascii, "invalid XML name \(name.debugDescription)")
      return
    }
    if checkedNames.contains(name) { return }
    precondition(LibXML2.isNCName(name), "invalid XML name \(name.debugDescription)")
    checkedNames.insert(name)
  }

  /// Keeps the first failure of a libxml2 call (a negative status).
  private func note(_ status: Int32) {
    guard status < 0, error == nil else { return }
    error = sink.error ?? XMLError(kind: .output, diagnostics: [], fallbackMessage: "libxml2 could not write the document")
  }
}

/// The content of one element of a document, written by ``XMLDocument/writeXML(indented:streaming:to:)``
/// while the document is serialized instead of being held in the tree: a document with 300,000
/// such elements would otherwise hold a libxml2 node for each of their elements, attributes and
/// texts before a byte is written.
public struct XMLStreamedContent {
  /// The element whose content is written: in the document, not inside another streamed element,
  /// and without children unless the content goes before one of them (``anchor``).
  public var parent: XMLElement
  /// The child of ``parent`` the content is written before; nil: the content is all of `parent`'s.
  public var anchor: XMLElement?
  /// Writes the content (at least one element, as children of `parent`).
  public var write: (XMLStreamWriter) throws -> Void

  public init(parent: XMLElement, write: @escaping (XMLStreamWriter) throws -> Void) {
    self.parent = parent
    self.write = write
  }

  /// Content written among the children of `anchor`'s parent, just before `anchor` (several
  /// contents before one anchor come in the order given).
  public init(before anchor: XMLElement, write: @escaping (XMLStreamWriter) throws -> Void) {
    guard let parent = anchor.parent else { preconditionFailure("the anchor of streamed content must have a parent element") }
    self.parent = parent
    self.anchor = anchor
    self.write = write
  }
}

extension XMLDocument {
  /// Writes the document to `output` as ``xmlBytes(indented:)`` gives it — the same bytes, had the
  /// streamed content been built in the tree — without holding the serialized document, and with
  /// the content of each element of `streaming` written while it is serialized.
  ///
  /// How: the document is serialized into memory with a placeholder element in each streamed element
  /// (it holds only what is not streamed), and written up to each placeholder; there the content is
  /// written at the placeholder's depth, with libxml2's indentation, and the rest follows. The
  /// placeholder's name is drawn at random, and text cannot imitate it (libxml2 escapes `<` in text
  /// and attribute values); should it appear other than exactly once, nothing is written and
  /// ``XMLError`` (kind `.output`) is thrown.
  ///
  /// - Throws: What `output` or a `write` throws, or ``XMLError`` when libxml2 cannot write or a
  ///   `write` wrote no element.
  public func writeXML(indented: Bool = false, streaming: [XMLStreamedContent] = [], to output: XMLOutput) throws {
    let options = Int32(indented ? XML_SAVE_FORMAT.rawValue : 0)
    var markers: [[UInt8]] = []
    var placeholders: [xmlNodePtr] = []
    let tag = String(UInt64.random(in: 0...UInt64.max), radix: 36) + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    for (i, s) in streaming.enumerated() {
      precondition(s.parent.document === self, "a streamed element belongs to another document")
      let name = "xmltree-streamed-\(i)-\(tag)"
      guard let node = LibXML2.withXMLChars(name, { xmlNewDocNode(doc, s.parent.node.pointee.ns, $0, nil) }) else {
        fatalError("libxml2: out of memory")
      }
      if let anchor = s.anchor {
        precondition(anchor.parent == s.parent, "the anchor of streamed content is not a child of its parent")
        xmlAddPrevSibling(anchor.node, node)
      } else {
        precondition(s.parent.node.pointee.children == nil, "a streamed element must have no children yet")
        xmlAddChild(s.parent.node, node)
      }
      placeholders.append(node)
      let prefix = s.parent.node.pointee.ns.flatMap { LibXML2.string($0.pointee.prefix) }
      markers.append(Array("<\(prefix.map { $0 + ":" } ?? "")\(name)/>".utf8))
    }
    let skeleton = save(options: options) { xmlSaveDoc($0, doc) }
    for node in placeholders {
      xmlUnlinkNode(node)
      xmlFreeNode(node)
    }
    guard let located = Self.locate(markers, in: skeleton) else {
      throw XMLError(kind: .output, diagnostics: [], fallbackMessage: "the document's text imitates the streaming placeholder")
    }

    // libxml2 reports a failed output through the thread's error handler (by default it prints).
    let collector = DiagnosticCollector()
    try collector.installedAsThreadHandler {
      try withoutActuallyEscaping(output) { try write(skeleton, located, markers, streaming, indented: indented, to: $0) }
    }
  }

  /// Step 2 of ``writeXML(indented:streaming:to:)``: the skeleton up to each placeholder, the streamed
  /// content in its place, and the rest.
  private func write(
    _ skeleton: [UInt8], _ located: [(position: Int, index: Int)], _ markers: [[UInt8]], _ streaming: [XMLStreamedContent],
    indented: Bool, to output: @escaping XMLOutput
  ) throws {
    let writer = XMLStreamWriter(output: output)
    try skeleton.withUnsafeBytes { bytes in
      var cursor = 0
      for (position, index) in located {
        let stream = streaming[index]
        // libxml2 writes each child of an indented element as: indentation, the child, a line break.
        var lineStart = position
        while lineStart > cursor, bytes[lineStart - 1] == UInt8(ascii: " ") { lineStart -= 1 }
        let end = position + markers[index].count
        let trail = end < bytes.count && bytes[end] == UInt8(ascii: "\n") ? 1 : 0
        var level = 1
        var ancestor = stream.parent.node.pointee.parent
        while let a = ancestor, a.pointee.type == XML_ELEMENT_NODE {
          level += 1
          ancestor = a.pointee.parent
        }
        let formatted = indented && trail == 1 && position - lineStart == min(2 * level, 60)
        if !formatted { lineStart = position }
        writer.raw(UnsafeRawBufferPointer(rebasing: bytes[cursor..<lineStart]))
        writer.formatted = formatted
        writer.level = level
        writer.prefix = stream.parent.node.pointee.ns.flatMap { LibXML2.string($0.pointee.prefix) }
        writer.topLevelCount = 0
        try stream.write(writer)
        try writer.check()
        guard writer.topLevelCount > 0 else {
          throw XMLError(kind: .output, diagnostics: [], fallbackMessage: "a streamed element was given no content")
        }
        cursor = formatted ? end + trail : end
      }
      writer.raw(UnsafeRawBufferPointer(rebasing: bytes[cursor...]))
    }
    try writer.finish()
  }

  /// Writes the document to `output` as ``html5Bytes(indented:)`` gives it, without holding the
  /// serialized document.
  public func writeHTML5(indented: Bool = false, to output: XMLOutput) throws {
    try Array("<!DOCTYPE html>\n".utf8).withUnsafeBytes { try output($0) }
    guard let root = xmlDocGetRootElement(doc) else { return }
    let options = XML_SAVE_XHTML.rawValue | XML_SAVE_NO_DECL.rawValue | (indented ? XML_SAVE_FORMAT.rawValue : 0)
    try withDetachedHTMLRoot(root) { try save(options: Int32(options), to: output) { xmlSaveTree($0, root) } }
    try Array("\n".utf8).withUnsafeBytes { try output($0) }
  }

  /// Serializes with a libxml2 save context writing UTF-8 to `output`.
  func save(options: Int32, to output: XMLOutput, _ write: (xmlSaveCtxtPtr) -> Void) throws {
    let collector = DiagnosticCollector()
    let (status, error) = withoutActuallyEscaping(output) { output -> (Int32, Error?) in
      let sink = OutputSink(output)
      let status = withExtendedLifetime(sink) { () -> Int32 in
        guard let context = xmlSaveToIO(OutputSink.write, nil, Unmanaged.passUnretained(sink).toOpaque(), "UTF-8", options) else {
          fatalError("libxml2: out of memory")
        }
        return collector.installedAsThreadHandler {
          write(context)
          return xmlSaveClose(context)
        }
      }
      return (status, sink.error)
    }
    if let error { throw error }
    if status < 0 { throw collector.error(.output, fallbackMessage: "libxml2 could not write the document") }
  }

  /// The placeholder names' common part (``writeXML(indented:streaming:to:)``, ``writeHTML5(streaming:to:)``).
  static let placeholderStem = Array("xmltree-streamed-".utf8)

  /// Where each of `markers` (the placeholders, each holding ``placeholderStem`` followed by its index
  /// in `markers`) is in `bytes`, in the order of the bytes; nil when one of them is not there exactly
  /// once. One pass over the bytes whatever the number of markers (an organisation's report streams a
  /// section per account into a skeleton of tens of megabytes).
  static func locate(_ markers: [[UInt8]], in bytes: [UInt8]) -> [(position: Int, index: Int)]? {
    let stem = placeholderStem
    // Where the stem starts in each marker (after `<` and a namespace prefix).
    var stemOffset: [Int] = []
    for m in markers {
      guard let at = occurrences(of: stem, in: m).first else { return nil }
      stemOffset.append(at)
    }
    var positions = [Int?](repeating: nil, count: markers.count)
    let found: Bool = bytes.withUnsafeBufferPointer { b in
      var i = 0
      while i + stem.count <= b.count {
        guard b[i] == stem[0], b[i..<i + stem.count].elementsEqual(stem) else {
          i += 1
          continue
        }
        // The marker's index, written after the stem.
        var j = i + stem.count
        var index = 0
        var digits = 0
        while j < b.count, digits < 10, b[j] >= UInt8(ascii: "0"), b[j] <= UInt8(ascii: "9") {
          index = index * 10 + Int(b[j] - UInt8(ascii: "0"))
          j += 1
          digits += 1
        }
        if digits > 0, index < markers.count {
          let m = markers[index]
          let start = i - stemOffset[index]
          if start >= 0, start + m.count <= b.count, b[start..<start + m.count].elementsEqual(m) {
            if positions[index] != nil { return false }
            positions[index] = start
            i = start + m.count
            continue
          }
        }
        i += 1
      }
      return true
    }
    guard found else { return nil }
    var located: [(position: Int, index: Int)] = []
    for (index, position) in positions.enumerated() {
      guard let position else { return nil }
      located.append((position, index))
    }
    return located.sorted { $0.position < $1.position }
  }

  /// The positions of `pattern` in `bytes` (non-overlapping, in order).
  static func occurrences(of pattern: [UInt8], in bytes: [UInt8]) -> [Int] {
    guard let first = pattern.first, pattern.count <= bytes.count else { return [] }
    var found: [Int] = []
    var i = 0
    while i + pattern.count <= bytes.count {
      if bytes[i] == first, bytes[i..<i + pattern.count].elementsEqual(pattern) {
        found.append(i)
        i += pattern.count
      } else {
        i += 1
      }
    }
    return found
  }
}

/// The Swift side of a libxml2 output: forwards each piece to an ``XMLOutput`` and keeps the first
/// error it throws (libxml2 then stops writing).
final class OutputSink {
  let output: XMLOutput
  var error: Error?

  init(_ output: @escaping XMLOutput) { self.output = output }

  /// The `xmlOutputWriteCallback`: the number of bytes taken, or -1 on error.
  static let write: xmlOutputWriteCallback = { context, buffer, length in
    let sink = Unmanaged<OutputSink>.fromOpaque(context!).takeUnretainedValue()
    guard sink.error == nil else { return -1 }
    do {
      try sink.output(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
      return length
    } catch {
      sink.error = error
      return -1
    }
  }
}
