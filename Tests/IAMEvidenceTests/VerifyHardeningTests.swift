import Crypto
import Foundation
import Testing
import ZIPFoundation

@testable import IAMEvidence

#if canImport(Glibc)
  import Glibc
#endif

/// `verify` against hostile packages (issue 14): a packaged schema that tries to reach the file
/// system (defect 4), members that would inflate without bound (defect 5), special files in an
/// unpacked folder (defect 12), and a package re-signed with another key (the unverified signer).
@Suite(.temporaryDirectories, .packagedQuarter) struct VerifyHardeningTests {
  typealias P = PackageSupport
  typealias Member = (name: String, bytes: [UInt8])

  /// The base package's members other than manifest, signature and public key.
  static func coreMembers() throws -> [Member] {
    try P.zipMembers(try P.base().signed).filter { !["MANIFEST.sha256", "MANIFEST.sig", "iam-evidence.pub"].contains($0.name) }
  }

  /// `members` followed by a manifest listing them all: a valid unsigned package.
  static func withManifest(_ members: [Member]) -> [Member] {
    members + [("MANIFEST.sha256", Array(Manifest.make(members.map { ReportWriter.Output(name: $0.name, bytes: $0.bytes) }).utf8))]
  }

  /// The packaged evidence.xsd with `reference` (an xs:import or xs:include) as its first child.
  static func hostileSchema(_ members: [Member], _ reference: String) throws -> [UInt8] {
    let xsd = String(decoding: try #require(members.first { $0.name == "evidence.xsd" }).bytes, as: UTF8.self)
    let start = try #require(xsd.range(of: "<xs:schema "))
    let end = try #require(xsd[start.upperBound...].range(of: ">"))
    return Array((xsd[..<end.upperBound] + "\n" + reference + xsd[end.upperBound...]).utf8)
  }

  static func replacing(_ members: [Member], _ name: String, with bytes: [UInt8]) -> [Member] {
    members.map { $0.name == name ? (name, bytes) : $0 }
  }

  static func fifoHasReader(_ fifo: URL) -> Bool {
    let fd = Glibc.open(fifo.path, O_WRONLY | O_NONBLOCK)
    guard fd >= 0 else { return false }  // ENXIO: nobody has it open for reading
    close(fd)
    return true
  }

  /// Runs the CLI with standard input left open (a pipe nobody writes to) and kills it after
  /// `seconds`; nil when it had to be killed.
  static func runWithOpenStdin(_ arguments: [String], seconds: Double = 60) throws -> TestSupport.Run? {
    let process = Process()
    process.executableURL = TestSupport.binary
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    let input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    let hung = process.isRunning
    if hung {
      kill(process.processIdentifier, SIGKILL)
    }
    process.waitUntilExit()
    try input.fileHandleForWriting.close()
    let run = TestSupport.Run(
      status: process.terminationStatus, stdout: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
      stderr: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    return hung ? nil : run
  }

  /// Runs `body` on another thread, waiting at most `seconds`; on a timeout, unblocks readers of
  /// `fifos` and returns nil.
  static func withTimeout<T: Sendable>(_ seconds: Double, fifos: [URL], _ body: @escaping @Sendable () throws -> T) throws -> T? {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      box.result = Result { try body() }
      done.signal()
    }
    if done.wait(timeout: .now() + seconds) == .success { return try box.result?.get() }
    for fifo in fifos {
      let fd = Glibc.open(fifo.path, O_WRONLY | O_NONBLOCK)
      if fd >= 0 { close(fd) }
    }
    _ = done.wait(timeout: .now() + 10)
    return nil
  }

  // MARK: The packaged schema (defect 4)

  @Test func aHostileSchemaNeverReachesTheFileSystemAndNothingHangs() throws {
    let core = try Self.coreMembers()
    let root = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    let fifo = root.appendingPathComponent("fifo.xsd")
    #expect(mkfifo(fifo.path, 0o600) == 0)
    try Data(try Self.hostileSchema(core, "")).write(to: root.appendingPathComponent("other.xsd"))
    let locations = [
      "file:///dev/stdin", "/dev/stdin", fifo.path, "file://" + fifo.path, "../fifo.xsd", "/etc/passwd", "file:///etc/passwd",
      "../../../../../../../etc/passwd", "../other.xsd", "http://127.0.0.1:9/evidence.xsd",
    ]
    for (i, location) in locations.enumerated() {
      let reference =
        i % 2 == 0
        ? #"<xs:import namespace="urn:other" schemaLocation="\#(location)"/>"# : #"<xs:include schemaLocation="\#(location)"/>"#
      let members = Self.withManifest(Self.replacing(core, "evidence.xsd", with: try Self.hostileSchema(core, reference)))
      let dir = root.appendingPathComponent("package-\(i)")
      try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
      for m in members {
        let url = dir.appendingPathComponent(m.name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(m.bytes).write(to: url, options: [])
      }
      guard let run = try Self.runWithOpenStdin(["verify", dir.path]) else {
        Issue.record("verify hung on \(location)")
        continue
      }
      #expect(run.status == 3, "\(location): \(run.stdout)")
      #expect(P.failedNames(run.stderr) == ["evidence.xsd"], "\(location): \(run.stderr)")
      #expect(run.stderr.contains("FAILED: evidence.xsd: not a usable schema") && run.stderr.contains("refused"), "\(run.stderr)")
      #expect(!run.stderr.contains("root:"), "\(location): \(run.stderr)")
      #expect(!Self.fifoHasReader(fifo))
    }
  }

  @Test func theSchemaIsNotReadWhenTheManifestOrSignatureFails() throws {
    let base = try P.base()
    let core = try Self.coreMembers()
    let root = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    let fifo = root.appendingPathComponent("fifo.xsd")
    #expect(mkfifo(fifo.path, 0o600) == 0)
    let hostile = try Self.hostileSchema(core, #"<xs:include schemaLocation="\#(fifo.path)"/>"#)
    // An altered member besides the hostile schema (which the manifest covers).
    var members = Self.withManifest(Self.replacing(core, "evidence.xsd", with: hostile))
    members = Self.replacing(members, "trend.csv", with: Array("altered\n".utf8))
    let altered = root.appendingPathComponent("altered")
    try FileManager.default.createDirectory(at: altered, withIntermediateDirectories: true)
    for m in members {
      let url = altered.appendingPathComponent(m.name)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(m.bytes).write(to: url)
    }
    let report = try Self.withTimeout(30, fifos: [fifo]) { try PackageVerifier.verify(path: altered.path, publicKey: nil) }
    let problems = try #require(report, "verify hung").problems
    #expect(problems == ["trend.csv: altered (SHA-256 does not match the manifest)"])
    #expect(!Self.fifoHasReader(fifo))

    // A signature by another key than the one given: the schema is not read either.
    let signedMembers = try P.zipMembers(base.signed)
    let listed = Self.replacing(signedMembers.filter { !$0.name.hasPrefix("MANIFEST.") }, "evidence.xsd", with: hostile)
    let manifest = Array(Manifest.make(listed.map { ReportWriter.Output(name: $0.name, bytes: $0.bytes) }).utf8)
    let other = Curve25519.Signing.PrivateKey()
    var forged = Self.replacing(signedMembers, "evidence.xsd", with: hostile)
    forged = Self.replacing(forged, "MANIFEST.sha256", with: manifest)
    forged = Self.replacing(forged, "MANIFEST.sig", with: [UInt8](try other.signature(for: manifest)))
    let zip = root.appendingPathComponent("forged.zip")
    try P.writeZip(forged, to: zip)
    let given = try SigningKeys.publicKey(pem: String(decoding: try TestSupport.bytes(base.publicKey), as: UTF8.self), source: "pub")
    let raw = given.rawRepresentation
    let signedReport = try Self.withTimeout(30, fifos: [fifo]) {
      try PackageVerifier.verify(path: zip.path, publicKey: try Curve25519.Signing.PublicKey(rawRepresentation: raw))
    }
    let signedProblems = try #require(signedReport, "verify hung").problems
    #expect(signedProblems == ["MANIFEST.sig: signature does not verify (manifest altered, or another key)"], "\(signedProblems)")
    #expect(!Self.fifoHasReader(fifo))
  }

  // MARK: The signer (risk: re-signed packages)

  @Test func withoutAKeyTheSignerIsSaidToBeUnverified() throws {
    let base = try P.base()
    let given = try SigningKeys.publicKey(pem: String(decoding: try TestSupport.bytes(base.publicKey), as: UTF8.self), source: "pub")
    let genuine = SigningKeys.fingerprint(given)

    let withKey = try PackageVerifier.verify(path: base.signed.path, publicKey: given)
    #expect(withKey.isOK && withKey.signerVerified)
    #expect(withKey.summary.contains("signature valid, made with the public key you gave (fingerprint \(genuine))"))
    #expect(!withKey.summary.contains("NOT verified"))

    let withoutKey = try PackageVerifier.verify(path: base.signed.path, publicKey: nil)
    #expect(withoutKey.isOK && !withoutKey.signerVerified)
    let unverified =
      "signature valid for the key inside the package; the signer is NOT verified — compare this fingerprint with the one the sender gave you through another channel: "
    #expect(withoutKey.signatureStatement == unverified + genuine)

    // Re-signed by someone else, with their public key inside: the integrity checks pass, and the
    // wording says plainly that the signer is unknown and shows the other key's fingerprint.
    let other = Curve25519.Signing.PrivateKey()
    let members = try P.zipMembers(base.signed)
    let core = members.filter { !["MANIFEST.sha256", "MANIFEST.sig"].contains($0.name) }
    let swapped = Self.replacing(core, "iam-evidence.pub", with: Array(SigningKeys.publicPEM(other.publicKey).utf8))
    var resigned = Self.withManifest(swapped)
    resigned.append(("MANIFEST.sig", [UInt8](try other.signature(for: resigned.last!.bytes))))
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let zip = dir.appendingPathComponent("resigned.zip")
    try P.writeZip(resigned, to: zip)
    let forged = try PackageVerifier.verify(path: zip.path, publicKey: nil)
    #expect(forged.isOK && !forged.signerVerified)
    #expect(forged.signatureStatement == unverified + SigningKeys.fingerprint(other.publicKey))

    let run = try TestSupport.run(["verify", zip.path])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.contains("the signer is NOT verified") && run.stdout.contains(SigningKeys.fingerprint(other.publicKey)))
    let refused = try TestSupport.run(["verify", zip.path, "--public-key", base.publicKey.path])
    #expect(refused.status == 3)
    let plain = try TestSupport.run(["verify", base.signed.path, "--public-key", base.publicKey.path])
    #expect(plain.stdout.contains("made with the public key you gave") && !plain.stdout.contains("NOT verified"), "\(plain.stdout)")
  }

  // MARK: Bounds (defect 5)

  /// The offsets of `name`'s local header and central directory record in a zip written by
  /// ZIPFoundation (no data descriptors).
  static func headers(of name: String, in zip: [UInt8]) -> (local: Int, central: Int)? {
    let nameBytes = Array(name.utf8)
    func u16(_ at: Int) -> Int { Int(zip[at]) | Int(zip[at + 1]) << 8 }
    var local: Int?
    var central: Int?
    var i = 0
    while i + 46 < zip.count {
      if zip[i] == 0x50, zip[i + 1] == 0x4B, zip[i + 2] == 3, zip[i + 3] == 4, u16(i + 26) == nameBytes.count,
        Array(zip[(i + 30)..<(i + 30 + nameBytes.count)]) == nameBytes
      {
        local = i
      }
      if zip[i] == 0x50, zip[i + 1] == 0x4B, zip[i + 2] == 1, zip[i + 3] == 2, u16(i + 28) == nameBytes.count,
        Array(zip[(i + 46)..<(i + 46 + nameBytes.count)]) == nameBytes
      {
        central = i
      }
      i += 1
    }
    guard let local, let central else { return nil }
    return (local, central)
  }

  /// Rewrites the uncompressed size that `name`'s headers declare (and, with `corrupt`, overwrites its
  /// compressed data with bytes no inflater accepts).
  static func patch(_ zip: URL, _ name: String, declaredSize: UInt32, corrupt: Bool = false) throws {
    var bytes = try TestSupport.bytes(zip)
    let (local, central) = try #require(headers(of: name, in: bytes), "\(name)")
    for (offset, at) in [(22, local), (24, central)] {
      for k in 0..<4 { bytes[at + offset + k] = UInt8(truncatingIfNeeded: declaredSize >> (8 * UInt32(k))) }
    }
    if corrupt {
      let data = local + 30 + Int(bytes[local + 26]) + Int(bytes[local + 27]) << 8 + Int(bytes[local + 28]) + Int(bytes[local + 29]) << 8
      let compressed = Int(bytes[central + 20]) | Int(bytes[central + 21]) << 8 | Int(bytes[central + 22]) << 16
      for k in data..<(data + compressed) { bytes[k] = 0xFF }
    }
    try Data(bytes).write(to: zip)
  }

  @Test func membersNotInTheManifestAreNeverInflated() throws {
    let core = try Self.coreMembers()
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let zip = dir.appendingPathComponent("extras.zip")
    let extras = (1...5).map { (name: "extra-\($0).bin", bytes: [UInt8](repeating: 0, count: 200_000)) }
    try P.writeZip(Self.withManifest(core) + extras, to: zip)
    // Each extra now claims 1 GiB, and its deflate data is garbage: inflating it would fail.
    for e in extras { try Self.patch(zip, e.name, declaredSize: 1 << 30, corrupt: true) }
    let report = try PackageVerifier.verify(path: zip.path, publicKey: nil)
    #expect(report.problems == extras.map { "\($0.name): extra file, not in the manifest (1 GiB; not read)" })
  }

  @Test func aMemberThatInflatesBeyondItsDeclaredSizeIsStopped() throws {
    let core = try Self.coreMembers()
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let zip = dir.appendingPathComponent("bomb.zip")
    // 60 MB of zeros (about 60 KB compressed) listed with its true hash, but declared as 1,000 bytes.
    let bomb = [UInt8](repeating: 0, count: 60_000_000)
    try P.writeZip(Self.withManifest(Self.replacing(core, "trend.csv", with: bomb)), to: zip)
    try Self.patch(zip, "trend.csv", declaredSize: 1000)
    let report = try PackageVerifier.verify(path: zip.path, publicKey: nil)
    #expect(
      report.problems == ["trend.csv: inflates to more than the 1000 bytes its header declares (a zip bomb?); not read further"],
      "\(report.problems)")

    // Declared beyond the per-member limit: refused before inflating anything.
    try Self.patch(zip, "trend.csv", declaredSize: 3 << 30)
    let big = try PackageVerifier.verify(path: zip.path, publicKey: nil)
    #expect(big.problems == ["trend.csv: declares 3 GiB, over the limit of 1 GiB; not read"], "\(big.problems)")
  }

  @Test func aHighlyCompressedMemberIsRefusedByItsRatio() throws {
    let core = try Self.coreMembers()
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let zip = dir.appendingPathComponent("ratio.zip")
    let zeros = [UInt8](repeating: 0, count: 50 << 20)
    try P.writeZip(Self.withManifest(Self.replacing(core, "report.html", with: zeros)), to: zip)
    let report = try PackageVerifier.verify(path: zip.path, publicKey: nil)
    #expect(report.problems.count == 1)
    let problem = try #require(report.problems.first)
    #expect(
      problem.hasPrefix("report.html: declares 50 MiB compressed into ") && problem.hasSuffix("more than 200:1 (a zip bomb?); not inflated")
    )

    // Headers that lie about the ratio too (declaring 20 MiB): stopped while inflating.
    try Self.patch(zip, "report.html", declaredSize: 20 << 20)
    let lying = try PackageVerifier.verify(path: zip.path, publicKey: nil)
    #expect(lying.problems.count == 1 && lying.problems[0].hasPrefix("report.html: "), "\(lying.problems)")
    #expect(lying.problems[0].contains("(a zip bomb?); not"), "\(lying.problems)")
  }

