import DocketAPI
import Foundation
import Synchronization

/// Appends one line per answered AWS Batch operation, "<Operation>\t<HTTP status>", to a file.
/// The test suites run their servers with $DOCKET_OPERATION_LOG set, and the conformance report
/// (scripts/conformance.py) reads these files to tell which operations a passing test exercised.
final class OperationLog: OperationObserver {
    private let handle: Mutex<FileHandle>

    /// - Throws: when the file cannot be created or opened for appending.
    init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        handle.seekToEndOfFile()
        self.handle = Mutex(handle)
    }

    func answered(operation: String, status: Int) {
        let line = Data("\(operation)\t\(status)\n".utf8)
        handle.withLock { $0.write(line) }
    }
}
