import CDocketPlugin
import DocketCore
import Foundation
import Logging

/// A plugin file that passed every check: its descriptor's fields and its function table.
package final class LoadedPlugin: @unchecked Sendable {
    // @unchecked: the descriptor and tables are immutable static data owned by a library
    // that is never unloaded (RTLD_NODELETE), so sharing the pointers across threads is safe.
    package let path: String
    package let id: String
    package let name: String
    package let kind: PluginKind
    package let version: String
    package let description: String
    /// The ABI the plugin was built against, "1.0".
    package let abiVersion: String
    let executorTable: docket_executor_v1?
    let policyTable: docket_policy_v1?

    init(path: String, descriptor: docket_plugin_descriptor, kind: PluginKind, executor: docket_executor_v1?,
         policy: docket_policy_v1?) {
        self.path = path
        id = descriptor.id.map { String(cString: $0) } ?? ""
        name = descriptor.name.map { String(cString: $0) } ?? ""
        self.kind = kind
        version = descriptor.version.map { String(cString: $0) } ?? ""
        description = descriptor.description.map { String(cString: $0) } ?? ""
        abiVersion = "\(descriptor.abi_major).\(descriptor.abi_minor)"
        executorTable = executor
        policyTable = policy
    }
}

package enum PluginKind: String, Sendable, Codable {
    case executor
    case policy
}

