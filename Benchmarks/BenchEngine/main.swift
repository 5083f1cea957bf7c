// The harness of Benchmarks/bench-engine: times the general policy engine on one snapshot file.
// Wall and CPU time per step (CPU time is steadier on a shared machine), resident and peak memory.
// The snapshot is decoded whole here (not streamed as `ingest` does), so the peak includes its tree.
import Foundation
import IAMEvidence

func status() -> (rss: Double, peak: Double) {
  let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
  func mb(_ key: String) -> Double {
    for line in text.split(separator: "\n") where line.hasPrefix(key) {
      let number = line.split(separator: " ").dropFirst().first { !$0.isEmpty }
      return (number.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } ?? 0) / 1024
    }
    return 0
  }
  return (mb("VmRSS:"), mb("VmHWM:"))
}
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }
func cpu() -> Double {
  var u = rusage()
  getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
  return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000 + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000
}
nonisolated(unsafe) var lastCPU = cpu()
func report(_ label: String, _ ms: Double) {
  let s = status()
  let c = cpu()
  print(
    String(
      format: "%-66@ %8.1f ms wall %8.1f ms cpu   rss %6.1f MB  peak %6.1f MB", label as NSString, ms, c - lastCPU, s.rss, s.peak))
  lastCPU = c
}

let path = CommandLine.arguments[1]
var t = now()
let catalog = try ActionCatalog.loadBundled()
report("load the action catalog (\(catalog.count) actions)", now() - t)
t = now()
var snapshot: AuthorizationSnapshot
do {
  let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  snapshot = try SnapshotDecoder(sourceName: path).decode(bytes)
}
var documents: [PolicyDocumentText] = []
for p in snapshot.principals { for i in p.inlinePolicies { documents.append(i.document) } }
for m in snapshot.managedPolicies { for v in m.versions { documents.append(v.document) } }
report("decode the snapshot (\(documents.count) documents)", now() - t)

var unique: [String: PolicyDocumentText] = [:]
for d in documents { unique[d.sha256] = d }
t = now()
var parsed: [PolicyDocument] = []
for d in unique.values { if case .success(let p) = PolicyDocument.parse(d.json) { parsed.append(p) } }
report("1 core: JSON parse + grammar of \(unique.count) distinct documents", now() - t)
do {
  let single = PolicyEngine(catalog: catalog)
  t = now()
  for p in parsed { _ = single.analyse(p) }
  report("1 core: engine analysis of the parsed documents", now() - t)
  let kms = KMSPolicyEvaluator()
  let targets = [kms.catalog.allActionNames, kms.catalog.decryptActionNames, kms.catalog.destructiveActionNames]
  t = now()
  for d in unique.values { _ = kms.evaluateActions(d.json, targets: targets, relevantOnly: true) }
  report("1 core, for comparison: today's KMS evaluation (3 targets, with parse)", now() - t)
}
parsed = []

let engine = PolicyEngine(catalog: catalog)
let before = status().rss
t = now()
let analyses = engine.analyse(documents: documents)
report("2 cores: parse + analyse \(analyses.count) distinct documents", now() - t)
var kept = 0
var ranges = 0
var statements = 0
for a in analyses.values {
  statements += a.statementCount
  kept += a.statements.count
  for s in a.statements { ranges += s.matched.ranges.count + s.onAllResources.ranges.count }
  ranges += a.allowed.ranges.count + a.denied.ranges.count + a.matched.ranges.count
}
print(
  "  \(statements) statements, \(kept) kept; \(ranges) ranges held (\(ranges * 8 / 1024) KB); resident +\(String(format: "%.1f", status().rss - before)) MB"
)

let named = [
  "iam:PassRole", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:CreateAccessKey", "iam:CreateLoginProfile",
  "iam:UpdateLoginProfile", "iam:AttachUserPolicy", "iam:AttachGroupPolicy", "iam:AttachRolePolicy", "iam:PutUserPolicy",
  "iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:AddUserToGroup", "iam:UpdateAssumeRolePolicy", "sts:AssumeRole",
  "ec2:RunInstances", "lambda:CreateFunction", "lambda:InvokeFunction", "lambda:CreateEventSourceMapping",
  "lambda:UpdateFunctionCode", "glue:CreateDevEndpoint", "glue:UpdateDevEndpoint", "cloudformation:CreateStack",
  "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition",
]
let all = try engine.resolve(.allActions)
let kms = try engine.resolve(.service("kms"))
let escalation = try engine.resolve(.actions(named))
let singles = try named.map { try engine.resolve(.actions([$0])) }
t = now()
var counts: [String: Int] = [:]
for a in analyses.values {
  counts["all " + engine.fullAccess(a, target: all).verdict.rawValue, default: 0] += 1
  counts["kms " + engine.fullAccess(a, target: kms).verdict.rawValue, default: 0] += 1
  counts["25 named " + engine.fullAccess(a, target: escalation).verdict.rawValue, default: 0] += 1
  for r in engine.canPerform(a, each: singles) where r.verdict == .can { counts["can perform (of 25)", default: 0] += 1 }
}
report("per document: full access to all, kms, 25 named; can perform x25", now() - t)
print("  ", counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
t = now()
let byARN = Dictionary(snapshot.managedPolicies.map { ($0.arn, $0) }, uniquingKeysWith: { a, _ in a })
let groups = Dictionary(snapshot.principals.filter { $0.type == .group }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
var identities: [String: Int] = [:]
for p in snapshot.principals where p.type != .group {
  let sources = IdentitySources(principal: p, policiesByARN: byARN, groupsByName: groups)
  let identity = sources.policies { analyses[$0.sha256]! }
  identities["all " + engine.fullAccess(identity, target: all).verdict.rawValue, default: 0] += 1
  identities["kms " + engine.fullAccess(identity, target: kms).verdict.rawValue, default: 0] += 1
  for r in engine.canPerform(identity, each: singles) where r.verdict == .can { identities["can perform (of 25)", default: 0] += 1 }
}
report("per user and role: full access to all, kms; can perform x25", now() - t)
print("  ", identities.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
