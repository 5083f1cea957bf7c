/// One ARN format of the catalog (`arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}`), split
/// into the parts coverage reasons about.
///
/// Variable parts are `${...}` placeholders and a literal `*` (the reference writes `health:*::event/...`
/// and `endpoint:*` for "any value"). The partition, region and account fields are *ignored*: a pattern
/// covers the format when it does for some non-empty value of each variable of those fields. Every
/// other variable (of the resource part after the account field, and the one service field that is a
/// variable, AWS Backup's `${Vendor}`) must be covered whatever value it takes, the empty one included,
/// so only a `*` covers it (`?` never does).
struct ARNFormat: Sendable, Hashable {
  enum Part: Sendable, Hashable {
    case literal([Unicode.Scalar])
    case variable
  }

  /// What the automaton walks through: literal text, a variable for which some value will do, a
  /// variable every value of which must be covered.
  enum Segment: Sendable, Hashable {
    case literal([Unicode.Scalar])
    case some
    case every
  }

  /// The service field (`iam`) when it is literal (every format but one), else nil.
  let service: String?
  let segments: [Segment]
  /// The region / account field when it is one literal (possibly empty), else nil.
  let regionLiteral: String?
  let accountLiteral: String?
  /// Whether the partition / region / account field is exactly one variable.
  let partitionIsVariable: Bool
  let regionIsVariable: Bool
  let accountIsVariable: Bool
  /// The UTF-8 of the resource part's literal text before its first variable.
  let resourceLiteralPrefix: [UInt8]

  init?(_ format: String) {
    let fields = format.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
    guard fields.count == 6, fields[0] == "arn", !fields[2].isEmpty else { return nil }
    let partition = ARNFormat.parts(fields[1])
    let serviceParts = ARNFormat.parts(fields[2])
    let region = ARNFormat.parts(fields[3])
    let account = ARNFormat.parts(fields[4])
    let resource = ARNFormat.parts(fields[5])
    func literal(_ parts: [Part]) -> String? {
      if parts.isEmpty { return "" }
      if parts.count == 1, case .literal(let s) = parts[0] { return String(String.UnicodeScalarView(s)) }
      return nil
    }
    service = literal(serviceParts)
    regionLiteral = literal(region)
    accountLiteral = literal(account)
    partitionIsVariable = partition == [.variable]
    regionIsVariable = region == [.variable]
    accountIsVariable = account == [.variable]
    if case .literal(let s)? = resource.first {
      resourceLiteralPrefix = Array(String(String.UnicodeScalarView(s)).utf8)
    } else {
      resourceLiteralPrefix = []
    }
    func segments(_ parts: [Part], ignored: Bool) -> [Segment] {
      parts.map { p in
        switch p {
        case .literal(let s): return .literal(s)
        case .variable: return ignored ? .some : .every
        }
      }
    }
    var all: [Segment] = [.literal(Array("arn:".unicodeScalars))]
    all += segments(partition, ignored: true)
    all.append(.literal([":"]))
    all += segments(serviceParts, ignored: false)
    all.append(.literal([":"]))
    all += segments(region, ignored: true)
    all.append(.literal([":"]))
    all += segments(account, ignored: true)
    all.append(.literal([":"]))
    all += segments(resource, ignored: false)
    // Merge adjacent literals (the automaton then walks them in one go).
    var merged: [Segment] = []
    for seg in all {
      if case .literal(let b) = seg, case .literal(let a)? = merged.last {
        merged[merged.count - 1] = .literal(a + b)
      } else {
        merged.append(seg)
      }
    }
    self.segments = merged
  }

  /// Literal runs and variables (`${...}`, `*`); adjacent variables merge.
  static func parts(_ field: Substring) -> [Part] {
    let scalars = Array(field.unicodeScalars)
    var parts: [Part] = []
    var literal: [Unicode.Scalar] = []
    func variable() {
      if !literal.isEmpty { parts.append(.literal(literal)) }
      literal = []
      if parts.last != .variable { parts.append(.variable) }
    }
    var i = 0
    while i < scalars.count {
      if scalars[i] == "$", i + 1 < scalars.count, scalars[i + 1] == "{", let close = scalars[(i + 2)...].firstIndex(of: "}") {
        variable()
        i = close + 1
      } else if scalars[i] == "*" {
        variable()
        i += 1
      } else {
        literal.append(scalars[i])
        i += 1
      }
    }
    if !literal.isEmpty { parts.append(.literal(literal)) }
    return parts
  }
}

