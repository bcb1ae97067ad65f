/*
 * executor_process.c — the "process" executor (docket.executor.process): runs each attempt as
 * a bare process on this host, as a child of the instance's long-lived supervisor,
 * docket-supervisor (supervisor/main.c).
 *
 * Why a supervisor: the job must survive a crash or SIGKILL of the server, and the next server
 * instance must learn how it ended; only a process's parent can collect its exit status. The
 * supervisor runs in its own session, one per compute environment (per state directory), for
 * as long as it has work. The plugin talks to it over a unix socket (supervisor/protocol.h):
 * start, signal and acknowledge go one way; running and exited reports come back, and every
 * connection opens with a replay of what the supervisor holds, which is how a new server
 * instance re-adopts its predecessor's attempts.
 *
 * One watcher thread per instance reads the reports, reconnects (starting a new supervisor)
 * if the connection breaks, and sends the SIGKILL that follows terminate's grace period.
 *
 * README.md documents the configuration, the protocol and the failure modes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, pipe2, O_PATH */
#endif

#include <docket/executor.h>
#include <docket/plugin.h>

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "supervisor/protocol.h"

extern char **environ;

#define PLUGIN_VERSION "1.0.0"
#define CGROUP_ROOT "/sys/fs/cgroup"
#define OOM_REASON "OutOfMemoryError: Container killed due to memory usage"
/* How long a reported exit stays listed (list_running) and unacknowledged before the
 * supervisor may forget it. A server that restarts reads list_running right after create,
 * while the exits replayed during create are still on their way to its scheduler; and a
 * server killed just after a report replays it from the supervisor rather than losing it. */
#define ACK_DELAY_MS 3000
#define LOST_REASON "the attempt's supervisor died without recording an exit"

/* ---- Small helpers ----------------------------------------------------------------------- */

static void set_err(char *err, size_t err_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t err_size, const char *format, ...) {
    if (err == NULL || err_size == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(err, err_size, format, args);
    va_end(args);
}

static char *format_string(const char *format, ...) __attribute__((format(printf, 1, 2)));
static char *format_string(const char *format, ...) {
    va_list args;
    va_start(args, format);
    char *out = NULL;
    if (vasprintf(&out, format, args) < 0) out = NULL;
    va_end(args);
    return out;
}

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Reads a small file whole into buf (NUL-terminated). Returns the length, or -1. */
static ssize_t read_small_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t got = 0;
    while (got < size - 1) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

static int write_small_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t length = strlen(text), done = 0;
    while (done < length) {
        ssize_t n = write(fd, text + done, length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { close(fd); return -1; }
        done += (size_t)n;
    }
    return close(fd);
}

/* Reads "<key> <number>" from a line of a small text file (memory.events, oom_control, exit). */
static long long read_keyed_number(const char *text, const char *key) {
    size_t key_length = strlen(key);
    const char *line = text;
    while (line != NULL && *line != '\0') {
        if (strncmp(line, key, key_length) == 0 && line[key_length] == ' ')
            return strtoll(line + key_length + 1, NULL, 10);
        line = strchr(line, '\n');
        if (line != NULL) line++;
    }
    return -1;
}

/* ---- Configuration ----------------------------------------------------------------------- */

typedef struct config {
    char *supervisor_path;
    double vcpus;          /* 0: online CPUs */
    long long memory_mib;  /* 0: MemTotal */
    int cgroups_off;
    char *run_as_user;     /* NULL: server.run_as_user, else "nobody" */
} config;

typedef struct json_value {
    int type; /* 's' string, 'n' number, 'b' boolean, 'z' null */
    char *string;
    double number;
} json_value;

typedef struct json_parser {
    const char *p;
    char *err;
    size_t err_size;
} json_parser;

static void skip_space(json_parser *jp) {
    while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r') jp->p++;
}

static void put_utf8(char **out, unsigned code) {
    char *o = *out;
    if (code < 0x80) *o++ = (char)code;
    else if (code < 0x800) { *o++ = (char)(0xC0 | (code >> 6)); *o++ = (char)(0x80 | (code & 0x3F)); }
    else { *o++ = (char)(0xE0 | (code >> 12)); *o++ = (char)(0x80 | ((code >> 6) & 0x3F)); *o++ = (char)(0x80 | (code & 0x3F)); }
    *out = o;
}

/* Parses a JSON string at jp->p (which points at the opening quote) into a new heap string. */
static char *parse_json_string(json_parser *jp) {
    const char *start = ++jp->p;
    size_t max = 0;
    while (start[max] && start[max] != '"') max += (start[max] == '\\' && start[max + 1]) ? 2 : 1;
    char *out = malloc(max * 2 + 1), *o = out;
    if (out == NULL) return NULL;
    while (*jp->p && *jp->p != '"') {
        char c = *jp->p++;
        if ((unsigned char)c < 0x20) break;
        if (c != '\\') { *o++ = c; continue; }
        c = *jp->p++;
        switch (c) {
        case '"': case '\\': case '/': *o++ = c; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned code = 0;
            for (int i = 0; i < 4; i++) {
                char h = *jp->p;
                if (!isxdigit((unsigned char)h)) { free(out); return NULL; }
                code = code * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower((unsigned char)h) - 'a' + 10));
                jp->p++;
            }
            if (code == 0) { free(out); return NULL; }
            put_utf8(&o, code);
            break;
        }
        default: free(out); return NULL;
        }
    }
    if (*jp->p != '"') { free(out); return NULL; }
    jp->p++;
    *o = '\0';
    return out;
}

static int parse_json_value(json_parser *jp, json_value *v) {
    memset(v, 0, sizeof *v);
    const char *p = jp->p;
    if (*p == '"') {
        v->type = 's';
        v->string = parse_json_string(jp);
        return v->string != NULL;
    }
    if (strncmp(p, "true", 4) == 0) { v->type = 'b'; v->number = 1; jp->p += 4; return 1; }
    if (strncmp(p, "false", 5) == 0) { v->type = 'b'; v->number = 0; jp->p += 5; return 1; }
    if (strncmp(p, "null", 4) == 0) { v->type = 'z'; jp->p += 4; return 1; }
    if (*p == '-' || isdigit((unsigned char)*p)) {
        char *end = NULL;
        v->type = 'n';
        v->number = strtod(p, &end);
        if (end == p) return 0;
        jp->p = end;
        return 1;
    }
    return 0;
}

static docket_status apply_config_key(config *cfg, const char *key, json_value *v,
                                      char *err, size_t err_size) {
    if (strcmp(key, "supervisor_path") == 0) {
        if (v->type == 'z') return DOCKET_OK;
        if (v->type != 's' || v->string[0] != '/') {
            set_err(err, err_size, "config key 'supervisor_path' must be an absolute path string; set it to the docket-supervisor executable, e.g. \"/usr/local/libexec/docket/docket-supervisor\", or remove it to use the one next to the plugin.");
            return DOCKET_E_INVALID_CONFIG;
        }
        free(cfg->supervisor_path);
        cfg->supervisor_path = v->string;
        v->string = NULL;
    } else if (strcmp(key, "vcpus") == 0) {
        if (v->type == 'z') return DOCKET_OK;
        if (v->type != 'n' || !(v->number > 0) || v->number > 1e6) {
            set_err(err, err_size, "config key 'vcpus' must be a number greater than 0; set it to the vCPUs this host offers, e.g. 4, or remove it to use the online CPU count.");
            return DOCKET_E_INVALID_CONFIG;
        }
        cfg->vcpus = v->number;
    } else if (strcmp(key, "memory_mib") == 0) {
        if (v->type == 'z') return DOCKET_OK;
        if (v->type != 'n' || !(v->number >= 1) || v->number > 1e12) {
            set_err(err, err_size, "config key 'memory_mib' must be a number of MiB, 1 or more; set it to the memory this host offers, e.g. 16384, or remove it to use MemTotal.");
            return DOCKET_E_INVALID_CONFIG;
        }
        cfg->memory_mib = (long long)v->number;
    } else if (strcmp(key, "cgroups") == 0) {
        if (v->type == 'z') return DOCKET_OK;
        if (v->type != 's' || (strcmp(v->string, "auto") != 0 && strcmp(v->string, "off") != 0)) {
            set_err(err, err_size, "config key 'cgroups' must be \"auto\" or \"off\"; use \"auto\" to enforce memory and vCPU limits where cgroups allow it.");
            return DOCKET_E_INVALID_CONFIG;
        }
        cfg->cgroups_off = strcmp(v->string, "off") == 0;
    } else if (strcmp(key, "run_as_user") == 0) {
        if (v->type == 'z') return DOCKET_OK;
        if (v->type != 's' || v->string[0] == '\0') {
            set_err(err, err_size, "config key 'run_as_user' must be a non-empty user name or \"uid[:gid]\"; set it to the unprivileged account jobs run as, e.g. \"nobody\".");
            return DOCKET_E_INVALID_CONFIG;
        }
        free(cfg->run_as_user);
        cfg->run_as_user = v->string;
        v->string = NULL;
    } else {
        set_err(err, err_size, "config key '%s' is not known to the process executor; remove it (known keys: supervisor_path, vcpus, memory_mib, cgroups, run_as_user).", key);
        return DOCKET_E_INVALID_CONFIG;
    }
    return DOCKET_OK;
}

