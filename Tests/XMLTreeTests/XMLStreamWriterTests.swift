import Foundation
import Testing

@testable import XMLTree

/// Texts that exercise every escaping rule: markup characters, quotes, tab and line breaks (which
/// attributes write as references), control characters and U+FFFE (replaced), non-ASCII, and a
/// string that looks like the streaming placeholder.
private let hostile = [
  "plain", "", "a & b < c > d \"q\" 'a'", "tab\there\nline\r\nbreak\rcr", "nul\u{0}bell\u{7}\u{1F}", "non-char\u{FFFE}\u{FFFF}",
  "é ü 漢字 🙂 \u{202E}rtl", "<xmltree-streamed-0-x/>", "]]> --> <!-- &amp;", String(repeating: "long ", count: 400),
]

/// Writes a sample of rows (attributes, empty, text-only and nested elements) with any writer.
private func rows(_ w: some XMLContentWriter, count: Int) {
  for i in 0..<count {
    let text = hostile[i % hostile.count]
    w.startElement("row")
    w.attribute("n", String(i))
    w.attribute("value", text)
    w.emptyElement("empty", ["a": text, "b": nil, "c": "x"])
    w.textElement("note", text)
    w.startElement("nested")
    w.textElement("deep", hostile[(i + 3) % hostile.count])
    w.startElement("deeper")
    w.emptyElement("leaf", ["k": "v"])
    w.endElement()
    w.endElement()
    w.endElement()
  }
}

/// A document with two streamed lists among other content; `fill` puts the rows in the tree instead.
private func document(fill: Bool, count: Int) -> (XMLDocument, [XMLElement]) {
  let doc = XMLDocument(rootElement: "root", namespaceURI: "urn:test")
  let root = doc.rootElement!
  root.setAttribute("version", "1")
  root.addChild("before").addText("text before & after")
  let first = root.addChild("list")
  first.setAttribute("count", String(count))
  let middle = root.addChild("middle")
  middle.addChild("inner").setAttribute("x", "é")
  let second = middle.addChild("list2")
  root.addChild("after")
  if fill {
    rows(XMLTreeWriter(into: first), count: count)
    rows(XMLTreeWriter(into: second), count: count)
  }
  return (doc, [first, second])
}

private func streamed(indented: Bool, count: Int) throws -> [UInt8] {
  let (doc, lists) = document(fill: false, count: count)
  var bytes: [UInt8] = []
  try doc.writeXML(
    indented: indented, streaming: lists.map { list in XMLStreamedContent(parent: list) { rows($0, count: count) } },
    to: { bytes.append(contentsOf: $0) })
  return bytes
}

@Suite struct XMLStreamWriterTests {
  @Test(arguments: [false, true])
  func streamedContentIsByteForByteTheTreeSerialization(indented: Bool) throws {
    let (tree, _) = document(fill: true, count: 37)
    let expected = tree.xmlBytes(indented: indented)
    let actual = try streamed(indented: indented, count: 37)
    #expect(String(decoding: actual, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    #expect(actual == expected)
    // And it parses back to the same text.
    let parsed = try XMLDocument(bytes: actual)
    #expect(try parsed.nodes(matching: "//t:row", namespaces: ["t": "urn:test"]).count == 74)
  }

  @Test func largeOutputArrivesInPiecesAndMatches() throws {
    let (tree, _) = document(fill: true, count: 3000)
    let (doc, lists) = document(fill: false, count: 3000)
    var pieces = 0
    var bytes: [UInt8] = []
    try doc.writeXML(
      indented: true, streaming: lists.map { list in XMLStreamedContent(parent: list) { rows($0, count: 3000) } },
      to: {
        pieces += 1
        bytes.append(contentsOf: $0)
      })
    #expect(bytes == tree.xmlBytes(indented: true))
    #expect(pieces > 100, "written a few KB at a time, not gathered")
    // The document itself is left as it was (no placeholder, no rows).
    #expect(lists.allSatisfy { $0.children.isEmpty })
  }

  @Test func prefixedNamespaceStreamsPrefixedNames() throws {
    func make() -> (XMLDocument, XMLElement) {
      let doc = XMLDocument(rootElement: "root", namespaceURI: "urn:p", prefix: "p")
      return (doc, doc.rootElement!.addChild("list"))
    }
    let (tree, filled) = make()
    rows(XMLTreeWriter(into: filled), count: 3)
    let (doc, list) = make()
    var bytes: [UInt8] = []
    try doc.writeXML(
      indented: true, streaming: [XMLStreamedContent(parent: list) { rows($0, count: 3) }], to: { bytes.append(contentsOf: $0) })
    #expect(bytes == tree.xmlBytes(indented: true))
    #expect(String(decoding: bytes, as: UTF8.self).contains("<p:row n=\"0\""))
  }

