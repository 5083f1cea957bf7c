extension KMSActionCatalog {
  /// The KMS view of an action catalog: every action of its `kms` service, with its access level,
  /// resource type names and whether it takes only `*`.
  public init(catalog: ActionCatalog) throws(KMSCatalogError) {
    guard let service = catalog.service(prefix: "kms") else { throw KMSCatalogError("the action catalog has no kms service") }
    let actions = service.actions.map { i -> KMSAction in
      let a = catalog.action(at: i)
      return KMSAction(
        name: a.name, accessLevel: a.accessLevel.rawValue, resourceTypes: a.resourceTypes.map(\.name),
        resourceWildcardOnly: a.takesOnlyWildcard)
    }
    if actions.isEmpty { throw KMSCatalogError("catalog lists no actions") }
    self.init(actions: actions)
  }
}
