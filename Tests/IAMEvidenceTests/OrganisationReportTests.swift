import Foundation
import Testing
import XMLTree
import ZIPFoundation

@testable import IAMEvidence

/// Issue 15, second half: one report and one package for an organisation (`report --accounts`,
/// `package --accounts`): page 1's accounts not effective or without evidence, the coverage table, each
/// account's own report composed into its section, evidence.xml of every account (schema-valid, each
/// account's element that of its own evidence.xml), OSCAL with the account as subject (NIST schema),
/// accounts.csv, drift per account, trend.csv with the account, and `verify` on the zip.
@Suite(.temporaryDirectories) struct OrganisationReportTests {
  static let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))
  static let generatedAt = Timestamp(parsing: "2024-07-02T09:00:00Z")!
  static let h = ["h": XMLNamespaces.xhtml]
  static let e = ["e": EvidenceXML.namespace]
  static let oscalSchema = TestSupport.schema("oscal-1.0.6/oscal_assessment-results_schema.xsd").path

  /// The demo organisation (AccountsTests' store) and its scope file: 111122223333 and
  /// 444455556666 with snapshots, 777788889999 never exported.
  static func demo() throws -> (EvidenceStore, OrganisationEvidence) {
    let store = try AccountsTests.organisationStore()
    let org = try store.workflow.organisationEvidence(
      accounts: .all, scope: try DemoData.scope(), from: AccountsTests.quarterFrom, to: AccountsTests.quarterTo,
      generatedAt: generatedAt)
    return (store, org)
  }

  /// An account whose every check passes: one user in a group with a narrow policy.
  static func cleanExport(_ account: String) -> [UInt8] {
    Array(
      """
      {"UserDetailList": [{"Path": "/", "UserName": "alice", "UserId": "AIDACLEAN\(account)", "Arn": "arn:aws:iam::\(account):user/alice",
        "CreateDate": "2023-01-01T00:00:00Z", "UserPolicyList": [], "GroupList": ["readers"], "AttachedManagedPolicies": [], "Tags": []}],
       "GroupDetailList": [{"Path": "/", "GroupName": "readers", "GroupId": "AGPACLEAN\(account)", "Arn": "arn:aws:iam::\(account):group/readers",
        "CreateDate": "2023-01-01T00:00:00Z", "GroupPolicyList": [{"PolicyName": "read", "PolicyDocument":
          {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}]}}],
        "AttachedManagedPolicies": []}],
       "RoleDetailList": [], "Policies": []}
      """.utf8)
  }

  static func html(_ org: OrganisationEvidence) throws -> XMLDocument {
    try XMLDocument(bytes: try OrganisationHTML.render(org, templates: templates).dropFirst("<!DOCTYPE html>\n".utf8.count))
  }

  // MARK: The report

  @Test func pageOneNamesTheAccountsNotEffectiveOrWithoutEvidenceBeforeAnyAccount() throws {
    let (_, org) = try Self.demo()
    #expect(org.accounts.map(\.account) == ["111122223333", "444455556666"])
    #expect(org.coverage.coverageGaps.map(\.account) == ["777788889999"])
    #expect(org.attention.map(\.account) == ["111122223333", "444455556666", "777788889999"])
    let bytes = try OrganisationHTML.render(org, templates: Self.templates)
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(text.hasPrefix("<!DOCTYPE html>\n"))
    let doc = try Self.html(org)
    // Page 1 is the cover section: the organisation's verdicts and the accounts needing attention.
    let cover = try #require(try doc.firstNode(matching: "//h:section[@id='report-header']", namespaces: Self.h))
    let attention = try #require(try cover.firstNode(matching: ".//h:ul[@class='attention']", namespaces: Self.h))
    let items = attention.children.map(\.textContent)
    #expect(items.first?.hasPrefix("No evidence — coverage gap") == true)
    #expect(items.first?.contains("777788889999 (analytics-sandbox)") == true)
    #expect(items.contains { $0.hasPrefix("Not effective on A.8.2") && $0.contains("111122223333 (shared-services)") })
    #expect(cover.textContent.contains("Accounts in scope not effective or without evidence: 3 of 3."))
    let verdicts = try cover.nodes(matching: ".//h:table[contains(@class,'cover-verdict-table')]/h:tbody/h:tr", namespaces: Self.h)
    #expect(verdicts.count == org.coverage.controls.count)
    #expect(verdicts.allSatisfy { $0.textContent.contains("Not effective") })
    // The cover comes before the first account's section in the document.
    let coverAt = try #require(text.range(of: "id=\"attention\""))
    let firstAccount = try #require(text.range(of: "id=\"account-111122223333\""))
    #expect(coverAt.lowerBound < firstAccount.lowerBound)
    // Accounts with evidence have sections; the coverage gap has none, and its links go nowhere.
    let sections = try doc.nodes(matching: "//h:section[contains(concat(' ', @class, ' '), ' account ')]", namespaces: Self.h)
    #expect(sections.map { $0.attribute("id") } == ["account-111122223333", "account-444455556666"])
    // Every id is unique and every same-document link resolves.
    let ids = try doc.nodes(matching: "//*[@id]", namespaces: Self.h).compactMap { $0.attribute("id") }
    #expect(Set(ids).count == ids.count)
    for a in try doc.nodes(matching: "//h:a[starts-with(@href,'#')]", namespaces: Self.h) {
      #expect(ids.contains(String(a.attribute("href")!.dropFirst())), "\(a.attribute("href")!)")
    }
  }

  @Test func theCoverageTableListsEveryAccountInScopeAndTheGap() throws {
    let (_, org) = try Self.demo()
    let doc = try Self.html(org)
    let rows = try doc.nodes(matching: "//h:div[@id='coverage']//h:table[1]/h:tbody/h:tr", namespaces: Self.h)
    #expect(rows.count == 3)
    let gap = try #require(rows.last)
    #expect(gap.attribute("class") == "coverage-gap-row")
    #expect(gap.textContent.contains("777788889999") && gap.textContent.contains("analytics-sandbox"))
    #expect(gap.textContent.contains("coverage gap") && gap.textContent.contains("No evidence") && gap.textContent.contains("data team"))
    let first = rows[0].textContent
    #expect(first.contains("shared-services") && first.contains("platform team") && first.contains("2024-05-31"))
    #expect(first.contains("snapshot 3"))
    // Ranked by open findings: 111122223333 has more failures than 444455556666.
    let ranked = try doc.nodes(matching: "//h:div[@id='ranking']//h:tbody/h:tr/h:th", namespaces: Self.h).map(\.textContent)
    #expect(ranked.count == 2 && ranked[0].hasPrefix("111122223333") && ranked[1].hasPrefix("444455556666"))
    #expect(org.ranking.map(\.account) == ["111122223333", "444455556666"])
    #expect((org.ranking[0].row.counts?.fail ?? 0) >= (org.ranking[1].row.counts?.fail ?? 0))
    // The organisation's trend: one row per capture day.
    let trend = try doc.nodes(matching: "//h:div[@id='organisation-trend']//h:tbody/h:tr", namespaces: Self.h)
    #expect(trend.map { $0.children.first?.textContent } == ["2024-03-31", "2024-04-30", "2024-05-31"])
    #expect(org.trendPoints.map(\.accounts) == [2, 1, 2])
  }

  @Test func eachAccountsSectionIsItsOwnReportComposed() throws {
    let (_, org) = try Self.demo()
    let doc = try Self.html(org)
    for a in org.accounts {
      let single = try HTMLReport.build(a.model, templates: Self.templates, files: nil)
      let section = try #require(try doc.firstNode(matching: "//h:section[@id='account-\(a.account)']", namespaces: Self.h))
      #expect(section.children.first?.name == "h2" && section.children.first?.textContent.hasPrefix("Account \(a.account)") == true)
      for (slot, id) in [
        ("findings", "findings"), ("identities", "privileged"), ("exceptions", "exceptions"), ("population", "population"),
      ] {
        let own = try #require(try single.firstNode(matching: "//h:*[@data-slot='\(slot)']", namespaces: Self.h))
        let part = try #require(
          try section.firstNode(matching: ".//h:section[@id='acct-\(a.account)-\(id)']", namespaces: Self.h), "\(id)")
        #expect(part.attribute("class") == "account-part")
        // The same content, word for word (headings one level down do not change the text).
        #expect(part.textContent.contains(own.textContent), "\(a.account) \(id)")
        #expect(try part.nodes(matching: ".//h:h2", namespaces: Self.h).isEmpty)
      }
      // Its findings: one article per finding or a compact table row each.
      let findings = try section.nodes(matching: ".//h:article[contains(@class,'finding')]", namespaces: Self.h)
      #expect(findings.count == a.model.findings.count)
    }
    // The methodology once, for the organisation.
    #expect(try doc.nodes(matching: "//h:article[@id='method-kms-full-access-inline']", namespaces: Self.h).count == 1)
  }

  /// A small organisation keeps each account's population tables; a large one (more results than
  /// ``OrganisationHTML/listedPopulationLimit``) gives each account's population as counts, naming
  /// the rows of population.csv, while every finding stays listed.
  @Test func aLargeOrganisationGivesEachAccountsPopulationAsCounts() throws {
    let (_, org) = try Self.demo()
    #expect(org.accounts.reduce(0) { $0 + $1.model.results.count } <= OrganisationHTML.listedPopulationLimit)
    #expect(OrganisationHTML.populationRowLimit(org) == HTMLReport.populationRowLimit)
    let a = org.accounts[0]
    let rows = ["kms-full-access-inline": 1...a.model.results(of: "kms-full-access-inline").count]
    let evidence = RenderedFile(name: "evidence.xml", byteCount: 1, sha256: String(repeating: "a", count: 64), rows: a.model.results.count)
    let csv = RenderedFile(name: "population.csv", byteCount: 1, sha256: String(repeating: "b", count: 64), rows: a.model.results.count)
    let files = HTMLReport.PopulationFiles(evidence: evidence, csv: csv, csvRows: rows)
    let listed = try OrganisationHTML.accountSection(a, templates: Self.templates, files: files)
    let counted = try OrganisationHTML.accountSection(a, templates: Self.templates, files: files, rowLimit: 0)
    let tableRows = ".//h:div[contains(@class,'population-check')]//h:tbody/h:tr"
    #expect(try listed.nodes(matching: tableRows, namespaces: Self.h).count == a.model.results.count)
    #expect(try counted.nodes(matching: tableRows, namespaces: Self.h).isEmpty)
    let summaries = try counted.nodes(matching: ".//h:p[@class='population-summary']", namespaces: Self.h)
    #expect(summaries.count == Set(a.model.results.map(\.checkID)).count)
    #expect(
      summaries.allSatisfy {
        $0.textContent.hasPrefix("Not listed here (the organisation's report gives each account's population as counts).")
      })
    #expect(summaries.contains { $0.textContent.contains("rows 1 to ") })
    let findings = ".//h:article[contains(@class,'finding')]"
    #expect(try counted.nodes(matching: findings, namespaces: Self.h).count == a.model.findings.count)
  }

  @Test func anAccountOutOfScopeIsListedApartAndLeftOutOfTheVerdict() throws {
    let store = try AccountsTests.organisationStore()
    let scope = try AccountsTests.scope(#"{"accounts": [{"id": "111122223333", "name": "shared-services"}, {"id": "777788889999"}]}"#)
    let org = try store.workflow.organisationEvidence(
      accounts: .all, scope: scope, from: AccountsTests.quarterFrom, to: AccountsTests.quarterTo, generatedAt: Self.generatedAt)
    #expect(org.coverage.outOfScope.map(\.account) == ["444455556666"])
    #expect(org.accounts.map(\.account) == ["111122223333"])
    #expect(org.coverage.organisation.allSatisfy { !($0.accounts.values.joined().contains("444455556666")) })
    let doc = try Self.html(org)
    #expect(try doc.firstNode(matching: "//h:section[@id='account-444455556666']", namespaces: Self.h) == nil)
    let tables = try doc.nodes(matching: "//h:div[@id='coverage']//h:table", namespaces: Self.h)
    #expect(tables.count == 2)
    #expect(tables[1].textContent.contains("444455556666") && tables[1].textContent.contains("out of scope"))
    #expect(!tables[0].textContent.contains("444455556666"))
  }

  /// The roll-up end to end: an effective account and a coverage gap make the organisation `no
  /// evidence`; without the gap in scope it is effective.
  @Test func aCoverageGapKeepsAnEffectiveOrganisationAtNoEvidence() throws {
    let (store, _) = try TestSupport.makeStore()
    for (i, day) in ["2024-01-31", "2024-02-29", "2024-03-31"].enumerated() {
      var bytes = Self.cleanExport("999988887777")
      bytes += Array(String(repeating: " ", count: i).utf8)  // another file each month
      let source = IngestSource(name: "exports/\(day)/999988887777.json", bytes: bytes, modificationTime: nil)
      _ = try store.workflow.ingestAndAssess(
        source, options: IngestOptions(capturedAt: Timestamp(parsing: "\(day)T23:59:59Z"), now: TestSupport.fixedNow))
    }
    func org(_ scope: String) throws -> OrganisationEvidence {
      try store.workflow.organisationEvidence(
        accounts: .all, scope: try AccountsTests.scope(scope), from: Timestamp(parsing: "2024-01-01")!,
        to: Timestamp(parsing: "2024-03-31T23:59:59Z")!, generatedAt: Self.generatedAt)
    }
    let withGap = try org(#"{"accounts": [{"id": "999988887777", "name": "clean"}, {"id": "777788889999", "name": "never"}]}"#)
    let cleanRow = try #require(withGap.coverage.inScope.first { $0.account == "999988887777" })
    #expect(cleanRow.verdicts.allSatisfy { $0.verdict == .effective })
    #expect(withGap.coverage.organisation.allSatisfy { $0.verdict == .noEvidence })
    #expect(withGap.attention.map(\.account) == ["777788889999"])
    let cover = try #require(
      try Self.html(withGap).firstNode(matching: "//h:section[@id='report-header']", namespaces: Self.h)?.textContent)
    #expect(cover.contains("No evidence — coverage gap, no snapshot in the period (1): 777788889999 (never)."))
    #expect(!cover.contains("Not effective on"))
    let xml = try Self.evidenceXML(withGap)
    for v in try xml.nodes(matching: "//e:organisationVerdicts/e:controlVerdict", namespaces: Self.e) {
      #expect(v.attribute("verdict") == "no-evidence" && v.attribute("periodVerdict") == "no-evidence")
    }
    let clean = try org(#"{"accounts": [{"id": "999988887777", "name": "clean"}]}"#)
    #expect(clean.coverage.organisation.allSatisfy { $0.verdict == .effective })
    #expect(clean.attention.isEmpty)
    let cleanCover = try #require(
      try Self.html(clean).firstNode(matching: "//h:section[@id='report-header']", namespaces: Self.h)?.textContent)
    #expect(cleanCover.contains("Every account in scope has evidence and is effective on every control."))
  }

  // MARK: evidence.xml

  static func evidenceXML(_ org: OrganisationEvidence) throws -> XMLDocument {
    var bytes: [UInt8] = []
    try OrganisationEvidenceXML.write(org) { bytes.append(contentsOf: $0) }
    let doc = try XMLDocument(bytes: bytes)
    try XMLSchema(contentsOfFile: templates.evidenceXSD.path).validate(doc)
    return doc
  }

  /// Elements in document order with their attributes, and text without surrounding blanks: what a
  /// document says, whatever its indentation.
  static func flatten(_ e: XMLElement) -> [String] {
    var out = [e.name + " " + e.attributes.map { "\($0.name)=\($0.value)" }.joined(separator: " ")]
    let children = e.children
    if children.isEmpty {
      out.append("text " + e.textContent.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    for c in children { out += flatten(c) }
    return out
  }

  @Test func evidenceXMLHoldsEveryAccountAsItsOwnEvidenceXMLSaysIt() throws {
    let (_, org) = try Self.demo()
    let doc = try Self.evidenceXML(org)
    let root = try #require(doc.rootElement)
    #expect(root.name == "organisationEvidence" && root.attribute("documentId") == org.documentID)
    let coverage = try doc.nodes(matching: "//e:coverage/e:account", namespaces: Self.e)
    #expect(coverage.map { $0.attribute("id") } == ["111122223333", "444455556666", "777788889999"])
    #expect(coverage.map { $0.attribute("coverageGap") } == ["false", "false", "true"])
    #expect(coverage.map { $0.attribute("evidence") } == ["true", "true", "false"])
    #expect(coverage[2].attribute("name") == "analytics-sandbox" && coverage[2].attribute("latestSnapshot") == nil)
    let nested = try doc.nodes(matching: "/e:organisationEvidence/e:evidence", namespaces: Self.e)
    #expect(nested.count == 2)
    for (element, a) in zip(nested, org.accounts) {
      let own = try XMLDocument(bytes: try EvidenceXML.render(a.model, templates: Self.templates))
      #expect(Self.flatten(element) == Self.flatten(own.rootElement!), "\(a.account)")
      #expect(try element.nodes(matching: "e:population/e:result", namespaces: Self.e).count == a.model.results.count)
    }
    // The organisation's verdicts: each in-scope account's verdict, the gap's no-evidence.
    let a82 = try #require(try doc.firstNode(matching: "//e:organisationVerdicts/e:controlVerdict[@control='A.8.2']", namespaces: Self.e))
    #expect(a82.attribute("verdict") == "not-effective")
    #expect(
      a82.children.map { "\($0.attribute("id")!) \($0.attribute("verdict")!)" } == [
        "111122223333 not-effective", "444455556666 not-effective", "777788889999 no-evidence",
      ])
  }

  /// A single-account evidence.xml is valid against the updated schema and unchanged by it (the
  /// golden files hold the bytes); the schema's organisation root refuses a document without coverage.
  @Test func theSchemaStillValidatesOneAccountAndChecksTheOrganisation() throws {
    let (_, org) = try Self.demo()
    let schema = try XMLSchema(contentsOfFile: Self.templates.evidenceXSD.path)
    try schema.validate(try XMLDocument(bytes: try EvidenceXML.render(org.accounts[0].model, templates: Self.templates)))
    let doc = try Self.evidenceXML(org)
    try #require(try doc.firstNode(matching: "//e:coverage", namespaces: Self.e)).remove()
    #expect(throws: (any Error).self) { try schema.validate(doc) }
  }

  // MARK: OSCAL

  @Test func oscalHasTheOrganisationsResultAndOneResultPerAccountAndSnapshot() throws {
    let (_, org) = try Self.demo()
    var bytes: [UInt8] = []
    try OrganisationOSCAL.write(org) { bytes.append(contentsOf: $0) }
    let doc = try XMLDocument(bytes: bytes)
    try XMLSchema(contentsOfFile: Self.oscalSchema).validate(doc)
    let o = ["o": XMLNamespaces.oscal]
    let results = try doc.nodes(matching: "/o:assessment-results/o:result", namespaces: o)
    // The organisation's, then per account: one per snapshot of the period and the period's own.
    let expected = 1 + org.accounts.reduce(0) { $0 + $1.model.snapshots.count + 1 }
    #expect(results.count == expected)
    let first = results[0]
    #expect(try first.nodes(matching: "o:local-definitions/o:inventory-item", namespaces: o).count == 3)
    let findings = try first.nodes(matching: "o:finding", namespaces: o)
    #expect(findings.count == org.coverage.controls.count)
    for f in findings {
      #expect(try f.firstNode(matching: "o:target/o:status", namespaces: o)?.attribute("state") == "not-satisfied")
    }
    let gap = OrganisationOSCAL.accountUUID("777788889999")
    #expect(try first.nodes(matching: "o:observation/o:subject[@subject-uuid='\(gap)']", namespaces: o).count == 1)
    // Each account's snapshot results name the account: prop, inventory item, subject.
    for a in org.accounts {
      let uuid = OrganisationOSCAL.accountUUID(a.account)
      let mine = try doc.nodes(
        matching: "/o:assessment-results/o:result[o:prop[@name='aws-account-id' and @value='\(a.account)']]", namespaces: o)
      #expect(mine.count == a.model.snapshots.count + 1)
      for s in a.model.snapshots {
        let resultUUID = OSCALAssessmentResults.uuid("result", s.sha256)
        let result = try #require(mine.first { $0.attribute("uuid") == resultUUID })
        let item = OrganisationOSCAL.accountUUID(a.account, in: resultUUID)
        #expect(item != uuid)
        #expect(try result.nodes(matching: "o:local-definitions/o:inventory-item[@uuid='\(item)']", namespaces: o).count == 1)
        #expect(try result.nodes(matching: "o:observation/o:subject[@subject-uuid='\(item)']", namespaces: o).count == 1)
      }
    }
    // UUIDs are unique; the back matter has each resource once, every snapshot's among them.
    let uuids = try doc.nodes(matching: "//*[@uuid]", namespaces: o).compactMap { $0.attribute("uuid") }
    #expect(Set(uuids).count == uuids.count, "\(Dictionary(grouping: uuids, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted())")
    let resources = try doc.nodes(matching: "//o:back-matter/o:resource", namespaces: o)
    #expect(resources.count == 1 + org.snapshots.count)
  }

  // MARK: The package

  /// The demo organisation's exports copied into a folder and ingested from there (so the package can
  /// include them), one folder per month, one file per account.
  static func packagedStore() throws -> (EvidenceStore, URL) {
    let (store, dir) = try TestSupport.makeStore()
    for (url, capturedAt) in try DemoData.snapshots() + DemoData.organisationSnapshots() {
      let name = DemoData.relativeName(url).replacingOccurrences(of: "organisation/", with: "")
      let target = dir.appendingPathComponent("exports").appendingPathComponent(
        name.contains("/") ? name : "\(capturedAt.dateString)/\(DemoData.account).json")
      try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(try TestSupport.bytes(url)).write(to: target)
      let source = IngestSource(name: target.path, bytes: try TestSupport.bytes(target), modificationTime: nil)
      _ = try store.workflow.ingestAndAssess(source, options: IngestOptions(capturedAt: capturedAt, now: TestSupport.fixedNow))
    }
    return (store, dir)
  }

  @Test func thePackageHoldsTheOrganisationAndVerifies() throws {
    let (store, dir) = try Self.packagedStore()
    let key = Curve25519SigningKey()
    func package(_ name: String) throws -> (URL, OrganisationPackageSummary) {
      let out = dir.appendingPathComponent(name)
      var request = OrganisationPackageRequest(
        accounts: .all, scope: try DemoData.scope(), from: AccountsTests.quarterFrom, to: AccountsTests.quarterTo, register: nil,
        includeSnapshots: true, signingKey: key, templates: Self.templates, generatedAt: Self.generatedAt, cadenceDays: 31)
      request.requireSnapshots = true
      return (out, try store.workflow.organisationPackage(request, to: out, now: { TestSupport.fixedNow }))
    }
    let (zip, summary) = try package("org.zip")
    #expect(summary.evidence.coverage.coverageGaps.map(\.account) == ["777788889999"])
    let report = try PackageVerifier.verify(path: zip.path, publicKey: key.publicKey)
    #expect(report.problems.isEmpty, "\(report.problems)")
    #expect(report.signerVerified && report.files == summary.files)
    let archive = try Archive(url: zip, accessMode: .read)
    var members: [String: [UInt8]] = [:]
    var names: [String] = []
    for entry in archive {
      var bytes: [UInt8] = []
      _ = try archive.extract(entry) { bytes += $0 }
      members[entry.path] = bytes
      names.append(entry.path)
    }
    #expect(
      Array(names.prefix(6)) == ["README.txt", "report.html", "evidence.xml", "evidence.xsd", "population.csv", "accounts.csv"])
    // The OSCAL document last before the key, manifest and signature (zipped once written).
    #expect(Array(names.suffix(4)) == ["assessment-results.xml", "iam-evidence.pub", "MANIFEST.sha256", "MANIFEST.sig"])
    for member in [
      "accounts/111122223333/drift.json", "accounts/111122223333/drift.html", "accounts/111122223333/drift/0001-0002.json",
      "accounts/111122223333/drift/0002-0003.html", "accounts/444455556666/drift/0004-0005.json", "trend.csv", "privileged.csv",
      "snapshots/0001-111122223333.json", "snapshots/0005-444455556666.json", "MANIFEST.sha256", "MANIFEST.sig", "iam-evidence.pub",
    ] {
      #expect(members[member] != nil, "\(member)")
    }
    #expect(!names.contains { $0.hasPrefix("accounts/777788889999/") })
    func text(_ name: String) -> String { String(decoding: members[name] ?? [], as: UTF8.self) }
    #expect(text("accounts.csv") == AccountsText.csv(summary.evidence.coverage))
    #expect(text("accounts.csv").contains("777788889999,analytics-sandbox,true,0"))
    #expect(text("trend.csv").hasPrefix("account,name,snapshot,"))
    #expect(text("trend.csv").contains("\n444455556666,payments-prod,4,"))
    #expect(text("privileged.csv").hasPrefix("account,snapshot,principal_type,"))
    #expect(text("privileged.csv").contains("\n444455556666,5,"))
    #expect(text("population.csv").hasPrefix("account,snapshot,check,"))
    #expect(
      members["snapshots/0004-444455556666.json"]
        == (try TestSupport.bytes(dir.appendingPathComponent("exports/2024-03-31/444455556666.json"))))
    let readme = text("README.txt")
    #expect(
      readme.contains(
        "Coverage gaps (in scope, no snapshot in the period: no evidence on every control):\n  777788889999 (analytics-sandbox)"))
    #expect(readme.contains("Document \(summary.evidence.documentID)"))
    #expect(text("report.html").contains(summary.evidence.documentID) && text("evidence.xml").contains(summary.evidence.documentID))
    try XMLSchema(contentsOfFile: Self.oscalSchema).validate(try XMLDocument(bytes: members["assessment-results.xml"]!))
    // Same inputs, same bytes.
    let (again, _) = try package("again.zip")
    #expect(try Data(contentsOf: again) == (try Data(contentsOf: zip)))
    // Nothing left beside the zips.
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }.isEmpty)
  }

  /// The drift of a series from one set of reads: the overall drift and each pair are exactly what
  /// `drift(from:to:)` computes for them.
  @Test func periodDriftsAreTheDriftsComputedOneByOne() throws {
    let store = try AccountsTests.organisationStore()
    let series = try store.snapshots(account: DemoData.account)
    #expect(series.count == 3)
    func json(_ d: DriftReport?) -> String { d.map { JSONWriter.canonical($0.jsonValue) } ?? "none" }
    let (overall, pairs) = try store.workflow.periodDrifts(series)
    #expect(json(overall) == json(try store.workflow.drift(from: series[0].id, to: series[2].id)))
    #expect(
      pairs.map(json)
        == [try store.workflow.drift(from: series[0].id, to: series[1].id), try store.workflow.drift(from: series[1].id, to: series[2].id)]
        .map(json))
    let two = try store.workflow.periodDrifts(Array(series.prefix(2)))
    #expect(json(two.overall) == json(two.pairs.first) && two.pairs.count == 1)
    #expect(try store.workflow.periodDrifts([series[0]]).pairs.isEmpty)
  }

  @Test func aSourceFileChangedSinceItsIngestFailsThePackageAndLeavesNothing() throws {
    let (store, dir) = try Self.packagedStore()
    let changed = dir.appendingPathComponent("exports/2024-05-31/444455556666.json")
    try Data("{}".utf8).write(to: changed)
    let out = dir.appendingPathComponent("org.zip")
    var request = OrganisationPackageRequest(
      accounts: .all, scope: nil, from: AccountsTests.quarterFrom, to: AccountsTests.quarterTo, register: nil, includeSnapshots: true,
      signingKey: nil, templates: Self.templates, generatedAt: Self.generatedAt, cadenceDays: 31)
    request.requireSnapshots = true
    #expect(throws: WorkflowError.self) { try store.workflow.organisationPackage(request, to: out, now: { TestSupport.fixedNow }) }
    #expect(!FileManager.default.fileExists(atPath: out.path))
    // Without --include-snapshots, it is left out and README.txt says why.
    request.requireSnapshots = false
    _ = try store.workflow.organisationPackage(request, to: out, now: { TestSupport.fixedNow })
    let archive = try Archive(url: out, accessMode: .read)
    var readme: [UInt8] = []
    _ = try archive.extract(try #require(archive["README.txt"])) { readme += $0 }
    #expect(String(decoding: readme, as: UTF8.self).contains("snapshot 5: its source file \(changed.path) differs from what was ingested"))
    #expect(archive["snapshots/0005-444455556666.json"] == nil && archive["snapshots/0004-444455556666.json"] != nil)
  }

  // MARK: The command line

  @Test func reportAndPackageTakeAccountsThroughTheCommandLine() throws {
    let (_, dir) = try Self.packagedStore()
    let db = dir.appendingPathComponent("evidence.sqlite").path
    let scope = dir.appendingPathComponent("scope.json")
    try Data(AccountsTests.scopeJSON.utf8).write(to: scope)
    let out = dir.appendingPathComponent("org-report")
    let report = try TestSupport.run([
      "report", "--db", db, "--accounts", "all", "--scope", scope.path, "--from", "2024-03-01", "--to", "2024-05-31", "--out", out.path,
      "--generated-at", "2024-07-02T09:00:00Z",
    ])
    #expect(report.status == 0, "\(report.stderr)")
    #expect(report.stdout.contains("3 accounts in scope, 2 with evidence, 1 coverage gap, 0 out of scope"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == ReportRenderer.fileNames.sorted())
    let zip = dir.appendingPathComponent("org.zip")
    let package = try TestSupport.run([
      "package", "--db", db, "--accounts", "111122223333,777788889999", "--scope", scope.path, "--from", "2024-03-01", "--to",
      "2024-05-31", "--out", zip.path, "--generated-at", "2024-07-02T09:00:00Z",
    ])
    #expect(package.status == 0, "\(package.stderr)")
    #expect(package.stdout.contains("2 accounts in scope (1 with evidence, 1 coverage gap, 0 out of scope)"))
    let verify = try TestSupport.run(["verify", zip.path])
    #expect(verify.status == 0 && verify.stdout.hasPrefix("OK: "), "\(verify.stdout)\(verify.stderr)")
    for (arguments, message) in [
      (["report", "--db", db, "--accounts", "all", "--account", "111122223333"], "give --account or --accounts, not both"),
      (["report", "--db", db, "--scope", scope.path], "--scope goes with --accounts"),
      (["report", "--db", db, "--accounts", "11112222333"], "is not a 12-digit AWS account id"),
      (
        ["report", "--db", db, "--accounts", "123456789012", "--out", dir.appendingPathComponent("x").path],
        "no snapshot of account 123456789012"
      ),
    ] {
      let run = try TestSupport.run(arguments)
      #expect(run.status != 0 && run.stderr.contains(message), "\(arguments): \(run.stderr)")
    }
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x").path))
  }
}
