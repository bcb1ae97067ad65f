/*
 * docket/policy.h — the scheduling-policy interface, ABI 1.1: in what order runnable jobs go.
 *
 * One instance serves one job queue. The interface is incremental: the host tells the
 * instance when a job becomes runnable, leaves the runnable set, starts and finishes, and
 * asks it for the next jobs to try given the capacity that is free. The instance keeps its
 * own ordered state; the host keeps capacity, fitting and everything durable. Every call is
 * on the scheduler's hot path: plain C structs, no JSON and no allocation per decision, no
 * I/O, no blocking. Read plugin.h first.
 *
 * ORDER OF CALLS for one job: job_runnable, then exactly one of job_removed (it left without
 * starting: cancelled, terminated, queue deleted) or job_started; after job_started, exactly
 * one job_finished. A retried job comes back through job_runnable with
 * DOCKET_POLICY_JOB_RETRY set. After a server restart, and when a live queue gets a new
 * instance (its scheduling policy changed), the host replays job_runnable for every runnable
 * job in submission order, and job_runnable then job_started for every running one (since
 * 1.1; a 1.0 host sent job_started alone), so the instance learns each running job's share.
 */
#ifndef DOCKET_POLICY_H
#define DOCKET_POLICY_H

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of docket_policy_job.flags. */
#define DOCKET_POLICY_JOB_RETRY 0x1  /* a failed attempt being retried: AWS puts it at the front */

/**
 * A runnable job as the policy sees it. Borrowed for the call: copy what you keep (the
 * share_identifier string in particular). since 1.0
 */
typedef struct docket_policy_job {
    uint32_t struct_size;
    int32_t flags;                /* DOCKET_POLICY_JOB_* */
    uint64_t job_key;             /* the host's handle for the job; unique among live jobs */
    uint64_t sequence;            /* submission order: strictly increasing per server */
    int64_t submitted_at_ms;      /* createdAt */
    int64_t runnable_at_ms;       /* when it (re-)entered RUNNABLE */
    int32_t queue_priority;       /* the job queue's priority (higher first) */
    int32_t scheduling_priority;  /* schedulingPriority (override at submit, else the definition's); higher first */
    int64_t vcpu_millis;          /* resources asked, as in docket_attempt_spec */
    int64_t memory_mib;
    int64_t gpu_count;
    /** Interned share identifier: equal strings get equal keys for the life of the server;
     *  0 when the job has none. */
    uint64_t share_key;
    const char *share_identifier; /* the share identifier, or NULL */
} docket_policy_job;

/** What a started or finished job used. Borrowed for the call. since 1.0 */
typedef struct docket_policy_usage {
    uint32_t struct_size;
    uint32_t reserved0;       /* zero */
    int64_t vcpu_millis;      /* reserved while it ran */
    int64_t memory_mib;
    int64_t gpu_count;
    int64_t started_at_ms;    /* when the attempt started; 0 in job_started if unknown */
    int64_t stopped_at_ms;    /* when it stopped; 0 in job_started */
} docket_policy_usage;

/**
 * The capacity free for this queue right now: for each resource, the most any one of the
 * queue's compute environments has free. A job asking more than this cannot start this
 * cycle; a policy that wants to backfill skips it, one that wants strict order stops at it.
 * Borrowed for the call. since 1.0
 */
typedef struct docket_policy_free {
    uint32_t struct_size;
    uint32_t reserved0;       /* zero */
    int64_t vcpu_millis;
    int64_t memory_mib;
    int64_t gpu_count;
} docket_policy_free;

/**
 * The policy function table, pointed to by docket_plugin_descriptor.policy. Static,
 * plugin-owned. Every function is required unless marked optional. All calls for one
 * instance are [serialized]. since 1.0
 */
typedef struct docket_policy_v1 {
    uint32_t struct_size;   /* sizeof(docket_policy_v1) as the plugin knew it */
    uint32_t reserved0;     /* zero */

    /** Creates an instance for one job queue from its JSON settings (the scheduling
     *  policy's parameters, e.g. a fair-share policy's shares and decay). `host` stays
     *  valid until destroy returns; only log, now_ms, setting and get_service are set.
     *  Returns DOCKET_OK, DOCKET_E_INVALID_CONFIG (err names the key and the fix) or
     *  DOCKET_E_INTERNAL. [serialized] [may-block] since 1.0 */
    docket_status (*create)(const docket_host_api *host, const char *config_json,
                            void **out_instance, char *err, size_t err_size);

    /** Destroys the instance and everything it holds. [serialized] since 1.0 */
    void (*destroy)(void *instance);

    /** A job entered the runnable set (new, retried, or replayed after a restart).
     *  [serialized] [must-not-block] since 1.0 */
    void (*job_runnable)(void *instance, const docket_policy_job *job);

    /** A runnable job left without starting. Unknown keys are ignored.
     *  [serialized] [must-not-block] since 1.0 */
    void (*job_removed)(void *instance, uint64_t job_key);

    /** A job the host picked has started (it leaves the runnable set); `usage` holds what
     *  it reserved. [serialized] [must-not-block] since 1.0 */
    void (*job_started)(void *instance, uint64_t job_key, const docket_policy_usage *usage);

    /** A started job's attempt ended (it may come back through job_runnable as a retry);
     *  `usage` holds what it reserved and for how long, for usage-based policies.
     *  [serialized] [must-not-block] since 1.0 */
    void (*job_finished)(void *instance, uint64_t job_key, const docket_policy_usage *usage);

    /** The hot path. Writes up to max_keys job keys into out_keys, in the order the host
     *  should try them, and returns how many it wrote. The host tries each in order, fits it
     *  to a compute environment, and calls job_started for those that start; jobs that do
     *  not start stay runnable and may be returned again next cycle. Must not return a key
     *  twice in one call, nor a key that is not runnable. `free` may be used to skip jobs
     *  that cannot start now. No allocation, no I/O.
     *  [serialized] [must-not-block] since 1.0 */
    uint32_t (*pick)(void *instance, const docket_policy_free *free,
                     uint64_t *out_keys, uint32_t max_keys);

    /** Optional (NULL = none). As docket_executor_v1.get_capability, e.g.
     *  "docket.explain/1" for policies that can say why a job waits.
     *  [serialized] [must-not-block] since 1.0 */
    const void *(*get_capability)(void *instance, const char *capability_id);
} docket_policy_v1;

