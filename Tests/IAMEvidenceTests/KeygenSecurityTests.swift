import Foundation
import Testing

@testable import IAMEvidence

/// `keygen` never lets another local user read the private key (issue 14, defect 1): the key file is
/// private from the system call that creates it, links planted at the key's name are not followed,
/// and nothing is overwritten without `--force`.
@Suite(.temporaryDirectories) struct KeygenSecurityTests {
  static func mode(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1) & 0o777
  }

  static func type(_ path: String) throws -> FileAttributeType? {
    try FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType
  }

  @Test func thePrivateKeyFileIsPrivateFromItsCreation() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let key = SigningKeys.generate()
    var observed: [(file: Int, folder: Int, size: Int)] = []
    let files = try SigningKeys.writeKeyPair(key, to: dir, force: false) { path in
      // Right after open(2): nothing is written yet, and the file is already 0600 in a 0700 folder.
      let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
      observed.append(
        ((try? Self.mode(path)) ?? -1, (try? Self.mode((path as NSString).deletingLastPathComponent)) ?? -1, size))
    }
    #expect(observed.count == 1)
    #expect(observed.first?.file == 0o600)
    #expect(observed.first.map { $0.folder & 0o077 } == 0, "the temporary folder is private")
    #expect(observed.first?.size == 0)
    #expect(try Self.mode(files.privateKey.path) == 0o600)
    #expect(files.privateKey.lastPathComponent == "iam-evidence.key" && files.publicKey.lastPathComponent == "iam-evidence.pub")
    let written = try SigningKeys.privateKey(pem: String(decoding: try TestSupport.bytes(files.privateKey), as: UTF8.self), source: "k")
    #expect(written.rawRepresentation == key.rawRepresentation)
    #expect(files.fingerprint == SigningKeys.fingerprint(key.publicKey))
    // The temporary folder is gone.
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["iam-evidence.key", "iam-evidence.pub"])
  }

  @Test func aLinkPlantedAtTheKeyNameIsNeverFollowed() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let keys = dir.appendingPathComponent("keys")
    try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
    let victim = dir.appendingPathComponent("victim.txt")
    try Data("victim\n".utf8).write(to: victim)
    let dangling = dir.appendingPathComponent("not-there-yet")
    for name in ["iam-evidence.key", "iam-evidence.pub"] {
      for target in [victim, dangling] {
        let link = keys.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: link)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: target.path)
        // Without --force: refused, the link and what it points to untouched.
        #expect(throws: PackageError.self) { try SigningKeys.writeKeyPair(to: keys, force: false) }
        #expect(try Self.type(link.path) == .typeSymbolicLink)
        #expect(try String(contentsOf: victim, encoding: .utf8) == "victim\n")
        #expect(!PackageSupport.exists(dangling), "\(name): the link's target was created")
        // With --force: the link itself is replaced by a private regular file.
        let files = try SigningKeys.writeKeyPair(to: keys, force: true)
        #expect(try Self.type(link.path) == .typeRegular)
        #expect(try Self.mode(files.privateKey.path) == 0o600)
        #expect(try String(contentsOf: victim, encoding: .utf8) == "victim\n")
        #expect(!PackageSupport.exists(dangling), "\(name): the link's target was created")
        #expect(try FileManager.default.contentsOfDirectory(atPath: keys.path).sorted() == ["iam-evidence.key", "iam-evidence.pub"])
        try FileManager.default.removeItem(at: files.privateKey)
        try FileManager.default.removeItem(at: files.publicKey)
      }
    }
  }

  @Test func aFolderAtTheKeyNameIsRefusedEvenWithForce() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("iam-evidence.key"), withIntermediateDirectories: true)
    #expect(throws: PackageError.self) { try SigningKeys.writeKeyPair(to: dir, force: true) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["iam-evidence.key"])
  }

  /// Through the CLI with the most permissive umask: the key is still 0600 (and the public key 0644),
  /// and no temporary folder is left behind.
  @Test func keygenUnderUmask000() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let keys = dir.appendingPathComponent("keys")
    for arguments in [[String](), ["--force"]] {
      let run = try PackageSupport.shell(
        "/bin/sh", ["-c", "umask 000 && exec \"$0\" keygen --out \"$1\" $2", TestSupport.binary.path, keys.path] + arguments, cwd: dir)
      #expect(run.status == 0, "\(run.stderr)")
      #expect(try Self.mode(keys.appendingPathComponent("iam-evidence.key").path) == 0o600)
      #expect(try Self.mode(keys.appendingPathComponent("iam-evidence.pub").path) == 0o644)
      #expect(try FileManager.default.contentsOfDirectory(atPath: keys.path).sorted() == ["iam-evidence.key", "iam-evidence.pub"])
    }
  }
}
