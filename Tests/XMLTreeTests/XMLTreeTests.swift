import Foundation
import TestPaths
import Testing

@testable import XMLTree

/// The NIST OSCAL 1.0.6 assessment-results schema, shared next to the package (not copied into it).
private let oscalSchemaPath = TestPaths.schema("oscal-1.0.6/oscal_assessment-results_schema.xsd").path

private let xhtml = XMLNamespaces.xhtml

/// A fresh temporary directory, removed by the caller.
private func temporaryDirectory() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("xmltree-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

private func write(_ text: String, to url: URL) throws {
  try Data(text.utf8).write(to: url)
}

@Suite struct XMLDocumentBuildingTests {
  @Test func libxml2VersionIsKnown() {
    #expect(libxml2Version.hasPrefix("2."))
  }

  @Test func buildsNamespacedDocumentAndSerializesExactly() throws {
    let doc = XMLDocument(rootElement: "evidence", namespaceURI: "urn:iam-evidence:1", prefix: nil)
    let root = try #require(doc.rootElement)
    root.setAttribute("xml:lang", "en")
    root.setAttribute("schemaLocation", namespaceURI: XMLNamespaces.xsi, prefix: "xsi", value: "urn:iam-evidence:1 e.xsd")
    let finding = root.addChild("finding")
    finding.setAttribute("id", "F-1")
    finding.addChild("title").addText("Root & <admin> \"keys\"")
    let other = root.addChild("note", namespace: .none)
    other.addComment("a -- b -")
    root.addChild("ext", namespace: .uri("urn:ext", prefix: "x")).setAttribute("k", "v")
    root.addChild("first", before: finding)

    #expect(root.name == "evidence")
    #expect(root.namespaceURI == "urn:iam-evidence:1")
    #expect(finding.namespaceURI == "urn:iam-evidence:1")
    #expect(other.namespaceURI == nil)
    #expect(root.children.map(\.qualifiedName) == ["first", "finding", "note", "x:ext"])
    #expect(root.attribute("xml:lang") == "en")
    #expect(root.attribute("schemaLocation", namespaceURI: XMLNamespaces.xsi) == "urn:iam-evidence:1 e.xsd")
    #expect(finding.attribute("id") == "F-1")
    #expect(finding.textContent == "Root & <admin> \"keys\"")

    let expected = """
      <?xml version="1.0" encoding="UTF-8"?>
      <evidence xmlns="urn:iam-evidence:1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
      xml:lang="en" xsi:schemaLocation="urn:iam-evidence:1 e.xsd"><first/><finding id="F-1">\
      <title>Root &amp; &lt;admin&gt; "keys"</title></finding><note xmlns=""><!--a - - b - --></note>\
      <x:ext xmlns:x="urn:ext" k="v"/></evidence>

      """
    #expect(doc.xmlString() == expected)

    let indented = """
      <?xml version="1.0" encoding="UTF-8"?>
      <evidence xmlns="urn:iam-evidence:1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
      xml:lang="en" xsi:schemaLocation="urn:iam-evidence:1 e.xsd">
        <first/>
        <finding id="F-1">
          <title>Root &amp; &lt;admin&gt; "keys"</title>
        </finding>
        <note xmlns="">
          <!--a - - b - -->
        </note>
        <x:ext xmlns:x="urn:ext" k="v"/>
      </evidence>

      """
    #expect(doc.xmlString(indented: true) == indented)
    // Deterministic, and re-parses to the same namespaces.
    #expect(doc.xmlBytes() == doc.xmlBytes())
    let reparsed = try XMLDocument(string: doc.xmlString())
    #expect(try reparsed.nodes(matching: "/e:evidence/note", namespaces: ["e": "urn:iam-evidence:1"]).count == 1)
  }

  @Test func emptyDocumentHasOnlyTheDeclaration() {
    #expect(XMLDocument().xmlString() == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
    #expect(XMLDocument().rootElement == nil)
  }

  @Test func removeMoveAndCopyKeepHandlesValid() throws {
    let doc = XMLDocument(rootElement: "list", namespaceURI: xhtml)
    let root = try #require(doc.rootElement)
    let a = root.addChild("li")
    a.addText("a")
    let b = root.addChild("li")
    b.addText("b")
    a.remove()
    #expect(a.parent == nil)
    #expect(a.textContent == "a")  // still valid after removal
    #expect(doc.xmlString() == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<list xmlns=\"\(xhtml)\"><li>b</li></list>\n")
    root.append(a)
    root.insert(b, before: a)  // no-op order check below
    #expect(root.children == [b, a])

    // Copy a template row into another document: no redundant namespace declaration.
    let other = XMLDocument(rootElement: "table", namespaceURI: xhtml)
    let copy = try #require(other.rootElement).appendCopy(of: a)
    copy.textContent = "copied"
    #expect(other.xmlString() == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<table xmlns=\"\(xhtml)\"><li>copied</li></table>\n")
    #expect(a.textContent == "a")

    root.removeAllChildren()
    #expect(root.children.isEmpty)
    #expect(b.textContent == "b")
    // The replaced root stays valid too.
    let oldRoot = root
    doc.setRootElement("other")
    #expect(oldRoot.name == "list")
    #expect(doc.rootElement?.name == "other")
  }
}

@Suite struct NamespaceMoveTests {
  @Test func movedElementsKeepTheirNamespaces() throws {
    let doc = try XMLDocument(
      string: "<r xmlns:p='urn:other'><a xmlns:p='urn:p' xmlns='urn:a'><p:b p:x='1'/><d/></a><c/></r>")
    let c = try #require(try doc.firstNode(matching: "/r/c"))
    let b = try #require(try doc.firstNode(matching: "//p:b", namespaces: ["p": "urn:p"]))
    let d = try #require(try doc.firstNode(matching: "//a:d", namespaces: ["a": "urn:a"]))
    c.append(b)
    c.append(d)
    let reparsed = try XMLDocument(string: doc.xmlString())
    let movedB = try #require(try reparsed.firstNode(matching: "/r/c/p:b", namespaces: ["p": "urn:p"]))
    #expect(movedB.attribute("x", namespaceURI: "urn:p") == "1")
    #expect(try reparsed.firstNode(matching: "/r/c/a:d", namespaces: ["a": "urn:a"]) != nil)
    #expect(try reparsed.nodes(matching: "/r/a/*").isEmpty)
  }

  @Test func removedTemplateRowIsCopiedWithoutExtraDeclarations() throws {
    let doc = try XMLDocument(
      string: "<html xmlns='\(xhtml)'><body><table data-slot='rows'><tr><td>template</td></tr></table></body></html>")
    let table = try #require(try doc.firstNode(matching: "//h:table", namespaces: ["h": xhtml]))
    let template = table.children[0]
    template.remove()
    for value in ["a", "b"] {
      table.appendCopy(of: template).children[0].textContent = value
    }
    let other = XMLDocument(rootElement: "html", namespaceURI: xhtml)
    other.rootElement!.appendCopy(of: template)
    #expect(
      doc.xmlString()
        == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<html xmlns=\"\(xhtml)\"><body><table data-slot=\"rows\">"
        + "<tr><td>a</td></tr><tr><td>b</td></tr></table></body></html>\n")
    #expect(other.xmlString().hasSuffix("<html xmlns=\"\(xhtml)\"><tr><td>template</td></tr></html>\n"))
  }

  @Test func embedsSVGFromAnotherDocument() throws {
    let chart = XMLDocument(rootElement: "svg", namespaceURI: XMLNamespaces.svg)
    let svg = try #require(chart.rootElement)
    svg.setAttribute("viewBox", "0 0 10 10")
    svg.addChild("rect").setAttribute("width", "5")
    let report = XMLDocument(rootElement: "html", namespaceURI: xhtml)
    let body = try #require(report.rootElement).addChild("body")
    let embedded = body.appendCopy(of: svg)
    #expect(embedded.namespaceURI == XMLNamespaces.svg)
    #expect(
      report.html5String()
        == "<!DOCTYPE html>\n<html xmlns=\"\(xhtml)\"><body><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\">"
        + "<rect width=\"5\"></rect></svg></body></html>\n")
  }
}

