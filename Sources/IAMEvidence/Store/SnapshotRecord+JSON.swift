extension SnapshotRecord {
  /// The `snapshots --format json` object.
  public var jsonValue: JSONValue {
    .object([
      ("id", .number(String(id))),
      ("account", .string(account)),
      ("captured_at", .string(capturedAt.description)),
      ("captured_at_source", .string(capturedAtSource.rawValue)),
      ("ingested_at", .string(ingestedAt.description)),
      ("sha256", .string(sha256)),
      ("source", .string(sourceName)),
      ("byte_size", .number(String(byteSize))),
      ("encoding", .string(encoding)),
      ("label", label.map(JSONValue.string) ?? .null),
      ("truncated", .bool(isTruncated)),
      ("tool_version", .string(toolVersion)),
      (
        "counts",
        .object([
          ("users", .number(String(counts.users))), ("groups", .number(String(counts.groups))),
          ("roles", .number(String(counts.roles))), ("managed_policies", .number(String(counts.managedPolicies))),
          ("inline_policies", .number(String(counts.inlinePolicies))),
        ])
      ),
    ])
  }
}
