import Foundation

/// A compiled IAM wildcard pattern: `*` matches any run of characters (including none), `?` matches
/// exactly one character, everything else matches itself.
///
/// Two flavours exist because IAM treats the two elements differently:
/// * ``init(action:)``: action names are case-insensitive (`KMS:*` equals `kms:*`); no policy variables.
/// * ``init(resource:)``: ARNs are compared case-sensitively, and a policy variable `${...}` is treated as
///   "anything in its position" (a `*`), except the escapes `${*}`, `${?}` and `${$}`, which stand for the
///   literal characters `*`, `?` and `$`.
///
/// Matching is iterative (single-star backtracking, O(pattern × text) in the worst case, no regex and no
/// recursion), so hostile patterns such as `*****...a` cannot blow up.
public struct IAMGlob: Sendable, Hashable, CustomStringConvertible {
  enum Token: Sendable, Hashable {
    case literal(Unicode.Scalar)
    case any
    case star
  }

  /// The pattern as written in the policy.
  public let source: String
  /// Whether matching ignores case (actions) or not (resources).
  public let caseInsensitive: Bool
  let tokens: [Token]

  /// An action pattern such as `kms:*`, `KMS:Describe*` or `*`; compared case-insensitively.
  public init(action pattern: String) {
    source = pattern
    caseInsensitive = true
    tokens = IAMGlob.compress(
      pattern.lowercased().unicodeScalars.map { scalar -> Token in
        switch scalar {
        case "*": return .star
        case "?": return .any
        default: return .literal(scalar)
        }
      })
  }

  /// How a resource pattern's policy variables (`${aws:username}`) are read.
  public enum VariableReading: Sendable, Hashable {
    /// As `*`: the widest reach the variable could give (what an Allow's `Resource` may reach).
    case wildcard
    /// As one character no ARN holds: the variable is replaced by a single value of the request, never
    /// by a wildcard, so it passes for no wildcard (what a Deny's `Resource`, or the keys an Allow's
    /// `NotResource` leaves out, is sure to reach).
    case opaque
  }

  /// The character an ``VariableReading/opaque`` variable stands for (private use, in no ARN).
  static let opaqueVariable: Unicode.Scalar = "\u{10FFFD}"

  /// A resource pattern such as `arn:aws:kms:*:${aws:PrincipalAccount}:key/*`; compared case-sensitively.
  public init(resource pattern: String, variables: VariableReading = .wildcard) {
    self.init(resource: pattern, unknown: variables) { _ in .unknown }
  }

  /// What one policy variable holds in a request whose context is partly known.
  public enum VariableValue: Sendable, Hashable {
    /// The request's value (`aws:username` of a user: its name).
    case value(String)
    /// The key is not in the request context (`aws:username` for a role): the variable has no value,
    /// so the pattern matches nothing unless the variable names a default (`${aws:username, 'x'}`).
    case absent
    /// Not known here: read as `unknown` says.
    case unknown
  }

  /// A resource pattern as one request reads it: each policy variable is looked up with `value`, by its
  /// key lower-cased (condition key names are case-insensitive) and read as that value, as nothing (see
  /// ``VariableValue/absent``) or, when unknown, as `unknown` says. The escapes `${*}`, `${?}` and `${$}`
  /// are the literal characters.
  public init(resource pattern: String, unknown: VariableReading, value: (String) -> VariableValue) {
    source = pattern
    caseInsensitive = false
    let scalars = Array(pattern.unicodeScalars)
    var out: [Token] = []
    var i = 0
    while i < scalars.count {
      let c = scalars[i]
      if c == "$", i + 1 < scalars.count, scalars[i + 1] == "{",
        let close = scalars[(i + 2)...].firstIndex(of: "}")
      {
        let inner = String(String.UnicodeScalarView(scalars[(i + 2)..<close]))
        switch inner {
        case "*": out.append(.literal("*"))
        case "?": out.append(.literal("?"))
        case "$": out.append(.literal("$"))
        default:
          // `key` or `key, 'default'`.
          var key = Substring(inner)
          var fallback: String?
          if let comma = inner.firstIndex(of: ",") {
            key = inner[..<comma]
            let rest = inner[inner.index(after: comma)...].trimmingCharacters(in: .whitespaces)
            if rest.count >= 2, rest.hasPrefix("'"), rest.hasSuffix("'") { fallback = String(rest.dropFirst().dropLast()) }
          }
          switch value(key.trimmingCharacters(in: .whitespaces).lowercased()) {
          case .value(let v): out += v.unicodeScalars.map { Token.literal($0) }
          case .absent:
            if let fallback {
              out += fallback.unicodeScalars.map { Token.literal($0) }
            } else {
              out.append(.literal(IAMGlob.opaqueVariable))
            }
          case .unknown: out.append(unknown == .wildcard ? .star : .literal(IAMGlob.opaqueVariable))
          }
        }
        i = close + 1
        continue
      }
      switch c {
      case "*": out.append(.star)
      case "?": out.append(.any)
      default: out.append(.literal(c))
      }
      i += 1
    }
    tokens = IAMGlob.compress(out)
  }

