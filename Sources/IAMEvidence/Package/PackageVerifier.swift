import Crypto
import Foundation
import XMLTree

/// Verifies a handoff package (zip or unpacked folder) without extracting anything to disk, within
/// fixed bounds, and in an order that gives the package's own content no say before it is vouched for:
///
/// 1. The entries are listed (names, kinds, declared sizes; nothing inflated). Absolute or `..` names
///    and links are refused (so a hostile archive cannot write outside a folder, zip-slip, and links
///    are never followed).
/// 2. `MANIFEST.sha256` is read; every member it lists is read as a stream and hashed, within
///    ``Limits``. Members it does not list are reported as extra by name and declared size and never
///    inflated or opened (a FIFO, device, socket or folder of an unpacked package included).
/// 3. The signature (`MANIFEST.sig`) is checked, against the key given or else the packaged key.
/// 4. Only when all of that passed: `evidence.xml` is validated against the packaged `evidence.xsd`,
///    compiled from memory with every external load refused (``XMLTree/XMLSchema/init(untrustedBytes:url:)``).
public enum PackageVerifier {
  /// The bounds on what `verify` reads. A package `package` writes stays far inside them: its largest
  /// members are the source snapshots (`--include-snapshots`; the largest AWS export measured here is
  /// 100 MB for 5,000 principals) and the report of the largest of them.
  public struct Limits: Sendable {
    /// Most bytes one member may hold (declared, and as actually inflated or read).
    public var maxMemberSize: UInt64
    /// Most bytes all members read may hold together.
    public var maxTotalSize: UInt64
    /// Most bytes of `evidence.xml`, which is parsed in memory for validation (libxml2's tree takes
    /// several times the text).
    public var maxEvidenceSize: UInt64
    /// Most bytes of the other members held in memory: `MANIFEST.sha256`, `MANIFEST.sig`,
    /// `iam-evidence.pub` and `evidence.xsd` (all a few KB in a real package).
    public var maxSmallMemberSize: UInt64
    /// Highest compression ratio (inflated ÷ compressed) a zip member may have; deflate reaches about
    /// 1,000:1 on uniform bytes, while reports, XML and snapshots compress 5–50:1.
    public var maxCompressionRatio: UInt64
    /// Members up to this size are exempt from the ratio (a small, uniform file may compress well).
    public var ratioExempt: UInt64
    /// Most entries a package may have (a year of daily snapshots is about 380).
    public var maxEntries: Int

    public init(
      maxMemberSize: UInt64, maxTotalSize: UInt64, maxEvidenceSize: UInt64, maxSmallMemberSize: UInt64,
      maxCompressionRatio: UInt64, ratioExempt: UInt64, maxEntries: Int
    ) {
      self.maxMemberSize = maxMemberSize
      self.maxTotalSize = maxTotalSize
      self.maxEvidenceSize = maxEvidenceSize
      self.maxSmallMemberSize = maxSmallMemberSize
      self.maxCompressionRatio = maxCompressionRatio
      self.ratioExempt = ratioExempt
      self.maxEntries = maxEntries
    }

    /// 1 GiB per member, 4 GiB in all, 512 MiB of evidence.xml, 16 MiB for the small members,
    /// 200:1 above 1 MiB, 10,000 entries.
    public static let standard = Limits(
      maxMemberSize: 1 << 30, maxTotalSize: 4 << 30, maxEvidenceSize: 512 << 20, maxSmallMemberSize: 16 << 20,
      maxCompressionRatio: 200, ratioExempt: 1 << 20, maxEntries: 10_000)
  }

  /// The outcome: problems name each altered, missing, extra or refused file.
  public struct Report: Sendable {
    /// The files (regular members) the package holds.
    public var files: Int
    /// Whether the package carries a signature (valid or not).
    public var signed: Bool
    /// The fingerprint of the key the signature was checked with.
    public var signerFingerprint: String?
    /// Whether the signer is known: the signature was checked against a public key the user gave,
    /// not only against the key inside the package (which anyone re-signing a package replaces).
    public var signerVerified: Bool
    /// One line per problem, `<file>: <problem>`; empty when the package verified.
    public var problems: [String]

    public var isOK: Bool { problems.isEmpty }

