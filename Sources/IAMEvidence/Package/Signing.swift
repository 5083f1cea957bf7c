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

  /// Runs `body`, turning a failed file-system call into a package error on the same path.
  static func wrapping<T>(_ body: () throws(FileSystemFailure) -> T) throws(PackageError) -> T {
    do {
      return try body()
    } catch {
      throw PackageError(path: error.path, message: error.message)
    }
  }
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

  /// The two files of a key pair that ``writeKeyPair(to:force:)`` wrote.
  public struct KeyPairFiles: Sendable {
    /// `iam-evidence.key`: PKCS #8 PEM, mode 0600.
    public var privateKey: URL
    /// `iam-evidence.pub`: SubjectPublicKeyInfo PEM.
    public var publicKey: URL
    /// ``fingerprint(_:)`` of the public key.
    public var fingerprint: String
  }

  /// Generates a key pair and writes `iam-evidence.key` and `iam-evidence.pub` into `directory`
  /// (created if needed), so that no other user can ever read the private key:
  ///
  /// - both files are written in a new folder of mode 0700 inside `directory`; the private key file
  ///   is created there with mode 0600 by the `open` call itself (`O_CREAT | O_EXCL | O_NOFOLLOW`,
  ///   then `fchmod` to exactly 0600 whatever the umask), written and flushed to disk, and only then
  ///   given its final name in `directory`, which is flushed too;
  /// - without `force`, an existing entry of either name (a file, a link, anything) is refused, and
  ///   the final names are created with `linkat`, which never replaces anything, so a file planted in
  ///   between is not overwritten either;
  /// - with `force`, `renameat` replaces the entries themselves: a symbolic link planted at a key's
  ///   name is replaced by the key file, and whatever it pointed to is left untouched.
  ///
  /// - Throws: ``PackageError`` naming the file concerned; the temporary folder is removed.
  public static func writeKeyPair(to directory: URL, force: Bool) throws(PackageError) -> KeyPairFiles {
    try writeKeyPair(generate(), to: directory, force: force, created: nil)
  }

  /// ``writeKeyPair(to:force:)`` with a given key; `created` is called with the private key file's
  /// temporary path right after it was created, before the key is written (tests inspect it).
  static func writeKeyPair(
    _ key: Curve25519.Signing.PrivateKey, to directory: URL, force: Bool, created: ((String) -> Void)?
  ) throws(PackageError) -> KeyPairFiles {
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw PackageError(path: directory.path, message: "cannot create the folder")
    }
    return try PackageError.wrapping { () throws(FileSystemFailure) -> KeyPairFiles in
      let folder = try DirectoryHandle.open(directory.path)
      let names = [privateKeyFileName, publicKeyFileName]
      for name in names {
        guard let kind = try folder.kind(of: name) else { continue }
        if kind == S_IFDIR { throw FileSystemFailure(path: folder.path(of: name), message: "is a folder, not a key file") }
        if !force {
          throw FileSystemFailure(path: folder.path(of: name), message: "a key already exists (pass --force to replace it)")
        }
      }
      let temporaryName = try folder.makeTemporaryDirectory(prefix: ".iam-evidence-keygen-", mode: 0o700)
      defer { try? folder.removeFlatDirectory(temporaryName) }
      let temporary = try folder.openDirectory(temporaryName)
      try temporary.createFile(
        privateKeyFileName, mode: 0o600, exactMode: true, bytes: Array(privatePEM(key).utf8), created: created)
      try temporary.createFile(publicKeyFileName, mode: 0o644, bytes: Array(publicPEM(key.publicKey).utf8))
      try temporary.sync()
      var placed: [String] = []
      do throws(FileSystemFailure) {
        for name in names {
          if force {
            try temporary.rename(name, to: folder, as: name)
          } else {
            try temporary.link(name, to: folder, as: name)
          }
          placed.append(name)
        }
      } catch {
        // Without --force nothing was replaced: take back the half of the pair already placed.
        if !force { for name in placed { try? folder.removeFile(name) } }
        throw error
      }
      try folder.sync()
      return KeyPairFiles(
        privateKey: URL(fileURLWithPath: folder.path(of: privateKeyFileName)),
        publicKey: URL(fileURLWithPath: folder.path(of: publicKeyFileName)), fingerprint: fingerprint(key.publicKey))
    }
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
}

/// The signing key type, named for the CLI (which does not import Crypto).
public typealias Curve25519SigningKey = Curve25519.Signing.PrivateKey
/// The verifying key type, named for the CLI.
public typealias Curve25519VerifyingKey = Curve25519.Signing.PublicKey

/// SHA-256 for the CLI.
public enum Digest {
  public static func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).hexString }
}