@Suite struct HostileInputTests {
  static let hostile: [String] = [
    "<script>alert(1)</script>",
    "\"quotes' & ]]>",
    "\u{0}\u{1}\u{7}\u{1B}",
    "\u{202E}evil\u{202C}",
    "\u{FFFE}\u{FFFF}\u{B}\u{C}ok",
    "<!-- --> <![CDATA[x]]> &amp; &#0; &e;",
    String(repeating: "<b>x</b>&\u{1}", count: 1100),  // > 10 KB
  ]

  @Test(arguments: hostile)
  func hostileTextStaysText(_ value: String) throws {
    let doc = XMLDocument(rootElement: "html", namespaceURI: xhtml)
    let root = try #require(doc.rootElement)
    let body = root.addChild("body")
    let p = body.addChild("p")
    p.addText(value)
    p.setAttribute("title", value)
    p.setAttribute("xml:lang", value)
    body.addComment(value)

    for output in [doc.xmlString(), doc.xmlString(indented: true), doc.html5String()] {
      // Re-parses as well-formed XML (the HTML5 output is polyglot: parse it without the doctype).
      let xml = output.hasPrefix("<!DOCTYPE html>") ? String(output.dropFirst("<!DOCTYPE html>".count)) : output
      let reparsed = try XMLDocument(string: xml)
      // No live markup from the input (comments are inert: strip them before looking).
      let markup = output.replacing(#/<!--(.|\n)*?-->/#, with: "")
      #expect(!markup.contains("<script"))
      #expect(!markup.contains("<b>"))
      #expect(try reparsed.nodes(matching: "//h:script | //h:b", namespaces: ["h": xhtml]).isEmpty)
      let paragraph = try #require(try reparsed.firstNode(matching: "//h:p", namespaces: ["h": xhtml]))
      let sanitized = String(
        String.UnicodeScalarView(
          value.unicodeScalars.map { XMLCharacters.isAllowed($0) ? $0 : "\u{FFFD}" }))
      #expect(paragraph.textContent == sanitized)
      #expect(paragraph.attribute("title") == sanitized)
      #expect(paragraph.attribute("xml:lang") == sanitized)
    }
  }

  @Test func commentsCannotEndEarly() throws {
    let doc = XMLDocument(rootElement: "html", namespaceURI: xhtml)
    let root = try #require(doc.rootElement)
    for text in ["><script>alert(1)</script>", "-><script>alert(2)</script>", "a--!><script>", "x--><script>", "end-"] {
      root.addComment(text)
    }
    let html = doc.html5String()
    #expect(html.contains("<!-- ><script>alert(1)</script>-->"))
    #expect(html.contains("<!-- -><script>alert(2)</script>-->"))
    #expect(html.contains("<!--a- -!><script>-->"))
    #expect(html.contains("<!--x- -><script>-->"))
    #expect(html.contains("<!--end- -->"))
    _ = try XMLDocument(string: String(html.dropFirst("<!DOCTYPE html>".count)))
  }

  @Test func sanitizerReplacesOnlyForbiddenCharacters() {
    #expect(XMLCharacters.sanitized("a\u{0}b\u{8}\u{9}\u{A}\u{D}\u{1F}\u{FFFE}") == "a\u{FFFD}b\u{FFFD}\t\n\r\u{FFFD}\u{FFFD}")
    #expect(XMLCharacters.sanitized("\u{202E}\u{200F}é😀") == "\u{202E}\u{200F}é😀")
  }
}

@Suite struct HTML5SerializationTests {
  @Test func writesDoctypeAndNoSelfClosedNonVoidElements() throws {
    let template = """
      <?xml version="1.0" encoding="UTF-8"?>
      <!DOCTYPE html>
      <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
      <head><meta charset="utf-8"/><title></title><script src="app.js"></script>\
      <style>td > p { color: red }</style><link rel="stylesheet" href="a.css"/></head>
      <body><div data-slot="findings"/><table><tr><td/></tr></table><textarea/><br/><img src="x.png" alt=""/>\
      <p>a &amp; b</p></body>
      </html>
      """
    let doc = try XMLDocument(string: template)
    let before = doc.xmlString()
    let html = doc.html5String()
    // The root is detached and script/style text marked while serializing: all of it is undone.
    #expect(doc.xmlString() == before && doc.html5String() == html)
    #expect(before.contains("<!DOCTYPE html>\n<html"))
    #expect(html.hasPrefix("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\""))
    #expect(!html.contains("<?xml"))
    for element in ["div", "script", "td", "textarea", "title", "table", "p"] {
      #expect(!html.contains(try Regex("<\(element)(\\s[^>]*)?/>")), "self-closed <\(element)>")
    }
    #expect(html.contains("<div data-slot=\"findings\"></div>"))
    #expect(html.contains("<script src=\"app.js\"></script>"))
    #expect(html.contains("<td></td>"))
    #expect(html.contains("<title></title>"))
    #expect(html.contains("<textarea></textarea>"))
    #expect(html.contains("<meta charset=\"utf-8\" />"))
    #expect(html.contains("<br />"))
    #expect(html.contains("<img src=\"x.png\" alt=\"\" />"))
    #expect(html.contains("<link rel=\"stylesheet\" href=\"a.css\" />"))
    #expect(html.contains("<style>td > p { color: red }</style>"))
    #expect(html.contains("<p>a &amp; b</p>"))
    #expect(!html.contains("http-equiv"))
    #expect(html.hasSuffix("</html>\n"))
    // The document itself is unchanged by HTML serialization.
    #expect(doc.xmlString().contains("<style>td &gt; p { color: red }</style>"))
    #expect(doc.xmlString().contains("<div data-slot=\"findings\"/>"))
  }

