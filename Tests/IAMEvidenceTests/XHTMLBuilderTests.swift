import Foundation
import Testing
import XMLTree

@testable import IAMEvidence

/// The one builder of the HTML pages: every text node and attribute value goes through the same
/// escaping path.
@Suite struct XHTMLBuilderTests {
  @Test func textAndAttributeValuesShowBidirectionalControls() {
    let document = XMLDocument(rootElement: "html", namespaceURI: XMLNamespaces.xhtml)
    let p = document.rootElement!.add("p", "x\u{202E}y<b>", class: "c\u{2066}")
    p.set("title", "t\u{200F}").attrs(["data-b": "\u{061C}", "data-a": "a&"])
    p.say("\u{202A}")
    let html = document.html5String()
    #expect(!html.unicodeScalars.contains(where: XHTML.isBidiControl))
    #expect(
      html.contains(#"<p class="c[U+2066]" title="t[U+200F]" data-a="a&amp;" data-b="[U+061C]">x[U+202E]y&lt;b&gt;[U+202A]</p>"#), "\(html)"
    )
  }
}