/// Loads plugin files: dlopen, entry lookup, version and struct-size checks, on_load.
///
/// Plugins are opened RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE and never closed: unloading a Swift
/// plugin crashes the runtime later (shared/reference/swift-plugins-on-linux.md §4).
package enum PluginLoader {
    /// The 1.0 sizes: a struct shorter than these lacks fields every host needs.
    static let descriptorSize10 = MemoryLayout<docket_plugin_descriptor>.size
    static let executorTableSize10 = MemoryLayout<docket_executor_v1>.size
    static let policyTableSize10 = MemoryLayout<docket_policy_v1>.size

    /// Loads one file and runs every check.
    /// - Parameter runOnLoad: call the plugin's on_load (a server does; listing does not).
    /// - Throws: `PluginError` naming the file and the reason.
    package static func load(path: String, runOnLoad: Bool = true, logger: Logger) throws(PluginError) -> LoadedPlugin {
        guard path.contains("/") else {
            throw PluginError(.notLoadable, path: path, "give a path containing '/', e.g. ./\(path); a bare name would be searched in the system library path.")
        }
        _ = dlerror()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw PluginError(.notLoadable, path: path, "not a loadable shared object (\(reason)); build it with -shared -fPIC against include/docket.")
        }
        guard let symbol = dlsym(handle, DOCKET_PLUGIN_ENTRY_V1_SYMBOL) else {
            throw PluginError(.missingEntry, path: path, "it does not export \(DOCKET_PLUGIN_ENTRY_V1_SYMBOL); a Docket plugin must define `const docket_plugin_descriptor *docket_plugin_entry_v1(void)` with default visibility.")
        }
        typealias Entry = @convention(c) () -> UnsafePointer<docket_plugin_descriptor>?
        let entry = unsafeBitCast(symbol, to: Entry.self)
        guard let raw = entry() else {
            throw PluginError(.entryReturnedNull, path: path, "\(DOCKET_PLUGIN_ENTRY_V1_SYMBOL) returned NULL: the plugin declined to serve this process.")
        }
        // Versions first: a plugin of another major may lay out everything after them differently.
        let head = UnsafeRawPointer(raw)
        let major = head.load(fromByteOffset: 4, as: UInt32.self)
        let minor = head.load(fromByteOffset: 8, as: UInt32.self)
        guard major == HostABI.major else {
            throw PluginError(.abiMismatch, path: path, "built for plugin ABI \(major).\(minor); this docket provides ABI \(HostABI.version). Rebuild the plugin against this docket's include/docket headers.")
        }
        guard minor <= HostABI.minor else {
            throw PluginError(.abiMismatch, path: path, "needs plugin ABI \(major).\(minor); this docket provides \(HostABI.version). Upgrade docket or rebuild the plugin against \(HostABI.version).")
        }
        let descriptor: docket_plugin_descriptor
        switch HostABI.readVersioned(head, as: docket_plugin_descriptor.self, minimumSize: descriptorSize10, name: "descriptor") {
        case .success(let value): descriptor = value
        case .failure(let refusal): throw PluginError(.badStruct, path: path, refusal.reason)
        }
        guard descriptor.id != nil, descriptor.name != nil, descriptor.version != nil else {
            throw PluginError(.badDescriptor, path: path, "its descriptor lacks id, name or version; set all three to static strings.")
        }

        var executor: docket_executor_v1?
        var policy: docket_policy_v1?
        let kind: PluginKind
        switch descriptor.kind {
        case DOCKET_PLUGIN_KIND_EXECUTOR:
            kind = .executor
            guard let table = descriptor.executor else {
                throw PluginError(.badDescriptor, path: path, "its descriptor says kind executor but its executor table is NULL.")
            }
            switch HostABI.readVersioned(UnsafeRawPointer(table), as: docket_executor_v1.self, minimumSize: executorTableSize10, name: "executor table") {
            case .success(let value): executor = value
            case .failure(let refusal): throw PluginError(.badStruct, path: path, refusal.reason)
            }
            let missing = [("create", executor?.create == nil), ("destroy", executor?.destroy == nil),
                           ("capacity", executor?.capacity == nil), ("start", executor?.start == nil),
                           ("signal", executor?.signal == nil), ("terminate", executor?.terminate == nil),
                           ("list_running", executor?.list_running == nil)].filter(\.1).map(\.0)
            if !missing.isEmpty {
                throw PluginError(.badDescriptor, path: path, "its executor table lacks the required function(s) \(missing.joined(separator: ", ")); every function not marked optional in executor.h must be set.")
            }
        case DOCKET_PLUGIN_KIND_POLICY:
            kind = .policy
            guard let table = descriptor.policy else {
                throw PluginError(.badDescriptor, path: path, "its descriptor says kind policy but its policy table is NULL.")
            }
            switch HostABI.readVersioned(UnsafeRawPointer(table), as: docket_policy_v1.self, minimumSize: policyTableSize10, name: "policy table") {
            case .success(let value): policy = value
            case .failure(let refusal): throw PluginError(.badStruct, path: path, refusal.reason)
            }
            let missing = [("create", policy?.create == nil), ("destroy", policy?.destroy == nil),
                           ("job_runnable", policy?.job_runnable == nil), ("job_removed", policy?.job_removed == nil),
                           ("job_started", policy?.job_started == nil), ("job_finished", policy?.job_finished == nil),
                           ("pick", policy?.pick == nil)].filter(\.1).map(\.0)
            if !missing.isEmpty {
                throw PluginError(.badDescriptor, path: path, "its policy table lacks the required function(s) \(missing.joined(separator: ", ")); every function not marked optional in policy.h must be set.")
            }
        default:
            throw PluginError(.badDescriptor, path: path, "its descriptor has kind \(descriptor.kind), which is neither DOCKET_PLUGIN_KIND_EXECUTOR (1) nor DOCKET_PLUGIN_KIND_POLICY (2).")
        }

        let plugin = LoadedPlugin(path: path, descriptor: descriptor, kind: kind, executor: executor, policy: policy)
        if runOnLoad, let onLoad = descriptor.on_load {
            let context = HostContext(pluginName: plugin.name, instanceName: "(load)", settings: [:], logger: logger)
            let (status, message) = context.withHostAPI(forExecutor: false) { api in
                withErrorBuffer { onLoad(api, $0, $1) }
            }
            guard status == DOCKET_OK else {
                throw PluginError(.loadFailed, path: path, "plugin init (on_load) failed with \(statusName(status)): \(message.isEmpty ? "no message given" : message)")
            }
        }
        return plugin
    }

    /// The shared libraries in `directory` that look like plugins (lib*.so), sorted.
    package static func candidates(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".so") }.sorted().map { directory + "/" + $0 }
    }

    /// The directory of the running executable: the default plugins directory.
    package static var executableDirectory: String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (path as NSString).deletingLastPathComponent
    }
}
