/*
 * docket/executor.h — the executor interface, ABI 1.1: how an attempt runs.
 *
 * One instance serves one compute environment. The host asks it for its capacity, starts
 * attempts on it (asynchronously: start returns once the attempt is launched or accepted,
 * and the instance reports RUNNING and the exit through the host table), signals and
 * terminates them, and after a restart asks which attempts the instance still has so it can
 * re-adopt them. Read plugin.h first: lifecycle, versioning, ownership and thread tags.
 */
#ifndef DOCKET_EXECUTOR_H
#define DOCKET_EXECUTOR_H

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * What an instance can run at once. The host zero-fills it and sets struct_size to its own
 * size; the plugin writes only the fields that fit in out->struct_size. Strings and arrays
 * the plugin points to stay valid until its next capacity call or destroy. since 1.0
 */
typedef struct docket_executor_capacity {
    uint32_t struct_size;
    int32_t healthy;            /* 1: new attempts may start; 0: they wait with health_reason */
    int64_t vcpu_millis;        /* total vCPUs, in thousandths (4 vCPUs = 4000) */
    int64_t memory_mib;         /* total memory in MiB */
    int64_t gpu_count;          /* total GPUs (or allocatable GPU units, such as MIG instances) */
    const char *health_reason;  /* why healthy is 0, e.g. "Docker engine at /var/run/docker.sock is unreachable"; else NULL */
    const char *const *devices; /* named devices the instance can assign (GPU UUIDs, "/dev/fuse"); may be NULL */
    uint32_t device_count;
    uint32_t reserved0;         /* zero */
    /** A remark on a healthy instance that users should see, e.g. "GPU 3 (GPU-5c1d…) drained:
     *  it disappeared from nvidia-smi"; the host shows it as the compute environment's
     *  statusReason. NULL if none. Ignored while healthy is 0 (health_reason is shown then).
     *  Check out->struct_size before writing it: a 1.0 host's struct ends before it. since 1.1 */
    const char *notice;
} docket_executor_capacity;

/**
 * One attempt to run, as the host hands it to start. Every pointer is borrowed for the call:
 * copy what you keep. since 1.0
 */
typedef struct docket_attempt_spec {
    uint32_t struct_size;
    int32_t attempt_number;       /* 1 for the first attempt (AWS_BATCH_JOB_ATTEMPT) */
    /** Unique and stable across server restarts: "<jobId>-<attemptNumber>". Use it to name
     *  what you create (cgroups, containers, state files) and in every report. */
    const char *attempt_id;
    const char *job_id;
    const char *job_name;
    const char *job_queue;            /* AWS_BATCH_JQ_NAME */
    const char *compute_environment;  /* AWS_BATCH_CE_NAME */

    /** The command, already substituted (Ref::) and overridden. argv[0] is the program,
     *  looked up in PATH when it has no '/'. No shell is involved unless argv asks for one. */
    const char *const *argv;
    uint32_t argc;
    uint32_t env_count;
    /** "NAME=value" strings: the job definition's environment with the submit call's
     *  overrides applied, every AWS_BATCH_* variable, and PATH when the job sets none.
     *  Each name appears once. */
    const char *const *env;

    /** A fresh, empty directory created by the host for this attempt; the job's working
     *  directory for process executors, free for the executor's own files otherwise. The host
     *  removes it, with everything in it, once the attempt's exit has been reported. */
    const char *work_dir;
    /** The attempt's log file. An executor that can point the job's stdout and stderr at
     *  it directly should (it survives a server crash); one that streams output calls
     *  host->append_attempt_log instead. Never both. */
    const char *log_path;

    int64_t vcpu_millis;          /* vCPUs reserved, in thousandths; a limit to enforce where possible */
    int64_t memory_mib;           /* hard memory limit in MiB */
    int64_t gpu_count;            /* GPUs reserved */
    const char *const *devices;   /* devices the host assigned (GPU UUIDs, ...); device_count entries */
    uint32_t device_count;
    int32_t run_as_root_allowed;  /* 1 if the compute environment allows jobs to run as root */

    /** Unix user to run as: the job definition's `user`, else the server's run_as_user,
     *  else NULL (the executor's default). */
    const char *user;
    /** The container image (AWS requires one on every container job definition). An
     *  executor that does not run containers ignores it and says so in the log. */
    const char *image;
    /** The job's whole containerProperties as a JSON object (ulimits, linuxParameters,
     *  volumes, mountPoints, privileged, readonlyRootFilesystem, ...), overrides applied.
     *  Container executors read what they support; others may ignore it. Never NULL. */
    const char *container_properties_json;
} docket_attempt_spec;

/** Visits one attempt id during list_running. `attempt_id` is borrowed for the call. */
typedef void (*docket_attempt_visitor)(void *visit_ctx, const char *attempt_id);

/**
 * The executor function table, pointed to by docket_plugin_descriptor.executor. Static,
 * plugin-owned. Every function is required unless marked optional. since 1.0
 */
