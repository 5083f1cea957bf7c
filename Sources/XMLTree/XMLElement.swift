import CLibXML2

/// An element in an ``XMLDocument``: a libxml2 node pointer plus a strong reference to the owning
/// document, which therefore outlives every handle. Two handles are equal when they refer to the
/// same node.
///
/// All text written through this type (text, attribute values, comments) is sanitised first: each
/// character XML 1.0 does not allow — C0 control characters other than tab, line feed and carriage
/// return (U+0000–U+0008, U+000B, U+000C, U+000E–U+001F), U+FFFE and U+FFFF — is replaced by
/// U+FFFD REPLACEMENT CHARACTER, so serialized output is always well-formed. Other characters,
/// including bidirectional controls such as U+202E, are kept. Markup characters need no care:
/// libxml2 escapes them on output, so text never becomes markup.
///
/// Names (of elements, attributes and prefixes) are not sanitised: they must be valid XML names,
/// which is checked with a precondition (they are meant to be literals in the program, not data).
public struct XMLElement: Hashable {
  /// The document that owns this element.
  public let document: XMLDocument
  /// The element node; owned by `document`.
  let node: xmlNodePtr

  init(_ node: xmlNodePtr, in document: XMLDocument) {
    self.node = node
    self.document = document
  }

  /// Same node.
  public static func == (lhs: XMLElement, rhs: XMLElement) -> Bool { lhs.node == rhs.node }

  /// Hashes the node identity.
  public func hash(into hasher: inout Hasher) { hasher.combine(node) }

  private var doc: xmlDocPtr { document.doc }

  // MARK: Name and namespace

  /// How a new element chooses its namespace.
  public enum NamespaceChoice: Sendable, Hashable {
    /// The parent's namespace and prefix (no namespace if the parent has none).
    case inherit
    /// No namespace. If a default namespace is in scope, the element declares `xmlns=""`.
    case none
    /// The namespace `uri`. An in-scope declaration binding `prefix` (`nil`: the default namespace)
    /// to `uri` is reused; otherwise the element declares it.
    case uri(String, prefix: String? = nil)
  }

  /// The local name (without prefix), e.g. `div`.
  public var name: String {
    LibXML2.string(node.pointee.name) ?? ""
  }

  /// Gives the element another local name (an XML name without colon, like every name given to this
  /// type), keeping its namespace, attributes and content: `h2` → `h3`.
  public func rename(_ name: String) {
    precondition(LibXML2.isNCName(name), "invalid XML name \(name.debugDescription)")
    LibXML2.withXMLChars(name) { xmlNodeSetName(node, $0) }
  }

  /// The namespace prefix, or `nil` for none or the default namespace.
  public var prefix: String? {
    node.pointee.ns.flatMap { LibXML2.string($0.pointee.prefix) }
  }

  /// The name as written: `prefix:name`, or `name`.
  public var qualifiedName: String {
    prefix.map { $0 + ":" + name } ?? name
  }

  /// The namespace URI, or `nil` if the element is in no namespace.
  public var namespaceURI: String? {
    node.pointee.ns.flatMap { LibXML2.string($0.pointee.href) }.flatMap { $0.isEmpty ? nil : $0 }
  }

  /// A readable location of this element, e.g. `/html/body/div[2]`: names as written (prefixes of
  /// the document, none for the default namespace), `[n]` where siblings share the name. For
  /// messages only; to query, use ``nodes(matching:namespaces:)`` with registered prefixes.
  public var path: String {
    LibXML2.path(of: node)
  }

  /// The 1-based line the element started on in a parsed document; `nil` for built elements.
  public var lineNumber: Int? {
    let line = xmlGetLineNo(node)
    return line > 0 ? Int(line) : nil
  }