/* ---- Optional host services (host->get_service) ------------------------------------------ */

/** The id of docket_preempt_service_v1. since 1.1 */
#define DOCKET_SERVICE_PREEMPT_V1 "docket.preempt/1"

/**
 * Offered to policies by hosts of ABI 1.1 and later (a 1.0 host's get_service answers NULL):
 * how a quota policy takes back capacity it lent. Static, host-owned, valid until the
 * instance's destroy. since 1.1
 */
typedef struct docket_preempt_service_v1 {
    uint32_t struct_size;   /* sizeof(docket_preempt_service_v1) as the host knew it */
    uint32_t reserved0;     /* zero */
    /** Asks the host to preempt a running job of this queue (one the policy was told started
     *  and has not been told finished). The host stops its attempt through its executor
     *  (SIGTERM, SIGKILL after the server's grace) and puts the job back to RUNNABLE without
     *  spending a retry attempt; the attempt's statusReason and the job's statusReason are
     *  "Preempted: " + `reason` (borrowed; e.g. "quota share teamA reclaims 8 vCPUs it lent").
     *  The policy later gets job_finished, then job_runnable, never from inside this call.
     *  `ctx` is host->ctx. Call it from the instance's own calls (pick, job_finished). Returns
     *  DOCKET_OK (queued: a key that is not running when the host acts is left alone; asking
     *  twice for one job preempts it once) or DOCKET_E_INVALID_ARGUMENT.
     *  [serialized] [must-not-block] since 1.1 */
    docket_status (*request_preemption)(void *ctx, uint64_t job_key, const char *reason);
} docket_preempt_service_v1;

/* ---- Optional capabilities (get_capability) --------------------------------------------- */

/** The id of docket_policy_explain_v1. since 1.1 */
#define DOCKET_CAPABILITY_EXPLAIN_V1 "docket.explain/1"

/**
 * Offered by a policy that can say why a runnable job waits where it does ("why is my job
 * waiting": `docket why`, the statusReason of RUNNABLE jobs, GetJobQueueSnapshot). Both
 * functions write one NUL-terminated JSON object into buf and store the length it needs, NUL
 * included, in *out_needed; they return DOCKET_OK, or DOCKET_E_BUFFER_TOO_SMALL (call again
 * with *out_needed bytes). Static, plugin-owned. since 1.1
 */
typedef struct docket_policy_explain_v1 {
    uint32_t struct_size;   /* sizeof(docket_policy_explain_v1) as the plugin knew it */
    uint32_t reserved0;     /* zero */
    /** Where a runnable job stands: {"position": 0-based place in this policy's order among
     *  the queue's runnable jobs, "share": "teamA" (the share or quota share it counts
     *  against), "shareUsage": the share's usage as the policy measures it (fair-share: decayed
     *  vCPU-seconds times its weightFactor), "shareTargetPercent": the share of the queue's
     *  vCPUs its weight or limit entitles it to, "shareHeldPercent": the share it holds now,
     *  "reason": one sentence with the numbers, e.g. "share teamA holds 62% of the queue's
     *  vCPUs, above its target of 25%; 3 shares with less usage go first"}. Keys without a
     *  value are left out. Returns DOCKET_E_NOT_FOUND for a key that is not runnable here.
     *  [serialized] [must-not-block] since 1.1 */
    docket_status (*explain_job)(void *instance, uint64_t job_key, char *buf, size_t buf_size, size_t *out_needed);
    /** Every share's standing, for GetJobQueueSnapshot's queueUtilization: {"activeShareCount": 3,
     *  "shares": [{"shareIdentifier": "teamA", "vcpuMillisInUse": 4000, "usage": 1234.5,
     *  "targetPercent": 25.0}], sorted by vCPUs in use, most first}.
     *  [serialized] [must-not-block] since 1.1 */
    docket_status (*describe_shares)(void *instance, char *buf, size_t buf_size, size_t *out_needed);
} docket_policy_explain_v1;

#ifdef __cplusplus
}
#endif

#endif /* DOCKET_POLICY_H */