/// Whether a resource pattern covers a format: ``covered``, ``notCovered``, or ``undecided`` when the
/// pattern is so contrived that the exact search exceeded its work budget (callers then lean to the
/// conservative side: an Allow counts it as covered, a Deny does not).
enum Coverage: Sendable, Hashable {
  case covered, notCovered, undecided
}

/// A resource pattern compiled for coverage questions: `*` any run, `?` one character, and a policy
/// variable (`${aws:username}`) an opaque character that no probe ever supplies, so that it never passes
/// for a wildcard (the escapes `${*}`, `${?}`, `${$}` stand for their literal character).
///
/// Questions are answered exactly by simulating the pattern's automaton on *sets* of positions:
/// "for every value" of a variable is every string of characters the pattern never mentions (its
/// ``fresh`` character, one length after another until the position sets repeat: any other character
/// can only reach more positions); "for some value" of an ignored field is a search over the strings
/// made of the pattern's own characters and the fresh one.
struct CoverGlob {
  enum Token: Equatable {
    case literal(Unicode.Scalar)
    case any
    case star
  }

  /// Stands for a policy variable: a private-use character no format or probe contains.
  static let opaque: Unicode.Scalar = "\u{10FFFD}"

  let tokens: [Token]
  let words: Int
  let starMask: [UInt64]
  let anyMask: [UInt64]
  let literalScalars: [Unicode.Scalar]
  let literalMasks: [[UInt64]]
  /// A character that occurs in no literal of the pattern.
  let fresh: Unicode.Scalar
  /// The pattern's characters other than `:`, and ``fresh``: what values of ignored fields are made of.
  let alphabet: [Unicode.Scalar]
  /// Literal character → index in ``literalMasks``, for patterns with many distinct characters.
  let literalIndex: [Unicode.Scalar: Int]
  /// What one automaton step costs against the work budget (the words of a position set).
  var stepCost: Int { words }

  typealias States = [UInt64]

  init(pattern: String) {
    let scalars = Array(pattern.unicodeScalars)
    var out: [Token] = []
    var i = 0
    while i < scalars.count {
      let c = scalars[i]
      if c == "$", i + 1 < scalars.count, scalars[i + 1] == "{", let close = scalars[(i + 2)...].firstIndex(of: "}") {
        let inner = scalars[(i + 2)..<close]
        if inner.count == 1, let e = inner.first, e == "*" || e == "?" || e == "$" {
          out.append(.literal(e))
        } else {
          out.append(.literal(CoverGlob.opaque))
        }
        i = close + 1
        continue
      }
      switch c {
      case "*": if out.last != .star { out.append(.star) }
      case "?": out.append(.any)
      default: out.append(.literal(c))
      }
      i += 1
    }
    tokens = out
    words = (out.count + 1 + 63) / 64
    var star = [UInt64](repeating: 0, count: words)
    var any = [UInt64](repeating: 0, count: words)
    var scalarsSeen: [Unicode.Scalar] = []
    var masks: [[UInt64]] = []
    for (k, t) in out.enumerated() {
      switch t {
      case .star: star[k / 64] |= 1 << UInt64(k % 64)
      case .any: any[k / 64] |= 1 << UInt64(k % 64)
      case .literal(let c):
        var m: Int
        if let found = scalarsSeen.firstIndex(of: c) {
          m = found
        } else {
          m = scalarsSeen.count
          scalarsSeen.append(c)
          masks.append([UInt64](repeating: 0, count: words))
        }
        masks[m][k / 64] |= 1 << UInt64(k % 64)
      }
    }
    starMask = star
    anyMask = any
    literalScalars = scalarsSeen
    literalMasks = masks
    var value: UInt32 = 0xE000
    while let s = Unicode.Scalar(value), scalarsSeen.contains(s) { value += 1 }
    fresh = Unicode.Scalar(value) ?? "\u{E000}"
    alphabet = scalarsSeen.filter { $0 != ":" } + [fresh]
    var index: [Unicode.Scalar: Int] = [:]
    if scalarsSeen.count > 8 { for (k, c) in scalarsSeen.enumerated() { index[c] = k } }
    literalIndex = index
  }