  /// Applies `choice` to this (already linked) element.
  func applyNamespace(_ choice: NamespaceChoice) {
    switch choice {
    case .inherit:
      let parent = node.pointee.parent
      xmlSetNs(node, parent?.pointee.type == XML_ELEMENT_NODE ? parent?.pointee.ns : nil)
    case .none:
      xmlSetNs(node, nil)
      if let inScope = xmlSearchNs(doc, node, nil), let href = inScope.pointee.href, href.pointee != 0 {
        _ = LibXML2.withXMLChars("") { xmlNewNs(node, $0, nil) }
      }
    case .uri(let uri, let prefix):
      precondition(!uri.isEmpty && !uri.utf8.contains(0), "invalid namespace URI \(uri.debugDescription)")
      if let prefix {
        precondition(LibXML2.isNCName(prefix) && prefix != "xml" && prefix != "xmlns", "invalid prefix \(prefix)")
      }
      xmlSetNs(node, namespace(uri, prefix: prefix))
    }
  }

  /// The in-scope declaration binding `prefix` to `uri`, declared on this element if needed.
  private func namespace(_ uri: String, prefix: String?) -> xmlNsPtr {
    LibXML2.withXMLChars(uri) { href in
      LibXML2.withOptionalXMLChars(prefix) { prefixChars in
        if let existing = xmlSearchNs(doc, node, prefixChars), xmlStrEqual(existing.pointee.href, href) != 0 {
          return existing
        }
        guard let declared = xmlNewNs(node, href, prefixChars) else {
          preconditionFailure(
            "prefix \((prefix ?? "(default)").debugDescription) is already bound to another namespace on <\(qualifiedName)>")
        }
        return declared
      }
    }
  }

  /// Declares `prefix` (`nil`: the default namespace) for `uri` on this element, unless the same
  /// binding is already in scope. Useful to put `xmlns:xsi` on a root element.
  public func declareNamespace(_ uri: String, prefix: String?) {
    if let prefix {
      precondition(LibXML2.isNCName(prefix) && prefix != "xml" && prefix != "xmlns", "invalid prefix \(prefix)")
    }
    precondition(!uri.isEmpty && !uri.utf8.contains(0), "invalid namespace URI \(uri.debugDescription)")
    _ = namespace(uri, prefix: prefix)
  }

  // MARK: Attributes

  /// One attribute of an element.
  public struct Attribute: Sendable, Hashable {
    /// The local name.
    public var name: String
    /// The prefix, if the attribute is namespaced.
    public var prefix: String?
    /// The namespace URI, if any.
    public var namespaceURI: String?
    /// The value.
    public var value: String
    /// `prefix:name` or `name`.
    public var qualifiedName: String { prefix.map { $0 + ":" + name } ?? name }
  }

  /// The attributes in document order (namespace declarations are not attributes here).
  public var attributes: [Attribute] {
    var result: [Attribute] = []
    var attribute = node.pointee.properties
    while let current = attribute {
      let ns = current.pointee.ns
      result.append(
        Attribute(
          name: LibXML2.string(current.pointee.name) ?? "",
          prefix: ns.flatMap { LibXML2.string($0.pointee.prefix) },
          namespaceURI: ns.flatMap { LibXML2.string($0.pointee.href) },
          value: LibXML2.takeString(xmlNodeGetContent(xmlNodePtr(OpaquePointer(current)))) ?? ""))
      attribute = current.pointee.next
    }
    return result
  }

  /// Splits `prefix:local`; `nil` prefix when there is no colon.
  private static func split(_ qualifiedName: String) -> (prefix: String?, local: String) {
    guard let colon = qualifiedName.firstIndex(of: ":") else { return (nil, qualifiedName) }
    return (String(qualifiedName[..<colon]), String(qualifiedName[qualifiedName.index(after: colon)...]))
  }

  /// The in-scope namespace declaration for `prefix` (`xml` is always in scope).
  private func inScopeNamespace(prefix: String) -> xmlNsPtr? {
    LibXML2.withXMLChars(prefix) { xmlSearchNs(doc, node, $0) }
  }

  /// The value of the attribute named `name`, or `nil`. A prefixed name (`xml:lang`) is resolved
  /// with the prefixes in scope at this element.
  public func attribute(_ name: String) -> String? {
    let (prefix, local) = Self.split(name)
    if let prefix {
      guard let ns = inScopeNamespace(prefix: prefix), let href = LibXML2.string(ns.pointee.href) else { return nil }
      return attribute(local, namespaceURI: href)
    }
    return LibXML2.takeString(LibXML2.withXMLChars(local) { xmlGetNoNsProp(node, $0) })
  }

