import CLibXML2

/// The libxml2 version compiled against.
public let libxml2Version = String(cString: clibxml2_version())

/// Process-wide libxml2 set-up, run exactly once (Swift initialises globals with `swift_once`).
///
/// - `xmlInitParser()` must run before libxml2 is used from several threads.
/// - The external entity loader is replaced by libxml2's no-network loader, so nothing this module
///   parses (documents, schemas and the files they include) can fetch `http:` or `ftp:` URLs.
///   This is the only libxml2 global this module changes; only this module imports libxml2.
private let libxml2Setup: Void = {
  xmlInitParser()
  xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader)
}()

/// Internal helpers shared by the libxml2 wrappers.
enum LibXML2 {
  /// Runs the one-time set-up; call before any other libxml2 function.
  static func ensureInitialized() { _ = libxml2Setup }

  /// Calls `body` with a NUL-terminated UTF-8 copy of `string` typed as `xmlChar`.
  static func withXMLChars<R>(_ string: String, _ body: (UnsafePointer<xmlChar>) throws -> R) rethrows -> R {
    try string.utf8CString.withUnsafeBufferPointer { buffer in
      try buffer.baseAddress!.withMemoryRebound(to: xmlChar.self, capacity: buffer.count) { try body($0) }
    }
  }

  /// Like `withXMLChars(_:_:)`, passing `nil` through.
  static func withOptionalXMLChars<R>(
    _ string: String?, _ body: (UnsafePointer<xmlChar>?) throws -> R
  ) rethrows -> R {
    guard let string else { return try body(nil) }
    return try withXMLChars(string) { try body($0) }
  }

  /// Copies a borrowed libxml2 string.
  static func string(_ chars: UnsafePointer<xmlChar>?) -> String? {
    chars.map { String(cString: $0) }
  }

  /// Copies and frees a libxml2 string that the caller owns.
  static func takeString(_ chars: UnsafeMutablePointer<xmlChar>?) -> String? {
    guard let chars else { return nil }
    defer { clibxml2_free(chars) }
    return String(cString: chars)
  }

  /// A readable XPath-like location of `node`: qualified names as written in the document (no prefix
  /// for the default namespace), `[n]` where siblings share the name, `@name` for attributes.
  static func path(of node: xmlNodePtr) -> String {
    var steps: [String] = []
    var current: xmlNodePtr? = node
    while let step = current {
      switch step.pointee.type {
      case XML_ATTRIBUTE_NODE:
        let attribute = xmlAttrPtr(OpaquePointer(step))
        steps.append("@" + qualifiedName(attribute.pointee.name, attribute.pointee.ns))
        current = attribute.pointee.parent
        continue
      case XML_ELEMENT_NODE:
        var position = 1
        var shared = false
        var sibling = step.pointee.prev
        while let other = sibling {
          if sameName(other, step) { position += 1 }
          sibling = other.pointee.prev
        }
        sibling = step.pointee.next
        while let other = sibling, !shared {
          shared = sameName(other, step)
          sibling = other.pointee.next
        }
        let name = qualifiedName(step.pointee.name, step.pointee.ns)
        steps.append(position > 1 || shared ? "\(name)[\(position)]" : name)
      case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
        steps.append("text()")
      case XML_DOCUMENT_NODE, XML_HTML_DOCUMENT_NODE:
        current = nil
        continue
      default:
        steps.append("node()")
      }
      current = step.pointee.parent
    }
    return "/" + steps.reversed().joined(separator: "/")
  }

  private static func qualifiedName(_ name: UnsafePointer<xmlChar>?, _ ns: xmlNsPtr?) -> String {
    let local = string(name) ?? ""
    guard let prefix = ns.flatMap({ string($0.pointee.prefix) }) else { return local }
    return prefix + ":" + local
  }

  private static func sameName(_ a: xmlNodePtr, _ b: xmlNodePtr) -> Bool {
    a.pointee.type == XML_ELEMENT_NODE && xmlStrEqual(a.pointee.name, b.pointee.name) != 0
      && xmlStrEqual(a.pointee.ns?.pointee.href, b.pointee.ns?.pointee.href) != 0
  }

  /// Whether `name` is an XML name without a colon (element local names, prefixes, attribute names).
  static func isNCName(_ name: String) -> Bool {
    !name.isEmpty && !name.utf8.contains(0) && withXMLChars(name) { xmlValidateNCName($0, 0) } == 0
  }
}

/// Characters allowed in XML 1.0 documents, and the sanitiser applied to all text written into a tree.
enum XMLCharacters {
  /// `Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`
  /// (surrogates cannot occur in a `Unicode.Scalar`).
  static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x9, 0xA, 0xD, 0x20...0xFFFD, 0x10000...0x10FFFF: true
    default: false
    }
  }

  /// `string` with every character that XML 1.0 forbids (C0 controls other than tab, line feed and
  /// carriage return; U+FFFE; U+FFFF) replaced by U+FFFD REPLACEMENT CHARACTER. Everything else,
  /// including bidirectional controls such as U+202E, is kept as is.
  static func sanitized(_ string: String) -> String {
    if string.unicodeScalars.allSatisfy(isAllowed) { return string }
    var scalars = String.UnicodeScalarView()
    for scalar in string.unicodeScalars {
      scalars.append(isAllowed(scalar) ? scalar : "\u{FFFD}")
    }
    return String(scalars)
  }
}