  /// Whether the pattern is made of stars only (matches every string).
  var isUniversal: Bool { !tokens.isEmpty && tokens.allSatisfy { $0 == .star } }

  func closure(_ s: inout States) {
    var carry: UInt64 = 0
    for w in 0..<words {
      let stars = s[w] & starMask[w]
      s[w] |= (stars << 1) | carry
      carry = stars >> 63
    }
  }

  var start: States {
    var s = States(repeating: 0, count: words)
    s[0] = 1
    closure(&s)
    return s
  }

  func step(_ s: States, _ c: Unicode.Scalar) -> States {
    let m = literalScalars.count > 8 ? literalIndex[c] : literalScalars.firstIndex(of: c)
    var n = States(repeating: 0, count: words)
    var carry: UInt64 = 0
    for w in 0..<words {
      let movable = s[w] & (anyMask[w] | (m.map { literalMasks[$0][w] } ?? 0))
      n[w] = (movable << 1) | carry | (s[w] & starMask[w])
      carry = movable >> 63
    }
    closure(&n)
    return n
  }

  func consume(_ s: States, _ text: [Unicode.Scalar]) -> States {
    var s = s
    for c in text {
      s = step(s, c)
      if isEmpty(s) { break }
    }
    return s
  }

  func isEmpty(_ s: States) -> Bool { s.allSatisfy { $0 == 0 } }

  func accepts(_ s: States) -> Bool { s[tokens.count / 64] & (1 << UInt64(tokens.count % 64)) != 0 }

  /// Whether the pattern matches `text` exactly.
  func matches(_ text: String) -> Bool { accepts(consume(start, Array(text.unicodeScalars))) }

  // MARK: - Coverage of a format

  /// Whether the pattern covers `format` (see ``ARNFormat``). `budget` counts automaton steps.
  func covers(_ format: ARNFormat, budget: inout Int) -> Coverage {
    evaluate([start], format.segments[...], budget: &budget)
  }

  /// Whether, from every set of `branches`, the pattern accepts what `segments` describe: literal text,
  /// some value (`.some`, non-empty) of each ignored variable, every value of the other variables.
  func evaluate(_ branches: [States], _ segments: ArraySlice<ARNFormat.Segment>, budget: inout Int) -> Coverage {
    guard let k = segments.firstIndex(of: .some) else {
      var undecided = false
      for b in branches {
        switch every(segments, from: b, budget: &budget) {
        case .notCovered: return .notCovered
        case .undecided: undecided = true
        case .covered: break
        }
      }
      return undecided ? .undecided : .covered
    }
    // Up to the ignored variable: every branch must go on, each with the sets reaching it.
    var undecided = false
    for b in branches {
      guard let before = everyBranches(segments[segments.startIndex..<k], from: b, budget: &budget) else {
        if budget < 0 { return .undecided }
        return .notCovered
      }
      for x in before {
        // Some value of the variable: one of the reachable sets must cover the rest.
        guard let values = someNonEmptyValue([x], budget: &budget) else { return .undecided }
        var found = false
        for v in values {
          switch evaluate([v], segments[(k + 1)...], budget: &budget) {
          case .covered: found = true
          case .undecided: undecided = true
          case .notCovered: break
          }
          if found { break }
        }
        if !found { return undecided ? .undecided : .notCovered }
      }
    }
    return .covered
  }

