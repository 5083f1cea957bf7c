import XMLTree

/// What a template may hold, enforced on whatever folder the templates come from (see
/// ``TemplateSet/locate(explicit:environment:executable:)``): a report is an audit document that
/// opens offline, runs nothing and loads nothing.
///
/// In `report.xhtml` (checked after parsing, before anything is filled in), refused with the file,
/// the line and the element or attribute:
/// - elements that run or load something: `script`, `iframe`, `frame`, `frameset`, `object`, `embed`,
///   `applet`, `portal`, `base`, `link`, and SVG's `animate`, `set`, `animateMotion`,
///   `animateTransform`, `handler`, `listener` (in any namespace, any case);
/// - `meta` with an `http-equiv` other than `Content-Security-Policy` (`refresh` among them);
/// - event handler attributes (`on…`), `srcset`, and URL attributes (`href`, `src`, `xlink:href`,
///   `action`, `formaction`, `data`, `poster`, `background`, `cite`, `longdesc`, `lowsrc`, `dynsrc`,
///   `manifest`, `codebase`, `classid`, `archive`, `ping`, `usemap`, `profile`, `icon`, `xml:base`)
///   whose value is anything but a same-document `#fragment` or a `data:image/` URI (PNG, JPEG, GIF
///   or WebP; not SVG, which may carry scripts);
/// - a missing Content-Security-Policy: the template must carry exactly one
///   `<meta http-equiv="Content-Security-Policy">` in `<head>`, with exactly the project's policy
///   (``XHTML/contentSecurityPolicy``); the renderer then writes that policy into it itself, so no
///   template can weaken or drop it;
/// - CDATA sections, processing instructions, and comments that start with `>` or `->`: HTML reads
///   them differently from XML (they end at the first `>`, or at once), so what follows would become
///   markup;
/// - CSS (in `<style>` elements, `style` attributes and SVG presentation attributes such as `fill`
///   or `filter`, which may hold `url(…)`) that the stylesheet rule below refuses.
///
/// In `report.css` (and any CSS of the template), after CSS escapes are decoded: `@import`,
/// `expression(`, `image(`, `image-set(`, and `url(` or `src(` with anything but a `data:` URI.
enum TemplatePolicy {
  static let forbiddenElements: Set<String> = [
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "portal", "base", "link", "animate", "set",
    "animatemotion", "animatetransform", "handler", "listener",
  ]

  static let urlAttributes: Set<String> = [
    "href", "src", "action", "formaction", "data", "poster", "background", "cite", "longdesc", "lowsrc", "dynsrc", "manifest",
    "codebase", "classid", "archive", "ping", "usemap", "profile", "icon", "base",
  ]

  /// Attributes whose value is CSS, or an SVG presentation attribute that may reference a resource
  /// with `url(…)`.
  static let cssAttributes: Set<String> = [
    "style", "fill", "stroke", "filter", "mask", "clip-path", "marker-start", "marker-mid", "marker-end", "cursor",
  ]

  /// Checks `document` (the template at `file`) and writes the project's policy into its CSP meta.
  static func enforce(_ document: XMLDocument, file: String) throws(RenderError) {
    guard let root = document.rootElement else { throw RenderError(path: file, message: "the template has no root element") }
    var policies: [XMLElement] = []
    var stack = [root]
    while let element = stack.popLast() {
      if let csp = try check(element, file: file) { policies.append(csp) }
      stack.append(contentsOf: element.children.reversed())
    }
    let wanted = "<meta http-equiv=\"Content-Security-Policy\" content=\"\(XHTML.contentSecurityPolicy)\"/>"
    guard let csp = policies.first else {
      throw RenderError(path: file, message: "the template has no Content-Security-Policy: its <head> must hold \(wanted)")
    }
    guard policies.count == 1 else {
      throw RenderError(
        path: file, message: "\(location(policies[1])): the template must hold one Content-Security-Policy meta, not several")
    }
    guard csp.parent?.name.lowercased() == "head" else {
      throw RenderError(path: file, message: "\(location(csp)): the Content-Security-Policy meta must be in <head>")
    }
    let content = (attribute("content", of: csp) ?? "").split(whereSeparator: \.isWhitespace).joined(separator: " ")
    guard content == XHTML.contentSecurityPolicy else {
      throw RenderError(
        path: file,
        message:
          "\(location(csp)): the Content-Security-Policy must be exactly \"\(XHTML.contentSecurityPolicy)\" (found \(quoted(content)))")
    }
    for other in csp.attributes where other.name.lowercased() == "content" { csp.removeAttribute(other.qualifiedName) }
    csp.set("content", XHTML.contentSecurityPolicy)
  }