  @Test func perMemberAndTotalLimitsNameTheMember() throws {
    let base = try P.base()
    let members = try P.zipMembers(base.signed)
    let folder = try P.unpack(members)
    defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
    let largest = try #require(members.max { $0.bytes.count < $1.bytes.count })
    var limits = PackageVerifier.Limits.standard
    limits.maxMemberSize = UInt64(largest.bytes.count - 1)
    for path in [base.signed.path, folder.path] {
      let report = try PackageVerifier.verify(path: path, publicKey: nil, limits: limits)
      #expect(report.problems.count == 1, "\(report.problems)")
      #expect(report.problems.first?.hasPrefix("\(largest.name): declares ") == true, "\(report.problems)")
      #expect(report.problems.first?.hasSuffix(", over the limit of \(PackageSource.size(limits.maxMemberSize)); not read") == true)
    }
    var total = PackageVerifier.Limits.standard
    total.maxTotalSize = UInt64(members.reduce(0) { $0 + $1.bytes.count } / 2)
    let report = try PackageVerifier.verify(path: base.signed.path, publicKey: nil, limits: total)
    #expect(!report.isOK)
    #expect(report.problems.allSatisfy { $0.contains("for all members together; not read") }, "\(report.problems)")
    // evidence.xml is held in memory for validation: its own, lower limit.
    var evidence = PackageVerifier.Limits.standard
    evidence.maxEvidenceSize = 1000
    let e = try PackageVerifier.verify(path: folder.path, publicKey: nil, limits: evidence)
    #expect(e.problems.count == 1 && e.problems[0].hasPrefix("evidence.xml: declares "), "\(e.problems)")
  }