  /// The position sets reachable from `branches` by some non-empty string of ``alphabet`` (nil when the
  /// budget runs out).
  func someNonEmptyValue(_ branches: [States], budget: inout Int) -> [States]? {
    var seen = Set<States>()
    var queue: [States] = []
    for b in branches {
      budget -= alphabet.count * stepCost
      if budget < 0 { return nil }
      for c in alphabet {
        let n = step(b, c)
        if !isEmpty(n), seen.insert(n).inserted { queue.append(n) }
      }
    }
    var k = 0
    while k < queue.count {
      let s = queue[k]
      k += 1
      budget -= alphabet.count * stepCost
      if budget < 0 { return nil }
      for c in alphabet {
        let n = step(s, c)
        if !isEmpty(n), seen.insert(n).inserted { queue.append(n) }
      }
    }
    return queue
  }

  /// Whether from `s` the pattern accepts what `segments` (literals and `.every` variables) describe.
  func every(_ segments: ArraySlice<ARNFormat.Segment>, from s: States, budget: inout Int) -> Coverage {
    guard let branches = everyBranches(segments, from: s, budget: &budget) else {
      return budget < 0 ? .undecided : .notCovered
    }
    return branches.allSatisfy(accepts) ? .covered : .notCovered
  }

  /// The position sets after `segments` (literals and `.every` variables) from `s`, for every value of
  /// the variables; nil when one of them is empty (some value is not matched) or the budget ran out.
  func everyBranches(_ segments: ArraySlice<ARNFormat.Segment>, from s: States, budget: inout Int) -> [States]? {
    var branches: [States] = [s]
    for segment in segments {
      switch segment {
      case .literal(let text):
        var next: [States] = []
        for b in branches {
          let n = consume(b, text)
          if isEmpty(n) { return nil }
          next.append(n)
        }
        budget -= text.count * branches.count * stepCost
        branches = dedupe(next)
      case .every, .some:
        // Every length of fresh characters, the empty value included, until the sets repeat.
        var next = Set<States>()
        for b in branches {
          var x = b
          var visited: [States] = []
          while !visited.contains(x) {
            if isEmpty(x) { return nil }
            visited.append(x)
            next.insert(x)
            x = step(x, fresh)
            budget -= stepCost
            if budget < 0 { return nil }
          }
        }
        branches = Array(next)
      }
      if budget < 0 { return nil }
    }
    return branches
  }

  func dedupe(_ sets: [States]) -> [States] {
    if sets.count < 2 { return sets }
    var seen = Set<States>()
    return sets.filter { seen.insert($0).inserted }
  }
}

/// What one resource pattern covers in a catalog: the formats it covers, those it could not decide,
/// and whether it matches the literal string `*` (what actions that take only `*` are judged on).
struct PatternCoverage: Sendable, Hashable {
  /// Format ids, sorted.
  var covered: [Int32] = []
  var undecided: [Int32] = []
  var matchesWildcard = false
  /// Made of stars only: every resource of every action (``covered`` is then left empty).
  var universal = false
  /// Whether computing it took the automaton (worth caching); quick rejections are not cached.
  var expensive = false

  /// Work budget of one pattern against all its candidate formats, in automaton steps times the words
  /// of a position set (about a millisecond at worst): hostile patterns cannot stall an assessment.
  static let budgetPerPattern = 250_000
  /// Patterns with more wildcards than this are not searched at all (every candidate is undecided):
  /// no real ARN pattern comes near it.
  static let maximumWildcards = 64

  /// Computes what `pattern` covers among `catalog`'s formats.
  static func of(_ pattern: String, in catalog: ActionCatalog) -> PatternCoverage {
    let (quick, candidates) = screen(pattern, in: catalog)
    return candidates.isEmpty ? quick : automaton(pattern, quick, candidates, in: catalog)
  }

  /// The cheap part: what the pattern's literal prefix decides, and the formats it leaves for the
  /// automaton (none for most patterns, which name resources of other types).
  static func screen(_ pattern: String, in catalog: ActionCatalog) -> (PatternCoverage, [Int32]) {
    var text = pattern
    return text.withUTF8 { screen($0, pattern, catalog.screen, formatCount: catalog.formats.count) }
  }