  /// The value of the attribute `localName` in namespace `namespaceURI`, or `nil`.
  public func attribute(_ localName: String, namespaceURI: String) -> String? {
    LibXML2.takeString(
      LibXML2.withXMLChars(localName) { name in LibXML2.withXMLChars(namespaceURI) { xmlGetNsProp(node, name, $0) } })
  }

  /// Sets (adds or replaces) an attribute; `value` is sanitised (see ``XMLElement``).
  ///
  /// `name` is either an XML name without colon (an attribute in no namespace) or a prefixed name
  /// whose prefix is in scope, such as `xml:lang`. To use a prefix that may not be declared yet
  /// (`xsi:schemaLocation`), call ``setAttribute(_:namespaceURI:prefix:value:)``. Namespace
  /// declarations (`xmlns…`) are made with ``declareNamespace(_:prefix:)``.
  public func setAttribute(_ name: String, _ value: String) {
    let (prefix, local) = Self.split(name)
    precondition(LibXML2.isNCName(local), "invalid attribute name \(name.debugDescription)")
    precondition(prefix != "xmlns" && name != "xmlns", "declare namespaces with declareNamespace(_:prefix:)")
    var ns: xmlNsPtr?
    if let prefix {
      ns = inScopeNamespace(prefix: prefix)
      precondition(ns != nil, "namespace prefix \(prefix.debugDescription) is not declared at <\(qualifiedName)>")
    }
    LibXML2.withXMLChars(local) { localChars in
      LibXML2.withXMLChars(XMLCharacters.sanitized(value)) { _ = xmlSetNsProp(node, ns, localChars, $0) }
    }
  }

  /// Sets (adds or replaces) the attribute `localName` in namespace `namespaceURI`, written with
  /// `prefix`, which is declared on this element unless already bound to `namespaceURI` in scope.
  /// `value` is sanitised (see ``XMLElement``).
  ///
  /// ```swift
  /// root.setAttribute("schemaLocation", namespaceURI: XMLNamespaces.xsi, prefix: "xsi", value: "urn:x x.xsd")
  /// ```
  public func setAttribute(_ localName: String, namespaceURI: String, prefix: String, value: String) {
    precondition(LibXML2.isNCName(localName), "invalid attribute name \(localName.debugDescription)")
    let ns: xmlNsPtr
    if prefix == "xml" {
      precondition(namespaceURI == XMLNamespaces.xml, "the xml prefix is bound to \(XMLNamespaces.xml)")
      ns = inScopeNamespace(prefix: "xml")!
    } else {
      precondition(LibXML2.isNCName(prefix) && prefix != "xmlns", "invalid prefix \(prefix.debugDescription)")
      precondition(
        self.prefix != prefix || namespaceURI == self.namespaceURI,
        "prefix \(prefix) names the element's own, different namespace")
      ns = namespace(namespaceURI, prefix: prefix)
    }
    LibXML2.withXMLChars(localName) { localChars in
      LibXML2.withXMLChars(XMLCharacters.sanitized(value)) { _ = xmlSetNsProp(node, ns, localChars, $0) }
    }
  }

  /// Removes the attribute named `name` (prefixed names as in ``attribute(_:)``), if present.
  public func removeAttribute(_ name: String) {
    let (prefix, local) = Self.split(name)
    LibXML2.withXMLChars(local) { localChars in
      if let prefix {
        if let ns = inScopeNamespace(prefix: prefix) { _ = xmlUnsetNsProp(node, ns, localChars) }
      } else {
        _ = xmlUnsetProp(node, localChars)
      }
    }
  }

  // MARK: Content

  /// The concatenated text of all descendant text nodes. Setting it replaces all children with one
  /// text node holding the sanitised value (see ``XMLElement``).
  public var textContent: String {
    get { LibXML2.takeString(xmlNodeGetContent(node)) ?? "" }
    nonmutating set {
      removeAllChildren()
      addText(newValue)
    }
  }