  @Test func unsafeInlineScriptTextIsEscaped() throws {
    let doc = XMLDocument(rootElement: "html", namespaceURI: xhtml)
    let root = try #require(doc.rootElement)
    root.addChild("head").addChild("script").addText("if (a < b && c) {} </script><script>alert(1)")
    let html = doc.html5String()
    #expect(html.contains("<script>if (a &lt; b &amp;&amp; c) {} &lt;/script&gt;&lt;script&gt;alert(1)</script>"))
  }

  @Test func builtDocumentIndented() throws {
    let doc = XMLDocument(rootElement: "html", namespaceURI: xhtml)
    let root = try #require(doc.rootElement)
    let head = root.addChild("head")
    head.addChild("meta").setAttribute("charset", "utf-8")
    head.addChild("title").addText("Report")
    root.addChild("body").addChild("div")
    let expected = """
      <!DOCTYPE html>
      <html xmlns="http://www.w3.org/1999/xhtml">
        <head>
          <meta charset="utf-8" />
          <title>Report</title>
        </head>
        <body>
          <div></div>
        </body>
      </html>

      """
    #expect(doc.html5String(indented: true) == expected)
  }
}

@Suite struct XPathTests {
  @Test func findsTemplateSlotsWithNamespace() throws {
    let doc = try XMLDocument(
      string: """
        <html xmlns="http://www.w3.org/1999/xhtml"><body>
        <section data-slot="summary"/><div><table data-slot="findings"><tr><td>x</td></tr></table></div>
        </body></html>
        """)
    let slot = try #require(try doc.firstNode(matching: "//h:*[@data-slot='findings']", namespaces: ["h": xhtml]))
    #expect(slot.name == "table")
    #expect(slot.namespaceURI == xhtml)
    #expect(slot.lineNumber == 2)
    #expect(slot.path == "/html/body/div/table")
    #expect(try slot.nodes(matching: ".//h:td", namespaces: ["h": xhtml]).map(\.textContent) == ["x"])
    #expect(try doc.nodes(matching: "//h:*[@data-slot]", namespaces: ["h": xhtml]).map(\.name) == ["section", "table"])
    // Without a prefix, names match only elements in no namespace.
    #expect(try doc.nodes(matching: "//table").isEmpty)
    // Fill the slot.
    slot.removeAllChildren()
    slot.addChild("tr").addChild("td").addText("filled")
    #expect(doc.xmlString().contains("<table data-slot=\"findings\"><tr><td>filled</td></tr></table>"))
  }