  /// Collapses runs of `*` (they mean the same as one `*`).
  /// Whether some string starting with `prefix` could match (conservative: true once a `*` is
  /// reached). Lets the evaluator skip patterns of other services (`s3:GetObject`) without testing
  /// them against every KMS action.
  public func mayMatch(prefix: String) -> Bool {
    let wanted = Array((caseInsensitive ? prefix.lowercased() : prefix).unicodeScalars)
    var i = 0
    for token in tokens {
      if i == wanted.count { return true }
      switch token {
      case .star: return true
      case .any: i += 1
      case .literal(let c):
        if c != wanted[i] { return false }
        i += 1
      }
    }
    // The pattern ended: it matches only strings no longer than itself.
    return i == wanted.count
  }

  /// A quick, conservative form of `IAMGlob(action: pattern).mayMatch(prefix: "kms:")` on the bytes:
  /// false only when an ASCII pattern certainly cannot match a `kms:` action (`s3:GetObject`). Any
  /// non-ASCII byte answers true (case folding outside ASCII, such as the Kelvin sign, is left to the glob).
  public static func actionMayMatchKMS(_ pattern: String) -> Bool {
    var i = 0
    for c in pattern.utf8 {
      if i == 4 { return true }
      if c >= 0x80 || c == UInt8(ascii: "*") { return true }
      if c != UInt8(ascii: "?") {
        let lower = c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") ? c + 32 : c
        let wanted: UInt8 = i == 0 ? UInt8(ascii: "k") : i == 1 ? UInt8(ascii: "m") : i == 2 ? UInt8(ascii: "s") : UInt8(ascii: ":")
        if lower != wanted { return false }
      }
      i += 1
    }
    return i == 4
  }

  static func compress(_ tokens: [Token]) -> [Token] {
    var out: [Token] = []
    out.reserveCapacity(tokens.count)
    for t in tokens where !(t == .star && out.last == .star) { out.append(t) }
    return out
  }

  public var description: String { source }

  /// Whether the pattern matches the whole of `text`.
  public func matches(_ text: String) -> Bool {
    let subject = caseInsensitive ? text.lowercased() : text
    return matches(scalars: Array(subject.unicodeScalars))
  }

  func matches(scalars text: [Unicode.Scalar]) -> Bool {
    var p = 0
    var t = 0
    var starP = -1
    var starT = 0
    while t < text.count {
      if p < tokens.count {
        switch tokens[p] {
        case .star:
          starP = p
          starT = t
          p += 1
          continue
        case .any:
          p += 1
          t += 1
          continue
        case .literal(let c) where c == text[t]:
          p += 1
          t += 1
          continue
        case .literal:
          break
        }
      }
      guard starP >= 0 else { return false }
      // Let the last star swallow one more character and retry from just after it.
      p = starP + 1
      starT += 1
      t = starT
    }
    while p < tokens.count, tokens[p] == .star { p += 1 }
    return p == tokens.count
  }

  /// Whether the pattern is made of stars only (matches every string).
  public var isUniversal: Bool { tokens.allSatisfy { $0 == .star } }

