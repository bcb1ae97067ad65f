/// Why a plugin file was refused: the file, and the reason in one sentence with the fix.
package struct PluginError: Error, Sendable, CustomStringConvertible {
    package struct Code: Hashable, Sendable {
        private let name: String
        package static let notLoadable = Code(name: "notLoadable")          // dlopen failed: not a shared object, missing file
        package static let missingEntry = Code(name: "missingEntry")        // no docket_plugin_entry_v1
        package static let entryReturnedNull = Code(name: "entryReturnedNull")
        package static let abiMismatch = Code(name: "abiMismatch")          // other major, or newer minor
        package static let badStruct = Code(name: "badStruct")              // struct_size too small, or unknown non-zero tail
        package static let badDescriptor = Code(name: "badDescriptor")      // kind/table/required function missing
        package static let loadFailed = Code(name: "loadFailed")            // on_load returned an error
        package static let createFailed = Code(name: "createFailed")        // an instance's create returned an error
        package static let callFailed = Code(name: "callFailed")            // a table function returned an error
    }

    package var code: Code
    package var path: String
    package var reason: String

    package init(_ code: Code, path: String, _ reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    package var description: String { "plugin \(path): \(reason)" }
}
