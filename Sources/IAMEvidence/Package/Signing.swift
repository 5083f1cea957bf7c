import Crypto
import Foundation

/// An error of packaging or verification, naming the file concerned.
public struct PackageError: UserFacingError, Sendable {
  public var path: String
  public var message: String
  public init(path: String, message: String) {
    self.path = path
    self.message = message
  }
  public var description: String { "\(path): \(message)" }
}

/// Ed25519 keys in the PEM forms OpenSSL reads (PKCS #8 private key, SubjectPublicKeyInfo public
/// key), so an auditor can check `MANIFEST.sig` with `openssl pkeyutl -verify` and no iam-evidence.
public enum SigningKeys {
  // DER prefixes of the two structures for Ed25519 (OID 1.3.101.112); the 32 key bytes follow.
  static let privatePrefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
  static let publicPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

  /// A new key pair.
  public static func generate() -> Curve25519.Signing.PrivateKey { Curve25519.Signing.PrivateKey() }

  public static func privatePEM(_ key: Curve25519.Signing.PrivateKey) -> String {
    pem("PRIVATE KEY", privatePrefix + [UInt8](key.rawRepresentation))
  }

  public static func publicPEM(_ key: Curve25519.Signing.PublicKey) -> String {
    pem("PUBLIC KEY", publicPrefix + [UInt8](key.rawRepresentation))
  }

  public static func privateKey(pem text: String, source: String) throws(PackageError) -> Curve25519.Signing.PrivateKey {
    let der = try decode(text, label: "PRIVATE KEY", source: source)
    guard der.count == privatePrefix.count + 32, Array(der.prefix(privatePrefix.count)) == privatePrefix,
      let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
    else { throw PackageError(path: source, message: "not an Ed25519 private key (PKCS #8 PEM)") }
    return key
  }

  public static func publicKey(pem text: String, source: String) throws(PackageError) -> Curve25519.Signing.PublicKey {
    let der = try decode(text, label: "PUBLIC KEY", source: source)
    guard der.count == publicPrefix.count + 32, Array(der.prefix(publicPrefix.count)) == publicPrefix,
      let key = try? Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32))
    else { throw PackageError(path: source, message: "not an Ed25519 public key (SubjectPublicKeyInfo PEM)") }
    return key
  }

  /// SHA-256 of the public key's DER, hex: a fingerprint to compare out of band.
  public static func fingerprint(_ key: Curve25519.Signing.PublicKey) -> String {
    SHA256.hash(data: publicPrefix + [UInt8](key.rawRepresentation)).hexString
  }

  static func pem(_ label: String, _ der: [UInt8]) -> String {
    let b64 = Data(der).base64EncodedString()
    var lines = ["-----BEGIN \(label)-----"]
    var rest = Substring(b64)
    while !rest.isEmpty {
      lines.append(String(rest.prefix(64)))
      rest = rest.dropFirst(64)
    }
    lines.append("-----END \(label)-----")
    return lines.joined(separator: "\n") + "\n"
  }

  static func decode(_ text: String, label: String, source: String) throws(PackageError) -> [UInt8] {
    let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    guard let start = lines.firstIndex(of: "-----BEGIN \(label)-----"), let end = lines.firstIndex(of: "-----END \(label)-----"),
      start < end, let der = Data(base64Encoded: lines[(start + 1)..<end].joined())
    else { throw PackageError(path: source, message: "expected a PEM block \"\(label)\"") }
    return [UInt8](der)
  }
}

extension SigningKeys {
  /// Reads the private key (PKCS #8 PEM, as `keygen` writes it) at `path`.
  public static func loadPrivateKey(path: String) throws(PackageError) -> Curve25519.Signing.PrivateKey {
    guard let data = FileManager.default.contents(atPath: path) else { throw PackageError(path: path, message: "cannot read the key") }
    return try privateKey(pem: String(decoding: data, as: UTF8.self), source: path)
  }

  /// Reads the public key (SubjectPublicKeyInfo PEM) at `path`.
  public static func loadPublicKey(path: String) throws(PackageError) -> Curve25519.Signing.PublicKey {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw PackageError(path: path, message: "cannot read the public key")
    }
    return try publicKey(pem: String(decoding: data, as: UTF8.self), source: path)
  }

  /// A key pair written by `keygen`.
  public struct WrittenKeyPair: Sendable {
    public var privateKey: URL
    public var publicKey: URL
    /// SHA-256 fingerprint of the public key (``fingerprint(_:)``).
    public var fingerprint: String
  }

  /// Creates a new key pair in `directory` (created if needed): ``privateKeyFileName`` with mode 0600,
  /// created so before any secret is written to it, and ``publicKeyFileName``. Existing key files are
  /// replaced only with `force`.
  public static func writeKeyPair(to directory: URL, force: Bool) throws(PackageError) -> WrittenKeyPair {
    let privateURL = directory.appendingPathComponent(privateKeyFileName)
    let publicURL = directory.appendingPathComponent(publicKeyFileName)
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw PackageError(path: directory.path, message: "cannot create the folder: \(fileErrorReason(error, path: directory.path))")
    }
    if !force && (FileManager.default.fileExists(atPath: privateURL.path) || FileManager.default.fileExists(atPath: publicURL.path)) {
      throw PackageError(path: privateURL.path, message: "a key already exists (pass --force to replace it)")
    }
    let key = generate()
    var written = privateURL
    do {
      // Create the private key file with mode 0600 before any secret is written to it.
      _ = FileManager.default.createFile(atPath: privateURL.path, contents: nil, attributes: [.posixPermissions: 0o600])
      try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: privateURL.path)
      let handle = try FileHandle(forWritingTo: privateURL)
      try handle.truncate(atOffset: 0)
      try handle.write(contentsOf: Data(privatePEM(key).utf8))
      try handle.close()
      written = publicURL
      try Data(publicPEM(key.publicKey).utf8).write(to: publicURL)
    } catch {
      throw PackageError(path: written.path, message: "cannot write the key: \(fileErrorReason(error, path: written.path))")
    }
    return WrittenKeyPair(privateKey: privateURL, publicKey: publicURL, fingerprint: fingerprint(key.publicKey))
  }
}

/// The signing key type, named for the CLI (which does not import Crypto).
public typealias Curve25519SigningKey = Curve25519.Signing.PrivateKey
/// The verifying key type, named for the CLI.
public typealias Curve25519VerifyingKey = Curve25519.Signing.PublicKey

/// SHA-256 for the CLI.
public enum Digest {
  public static func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).hexString }
}
