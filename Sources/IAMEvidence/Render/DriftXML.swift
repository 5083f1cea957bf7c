import XMLTree

/// `diff --format xml`: the drift as XML (root `drift` in the evidence namespace), validated against
/// `Templates/evidence.xsd` before it is returned.
public enum DriftXML {
  public static func render(_ d: DriftReport, templates: TemplateSet) throws -> [UInt8] {
    let doc = build(d)
    try XMLSchema(contentsOfFile: templates.evidenceXSD.path).validate(doc)
    return doc.xmlBytes(indented: true)
  }

  public static func build(_ d: DriftReport) -> XMLDocument {
    let doc = XMLDocument(rootElement: "drift", namespaceURI: EvidenceXML.namespace)
    let root = doc.rootElement!
    root.setAttribute("account", d.to.account)
    root.setAttribute("schemaVersion", "1")
    let tool = root.addChild("tool")
    tool.setAttribute("name", IAMEvidenceVersion.name)
    tool.setAttribute("version", IAMEvidenceVersion.current)
    for (name, s) in [("from", d.from), ("to", d.to)] {
      let e = root.addChild(name)
      e.setAttribute("id", String(s.id))
      e.setAttribute("capturedAt", s.capturedAt.description)
      e.setAttribute("sha256", s.sha256)
    }
    let privileges = root.addChild("privileges")
    for (name, list) in [("gained", d.privileges.gained), ("lost", d.privileges.lost)] {
      let e = privileges.addChild(name)
      e.setAttribute("count", String(list.count))
      for c in list {
        let change = e.addChild("change")
        change.setAttribute("capability", c.capability)
        EvidenceXML.principal(change.addChild("principal"), c.principal)
      }
    }
    for (name, list) in [
      ("newFindings", d.newFindings), ("resolved", d.resolved), ("stillOpen", d.stillOpen), ("newlyExcepted", d.newlyExcepted),
      ("exceptionExpired", d.exceptionExpired),
    ] {
      let e = root.addChild(name)
      e.setAttribute("count", String(list.count))
      for r in list {
        let f = e.addChild("finding")
        f.setAttribute("check", r.checkID)
        f.setAttribute("status", r.status.rawValue)
        f.setAttribute("key", r.findingKey)
        if let x = r.exception { f.setAttribute("exception", x.id) }
        EvidenceXML.subject(f, r)
        f.addChild("why").addText(r.why)
      }
    }
    let changed = root.addChild("changedFindings")
    changed.setAttribute("count", String(d.changedFindings.count))
    for c in d.changedFindings {
      let r = c.after
      let f = changed.addChild("finding")
      f.setAttribute("check", r.checkID)
      f.setAttribute("status", r.status.rawValue)
      f.setAttribute("key", r.findingKey)
      f.setAttribute("identity", r.findingIdentity)
      if let v = c.before.policy?.versionID { f.setAttribute("fromVersion", v) }
      if let s = c.before.policy?.documentSHA256, !s.isEmpty { f.setAttribute("fromSha256", s) }
      if let x = r.exception { f.setAttribute("exception", x.id) }
      EvidenceXML.subject(f, r)
      f.addChild("why").addText(r.why)
    }
    let versions = root.addChild("checkVersionsChanged")
    for v in d.versionChanges {
      let e = versions.addChild("check")
      e.setAttribute("id", v.change.checkID)
      if let f = v.change.fromVersion { e.setAttribute("fromVersion", String(f)) }
      if let t = v.change.toVersion { e.setAttribute("toVersion", String(t)) }
      e.setAttribute("openBefore", String(v.openBefore))
      e.setAttribute("openAfter", String(v.openAfter))
    }
    for (name, list) in [("principalsAdded", d.principalsAdded), ("principalsRemoved", d.principalsRemoved)] {
      let e = root.addChild(name)
      for c in list {
        let p = e.addChild("principal")
        EvidenceXML.principal(p, c.principal)
        p.setAttribute("recreated", String(c.recreated))
      }
    }
    let access = root.addChild("accessChanges")
    for a in d.accessChanges {
      let e = access.addChild("change")
      e.setAttribute("kind", a.kind)
      e.setAttribute("subject", a.subject)
      EvidenceXML.principal(e.addChild("principal"), a.principal)
    }
    for (name, list) in [
      ("policiesAdded", d.policiesAdded), ("policiesRemoved", d.policiesRemoved), ("policiesChanged", d.policiesChanged),
    ] {
      let e = root.addChild(name)
      for c in list {
        let p = e.addChild("policy")
        p.setAttribute("kind", c.kind.rawValue)
        p.setAttribute("name", c.name)
        if let arn = c.arn { p.setAttribute("arn", arn) }
        if let v = c.fromVersion { p.setAttribute("fromVersion", v) }
        if let v = c.toVersion { p.setAttribute("toVersion", v) }
        if let s = c.fromSHA256 { p.setAttribute("fromSha256", s) }
        if let s = c.toSHA256 { p.setAttribute("toSha256", s) }
        p.setAttribute("defaultVersionSwitched", String(c.defaultVersionSwitched))
        if let who = c.principal { EvidenceXML.principal(p.addChild("principal"), who) }
        if let s = c.statements {
          for x in s.added {
            let a = p.addChild("addedStatement")
            a.setAttribute("index", String(x.index))
            a.addText(JSONWriter.pretty(x.statement))
          }
          for x in s.removed {
            let r = p.addChild("removedStatement")
            r.setAttribute("index", String(x.index))
            r.addText(JSONWriter.pretty(x.statement))
          }
          for x in s.changed {
            let ch = p.addChild("changedStatement")
            ch.setAttribute("fromIndex", String(x.fromIndex))
            ch.setAttribute("toIndex", String(x.toIndex))
            if let sid = x.sid { ch.setAttribute("sid", sid) }
            for change in x.changes {
              let el = ch.addChild("element")
              el.setAttribute("element", change.element)
              if let f = change.from { el.addChild("from").addText(JSONWriter.canonical(f)) }
              if let t = change.to { el.addChild("to").addText(JSONWriter.canonical(t)) }
            }
          }
        }
      }
    }
    return doc
  }
}
