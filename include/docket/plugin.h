/*
 * docket/plugin.h — the Docket plugin ABI, version 1.1: versions, status codes, the host's
 * service table and the plugin descriptor. executor.h and policy.h hold one function table each.
 *
 * This header is the plugin author's whole manual. A plugin is a shared library that links
 * against nothing of Docket: it includes these headers, exports one symbol, and reaches the
 * host only through the function pointers the host hands it. C, C++, Swift, Rust, Zig or Go
 * (cgo) plugins all load alike.
 *
 * LIFECYCLE
 *   1. The host dlopen()s the file (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) and looks up
 *      `docket_plugin_entry_v1`. Plugins are never unloaded: a loaded image stays mapped for
 *      the life of the process, so Swift and Rust runtimes inside a plugin stay valid.
 *   2. It calls the entry, which returns a static descriptor. The entry must have no side
 *      effects: `docket plugins list` and `docket plugins check` read the name, kind, version
 *      and ABI version from it without initialising anything.
 *   3. It checks the versions and struct sizes (COMPATIBILITY below), then calls `on_load`
 *      once, if the plugin has one.
 *   4. It creates instances through the kind's table (executor.h: one instance per compute
 *      environment; policy.h: one instance per job queue), each with its own JSON
 *      configuration and its own host table. Instances live until their `destroy`.
 *
 * COMPATIBILITY PROMISE
 *   - The major version changes only when an existing field or function changes meaning or
 *     place. A host refuses a plugin of another major, naming both versions.
 *   - A minor version only appends fields to the end of structs. A host accepts plugins of
 *     its own minor or lower and refuses a newer minor, naming both versions and the fix.
 *   - Every struct that crosses the boundary starts with `uint32_t struct_size`, the size the
 *     writer knew. A reader reads no further than that size; missing fields read as zero or
 *     NULL, which always means "absent, behave as 1.0 did". The host zero-fills a plugin
 *     struct shorter than its own, and refuses a longer one whose unknown tail is not zero.
 *   - Status codes are never renumbered and never reused.
 *   - A 2.x ABI will add `docket_plugin_entry_v2`; a plugin may export both while it migrates.
 *
 * CONVENTIONS (every function in these headers)
 *   - Thread tags: [serialized] = the host never calls this concurrently for one instance;
 *     [any-thread] = may be called from any thread, concurrently; [must-not-block] = pure
 *     computation, no I/O, no locks held across I/O (policies sit on the scheduler's hot path);
 *     [may-block] = may do I/O; the host calls it off its async pool, on a dedicated thread.
 *   - Host callbacks never re-enter the plugin: a plugin may call them while holding its own
 *     locks.
 *   - Ownership: pointers the host passes in are borrowed for the duration of the call; copy
 *     what you keep. The descriptor and its strings live until the process exits. Whoever
 *     allocates frees. Variable-size results go out through a host callback or into a
 *     caller's buffer.
 *   - Errors: fallible calls return docket_status and take `char *err, size_t err_size`. The
 *     host empties the buffer first; on failure the plugin writes one UTF-8 sentence that
 *     names the input and the fix, truncated to err_size - 1 bytes and NUL-terminated.
 *   - Strings are UTF-8 and NUL-terminated. Times are int64_t milliseconds since the Unix
 *     epoch (durations: int64_t milliseconds). Booleans are int32_t 0 / 1. Configuration is a
 *     JSON object in a string, so a new option needs no ABI change.
 */
#ifndef DOCKET_PLUGIN_H
#define DOCKET_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions --------------------------------------------------------------------------- */

/** The ABI this header describes. since 1.0 */
#define DOCKET_ABI_MAJOR 1
#define DOCKET_ABI_MINOR 1

/* ---- Status codes (docket_status) ---------------------------------------------------------
 * 0 is success. DOCKET_E_UNAVAILABLE alone means "retry may help"; every other code is
 * permanent for the same input. */
typedef int32_t docket_status;

#define DOCKET_OK                   0  /* success. since 1.0 */
#define DOCKET_E_INVALID_ARGUMENT   1  /* an argument or spec field is wrong; err names it. since 1.0 */
#define DOCKET_E_INVALID_CONFIG     2  /* the JSON configuration is wrong; err names the key. since 1.0 */
#define DOCKET_E_UNAVAILABLE        3  /* transient: a daemon or device is down; retry may help. since 1.0 */
#define DOCKET_E_NOT_FOUND          4  /* no such attempt, key or setting. since 1.0 */
#define DOCKET_E_UNSUPPORTED        5  /* the operation is not provided by this plugin or host. since 1.0 */
#define DOCKET_E_INTERNAL           6  /* a bug or an unexpected system error; err says which call. since 1.0 */
#define DOCKET_E_BUFFER_TOO_SMALL   7  /* a caller's buffer is too small; nothing was written. since 1.0 */

