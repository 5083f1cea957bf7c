import ArgumentParser
import Foundation
import IAMEvidence

/// `iam-evidence verify`: check a handoff package.
struct Verify: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Verify a handoff package: every hash, the signature, no missing or extra file, evidence.xml against its schema.",
    discussion: "Exit 0 with one OK line, or 3 naming each altered, missing or extra file (2: usage or unreadable input).")

  @Argument(help: "The package zip, or the folder it was unpacked into.")
  var path: String

  @Option(help: "Require a valid signature by this Ed25519 public key (PEM).")
  var publicKey: String?

  func run() throws {
    let key = try publicKey.map { p -> Curve25519VerifyingKey in
      guard let data = FileManager.default.contents(atPath: p) else { throw CommandFailure(message: "\(p): cannot read the public key") }
      return try SigningKeys.publicKey(pem: String(decoding: data, as: UTF8.self), source: p)
    }
    let report = try PackageVerifier.verify(path: path, publicKey: key)
    if report.isOK {
      Terminal.out(
        "OK: \(path): \(report.files) files match the manifest"
          + (report.signed ? ", signature valid (key fingerprint \(report.signerFingerprint ?? "?"))" : ", not signed")
          + ", evidence.xml valid")
      return
    }
    for p in report.problems { Terminal.note("FAILED: \(p)") }
    throw ExitCode(3)
  }
}

/// `iam-evidence keygen`: an Ed25519 key pair for signing packages.
struct Keygen: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Create an Ed25519 key pair: DIR/iam-evidence.key (mode 0600) and DIR/iam-evidence.pub.")

  @Option(help: "The folder to write the keys into.")
  var out: String

  @Flag(help: "Replace existing key files.")
  var force = false

  func run() throws {
    let dir = URL(fileURLWithPath: out)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let privateURL = dir.appendingPathComponent(SigningKeys.privateKeyFileName)
    let publicURL = dir.appendingPathComponent(SigningKeys.publicKeyFileName)
    if !force && (FileManager.default.fileExists(atPath: privateURL.path) || FileManager.default.fileExists(atPath: publicURL.path)) {
      throw CommandFailure(message: "\(privateURL.path): a key already exists (pass --force to replace it)")
    }
    let key = SigningKeys.generate()
    // Create the private key file with mode 0600 before any secret is written to it.
    _ = FileManager.default.createFile(atPath: privateURL.path, contents: nil, attributes: [.posixPermissions: 0o600])
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: privateURL.path)
    let handle = try FileHandle(forWritingTo: privateURL)
    try handle.truncate(atOffset: 0)
    try handle.write(contentsOf: Data(SigningKeys.privatePEM(key).utf8))
    try handle.close()
    try Data(SigningKeys.publicPEM(key.publicKey).utf8).write(to: publicURL)
    Terminal.out("wrote \(privateURL.path) (keep it secret) and \(publicURL.path)")
    Terminal.out("public key fingerprint (SHA-256): \(SigningKeys.fingerprint(key.publicKey))")
  }
}
