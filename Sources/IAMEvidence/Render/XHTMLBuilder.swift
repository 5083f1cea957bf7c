import XMLTree

/// What every HTML page of the tool shares: the Content-Security-Policy and the one escaping path
/// for what people read.
///
/// The HTML renderers (``HTMLReport``, its ``TrendChart``, ``DriftHTML``) build their pages only with
/// the ``XMLElement`` helpers below (`add`, `say`, `set`, `attrs`, `fact`): libxml2 escapes markup, and
/// every text node and attribute value also goes through ``visible(_:)``, so no name from a snapshot
/// can reorder what the reader sees.
enum XHTML {
  /// The policy of every page: nothing is loaded or run, only inline styles and `data:` images.
  /// The report's template must carry exactly this policy (see ``TemplateSet/reportTemplate()``).
  static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

  /// Whether `scalar` is a bidirectional formatting control (U+061C, U+200E, U+200F,
  /// U+202A–U+202E, U+2066–U+2069).
  static func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
    default: return false
    }
  }

  /// `text` with every bidirectional control written out as `[U+202E]`. Such characters are not
  /// markup, but left in place they reorder what the reader sees ("Trojan Source"): a name or an
  /// AWS CLI command would display differently from what it is. An audit document shows the
  /// characters that are there.
  static func visible(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isBidiControl) else { return text }
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      if isBidiControl(scalar) {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        out.append(contentsOf: ("[U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + "]").unicodeScalars)
      } else {
        out.append(scalar)
      }
    }
    return String(out)
  }
}

extension XMLElement {
  /// Appends an element (a literal name, by default in the parent's namespace) with optional text
  /// and class.
  @discardableResult
  func add(_ name: String, _ text: String? = nil, class cls: String? = nil, namespace: NamespaceChoice = .inherit) -> XMLElement {
    let element = addChild(name, namespace: namespace)
    if let cls { element.set("class", cls) }
    if let text { element.say(text) }
    return element
  }

  /// Appends text, with bidirectional controls made visible (see ``XHTML/visible(_:)``).
  func say(_ text: String) {
    addText(XHTML.visible(text))
  }

  /// Sets an attribute, its value with bidirectional controls made visible.
  @discardableResult
  func set(_ name: String, _ value: String) -> XMLElement {
    setAttribute(name, XHTML.visible(value))
    return self
  }

  /// Sets attributes in the order of their names (a dictionary has none; output must be stable).
  @discardableResult
  func attrs(_ values: [String: String]) -> XMLElement {
    for (name, value) in values.sorted(by: { $0.key < $1.key }) { set(name, value) }
    return self
  }

  /// Appends a `<div class="fact">` holding a `<dt>`/`<dd>` pair to a `<dl>`, filling the `<dd>`.
  func fact(_ term: String, _ fill: (XMLElement) -> Void) {
    let group = add("div", class: "fact")
    group.add("dt", term)
    fill(group.add("dd"))
  }
}
