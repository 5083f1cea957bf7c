/// Long strings of stored results kept once, in the content-addressed `long_strings` table, and
/// referenced from `result_details` by a marker: the byte 0x01, the row id in decimal, the byte 0x02.
///
/// A result repeats its principal's and policy's names and ARNs in several columns and, inside its
/// JSON detail, in several members and remediation commands (the identity check once per failing
/// policy). A 100 KB name used by a few hundred results made a database 1,300 times the size of the
/// export; each distinct long string is now stored once.
///
/// - Columns: a value of ``threshold`` bytes or more, or one holding the byte 0x01, is stored as a
///   marker alone (so a value starting with 0x01 is always a marker, never a name).
/// - Details (canonical JSON, where raw control bytes never occur, so markers are unambiguous):
///   repeatedly, the shortest JSON string of ``threshold`` bytes or more (as written, escaped) is
///   stored once and each occurrence inside any JSON string of the detail is replaced by its marker.
///   A long string may itself hold markers of shorter ones. Reading puts the bytes back exactly:
///   `sha256` is the hash of the whole detail.
enum LongStrings {
  /// Values shorter than this are stored in place (IAM's own limits keep names and ARNs well under it).
  static let threshold = 1024
  static let open: UInt8 = 0x01
  static let close: UInt8 = 0x02
  /// Nesting allowed when expanding (a damaged database must not recurse without end).
  static let maximumDepth = 64

  static func marker(_ id: Int64) -> [UInt8] { [open] + Array(String(id).utf8) + [close] }

  // MARK: Details

  /// Splits canonical JSON `detail` into a template and the long strings taken out of it, in the
  /// order taken; the template's (and later strings') markers number them 0, 1, 2... (see
  /// ``bind(_:to:)``). Details with no JSON string of ``threshold`` bytes come back whole.
  static func split(_ detail: [UInt8]) -> (template: [UInt8], atoms: [[UInt8]]) {
    guard detail.count >= threshold, hasLongString(detail) else { return (detail, []) }
    // The detail as plain runs and the contents of its string tokens (between the quotes).
    var plain: [[UInt8]] = []
    var strings: [[UInt8]] = []
    var i = 0
    var runStart = 0
    while i < detail.count {
      guard detail[i] == UInt8(ascii: "\"") else {
        i += 1
        continue
      }
      plain.append(Array(detail[runStart...i]))
      var j = i + 1
      while j < detail.count && detail[j] != UInt8(ascii: "\"") { j += detail[j] == UInt8(ascii: "\\") ? 2 : 1 }
      let end = min(j, detail.count)
      strings.append(Array(detail[(i + 1)..<end]))
      // The closing quote starts the next plain run.
      runStart = end
      i = end + 1
    }
    plain.append(Array(detail[min(runStart, detail.count)...]))
    guard strings.contains(where: { $0.count >= threshold }) else { return (detail, []) }

    var atoms: [[UInt8]] = []
    while let next = strings.indices.filter({ strings[$0].count >= threshold }).min(by: { strings[$0].count < strings[$1].count }),
      atoms.count < 10_000
    {
      let atom = strings[next]
      let replacement = marker(Int64(atoms.count))
      atoms.append(atom)
      let search = Search(atom)
      for k in strings.indices where strings[k].count >= atom.count { strings[k] = search.replaceAll(in: strings[k], with: replacement) }
    }
    var template: [UInt8] = []
    template.reserveCapacity(detail.count)
    for k in plain.indices {
      template += plain[k]
      if k < strings.count { template += strings[k] }
    }
    return (template, atoms)
  }