    /// What the signature proves, in words for the person verifying.
    public var signatureStatement: String {
      guard signed else {
        return "not signed (the manifest proves integrity only if it reached you through a trusted channel)"
      }
      let fingerprint = signerFingerprint ?? "?"
      if signerVerified { return "signature valid, made with the public key you gave (fingerprint \(fingerprint))" }
      return
        "signature valid for the key inside the package; the signer is NOT verified — compare this fingerprint with the one the sender gave you through another channel: \(fingerprint)"
    }

    /// The one-line verdict of a package that verified (after `OK: <path>: `).
    public var summary: String {
      "\(files) files match the manifest, \(signatureStatement), evidence.xml valid"
    }
  }

  /// Verifies the package at `path`; with `publicKey`, a valid signature by that key is required.
  public static func verify(
    path: String, publicKey: Curve25519.Signing.PublicKey?, limits: Limits = .standard
  ) throws(PackageError) -> Report {
    var problems: [String] = []
    let source = try PackageSource(path: path, limits: limits, problems: &problems)
    var verification = Verification(source: source, limits: limits, problems: problems)
    return verification.run(publicKey: publicKey)
  }

  /// One run of the checks over a listed package.
  struct Verification {
    let source: PackageSource
    let limits: Limits
    var problems: [String]
    /// Bytes read so far, for ``Limits/maxTotalSize``.
    var total: UInt64 = 0
    /// The members kept in memory after reading: the manifest, signature, public key, XML and schema.
    var held: [String: [UInt8]] = [:]

    static let evidenceName = "evidence.xml"
    static let schemaName = "evidence.xsd"

    init(source: PackageSource, limits: Limits, problems: [String]) {
      self.source = source
      self.limits = limits
      self.problems = problems
    }

    /// The most bytes of `name` to hold in memory, or nil when it is only hashed.
    func holdLimit(_ name: String) -> UInt64? {
      switch name {
      case Self.evidenceName: limits.maxEvidenceSize
      case HandoffPackage.manifestName, HandoffPackage.signatureName, HandoffPackage.publicKeyName, Self.schemaName:
        limits.maxSmallMemberSize
      default: nil
      }
    }

    /// Reads the file `entry`, hashing it and keeping it when ``holdLimit(_:)`` says so; nil (with
    /// the problem recorded) when a limit refused it or it could not be read.
    mutating func read(_ entry: PackageEntry) -> String? {
      let hold = holdLimit(entry.name)
      let remaining = limits.maxTotalSize > total ? limits.maxTotalSize - total : 0
      let limit = min(hold ?? limits.maxMemberSize, limits.maxMemberSize)
      if entry.declaredSize <= limit, entry.declaredSize > remaining {
        problems.append(
          "\(entry.name): declares \(PackageSource.size(entry.declaredSize)), beyond the limit of \(PackageSource.size(limits.maxTotalSize)) for all members together; not read"
        )
        return nil
      }
      var hasher = SHA256()
      var bytes: [UInt8] = []
      do {
        let count = try source.read(entry, limit: min(limit, remaining)) { chunk in
          hasher.update(bufferPointer: chunk)
          if hold != nil { bytes.append(contentsOf: chunk) }
        }
        total += count
      } catch {
        problems.append("\(entry.name): \(error.message)")
        return nil
      }
      if hold != nil { held[entry.name] = bytes }
      return hasher.finalize().hexString
    }