  private static func screen(_ bytes: UnsafeBufferPointer<UInt8>, _ pattern: String, _ screen: FormatScreen, formatCount: Int)
    -> (PatternCoverage, [Int32])
  {
    let star = UInt8(ascii: "*")
    if !bytes.isEmpty, bytes.allSatisfy({ $0 == star }) { return (PatternCoverage(matchesWildcard: true, universal: true), []) }
    // The literal prefix: up to the first `*`, `?` or `${`; and where its first five colons are.
    var end = 0
    var colons = 0
    var p0 = 0
    var p1 = 0
    var p2 = 0
    var p3 = 0
    var p4 = 0
    while end < bytes.count {
      let b = bytes[end]
      if b == star || b == UInt8(ascii: "?") { break }
      if b == UInt8(ascii: "$"), end + 1 < bytes.count, bytes[end + 1] == UInt8(ascii: "{") { break }
      if b == UInt8(ascii: ":") {
        switch colons {
        case 0: p0 = end
        case 1: p1 = end
        case 2: p2 = end
        case 3: p3 = end
        case 4: p4 = end
        default: break
        }
        colons += 1
      }
      end += 1
    }
    var result = PatternCoverage()
    // Only a pattern starting with a wildcard can match the one-character string `*`.
    if end == 0 { result.matchesWildcard = CoverGlob(pattern: pattern).matches("*") }
    // Every ARN starts with `arn:`.
    let arn: [UInt8] = [0x61, 0x72, 0x6E, 0x3A]
    for i in 0..<min(end, 4) where bytes[i] != arn[i] { return (result, []) }
    func slice(_ lo: Int, _ hi: Int) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: bytes[lo..<hi]) }
    if colons >= 5 {
      // The first five fields are literal: compare them, and the resource part's literal prefix, before
      // running the automaton (most patterns name other resources and stop here).
      var out: [Int32] = []
      for id in screen.formats(ofService: slice(p1 + 1, p2), resourceStartingWith: slice(p4 + 1, end))
      where screen.passes(Int(id), partition: slice(p0 + 1, p1), region: slice(p2 + 1, p3), account: slice(p3 + 1, p4)) {
        out.append(id)
      }
      return (result, out)
    }
    if colons >= 3 { return (result, Array(screen.formats(ofService: slice(p1 + 1, p2)))) }
    if colons == 2 {
      // A service field starting with literal text cannot cover a variable service field (`${Vendor}`).
      let partial = slice(p1 + 1, end)
      var out = screen.formats(withServicePrefix: partial)
      if partial.isEmpty { out += screen.variableService }
      out.sort()
      return (result, out)
    }
    return (result, Array(0..<Int32(formatCount)))
  }

  /// The exact part: runs the automaton on each candidate format.
  static func automaton(_ pattern: String, _ quick: PatternCoverage, _ candidates: [Int32], in catalog: ActionCatalog)
    -> PatternCoverage
  {
    var result = quick
    let glob = CoverGlob(pattern: pattern)
    result.expensive = true
    var budget = glob.tokens.count(where: { $0 == .star || $0 == .any }) > maximumWildcards ? -1 : budgetPerPattern
    for id in candidates.sorted() {
      if budget < 0 {
        result.undecided.append(id)
        continue
      }
      guard let format = ARNFormat(catalog.formats[Int(id)]) else { continue }
      switch glob.covers(format, budget: &budget) {
      case .covered: result.covered.append(id)
      case .undecided: result.undecided.append(id)
      case .notCovered: break
      }
    }
    return result
  }
}

/// The catalog's formats laid out for the literal-prefix screen: plain integers and one byte buffer,
/// so that screening a pattern against a service's formats touches no reference counts.
struct FormatScreen: Sendable {
  struct Entry: Sendable {
    /// 0: literal (`start`, `count` in ``bytes``); 1: exactly one variable; 2: anything else (left to the automaton).
    var regionKind: Int8
    var accountKind: Int8
    var partitionVariable: Bool
    var regionStart: Int32
    var regionCount: Int32
    var accountStart: Int32
    var accountCount: Int32
    var prefixStart: Int32
    var prefixCount: Int32
  }

  let entries: [Entry]
  let bytes: [UInt8]
  /// Distinct literal service fields, sorted bytewise: their bytes, and the formats of each.
  let fieldStart: [Int32]
  let fieldBytes: [UInt8]
  let fieldFormatStart: [Int32]
  let fieldFormats: [Int32]
  /// Formats whose service field is not literal.
  let variableService: [Int32]