  @Test func aStreamThatWritesNothingIsRefused() throws {
    let (doc, lists) = document(fill: false, count: 0)
    let error = try #require(throws: XMLError.self) {
      try doc.writeXML(indented: true, streaming: [XMLStreamedContent(parent: lists[0]) { _ in }], to: { _ in })
    }
    #expect(error.kind == .output)
  }

  @Test func anOutputErrorStopsTheWriting() throws {
    struct Full: Error {}
    let (doc, lists) = document(fill: false, count: 5000)
    var calls = 0
    var rowsWritten = 0
    #expect(throws: Full.self) {
      try doc.writeXML(
        indented: true,
        streaming: [
          XMLStreamedContent(parent: lists[0]) { w in
            for _ in 0..<5000 {
              rows(w, count: 1)
              rowsWritten += 1
              try w.check()
            }
          }
        ],
        to: { _ in
          calls += 1
          if calls == 3 { throw Full() }
        })
    }
    #expect(calls == 3, "nothing is handed on after the error")
    #expect(rowsWritten < 5000, "the writer stopped early")
  }

  @Test func streamedHTMLIsTheSameAsHTML5Bytes() throws {
    let doc = XMLDocument(rootElement: "html", namespaceURI: XMLNamespaces.xhtml)
    let root = doc.rootElement!
    root.addChild("head").addChild("style").addText("a > b { color: red }")
    let body = root.addChild("body")
    body.addChild("p").addText(hostile[2])
    body.addChild("br")
    body.addChild("div")
    var bytes: [UInt8] = []
    try doc.writeHTML5(to: { bytes.append(contentsOf: $0) })
    #expect(bytes == doc.html5Bytes())
    #expect(String(decoding: bytes, as: UTF8.self).contains("a > b"))
  }
}

/// The additions for composed documents: content streamed before a sibling, elements of another
/// document copied into a stream, HTML with streamed parts, and renaming.
@Suite struct XMLComposedStreamingTests {
  /// A document whose root has `before`, a place for rows among its children, and `after`.
  private static func siblings(fill: Bool, count: Int) -> (XMLDocument, XMLElement) {
    let doc = XMLDocument(rootElement: "root", namespaceURI: "urn:test")
    let root = doc.rootElement!
    root.addChild("before").addText("x")
    if fill {
      let holder = XMLDocument(rootElement: "holder", namespaceURI: "urn:test")
      rows(XMLTreeWriter(into: holder.rootElement!), count: count)
      for row in holder.rootElement!.children { root.appendCopy(of: row) }
    }
    let after = root.addChild("after")
    after.addChild("last").setAttribute("k", "v")
    return (doc, after)
  }

  @Test(arguments: [false, true])
  func contentStreamedBeforeAnAnchorIsTheTreeSerialization(indented: Bool) throws {
    let (tree, _) = Self.siblings(fill: true, count: 9)
    let (doc, after) = Self.siblings(fill: false, count: 9)
    var bytes: [UInt8] = []
    try doc.writeXML(
      indented: indented, streaming: [XMLStreamedContent(before: after) { rows($0, count: 9) }], to: { bytes.append(contentsOf: $0) })
    #expect(String(decoding: bytes, as: UTF8.self) == String(decoding: tree.xmlBytes(indented: indented), as: UTF8.self))
    #expect(doc.rootElement!.children.map(\.name) == ["before", "after"], "the document is left as it was")
  }

  @Test(arguments: [false, true])
  func elementsOfAnotherDocumentAreCopiedIntoAStream(indented: Bool) throws {
    // The rows built in a document of their own (namespace declared on its root), copied in.
    let source = XMLDocument(rootElement: "source", namespaceURI: "urn:test")
    rows(XMLTreeWriter(into: source.rootElement!), count: 12)
    let (tree, _) = document(fill: true, count: 12)
    let (doc, lists) = document(fill: false, count: 12)
    var bytes: [UInt8] = []
    try doc.writeXML(
      indented: indented,
      streaming: lists.map { list in
        XMLStreamedContent(parent: list) { w in for row in source.rootElement!.children { w.copy(of: row) } }
      }, to: { bytes.append(contentsOf: $0) })
    let parsed = try XMLDocument(bytes: bytes)
    let expected = try XMLDocument(bytes: tree.xmlBytes(indented: indented))
    // The same elements, attributes and text (a copy's non-ASCII attribute values may be written as
    // character references), and no namespace declaration repeated on the copies.
    #expect(parsed.rootElement!.textContent == expected.rootElement!.textContent)
    #expect(
      try parsed.nodes(matching: "//t:row/@value", namespaces: ["t": "urn:test"]).count
        == expected.nodes(matching: "//t:row/@value", namespaces: ["t": "urn:test"]).count)
    let rowValues = { (d: XMLDocument) in try d.nodes(matching: "//t:row", namespaces: ["t": "urn:test"]).map { $0.attribute("value") } }
    #expect(try rowValues(parsed) == rowValues(expected))
    #expect(!String(decoding: bytes, as: UTF8.self).contains("<row xmlns"))
    if indented { #expect(String(decoding: bytes, as: UTF8.self).contains("\n    <row n=\"0\"")) }
    // Mixed with rows written by the writer itself, in order.
    let (mixed, mixedLists) = document(fill: false, count: 1)
    var out: [UInt8] = []
    try mixed.writeXML(
      indented: true,
      streaming: [
        XMLStreamedContent(parent: mixedLists[0]) { w in
          rows(w, count: 1)
          w.copy(of: source.rootElement!.children[1])
          w.textElement("end", "e")
        }
      ], to: { out.append(contentsOf: $0) })
    let listed = try XMLDocument(bytes: out).nodes(matching: "//t:list/*", namespaces: ["t": "urn:test"])
    #expect(listed.map(\.name) == ["row", "row", "end"] && listed.map { $0.attribute("n") } == ["0", "1", nil])
  }

