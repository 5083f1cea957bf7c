import CLibXML2

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The libxml2 version compiled against.
public let libxml2Version = String(cString: clibxml2_version())

/// Process-wide libxml2 set-up, run exactly once (Swift initialises globals with `swift_once`).
///
/// - `xmlInitParser()` must run before libxml2 is used from several threads.
/// - The external entity loader (through which libxml2 reads every file and URL other than a
///   document given in memory: schemas a schema includes or imports, DTDs, external entities) is
///   replaced by ``guardedEntityLoader``: libxml2's no-network loader, so nothing this module parses
///   can fetch `http:` or `ftp:` URLs, except on a thread inside
///   ``LibXML2/refusingExternalLoads(_:)``, where every load is refused. This is the only libxml2
///   global this module changes; only this module imports libxml2. (libxml2 2.14 has a per-context
///   `xmlSchemaSetResourceLoader`; the 2.9 of Debian 12 has only this process-wide hook, hence the
///   per-thread switch.)
private let libxml2Setup: Void = {
  xmlInitParser()
  xmlSetExternalEntityLoader(guardedEntityLoader)
}()

/// The per-thread switch of ``LibXML2/refusingExternalLoads(_:)``: while set, it points at the
/// ``DiagnosticCollector`` that records each refused load.
private let refusalKey: pthread_key_t = {
  var key = pthread_key_t()
  guard pthread_key_create(&key, nil) == 0 else { fatalError("pthread_key_create failed") }
  return key
}()

/// libxml2's external entity loader for this process (see `libxml2Setup`).
private func guardedEntityLoader(
  _ url: UnsafePointer<CChar>?, _ id: UnsafePointer<CChar>?, _ context: xmlParserCtxtPtr?
) -> xmlParserInputPtr? {
  if let refusals = pthread_getspecific(refusalKey) {
    let name = url.map { String(cString: $0) } ?? id.map { String(cString: $0) } ?? "an external resource"
    DiagnosticCollector.from(refusals).recordRefusedLoad(of: name)
    return nil
  }
  return xmlNoNetExternalEntityLoader(url, id, context)
}

/// Internal helpers shared by the libxml2 wrappers.
enum LibXML2 {
  /// Runs the one-time set-up; call before any other libxml2 function.
  static func ensureInitialized() { _ = libxml2Setup }

  /// Runs `body` (synchronous, on this thread) with every load of an external resource refused: no
  /// file, no URL, no device, whatever the document or schema asks for. Each refusal is recorded as
  /// an error in `refusals`. Nests: the previous setting is restored afterwards.
  static func refusingExternalLoads<R>(_ refusals: DiagnosticCollector, _ body: () throws -> R) rethrows -> R {
    ensureInitialized()
    let previous = pthread_getspecific(refusalKey)
    pthread_setspecific(refusalKey, refusals.context)
    defer { pthread_setspecific(refusalKey, previous) }
    return try withExtendedLifetime(refusals) { try body() }
  }

  /// `value` (taken from an untrusted document) for a message: at most 200 characters, control
  /// characters replaced by `?`.
  static func shown(_ value: String) -> String {
    let scalars = value.unicodeScalars
    let kept = String(String.UnicodeScalarView(scalars.prefix(200).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    return scalars.count > 200 ? kept + "…" : kept
  }

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

  /// Whether every character of `string` is allowed, read from its UTF-8 bytes: no byte below 0x20
  /// but tab, line feed and carriage return, and no U+FFFE or U+FFFF (EF BF BE, EF BF BF). (Decoding
  /// each scalar took 2 % of the time of a report of 300,000 results.)
  static func isClean(_ string: String) -> Bool {
    let clean = string.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
      var i = 0
      let n = bytes.count
      while i < n {
        let b = bytes[i]
        if b < 0x20 {
          if b != 0x9 && b != 0xA && b != 0xD { return false }
        } else if b == 0xEF, i + 2 < n, bytes[i + 1] == 0xBF, bytes[i + 2] == 0xBE || bytes[i + 2] == 0xBF {
          return false
        }
        i += 1
      }
      return true
    }
    return clean ?? string.unicodeScalars.allSatisfy(isAllowed)
  }

  /// `string` with every character that XML 1.0 forbids (C0 controls other than tab, line feed and
  /// carriage return; U+FFFE; U+FFFF) replaced by U+FFFD REPLACEMENT CHARACTER. Everything else,
  /// including bidirectional controls such as U+202E, is kept as is.
  static func sanitized(_ string: String) -> String {
    if isClean(string) { return string }
    var scalars = String.UnicodeScalarView()
    for scalar in string.unicodeScalars {
      scalars.append(isAllowed(scalar) ? scalar : "\u{FFFD}")
    }
    return String(scalars)
  }
}
