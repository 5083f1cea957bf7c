import Foundation
import Testing
import XMLTree
import ZIPFoundation

@testable import IAMEvidence

/// The auditor handoff package (`package`, `verify`, `keygen`), end to end through the built binary,
/// with the library for the finer checks. The quarter is dev-series January–March 2024.
@Suite(.temporaryDirectories, .packagedQuarter) struct PackageTests {
  typealias P = PackageSupport

  // MARK: 1. Package, verify, members, manifest

  @Test func signedPackageVerifiesAndHasTheFixedMembers() throws {
    let base = try P.base()
    let verify = try TestSupport.run(["verify", base.signed.path, "--public-key", base.publicKey.path])
    #expect(verify.status == 0, "\(verify.stderr)")
    #expect(verify.stdout.hasPrefix("OK: "), "\(verify.stdout)")
    #expect(verify.stdout.contains("signature valid") && verify.stdout.contains("evidence.xml valid"))

    let members = try P.zipMembers(base.signed)
    #expect(members.map(\.name) == P.signedNames)
    // Fixed timestamps and permissions on every entry.
    let archive = try Archive(url: base.signed, accessMode: .read)
    for entry in archive {
      #expect(entry.type == .file)
      #expect(entry.fileAttributes[.posixPermissions] as? Int == 0o644, "\(entry.path)")
      #expect(entry.fileAttributes[.modificationDate] as? Date == P.packagedAt, "\(entry.path)")
    }
    // The library verifies the same package, with the key.
    let key = try SigningKeys.publicKey(pem: String(decoding: try TestSupport.bytes(base.publicKey), as: UTF8.self), source: "pub")
    let report = try PackageVerifier.verify(path: base.signed.path, publicKey: key)
    #expect(report.problems.isEmpty && report.files == P.signedNames.count && report.signerVerified)
    let read = Dictionary(uniqueKeysWithValues: members.map { ($0.name, $0.bytes) })

    // `sha256sum -c` semantics: one line per member except manifest and signature, in package
    // order, each hash that of the member's bytes.
    let manifest = try #require(members.first { $0.name == "MANIFEST.sha256" }).bytes
    let lines = String(decoding: manifest, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.last == "", "the manifest ends with a newline")
    let entries = lines.dropLast().map { line -> (hash: String, name: String) in
      let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
      return (String(parts[0]), parts.count == 2 ? String(parts[1].dropFirst()) : "")
    }
    #expect(entries.map(\.name) == Array(P.signedNames.dropLast(2)))
    for e in entries {
      #expect(e.hash.wholeMatch(of: /[0-9a-f]{64}/) != nil)
      #expect(e.hash == Digest.sha256(read[e.name] ?? []), "\(e.name)")
    }
    // The packaged public key is the signer's.
    #expect(read["iam-evidence.pub"] == (try TestSupport.bytes(base.publicKey)))
    // README names every file and how to check it.
    let readme = String(decoding: read["README.txt"] ?? [], as: UTF8.self)
    for name in P.signedNames { #expect(readme.contains("  \(name): "), "\(name)") }
    #expect(readme.contains("sha256sum -c MANIFEST.sha256") && readme.contains("openssl pkeyutl -verify"))
    // The key inside the package proves nothing by itself: compare its fingerprint through another
    // channel first (the fingerprint is not printed here, where whoever re-signs would print theirs).
    #expect(readme.contains("Do not trust") && readme.contains("through") && readme.contains("another channel"))
    #expect(readme.contains("openssl pkey -pubin -in iam-evidence.pub -outform DER | sha256sum"))
    let publicKey = try SigningKeys.publicKey(pem: String(decoding: try TestSupport.bytes(base.publicKey), as: UTF8.self), source: "pub")
    #expect(!readme.contains(SigningKeys.fingerprint(publicKey)))
    #expect(readme.contains("Period: ") && readme.contains("Snapshots in the period: 3"))

    // And the real sha256sum agrees, in a folder the package was unpacked into.
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum") {
      let dir = try P.unpack(members)
      let check = try P.shell("/usr/bin/sha256sum", ["-c", "MANIFEST.sha256"], cwd: dir)
      #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
      #expect(check.stdout.split(separator: "\n").count == entries.count)
    }
  }

