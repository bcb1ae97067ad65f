import DocketGPUInventory
import Foundation

/// Runs a command (nvidia-smi) and returns its standard output, with a deadline: a GPU that
/// hangs the driver can hang nvidia-smi, and capacity must still return.
enum CommandOutput {
    static func run(_ argv: [String], field: String, timeoutSeconds: Double = 30) throws(InventoryError) -> String {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw InventoryError(field: field, "cannot make a pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        var pid: pid_t = 0
        let arguments = argv.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        let status = posix_spawnp(&pid, argv[0], &actions, nil, arguments, environ)
        close(pipe[1])
        defer { close(pipe[0]) }
        guard status == 0 else {
            throw InventoryError(field: field, "cannot run \(argv[0]): \(String(cString: strerror(status))); install the NVIDIA driver's nvidia-smi, set nvidia_smi_path, or use a static inventory (static_gpus).")
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var timedOut = false
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { timedOut = true; break }
            var poller = pollfd(fd: pipe[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left, 1) * 1000))
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 { continue }
            let count = read(pipe[0], &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            output.append(contentsOf: buffer[0..<count])
        }
        if timedOut { kill(pid, SIGKILL) }
        var exitStatus: Int32 = 0
        while waitpid(pid, &exitStatus, 0) < 0 && errno == EINTR {}
        let command = argv.joined(separator: " ")
        if timedOut { throw InventoryError(field: field, "`\(command)` did not finish in \(Int(timeoutSeconds)) s; the GPU driver may be hung (check dmesg).") }
        guard exitStatus == 0 else {
            throw InventoryError(field: field, "`\(command)` failed (wait status \(exitStatus)); run it by hand to see why.")
        }
        return String(decoding: output, as: UTF8.self)
    }
}
