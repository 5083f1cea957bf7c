import Testing

@testable import IAMEvidence

/// `JSONParser.parse(_:rejectDuplicateKeys:)`: a member named twice is an error with its JSON path
/// (issue 14, duplicate keys), while the default keeps the last one, as before.
@Suite struct JSONDuplicateKeyTests {
  @Test(arguments: [
    (#"{"a":1,"a":2}"#, "$.a", 1, 8),
    (#"{"a":[{"b":1},{"c":{"d":true,"d":false}}]}"#, "$.a[1].c.d", 1, 30),
    ("{\n  \"x\": [0, 1, {\"k\": null,\n \"k\": 0}]\n}", "$.x[2].k", 3, 2),
    // Names are compared decoded: an escape does not make a name new.
    (#"{"Action":"kms:*","\u0041ction":"ecr:GetObject"}"#, "$.Action", 1, 19),
  ])
  func aRepeatedNameIsNamedByItsPath(text: String, path: String, line: Int, column: Int) throws {
    let error = try #require(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(text.utf8), rejectDuplicateKeys: true) }
    #expect(error.path == path, "\(error)")
    #expect(error.message.hasPrefix("duplicate key"), "\(error)")
    #expect(error.line == line && error.column == column, "\(error)")
  }

  @Test func theDefaultStillKeepsTheLastMember() throws {
    let value = try JSONParser.parse(Array(#"{"a":1,"a":2}"#.utf8))
    #expect(value["a"] == .number("2"))
    let same = try JSONParser.parse(Array(#"{"a":1,"a":2}"#.utf8), rejectDuplicateKeys: false)
    #expect(same == value)
  }

  @Test func distinctNamesInDifferentObjectsAreFine() throws {
    let text = #"{"a":{"k":1},"b":{"k":2},"c":[{"k":3},{"k":4}]}"#
    #expect(try JSONParser.parse(Array(text.utf8), rejectDuplicateKeys: true) == (try JSONParser.parse(Array(text.utf8))))
    // Other syntax errors carry no path.
    let error = try #require(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(#"{"a":}"#.utf8), rejectDuplicateKeys: true) }
    #expect(error.path == nil)
  }
}