    mutating func run(publicKey: Curve25519.Signing.PublicKey?) -> Report {
      let entries = Dictionary(source.entries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
      let fileCount = source.entries.filter { $0.kind == .file }.count
      func report(signed: Bool = false, fingerprint: String? = nil, verified: Bool = false) -> Report {
        Report(files: fileCount, signed: signed, signerFingerprint: fingerprint, signerVerified: verified, problems: problems)
      }

      // 1. The manifest.
      guard let manifestEntry = entries[HandoffPackage.manifestName], manifestEntry.kind == .file else {
        problems.append("\(HandoffPackage.manifestName): missing")
        return report()
      }
      guard read(manifestEntry) != nil, let manifestBytes = held[HandoffPackage.manifestName] else { return report() }
      let (lines, malformed) = Manifest.parse(String(decoding: manifestBytes, as: UTF8.self))
      for line in malformed { problems.append("\(HandoffPackage.manifestName): line \(line) is not `<sha256>  <name>`") }

      // 2. Every member it lists, hashed; nothing else read.
      var listed: [String: [String]] = [:]
      var order: [String] = []
      for line in lines {
        if listed[line.name] == nil { order.append(line.name) }
        listed[line.name, default: []].append(line.hash)
      }
      for name in order {
        guard let entry = entries[name] else {
          problems.append("\(name): missing (listed in the manifest)")
          continue
        }
        switch entry.kind {
        case .file: break
        case .directory:
          problems.append("\(name): is a folder, not a file (listed in the manifest)")
          continue
        case .special(let what):
          problems.append("\(name): is \(what), not a regular file (listed in the manifest); not opened")
          continue
        }
        guard let hash = read(entry) else { continue }
        if listed[name, default: []].contains(where: { $0 != hash }) {
          problems.append("\(name): altered (SHA-256 does not match the manifest)")
        }
      }
      // Folders that hold a listed member are part of the package; any other entry is extra.
      var folders = Set<String>()
      for name in order {
        var parts = name.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        while !parts.isEmpty {
          folders.insert(parts.joined(separator: "/"))
          parts = parts.dropLast()
        }
      }
      var extraFolders: [String] = []
      for entry in source.entries.sorted(by: { $0.name < $1.name })
      where listed[entry.name] == nil && entry.name != HandoffPackage.manifestName && entry.name != HandoffPackage.signatureName {
        if extraFolders.contains(where: { entry.name.hasPrefix($0 + "/") }) { continue }
        switch entry.kind {
        case .file:
          problems.append("\(entry.name): extra file, not in the manifest (\(PackageSource.size(entry.declaredSize)); not read)")
        case .directory:
          guard !folders.contains(entry.name) else { continue }
          extraFolders.append(entry.name)
          problems.append("\(entry.name): extra folder, not in the manifest (not read)")
        case .special(let what):
          problems.append("\(entry.name): extra file, not in the manifest (\(what); not opened)")
        }
      }

      // 3. The signature.
      var signed = false
      var fingerprint: String?
      var verified = false
      if let signatureEntry = entries[HandoffPackage.signatureName] {
        signed = true
        var key = publicKey
        if let packaged = held[HandoffPackage.publicKeyName] {
          if let k = try? SigningKeys.publicKey(pem: String(decoding: packaged, as: UTF8.self), source: HandoffPackage.publicKeyName) {
            if let given = publicKey, given.rawRepresentation != k.rawRepresentation {
              problems.append("\(HandoffPackage.publicKeyName): not the public key you gave; the package was signed by someone else")
            }
            key = key ?? k
          } else {
            problems.append("\(HandoffPackage.publicKeyName): not a valid Ed25519 public key")
          }
        }
        if signatureEntry.kind != .file {
          problems.append("\(HandoffPackage.signatureName): not a regular file; not opened")
        } else if read(signatureEntry) != nil, let signature = held[HandoffPackage.signatureName] {
          if let key {
            fingerprint = SigningKeys.fingerprint(key)
            if key.isValidSignature(signature, for: manifestBytes) {
              verified = publicKey != nil
            } else {
              problems.append("\(HandoffPackage.signatureName): signature does not verify (manifest altered, or another key)")
            }
          } else {
            problems.append("\(HandoffPackage.signatureName): present but no public key to check it")
          }
        }
      } else if publicKey != nil {
        problems.append("\(HandoffPackage.signatureName): missing, but --public-key demands a signed package")
      }

      // 4. The evidence against its schema: only once everything above passed.
      guard let xml = held[Self.evidenceName], let xsd = held[Self.schemaName] else {
        if listed[Self.evidenceName] == nil || listed[Self.schemaName] == nil {
          problems.append("\(Self.evidenceName)/\(Self.schemaName): missing")
        }
        return report(signed: signed, fingerprint: fingerprint, verified: verified)
      }
      if problems.isEmpty { validate(xml: xml, xsd: xsd) }
      return report(signed: signed, fingerprint: fingerprint, verified: verified)
    }

    mutating func validate(xml: [UInt8], xsd: [UInt8]) {
      let schema: XMLSchema
      do {
        schema = try XMLSchema(untrustedBytes: xsd, url: Self.schemaName)
      } catch {
        problems.append("\(Self.schemaName): not a usable schema (\(error))")
        return
      }
      do {
        try schema.validate(try XMLDocument(bytes: xml, url: Self.evidenceName))
      } catch {
        problems.append("\(Self.evidenceName): does not validate against the packaged \(Self.schemaName) (\(error))")
      }
    }
  }
}
