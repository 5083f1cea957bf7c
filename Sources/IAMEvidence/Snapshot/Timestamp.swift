/// A UTC instant with second precision (plus the source's fractional digits, kept verbatim), parsed
/// from the date forms IAM exports use and printed as ISO 8601 (`2024-01-31T10:41:45Z`).
///
/// Written by hand rather than with `DateFormatter` so that parsing is strict, locale-free and
/// deterministic on every platform.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// Seconds since 1970-01-01T00:00:00Z.
  public var epochSeconds: Int64
  /// Fractional-second digits as written in the source ("" when none).
  public var fraction: String

  public init(epochSeconds: Int64, fraction: String = "") {
    self.epochSeconds = epochSeconds
    self.fraction = fraction
  }

  public static func < (a: Timestamp, b: Timestamp) -> Bool {
    (a.epochSeconds, a.fraction) < (b.epochSeconds, b.fraction)
  }

  /// Parses `2014-07-30T17:09:20Z`, `2018-11-20T17:14:45+00:00`, `2023-03-09 10:41:45+00:00`, with or
  /// without fractional seconds, and a bare date `2024-01-31` (midnight UTC). A missing zone means UTC.
  public init?(parsing text: String) {
    let b = Array(text.utf8)
    var i = 0
    func digits(_ n: Int) -> Int? {
      guard i + n <= b.count else { return nil }
      var v = 0
      for k in 0..<n {
        let c = b[i + k]
        guard c >= 0x30 && c <= 0x39 else { return nil }
        v = v * 10 + Int(c - 0x30)
      }
      i += n
      return v
    }
    func expect(_ c: Character) -> Bool {
      guard i < b.count, b[i] == c.asciiValue! else { return false }
      i += 1
      return true
    }
    guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2) else {
      return nil
    }
    guard (1...12).contains(month), (1...Timestamp.daysIn(month: month, year: year)).contains(day) else {
      return nil
    }
    var hour = 0
    var minute = 0
    var second = 0
    var fraction = ""
    var offset = 0
    if i < b.count {
      guard b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == UInt8(ascii: " ") else { return nil }
      i += 1
      guard let h = digits(2), expect(":"), let m = digits(2), expect(":"), let s = digits(2) else { return nil }
      guard h < 24, m < 60, s < 61 else { return nil }
      (hour, minute, second) = (h, m, min(s, 59))
      if i < b.count, b[i] == UInt8(ascii: ".") {
        i += 1
        let start = i
        while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
        guard i > start else { return nil }
        fraction = String(decoding: b[start..<i], as: UTF8.self)
        // Trailing zeros carry no information; drop them so equal instants compare equal.
        while fraction.hasSuffix("0") { fraction.removeLast() }
      }
      if i < b.count {
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
          i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
          let sign = b[i] == UInt8(ascii: "+") ? 1 : -1
          i += 1
          guard let oh = digits(2) else { return nil }
          _ = expect(":")
          guard let om = digits(2), oh < 24, om < 60 else { return nil }
          offset = sign * (oh * 3600 + om * 60)
        } else {
          return nil
        }
      }
      guard i == b.count else { return nil }
    }
    let days = Timestamp.daysFromCivil(year: year, month: month, day: day)
    epochSeconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
    self.fraction = fraction
  }

  /// ISO 8601 in UTC: `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
  public var description: String {
    let days = Int(epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400)
    let secs = Int(epochSeconds - Int64(days) * 86_400)
    let (y, m, d) = Timestamp.civilFromDays(days)
    if (0...9999).contains(y) {
      // Written digit by digit (the store writes tens of thousands of these per snapshot); the same
      // text as the general form below.
      let length = 20 + (fraction.isEmpty ? 0 : fraction.utf8.count + 1)
      return String(unsafeUninitializedCapacity: length) { out in
        func two(_ v: Int, at i: Int, then separator: UInt8?) {
          out[i] = UInt8(ascii: "0") + UInt8(v / 10)
          out[i + 1] = UInt8(ascii: "0") + UInt8(v % 10)
          if let separator { out[i + 2] = separator }
        }
        two(y / 100, at: 0, then: nil)
        two(y % 100, at: 2, then: UInt8(ascii: "-"))
        two(m, at: 5, then: UInt8(ascii: "-"))
        two(d, at: 8, then: UInt8(ascii: "T"))
        two(secs / 3600, at: 11, then: UInt8(ascii: ":"))
        two(secs / 60 % 60, at: 14, then: UInt8(ascii: ":"))
        two(secs % 60, at: 17, then: nil)
        var i = 19
        if !fraction.isEmpty {
          out[i] = UInt8(ascii: ".")
          i += 1
          for c in fraction.utf8 {
            out[i] = c
            i += 1
          }
        }
        out[i] = UInt8(ascii: "Z")
        return i + 1
      }
    }
    var s = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2))"
    if !fraction.isEmpty { s += "." + fraction }
    return s + "Z"
  }

  /// The calendar date in UTC, `YYYY-MM-DD`.
  public var dateString: String { String(description.prefix(10)) }

  /// Whole days from `self` to `other` (rounded down).
  public func days(until other: Timestamp) -> Int {
    Int((other.epochSeconds - epochSeconds) / 86_400)
  }

  private func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, width - s.count)) + s
  }

  static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

  static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return isLeap(year) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  // Howard Hinnant's days_from_civil / civil_from_days.
  static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

  static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
    let z = z0 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
  }
}