  // MARK: - Set-of-positions simulation (used to reason about *all* strings of a shape)

  /// A set of positions in `tokens` (position `tokens.count` = the whole pattern consumed).
  struct States: Equatable {
    var live: [Bool]
    var isEmpty: Bool { !live.contains(true) }
  }

  func closure(_ s: inout States) {
    for i in 0..<tokens.count where s.live[i] && tokens[i] == .star { s.live[i + 1] = true }
  }

  func start() -> States {
    var s = States(live: Array(repeating: false, count: tokens.count + 1))
    s.live[0] = true
    closure(&s)
    return s
  }

  func step(_ s: States, _ c: Unicode.Scalar) -> States {
    var n = States(live: Array(repeating: false, count: tokens.count + 1))
    for i in 0..<tokens.count where s.live[i] {
      switch tokens[i] {
      case .star: n.live[i] = true
      case .any: n.live[i + 1] = true
      case .literal(let l) where l == c: n.live[i + 1] = true
      case .literal: break
      }
    }
    closure(&n)
    return n
  }

  func consume(_ s: States, _ text: String) -> States {
    var s = s
    let subject = caseInsensitive ? text.lowercased() : text
    for c in subject.unicodeScalars {
      s = step(s, c)
      if s.isEmpty { break }
    }
    return s
  }

  func accepts(_ s: States) -> Bool { s.live[tokens.count] }

  /// A character that occurs in no literal of the pattern: it stands for "any character the pattern
  /// does not mention", so what the pattern does with it, it does with every such character.
  var freshScalar: Unicode.Scalar {
    var value: UInt32 = 0xE000
    let literals = Set(
      tokens.compactMap { t -> Unicode.Scalar? in
        if case .literal(let c) = t { return c }
        return nil
      })
    while let s = Unicode.Scalar(value), literals.contains(s) { value += 1 }
    return Unicode.Scalar(value) ?? "\u{E000}"
  }

  /// Given the states after some prefix, whether the pattern accepts prefix + x for *every* non-empty x.
  ///
  /// Exact: a string of fresh characters can only be matched by pattern remainders made of `*` and
  /// `?`, which match every string of the lengths they accept; such a remainder accepting lengths
  /// 1...(count + 1) accepts every longer length too.
  func acceptsEveryNonEmptySuffix(after s: States) -> Bool {
    let fresh = freshScalar
    var s = s
    for _ in 0...(tokens.count) {
      let next = step(s, fresh)
      if !accepts(next) { return false }
      if next == s { return true }  // a fixed point: every longer suffix lands here too
      s = next
    }
    return true
  }

  /// Given the states after some prefix, whether the pattern accepts prefix + x for *some* non-empty x
  /// free of the characters in `excluded` (a key id never holds `:` or `/`).
  func acceptsSomeNonEmptySuffix(after s: States, excluding excluded: Set<Unicode.Scalar>) -> Bool {
    // Suffix-closed: whether tokens[i...] can match a string avoiding `excluded`.
    var clean = Array(repeating: true, count: tokens.count + 1)
    for i in stride(from: tokens.count - 1, through: 0, by: -1) {
      if case .literal(let c) = tokens[i], excluded.contains(c) { clean[i] = false } else { clean[i] = clean[i + 1] }
    }
    return (0..<tokens.count).contains { s.live[$0] && clean[$0] }
  }

  /// The pattern split at its literal `:` characters (ARN fields), each as a sub-pattern token list.
  var colonFields: [[Token]] {
    var fields: [[Token]] = [[]]
    for t in tokens {
      if t == .literal(":") { fields.append([]) } else { fields[fields.count - 1].append(t) }
    }
    return fields
  }

  /// The shortest concrete string a field pattern matches, when the field is not made of stars only
  /// (`aws*` → `aws`, `us-?ast-1` → `us-aast-1`); nil for `*` and empty fields.
  static func instantiate(_ field: [Token]) -> String? {
    var out = String.UnicodeScalarView()
    for t in field {
      switch t {
      case .literal(let c): out.append(c)
      case .any: out.append("a")
      case .star: break
      }
    }
    return out.isEmpty ? nil : String(out)
  }
}