  /// The parent element, or `nil` for the root element and for removed elements.
  public var parent: XMLElement? {
    guard let parent = node.pointee.parent, parent.pointee.type == XML_ELEMENT_NODE else { return nil }
    return XMLElement(parent, in: document)
  }

  /// The child elements in document order (text, comments and other nodes are skipped).
  public var children: [XMLElement] {
    var result: [XMLElement] = []
    var child = node.pointee.children
    while let current = child {
      if current.pointee.type == XML_ELEMENT_NODE { result.append(XMLElement(current, in: document)) }
      child = current.pointee.next
    }
    return result
  }

  /// A child node that is not an element, as ``otherChildren`` lists it.
  public struct OtherNode: Sendable, Hashable {
    /// What the node is.
    public enum Kind: String, Sendable, Hashable {
      case text
      case cdataSection = "CDATA section"
      case comment
      case processingInstruction = "processing instruction"
      case entityReference = "entity reference"
      case other
    }

    public var kind: Kind
    /// The text of a text node, CDATA section, comment or processing instruction (for an entity
    /// reference, its name).
    public var content: String
  }

  /// The child nodes that are not elements, in document order. For checking a parsed document before
  /// it is written as HTML, which reads comments, processing instructions and CDATA sections
  /// differently from XML.
  public var otherChildren: [OtherNode] {
    var result: [OtherNode] = []
    var child = node.pointee.children
    while let current = child {
      child = current.pointee.next
      let kind: OtherNode.Kind
      switch current.pointee.type {
      case XML_ELEMENT_NODE: continue
      case XML_TEXT_NODE: kind = .text
      case XML_CDATA_SECTION_NODE: kind = .cdataSection
      case XML_COMMENT_NODE: kind = .comment
      case XML_PI_NODE: kind = .processingInstruction
      case XML_ENTITY_REF_NODE: kind = .entityReference
      default: kind = .other
      }
      let content = kind == .entityReference ? LibXML2.string(current.pointee.name) : LibXML2.string(current.pointee.content)
      result.append(OtherNode(kind: kind, content: content ?? ""))
    }
    return result
  }

  /// Creates an empty child element and returns it.
  ///
  /// - Parameters:
  ///   - name: The local name; must be an XML name without colon.
  ///   - namespace: The namespace; by default the parent's (see ``NamespaceChoice``).
  ///   - reference: A child of this element to insert before; `nil` appends.
  @discardableResult
  public func addChild(_ name: String, namespace: NamespaceChoice = .inherit, before reference: XMLElement? = nil)
    -> XMLElement
  {
    precondition(LibXML2.isNCName(name), "invalid XML element name \(name.debugDescription)")
    guard let child = LibXML2.withXMLChars(name, { xmlNewDocNode(doc, nil, $0, nil) }) else {
      fatalError("libxml2: out of memory")
    }
    link(child, before: reference)
    let element = XMLElement(child, in: document)
    element.applyNamespace(namespace)
    return element
  }

  /// Appends a text node with the sanitised `text` (see ``XMLElement``); libxml2 escapes `<`, `&`
  /// and `>` on output. Adjacent text nodes are merged.
  public func addText(_ text: String) {
    guard !text.isEmpty else { return }
    guard let textNode = LibXML2.withXMLChars(XMLCharacters.sanitized(text), { xmlNewDocText(doc, $0) }) else {
      fatalError("libxml2: out of memory")
    }
    if xmlAddChild(node, textNode) == nil { xmlFreeNode(textNode) }
  }

  /// Appends a comment. The text is sanitised (see ``XMLElement``) and made safe in XML and HTML
  /// comments: `--` becomes `- -`, a trailing `-` is followed by a space, and a leading `>` or `->`
  /// (which would close the comment early in HTML, as `<!-->`) is preceded by a space.
  public func addComment(_ text: String) {
    var content = ""
    for character in XMLCharacters.sanitized(text) {
      if character == "-", content.last == "-" { content.append(" ") }
      content.append(character)
    }
    if content.last == "-" { content.append(" ") }
    if content.hasPrefix(">") || content.hasPrefix("->") { content = " " + content }
    guard let comment = LibXML2.withXMLChars(content, { xmlNewDocComment(doc, $0) }) else {
      fatalError("libxml2: out of memory")
    }
    xmlAddChild(node, comment)
  }