  @Test func reportsInvalidExpressions() throws {
    let doc = XMLDocument(rootElement: "a")
    let error = try #require(throws: XMLError.self) { try doc.nodes(matching: "//[") }
    #expect(error.kind == .xpath)
    #expect(!error.message.isEmpty)
    let prefixError = try #require(throws: XMLError.self) { try doc.nodes(matching: "//undeclared:a") }
    #expect(prefixError.kind == .xpath)
    #expect(throws: XMLError.self) { try doc.nodes(matching: "count(//a)") }
  }
}

@Suite struct ParsingTests {
  @Test func doesNotExpandOrFetchExternalEntities() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let secret = dir.appendingPathComponent("secret.txt")
    try write("TOP-SECRET-CONTENT", to: secret)
    let passwd = try String(contentsOfFile: "/etc/passwd", encoding: .utf8)
    let firstPasswdLine = try #require(passwd.split(separator: "\n").first)

    let cases = [
      #"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>"#,
      #"<!DOCTYPE x [<!ENTITY e SYSTEM "\#(secret.absoluteString)">]><x>&e;</x>"#,
      #"<!DOCTYPE x [<!ENTITY % p SYSTEM "\#(secret.absoluteString)"> %p;]><x>y</x>"#,
      #"<!DOCTYPE x SYSTEM "\#(secret.absoluteString)"><x>y</x>"#,
      #"<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:9/x">]><x a="1">&e;</x>"#,
    ]
    for (index, text) in cases.enumerated() {
      let file = dir.appendingPathComponent("template-\(index).xml")
      try write(text, to: file)
      let doc = try XMLDocument(contentsOfFile: file.path)
      for output in [doc.xmlString(), doc.html5String(), doc.rootElement?.textContent ?? ""] {
        #expect(!output.contains(firstPasswdLine))
        #expect(!output.contains("root:"))
        #expect(!output.contains("TOP-SECRET"))
      }
      if text.contains("&e;") {
        #expect(doc.xmlString().contains("<x>&e;</x>") || doc.xmlString().contains("&e;</x>"))
      }
    }
  }