  // MARK: Unpacked folders (defect 12)

  @Test func specialFilesAndFoldersInAnUnpackedPackageAreExtraAndNeverOpened() throws {
    let base = try P.base()
    let members = try P.zipMembers(base.signed)
    let folder = try P.unpack(members)
    defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
    let fifo = folder.appendingPathComponent("pipe")
    #expect(mkfifo(fifo.path, 0o600) == 0)
    let stuff = folder.appendingPathComponent("stuff/deeper")
    try FileManager.default.createDirectory(at: stuff, withIntermediateDirectories: true)
    try Data("x".utf8).write(to: stuff.appendingPathComponent("note.txt"))
    try FileManager.default.createDirectory(at: folder.appendingPathComponent("empty"), withIntermediateDirectories: true)
    let report = try Self.withTimeout(30, fifos: [fifo]) { try PackageVerifier.verify(path: folder.path, publicKey: nil) }
    #expect(
      try #require(report, "verify hung").problems == [
        "empty: extra folder, not in the manifest (not read)", "pipe: extra file, not in the manifest (a FIFO; not opened)",
        "stuff: extra folder, not in the manifest (not read)",
      ])
    #expect(!Self.fifoHasReader(fifo))
    let run = try TestSupport.run(["verify", folder.path])
    #expect(run.status == 3)
    #expect(P.failedNames(run.stderr) == ["empty", "pipe", "stuff"], "\(run.stderr)")

    // A FIFO in place of a listed member is named and not opened either.
    let listed = try P.unpack(members)
    defer { try? FileManager.default.removeItem(at: listed.deletingLastPathComponent()) }
    let trend = listed.appendingPathComponent("trend.csv")
    try FileManager.default.removeItem(at: trend)
    #expect(mkfifo(trend.path, 0o600) == 0)
    let r = try Self.withTimeout(30, fifos: [trend]) { try PackageVerifier.verify(path: listed.path, publicKey: nil) }
    #expect(
      try #require(r, "verify hung").problems == ["trend.csv: is a FIFO, not a regular file (listed in the manifest); not opened"])
    #expect(!Self.fifoHasReader(trend))
  }

  @Test func foldersHoldingListedMembersAreNotExtra() throws {
    let core = try Self.coreMembers()
    let folder = try P.unpack(Self.withManifest(core + [("snapshots/2024-01.json", Array("{}\n".utf8))]))
    defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
    let report = try PackageVerifier.verify(path: folder.path, publicKey: nil)
    #expect(report.isOK, "\(report.problems)")
  }
}

/// The result slot of ``VerifyHardeningTests/withTimeout(_:fifos:_:)``: written by the worker before
/// it signals, read after the wait.
private final class ResultBox<T>: @unchecked Sendable {
  var result: Result<T, any Error>?
}