/* Parses a flat JSON object of strings, numbers, booleans and nulls into cfg. */
static docket_status parse_config(const char *json, config *cfg, char *err, size_t err_size) {
    json_parser jp = {json == NULL ? "" : json, err, err_size};
    skip_space(&jp);
    if (*jp.p == '\0') return DOCKET_OK;
    if (*jp.p != '{') goto malformed;
    jp.p++;
    skip_space(&jp);
    if (*jp.p == '}') { jp.p++; goto done; }
    for (;;) {
        skip_space(&jp);
        if (*jp.p != '"') goto malformed;
        char *key = parse_json_string(&jp);
        if (key == NULL) goto malformed;
        skip_space(&jp);
        if (*jp.p != ':') { free(key); goto malformed; }
        jp.p++;
        skip_space(&jp);
        json_value v;
        if (*jp.p == '{' || *jp.p == '[') {
            set_err(err, err_size, "config key '%s' holds an object or array, which the process executor does not take; use a string, number or boolean.", key);
            free(key);
            return DOCKET_E_INVALID_CONFIG;
        }
        if (!parse_json_value(&jp, &v)) { free(key); goto malformed; }
        docket_status st = apply_config_key(cfg, key, &v, err, err_size);
        free(key);
        free(v.string);
        if (st != DOCKET_OK) return st;
        skip_space(&jp);
        if (*jp.p == ',') { jp.p++; continue; }
        if (*jp.p == '}') { jp.p++; break; }
        goto malformed;
    }
done:
    skip_space(&jp);
    if (*jp.p == '\0') return DOCKET_OK;
malformed:
    set_err(err, err_size, "the process executor's configuration is not a flat JSON object (error near byte %ld); write it as {\"key\": value, ...} with string, number or boolean values.",
            (long)(jp.p - (json == NULL ? "" : json)));
    return DOCKET_E_INVALID_CONFIG;
}

/* ---- Users ------------------------------------------------------------------------------- */

/* Resolves a user name or "uid[:gid]". Returns 0 on success. */
static int resolve_user(const char *name, uid_t *uid, gid_t *gid) {
    char buf[16384];
    struct passwd pw, *found = NULL;
    if (isdigit((unsigned char)name[0])) {
        char *end = NULL;
        unsigned long u = strtoul(name, &end, 10);
        if (*end != '\0' && *end != ':') return -1;
        *uid = (uid_t)u;
        if (*end == ':') {
            char *gend = NULL;
            unsigned long g = strtoul(end + 1, &gend, 10);
            if (gend == end + 1 || *gend != '\0') return -1;
            *gid = (gid_t)g;
            return 0;
        }
        *gid = (getpwuid_r(*uid, &pw, buf, sizeof buf, &found) == 0 && found) ? found->pw_gid : (gid_t)u;
        return 0;
    }
    if (getpwnam_r(name, &pw, buf, sizeof buf, &found) != 0 || found == NULL) return -1;
    *uid = found->pw_uid;
    *gid = found->pw_gid;
    return 0;
}

/* ---- Cgroups ----------------------------------------------------------------------------- */

enum { CGROUPS_NONE, CGROUPS_V1, CGROUPS_V2 };

/* Decides once, at create, which cgroup hierarchy limits go into, or why none. */
static int detect_cgroups(int off, char *why, size_t why_size) {
    if (off) {
        snprintf(why, why_size, "the compute environment sets \"cgroups\": \"off\"");
        return CGROUPS_NONE;
    }
    if (path_exists(CGROUP_ROOT "/cgroup.controllers")) {
        if (access(CGROUP_ROOT, W_OK) != 0) {
            snprintf(why, why_size, "cgroup v2 at " CGROUP_ROOT " is not writable by this server (%s)", strerror(errno));
            return CGROUPS_NONE;
        }
        if (mkdir(CGROUP_ROOT "/docket", 0755) != 0 && errno != EEXIST) {
            snprintf(why, why_size, "cannot create " CGROUP_ROOT "/docket (%s)", strerror(errno));
            return CGROUPS_NONE;
        }
        /* Children of docket/ only get memory.max and cpu.max when both levels delegate them. */
        if (write_small_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory +cpu") != 0 ||
            write_small_file(CGROUP_ROOT "/docket/cgroup.subtree_control", "+memory +cpu") != 0) {
            snprintf(why, why_size, "cannot enable the memory and cpu controllers in " CGROUP_ROOT "/docket (%s)", strerror(errno));
            return CGROUPS_NONE;
        }
        return CGROUPS_V2;
    }
    if (path_exists(CGROUP_ROOT "/memory") && path_exists(CGROUP_ROOT "/cpu")) {
        if (access(CGROUP_ROOT "/memory", W_OK) != 0 || access(CGROUP_ROOT "/cpu", W_OK) != 0) {
            snprintf(why, why_size, "cgroup v1 at " CGROUP_ROOT "/memory and /cpu is not writable by this server (%s)", strerror(errno));
            return CGROUPS_NONE;
        }
        if ((mkdir(CGROUP_ROOT "/memory/docket", 0755) != 0 && errno != EEXIST) ||
            (mkdir(CGROUP_ROOT "/cpu/docket", 0755) != 0 && errno != EEXIST)) {
            snprintf(why, why_size, "cannot create a docket cgroup under " CGROUP_ROOT "/memory and /cpu (%s)", strerror(errno));
            return CGROUPS_NONE;
        }
        return CGROUPS_V1;
    }
    snprintf(why, why_size, "no writable cgroup v2 or v1 (memory and cpu) hierarchy is mounted at " CGROUP_ROOT);
    return CGROUPS_NONE;
}

/* Whether cgroup v1's cpuset and devices controllers can hold attempts (DOCKET_CPUSET_* and
 * DOCKET_DENY_DEVICES), decided once at create like the limits. A cpuset cgroup makes the
 * pinning binding (the job cannot widen it); without one the supervisor's child still sets
 * its affinity and memory policy. Without a devices cgroup nothing denies devices, and
 * `devices_why` says why in the jobs' logs. */
static void detect_pin_cgroups(int off, int *cpuset, int *devices, char *why, size_t why_size) {
    char text[4096];
    *cpuset = *devices = 0;
    if (off) {
        snprintf(why, why_size, "the compute environment sets \"cgroups\": \"off\"");
        return;
    }
    /* A child cpuset is empty until written, and v1 takes no task into an empty cpuset. */
    if (access(CGROUP_ROOT "/cpuset", W_OK) == 0 &&
        (mkdir(CGROUP_ROOT "/cpuset/docket", 0755) == 0 || errno == EEXIST) &&
        (read_small_file(CGROUP_ROOT "/cpuset/docket/cpuset.cpus", text, sizeof text) > 1 ||
         (read_small_file(CGROUP_ROOT "/cpuset/cpuset.cpus", text, sizeof text) > 1 &&
          write_small_file(CGROUP_ROOT "/cpuset/docket/cpuset.cpus", text) == 0)) &&
        (read_small_file(CGROUP_ROOT "/cpuset/docket/cpuset.mems", text, sizeof text) > 1 ||
         (read_small_file(CGROUP_ROOT "/cpuset/cpuset.mems", text, sizeof text) > 1 &&
          write_small_file(CGROUP_ROOT "/cpuset/docket/cpuset.mems", text) == 0)))
        *cpuset = 1;
    if (path_exists(CGROUP_ROOT "/cgroup.controllers")) {
        snprintf(why, why_size, "cgroup v2 denies devices only through a BPF program, which the process executor does not install");
    } else if (!path_exists(CGROUP_ROOT "/devices")) {
        snprintf(why, why_size, "no cgroup v1 devices controller is mounted at " CGROUP_ROOT "/devices");
    } else if (access(CGROUP_ROOT "/devices", W_OK) != 0) {
        snprintf(why, why_size, "cgroup v1 at " CGROUP_ROOT "/devices is not writable by this server (%s)", strerror(errno));
    } else if (mkdir(CGROUP_ROOT "/devices/docket", 0755) != 0 && errno != EEXIST) {
        snprintf(why, why_size, "cannot create " CGROUP_ROOT "/devices/docket (%s)", strerror(errno));
    } else {
        *devices = 1;
    }
}

/* The two directories an attempt's pinning may own (see cgroup_paths). */
static void pin_cgroup_paths(const char *attempt_id, char cpuset[PATH_MAX], char devices[PATH_MAX]) {
    snprintf(cpuset, PATH_MAX, CGROUP_ROOT "/cpuset/docket/%s", attempt_id);
    snprintf(devices, PATH_MAX, CGROUP_ROOT "/devices/docket/%s", attempt_id);
}