  @Test func parseErrorReportsMessageFileAndLine() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("broken.xml")
    try write("<a>\n<b>\n</a>\n", to: file)
    let error = try #require(throws: XMLError.self) { try XMLDocument(contentsOfFile: file.path) }
    #expect(error.kind == .parse)
    #expect(error.line == 3)
    #expect(error.file == file.path)
    #expect(error.message.contains("mismatch"))
    #expect(error.description.contains("broken.xml:3"))

    let memoryError = try #require(throws: XMLError.self) {
      try XMLDocument(bytes: Array("<ok/>\n<second/>".utf8), url: "memory.xml")
    }
    #expect(memoryError.line == 2)
    #expect(memoryError.file == "memory.xml")

    let missing = try #require(throws: XMLError.self) {
      try XMLDocument(contentsOfFile: dir.appendingPathComponent("missing.xml").path)
    }
    #expect(missing.kind == .parse)

    // Namespace errors fail too.
    #expect(throws: XMLError.self) { try XMLDocument(string: "<p:a/>") }
    // HTML named entities are not XML.
    #expect(throws: XMLError.self) { try XMLDocument(string: "<a>&nbsp;</a>") }
  }

  @Test func parsesDataAndKeepsDocumentURL() throws {
    let doc = try XMLDocument(bytes: Data("<a x='1'>é</a>".utf8), url: "in.xml")
    #expect(doc.url == "in.xml")
    #expect(doc.rootElement?.attribute("x") == "1")
    #expect(doc.rootElement?.textContent == "é")
    #expect(doc.rootElement?.attributes == [.init(name: "x", prefix: nil, namespaceURI: nil, value: "1")])
  }

  @Test func listsTheChildNodesThatAreNotElements() throws {
    let doc = try XMLDocument(
      string: "<!DOCTYPE a [<!ENTITY e 'x'>]><a>t<b/><!--c--><![CDATA[d]]><?p q?>&e;</a>", url: "in.xml")
    let other = try #require(doc.rootElement).otherChildren
    #expect(other.map(\.kind) == [.text, .comment, .cdataSection, .processingInstruction, .entityReference])
    #expect(other.map(\.content) == ["t", "c", "d", "q", "e"])
    #expect(try #require(doc.rootElement?.children.first).otherChildren.isEmpty)
  }
}

@Suite struct SchemaTests {
  static let schemaText = """
    <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns="urn:t" \
    elementFormDefault="qualified">
      <xs:include schemaLocation="types/common.xsd"/>
      <xs:element name="report">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="finding" type="Finding" maxOccurs="unbounded"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
    </xs:schema>
    """
  static let includedText = """
    <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns="urn:t" \
    elementFormDefault="qualified">
      <xs:complexType name="Finding">
        <xs:simpleContent>
          <xs:extension base="xs:string">
            <xs:attribute name="severity" use="required">
              <xs:simpleType>
                <xs:restriction base="xs:string">
                  <xs:enumeration value="low"/><xs:enumeration value="high"/>
                </xs:restriction>
              </xs:simpleType>
            </xs:attribute>
          </xs:extension>
        </xs:simpleContent>
      </xs:complexType>
    </xs:schema>
    """

