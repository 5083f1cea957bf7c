/// Counted nouns in words: `1 result`, `2 results`, `1 privileged identity`, `2 privileged identities`.
public enum Plural {
  /// `n` and the noun, singular when `n` is 1, else `plural` (by default the singular plus `s`).
  public static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
    "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
  }
}