  /// Moves `element` (from the same document; possibly removed earlier) to the end of this
  /// element's children. Namespace declarations it relied on are added to it if no longer in scope.
  public func append(_ element: XMLElement) {
    move(element, before: nil)
  }

  /// Moves `element` (from the same document) before `reference`, a child of this element.
  public func insert(_ element: XMLElement, before reference: XMLElement) {
    move(element, before: reference)
  }

  /// Appends a deep copy of `element`, which may belong to any document (for example a row taken
  /// from a template), and returns the copy.
  @discardableResult
  public func appendCopy(of element: XMLElement) -> XMLElement {
    // The copy is made without a parent, so libxml2 declares every namespace it uses that was
    // declared outside the copied subtree on the copy itself, with the original prefix. (Not
    // xmlDOMWrapCloneNode: in libxml2 2.9 it can add declarations to the source element.)
    guard let copy = xmlDocCopyNode(element.node, doc, 1) else { fatalError("libxml2: out of memory") }
    link(copy, before: nil)
    Self.dropRedundantDeclarations(on: copy, in: doc)
    return XMLElement(copy, in: document)
  }

  /// Takes this element (with its subtree) out of the document. It is freed with the document, so
  /// handles to it stay valid and it can be inserted again with ``append(_:)`` or copied with
  /// ``appendCopy(of:)`` (for example a template row). Namespaces it used that were declared on
  /// former ancestors are declared on it.
  public func remove() {
    guard node.pointee.parent != nil else { return }  // already detached
    xmlUnlinkNode(node)
    document.detachedNodes.insert(node)
    // Declarations it used from former ancestors now go on the element itself (original
    // prefixes), so the removed subtree serializes and copies correctly on its own.
    Self.reconcileNamespaces(in: node, doc: doc)
  }

  /// Removes all children: elements as with ``remove()``; text, comments and other nodes are freed.
  public func removeAllChildren() {
    var child = node.pointee.children
    while let current = child {
      child = current.pointee.next
      if current.pointee.type == XML_ELEMENT_NODE {
        XMLElement(current, in: document).remove()
      } else {
        xmlUnlinkNode(current)
        xmlFreeNode(current)
      }
    }
  }

  /// Links a new or unlinked node as a child of this element.
  private func link(_ child: xmlNodePtr, before reference: XMLElement?) {
    if let reference {
      precondition(reference.node.pointee.parent == node, "reference element is not a child of <\(qualifiedName)>")
      xmlAddPrevSibling(reference.node, child)
    } else {
      xmlAddChild(node, child)
    }
  }

  private func move(_ element: XMLElement, before reference: XMLElement?) {
    precondition(element.document === document, "element belongs to another document; use appendCopy(of:)")
    var ancestor: xmlNodePtr? = node
    while let current = ancestor {
      precondition(current != element.node, "cannot move an element into itself")
      ancestor = current.pointee.parent
    }
    if let reference {
      precondition(reference.node.pointee.parent == node, "reference element is not a child of <\(qualifiedName)>")
      if reference == element { return }
    }
    xmlUnlinkNode(element.node)
    document.detachedNodes.remove(element.node)
    link(element.node, before: reference)
    Self.reconcileNamespaces(in: element.node, doc: doc)
    Self.dropRedundantDeclarations(on: element.node, in: doc)
  }

  // MARK: Namespace repair after moves and copies

