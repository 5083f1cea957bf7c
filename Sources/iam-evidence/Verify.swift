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
    let key = try publicKey.map { try SigningKeys.loadPublicKey(path: $0) }
    let report = try PackageVerifier.verify(path: path, publicKey: key)
    if report.isOK {
      Terminal.out("OK: \(path): \(report.summary)")
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
    let files = try SigningKeys.writeKeyPair(to: URL(fileURLWithPath: out), force: force)
    Terminal.out("wrote \(files.privateKey.path) (keep it secret) and \(files.publicKey.path)")
    Terminal.out("public key fingerprint (SHA-256): \(files.fingerprint)")
  }
}