  /// The value of the attribute `name` (no namespace) of `element`, whatever its case, as HTML reads it.
  private static func attribute(_ name: String, of element: XMLElement) -> String? {
    element.attributes.first { $0.namespaceURI == nil && $0.name.lowercased() == name }?.value
  }

  /// Checks one element and its attributes; returns it when it is the CSP meta.
  private static func check(_ element: XMLElement, file: String) throws(RenderError) -> XMLElement? {
    let name = element.name.lowercased()
    if forbiddenElements.contains(name) {
      throw RenderError(
        path: file, message: "\(location(element)): <\(element.qualifiedName)> is not allowed in a template (nothing may run or be loaded)")
    }
    var seen = Set<String>()
    for attribute in element.attributes {
      let local = attribute.name.lowercased()
      let shown = "attribute \(attribute.qualifiedName) on <\(element.qualifiedName)>"
      // XML tells `CONTENT` from `content`; HTML does not, and keeps the first: one of each name.
      guard seen.insert(attribute.qualifiedName.lowercased()).inserted else {
        throw RenderError(
          path: file, message: "\(location(element)): \(shown) is repeated (attribute names are not case-sensitive in HTML)")
      }
      if local.hasPrefix("on") {
        throw RenderError(path: file, message: "\(location(element)): \(shown) is not allowed (event handlers run scripts)")
      }
      if local == "srcset" {
        throw RenderError(path: file, message: "\(location(element)): \(shown) is not allowed (use src with a data:image/ URI)")
      }
      if urlAttributes.contains(local) && !isSafeReference(attribute.value) {
        throw RenderError(
          path: file,
          message: "\(location(element)): \(shown) is \(quoted(attribute.value)): a template may refer only to a #fragment "
            + "of the page or a data:image/ URI (PNG, JPEG, GIF, WebP)")
      }
      if cssAttributes.contains(local), let problem = cssProblem(attribute.value) {
        throw RenderError(path: file, message: "\(location(element)): \(shown): \(problem)")
      }
    }
    for other in element.otherChildren {
      switch other.kind {
      case .cdataSection, .processingInstruction:
        throw RenderError(
          path: file,
          message: "\(location(element)): a \(other.kind.rawValue) in <\(element.qualifiedName)> is not allowed in a template "
            + "(HTML ends it at the first '>', and what follows would be markup)")
      case .comment where other.content.hasPrefix(">") || other.content.hasPrefix("->"):
        throw RenderError(
          path: file,
          message: "\(location(element)): a comment in <\(element.qualifiedName)> starting with '>' or '->' is not allowed "
            + "(HTML ends it there, and what follows would be markup)")
      default: break
      }
    }
    if name == "style", let problem = cssProblem(element.textContent) {
      throw RenderError(path: file, message: "\(location(element)): <\(element.qualifiedName)>: \(problem)")
    }
    if name == "meta", let equiv = attribute("http-equiv", of: element) {
      guard trimmed(equiv).lowercased() == "content-security-policy" else {
        throw RenderError(
          path: file, message: "\(location(element)): <meta http-equiv=\(quoted(equiv))> is not allowed (only the Content-Security-Policy)")
      }
      return element
    }
    return nil
  }

