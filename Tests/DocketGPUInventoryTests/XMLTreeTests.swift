@testable import DocketGPUInventory
import XCTest

final class XMLTreeTests: XCTestCase {
    func parse(_ text: String) throws(InventoryError) -> XMLTree.Element { try XMLTree.parse(text, field: "query") }

    func message(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            XCTAssertEqual(error.field, "query")
            return error.message
        }
    }

    func testEntitiesAndCharacterReferencesAreResolved() throws {
        let root = try parse("<a>&amp;&lt;&gt;&quot;&apos; &#65;&#x42;&#x1F600;</a>")
        XCTAssertEqual(root.text, "&<>\"' AB😀")
    }

    func testAttributesTakeEitherQuoteAndEntities() throws {
        let root = try parse(#"<gpu id="00000000:07:00.0" note='a &amp; "b"'/>"#)
        XCTAssertEqual(root.attributes, ["id": "00000000:07:00.0", "note": "a & \"b\""])
        XCTAssertTrue(root.children.isEmpty)
    }

    func testDeclarationDoctypeCommentsAndCDATAAreHandled() throws {
        let root = try parse("""
            <?xml version="1.0" ?>
            <!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v12.dtd" [ <!ENTITY x "y"> ]>
            <!-- before -->
            <log><!-- inside --><v><![CDATA[<raw> & ]]></v><?pi skipped?><w>1</w></log>
            <!-- after -->
            """)
        XCTAssertEqual(root.name, "log")
        XCTAssertEqual(root.children.map(\.name), ["v", "w"])
        XCTAssertEqual(root.child("v")?.text, "<raw> & ")
        XCTAssertEqual(root.children[1].line, 4)
    }

    func testValuesAreTrimmedAndPathsFollowChildren() throws {
        let root = try parse("<gpu>\n\t<pci>\n\t\t<pci_bus_id> 00000000:07:00.0\n</pci_bus_id>\n\t</pci>\n</gpu>")
        XCTAssertEqual(root.path("pci", "pci_bus_id")?.value, "00000000:07:00.0")
        XCTAssertNil(root.path("pci", "missing"))
    }

    func testMalformedInputSaysWhereAndWhat() {
        XCTAssertEqual(message("<a>\n  <b></c>\n</a>"), "line 2, column 6: </c> closes <b>, opened at line 2")
        XCTAssertEqual(message("<a><b>"), "line 1, column 7: the input ends before </b> (the element opened at line 1)")
        XCTAssertEqual(message("<a>&nbsp;</a>"), "line 1, column 4: unknown entity &nbsp;; XML without a DTD knows only &amp; &lt; &gt; &quot; &apos; and &#N;")
        XCTAssertEqual(message("<a>AT&T</a>"), "line 1, column 6: '&' begins no reference; write a literal ampersand as &amp;")
        XCTAssertEqual(message(#"<a x="1" x="2"/>"#), "line 1, column 15: attribute 'x' appears twice in <a>")
        XCTAssertEqual(message("<a x=1/>"), "line 1, column 6: the value of attribute 'x' of <a> is not in quotes")
        XCTAssertEqual(message("<a/><b/>"), "line 1, column 5: a second root element; a document has one")
        XCTAssertEqual(message("<a/>trailing"), "line 1, column 5: text outside the root element")
        XCTAssertEqual(message("<!-- only -->"), "line 1, column 14: no root element; the input is empty or holds only comments")
        XCTAssertEqual(message("<a><!-- open</a>"), "line 1, column 17: the comment opened at line 1 never ends ('-->' is missing)")
        XCTAssertEqual(message("<a>&#0;</a>"), "line 1, column 4: &#0; is not a valid character reference")
    }
}