/* ---- Plugin kinds ------------------------------------------------------------------------ */
#define DOCKET_PLUGIN_KIND_EXECUTOR 1  /* decides how an attempt runs (executor.h). since 1.0 */
#define DOCKET_PLUGIN_KIND_POLICY   2  /* decides in what order runnable jobs go (policy.h). since 1.0 */

/* ---- Log levels (docket_host_api.log) ---------------------------------------------------- */
#define DOCKET_LOG_DEBUG   10
#define DOCKET_LOG_INFO    20
#define DOCKET_LOG_WARNING 30
#define DOCKET_LOG_ERROR   40

/* ---- Output streams (docket_host_api.append_attempt_log) --------------------------------- */
#define DOCKET_STREAM_STDOUT 1
#define DOCKET_STREAM_STDERR 2
#define DOCKET_STREAM_SYSTEM 3  /* a line from the executor itself (pull progress, warnings) */

/* ---- How an attempt ended (docket_attempt_exit.outcome) ---------------------------------- */
#define DOCKET_EXIT_CODE          1  /* the job's process exited; exit_code holds its code */
#define DOCKET_EXIT_SIGNAL        2  /* the job's process was killed by `signal`; exit_code = 128 + signal */
#define DOCKET_EXIT_LAUNCH_FAILED 3  /* it never ran: bad command, missing image, refused spec */
#define DOCKET_EXIT_LOST          4  /* the executor lost track of it; nothing is known of its end */

/**
 * How an attempt ended, as the executor reports it through host->attempt_exited.
 * Owned by the executor; borrowed by the host for the call. since 1.0
 */
typedef struct docket_attempt_exit {
    uint32_t struct_size;   /* sizeof(docket_attempt_exit) as the executor knew it */
    int32_t outcome;        /* DOCKET_EXIT_* */
    int32_t exit_code;      /* the exit code (DOCKET_EXIT_CODE) or 128 + signal (DOCKET_EXIT_SIGNAL); else 0 */
    int32_t signal;         /* the killing signal for DOCKET_EXIT_SIGNAL; else 0 */
    int32_t oom_killed;     /* 1 when the kernel or engine killed it for exceeding its memory limit */
    int32_t reserved0;      /* zero */
    /* The container-level reason AWS Batch shows in attempts[].container.reason, e.g.
     * "OutOfMemoryError: Container killed due to memory usage" or
     * "CannotPullContainerError: ...". NULL or "" when there is none. */
    const char *reason;
    int64_t started_at_ms;  /* when the job's process started running; 0 = unknown */
    int64_t stopped_at_ms;  /* when it ended; 0 = unknown (the host uses the report time) */
} docket_attempt_exit;

/**
 * The host's services, handed to every instance at create and valid until its destroy returns.
 * The table and `ctx` are owned by the host. Call every function with `ctx` as the first
 * argument. Every callback is [any-thread] and [must-not-block] (it queues work and returns),
 * and none re-enters the plugin. Check `struct_size` before using a field added after 1.0.
 * since 1.0
 */
