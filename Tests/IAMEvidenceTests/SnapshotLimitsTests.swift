import Foundation
import Testing

@testable import IAMEvidence

/// One field of a snapshot cannot hold more than ``SnapshotLimits`` allows (issue 14: "a 50 MB string
/// inflates about 20 times in the database and needs 4.2 GB to report"): the decoder refuses it with
/// the file and JSON path, scanning it without copying it.
@Suite(.temporaryDirectories) struct SnapshotLimitsTests {
  static let fiftyMB = 50_000_000

  /// A snapshot file with one user; `user` is spliced in as the user object's members.
  static func snapshot(user: String = #""UserName":"alice""#, policies: String = "") -> [UInt8] {
    Array(
      """
      {"UserDetailList":[{"UserId":"AIDAEXAMPLE","Arn":"arn:aws:iam::111122223333:user/alice",\(user)}],
       "GroupDetailList":[],"RoleDetailList":[],"Policies":[\(policies)]}
      """.utf8)
  }

  static func refusal(_ bytes: [UInt8]) throws -> SnapshotDecodingError {
    try #require(throws: SnapshotDecodingError.self) { try SnapshotDecoder(sourceName: "big.json").decode(bytes) }
  }

  static func big(_ count: Int = fiftyMB, _ byte: Character = "a") -> String { String(repeating: byte, count: count) }