/* The three directories an attempt may own; derived from the id, so an adopted attempt
 * finds them without any record. */
static void cgroup_paths(const char *attempt_id, char v2[PATH_MAX], char mem[PATH_MAX], char cpu[PATH_MAX]) {
    snprintf(v2, PATH_MAX, CGROUP_ROOT "/docket/%s", attempt_id);
    snprintf(mem, PATH_MAX, CGROUP_ROOT "/memory/docket/%s", attempt_id);
    snprintf(cpu, PATH_MAX, CGROUP_ROOT "/cpu/docket/%s", attempt_id);
}

/* Kills what is left in a cgroup and removes it; rmdir fails while members are dying. */
static void remove_cgroup(const char *dir) {
    char path[PATH_MAX + 32], procs[4096];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    for (int tries = 0; tries < 100; tries++) {
        if (rmdir(dir) == 0 || errno == ENOENT) return;
        if (errno != EBUSY) return;
        if (read_small_file(path, procs, sizeof procs) > 0)
            for (char *p = procs; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
                long pid = strtol(p, NULL, 10);
                if (pid > 0) kill((pid_t)pid, SIGKILL);
            }
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* ---- Instance and attempts ---------------------------------------------------------------- */

typedef struct attempt {
    struct attempt *next;
    char *id;
    int running_reported; /* attempt_running was called (replays repeat `running`) */
    int ended;            /* its exit arrived: reported, or being reported */
    unsigned epoch;       /* the connection that last confirmed it (see reconcile) */
    int64_t kill_at_ms;   /* monotonic; 0 = no SIGKILL scheduled */
    int64_t ack_at_ms;    /* monotonic; when its reported exit is acknowledged; 0 = not yet */
} attempt;

typedef struct instance {
    const docket_host_api *host;
    config cfg;
    char *state_dir;
    int64_t vcpu_millis;
    int64_t memory_mib;
    int cgroup_mode;
    char cgroup_why[512];
    int cpuset_cgroups;        /* cgroup v1 cpuset/docket is usable */
    int devices_cgroups;       /* cgroup v1 devices/docket is usable */
    char devices_why[512];     /* why not */
    pthread_mutex_t lock;      /* attempts, connection, epoch, synced */
    pthread_cond_t changed;    /* synced became 1 */
    attempt *attempts;
    int connection;            /* the supervisor's socket; -1 while there is none */
    unsigned epoch;            /* counts connections */
    int synced;                /* the current connection's replay is complete */
    pthread_mutex_t send_lock; /* a frame is written whole */
    int stopping;
    int wake[2];
    pthread_t watcher;
    char *buffer;              /* what the watcher has read and not yet parsed */
    size_t buffered, buffer_capacity;
} instance;

static void host_log(instance *in, int32_t level, const char *format, ...) __attribute__((format(printf, 3, 4)));
static void host_log(instance *in, int32_t level, const char *format, ...) {
    if (in->host == NULL || in->host->log == NULL) return;
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    in->host->log(in->host->ctx, level, message);
}

static void wake_watcher(instance *in) {
    char byte = 1;
    ssize_t ignored = write(in->wake[1], &byte, 1); /* a full pipe already means "wake up" */
    (void)ignored;
}

static attempt *find_attempt(instance *in, const char *id) {
    for (attempt *a = in->attempts; a != NULL; a = a->next)
        if (strcmp(a->id, id) == 0) return a;
    return NULL;
}

/* Adds an attempt to the table (the lock held). Returns it, or NULL without memory. */
static attempt *add_attempt(instance *in, const char *id) {
    attempt *a = calloc(1, sizeof *a);
    if (a == NULL || (a->id = strdup(id)) == NULL) { free(a); return NULL; }
    a->epoch = in->epoch;
    a->next = in->attempts;
    in->attempts = a;
    return a;
}

static void remove_attempt(instance *in, attempt *gone) {
    for (attempt **link = &in->attempts; *link != NULL; link = &(*link)->next)
        if (*link == gone) { *link = gone->next; break; }
    free(gone->id);
    free(gone);
}

/* ---- The supervisor's connection ----------------------------------------------------------- */

/* Writes one frame to the supervisor. Returns 0, or -1 when there is no connection. */
static int send_frame(instance *in, supervisor_frame *f) {
    const char *bytes = frame_finish(f);
    int rc = -1;
    pthread_mutex_lock(&in->send_lock);
    pthread_mutex_lock(&in->lock);
    int fd = in->connection;
    pthread_mutex_unlock(&in->lock);
    if (fd >= 0 && bytes != NULL) {
        size_t done = 0;
        while (done < f->length) {
            ssize_t n = send(fd, bytes + done, f->length - done, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            done += (size_t)n;
        }
        rc = done == f->length ? 0 : -1;
    }
    pthread_mutex_unlock(&in->send_lock);
    frame_free(f);
    return rc;
}

/* Connects to the state directory's supervisor, starting one if none listens. The socket is
 * reached through /proc/self/fd, because a unix socket's path is limited to 108 bytes and a
 * state directory is not. Returns the connected socket, or -1 with `err` set. */
static int connect_supervisor(instance *in, char *err, size_t err_size) {
    int dir_fd = open(in->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        set_err(err, err_size, "the process executor cannot open its state directory '%s' (%s); check that the data directory is writable.", in->state_dir, strerror(errno));
        return -1;
    }
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    snprintf(address.sun_path, sizeof address.sun_path, "/proc/self/fd/%d/" SUPERVISOR_SOCKET, dir_fd);
    int64_t spawned_at = 0; /* 0: none spawned yet */
    int64_t deadline = monotonic_ms() + 5000;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof address) == 0) {
            close(dir_fd);
            return fd;
        }
        if (fd >= 0) close(fd);
        /* Spawned again after 500 ms without a listener: a supervisor going idle may still hold
         * the lock (so the new one stepped aside) after it has already closed its socket. */
        if (spawned_at == 0 || monotonic_ms() - spawned_at > 500) {
            /* The supervisor daemonizes: the process spawned here exits at once, and is reaped
             * here, while the supervisor itself is adopted by init. */
            char *argv[] = {"docket-supervisor", "--state", in->state_dir, NULL};
            char *envp[] = {NULL}; /* it runs as root: nothing of a job definition may reach it */
            posix_spawnattr_t attr;
            posix_spawn_file_actions_t actions;
            posix_spawnattr_init(&attr);
            posix_spawn_file_actions_init(&actions);
            sigset_t none, all;
            sigemptyset(&none);
            sigfillset(&all);
            posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
            posix_spawnattr_setsigmask(&attr, &none);
            posix_spawnattr_setsigdefault(&attr, &all);
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
            posix_spawn_file_actions_adddup2(&actions, 1, 2);
            pid_t pid = 0;
            int rc = posix_spawn(&pid, in->cfg.supervisor_path, &actions, &attr, argv, envp);
            posix_spawn_file_actions_destroy(&actions);
            posix_spawnattr_destroy(&attr);
            if (rc != 0) {
                close(dir_fd);
                set_err(err, err_size, "the process executor cannot start its supervisor '%s' (posix_spawn: %s); check config key 'supervisor_path'.", in->cfg.supervisor_path, strerror(rc));
                return -1;
            }
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {} /* ECHILD if the host ignores SIGCHLD */
            spawned_at = monotonic_ms();
        }
        if (monotonic_ms() > deadline) {
            close(dir_fd);
            set_err(err, err_size, "the process executor's supervisor '%s' did not open %s/" SUPERVISOR_SOCKET " within 5 s; run it by hand (docket-supervisor --state DIR) to see why.", in->cfg.supervisor_path, in->state_dir);
            return -1;
        }
        struct timespec pause = {0, 5 * 1000000};
        nanosleep(&pause, NULL);
    }
}

/* ---- Reports ------------------------------------------------------------------------------ */

/* Whether the kernel killed the attempt for memory: v2 memory.events, v1 oom_control, or
 * v1's failcnt with a SIGKILL on kernels without the oom_kill counter. */
static int was_oom_killed(const char *attempt_id, int signal_number) {
    char v2[PATH_MAX], mem[PATH_MAX], cpu[PATH_MAX], path[PATH_MAX + 32], text[2048];
    cgroup_paths(attempt_id, v2, mem, cpu);
    snprintf(path, sizeof path, "%s/memory.events", v2);
    if (read_small_file(path, text, sizeof text) > 0 && read_keyed_number(text, "oom_kill") > 0) return 1;
    snprintf(path, sizeof path, "%s/memory.oom_control", mem);
    if (read_small_file(path, text, sizeof text) <= 0) return 0;
    long long kills = read_keyed_number(text, "oom_kill");
    if (kills > 0) return 1;
    snprintf(path, sizeof path, "%s/memory.failcnt", mem);
    return kills < 0 && signal_number == SIGKILL && read_small_file(path, text, sizeof text) > 0 && strtoll(text, NULL, 10) > 0;
}