  @Test func anUnpackedFolderVerifies() throws {
    let base = try P.base()
    let dir = try P.unpack(try P.zipMembers(base.signed))
    let run = try TestSupport.run(["verify", dir.path, "--public-key", base.publicKey.path])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.hasPrefix("OK: ") && run.stdout.contains("\(P.signedNames.count) files"))
    // Also as a relative path from inside the folder and from its parent, with a trailing slash.
    let here = try TestSupport.run(["verify", ".", "--public-key", base.publicKey.path], cwd: dir)
    #expect(here.status == 0, "\(here.stderr)")
    let parent = try TestSupport.run(
      ["verify", dir.lastPathComponent + "/", "--public-key", base.publicKey.path], cwd: dir.deletingLastPathComponent())
    #expect(parent.status == 0, "\(parent.stderr)")
  }

  // MARK: 2. One flipped byte in each member

  @Test func aFlippedByteInAnyMemberIsNamed() throws {
    let base = try P.base()
    let members = try P.zipMembers(base.signed)
    for target in members.map(\.name) {
      let dir = try P.unpack(members, flipping: target)
      let run = try TestSupport.run(["verify", dir.path, "--public-key", base.publicKey.path])
      #expect(run.status == 3, "\(target): \(run.stdout)")
      #expect(!run.stdout.contains("OK"))
      let named = P.failedNames(run.stderr)
      #expect(!named.isEmpty, "\(target)")
      switch target {
      case "MANIFEST.sha256":
        // The signature no longer covers it; a flipped hash digit also names that line's member.
        #expect(named.contains("MANIFEST.sig") || named.contains("MANIFEST.sha256"), "\(run.stderr)")
        #expect(run.stderr.contains("MANIFEST.sig: signature does not verify"), "\(run.stderr)")
      case "MANIFEST.sig":
        #expect(Set(named) == ["MANIFEST.sig"], "\(run.stderr)")
        #expect(run.stderr.contains("signature does not verify"))
      case "evidence.xsd":
        #expect(Set(named).isSubset(of: ["evidence.xsd", "evidence.xml"]) && named.contains("evidence.xsd"), "\(run.stderr)")
        #expect(run.stderr.contains("FAILED: evidence.xsd: altered"))
      default:
        #expect(Set(named) == [target], "\(target): \(run.stderr)")
        #expect(run.stderr.contains("FAILED: \(target): altered") || target == "iam-evidence.pub", "\(run.stderr)")
      }
      if target == "iam-evidence.pub" {
        #expect(run.stderr.contains("FAILED: iam-evidence.pub: altered"))
      }
    }
  }

  @Test func aFlippedByteInAZipIsNamed() throws {
    let base = try P.base()
    let members = try P.zipMembers(base.signed)
    for target in ["report.html", "evidence.xml", "MANIFEST.sig"] {
      let dir = try TestSupport.temporaryDirectory()
      let zip = dir.appendingPathComponent("altered.zip")
      try P.writeZip(members.map { (name: $0.name, bytes: $0.name == target ? P.flip($0.bytes) : $0.bytes) }, to: zip)
      // Sanity: the rewritten zip without alteration would verify.
      let run = try TestSupport.run(["verify", zip.path, "--public-key", base.publicKey.path])
      #expect(run.status == 3, "\(target): \(run.stdout)")
      #expect(P.failedNames(run.stderr).contains(target), "\(run.stderr)")
      if target != "MANIFEST.sig" { #expect(run.stderr.contains("FAILED: \(target): altered")) }
      if target == "report.html" { #expect(Set(P.failedNames(run.stderr)) == ["report.html"]) }
    }
    let dir = try TestSupport.temporaryDirectory()
    let zip = dir.appendingPathComponent("rewritten.zip")
    try P.writeZip(members.map { (name: $0.name, bytes: $0.bytes) }, to: zip)
    let intact = try TestSupport.run(["verify", zip.path, "--public-key", base.publicKey.path])
    #expect(intact.status == 0, "\(intact.stderr)")
  }

  // MARK: 3. Missing, extra, wrong key, unsigned

  @Test func missingAndExtraFilesAreNamed() throws {
    let base = try P.base()
    let members = try P.zipMembers(base.signed)

    let missing = try P.unpack(members.filter { $0.name != "trend.csv" })
    let m = try TestSupport.run(["verify", missing.path, "--public-key", base.publicKey.path])
    #expect(m.status == 3)
    #expect(P.failedNames(m.stderr) == ["trend.csv"], "\(m.stderr)")
    #expect(m.stderr.contains("FAILED: trend.csv: missing"))

    let extra = try P.unpack(members)
    try Data("smuggled\n".utf8).write(to: extra.appendingPathComponent("notes.txt"))
    let e = try TestSupport.run(["verify", extra.path, "--public-key", base.publicKey.path])
    #expect(e.status == 3)
    #expect(P.failedNames(e.stderr) == ["notes.txt"], "\(e.stderr)")
    #expect(e.stderr.contains("FAILED: notes.txt: extra file"))

    // The same in zips.
    let dir = try TestSupport.temporaryDirectory()
    let missingZip = dir.appendingPathComponent("missing.zip")
    try P.writeZip(members.filter { $0.name != "drift.json" }.map { ($0.name, $0.bytes) }, to: missingZip)
    let mz = try TestSupport.run(["verify", missingZip.path])
    #expect(mz.status == 3)
    #expect(mz.stderr.contains("FAILED: drift.json: missing"), "\(mz.stderr)")
    let extraZip = dir.appendingPathComponent("extra.zip")
    try P.writeZip(members.map { ($0.name, $0.bytes) } + [("snapshots/extra.json", Array("{}".utf8))], to: extraZip)
    let ez = try TestSupport.run(["verify", extraZip.path])
    #expect(ez.status == 3)
    #expect(ez.stderr.contains("FAILED: snapshots/extra.json: extra file"), "\(ez.stderr)")

    // A missing manifest is named too.
    let noManifest = try P.unpack(members.filter { $0.name != "MANIFEST.sha256" })
    let nm = try TestSupport.run(["verify", noManifest.path])
    #expect(nm.status == 3)
    #expect(nm.stderr.contains("FAILED: MANIFEST.sha256: missing"), "\(nm.stderr)")
  }

  @Test func anotherKeyIsRefused() throws {
    let base = try P.base()
    let other = try TestSupport.temporaryDirectory()
    #expect(try TestSupport.run(["keygen", "--out", other.path]).status == 0)
    let run = try TestSupport.run(["verify", base.signed.path, "--public-key", other.appendingPathComponent("iam-evidence.pub").path])
    #expect(run.status == 3)
    #expect(run.stderr.contains("FAILED: iam-evidence.pub: not the public key you gave"), "\(run.stderr)")
    #expect(run.stderr.contains("FAILED: MANIFEST.sig: signature does not verify"), "\(run.stderr)")

    // Re-signing with another key but keeping the old public key in the package is caught as well.
    let members = try P.zipMembers(base.signed)
    let key = try SigningKeys.privateKey(
      pem: String(decoding: try TestSupport.bytes(other.appendingPathComponent("iam-evidence.key")), as: UTF8.self), source: "key")
    let manifest = try #require(members.first { $0.name == "MANIFEST.sha256" }).bytes
    let signature = [UInt8](try key.signature(for: manifest))
    let forged = members.map { m in (name: m.name, bytes: m.name == "MANIFEST.sig" ? signature : m.bytes) }
    let zip = other.appendingPathComponent("forged.zip")
    try P.writeZip(forged, to: zip)
    let f = try TestSupport.run(["verify", zip.path])
    #expect(f.status == 3)
    #expect(P.failedNames(f.stderr) == ["MANIFEST.sig"], "\(f.stderr)")
  }

  @Test func unsignedPackages() throws {
    let base = try P.base()
    let dir = try P.copyDatabase(base)
    let zip = dir.appendingPathComponent("unsigned.zip")
    let made = try P.package(db: dir, out: zip)
    #expect(made.status == 0, "\(made.stderr)")
    #expect(made.stdout.contains("unsigned"))
    #expect(try P.zipMembers(zip).map(\.name) == P.unsignedNames)

    let plain = try TestSupport.run(["verify", zip.path])
    #expect(plain.status == 0, "\(plain.stderr)")
    #expect(plain.stdout.hasPrefix("OK: ") && plain.stdout.contains("not signed"), "\(plain.stdout)")

    let demanded = try TestSupport.run(["verify", zip.path, "--public-key", base.publicKey.path])
    #expect(demanded.status == 3)
    #expect(demanded.stderr.contains("FAILED: MANIFEST.sig: missing"), "\(demanded.stderr)")

    // Stripping the signature (and key) from a signed package is the same refusal.
    let stripped = try P.unpack(try P.zipMembers(base.signed).filter { $0.name != "MANIFEST.sig" })
    let s = try TestSupport.run(["verify", stripped.path, "--public-key", base.publicKey.path])
    #expect(s.status == 3)
    #expect(s.stderr.contains("FAILED: MANIFEST.sig: missing"), "\(s.stderr)")
  }

  @Test func verifyUsageErrors() throws {
    let dir = try TestSupport.temporaryDirectory()
    let none = try TestSupport.run(["verify", dir.appendingPathComponent("nope.zip").path])
    #expect(none.status == 2)
    #expect(none.stderr.contains("nope.zip: no such file"))
    let junk = dir.appendingPathComponent("junk.zip")
    try Data("not a zip".utf8).write(to: junk)
    let j = try TestSupport.run(["verify", junk.path])
    #expect(j.status == 2)
    #expect(j.stderr.contains("junk.zip: not a readable zip archive"), "\(j.stderr)")
    let badKey = try TestSupport.run(["verify", junk.path, "--public-key", junk.path])
    #expect(badKey.status == 2)
    #expect(badKey.stderr.contains("junk.zip"))
  }

  // MARK: 4. Zip-slip and links

  @Test func traversalAbsoluteAndLinkEntriesAreRefusedAndNothingIsWritten() throws {
    let base = try P.base()
    let members = try P.zipMembers(base.signed).map { (name: $0.name, bytes: $0.bytes) }
    let root = try TestSupport.temporaryDirectory()
    let zips = root.appendingPathComponent("zips")
    let cwd = root.appendingPathComponent("work")
    try FileManager.default.createDirectory(at: zips, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
    let absolute = "/tmp/iam-evidence-evil-\(UUID().uuidString).txt"

    let cases: [(file: String, entries: [P.Entry], named: String)] = [
      ("traversal.zip", [P.Entry(name: "../evil.txt", bytes: Array("pwned\n".utf8))], "../evil.txt"),
      ("deep.zip", [P.Entry(name: "snapshots/../../evil.txt", bytes: Array("pwned\n".utf8))], "snapshots/../../evil.txt"),
      ("absolute.zip", [P.Entry(name: absolute, bytes: Array("pwned\n".utf8))], absolute),
      ("link.zip", [P.Entry(name: "evil-link", bytes: Array("../evil.txt".utf8), type: .symlink)], "evil-link"),
      ("link-abs.zip", [P.Entry(name: "passwd", bytes: Array("/etc/passwd".utf8), type: .symlink)], "passwd"),
    ]
    for c in cases {
      let zip = zips.appendingPathComponent(c.file)
      try P.writeZip(members.map { P.Entry(name: $0.name, bytes: $0.bytes) } + c.entries, to: zip)
      // ZIPFoundation stored the hostile name as given.
      #expect(try Archive(url: zip, accessMode: .read).contains { $0.path == c.entries[0].name }, "\(c.file)")
      for args in [[zip.path], [zip.path, "--public-key", base.publicKey.path], ["../zips/" + c.file]] {
        let run = try TestSupport.run(["verify"] + args, cwd: cwd)
        #expect(run.status == 3, "\(c.file): \(run.stdout)")
        #expect(P.failedNames(run.stderr) == [c.named], "\(c.file): \(run.stderr)")
        #expect(run.stderr.contains(c.entries[0].type == .symlink ? "is a link" : "unsafe path"), "\(run.stderr)")
      }
    }
    // Nothing appeared outside: not beside the zips, the working folder, their parent, or at the absolute path.
    for dir in [root, zips, cwd, root.deletingLastPathComponent()] {
      for name in ["evil.txt", "evil-link", "passwd"] {
        #expect(!P.exists(dir.appendingPathComponent(name)), "\(dir.path)/\(name)")
      }
    }
    #expect(!P.exists(URL(fileURLWithPath: absolute)))
    #expect(try FileManager.default.contentsOfDirectory(atPath: cwd.path).isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: zips.path).sorted() == cases.map(\.file).sorted())

    // A symbolic link in an unpacked folder is named, not followed.
    let folder = try P.unpack(try P.zipMembers(base.signed))
    try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("evil-link").path, withDestinationPath: "/etc/passwd")
    let run = try TestSupport.run(["verify", folder.path])
    #expect(run.status == 3)
    #expect(P.failedNames(run.stderr) == ["evil-link"], "\(run.stderr)")
    #expect(run.stderr.contains("is a symbolic link"))
  }

  // MARK: 5. OSCAL

  @Test func packagedOSCALValidatesAndHashesTheSnapshots() throws {
    let base = try P.base()
    let members = Dictionary(uniqueKeysWithValues: try P.zipMembers(base.signed).map { ($0.name, $0.bytes) })
    let doc = try XMLDocument(bytes: try #require(members["assessment-results.xml"]))
    try XMLSchema(contentsOfFile: OSCALTests.schemaPath).validate(doc)
    let ns = OSCALTests.ns
    // One result per snapshot and one for the period.
    #expect(try doc.nodes(matching: "/o:assessment-results/o:result", namespaces: ns).count == 4)
    let hashes = try doc.nodes(matching: "//o:back-matter/o:resource/o:rlink/o:hash[@algorithm='SHA-256']", namespaces: ns).map(
      \.textContent)
    #expect(hashes == base.snapshotSHA256s)
    #expect(hashes == base.fixtureSHA256s, "the snapshot hashes are those of the exact fixture bytes")
    #expect(try doc.nodes(matching: "//o:metadata/o:last-modified[.='2099-06-01T09:00:00Z']", namespaces: ns).count == 1)
    // evidence.xml validates against the packaged evidence.xsd (the verifier's own check, by hand).
    let dir = try P.unpack(try P.zipMembers(base.signed))
    try XMLSchema(contentsOfFile: dir.appendingPathComponent("evidence.xsd").path)
      .validate(try XMLDocument(bytes: try #require(members["evidence.xml"])))
  }

  // MARK: 6. Determinism

  @Test func packagingIsByteIdentical() throws {
    let base = try P.base()
    let dir = try P.copyDatabase(base)
    func make(_ name: String, _ extra: [String] = [], environment: [String: String] = [:], generatedAt: String? = P.generatedAt) throws
      -> String
    {
      let out = dir.appendingPathComponent(name)
      let run = try P.package(db: dir, out: out, extra: extra, generatedAt: generatedAt, environment: environment)
      #expect(run.status == 0, "\(name): \(run.stderr)")
      return Digest.sha256(try TestSupport.bytes(out))
    }
    let sign = ["--sign-key", base.privateKey.path]
    let signedA = try make("signed-a.zip", sign)
    let signedB = try make("signed-b.zip", sign)
    #expect(signedA == signedB)
    #expect(signedA == Digest.sha256(try TestSupport.bytes(base.signed)), "the same as the package made from another copy of the database")
    let unsignedA = try make("unsigned-a.zip")
    let unsignedB = try make("unsigned-b.zip")
    #expect(unsignedA == unsignedB)
    #expect(unsignedA != signedA)

    // SOURCE_DATE_EPOCH (2099-06-01T09:00:00Z) gives the same bytes as --generated-at.
    let epoch = ["SOURCE_DATE_EPOCH": "4083987600"]
    #expect(try make("epoch-signed.zip", sign, environment: epoch, generatedAt: nil) == signedA)
    #expect(try make("epoch-unsigned.zip", environment: epoch, generatedAt: nil) == unsignedA)
    // --generated-at wins over SOURCE_DATE_EPOCH; another time gives other bytes.
    #expect(try make("both.zip", environment: ["SOURCE_DATE_EPOCH": "1"]) == unsignedA)
    #expect(try make("other-time.zip", generatedAt: "2099-06-02T09:00:00Z") != unsignedA)
    // The time zone does not matter.
    #expect(try make("tz.zip", sign, environment: ["TZ": "America/New_York"]) == signedA)
    let bad = try P.package(
      db: dir, out: dir.appendingPathComponent("bad.zip"), generatedAt: nil, environment: ["SOURCE_DATE_EPOCH": "soon"])
    #expect(bad.status == 2)
    #expect(bad.stderr.contains("SOURCE_DATE_EPOCH"))
    #expect(!P.exists(dir.appendingPathComponent("bad.zip")))
  }

  @Test func packagingWithARegisterIsByteIdentical() throws {
    let base = try P.base()
    let dir = try P.copyDatabase(base)
    let register = dir.appendingPathComponent("exceptions.json")
    try Data(OSCALTests.register.utf8).write(to: register)
    var zips: [String] = []
    for name in ["a.zip", "b.zip"] {
      let out = dir.appendingPathComponent(name)
      let run = try P.package(db: dir, out: out, extra: ["--exceptions", register.path, "--sign-key", base.privateKey.path])
      #expect(run.status == 0, "\(run.stderr)")
      zips.append(Digest.sha256(try TestSupport.bytes(out)))
      Thread.sleep(forTimeInterval: 1.1)  // the wall clock moves on between the two runs
    }
    #expect(zips[0] == zips[1])
  }

  // MARK: 7. keygen and OpenSSL

  @Test func keygenWritesPEMKeysAndRefusesToOverwrite() throws {
    let dir = try TestSupport.temporaryDirectory().appendingPathComponent("keys/nested")
    let run = try TestSupport.run(["keygen", "--out", dir.path])
    #expect(run.status == 0, "\(run.stderr)")
    let key = dir.appendingPathComponent("iam-evidence.key")
    let pub = dir.appendingPathComponent("iam-evidence.pub")
    #expect(try P.mode(key) == 0o600)
    let keyText = String(decoding: try TestSupport.bytes(key), as: UTF8.self)
    let pubText = String(decoding: try TestSupport.bytes(pub), as: UTF8.self)
    #expect(keyText.hasPrefix("-----BEGIN PRIVATE KEY-----\n") && keyText.hasSuffix("-----END PRIVATE KEY-----\n"))
    #expect(pubText.hasPrefix("-----BEGIN PUBLIC KEY-----\n") && pubText.hasSuffix("-----END PUBLIC KEY-----\n"))
    let privateKey = try SigningKeys.privateKey(pem: keyText, source: key.path)
    let publicKey = try SigningKeys.publicKey(pem: pubText, source: pub.path)
    #expect(privateKey.publicKey.rawRepresentation == publicKey.rawRepresentation)
    #expect(run.stdout.contains(SigningKeys.fingerprint(publicKey)))

    let again = try TestSupport.run(["keygen", "--out", dir.path])
    #expect(again.status == 2)
    #expect(again.stderr.contains("already exists") && again.stderr.contains("--force"), "\(again.stderr)")
    #expect(String(decoding: try TestSupport.bytes(key), as: UTF8.self) == keyText)
    #expect(String(decoding: try TestSupport.bytes(pub), as: UTF8.self) == pubText)
    // A public key alone also blocks a new pair.
    try FileManager.default.removeItem(at: key)
    #expect(try TestSupport.run(["keygen", "--out", dir.path]).status == 2)
    #expect(!P.exists(key))

    let forced = try TestSupport.run(["keygen", "--out", dir.path, "--force"])
    #expect(forced.status == 0, "\(forced.stderr)")
    #expect(try P.mode(key) == 0o600)
    #expect(String(decoding: try TestSupport.bytes(pub), as: UTF8.self) != pubText)
  }

  @Test func keygenKeepsAReplacedKeyPrivate() throws {
    let dir = try TestSupport.temporaryDirectory()
    let key = dir.appendingPathComponent("iam-evidence.key")
    try Data("old\n".utf8).write(to: key)
    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: key.path)
    let run = try TestSupport.run(["keygen", "--out", dir.path, "--force"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(try P.mode(key) == 0o600)
    #expect(String(decoding: try TestSupport.bytes(key), as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
  }

  // Skipped, and reported as skipped, where OpenSSL's command-line tool is not installed.
  @Test(.enabled(if: PackageSupport.openSSL != nil, "the openssl command is not installed (looked on PATH and in /usr/bin)"))
  func openSSLVerifiesTheSignatureWithoutOurTool() throws {
    let openssl = try #require(P.openSSL)
    let base = try P.base()
    let dir = try P.unpack(try P.zipMembers(base.signed))
    let args = [
      "pkeyutl", "-verify", "-pubin", "-inkey", "iam-evidence.pub", "-rawin", "-in", "MANIFEST.sha256", "-sigfile", "MANIFEST.sig",
    ]
    let ok = try P.shell(openssl, args, cwd: dir)
    #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
    #expect(ok.stdout.contains("Signature Verified Successfully"), "\(ok.stdout)")
    // OpenSSL reads our private key too, and signs the manifest to the same (deterministic Ed25519) bytes.
    let signed = try P.shell(
      openssl, ["pkeyutl", "-sign", "-inkey", base.privateKey.path, "-rawin", "-in", "MANIFEST.sha256", "-out", "openssl.sig"], cwd: dir)
    #expect(signed.status == 0, "\(signed.stderr)")
    #expect(
      try TestSupport.bytes(dir.appendingPathComponent("openssl.sig"))
        == (try TestSupport.bytes(dir.appendingPathComponent("MANIFEST.sig"))))
    // An altered manifest fails OpenSSL's check as well.
    let manifest = dir.appendingPathComponent("MANIFEST.sha256")
    try Data(P.flip(try TestSupport.bytes(manifest))).write(to: manifest)
    let bad = try P.shell(openssl, args, cwd: dir)
    #expect(bad.status != 0)
    #expect(!bad.stdout.contains("Signature Verified Successfully"))
  }

  // MARK: 7b. The privileged-access register

  @Test func privilegedCSVIsTheRegisterOfEverySnapshotOfThePeriod() throws {
    let base = try P.base()
    let members = Dictionary(uniqueKeysWithValues: try P.zipMembers(base.signed).map { ($0.name, $0.bytes) })
    let csv = String(decoding: try #require(members["privileged.csv"]), as: UTF8.self)
    // The same register the `privileged` command lists for every snapshot.
    let store = try EvidenceStore(path: base.database.path, create: false, now: TestSupport.fixedNow)
    let registers = try store.workflow.privileged(snapshot: "all", account: nil)
    #expect(registers.count == 3)
    #expect(csv == CSV.privileged(registers.flatMap(\.entries)))
    let rows = csv.split(separator: "\n").dropFirst()
    #expect(rows.count == registers.map(\.entries.count).reduce(0, +) && rows.count >= 3)
    #expect(Set(rows.map { $0.prefix { $0 != "," } }) == ["1", "2", "3"])
    let codes = ["kms-full-access", "admin", "escalation", "public-trust", "oidc-unrestricted"]
    #expect(rows.allSatisfy { row in codes.contains { row.contains($0) } })
    #expect(rows.contains { $0.contains(",kms-full-access,") })
    // Listed in README.txt and in the manifest.
    #expect(String(decoding: members["README.txt"] ?? [], as: UTF8.self).contains("  privileged.csv: the privileged access register"))
    let manifest = String(decoding: members["MANIFEST.sha256"] ?? [], as: UTF8.self)
    #expect(manifest.contains("\(Digest.sha256(Array(csv.utf8)))  privileged.csv\n"))
  }

  // MARK: 8. --include-snapshots

  @Test func includedSnapshotsAreTheExactSourceBytes() throws {
    let base = try P.base()
    let dir = try P.copyDatabase(base)
    let zip = dir.appendingPathComponent("with-snapshots.zip")
    let run = try P.package(db: dir, out: zip, extra: ["--include-snapshots", "--sign-key", base.privateKey.path])
    #expect(run.status == 0, "\(run.stderr)")
    let members = try P.zipMembers(zip)
    let names = ["snapshots/0001-2024-01.json", "snapshots/0002-2024-02.json", "snapshots/0003-2024-03.json"]
    #expect(members.map(\.name) == P.signedNames)
    // The default (no flag) includes them too, byte for byte the same package.
    let unsigned = { (m: [(name: String, bytes: [UInt8])]) in m.filter { $0.name != "MANIFEST.sig" }.map(\.bytes) }
    #expect(unsigned(try P.zipMembers(base.signed)) == unsigned(members))
    let included = members.filter { $0.name.hasPrefix("snapshots/") }
    #expect(included.map { Digest.sha256($0.bytes) } == base.snapshotSHA256s)
    // OSCAL's back matter links each snapshot to its member of the package, not to where it was ingested.
    let oscal = try XMLDocument(bytes: try #require(members.first { $0.name == "assessment-results.xml" }).bytes)
    let links = try oscal.nodes(matching: "//o:back-matter/o:resource/o:rlink[o:hash]", namespaces: OSCALTests.ns)
    #expect(links.compactMap { $0.attribute("href") } == names)
    for (member, month) in Swift.zip(included, ["2024-01", "2024-02", "2024-03"]) {
      #expect(member.bytes == (try TestSupport.bytes(TestSupport.fixture("dev-series/\(month).json"))))
    }
    let verify = try TestSupport.run(["verify", zip.path, "--public-key", base.publicKey.path])
    #expect(verify.status == 0, "\(verify.stderr)")
    // A tampered included snapshot is named.
    let folder = try P.unpack(members, flipping: "snapshots/0002-2024-02.json")
    let tampered = try TestSupport.run(["verify", folder.path, "--public-key", base.publicKey.path])
    #expect(tampered.status == 3)
    #expect(P.failedNames(tampered.stderr) == ["snapshots/0002-2024-02.json"], "\(tampered.stderr)")
  }

  @Test func aSourceModifiedAfterIngestIsRefused() throws {
    let dir = try TestSupport.temporaryDirectory()
    let sources = dir.appendingPathComponent("exports")
    try FileManager.default.createDirectory(at: sources, withIntermediateDirectories: true)
    let db = dir.appendingPathComponent("evidence.sqlite")
    for (month, day) in P.months {
      let file = sources.appendingPathComponent("\(month).json")
      try Data(try TestSupport.bytes(TestSupport.fixture("dev-series/\(month).json"))).write(to: file)
      let run = try TestSupport.run(["ingest", "--db", db.path, "--captured-at", "\(month)-\(day)", file.path])
      #expect(run.status == 0, "\(run.stderr)")
    }
    let modified = sources.appendingPathComponent("2024-02.json")
    let handle = try FileHandle(forWritingTo: modified)
    try handle.seekToEnd()
    try handle.write(contentsOf: Data("\n".utf8))
    try handle.close()

    let out = dir.appendingPathComponent("out")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let zip = out.appendingPathComponent("q1.zip")
    let run = try TestSupport.run(
      [
        "package", "--db", db.path, "--from", "2024-01-01", "--to", "2024-03-31", "--out", zip.path, "--include-snapshots",
        "--generated-at", P.generatedAt,
      ])
    #expect(run.status == 2)
    #expect(run.stderr.contains(modified.path) && run.stderr.contains("SHA-256 mismatch"), "\(run.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)

    // A source that is gone is refused the same way; without the flag the package is made.
    try FileManager.default.removeItem(at: modified)
    let gone = try TestSupport.run(
      ["package", "--db", db.path, "--from", "2024-01-01", "--to", "2024-03-31", "--out", zip.path, "--include-snapshots"])
    #expect(gone.status == 2)
    #expect(gone.stderr.contains(modified.path) && gone.stderr.contains("not readable"), "\(gone.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    // By default the package is made: the readable sources are included, the missing one is left
    // out and README.txt says which and why.
    let plain = try TestSupport.run(["package", "--db", db.path, "--from", "2024-01-01", "--to", "2024-03-31", "--out", zip.path])
    #expect(plain.status == 0, "\(plain.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == ["q1.zip"])
    let members = try P.zipMembers(zip)
    #expect(members.map(\.name).filter { $0.hasPrefix("snapshots/") } == ["snapshots/0001-2024-01.json", "snapshots/0003-2024-03.json"])
    let readme = String(decoding: try #require(members.first { $0.name == "README.txt" }).bytes, as: UTF8.self)
    #expect(readme.contains("Source snapshots not included"), "\(readme)")
    #expect(readme.contains("Scope and limitations\n---------------------\nAccounts covered: 479265329499."), "\(readme)")
    #expect(readme.contains("Not examined: " + ScopeStatement.notExamined.joined(separator: "; ") + "."))
    #expect(readme.contains("snapshot 2: its source file \(modified.path) is not readable here"), "\(readme)")
    // --no-snapshots leaves them all out and says so; it cannot be combined with --include-snapshots.
    let none = try TestSupport.run(
      ["package", "--db", db.path, "--from", "2024-01-01", "--to", "2024-03-31", "--out", zip.path, "--no-snapshots"])
    #expect(none.status == 0, "\(none.stderr)")
    let bare = try P.zipMembers(zip)
    #expect(!bare.contains { $0.name.hasPrefix("snapshots/") })
    let bareReadme = String(decoding: try #require(bare.first { $0.name == "README.txt" }).bytes, as: UTF8.self)
    #expect(bareReadme.contains("Source snapshots: not included (--no-snapshots)"))
    let both = try TestSupport.run(
      [
        "package", "--db", db.path, "--from", "2024-01-01", "--to", "2024-03-31", "--out", zip.path, "--no-snapshots",
        "--include-snapshots",
      ])
    #expect(both.status == 2)
  }

  // MARK: 9. --exceptions

  @Test func theRegisterIsIncludedAndApplied() throws {
    let base = try P.base()
    let dir = try P.copyDatabase(base)
    // CRLF line ends and non-ASCII text: the packaged copy must still be the exact bytes.
    let text = OSCALTests.register.replacingOccurrences(of: "\n", with: "\r\n").replacingOccurrences(of: "CISO", with: "CISO – Zoë Müller")
    let register = dir.appendingPathComponent("register.json")
    let registerBytes = Array(text.utf8)
    try Data(registerBytes).write(to: register)
    let zip = dir.appendingPathComponent("q1.zip")
    let run = try P.package(db: dir, out: zip, extra: ["--exceptions", register.path, "--sign-key", base.privateKey.path])
    #expect(run.status == 0, "\(run.stderr)")
    let members = try P.zipMembers(zip)
    let registerIndex = try #require(P.signedNames.firstIndex(of: "privileged.csv"))
    var expected = P.signedNames
    expected.insert("exceptions.json", at: registerIndex + 1)
    #expect(members.map(\.name) == expected)
    let byName = Dictionary(uniqueKeysWithValues: members.map { ($0.name, $0.bytes) })
    #expect(byName["exceptions.json"] == registerBytes)
    #expect(try TestSupport.run(["verify", zip.path, "--public-key", base.publicKey.path]).status == 0)

    // The evidence shows the excepted finding and the register's hash.
    let evidence = try XMLDocument(bytes: try #require(byName["evidence.xml"]))
    let ns = ["e": EvidenceXML.namespace]
    let excepted = try evidence.nodes(matching: "//e:findings/e:finding[@status='excepted']", namespaces: ns)
    #expect(excepted.count == 1)
    #expect(try excepted.first?.firstNode(matching: "e:exception", namespaces: ns)?.attribute("id") == "EX-7")
    #expect(try evidence.nodes(matching: "//e:exceptions/e:exception[@id='EX-7'][@applied='1']", namespaces: ns).count == 1)
    #expect(
      try evidence.firstNode(matching: "//e:assessment", namespaces: ns)?.attribute("exceptionsSha256") == Digest.sha256(registerBytes))
    let oscal = try XMLDocument(bytes: try #require(byName["assessment-results.xml"]))
    try XMLSchema(contentsOfFile: OSCALTests.schemaPath).validate(oscal)
    #expect(
      try oscal.nodes(
        matching: "/o:assessment-results/o:result[o:prop[@name='current'][@value='yes']]/o:risk[o:status='deviation-approved']",
        namespaces: OSCALTests.ns
      ).count == 1)
    let hashes = try oscal.nodes(matching: "//o:back-matter/o:resource/o:rlink/o:hash", namespaces: OSCALTests.ns).map(\.textContent)
    #expect(hashes == base.snapshotSHA256s + [Digest.sha256(registerBytes)])
    let html = String(decoding: byName["report.html"] ?? [], as: UTF8.self)
    #expect(html.contains("EX-7") && html.contains("Zoë Müller"))
  }

  @Test func aBadRegisterWritesNoZip() throws {
    let base = try P.base()
    let dir = try P.copyDatabase(base)
    let out = dir.appendingPathComponent("out")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let cases: [(name: String, text: String?)] = [
      ("not-json.json", "{\"exceptions\": ["),
      ("no-fields.json", "{\"exceptions\": [{\"id\": \"EX-1\"}]}"),
      ("missing.json", nil),
    ]
    for c in cases {
      let register = dir.appendingPathComponent(c.name)
      if let text = c.text { try Data(text.utf8).write(to: register) }
      let run = try P.package(db: dir, out: out.appendingPathComponent("q1.zip"), extra: ["--exceptions", register.path])
      #expect(run.status == 2, "\(c.name)")
      #expect(run.stderr.contains(c.name), "\(c.name): \(run.stderr)")
      #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty, "\(c.name)")
    }
  }

  // MARK: 10. Failure leaves nothing

  @Test func failuresLeaveNoPartialOutput() throws {
    let base = try P.base()
    let dir = try P.copyDatabase(base)
    let out = dir.appendingPathComponent("out")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    // The database's own -wal/-shm files may come and go; nothing else may appear.
    func listing() throws -> [String] {
      try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix("evidence.sqlite") }.sorted()
    }
    let before = try listing()

    // An output folder that does not exist.
    let nowhere = dir.appendingPathComponent("no/such/folder/q1.zip")
    let n = try P.package(db: dir, out: nowhere, extra: ["--sign-key", base.privateKey.path])
    #expect(n.status == 2, "\(n.stdout)")
    #expect(n.stderr.contains("no/such/folder: no such folder"), "\(n.stderr)")
    #expect(!P.exists(dir.appendingPathComponent("no")))

    // Bad signing keys: the public key, garbage, a missing file.
    let garbage = dir.appendingPathComponent("garbage.key")
    try Data("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".utf8).write(to: garbage)
    for key in [base.publicKey.path, garbage.path, dir.appendingPathComponent("absent.key").path] {
      let run = try P.package(db: dir, out: out.appendingPathComponent("q1.zip"), extra: ["--sign-key", key])
      #expect(run.status == 2, "\(key)")
      #expect(run.stderr.contains((key as NSString).lastPathComponent), "\(run.stderr)")
      #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty, "\(key)")
    }
    // A period without snapshots.
    let empty = try TestSupport.run(
      [
        "package", "--db", dir.appendingPathComponent("evidence.sqlite").path, "--from", "2023-01-01", "--to", "2023-03-31", "--out",
        out.appendingPathComponent("q1.zip").path,
      ])
    #expect(empty.status == 2)
    #expect(empty.stderr.contains("no snapshot"), "\(empty.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    #expect(try listing() == (before + ["garbage.key"]).sorted())
  }

  @Test func anOutputThatIsAFolderIsLeftIntact() throws {
    let base = try P.base()
    let dir = try P.copyDatabase(base)
    let folder = dir.appendingPathComponent("Reports")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try Data("keep me\n".utf8).write(to: folder.appendingPathComponent("keep.txt"))
    let run = try P.package(db: dir, out: folder)
    #expect(run.status == 2, "\(run.stdout)")
    #expect(run.stderr.contains("Reports: cannot write: Is a directory"), "\(run.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["keep.txt"])
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix("evidence.sqlite") } == ["Reports"])
  }

  @Test func reportFilesAreReplacedOnASecondRun() throws {
    let base = try P.base()
    let dir = try P.copyDatabase(base)
    let out = dir.appendingPathComponent("report")
    var digests: [[String]] = []
    for _ in 0..<2 {
      let run = try TestSupport.run(
        ["report", "--db", dir.appendingPathComponent("evidence.sqlite").path, "--out", out.path, "--generated-at", P.generatedAt])
      #expect(run.status == 0, "\(run.stderr)")
      digests.append(
        try ["report.html", "evidence.xml", "evidence.xsd", "population.csv"].map {
          Digest.sha256(try TestSupport.bytes(out.appendingPathComponent($0)))
        })
    }
    #expect(digests[0] == digests[1])
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == [
        "evidence.xml", "evidence.xsd", "population.csv", "report.html",
      ])
  }

  @Test func anExistingZipIsReplacedWhole() throws {
    let base = try P.base()
    let dir = try P.copyDatabase(base)
    let zip = dir.appendingPathComponent("q1.zip")
    try Data(repeating: 0x41, count: 5_000_000).write(to: zip)
    let run = try P.package(db: dir, out: zip, extra: ["--sign-key", base.privateKey.path])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(Digest.sha256(try TestSupport.bytes(zip)) == Digest.sha256(try TestSupport.bytes(base.signed)))
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix("evidence.sqlite") } == ["q1.zip"])
  }
}

extension Trait where Self == PackageSupport.PackagedQuarter {
  /// One packaged quarter for the suite's tests (``PackageSupport/base()``), removed after the suite.
  static var packagedQuarter: Self { Self() }
}

/// The shared quarter, packaging and zip helpers.
enum PackageSupport {
  static let months = [("2024-01", "31"), ("2024-02", "29"), ("2024-03", "31")]
  static let generatedAt = "2099-06-01T09:00:00Z"
  static let packagedAt = Date(timeIntervalSince1970: 4_083_987_600)

  /// A signed package's members without exceptions or snapshots, in their fixed order.
  /// The quarter's three snapshots give drift over the period (drift.json, drift.html) and for each
  /// consecutive pair (drift/NNNN-MMMM.json and .html).
  static let signedNames = [
    "README.txt", "report.html", "evidence.xml", "evidence.xsd", "population.csv", "assessment-results.xml", "drift.json", "drift.html",
    "drift/0001-0002.json", "drift/0001-0002.html", "drift/0002-0003.json", "drift/0002-0003.html", "trend.csv",
    "privileged.csv", "snapshots/0001-2024-01.json", "snapshots/0002-2024-02.json", "snapshots/0003-2024-03.json", "iam-evidence.pub",
    "MANIFEST.sha256", "MANIFEST.sig",
  ]
  static let unsignedNames = signedNames.filter { $0 != "iam-evidence.pub" && $0 != "MANIFEST.sig" }

  /// Made once: the quarter ingested through the CLI, a key pair, and the signed Q1 package.
  struct Base: Sendable {
    var dir: URL
    var database: URL
    var privateKey: URL
    var publicKey: URL
    var signed: URL
    var snapshotSHA256s: [String]
    var fixtureSHA256s: [String]
  }

  struct SetupFailed: Error, CustomStringConvertible {
    var description: String
  }

  /// The quarter of the running suite (see ``PackagedQuarter``).
  @TaskLocal private static var quarter: LazyBase?

  static func base() throws -> Base {
    guard let quarter else { throw SetupFailed(description: "the suite needs the .packagedQuarter trait") }
    return try quarter.get()
  }

  /// The quarter, made by the first test that asks for it (once, for all the suite's tests), in
  /// temporary folders that belong to the suite's scope, not to that test's.
  final class LazyBase: @unchecked Sendable {
    private let lock = NSLock()
    private var made: Result<Base, any Error>?
    private let scope: TemporaryDirectories

    init(scope: TemporaryDirectories) { self.scope = scope }

    func get() throws -> Base {
      try lock.withLock {
        if made == nil { made = TemporaryDirectories.$current.withValue(scope) { Result { try makeBase() } } }
        return try made!.get()
      }
    }
  }

  /// `.packagedQuarter` on a suite: its tests share one packaged quarter, removed when the suite ends.
  struct PackagedQuarter: SuiteTrait, TestScoping {
    func provideScope(
      for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
      let scope = TemporaryDirectories()
      defer { scope.removeAll() }
      try await $quarter.withValue(LazyBase(scope: scope)) { try await function() }
    }
  }

  private static func makeBase() throws -> Base {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("evidence.sqlite")
    for (month, day) in months {
      let run = try TestSupport.run(
        [
          "ingest", "--db", db.path, "--captured-at", "\(month)-\(day)",
          TestSupport.fixture("dev-series/\(month).json").standardizedFileURL.path,
        ])
      guard run.status == 0 else { throw SetupFailed(description: "ingest \(month): \(run.stderr)") }
    }
    let keys = dir.appendingPathComponent("keys")
    let keygen = try TestSupport.run(["keygen", "--out", keys.path])
    guard keygen.status == 0 else { throw SetupFailed(description: "keygen: \(keygen.stderr)") }
    let privateKey = keys.appendingPathComponent("iam-evidence.key")
    let signed = dir.appendingPathComponent("packages/q1.zip")
    try FileManager.default.createDirectory(at: signed.deletingLastPathComponent(), withIntermediateDirectories: true)
    let run = try package(db: dir, out: signed, extra: ["--sign-key", privateKey.path])
    guard run.status == 0 else { throw SetupFailed(description: "package: \(run.stderr)") }
    let store = try EvidenceStore(path: db.path, create: false, now: TestSupport.fixedNow)
    let records = try store.snapshots()
    return Base(
      dir: dir, database: db, privateKey: privateKey, publicKey: keys.appendingPathComponent("iam-evidence.pub"), signed: signed,
      snapshotSHA256s: records.map(\.sha256),
      fixtureSHA256s: try months.map { Digest.sha256(try TestSupport.bytes(TestSupport.fixture("dev-series/\($0.0).json"))) })
  }

  /// A fresh folder holding a copy of the base database (as `evidence.sqlite`).
  static func copyDatabase(_ base: Base) throws -> URL {
    let dir = try TestSupport.temporaryDirectory()
    for suffix in ["", "-wal"] where exists(URL(fileURLWithPath: base.database.path + suffix)) {
      try FileManager.default.copyItem(
        at: URL(fileURLWithPath: base.database.path + suffix), to: dir.appendingPathComponent("evidence.sqlite" + suffix))
    }
    return dir
  }

  /// `package` for Q1 from `db/evidence.sqlite`.
  static func package(
    db dir: URL, out: URL, extra: [String] = [], generatedAt: String? = generatedAt, environment: [String: String] = [:]
  ) throws -> TestSupport.Run {
    var args = [
      "package", "--db", dir.appendingPathComponent("evidence.sqlite").path, "--from", "2024-01-01", "--to", "2024-03-31", "--out",
      out.path,
    ]
    if let generatedAt { args += ["--generated-at", generatedAt] }
    var env = environment
    if env["SOURCE_DATE_EPOCH"] == nil { env["SOURCE_DATE_EPOCH"] = "" }  // not inherited from whoever runs the tests
    return try TestSupport.run(args + extra, environment: env)
  }

  /// One zip entry to write.
  struct Entry {
    var name: String
    var bytes: [UInt8]
    var type: ZIPFoundation.Entry.EntryType = .file
  }

  /// The members of a zip, in archive order.
  static func zipMembers(_ zip: URL) throws -> [(name: String, bytes: [UInt8])] {
    let archive = try Archive(url: zip, accessMode: .read)
    var members: [(name: String, bytes: [UInt8])] = []
    for entry in archive {
      var bytes: [UInt8] = []
      _ = try archive.extract(entry) { bytes.append(contentsOf: $0) }
      members.append((entry.path, bytes))
    }
    return members
  }

  static func writeZip(_ members: [(name: String, bytes: [UInt8])], to url: URL) throws {
    try writeZip(members.map { Entry(name: $0.name, bytes: $0.bytes) }, to: url)
  }

  /// Writes entries as given (names not sanitised), files deflated, links stored.
  static func writeZip(_ entries: [Entry], to url: URL) throws {
    let archive = try Archive(url: url, accessMode: .create)
    for e in entries {
      let data = Data(e.bytes)
      try archive.addEntry(
        with: e.name, type: e.type, uncompressedSize: Int64(data.count), permissions: e.type == .symlink ? 0o777 : 0o644,
        compressionMethod: e.type == .file ? .deflate : .none
      ) { position, size in
        data.subdata(in: Int(position)..<Int(position) + size)
      }
    }
  }

  /// A folder holding `members` (one of them with a flipped byte).
  static func unpack(_ members: [(name: String, bytes: [UInt8])], flipping target: String? = nil) throws -> URL {
    let dir = try TestSupport.temporaryDirectory().appendingPathComponent("package")
    for m in members {
      let url = dir.appendingPathComponent(m.name)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(m.name == target ? flip(m.bytes) : m.bytes).write(to: url)
    }
    return dir
  }

  /// The bytes with one bit of the middle byte flipped.
  static func flip(_ bytes: [UInt8]) -> [UInt8] {
    var b = bytes
    b[b.count / 2] ^= 0x01
    return b
  }

  /// The files the verifier's `FAILED: <file>: <problem>` lines name, in order.
  static func failedNames(_ stderr: String) -> [String] {
    stderr.split(separator: "\n").compactMap { line -> String? in
      guard line.hasPrefix("FAILED: ") else { return nil }
      let rest = line.dropFirst("FAILED: ".count)
      return rest.range(of: ": ").map { String(rest[..<$0.lowerBound]) }
    }
  }

  static func exists(_ url: URL) -> Bool {
    (try? FileManager.default.attributesOfItem(atPath: url.path)) != nil  // also a dangling link
  }

  static func mode(_ url: URL) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int ?? -1) & 0o777
  }

  /// OpenSSL's command-line tool: the first executable `openssl` on `PATH`, else `/usr/bin/openssl`;
  /// nil when there is none.
  static let openSSL: String? = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    let candidates = path.split(separator: ":").map { String($0) + "/openssl" } + ["/usr/bin/openssl"]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
  }()

  /// Runs another program.
  static func shell(_ executable: String, _ arguments: [String], cwd: URL) throws -> TestSupport.Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = cwd
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return TestSupport.Run(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
  }
}