  @Test func aFiftyMegabyteNameIsRefusedWithItsPath() throws {
    let name = try Self.refusal(Self.snapshot(user: "\"UserName\":\"\(Self.big())\""))
    #expect(name.file == "big.json" && name.path == "$.UserDetailList[0].UserName", "\(name)")
    #expect(name.message.contains("longer than 4 KiB"), "\(name)")

    let inline = try Self.refusal(
      Self.snapshot(user: #""UserName":"alice","UserPolicyList":[{"PolicyName":""# + Self.big() + #"","PolicyDocument":{}}]"#))
    #expect(inline.path == "$.UserDetailList[0].UserPolicyList[0].PolicyName", "\(inline)")

    let managed = try Self.refusal(
      Self.snapshot(policies: #"{"Arn":"arn:aws:iam::111122223333:policy/p","PolicyName":""# + Self.big() + #""}"#))
    #expect(managed.path == "$.Policies[0].PolicyName", "\(managed)")

    // Escapes do not hide the length: fifty million bytes of \u0041 decode to 8 MB, still refused.
    let escaped = try Self.refusal(
      Self.snapshot(user: "\"UserName\":\"" + String(repeating: "\\u0041", count: Self.fiftyMB / 6) + "\""))
    #expect(escaped.path == "$.UserDetailList[0].UserName" && escaped.message.contains("longer than 4 KiB"), "\(escaped)")

    // A member name, even of a member the decoder does not read.
    let key = try Self.refusal(Self.snapshot(user: #""UserName":"alice",""# + Self.big(5000) + #"":1"#))
    #expect(key.path == "$.UserDetailList[0]" && key.message.contains("a member name is longer than 4 KiB"), "\(key)")
  }

  @Test func limitsAreCountedInUTF8BytesAndInclusive() throws {
    let limit = SnapshotLimits.Field.identifier.bytes
    for (value, accepted) in [
      (Self.big(limit), true), (Self.big(limit + 1), false), (Self.big(limit / 2, "é"), true), (Self.big(limit / 2 + 1, "é"), false),
      (String(repeating: "\\n", count: limit), true), (String(repeating: "\\n", count: limit + 1), false),
    ] {
      let bytes = Self.snapshot(user: "\"UserName\":\"\(value)\"")
      if accepted {
        #expect(try SnapshotDecoder(sourceName: "x.json").decode(bytes).principals.first?.name.utf8.count == limit)
      } else {
        #expect(try Self.refusal(bytes).path == "$.UserDetailList[0].UserName")
      }
    }
    // Tag values and descriptions have a larger limit.
    let text = SnapshotLimits.Field.text.bytes
    let tag = { (n: Int) in Self.snapshot(user: #""UserName":"alice","Tags":[{"Key":"k","Value":""# + Self.big(n) + #""}]"#) }
    #expect(try SnapshotDecoder(sourceName: "x.json").decode(tag(text)).principals.first?.tags.first?.value.utf8.count == text)
    #expect(try Self.refusal(tag(text + 1)).path == "$.UserDetailList[0].Tags[0].Value")
    let description = try Self.refusal(
      Self.snapshot(policies: #"{"Arn":"arn:aws:iam::111122223333:policy/p","Description":""# + Self.big(text + 1) + #""}"#))
    #expect(description.path == "$.Policies[0].Description" && description.message.contains("64 KiB"), "\(description)")
  }

  @Test func policyDocumentsAreBoundedInEveryEncoding() throws {
    let path = "$.UserDetailList[0].UserPolicyList[0].PolicyDocument"
    func user(document: String) -> [UInt8] {
      Self.snapshot(user: #""UserName":"alice","UserPolicyList":[{"PolicyName":"p","PolicyDocument":"# + document + "}]")
    }
    // As an object: a 50 MB string inside it, or many small statements.
    let object = try Self.refusal(user(document: #"{"Statement":[{"Sid":""# + Self.big() + #"","Effect":"Allow"}]}"#))
    #expect(object.path == path && object.message.contains("policy document longer than 1 MiB"), "\(object)")
    let statement = #"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#
    let many = Array(repeating: statement, count: (1 << 20) / statement.utf8.count + 1).joined(separator: ",")
    let manyStatements = try Self.refusal(user(document: #"{"Statement":["# + many + "]}"))
    #expect(manyStatements.path == path && manyStatements.message.contains("1 MiB"), "\(manyStatements)")
    // Just under the limit is accepted.
    let fits = Array(repeating: statement, count: (1 << 20) / (statement.utf8.count + 1) - 1).joined(separator: ",")
    #expect(try SnapshotDecoder(sourceName: "x.json").decode(user(document: #"{"Statement":["# + fits + "]}")).principals.count == 1)

    // As a percent-encoded string: over 4 MiB of string, or a canonical document over 1 MiB.
    let encoded = try Self.refusal(user(document: "\"%7B" + Self.big() + "%7D\""))
    #expect(encoded.path == path && encoded.message.contains("longer than 4 MiB"), "\(encoded)")
    let sid = PercentEncoding.encode(#"{"Statement":[{"Sid":""# + Self.big(2 << 20) + #""}]}"#)
    let decoded = try Self.refusal(user(document: "\"" + sid + "\""))
    #expect(decoded.path == path && decoded.message.contains("1 MiB in canonical form"), "\(decoded)")
    // As JSON text in a string.
    let text = try Self.refusal(user(document: #""{\"Sid\":\""# + Self.big(2 << 20) + #"\"}""#))
    #expect(text.path == path && text.message.contains("1 MiB in canonical form"), "\(text)")
  }

  @Test func ingestRefusesItWithTheFileAndPathAndStoresNothing() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("big.json")
    try Data(Self.snapshot(user: "\"UserName\":\"\(Self.big())\"")).write(to: file)
    let db = dir.appendingPathComponent("e.sqlite").path
    let run = try TestSupport.run(["ingest", "--db", db, "--captured-at", "2024-06-30T00:00:00Z", file.path])
    #expect(run.status == 2, "\(run.stdout)")
    #expect(run.stderr.contains("big.json: $.UserDetailList[0].UserName: longer than 4 KiB"), "\(run.stderr)")
    #expect(!run.stderr.contains("aaaaaaaaaa"))
    let snapshots = try TestSupport.run(["snapshots", "--db", db, "--format", "json"])
    #expect(!snapshots.stdout.contains("big.json"), "\(snapshots.stdout)")
  }
}