static void remove_attempt_cgroups(const char *attempt_id) {
    char v2[PATH_MAX], mem[PATH_MAX], cpu[PATH_MAX], cpuset[PATH_MAX], devices[PATH_MAX];
    cgroup_paths(attempt_id, v2, mem, cpu);
    pin_cgroup_paths(attempt_id, cpuset, devices);
    remove_cgroup(v2);
    remove_cgroup(mem);
    remove_cgroup(cpu);
    remove_cgroup(cpuset);
    remove_cgroup(devices);
}

/* Reports an exit and removes the attempt's cgroups. The acknowledgement that lets the
 * supervisor forget it follows ACK_DELAY_MS later (see the watcher): a crash in between repeats
 * a report rather than loses one. Called by the watcher without the lock. */
static void report_exit(instance *in, const char *attempt_id, docket_attempt_exit *ex) {
    if (ex->outcome == DOCKET_EXIT_CODE || ex->outcome == DOCKET_EXIT_SIGNAL) {
        if (was_oom_killed(attempt_id, ex->signal)) {
            ex->oom_killed = 1;
            ex->reason = OOM_REASON;
        }
    }
    in->host->attempt_exited(in->host->ctx, attempt_id, ex);
    remove_attempt_cgroups(attempt_id);
}

/* running ID PID STARTED_MS */
static void on_running(instance *in, char **fields, int count) {
    if (count < 4) return;
    long pid = strtol(fields[2], NULL, 10);
    pthread_mutex_lock(&in->lock);
    attempt *a = find_attempt(in, fields[1]);
    if (a == NULL) a = add_attempt(in, fields[1]); /* left by a previous instance: adopt it */
    int report = a != NULL && !a->running_reported && pid > 0;
    if (a != NULL) {
        a->epoch = in->epoch;
        if (report) a->running_reported = 1;
    }
    pthread_mutex_unlock(&in->lock);
    if (report) {
        char detail[32];
        snprintf(detail, sizeof detail, "pid %ld", pid);
        in->host->attempt_running(in->host->ctx, fields[1], detail);
    }
}

/* exited ID KIND VALUE STARTED_MS STOPPED_MS LAUNCH_ERROR */
static void on_exited(instance *in, char **fields, int count) {
    if (count < 7) return;
    pthread_mutex_lock(&in->lock);
    attempt *a = find_attempt(in, fields[1]);
    if (a == NULL) a = add_attempt(in, fields[1]);
    if (a == NULL || a->ended) { pthread_mutex_unlock(&in->lock); return; }
    a->ended = 1;
    pthread_mutex_unlock(&in->lock);

    char reason[1200];
    docket_attempt_exit ex;
    memset(&ex, 0, sizeof ex);
    ex.struct_size = sizeof ex;
    long long value = strtoll(fields[3], NULL, 10);
    ex.started_at_ms = strtoll(fields[4], NULL, 10);
    ex.stopped_at_ms = strtoll(fields[5], NULL, 10);
    if (strcmp(fields[2], "launch_failed") == 0) {
        snprintf(reason, sizeof reason, "CannotStartContainerError: %s", fields[6][0] ? fields[6] : "the supervisor could not start the command");
        ex.outcome = DOCKET_EXIT_LAUNCH_FAILED;
        ex.reason = reason;
    } else if (strcmp(fields[2], "signal") == 0) {
        ex.outcome = DOCKET_EXIT_SIGNAL;
        ex.signal = (int32_t)value;
        ex.exit_code = 128 + ex.signal;
    } else {
        ex.outcome = DOCKET_EXIT_CODE;
        ex.exit_code = (int32_t)value;
    }
    report_exit(in, fields[1], &ex);
    pthread_mutex_lock(&in->lock);
    a = find_attempt(in, fields[1]);
    if (a != NULL) a->ack_at_ms = monotonic_ms() + ACK_DELAY_MS;
    pthread_mutex_unlock(&in->lock);
}

/* After a (re)connection's replay: an attempt the supervisor did not mention is gone (its
 * supervisor died, and its jobs with it). Reported lost, one at a time, without the lock. */
static void reconcile(instance *in) {
    for (;;) {
        pthread_mutex_lock(&in->lock);
        attempt *lost = NULL;
        for (attempt *a = in->attempts; a != NULL && lost == NULL; a = a->next)
            if (!a->ended && a->epoch != in->epoch) lost = a;
        char *id = lost ? strdup(lost->id) : NULL;
        if (lost) { remove_attempt(in, lost); }
        pthread_mutex_unlock(&in->lock);
        if (lost == NULL) return;
        if (id == NULL) continue;
        host_log(in, DOCKET_LOG_WARNING, "attempt %s: its supervisor ended without recording an exit", id);
        docket_attempt_exit ex;
        memset(&ex, 0, sizeof ex);
        ex.struct_size = sizeof ex;
        ex.outcome = DOCKET_EXIT_LOST;
        ex.reason = LOST_REASON;
        report_exit(in, id, &ex); /* removing its cgroups also stops what is left of it */
        free(id);
    }
}

/* Handles every complete frame in the watcher's buffer. Returns 0 when the supervisor said
 * this connection was replaced by a newer instance's. */
static int handle_frames(instance *in) {
    size_t offset = 0;
    int keep = 1;
    while (in->buffered - offset >= 4) {
        uint32_t size = frame_payload_length(in->buffer + offset);
        if (in->buffered - offset - 4 < size) break;
        char **fields = NULL;
        int count = frame_fields(in->buffer + offset + 4, size, &fields);
        offset += 4 + size;
        if (count < 1) { free(fields); continue; }
        if (strcmp(fields[0], "running") == 0) on_running(in, fields, count);
        else if (strcmp(fields[0], "exited") == 0) on_exited(in, fields, count);
        else if (strcmp(fields[0], "replaced") == 0) keep = 0;
        else if (strcmp(fields[0], "synced") == 0) {
            reconcile(in);
            pthread_mutex_lock(&in->lock);
            in->synced = 1;
            pthread_cond_broadcast(&in->changed);
            pthread_mutex_unlock(&in->lock);
        }
        free(fields);
    }
    memmove(in->buffer, in->buffer + offset, in->buffered - offset);
    in->buffered -= offset;
    return keep;
}