  /// Lays out `formats` (ARN format strings); nil when one is not `arn:partition:service:region:account:resource`.
  init?(_ formats: [String]) {
    var entries: [Entry] = []
    var bytes: [UInt8] = []
    var byField: [[UInt8]: [Int32]] = [:]
    var variable: [Int32] = []
    var prefixes: [[UInt8]] = []
    for (i, format) in formats.enumerated() {
      // A byte-level reading of the fields, equivalent to ``ARNFormat`` (tested) and cheap enough to
      // run on every format when the catalog loads (the automaton parses a format when it needs it).
      let utf8 = Array(format.utf8)
      var colons: [Int] = []
      for (k, b) in utf8.enumerated() where b == UInt8(ascii: ":") && colons.count < 5 { colons.append(k) }
      guard colons.count == 5, utf8[0..<colons[0]].elementsEqual("arn".utf8), colons[2] > colons[1] + 1 else { return nil }
      func field(_ k: Int) -> ArraySlice<UInt8> {
        k == 5 ? utf8[(colons[4] + 1)...] : utf8[(k == 0 ? 0 : colons[k - 1] + 1)..<colons[k]]
      }
      func store(_ f: ArraySlice<UInt8>) -> (Int8, Int32, Int32) {
        let c = FormatScreen.classify(f)
        if c.pureVariable { return (1, 0, 0) }
        if c.literalEnd < f.endIndex { return (2, 0, 0) }
        let start = Int32(bytes.count)
        bytes.append(contentsOf: f)
        return (0, start, Int32(bytes.count) - start)
      }
      let (rk, rs, rc) = store(field(3))
      let (ak, as_, ac) = store(field(4))
      let resource = field(5)
      let prefix = Array(resource[..<FormatScreen.classify(resource).literalEnd])
      prefixes.append(prefix)
      let ps = Int32(bytes.count)
      bytes.append(contentsOf: prefix)
      entries.append(
        Entry(
          regionKind: rk, accountKind: ak, partitionVariable: FormatScreen.classify(field(1)).pureVariable, regionStart: rs,
          regionCount: rc, accountStart: as_, accountCount: ac, prefixStart: ps, prefixCount: Int32(bytes.count) - ps))
      let service = field(2)
      if FormatScreen.classify(service).literalEnd == service.endIndex {
        byField[Array(service), default: []].append(Int32(i))
      } else {
        variable.append(Int32(i))
      }
    }
    var fieldStart: [Int32] = [0]
    var fieldBytes: [UInt8] = []
    var fieldFormatStart: [Int32] = [0]
    var fieldFormats: [Int32] = []
    for key in byField.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
      fieldBytes += key
      fieldStart.append(Int32(fieldBytes.count))
      // By the literal start of the resource part (then id), for the binary search.
      fieldFormats += byField[key]!.sorted { a, b in
        let pa = prefixes[Int(a)]
        let pb = prefixes[Int(b)]
        return pa == pb ? a < b : pa.lexicographicallyPrecedes(pb)
      }
      fieldFormatStart.append(Int32(fieldFormats.count))
    }
    self.entries = entries
    self.bytes = bytes
    self.fieldStart = fieldStart
    self.fieldBytes = fieldBytes
    self.fieldFormatStart = fieldFormatStart
    self.fieldFormats = fieldFormats
    self.variableService = variable
  }

  /// Where a field's literal start ends (the first `${...}` or `*`), and whether the field is one
  /// variable and nothing else (as ``ARNFormat/parts(_:)`` reads it: adjacent variables are one).
  static func classify(_ f: ArraySlice<UInt8>) -> (literalEnd: Int, pureVariable: Bool) {
    var literalEnd = f.endIndex
    var sawLiteral = false
    var sawVariable = false
    var i = f.startIndex
    while i < f.endIndex {
      let b = f[i]
      if b == UInt8(ascii: "$"), i + 1 < f.endIndex, f[i + 1] == UInt8(ascii: "{"),
        let close = f[(i + 2)...].firstIndex(of: UInt8(ascii: "}"))
      {
        literalEnd = min(literalEnd, i)
        sawVariable = true
        i = close + 1
      } else if b == UInt8(ascii: "*") {
        literalEnd = min(literalEnd, i)
        sawVariable = true
        i += 1
      } else {
        sawLiteral = true
        i += 1
      }
    }
    return (literalEnd, sawVariable && !sawLiteral)
  }

  /// The formats whose service field is exactly `service`.
  func formats(ofService service: UnsafeBufferPointer<UInt8>) -> ArraySlice<Int32> {
    fieldBytes.withUnsafeBufferPointer { all in
      var lo = 0
      var hi = fieldStart.count - 1
      while lo < hi {
        let mid = (lo + hi) / 2
        let key = UnsafeBufferPointer(rebasing: all[Int(fieldStart[mid])..<Int(fieldStart[mid + 1])])
        if key.elementsEqual(service) { return fieldFormats[Int(fieldFormatStart[mid])..<Int(fieldFormatStart[mid + 1])] }
        if key.lexicographicallyPrecedes(service) { lo = mid + 1 } else { hi = mid }
      }
      return []
    }
  }

  /// The formats whose service field starts with `prefix`.
  func formats(withServicePrefix prefix: UnsafeBufferPointer<UInt8>) -> [Int32] {
    var out: [Int32] = []
    fieldBytes.withUnsafeBufferPointer { all in
      for k in 0..<(fieldStart.count - 1) {
        let key = UnsafeBufferPointer(rebasing: all[Int(fieldStart[k])..<Int(fieldStart[k + 1])])
        if key.starts(with: prefix) { out += fieldFormats[Int(fieldFormatStart[k])..<Int(fieldFormatStart[k + 1])] }
      }
    }
    return out
  }

  /// The formats whose service field is exactly `service` and whose resource part's literal start
  /// begins with `rest` (the pattern's literal text there: a necessary condition of coverage, since a
  /// variable can take a value the pattern's literal does not match). A service's formats are sorted by
  /// that literal start, so this is a binary search.
  func formats(ofService service: UnsafeBufferPointer<UInt8>, resourceStartingWith rest: UnsafeBufferPointer<UInt8>)
    -> ArraySlice<Int32>
  {
    let all = formats(ofService: service)
    if rest.isEmpty || all.isEmpty { return all }
    return bytes.withUnsafeBufferPointer { b in
      func prefix(_ id: Int32) -> UnsafeBufferPointer<UInt8> {
        let e = entries[Int(id)]
        return UnsafeBufferPointer(rebasing: b[Int(e.prefixStart)..<Int(e.prefixStart + e.prefixCount)])
      }
      var lo = all.startIndex
      var hi = all.endIndex
      while lo < hi {
        let mid = (lo + hi) / 2
        if prefix(all[mid]).lexicographicallyPrecedes(rest) { lo = mid + 1 } else { hi = mid }
      }
      var end = lo
      while end < all.endIndex && prefix(all[end]).starts(with: rest) { end += 1 }
      return all[lo..<end]
    }
  }

  /// Whether literal partition, region and account fields leave format `id` possible (a necessary
  /// condition of coverage).
  func passes(
    _ id: Int, partition: UnsafeBufferPointer<UInt8>, region: UnsafeBufferPointer<UInt8>, account: UnsafeBufferPointer<UInt8>
  ) -> Bool {
    let e = entries[id]
    // A variable of an ignored field takes a non-empty value.
    if e.partitionVariable && partition.isEmpty { return false }
    return bytes.withUnsafeBufferPointer { all in
      func field(_ kind: Int8, _ start: Int32, _ count: Int32, _ value: UnsafeBufferPointer<UInt8>) -> Bool {
        switch kind {
        case 0: return UnsafeBufferPointer(rebasing: all[Int(start)..<Int(start + count)]).elementsEqual(value)
        case 1: return !value.isEmpty
        default: return true
        }
      }
      return field(e.regionKind, e.regionStart, e.regionCount, region) && field(e.accountKind, e.accountStart, e.accountCount, account)
    }
  }
}