  /// A same-document `#fragment`, or a `data:image/` URI of a raster type. Browsers ignore ASCII
  /// whitespace around a URL and tabs and newlines inside it, so those are dropped first.
  static func isSafeReference(_ value: String) -> Bool {
    let url = trimmed(String(String.UnicodeScalarView(value.unicodeScalars.filter { $0 != "\t" && $0 != "\n" && $0 != "\r" })))
    if url.hasPrefix("#") { return true }
    let lower = url.lowercased()
    for type in ["png", "jpeg", "gif", "webp"] {
      let prefix = "data:image/" + type
      if lower.hasPrefix(prefix + ";") || lower.hasPrefix(prefix + ",") { return true }
    }
    return false
  }

  /// Why `css` is refused, or nil. Checked on the text with CSS escapes decoded (`\75 rl(` is `url(`)
  /// and lower-cased; `@import` and `expression(` also with comments removed.
  static func cssProblem(_ css: String) -> String? {
    let text = unescaped(css).lowercased()
    let withoutComments = removingComments(text)
    for (needle, why) in [("@import", "@import loads another stylesheet"), ("expression(", "expression() runs script")] {
      if text.contains(needle) || withoutComments.contains(needle) { return "\(needle) is not allowed in CSS (\(why))" }
    }
    for function in ["image(", "image-set("] where text.contains(function) {
      return "\(function) is not allowed in CSS (it loads an image from a URL)"
    }
    for function in ["url(", "src("] {
      var rest = Substring(text)
      while let range = rest.range(of: function) {
        rest = rest[range.upperBound...]
        let argument = rest.drop { $0.isWhitespace || $0 == "\"" || $0 == "'" }
        if !argument.hasPrefix("data:") {
          return "\(function)\(argument.prefix(60))… is not allowed in CSS (only data: URIs; nothing is loaded)"
        }
      }
    }
    return nil
  }

  /// `css` with its escapes decoded: `\` and up to six hex digits (and one whitespace after) is that
  /// code point, `\` and a newline is nothing, `\` and any other character is that character.
  static func unescaped(_ css: String) -> String {
    var out = String.UnicodeScalarView()
    var scalars = Array(css.unicodeScalars)[...]
    while let c = scalars.popFirst() {
      guard c == "\\", let next = scalars.first else {
        out.append(c)
        continue
      }
      let hex = scalars.prefix(6).prefix { $0.properties.isASCIIHexDigit }
      if !hex.isEmpty {
        scalars = scalars.dropFirst(hex.count)
        if let space = scalars.first, space == " " || space == "\t" || space == "\n" { scalars = scalars.dropFirst() }
        let value = UInt32(String(String.UnicodeScalarView(hex)), radix: 16) ?? 0xFFFD
        out.append(Unicode.Scalar(value) ?? "\u{FFFD}")
      } else {
        scalars = scalars.dropFirst()
        if next != "\n" { out.append(next) }
      }
    }
    return String(out)
  }

  /// `css` without `/* … */` comments.
  static func removingComments(_ css: String) -> String {
    var out = ""
    var rest = Substring(css)
    while let open = rest.range(of: "/*") {
      out += rest[..<open.lowerBound]
      guard let close = rest[open.upperBound...].range(of: "*/") else { return out }
      rest = rest[close.upperBound...]
    }
    return out + rest
  }

  /// `text` without leading and trailing ASCII whitespace (space, tab, LF, FF, CR), as HTML trims.
  static func trimmed(_ text: String) -> String {
    let space: Set<Unicode.Scalar> = [" ", "\t", "\n", "\u{0C}", "\r"]
    let scalars = text.unicodeScalars.drop { space.contains($0) }.reversed().drop { space.contains($0) }.reversed()
    return String(String.UnicodeScalarView(scalars))
  }

  /// `line 12 (/html/head/meta[2])`, or the path alone for elements without a line.
  private static func location(_ element: XMLElement) -> String {
    element.lineNumber.map { "line \($0) (\(element.path))" } ?? element.path
  }

  /// A value for a message: quoted, at most 80 characters, bidirectional controls visible.
  private static func quoted(_ value: String) -> String {
    let shown = XHTML.visible(value.count > 80 ? String(value.prefix(80)) + "…" : value)
    return shown.debugDescription
  }
}