/* Reads what the supervisor sent. Returns 0 at EOF or on an error. */
static int read_connection(instance *in, int fd) {
    if (in->buffer_capacity - in->buffered < 65536) {
        size_t capacity = in->buffer_capacity * 2 + 65536;
        char *bigger = realloc(in->buffer, capacity);
        if (bigger == NULL) return 0;
        in->buffer = bigger;
        in->buffer_capacity = capacity;
    }
    ssize_t n;
    do n = recv(fd, in->buffer + in->buffered, in->buffer_capacity - in->buffered, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
    if (n <= 0) return 0;
    in->buffered += (size_t)n;
    return 1;
}

static void drop_connection(instance *in) {
    pthread_mutex_lock(&in->send_lock);
    pthread_mutex_lock(&in->lock);
    if (in->connection >= 0) close(in->connection);
    in->connection = -1;
    in->synced = 0;
    in->buffered = 0;
    pthread_mutex_unlock(&in->lock);
    pthread_mutex_unlock(&in->send_lock);
}

/* The watcher: reads the supervisor's reports, reconnects (starting a new supervisor) when
 * the connection breaks, and sends the SIGKILLs that follow terminate's grace period. */
static void *watch_supervisor(void *arg) {
    instance *in = arg;
    int64_t reconnect_at = 0;
    for (;;) {
        pthread_mutex_lock(&in->lock);
        int stopping = in->stopping, fd = in->connection;
        int64_t now = monotonic_ms(), next_kill = 0;
        for (attempt *a = in->attempts; a != NULL; a = a->next) {
            if (a->kill_at_ms > 0 && !a->ended && (next_kill == 0 || a->kill_at_ms < next_kill)) next_kill = a->kill_at_ms;
            if (a->ack_at_ms > 0 && (next_kill == 0 || a->ack_at_ms < next_kill)) next_kill = a->ack_at_ms;
        }
        pthread_mutex_unlock(&in->lock);
        if (stopping) break;

        if (fd < 0 && now >= reconnect_at) {
            char err[512];
            int connected = connect_supervisor(in, err, sizeof err);
            if (connected < 0) {
                host_log(in, DOCKET_LOG_ERROR, "%s", err);
                reconnect_at = now + 1000;
            } else {
                pthread_mutex_lock(&in->lock);
                in->connection = fd = connected;
                in->epoch++;
                pthread_mutex_unlock(&in->lock);
                host_log(in, DOCKET_LOG_WARNING, "reconnected to the supervisor in %s", in->state_dir);
            }
        }
        int timeout = -1;
        if (next_kill > 0) timeout = next_kill > now ? (int)(next_kill - now > INT_MAX ? INT_MAX : next_kill - now) : 0;
        if (fd < 0) timeout = timeout < 0 || timeout > 1000 ? 1000 : timeout;
        struct pollfd fds[2] = {{.fd = in->wake[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
        poll(fds, fd >= 0 ? 2 : 1, timeout);
        if (fds[0].revents) {
            char drain[64];
            while (read(in->wake[0], drain, sizeof drain) > 0) {}
        }
        if (fd >= 0 && fds[1].revents) {
            int open_still = read_connection(in, fd);
            if (!handle_frames(in)) {
                host_log(in, DOCKET_LOG_WARNING, "another instance took over the supervisor in %s; this one stops following its attempts", in->state_dir);
                drop_connection(in);
                pthread_mutex_lock(&in->lock);
                in->stopping = 1; /* start and signal answer UNAVAILABLE from now on */
                pthread_mutex_unlock(&in->lock);
                break;
            }
            if (!open_still) {
                host_log(in, DOCKET_LOG_WARNING, "the connection to the supervisor in %s broke; reconnecting", in->state_dir);
                drop_connection(in);
                reconnect_at = 0;
            }
        }

        /* Acknowledgements that are due: the supervisor forgets those exits, and so do we. */
        now = monotonic_ms();
        for (;;) {
            char *due = NULL;
            pthread_mutex_lock(&in->lock);
            attempt *acknowledged = NULL;
            for (attempt *a = in->attempts; a != NULL && acknowledged == NULL; a = a->next)
                if (a->ack_at_ms > 0 && now >= a->ack_at_ms) acknowledged = a;
            if (acknowledged != NULL) {
                due = strdup(acknowledged->id);
                remove_attempt(in, acknowledged);
            }
            pthread_mutex_unlock(&in->lock);
            if (due == NULL) break;
            supervisor_frame f = {0};
            frame_add(&f, "ack");
            frame_add(&f, due);
            send_frame(in, &f);
            free(due);
        }

        /* SIGKILLs that are due. */
        for (;;) {
            char *due = NULL;
            pthread_mutex_lock(&in->lock);
            for (attempt *a = in->attempts; a != NULL && due == NULL; a = a->next)
                if (a->kill_at_ms > 0 && !a->ended && now >= a->kill_at_ms) {
                    a->kill_at_ms = 0;
                    due = strdup(a->id);
                }
            pthread_mutex_unlock(&in->lock);
            if (due == NULL) break;
            supervisor_frame f = {0};
            frame_add(&f, "signal");
            frame_add(&f, due);
            frame_add_number(&f, SIGKILL);
            send_frame(in, &f);
            free(due);
        }
    }
    return NULL;
}

/* ---- The executor table ------------------------------------------------------------------ */

static void free_instance(instance *in) {
    while (in->attempts != NULL) remove_attempt(in, in->attempts);
    if (in->connection >= 0) close(in->connection);
    if (in->wake[0] >= 0) close(in->wake[0]);
    if (in->wake[1] >= 0) close(in->wake[1]);
    free(in->cfg.supervisor_path);
    free(in->cfg.run_as_user);
    free(in->state_dir);
    free(in->buffer);
    pthread_mutex_destroy(&in->lock);
    pthread_mutex_destroy(&in->send_lock);
    pthread_cond_destroy(&in->changed);
    free(in);
}

static void plugin_anchor(void) {}

/* docket-supervisor next to this shared object, as SwiftPM and the installer place it. */
static char *default_supervisor_path(void) {
    Dl_info info;
    if (dladdr((void *)(uintptr_t)&plugin_anchor, &info) == 0 || info.dli_fname == NULL) return NULL;
    const char *slash = strrchr(info.dli_fname, '/');
    if (slash == NULL) return strdup("./docket-supervisor");
    return format_string("%.*s/docket-supervisor", (int)(slash - info.dli_fname), info.dli_fname);
}

static long long total_memory_mib(void) {
    char text[4096];
    if (read_small_file("/proc/meminfo", text, sizeof text) <= 0) return 0;
    const char *line = strstr(text, "MemTotal:");
    return line == NULL ? 0 : strtoll(line + 9, NULL, 10) / 1024;
}

static docket_status process_create(const docket_host_api *host, const char *config_json,
                                    void **out_instance, char *err, size_t err_size) {
    if (host == NULL || out_instance == NULL || host->setting == NULL || host->attempt_running == NULL || host->attempt_exited == NULL) {
        set_err(err, err_size, "the process executor needs a host table with setting, attempt_running and attempt_exited; this is a host bug.");
        return DOCKET_E_INTERNAL;
    }
    instance *in = calloc(1, sizeof *in);
    if (in == NULL) {
        set_err(err, err_size, "the process executor could not allocate its instance (out of memory).");
        return DOCKET_E_INTERNAL;
    }
    in->host = host;
    in->wake[0] = in->wake[1] = -1;
    in->connection = -1;
    pthread_mutex_init(&in->lock, NULL);
    pthread_mutex_init(&in->send_lock, NULL);
    pthread_cond_init(&in->changed, NULL);
    char buf[PATH_MAX];
    docket_status st;

    /* 1. Configuration and its defaults. */
    if ((st = parse_config(config_json, &in->cfg, err, err_size)) != DOCKET_OK) goto fail;
    if (in->cfg.supervisor_path == NULL && (in->cfg.supervisor_path = default_supervisor_path()) == NULL) {
        set_err(err, err_size, "the process executor could not locate its own file to find docket-supervisor next to it; set config key 'supervisor_path' to the docket-supervisor executable.");
        st = DOCKET_E_INVALID_CONFIG;
        goto fail;
    }
    struct stat supervisor_st;
    if (stat(in->cfg.supervisor_path, &supervisor_st) != 0 || !S_ISREG(supervisor_st.st_mode) || access(in->cfg.supervisor_path, X_OK) != 0) {
        set_err(err, err_size, "supervisor_path '%s' is missing or not an executable file; build and install docket-supervisor there (swift build --product docket-supervisor puts it next to the plugin) or set config key 'supervisor_path' to its location.",
                in->cfg.supervisor_path);
        st = DOCKET_E_INVALID_CONFIG;
        goto fail;
    }
    if (in->cfg.run_as_user == NULL) {
        int found = host->setting(host->ctx, "server.run_as_user", buf, sizeof buf) == DOCKET_OK && buf[0] != '\0';
        in->cfg.run_as_user = strdup(found ? buf : "nobody");
    }
    uid_t uid;
    gid_t gid;
    if (geteuid() == 0 && resolve_user(in->cfg.run_as_user, &uid, &gid) != 0) {
        set_err(err, err_size, "run_as_user '%s' is not a user on this host; set config key 'run_as_user' (or the server's run_as_user) to an existing unprivileged account or \"uid:gid\".",
                in->cfg.run_as_user);
        st = DOCKET_E_INVALID_CONFIG;
        goto fail;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    in->vcpu_millis = (int64_t)((in->cfg.vcpus > 0 ? in->cfg.vcpus : (double)(cpus > 0 ? cpus : 1)) * 1000.0 + 0.5);
    in->memory_mib = in->cfg.memory_mib > 0 ? in->cfg.memory_mib : total_memory_mib();

    /* 2. The state directory, which outlives this instance, and the cgroups. */
    if (host->setting(host->ctx, "instance.state_dir", buf, sizeof buf) != DOCKET_OK || buf[0] != '/') {
        set_err(err, err_size, "the host gave no absolute 'instance.state_dir' setting, where the process executor keeps its supervisor; this is a host bug.");
        st = DOCKET_E_INTERNAL;
        goto fail;
    }
    in->state_dir = strdup(buf);
    in->cgroup_mode = detect_cgroups(in->cfg.cgroups_off, in->cgroup_why, sizeof in->cgroup_why);
    if (in->cgroup_mode == CGROUPS_NONE)
        host_log(in, DOCKET_LOG_WARNING, "memory and vCPU limits are not enforced: %s", in->cgroup_why);
    detect_pin_cgroups(in->cfg.cgroups_off, &in->cpuset_cgroups, &in->devices_cgroups, in->devices_why, sizeof in->devices_why);

    /* 3. The supervisor (the one a previous instance left, or a new one) and its replay: when
     *    create returns, the table holds every attempt it still has, for list_running. */
    if (pipe2(in->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        set_err(err, err_size, "the process executor could not create its wake-up pipe (pipe2: %s); raise the open file limit.", strerror(errno));
        st = DOCKET_E_INTERNAL;
        goto fail;
    }
    in->connection = connect_supervisor(in, err, err_size);
    if (in->connection < 0) {
        st = DOCKET_E_UNAVAILABLE;
        goto fail;
    }
    in->epoch = 1;
    int rc = pthread_create(&in->watcher, NULL, watch_supervisor, in);
    if (rc != 0) {
        set_err(err, err_size, "the process executor could not start its watcher thread (pthread_create: %s); raise the thread limit.", strerror(rc));
        st = DOCKET_E_INTERNAL;
        goto fail;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&in->lock);
    while (!in->synced && in->connection >= 0)
        if (pthread_cond_timedwait(&in->changed, &in->lock, &until) != 0) break;
    int synced = in->synced;
    pthread_mutex_unlock(&in->lock);
    if (!synced) host_log(in, DOCKET_LOG_WARNING, "the supervisor in %s did not list its attempts within 5 s; they are reported as it does", in->state_dir);
    *out_instance = in;
    return DOCKET_OK;
fail:
    free_instance(in);
    return st;
}

static void process_destroy(void *instance_ptr) {
    instance *in = instance_ptr;
    if (in == NULL) return;
    pthread_mutex_lock(&in->lock);
    in->stopping = 1;
    pthread_mutex_unlock(&in->lock);
    wake_watcher(in);
    pthread_join(in->watcher, NULL);
    /* The jobs keep running under the supervisor; the next instance's connection adopts them. */
    free_instance(in);
}

static docket_status process_capacity(void *instance_ptr, docket_executor_capacity *out,
                                      char *err, size_t err_size) {
    instance *in = instance_ptr;
    (void)err;
    (void)err_size;
    docket_executor_capacity c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    pthread_mutex_lock(&in->lock);
    c.healthy = in->connection >= 0 && !in->stopping;
    pthread_mutex_unlock(&in->lock);
    if (!c.healthy) c.health_reason = "the process executor's supervisor is not reachable; it is being restarted";
    c.vcpu_millis = in->vcpu_millis;
    c.memory_mib = in->memory_mib;
    size_t size = out->struct_size < sizeof c ? out->struct_size : sizeof c;
    uint32_t host_size = out->struct_size;
    memcpy(out, &c, size);
    out->struct_size = host_size;
    return DOCKET_OK;
}

/* An attempt id names cgroups, so it must be one safe path component. */
static int is_safe_component(const char *s) {
    if (s == NULL || s[0] == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > 200) return 0;
    for (const char *p = s; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20) return 0;
    return 1;
}

/* Creates the attempt's cgroups and writes the limits; on failure says why in `why`. */
static int setup_cgroups(instance *in, const docket_attempt_spec *spec, char procs[][PATH_MAX + 16],
                         int *count, char *why, size_t why_size) {
    char v2[PATH_MAX], mem[PATH_MAX], cpu[PATH_MAX], path[PATH_MAX + 32], value[64];
    cgroup_paths(spec->attempt_id, v2, mem, cpu);
    *count = 0;
    if (spec->memory_mib <= 0 && spec->vcpu_millis <= 0) return 0;
    struct limit_write { const char *dir; const char *file; long long amount; } writes[4];
    int nwrites = 0;
    const char *dirs[2];
    int ndirs = 0;
    if (in->cgroup_mode == CGROUPS_V2) {
        dirs[ndirs++] = v2;
        if (spec->memory_mib > 0) writes[nwrites++] = (struct limit_write){v2, "memory.max", (long long)spec->memory_mib * 1048576};
        if (spec->vcpu_millis > 0) writes[nwrites++] = (struct limit_write){v2, "cpu.max", (long long)spec->vcpu_millis * 100};
    } else {
        if (spec->memory_mib > 0) {
            dirs[ndirs++] = mem;
            writes[nwrites++] = (struct limit_write){mem, "memory.limit_in_bytes", (long long)spec->memory_mib * 1048576};
        }
        if (spec->vcpu_millis > 0) {
            dirs[ndirs++] = cpu;
            writes[nwrites++] = (struct limit_write){cpu, "cpu.cfs_period_us", 100000};
            writes[nwrites++] = (struct limit_write){cpu, "cpu.cfs_quota_us", (long long)spec->vcpu_millis * 100};
        }
    }
    for (int i = 0; i < ndirs; i++) {
        if (mkdir(dirs[i], 0755) != 0 && errno != EEXIST) {
            snprintf(why, why_size, "mkdir '%s' failed (%s)", dirs[i], strerror(errno));
            goto undo;
        }
    }
    for (int i = 0; i < nwrites; i++) {
        snprintf(path, sizeof path, "%s/%s", writes[i].dir, writes[i].file);
        if (strcmp(writes[i].file, "cpu.max") == 0) snprintf(value, sizeof value, "%lld 100000", writes[i].amount);
        else snprintf(value, sizeof value, "%lld", writes[i].amount);
        if (write_small_file(path, value) != 0) {
            snprintf(why, why_size, "writing %s to '%s' failed (%s)", value, path, strerror(errno));
            goto undo;
        }
    }
    for (int i = 0; i < ndirs; i++) snprintf(procs[(*count)++], PATH_MAX + 16, "%s/cgroup.procs", dirs[i]);
    return 0;
undo:
    for (int i = 0; i < ndirs; i++) rmdir(dirs[i]);
    return -1;
}

/* ---- Pinning: DOCKET_CPUSET_CPUS, DOCKET_CPUSET_MEMS, DOCKET_DENY_DEVICES ------------------ */

/* The value of one of the job's environment variables (the last entry of a name wins, as in
 * add_environment); NULL when it is unset or empty, which both mean "not pinned". */
static const char *spec_env(const docket_attempt_spec *spec, const char *name) {
    size_t length = strlen(name);
    const char *value = NULL;
    for (uint32_t i = 0; i < spec->env_count; i++)
        if (spec->env[i] != NULL && strncmp(spec->env[i], name, length) == 0 && spec->env[i][length] == '=')
            value = spec->env[i] + length + 1;
    return value != NULL && value[0] != '\0' ? value : NULL;
}

/* What an attempt's pinning variables ask for, checked. */
typedef struct pinning {
    const char *cpus, *mems; /* borrowed from the spec; NULL: not pinned */
    char *deny_rules;        /* devices.deny lines, "c 195:2 rwm\n"...; NULL: none */
    char *denied;            /* the same devices' paths, for the log: "/dev/nvidia2, /dev/nvidia3" */
} pinning;

static void free_pinning(pinning *p) {
    free(p->deny_rules);
    free(p->denied);
}

/* Appends "<text>" to a heap string, with `separator` when it is not the first. */
static char *append_text(char *to, const char *separator, const char *text) {
    char *longer = format_string("%s%s%s", to ? to : "", to ? separator : "", text);
    free(to);
    return longer;
}

/* Checks a list variable against the ids this machine has online (a sysfs list file; a
 * machine without NUMA has no node directory and only node 0). Returns 0, or -1 with err. */
static int check_list(const docket_attempt_spec *spec, const char *variable, const char *value, const char *what,
                      const char *online_path, char *err, size_t err_size) {
    unsigned char wanted[SUPERVISOR_LIST_BYTES], online[SUPERVISOR_LIST_BYTES];
    char online_text[4096];
    long too_large = 0;
    int count = supervisor_list_parse(value, wanted, &too_large);
    if (count == -1) {
        set_err(err, err_size, "attempt %s: containerProperties.environment %s: '%s' is not a list of %ss; write %s numbers and ranges separated by commas, e.g. \"%s\", or remove the variable.",
                spec->attempt_id, variable, value, what, what, strcmp(what, "CPU") == 0 ? "0-3,8" : "0");
        return -1;
    }
    if (read_small_file(online_path, online_text, sizeof online_text) <= 0) snprintf(online_text, sizeof online_text, "0");
    online_text[strcspn(online_text, "\n")] = '\0';
    long missing = count == -2 ? too_large : -1;
    if (missing < 0 && supervisor_list_parse(online_text, online, NULL) > 0)
        for (long id = 0; id <= SUPERVISOR_LIST_MAX_ID && missing < 0; id++)
            if (supervisor_list_has(wanted, id) && !supervisor_list_has(online, id)) missing = id;
    if (missing >= 0) {
        set_err(err, err_size, "attempt %s: containerProperties.environment %s: '%s' names %s %ld, which this machine does not have online (online: %s); use %ss from %s.",
                spec->attempt_id, variable, value, what, missing, online_text, what, online_text);
        return -1;
    }
    return 0;
}

/* Reads and checks the job's pinning variables, before anything is created. A listed device
 * that does not exist is skipped: the node of a GPU this machine lacks. Returns DOCKET_OK, or
 * DOCKET_E_INVALID_ARGUMENT with err naming the variable. */
static docket_status read_pinning(const docket_attempt_spec *spec, pinning *p, char *err, size_t err_size) {
    memset(p, 0, sizeof *p);
    p->cpus = spec_env(spec, "DOCKET_CPUSET_CPUS");
    p->mems = spec_env(spec, "DOCKET_CPUSET_MEMS");
    if (p->cpus != NULL && check_list(spec, "DOCKET_CPUSET_CPUS", p->cpus, "CPU", "/sys/devices/system/cpu/online", err, err_size) != 0)
        return DOCKET_E_INVALID_ARGUMENT;
    if (p->mems != NULL && check_list(spec, "DOCKET_CPUSET_MEMS", p->mems, "NUMA node", "/sys/devices/system/node/online", err, err_size) != 0)
        return DOCKET_E_INVALID_ARGUMENT;
    const char *deny = spec_env(spec, "DOCKET_DENY_DEVICES");
    char *list = deny ? strdup(deny) : NULL, *save = NULL;
    for (char *path = list ? strtok_r(list, ",", &save) : NULL; path != NULL; path = strtok_r(NULL, ",", &save)) {
        struct stat st;
        if (path[0] != '/') {
            set_err(err, err_size, "attempt %s: containerProperties.environment DOCKET_DENY_DEVICES: '%s' is not an absolute path; list device nodes separated by commas, e.g. \"/dev/nvidia2,/dev/nvidia3\".", spec->attempt_id, path);
            goto refused;
        }
        if (stat(path, &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) continue;
            set_err(err, err_size, "attempt %s: containerProperties.environment DOCKET_DENY_DEVICES: cannot stat '%s' (%s); list only device nodes this server can see.", spec->attempt_id, path, strerror(errno));
            goto refused;
        }
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
            set_err(err, err_size, "attempt %s: containerProperties.environment DOCKET_DENY_DEVICES: '%s' is not a device node; list only character or block devices, e.g. /dev/nvidia2.", spec->attempt_id, path);
            goto refused;
        }
        char rule[64];
        snprintf(rule, sizeof rule, "%c %u:%u rwm\n", S_ISCHR(st.st_mode) ? 'c' : 'b', major(st.st_rdev), minor(st.st_rdev));
        p->deny_rules = append_text(p->deny_rules, "", rule);
        p->denied = append_text(p->denied, ", ", path);
        if (p->deny_rules == NULL || p->denied == NULL) {
            set_err(err, err_size, "attempt %s: out of memory reading DOCKET_DENY_DEVICES.", spec->attempt_id);
            free(list);
            free_pinning(p);
            return DOCKET_E_INTERNAL;
        }
    }
    free(list);
    return DOCKET_OK;
refused:
    free(list);
    free_pinning(p);
    return DOCKET_E_INVALID_ARGUMENT;
}

/* Puts the attempt's cpuset and devices cgroups in place (cgroup v1), adding their
 * cgroup.procs to `procs`, and appends the log lines to `note`: what was pinned and denied,
 * or why devices are not denied. A cpuset that cannot be made leaves the pinning to the
 * supervisor's child (affinity and memory policy). */
static char *setup_pinning(instance *in, const docket_attempt_spec *spec, const pinning *p,
                           char procs[][PATH_MAX + 16], int *count, char *note) {
    char cpuset[PATH_MAX], devices[PATH_MAX], path[PATH_MAX + 32], parent[4096];
    pin_cgroup_paths(spec->attempt_id, cpuset, devices);
    if ((p->cpus != NULL || p->mems != NULL) && in->cpuset_cgroups) {
        /* v1 takes no task into a cpuset until both files are written; what the job does not
         * pin comes from docket/, which holds the whole machine. */
        int ok = mkdir(cpuset, 0755) == 0 || errno == EEXIST;
        const char *files[2] = {"cpuset.cpus", "cpuset.mems"};
        const char *values[2] = {p->cpus, p->mems};
        for (int i = 0; i < 2 && ok; i++) {
            if (values[i] == NULL) {
                snprintf(path, sizeof path, CGROUP_ROOT "/cpuset/docket/%s", files[i]);
                ok = read_small_file(path, parent, sizeof parent) > 1;
            } else {
                snprintf(parent, sizeof parent, "%s", values[i]);
            }
            snprintf(path, sizeof path, "%s/%s", cpuset, files[i]);
            ok = ok && write_small_file(path, parent) == 0;
        }
        if (ok) snprintf(procs[(*count)++], PATH_MAX + 16, "%s/cgroup.procs", cpuset);
        else rmdir(cpuset);
    }
    const char *not_denied = NULL;
    char why[PATH_MAX + 128];
    int denied = 0;
    if (p->deny_rules != NULL && !in->devices_cgroups) {
        not_denied = in->devices_why;
    } else if (p->deny_rules != NULL) {
        int ok = mkdir(devices, 0755) == 0 || errno == EEXIST;
        if (!ok) snprintf(why, sizeof why, "mkdir '%s' failed (%s)", devices, strerror(errno));
        snprintf(path, sizeof path, "%s/devices.deny", devices);
        /* devices.deny takes one rule per write. */
        for (const char *rule = p->deny_rules; ok && *rule; rule = strchr(rule, '\n') + 1) {
            char one[64];
            snprintf(one, sizeof one, "%.*s", (int)(strchr(rule, '\n') - rule), rule);
            if (write_small_file(path, one) != 0) {
                snprintf(why, sizeof why, "writing '%s' to '%s' failed (%s)", one, path, strerror(errno));
                ok = 0;
            }
        }
        if (ok) {
            snprintf(procs[(*count)++], PATH_MAX + 16, "%s/cgroup.procs", devices);
            denied = 1;
        } else {
            rmdir(devices);
            not_denied = why;
        }
    }
    char *line = NULL;
    if (p->cpus != NULL || p->mems != NULL) {
        line = format_string("pinned to %s%s%s%s%s", p->cpus ? "CPUs " : "", p->cpus ? p->cpus : "",
                             p->cpus && p->mems ? " and " : "", p->mems ? "NUMA node(s) " : "", p->mems ? p->mems : "");
    }
    if (denied) {
        char *part = format_string("denied devices %s", p->denied);
        line = append_text(line, "; ", part ? part : "");
        free(part);
    }
    if (line != NULL) {
        char *longer = format_string("%s[docket] %s\n", note ? note : "", line);
        free(note);
        note = longer;
        free(line);
    }
    if (not_denied != NULL) {
        char *longer = format_string("%s[docket] devices %s are not denied on this machine: %s.\n", note ? note : "", p->denied, not_denied);
        free(note);
        note = longer;
    }
    return note;
}

/* Appends the job's environment to a start frame: "ENVC" then the entries. Later entries win
 * (executor.h), but getenv returns the first, so only the last of each name is kept. */
static void add_environment(supervisor_frame *f, const docket_attempt_spec *spec) {
    uint32_t kept = 0;
    const char **entries = calloc(spec->env_count + 1, sizeof *entries);
    if (entries == NULL) { f->failed = 1; return; }
    for (uint32_t i = 0; i < spec->env_count; i++) {
        const char *entry = spec->env[i];
        if (entry == NULL || strchr(entry, '=') == NULL) continue;
        size_t name_length = (size_t)(strchr(entry, '=') - entry) + 1;
        int overridden = 0;
        for (uint32_t k = i + 1; k < spec->env_count && !overridden; k++)
            overridden = spec->env[k] != NULL && strncmp(spec->env[k], entry, name_length) == 0;
        if (!overridden) entries[kept++] = entry;
    }
    frame_add_number(f, kept);
    for (uint32_t i = 0; i < kept; i++) frame_add(f, entries[i]);
    free(entries);
}

static docket_status process_start(void *instance_ptr, const docket_attempt_spec *spec,
                                   char *err, size_t err_size) {
    instance *in = instance_ptr;
    char procs[4][PATH_MAX + 16], why[PATH_MAX + 128];
    int cgroup_count = 0;
    pinning pins;

    /* 1. The spec fields this executor depends on. */
    if (!is_safe_component(spec->attempt_id)) {
        set_err(err, err_size, "spec field `attempt_id` '%s' is not a usable name; the host must pass \"<jobId>-<attemptNumber>\".", spec->attempt_id ? spec->attempt_id : "(null)");
        return DOCKET_E_INVALID_ARGUMENT;
    }
    if (spec->argc == 0 || spec->argv == NULL || spec->argv[0] == NULL || spec->argv[0][0] == '\0') {
        set_err(err, err_size, "attempt %s: spec field `argv` is empty; give the job definition a command.", spec->attempt_id);
        return DOCKET_E_INVALID_ARGUMENT;
    }
    if (spec->work_dir == NULL || spec->log_path == NULL) {
        set_err(err, err_size, "attempt %s: spec field `%s` is missing; the host must create it before start.", spec->attempt_id, spec->work_dir == NULL ? "work_dir" : "log_path");
        return DOCKET_E_INVALID_ARGUMENT;
    }

    /* 2. Who the job runs as. Root runs jobs as `user` (else run_as_user) unless the
     *    compute environment allows root; anyone else runs jobs as itself. */
    long uid = -1, gid = -1;
    if (geteuid() == 0) {
        const char *name = (spec->user != NULL && spec->user[0] != '\0') ? spec->user : NULL;
        if (spec->run_as_root_allowed != 1 && name == NULL) name = in->cfg.run_as_user;
        if (name != NULL) {
            uid_t u;
            gid_t g;
            if (resolve_user(name, &u, &g) != 0) {
                set_err(err, err_size, "attempt %s: spec field `user` '%s' is not a user on this host; create the account or set the job definition's user to an existing one.", spec->attempt_id, name);
                return DOCKET_E_INVALID_ARGUMENT;
            }
            if (u == 0 && spec->run_as_root_allowed != 1) {
                set_err(err, err_size, "attempt %s: spec field `user` '%s' is root, which this compute environment does not allow; use an unprivileged user or allow root jobs in the compute environment.", spec->attempt_id, name);
                return DOCKET_E_INVALID_ARGUMENT;
            }
            uid = (long)u;
            gid = (long)g;
        }
    }

    /* 3. The job's pinning (DOCKET_CPUSET_CPUS, DOCKET_CPUSET_MEMS, DOCKET_DENY_DEVICES), checked
     *    before anything is created: a list this machine cannot honour never runs. */
    docket_status pin_status = read_pinning(spec, &pins, err, err_size);
    if (pin_status != DOCKET_OK) return pin_status;

    /* 4. Into the table first, so the supervisor's report always finds it. */
    pthread_mutex_lock(&in->lock);
    if (in->connection < 0 || in->stopping) {
        pthread_mutex_unlock(&in->lock);
        free_pinning(&pins);
        set_err(err, err_size, "attempt %s: the process executor's supervisor is not reachable (it is being restarted); the attempt waits and is started again.", spec->attempt_id);
        return DOCKET_E_UNAVAILABLE;
    }
    if (find_attempt(in, spec->attempt_id) != NULL) {
        pthread_mutex_unlock(&in->lock);
        free_pinning(&pins);
        set_err(err, err_size, "attempt %s is already running on this instance; start each attempt id once.", spec->attempt_id);
        return DOCKET_E_INVALID_ARGUMENT;
    }
    attempt *a = add_attempt(in, spec->attempt_id);
    pthread_mutex_unlock(&in->lock);
    if (a == NULL) {
        free_pinning(&pins);
        set_err(err, err_size, "attempt %s: out of memory recording it.", spec->attempt_id);
        return DOCKET_E_INTERNAL;
    }
    if (uid >= 0 && chown(spec->work_dir, (uid_t)uid, (gid_t)gid) != 0) {
        set_err(err, err_size, "attempt %s: cannot hand work_dir '%s' to uid %ld (chown: %s); check that the host created it on a local file system.", spec->attempt_id, spec->work_dir, uid, strerror(errno));
        goto fail;
    }

    /* 5. Limits, or a line in the log saying why there are none; the pinning; the ignored image. The
     *    supervisor's child writes these lines when it opens the log: one file creation, and
     *    not on the server's path. */
    char *note = strdup("");
    if (in->cgroup_mode == CGROUPS_NONE) snprintf(why, sizeof why, "%s", in->cgroup_why);
    if ((in->cgroup_mode == CGROUPS_NONE || setup_cgroups(in, spec, procs, &cgroup_count, why, sizeof why) != 0) &&
        (spec->memory_mib > 0 || spec->vcpu_millis > 0)) {
        char *longer = format_string("%s[docket] memory and vCPU limits are not enforced on this machine: %s.\n", note ? note : "", why);
        free(note);
        note = longer;
    }
    note = setup_pinning(in, spec, &pins, procs, &cgroup_count, note);
    if (spec->image != NULL && spec->image[0] != '\0') {
        char *longer = format_string("%s[docket] the process executor runs the command on this host and ignores the image '%s'\n", note ? note : "", spec->image);
        free(note);
        note = longer;
    }

    /* 6. Hand it to the supervisor, which forks and execs it and reports RUNNING and the exit. */
    supervisor_frame f = {0};
    frame_add(&f, "start");
    frame_add(&f, spec->attempt_id);
    frame_add(&f, spec->log_path);
    frame_add(&f, spec->work_dir);
    frame_add_number(&f, uid);
    frame_add_number(&f, gid);
    frame_add(&f, note ? note : "");
    free(note);
    frame_add_number(&f, cgroup_count);
    for (int i = 0; i < cgroup_count; i++) frame_add(&f, procs[i]);
    frame_add_number(&f, spec->argc);
    for (uint32_t i = 0; i < spec->argc; i++) frame_add(&f, spec->argv[i] ? spec->argv[i] : "");
    add_environment(&f, spec);
    frame_add(&f, pins.cpus ? pins.cpus : "");
    frame_add(&f, pins.mems ? pins.mems : "");
    free_pinning(&pins);
    if (send_frame(in, &f) != 0) {
        set_err(err, err_size, "attempt %s: the process executor's supervisor is not reachable (it is being restarted); the attempt waits and is started again.", spec->attempt_id);
        remove_attempt_cgroups(spec->attempt_id);
        pthread_mutex_lock(&in->lock);
        attempt *again = find_attempt(in, spec->attempt_id);
        if (again != NULL && !again->ended) remove_attempt(in, again);
        pthread_mutex_unlock(&in->lock);
        return DOCKET_E_UNAVAILABLE;
    }
    return DOCKET_OK;

fail:
    free_pinning(&pins);
    pthread_mutex_lock(&in->lock);
    a = find_attempt(in, spec->attempt_id);
    if (a != NULL) remove_attempt(in, a);
    pthread_mutex_unlock(&in->lock);
    return DOCKET_E_INTERNAL;
}

/* Sends sig to the attempt's process group through the supervisor, the job's parent: only it
 * knows for sure that the pid is still the job's. */
static docket_status signal_attempt(instance *in, const char *attempt_id, int sig, int64_t kill_after_ms,
                                    char *err, size_t err_size) {
    pthread_mutex_lock(&in->lock);
    attempt *a = attempt_id ? find_attempt(in, attempt_id) : NULL;
    if (a == NULL || a->ended) {
        pthread_mutex_unlock(&in->lock);
        set_err(err, err_size, "attempt %s is not running on this process executor (unknown or already exited); nothing to signal.", attempt_id ? attempt_id : "(null)");
        return DOCKET_E_NOT_FOUND;
    }
    if (kill_after_ms >= 0) {
        int64_t kill_at = monotonic_ms() + kill_after_ms;
        if (a->kill_at_ms == 0 || kill_at < a->kill_at_ms) a->kill_at_ms = kill_at > 0 ? kill_at : 1;
    }
    pthread_mutex_unlock(&in->lock);
    supervisor_frame f = {0};
    frame_add(&f, "signal");
    frame_add(&f, attempt_id);
    frame_add_number(&f, sig);
    if (send_frame(in, &f) != 0) {
        set_err(err, err_size, "attempt %s: the process executor's supervisor is not reachable; the signal was not sent (if the supervisor is gone, so is the job).", attempt_id);
        return DOCKET_E_INTERNAL;
    }
    if (kill_after_ms >= 0) wake_watcher(in); /* the watcher owns the SIGKILL timer */
    return DOCKET_OK;
}

static docket_status process_signal(void *instance_ptr, const char *attempt_id, int32_t signal_number,
                                    char *err, size_t err_size) {
    if (signal_number <= 0 || signal_number >= 64) {
        set_err(err, err_size, "signal number %d is not a POSIX signal; pass one between 1 and 63.", (int)signal_number);
        return DOCKET_E_INVALID_ARGUMENT;
    }
    return signal_attempt(instance_ptr, attempt_id, signal_number, -1, err, err_size);
}

static docket_status process_terminate(void *instance_ptr, const char *attempt_id, int64_t grace_ms,
                                       char *err, size_t err_size) {
    int64_t grace = grace_ms < 0 ? 0 : grace_ms > INT32_MAX ? INT32_MAX : grace_ms;
    return signal_attempt(instance_ptr, attempt_id, SIGTERM, grace, err, err_size);
}

static docket_status process_list_running(void *instance_ptr, docket_attempt_visitor visit, void *visit_ctx,
                                          char *err, size_t err_size) {
    instance *in = instance_ptr;
    (void)err;
    (void)err_size;
    pthread_mutex_lock(&in->lock);
    for (attempt *a = in->attempts; a != NULL; a = a->next) visit(visit_ctx, a->id);
    pthread_mutex_unlock(&in->lock);
    return DOCKET_OK;
}

static const docket_executor_v1 process_executor = {
    .struct_size = sizeof(docket_executor_v1),
    .create = process_create,
    .destroy = process_destroy,
    .capacity = process_capacity,
    .start = process_start,
    .signal = process_signal,
    .terminate = process_terminate,
    .list_running = process_list_running,
    .get_capability = NULL,
};

static const docket_plugin_descriptor process_descriptor = {
    .struct_size = sizeof(docket_plugin_descriptor),
    .abi_major = DOCKET_ABI_MAJOR,
    .abi_minor = DOCKET_ABI_MINOR,
    .kind = DOCKET_PLUGIN_KIND_EXECUTOR,
    .id = "docket.executor.process",
    .name = "process",
    .version = PLUGIN_VERSION,
    .description = "Runs each attempt as a process on this host under a long-lived supervisor that survives server restarts, with cgroup memory and vCPU limits.",
    .on_load = NULL,
    .executor = &process_executor,
    .policy = NULL,
};

__attribute__((visibility("default"))) const docket_plugin_descriptor *docket_plugin_entry_v1(void) {
    return &process_descriptor;
}
