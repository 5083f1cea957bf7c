import Testing

@testable import IAMEvidence

@Suite struct JSONParserTests {
  @Test func parsesAndCanonicalises() throws {
    let v = try JSONParser.parse(#"{ "b": [1, 2.50, "x\u0041"], "a": {"z": null, "y": true} }"#)
    #expect(JSONWriter.canonical(v) == #"{"a":{"y":true,"z":null},"b":[1,2.50,"xA"]}"#)
  }

  @Test func reportsTruncation() {
    #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(#"{"a": [1, 2"#) }
  }

  @Test func duplicateKeysKeepTheLastValueAndKeysSortByUTF8Bytes() throws {
    let v = try JSONParser.parse(#"{"b": 1, "a": 2, "b": 3, "Z": 0, "é": 5, "aa": [ {"y": 1, "y": 2} ]}"#)
    #expect(JSONWriter.canonical(v) == #"{"Z":0,"a":2,"aa":[{"y":2}],"b":3,"é":5}"#)
  }
}