typedef struct docket_executor_v1 {
    uint32_t struct_size;   /* sizeof(docket_executor_v1) as the plugin knew it */
    uint32_t reserved0;     /* zero */

    /** Creates an instance for one compute environment from its JSON settings (the
     *  configuration file's `settings` table, or the docket:* tags of the compute
     *  environment with the prefix removed). `host` stays valid until destroy returns.
     *  On success stores the instance in *out_instance. After a server restart, the new
     *  instance must find the attempts its predecessor left running (host->setting
     *  "instance.state_dir" persists) and keep following them: it reports their exits
     *  like those of attempts it started.
     *  Returns DOCKET_OK, DOCKET_E_INVALID_CONFIG (err names the key and the fix),
     *  DOCKET_E_UNAVAILABLE or DOCKET_E_INTERNAL. [serialized] [may-block] since 1.0 */
    docket_status (*create)(const docket_host_api *host, const char *config_json,
                            void **out_instance, char *err, size_t err_size);

    /** Destroys the instance. Attempts still running keep running (a server stop is not a
     *  job stop); they are re-adopted by the next instance. No host callback may be made
     *  after destroy returns. [serialized] [may-block] since 1.0 */
    void (*destroy)(void *instance);

    /** Reports the instance's capacity and health into *out (see docket_executor_capacity).
     *  Called at start and periodically. Returns DOCKET_OK or DOCKET_E_INTERNAL.
     *  [serialized] [may-block] since 1.0 */
    docket_status (*capacity)(void *instance, docket_executor_capacity *out,
                              char *err, size_t err_size);

    /** Starts an attempt. Returns once it is launched or accepted; the instance then calls
     *  host->attempt_running when the job's process runs and host->attempt_exited exactly
     *  once when it ends (also when the launch fails later, with DOCKET_EXIT_LAUNCH_FAILED).
     *  Returns DOCKET_OK; DOCKET_E_INVALID_ARGUMENT when the spec can never run here (err
     *  names the field; the host fails the attempt); DOCKET_E_UNAVAILABLE when it cannot
     *  start now (the host puts the job back to RUNNABLE); DOCKET_E_INTERNAL. On any error
     *  no callback follows for this attempt. [any-thread] [may-block] since 1.0 */
    docket_status (*start)(void *instance, const docket_attempt_spec *spec,
                           char *err, size_t err_size);

    /** Sends `signal_number` (a POSIX signal number) to the attempt's whole job (its process
     *  group, or the container). Returns DOCKET_OK, DOCKET_E_NOT_FOUND (no such running
     *  attempt) or DOCKET_E_INTERNAL. [any-thread] [may-block] since 1.0 */
    docket_status (*signal)(void *instance, const char *attempt_id, int32_t signal_number,
                            char *err, size_t err_size);

    /** Stops the attempt: SIGTERM (or the engine's stop) to the whole job, then SIGKILL if it
     *  is still running after grace_ms. Returns at once; the exit is reported as usual.
     *  Returns DOCKET_OK, DOCKET_E_NOT_FOUND or DOCKET_E_INTERNAL.
     *  [any-thread] [may-block] since 1.0 */
    docket_status (*terminate)(void *instance, const char *attempt_id, int64_t grace_ms,
                               char *err, size_t err_size);

    /** Calls visit once for each attempt the instance still holds: running, or ended with an
     *  exit not yet reported. The host uses it after a restart: attempts it believes are
     *  running but are not listed are failed as lost; listed attempts it does not know are
     *  terminated. Returns DOCKET_OK or DOCKET_E_INTERNAL. [serialized] [may-block] since 1.0 */
    docket_status (*list_running)(void *instance, docket_attempt_visitor visit, void *visit_ctx,
                                  char *err, size_t err_size);

    /** Optional (NULL = none). Looks up an optional capability by string id with a revision,
     *  e.g. "docket.gpu/1". Returns the capability's table, owned by the plugin and valid
     *  until destroy, or NULL for an id the instance does not offer.
     *  [any-thread] [must-not-block] since 1.0 */
    const void *(*get_capability)(void *instance, const char *capability_id);
} docket_executor_v1;

/* ---- Optional capabilities (get_capability) --------------------------------------------- */

/** The id of docket_gpu_capability_v1. since 1.1 */
#define DOCKET_CAPABILITY_GPU_V1 "docket.gpu/1"

/**
 * Offered by an executor that owns GPUs (Docket's `gpu` executor), so the host can list them
 * (`docket gpus`, GET /docket/v1/gpus). Static, plugin-owned. since 1.1
 */
typedef struct docket_gpu_capability_v1 {
    uint32_t struct_size;   /* sizeof(docket_gpu_capability_v1) as the plugin knew it */
    uint32_t reserved0;     /* zero */
    /** Writes the instance's allocatable GPU units as one NUL-terminated JSON object into buf:
     *  {"gpus": [{"index": 0, "uuid": "GPU-…" or "MIG-…", "model": "NVIDIA A100-SXM4-80GB",
     *  "pciBusId": "00000000:07:00.0", "memoryMiB": 81920, "numaNode": 0, "cpus": "0-23",
     *  "parentUuid": "GPU-…" (MIG only), "migProfile": "1g.10gb" (MIG only),
     *  "health": "HEALTHY" or "DRAINED", "healthReason": "…" (DRAINED only),
     *  "jobId": "…", "attemptId": "…" (while an attempt holds it)}]}. Keys whose value is
     *  unknown are left out. Stores the length the document needs, NUL included, in
     *  *out_needed. Returns DOCKET_OK, or DOCKET_E_BUFFER_TOO_SMALL (call again with a buffer of
     *  *out_needed bytes). [any-thread] [must-not-block] since 1.1 */
    docket_status (*describe_gpus)(void *instance, char *buf, size_t buf_size, size_t *out_needed);
} docket_gpu_capability_v1;

#ifdef __cplusplus
}
#endif

#endif /* DOCKET_EXECUTOR_H */
