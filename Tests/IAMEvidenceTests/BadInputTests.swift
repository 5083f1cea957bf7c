import Foundation
import SQLiteDB
import Testing

@testable import IAMEvidence

/// Bad input gets a clear error naming the file and JSON path, exit code 2, and nothing written.
@Suite(.temporaryDirectories) struct BadInputTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var bytes: [UInt8]
    /// Text the error must contain (file name and JSON path included).
    var expected: [String]
    var testDescription: String { name }
  }

  static let validDoc = #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#

  static func user(_ policyDocument: String) -> [UInt8] {
    Array(
      """
      {"UserDetailList":[{"UserName":"u","UserId":"AIDA1","Arn":"arn:aws:iam::123456789012:user/u",
        "UserPolicyList":[{"PolicyName":"ok","PolicyDocument":\(validDoc)},{"PolicyName":"p","PolicyDocument":\(policyDocument)}]}]}
      """.utf8)
  }

  static let cases: [Case] = [
    Case(name: "empty file", bytes: [], expected: ["bad.json", "$", "empty"]),
    Case(name: "whitespace only", bytes: Array("  \n".utf8), expected: ["bad.json", "$", "empty input"]),
    Case(
      name: "truncated JSON", bytes: Array(#"{"UserDetailList": [{"UserName": "a""#.utf8),
      expected: ["bad.json", "$", "truncated"]),
    Case(name: "not UTF-8", bytes: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D], expected: ["bad.json", "not valid UTF-8"]),
    Case(name: "top-level array", bytes: Array("[]".utf8), expected: ["bad.json: $: expected an object, found an array"]),
    Case(name: "top-level scalar", bytes: Array("42".utf8), expected: ["bad.json: $: expected an object, found a number"]),
    Case(
      name: "list that is not an array", bytes: Array(#"{"RoleDetailList": {"RoleName": "r"}}"#.utf8),
      expected: ["bad.json: $.RoleDetailList: expected an array, found an object"]),
    Case(
      name: "element that is not an object", bytes: Array(#"{"UserDetailList": ["alice"]}"#.utf8),
      expected: ["bad.json: $.UserDetailList[0]: expected an object, found a string"]),
    Case(
      name: "missing required field", bytes: Array(#"{"GroupDetailList": [{"GroupName": "g"}]}"#.utf8),
      expected: ["bad.json: $.GroupDetailList[0]: missing GroupId"]),
    Case(
      name: "document neither object nor string", bytes: user("17"),
      expected: ["bad.json: $.UserDetailList[0].UserPolicyList[1].PolicyDocument: expected a policy document"]),
    Case(
      name: "bad percent-encoding", bytes: user(#""%7B%22Version%ZZ""#),
      expected: ["bad.json: $.UserDetailList[0].UserPolicyList[1].PolicyDocument: not valid percent-encoded JSON"]),
    Case(
      name: "percent-encoded text that is not JSON", bytes: user(#""%7Bnot%20json""#),
      expected: ["bad.json: $.UserDetailList[0].UserPolicyList[1].PolicyDocument: not valid percent-encoded JSON"]),
    Case(
      name: "percent-encoded bytes that are not UTF-8", bytes: user(#""%7B%22a%22%3A%22%FF%22%7D""#),
      expected: ["bad.json: $.UserDetailList[0].UserPolicyList[1].PolicyDocument: not valid percent-encoded JSON"]),
    Case(
      name: "bad date",
      bytes: Array(
        #"{"UserDetailList":[{"UserName":"u","UserId":"A","Arn":"arn:aws:iam::123456789012:user/u","CreateDate":"last week"}]}"#.utf8),
      expected: ["bad.json: $.UserDetailList[0].CreateDate: not a valid date"]),
    Case(
      name: "duplicate inline policy name",
      bytes: Array(
        #"{"UserDetailList":[{"UserName":"u","UserId":"A","Arn":"arn:aws:iam::123456789012:user/u","UserPolicyList":[{"PolicyName":"x","PolicyDocument":{}},{"PolicyName":"x","PolicyDocument":{}}]}]}"#
          .utf8), expected: ["bad.json: $.UserDetailList[0].UserPolicyList[1]: inline policy name \"x\" appears twice"]),
  ]

  @Test(arguments: cases)
  func badSnapshotIsRefusedAndLeavesNothing(_ c: Case) throws {
    let (store, _) = try TestSupport.makeStore()
    let before = try store.fileSize()
    #expect {
      try store.workflow.ingest(
        IngestSource(name: "bad.json", bytes: c.bytes, modificationTime: nil), options: IngestOptions(now: TestSupport.fixedNow))
    } throws: { error in
      let text = "\(error)"
      let ok = c.expected.allSatisfy { text.contains($0) }
      if !ok { Issue.record("message was: \(text)") }
      return ok
    }
    #expect(try store.count("SELECT count(*) FROM snapshots") == 0)
    #expect(try store.count("SELECT count(*) FROM documents") == 0)
    #expect(try store.count("SELECT count(*) FROM principal_states") == 0)
    #expect(try store.fileSize() == before)
  }

  @Test func cliExitsWithTwoAndNamesTheFileAndPath() throws {
    let dir = try TestSupport.temporaryDirectory()
    let file = dir.appendingPathComponent("snap.json")
    try Data(Self.user(#""%7B%22Version%ZZ""#)).write(to: file)
    let db = dir.appendingPathComponent("e.sqlite").path
    let run = try TestSupport.run(["ingest", "--db", db, file.path])
    #expect(run.status == 2)
    #expect(run.stderr.contains("snap.json: $.UserDetailList[0].UserPolicyList[1].PolicyDocument: not valid percent-encoded JSON"))
    #expect(run.stdout.isEmpty)
    let list = try TestSupport.run(["snapshots", "--db", db, "--format", "json"])
    #expect(list.status == 0)
    #expect(list.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
  }

  @Test func directoryWithoutSnapshotsIsAnError() throws {
    let dir = try TestSupport.temporaryDirectory()
    try Data("{}".utf8).write(to: dir.appendingPathComponent("x.truth.json"))
    let run = try TestSupport.run(["ingest", "--db", dir.appendingPathComponent("e.sqlite").path, dir.path])
    #expect(run.status == 2)
    #expect(run.stderr.contains("holds no *.json snapshot"))
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("e.sqlite").path))
  }

  @Test func databaseThatIsNotSQLiteIsRefused() throws {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("notes.sqlite")
    let content = Data(String(repeating: "these are my notes, not a database\n", count: 200).utf8)
    try content.write(to: db)
    let run = try TestSupport.run(["ingest", "--db", db.path, TestSupport.fixture("dev-small.json").path])
    #expect(run.status == 2)
    #expect(run.stderr.contains("notes.sqlite: not an IAM Evidence database"))
    #expect(try Data(contentsOf: db) == content)
  }

  @Test func databaseFromANewerToolIsRefused() throws {
    let (store, dir) = try TestSupport.makeStore()
    _ = store
    let path = dir.appendingPathComponent("evidence.sqlite").path
    let raw = try SQLiteConnection(path: path, mode: .readWrite)
    try raw.execute("INSERT INTO schema_migrations(name, applied_at) VALUES ('9999-from-the-future', '2030-01-01T00:00:00Z')")
    #expect {
      try EvidenceStore(path: path, create: false, now: TestSupport.fixedNow)
    } throws: { error in
      "\(error)".contains("newer iam-evidence") && "\(error)".contains("9999-from-the-future")
    }
    let run = try TestSupport.run(["snapshots", "--db", path])
    #expect(run.status == 2)
    #expect(run.stderr.contains("newer iam-evidence"))
  }

  @Test func usageErrorsExitWithTwo() throws {
    let run = try TestSupport.run(["ingest", "--no-such-flag"])
    #expect(run.status == 2)
    let missing = try TestSupport.run(["snapshots", "--db", "/nonexistent/dir/x.sqlite"])
    #expect(missing.status == 2)
    #expect(missing.stderr.contains("no such database"))
  }
}