  @Test func validatesWithRelativeInclude() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("types"), withIntermediateDirectories: true)
    try write(Self.schemaText, to: dir.appendingPathComponent("report.xsd"))
    try write(Self.includedText, to: dir.appendingPathComponent("types/common.xsd"))
    let schema = try XMLSchema(contentsOfFile: dir.appendingPathComponent("report.xsd").path)

    let valid = XMLDocument(rootElement: "report", namespaceURI: "urn:t")
    valid.rootElement!.addChild("finding").setAttribute("severity", "high")
    try schema.validate(valid)
    #expect(schema.isValid(valid))

    // Parsed document: errors carry line numbers.
    let invalid = try XMLDocument(
      string: "<report xmlns='urn:t'>\n<finding severity='high'/>\n<finding severity='urgent'/>\n<extra/>\n</report>",
      url: "bad.xml")
    let error = try #require(throws: XMLError.self) { try schema.validate(invalid) }
    #expect(error.kind == .validation)
    #expect(error.line == 3)
    #expect(error.message.contains("severity"))
    #expect(error.diagnostics.count >= 2)
    #expect(error.diagnostics.contains { $0.line == 4 && $0.message.contains("extra") })

    // Built document: errors carry the node path.
    let built = XMLDocument(rootElement: "report", namespaceURI: "urn:t")
    built.rootElement!.addChild("finding")
    let builtError = try #require(throws: XMLError.self) { try schema.validate(built) }
    #expect(builtError.diagnostics.first?.nodePath == "/report/finding")
    #expect(builtError.description.contains("(at /report/finding)"))
    #expect(builtError.message.contains("severity"))
  }

  @Test func reportsBrokenSchemas() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let missing = try #require(throws: XMLError.self) {
      try XMLSchema(contentsOfFile: dir.appendingPathComponent("none.xsd").path)
    }
    #expect(missing.kind == .schema)

    try write(
      "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>\n<xs:element name='a' type='Undefined'/>\n</xs:schema>",
      to: dir.appendingPathComponent("bad.xsd"))
    let bad = try #require(throws: XMLError.self) {
      try XMLSchema(contentsOfFile: dir.appendingPathComponent("bad.xsd").path)
    }
    #expect(bad.message.contains("Undefined"))
    #expect(bad.line == 2)

    try write(
      "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>\n<oops>\n</xs:schema>", to: dir.appendingPathComponent("malformed.xsd"))
    let malformed = try #require(throws: XMLError.self) {
      try XMLSchema(contentsOfFile: dir.appendingPathComponent("malformed.xsd").path)
    }
    #expect(malformed.diagnostics.contains { $0.message.contains("mismatch") })
  }

  @Test func loadsOSCALAssessmentResultsSchema() throws {
    let schema = try XMLSchema(contentsOfFile: oscalSchemaPath)
    let doc = XMLDocument(rootElement: "assessment-results", namespaceURI: XMLNamespaces.oscal)
    let root = try #require(doc.rootElement)
    root.setAttribute("uuid", "4f9b2a34-5c1e-4c3b-9a43-2d8f7e1b6c01")
    let metadata = root.addChild("metadata")
    metadata.addChild("title").addText("IAM evidence")
    metadata.addChild("last-modified").addText("2024-01-01T00:00:00Z")
    metadata.addChild("version").addText("1.0")
    metadata.addChild("oscal-version").addText("1.0.6")
    root.addChild("import-ap").setAttribute("href", "#ap")
    let result = root.addChild("result")
    result.setAttribute("uuid", "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d")
    result.addChild("title").addText("Result")
    result.addChild("description").addChild("p").addText("Automated IAM review.")
    result.addChild("start").addText("2024-01-01T00:00:00Z")
    result.addChild("reviewed-controls").addChild("control-selection").addChild("include-all")
    try schema.validate(doc)

    metadata.remove()
    let error = try #require(throws: XMLError.self) { try schema.validate(doc) }
    #expect(error.message.contains("import-ap"))
    #expect(error.message.contains("metadata"))
  }
}