typedef struct docket_host_api {
    uint32_t struct_size;   /* sizeof(docket_host_api) as the host knew it */
    uint32_t abi_major;     /* the host's ABI version */
    uint32_t abi_minor;
    uint32_t reserved0;
    void *ctx;              /* opaque, host-owned; identifies the instance to the host */

    /** Writes one line to the server's log, tagged with the plugin and instance.
     *  `message` is borrowed. [any-thread] since 1.0 */
    void (*log)(void *ctx, int32_t level, const char *message);

    /** The host's clock in epoch milliseconds. Policies must use this, never the system
     *  clock: the simulator runs them on a virtual clock. [any-thread] since 1.0 */
    int64_t (*now_ms)(void *ctx);

    /** Reads a server setting by key into `buf` (NUL-terminated). Keys in 1.0:
     *  "server.data_dir", "server.region", "server.account_id", "server.run_as_user",
     *  "instance.name" (the compute environment or job queue the instance serves),
     *  "instance.state_dir" (a directory private to this instance that survives restarts).
     *  Returns DOCKET_OK, DOCKET_E_NOT_FOUND for an unknown key, or
     *  DOCKET_E_BUFFER_TOO_SMALL (nothing written). [any-thread] since 1.0 */
    docket_status (*setting)(void *ctx, const char *key, char *buf, size_t buf_size);

    /** Looks up an optional host service by string id with a revision ("docket.preempt/1").
     *  Returns a pointer to the service's table, owned by the host and valid until the
     *  instance's destroy, or NULL when this host does not offer it. 1.0 hosts offer none;
     *  docs/plugin-abi.md lists the ids planned. [any-thread] since 1.0 */
    const void *(*get_service)(void *ctx, const char *service_id);

    /* -- For executors. A policy instance receives these as NULL. The host accepts these
     *    reports from the moment it calls create (reports about re-adopted attempts may be
     *    sent from inside create or from the instance's threads at once) and queues them
     *    until it is ready. -------------------------------------------------------------- */

    /** The attempt's job process is running (STARTING -> RUNNING). `detail` names what runs
     *  it ("pid 4242", a container id), borrowed. Report it before attempt_exited; the host
     *  ignores a repeat (after a restart an executor need not remember whether it reported).
     *  An attempt that exits without this call and with DOCKET_EXIT_LAUNCH_FAILED or
     *  DOCKET_EXIT_LOST is taken to have never reached RUNNING.
     *  [any-thread] since 1.0 */
    void (*attempt_running)(void *ctx, const char *attempt_id, const char *detail);

    /** The attempt has ended. Report exactly once per attempt the instance started or
     *  listed in list_running. After this call the executor forgets the attempt.
     *  [any-thread] since 1.0 */
    void (*attempt_exited)(void *ctx, const char *attempt_id, const docket_attempt_exit *exit_info);

    /** Appends output to the attempt's log. For executors that cannot point the job's
     *  output at spec->log_path directly (a container engine streaming over HTTP). `data`
     *  is borrowed, need not be NUL-terminated, and may split lines. stream is
     *  DOCKET_STREAM_*. [any-thread] since 1.0 */
    void (*append_attempt_log)(void *ctx, const char *attempt_id, int32_t stream,
                               const char *data, size_t length);
} docket_host_api;

struct docket_executor_v1;  /* executor.h */
struct docket_policy_v1;    /* policy.h */

/**
 * What a plugin is, returned by docket_plugin_entry_v1. Static, owned by the plugin, valid
 * for the life of the process; the host never writes to it. since 1.0
 */
typedef struct docket_plugin_descriptor {
    uint32_t struct_size;   /* sizeof(docket_plugin_descriptor) as the plugin knew it */
    uint32_t abi_major;     /* DOCKET_ABI_MAJOR the plugin was built against */
    uint32_t abi_minor;     /* DOCKET_ABI_MINOR the plugin was built against */
    int32_t kind;           /* DOCKET_PLUGIN_KIND_* */
    /** Unique id: docket.<kind>.<name> for Docket's own, reverse-DNS for others
     *  ("org.example.executor.slurm"). */
    const char *id;
    /** Short name that configuration and the docket:executor tag use ("process", "fifo"). */
    const char *name;
    const char *version;      /* the plugin's own version, e.g. "1.2.0" */
    const char *description;  /* one line for `docket plugins list` */

    /** Optional (NULL = nothing to do). Called once, after the version checks and before
     *  any instance is created. `host` is valid only during the call (its ctx is not an
     *  instance's). A failure refuses the plugin: the host logs the file, the status and
     *  err, and keeps running without it. [serialized] [may-block] since 1.0 */
    docket_status (*on_load)(const docket_host_api *host, char *err, size_t err_size);

    /** The table for DOCKET_PLUGIN_KIND_EXECUTOR, else NULL. Static, plugin-owned. */
    const struct docket_executor_v1 *executor;
    /** The table for DOCKET_PLUGIN_KIND_POLICY, else NULL. Static, plugin-owned. */
    const struct docket_policy_v1 *policy;
} docket_plugin_descriptor;

/**
 * The one symbol a plugin exports. Returns the plugin's static descriptor, or NULL if the
 * plugin cannot serve this process at all. No side effects: it may be called many times,
 * from any thread, before or without on_load. since 1.0
 */
const docket_plugin_descriptor *docket_plugin_entry_v1(void);

/** The symbol name the host looks up, for dlsym. */
#define DOCKET_PLUGIN_ENTRY_V1_SYMBOL "docket_plugin_entry_v1"

#ifdef __cplusplus
}
#endif

#endif /* DOCKET_PLUGIN_H */