  @Test func htmlWithStreamedPartsIsHTML5BytesOfTheWholeTree() throws {
    func page(fill: Bool) -> (XMLDocument, XMLElement) {
      let doc = XMLDocument(rootElement: "html", namespaceURI: XMLNamespaces.xhtml)
      let root = doc.rootElement!
      root.addChild("head").addChild("style").addText("a > b { color: red }")
      let body = root.addChild("body")
      body.addChild("h1").addText("Title & more")
      let list = body.addChild("div")
      list.setAttribute("class", "list")
      body.addChild("footer").addText(hostile[6])
      if fill { for i in 0..<3 { Self.part(i, into: list) } }
      return (doc, list)
    }
    let (tree, _) = page(fill: true)
    let (doc, list) = page(fill: false)
    var bytes: [UInt8] = []
    try doc.writeHTML5(
      streaming: [
        XMLStreamedHTML(parent: list) { w in
          for i in 0..<3 {
            // Each part built in a document of its own, written, and released.
            let own = XMLDocument(rootElement: "html", namespaceURI: XMLNamespaces.xhtml)
            let body = own.rootElement!.addChild("body")
            try w.write(Self.part(i, into: body))
          }
        }
      ], to: { bytes.append(contentsOf: $0) })
    #expect(String(decoding: bytes, as: UTF8.self) == tree.html5String())
    #expect(list.children.isEmpty)
  }

  @discardableResult
  private static func part(_ i: Int, into parent: XMLElement) -> XMLElement {
    let section = parent.addChild("section")
    section.setAttribute("id", "part-\(i)")
    section.addChild("h2").addText("Part \(i) \(hostile[i + 2])")
    section.addChild("br")
    section.addChild("p").addText(hostile[i])
    section.addChild("style").addText("p > q { x: y }")
    return section
  }

  @Test func anElementIsRenamedInPlace() throws {
    let doc = XMLDocument(rootElement: "html", namespaceURI: XMLNamespaces.xhtml)
    let h = doc.rootElement!.addChild("h2")
    h.setAttribute("id", "x")
    h.addText("Title")
    h.rename("h3")
    #expect(
      doc.xmlString()
        == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><h3 id=\"x\">Title</h3></html>\n")
  }
}

@Suite struct XMLStreamValidatorTests {
  static let schemaText = """
    <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns="urn:t" elementFormDefault="qualified">
      <xs:element name="report">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="finding" maxOccurs="unbounded">
              <xs:complexType>
                <xs:attribute name="severity" use="required">
                  <xs:simpleType>
                    <xs:restriction base="xs:string"><xs:enumeration value="low"/><xs:enumeration value="high"/></xs:restriction>
                  </xs:simpleType>
                </xs:attribute>
              </xs:complexType>
            </xs:element>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
    </xs:schema>
    """

  /// Feeds `text` in pieces of `size` bytes.
  static func validate(_ text: String, size: Int) throws {
    let schema = try XMLSchema(untrustedBytes: Array(Self.schemaText.utf8))
    let validator = XMLStreamValidator(schema: schema, url: "streamed.xml")
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let end = min(offset + size, bytes.count)
      try bytes[offset..<end].withUnsafeBytes { try validator.feed($0) }
      offset = end
    }
    try validator.finish()
  }

  static func report(_ severities: [String]) -> String {
    "<?xml version=\"1.0\"?>\n<report xmlns=\"urn:t\">" + severities.map { "<finding severity=\"\($0)\"/>" }.joined() + "</report>\n"
  }

  @Test(arguments: [1, 7, 4096])
  func validDocumentPassesInAnyPieces(size: Int) throws {
    try Self.validate(Self.report(Array(repeating: "high", count: 500) + ["low"]), size: size)
  }

  @Test func invalidValueIsReportedWithTheElement() throws {
    let error = try #require(throws: XMLError.self) {
      try Self.validate(Self.report(["high", "urgent", "low"]), size: 10)
    }
    #expect(error.kind == .validation)
    #expect(error.message.contains("urgent"), "\(error)")
  }

  @Test func missingContentAndBrokenMarkupAreRefused() throws {
    #expect(throws: XMLError.self) { try Self.validate("<report xmlns=\"urn:t\"></report>", size: 100) }
    #expect(throws: XMLError.self) { try Self.validate("<report xmlns=\"urn:t\"><finding severity=\"low\"/>", size: 100) }
    #expect(throws: XMLError.self) { try Self.validate("<report xmlns=\"urn:t\"><finding severity=\"low\"></report>", size: 100) }
    #expect(throws: XMLError.self) { try Self.validate("", size: 100) }
  }
}