  /// Makes every namespace reference in the subtree at `top` point to a declaration in scope at the
  /// referencing node, reusing in-scope declarations with the same prefix and URI, else declaring
  /// the namespace on `top` (or, if that prefix is taken there or shadowed, where it is used).
  static func reconcileNamespaces(in top: xmlNodePtr, doc: xmlDocPtr) {
    func resolve(_ ns: xmlNsPtr, at element: xmlNodePtr, isAttribute: Bool) -> xmlNsPtr {
      let prefix = ns.pointee.prefix
      if let found = xmlSearchNs(doc, element, prefix) {
        if found == ns || xmlStrEqual(found.pointee.href, ns.pointee.href) != 0 { return found }
      }
      if let declared = xmlNewNs(top, ns.pointee.href, prefix),
        let visible = xmlSearchNs(doc, element, prefix), visible == declared
      {
        return declared
      }
      if !isAttribute, let declared = xmlNewNs(element, ns.pointee.href, prefix) { return declared }
      // An attribute whose prefix is bound to another URI on its own element: pick a free prefix.
      var counter = 1
      while true {
        let candidate = "ns\(counter)"
        let free = LibXML2.withXMLChars(candidate) { xmlSearchNs(doc, element, $0) == nil }
        if free, let declared = LibXML2.withXMLChars(candidate, { xmlNewNs(element, ns.pointee.href, $0) }) {
          return declared
        }
        counter += 1
      }
    }
    var stack: [xmlNodePtr] = [top]
    while let element = stack.popLast() {
      if let ns = element.pointee.ns { element.pointee.ns = resolve(ns, at: element, isAttribute: false) }
      var attribute = element.pointee.properties
      while let current = attribute {
        if let ns = current.pointee.ns, xmlStrEqual(ns.pointee.prefix, "xml") == 0 {
          current.pointee.ns = resolve(ns, at: element, isAttribute: true)
        }
        attribute = current.pointee.next
      }
      var child = element.pointee.children
      while let current = child {
        if current.pointee.type == XML_ELEMENT_NODE { stack.append(current) }
        child = current.pointee.next
      }
    }
  }

  /// Removes declarations on `top` that repeat one in scope at its parent (same prefix and URI),
  /// pointing references in the subtree to the parent's declaration instead.
  static func dropRedundantDeclarations(on top: xmlNodePtr, in doc: xmlDocPtr) {
    guard let parent = top.pointee.parent, parent.pointee.type == XML_ELEMENT_NODE else { return }
    var previous: xmlNsPtr?
    var declaration = top.pointee.nsDef
    while let ns = declaration {
      let next = ns.pointee.next
      if let inherited = xmlSearchNs(doc, parent, ns.pointee.prefix),
        xmlStrEqual(inherited.pointee.href, ns.pointee.href) != 0
      {
        replaceReferences(in: top, from: ns, to: inherited)
        if let previous { previous.pointee.next = next } else { top.pointee.nsDef = next }
        ns.pointee.next = nil
        xmlFreeNs(ns)
      } else {
        previous = ns
      }
      declaration = next
    }
  }

  private static func replaceReferences(in top: xmlNodePtr, from old: xmlNsPtr, to new: xmlNsPtr) {
    var stack: [xmlNodePtr] = [top]
    while let element = stack.popLast() {
      if element.pointee.ns == old { element.pointee.ns = new }
      var attribute = element.pointee.properties
      while let current = attribute {
        if current.pointee.ns == old { current.pointee.ns = new }
        attribute = current.pointee.next
      }
      var child = element.pointee.children
      while let current = child {
        if current.pointee.type == XML_ELEMENT_NODE { stack.append(current) }
        child = current.pointee.next
      }
    }
  }

  // MARK: XPath

  /// Evaluates an XPath 1.0 expression with this element as context node (so `.//h:td` searches
  /// below it); see ``XMLDocument/nodes(matching:namespaces:)``.
  public func nodes(matching xpath: String, namespaces: [String: String] = [:]) throws -> [XMLElement] {
    try document.evaluate(xpath, namespaces: namespaces, contextNode: node)
  }

  /// The first element ``nodes(matching:namespaces:)`` selects, or `nil`.
  public func firstNode(matching xpath: String, namespaces: [String: String] = [:]) throws -> XMLElement? {
    try nodes(matching: xpath, namespaces: namespaces).first
  }
}