  /// Whether canonical JSON `detail` has a string token of ``threshold`` bytes or more (one pass, no
  /// allocation: nearly every detail has none).
  static func hasLongString(_ detail: [UInt8]) -> Bool {
    detail.withUnsafeBufferPointer { bytes in
      var i = 0
      while i < bytes.count {
        guard bytes[i] == UInt8(ascii: "\"") else {
          i += 1
          continue
        }
        var j = i + 1
        while j < bytes.count && bytes[j] != UInt8(ascii: "\"") { j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
        if j - i - 1 >= threshold { return true }
        i = j + 1
      }
      return false
    }
  }

  /// `bytes` with each local marker k (from ``split(_:)``) replaced by the marker of `ids[k]`.
  static func bind(_ bytes: [UInt8], to ids: [Int64]) -> [UInt8] {
    guard bytes.contains(open) else { return bytes }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = 0
    while i < bytes.count {
      if bytes[i] == open, let (number, end) = readMarker(bytes, at: i), number < ids.count {
        out += marker(ids[Int(number)])
        i = end
      } else {
        out.append(bytes[i])
        i += 1
      }
    }
    return out
  }

  /// The number of the marker starting at `index` and the index after it, nil when there is none.
  static func readMarker(_ bytes: [UInt8], at index: Int) -> (Int64, Int)? {
    var j = index + 1
    var number: Int64 = 0
    while j < bytes.count, bytes[j] >= UInt8(ascii: "0"), bytes[j] <= UInt8(ascii: "9"), j - index <= 18 {
      number = number * 10 + Int64(bytes[j] - UInt8(ascii: "0"))
      j += 1
    }
    guard j > index + 1, j < bytes.count, bytes[j] == close else { return nil }
    return (number, j + 1)
  }

  /// The ids of the markers in `bytes` (not those nested in the strings they name).
  static func markers(in bytes: [UInt8]) -> [Int64] {
    guard bytes.contains(open) else { return [] }
    var ids: [Int64] = []
    var i = 0
    while i < bytes.count {
      if bytes[i] == open, let (number, end) = readMarker(bytes, at: i) {
        ids.append(number)
        i = end
      } else {
        i += 1
      }
    }
    return ids
  }

  /// A stored detail with every marker replaced by its long string, recursively (`lookup` gives a
  /// string's stored bytes, nil when there is no such row). Nil when a marker names a missing row
  /// or nests too deep: damage, which the caller reports.
  static func expand(_ stored: [UInt8], lookup: (Int64) throws -> [UInt8]?, depth: Int = 0) rethrows -> [UInt8]? {
    guard stored.contains(open) else { return stored }
    guard depth < maximumDepth else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(stored.count)
    var i = 0
    while i < stored.count {
      guard stored[i] == open else {
        out.append(stored[i])
        i += 1
        continue
      }
      guard let (id, end) = readMarker(stored, at: i), let text = try lookup(id),
        let expanded = try expand(text, lookup: lookup, depth: depth + 1)
      else { return nil }
      out += expanded
      i = end
    }
    return out
  }

  // MARK: Columns

  /// Whether a column value is stored by reference.
  static func isLong(_ value: String) -> Bool {
    var value = value
    return value.withUTF8 { $0.count >= threshold || $0.contains(open) }
  }

  /// The long string id a stored column value refers to, nil when it is stored in place, -1 when it
  /// starts like a marker but is not one (damage).
  static func columnReference(_ stored: String) -> Int64? {
    guard stored.utf8.first == open else { return nil }
    let bytes = Array(stored.utf8)
    guard let (id, end) = readMarker(bytes, at: 0), end == bytes.count else { return -1 }
    return id
  }

  /// Linear-time search for one byte string (Knuth-Morris-Pratt): a hostile detail of repeated bytes
  /// must not make splitting quadratic.
  struct Search {
    let pattern: [UInt8]
    let failure: [Int]

    init(_ pattern: [UInt8]) {
      self.pattern = pattern
      var failure = [Int](repeating: 0, count: pattern.count)
      var k = 0
      for i in 1..<max(pattern.count, 1) {
        while k > 0 && pattern[i] != pattern[k] { k = failure[k - 1] }
        if pattern[i] == pattern[k] { k += 1 }
        failure[i] = k
      }
      self.failure = failure
    }

    /// `text` with every non-overlapping occurrence of the pattern, left to right, replaced.
    func replaceAll(in text: [UInt8], with replacement: [UInt8]) -> [UInt8] {
      guard !pattern.isEmpty, text.count >= pattern.count else { return text }
      var out: [UInt8] = []
      out.reserveCapacity(text.count)
      var k = 0
      var copied = 0
      for i in text.indices {
        while k > 0 && text[i] != pattern[k] { k = failure[k - 1] }
        if text[i] == pattern[k] { k += 1 }
        if k == pattern.count {
          let start = i + 1 - pattern.count
          out += text[copied..<start]
          out += replacement
          copied = i + 1
          k = 0
        }
      }
      out += text[copied...]
      return out
    }
  }
}
