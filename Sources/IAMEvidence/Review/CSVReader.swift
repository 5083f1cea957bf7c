/// An error in a review sheet, naming the file and, when it is about a place in it, the line and
/// column (both 1-based; the column counts characters of the line).
public struct ReviewSheetError: UserFacingError, Sendable, Equatable {
  public var file: String
  public var line: Int?
  public var column: Int?
  public var message: String

  public init(file: String, line: Int? = nil, column: Int? = nil, message: String) {
    self.file = file
    self.line = line
    self.column = column
    self.message = message
  }

  public var description: String {
    var place = file
    if let line { place += ":\(line)" }
    if let column { place += ":\(column)" }
    return "\(place): \(message)"
  }
}

/// One field of a CSV record and where it starts.
public struct CSVField: Sendable, Hashable {
  public var value: String
  public var line: Int
  public var column: Int
}

/// A strict RFC 4180 reader: fields separated by commas, records by CRLF or LF, a field in double
/// quotes may hold commas, line breaks and doubled quotes. Anything else is an error naming the line
/// and column: a quote inside an unquoted field, text after a closing quote, a quote never closed, a
/// carriage return not followed by a line feed. A final line break is optional; a UTF-8 byte order
/// mark at the start (spreadsheets write one) is skipped.
public enum CSVReader {
  /// The records of `text` (each a list of fields with their positions), from file `file`.
  public static func records(_ text: String, file: String) throws(ReviewSheetError) -> [[CSVField]] {
    var scalars = Array(text.unicodeScalars)
    if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
    var records: [[CSVField]] = []
    var record: [CSVField] = []
    var i = 0
    var line = 1
    var column = 1
    let n = scalars.count
    func fail(_ message: String, _ l: Int, _ c: Int) -> ReviewSheetError {
      ReviewSheetError(file: file, line: l, column: c, message: message)
    }
    // At the start of a field (after a separator, a line break, or at the start of the file).
    while i < n {
      let (startLine, startColumn) = (line, column)
      var value = String.UnicodeScalarView()
      if scalars[i] == "\"" {
        i += 1
        column += 1
        var closed = false
        while i < n {
          let c = scalars[i]
          if c == "\"" {
            if i + 1 < n, scalars[i + 1] == "\"" {
              value.append("\"")
              i += 2
              column += 2
              continue
            }
            i += 1
            column += 1
            closed = true
            break
          }
          value.append(c)
          i += 1
          if c == "\n" {
            line += 1
            column = 1
          } else {
            column += 1
          }
        }
        guard closed else { throw fail("a quoted field is never closed (its opening quote is here)", startLine, startColumn) }
        if i < n, scalars[i] != ",", scalars[i] != "\n", scalars[i] != "\r" {
          throw fail("text after the closing quote of a field (double a quote inside a quoted field: \"\")", line, column)
        }
      } else {
        while i < n, scalars[i] != ",", scalars[i] != "\n", scalars[i] != "\r" {
          if scalars[i] == "\"" {
            throw fail("a quote inside an unquoted field (put the field in quotes and double the quote: \"\")", line, column)
          }
          value.append(scalars[i])
          i += 1
          column += 1
        }
      }
      record.append(CSVField(value: String(value), line: startLine, column: startColumn))
      if i == n { break }
      switch scalars[i] {
      case ",":
        i += 1
        column += 1
        if i == n { record.append(CSVField(value: "", line: line, column: column)) }
      case "\r":
        guard i + 1 < n, scalars[i + 1] == "\n" else { throw fail("a carriage return not followed by a line feed", line, column) }
        i += 2
        records.append(record)
        record = []
        line += 1
        column = 1
      default:  // "\n"
        i += 1
        records.append(record)
        record = []
        line += 1
        column = 1
      }
    }
    if !record.isEmpty { records.append(record) }
    return records
  }
}
