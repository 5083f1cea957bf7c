import Crypto
import Foundation
import XMLTree
import ZIPFoundation

/// Verifies a handoff package (zip or unpacked folder) without extracting anything to disk: every
/// member is read into memory, so a hostile archive cannot write outside a target (zip-slip) and
/// links are never followed.
public enum PackageVerifier {
  /// The outcome: problems name each altered, missing or extra file.
  public struct Report: Sendable {
    public var files: Int
    public var signed: Bool
    public var signerFingerprint: String?
    public var problems: [String]
    public var isOK: Bool { problems.isEmpty }
  }

  /// Verifies the package at `path`; with `publicKey`, a valid signature by that key is required.
  public static func verify(path: String, publicKey: Curve25519.Signing.PublicKey?) throws(PackageError) -> Report {
    var problems: [String] = []
    let members = try readMembers(path: path, problems: &problems)
    return check(members, publicKey: publicKey, problems: problems)
  }

  static func readMembers(path: String, problems: inout [String]) throws(PackageError) -> [String: [UInt8]] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw PackageError(path: path, message: "no such file or directory")
    }
    var members: [String: [UInt8]] = [:]
    if isDirectory.boolValue {
      let root = URL(fileURLWithPath: path)
      guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isSymbolicLinkKey, .isRegularFileKey])
      else {
        throw PackageError(path: path, message: "cannot read the folder")
      }
      for case let url as URL in walker {
        let relative = String(url.path.dropFirst(root.path.count + 1))
        let values = try? url.resourceValues(forKeys: [.isSymbolicLinkKey, .isRegularFileKey])
        if values?.isSymbolicLink == true {
          problems.append("\(relative): is a symbolic link (not followed)")
          continue
        }
        guard values?.isRegularFile == true else { continue }
        guard let data = FileManager.default.contents(atPath: url.path) else {
          problems.append("\(relative): cannot be read")
          continue
        }
        members[relative] = [UInt8](data)
      }
      return members
    }
    let archive: Archive
    do {
      archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
    } catch {
      throw PackageError(path: path, message: "not a readable zip archive")
    }
    for entry in archive {
      let name = entry.path
      if name.hasPrefix("/") || name.split(separator: "/").contains("..") || name.contains("\\") {
        problems.append("\(name): unsafe path in the archive (absolute or with ..), refused")
        continue
      }
      switch entry.type {
      case .symlink:
        problems.append("\(name): is a link (not followed)")
        continue
      case .directory:
        continue
      case .file:
        break
      }
      if members[name] != nil {
        problems.append("\(name): appears twice in the archive")
        continue
      }
      var bytes: [UInt8] = []
      do {
        _ = try archive.extract(entry) { bytes.append(contentsOf: $0) }
      } catch {
        problems.append("\(name): cannot be read from the archive (\(error))")
        continue
      }
      members[name] = bytes
    }
    return members
  }

  static func check(_ members: [String: [UInt8]], publicKey: Curve25519.Signing.PublicKey?, problems initial: [String]) -> Report {
    var problems = initial
    guard let manifestBytes = members[HandoffPackage.manifestName] else {
      problems.append("\(HandoffPackage.manifestName): missing")
      return Report(files: members.count, signed: false, signerFingerprint: nil, problems: problems)
    }
    let (entries, malformed) = Manifest.parse(String(decoding: manifestBytes, as: UTF8.self))
    for line in malformed { problems.append("\(HandoffPackage.manifestName): line \(line) is not `<sha256>  <name>`") }
    var listed = Set<String>()
    for e in entries {
      listed.insert(e.name)
      guard let bytes = members[e.name] else {
        problems.append("\(e.name): missing (listed in the manifest)")
        continue
      }
      if SHA256.hash(data: bytes).hexString != e.hash { problems.append("\(e.name): altered (SHA-256 does not match the manifest)") }
    }
    for name in members.keys.sorted()
    where !listed.contains(name) && name != HandoffPackage.manifestName && name != HandoffPackage.signatureName {
      problems.append("\(name): extra file, not in the manifest")
    }

    var signed = false
    var fingerprint: String?
    if let signature = members[HandoffPackage.signatureName] {
      signed = true
      var key = publicKey
      if let packaged = members[HandoffPackage.publicKeyName] {
        if let k = try? SigningKeys.publicKey(pem: String(decoding: packaged, as: UTF8.self), source: HandoffPackage.publicKeyName) {
          if let given = publicKey, given.rawRepresentation != k.rawRepresentation {
            problems.append("\(HandoffPackage.publicKeyName): not the public key you gave; the package was signed by someone else")
          }
          key = key ?? k
        } else {
          problems.append("\(HandoffPackage.publicKeyName): not a valid Ed25519 public key")
        }
      }
      if let key {
        fingerprint = SigningKeys.fingerprint(key)
        if !key.isValidSignature(signature, for: manifestBytes) {
          problems.append("\(HandoffPackage.signatureName): signature does not verify (manifest altered, or another key)")
        }
      } else {
        problems.append("\(HandoffPackage.signatureName): present but no public key to check it")
      }
    } else if publicKey != nil {
      problems.append("\(HandoffPackage.signatureName): missing, but --public-key demands a signed package")
    }

    if let xml = members["evidence.xml"], let xsd = members["evidence.xsd"] {
      do {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("iam-evidence-verify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let schemaURL = dir.appendingPathComponent("evidence.xsd")
        try Data(xsd).write(to: schemaURL)
        try XMLSchema(contentsOfFile: schemaURL.path).validate(try XMLDocument(bytes: xml))
      } catch {
        problems.append("evidence.xml: does not validate against the packaged evidence.xsd (\(error))")
      }
    } else {
      problems.append("evidence.xml/evidence.xsd: missing")
    }
    return Report(files: members.count, signed: signed, signerFingerprint: fingerprint, problems: problems)
  }
}
