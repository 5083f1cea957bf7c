/// Text for terminals, where a name from an export must not act as a control sequence: every text
/// renderer (the CLI's text formats, ``DriftText``) passes what it prints through ``escape(_:keepingNewlines:)``.
public enum TerminalText {
  /// `text` with each control character (C0, DEL and C1: ESC, BEL, CR, a newline...), format
  /// character (bidirectional overrides, zero-width characters) and line or paragraph separator
  /// written as `\u{1B}`, so it shows instead of acting. With `keepingNewlines`, line feeds stay (for
  /// text whose lines the tool itself joined).
  public static func escape(_ text: String, keepingNewlines: Bool = false) -> String {
    // Most text is printable ASCII: returned as is.
    if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F || (keepingNewlines && $0 == 0x0A) }) { return text }
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      if keepingNewlines && scalar == "\n" || !needsEscape(scalar) {
        out.append(scalar)
      } else {
        out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
      }
    }
    return String(out)
  }

  private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .control, .format, .lineSeparator, .paragraphSeparator: return true
    default: return false
    }
  }
}
