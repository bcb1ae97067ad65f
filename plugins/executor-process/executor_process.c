/*
 * executor_process.c — the "process" executor (docket.executor.process): runs each attempt as
 * a bare process on this host, under a per-attempt supervisor, docket-shim (shim/main.c).
 *
 * Why a shim: the job must survive a crash or SIGKILL of the server, and the next server
 * instance must learn how it ended. The shim runs in its own session, starts the job in its
 * own process group, waits for it and writes the outcome into the attempt's state directory,
 * <instance.state_dir>/<attempt_id>/; create() re-adopts every directory it finds there.
 *
 * One watcher thread per instance follows every attempt. For attempts this instance spawned it
 * blocks in poll() on a pipe the shim holds open for its whole life (fd 3 of the shim): a line
 * "<pid>\n" means the job runs, EOF means the shim is done; no timers, no polling. Attempts
 * adopted from a previous instance are not our children, so it checks them every 150 ms.
 * The same thread sends the SIGKILL that follows terminate's grace period.
 *
 * README.md documents the configuration, the state layout and the failure modes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, pipe2, POSIX_SPAWN_SETSID */
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PLUGIN_VERSION "1.0.0"
#define ADOPTED_POLL_MS 150
#define LAUNCH_GRACE_MS 2000 /* how long an adopted directory may lack shim_pid */
#define CGROUP_ROOT "/sys/fs/cgroup"
#define OOM_REASON "OutOfMemoryError: Container killed due to memory usage"
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

/* Appends "[docket] <line>\n" to the attempt's log, as the job's own output goes there too. */
static void append_log_line(const char *log_path, const char *line) {
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    char *text = format_string("[docket] %s\n", line);
    if (text != NULL) {
        ssize_t ignored = write(fd, text, strlen(text));
        (void)ignored;
        free(text);
    }
    close(fd);
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

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *entry;
        while ((entry = readdir(d)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            unlinkat(dirfd(d), entry->d_name, 0);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* ---- Configuration ----------------------------------------------------------------------- */

typedef struct config {
    char *shim_path;
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
    if (strcmp(key, "shim_path") == 0) {
        if (v->type == 'z') return DOCKET_OK;
        if (v->type != 's' || v->string[0] != '/') {
            set_err(err, err_size, "config key 'shim_path' must be an absolute path string; set it to the docket-shim executable, e.g. \"/usr/local/libexec/docket/docket-shim\", or remove it to use the one next to the plugin.");
            return DOCKET_E_INVALID_CONFIG;
        }
        free(cfg->shim_path);
        cfg->shim_path = v->string;
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
        set_err(err, err_size, "config key '%s' is not known to the process executor; remove it (known keys: shim_path, vcpus, memory_mib, cgroups, run_as_user).", key);
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

/* ---- Shims this process spawned ---------------------------------------------------------
 * Only our own children may be waited for: waitpid on a pid recorded by an earlier server
 * process could reap an unrelated child of this one that happens to reuse it. The registry is
 * per process, not per instance, because a later instance in the same process adopts the
 * attempts of a destroyed one, and their shims are still our children. */

static pthread_mutex_t children_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *children;
static size_t child_count, child_capacity;

static int remember_child(pid_t pid) {
    pthread_mutex_lock(&children_lock);
    if (child_count == child_capacity) {
        size_t capacity = child_capacity ? child_capacity * 2 : 64;
        pid_t *bigger = realloc(children, capacity * sizeof *bigger);
        if (bigger == NULL) { pthread_mutex_unlock(&children_lock); return -1; }
        children = bigger;
        child_capacity = capacity;
    }
    children[child_count++] = pid;
    pthread_mutex_unlock(&children_lock);
    return 0;
}

static int is_our_child(pid_t pid) {
    int found = 0;
    pthread_mutex_lock(&children_lock);
    for (size_t i = 0; i < child_count && !found; i++) found = children[i] == pid;
    pthread_mutex_unlock(&children_lock);
    return found;
}

/* Reaps one of our shims: blocking (it is exiting) or not. Returns 1 once it is reaped. */
static int reap_child(pid_t pid, int block, int *status) {
    if (!is_our_child(pid)) return 0;
    pid_t got;
    while ((got = waitpid(pid, status, block ? 0 : WNOHANG)) < 0 && errno == EINTR) {}
    if (got == 0) return 0;
    /* got == pid, or ECHILD when the host ignores SIGCHLD and the kernel reaped it */
    pthread_mutex_lock(&children_lock);
    for (size_t i = 0; i < child_count; i++)
        if (children[i] == pid) { children[i] = children[--child_count]; break; }
    pthread_mutex_unlock(&children_lock);
    return 1;
}

/* ---- Instance and attempts ---------------------------------------------------------------- */

typedef struct attempt {
    struct attempt *next;
    char *id;
    char *dir;                 /* <state_dir>/<id> */
    pid_t shim_pid;            /* 0 while unknown (adopted, shim_pid not yet written) */
    pid_t job_pid;             /* the job's pid and process group; 0 until it runs */
    int ready_fd;              /* read end of the shim's readiness pipe; -1 for adopted */
    int adopted;
    int shim_done;             /* the shim exited or wrote its exit */
    int finishing;             /* the watcher is reporting it; still listed until then */
    char line[32];             /* partial readiness line */
    size_t line_length;
    unsigned long long pending_signals; /* bit n: signal n, sent once the job's pid is known */
    int64_t kill_at_ms;        /* monotonic; 0 = no SIGKILL scheduled */
    int64_t adopted_at_ms;
} attempt;

typedef struct instance {
    const docket_host_api *host;
    config cfg;
    char *state_dir;
    int64_t vcpu_millis;
    int64_t memory_mib;
    int cgroup_mode;
    char cgroup_why[512];
    pthread_mutex_t lock;
    attempt *attempts;
    int stopping;
    int wake[2];
    pthread_t watcher;
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

static void free_attempt(attempt *a) {
    if (a->ready_fd >= 0) close(a->ready_fd);
    free(a->id);
    free(a->dir);
    free(a);
}

static int attempt_has_file(const attempt *a, const char *name) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", a->dir, name);
    return path_exists(path);
}

static long read_pid_file(const attempt *a, const char *name) {
    char path[PATH_MAX], text[64];
    snprintf(path, sizeof path, "%s/%s", a->dir, name);
    if (read_small_file(path, text, sizeof text) <= 0) return 0;
    long pid = strtol(text, NULL, 10);
    return pid > 0 ? pid : 0;
}

/* The job runs: tell the host once per attempt, across server restarts (the marker file). */
static void job_became_running(instance *in, attempt *a, pid_t job_pid) {
    char path[PATH_MAX], detail[32];
    a->job_pid = job_pid;
    snprintf(path, sizeof path, "%s/reported_running", a->dir);
    if (!path_exists(path)) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) close(fd);
        snprintf(detail, sizeof detail, "pid %ld", (long)job_pid);
        in->host->attempt_running(in->host->ctx, a->id, detail);
    }
    for (int sig = 1; sig < 64; sig++)
        if (a->pending_signals & (1ULL << sig)) kill(-job_pid, sig);
    a->pending_signals = 0;
}

/* Whether an adopted attempt's shim still runs: the pid is alive, not our zombie, and its
 * command line names this attempt's state directory (a recycled pid does not). */
static int shim_alive(const attempt *a) {
    if (a->shim_pid <= 0) return 0;
    if (is_our_child(a->shim_pid)) return !reap_child(a->shim_pid, 0, NULL);
    if (kill(a->shim_pid, 0) != 0 && errno == ESRCH) return 0;
    char path[64], cmdline[8192];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)a->shim_pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : 1; /* no /proc: trust kill() */
    ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
    close(fd);
    if (n <= 0) return 0; /* a zombie has an empty command line */
    cmdline[n] = '\0';
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmdline + i) + 1)
        if (strcmp(cmdline + i, "--state") == 0 && i + 8 < n && strcmp(cmdline + i + 8, a->dir) == 0) return 1;
    return 0;
}

/* Reads the outcome from the state directory, reports it, removes the cgroups and the
 * directory. Called by the watcher without the lock; the attempt stays listed until done. */
static void finish_attempt(instance *in, attempt *a) {
    char path[PATH_MAX + 32], text[2048], launch_error[1024], reason[1200];
    char v2[PATH_MAX], mem[PATH_MAX], cpu[PATH_MAX];
    int status = 0;

    /* 1. Reap the shim if it is our child: it closed the pipe or wrote exit only to exit. */
    if (a->shim_pid > 0) reap_child(a->shim_pid, 1, &status);

    /* 2. The outcome the shim recorded. */
    docket_attempt_exit ex;
    memset(&ex, 0, sizeof ex);
    ex.struct_size = sizeof ex;
    snprintf(path, sizeof path, "%s/exit", a->dir);
    if (read_small_file(path, text, sizeof text) <= 0) {
        ex.outcome = DOCKET_EXIT_LOST;
        ex.reason = LOST_REASON;
    } else if (strncmp(text, "launch_failed", 13) == 0) {
        snprintf(path, sizeof path, "%s/launch_error", a->dir);
        if (read_small_file(path, launch_error, sizeof launch_error) <= 0)
            snprintf(launch_error, sizeof launch_error, "the supervisor could not start the command");
        snprintf(reason, sizeof reason, "CannotStartContainerError: %s", launch_error);
        ex.outcome = DOCKET_EXIT_LAUNCH_FAILED;
        ex.reason = reason;
    } else if (read_keyed_number(text, "signal") >= 0) {
        ex.outcome = DOCKET_EXIT_SIGNAL;
        ex.signal = (int32_t)read_keyed_number(text, "signal");
        ex.exit_code = 128 + ex.signal;
    } else {
        ex.outcome = DOCKET_EXIT_CODE;
        ex.exit_code = (int32_t)read_keyed_number(text, "code");
    }
    long long stopped = read_keyed_number(text, "stopped_at_ms");
    ex.stopped_at_ms = stopped > 0 ? stopped : 0;
    snprintf(path, sizeof path, "%s/started_at_ms", a->dir);
    if (read_small_file(path, text, sizeof text) > 0) ex.started_at_ms = strtoll(text, NULL, 10);

    /* 3. Whether the kernel killed it for memory: v2 memory.events, v1 oom_control, or v1's
     *    failcnt with a SIGKILL on kernels without the oom_kill counter. */
    cgroup_paths(a->id, v2, mem, cpu);
    int oom = 0;
    snprintf(path, sizeof path, "%s/memory.events", v2);
    if (read_small_file(path, text, sizeof text) > 0 && read_keyed_number(text, "oom_kill") > 0) oom = 1;
    snprintf(path, sizeof path, "%s/memory.oom_control", mem);
    if (read_small_file(path, text, sizeof text) > 0) {
        long long kills = read_keyed_number(text, "oom_kill");
        if (kills > 0) oom = 1;
        snprintf(path, sizeof path, "%s/memory.failcnt", mem);
        if (kills < 0 && ex.signal == SIGKILL && read_small_file(path, text, sizeof text) > 0 && strtoll(text, NULL, 10) > 0) oom = 1;
    }
    if (oom && (ex.outcome == DOCKET_EXIT_CODE || ex.outcome == DOCKET_EXIT_SIGNAL)) {
        ex.oom_killed = 1;
        ex.reason = OOM_REASON;
    }
    if (ex.outcome == DOCKET_EXIT_LOST) {
        host_log(in, DOCKET_LOG_WARNING, "attempt %s: the docket-shim (pid %ld) ended without writing %s/exit", a->id, (long)a->shim_pid, a->dir);
        /* The job may still run, unsupervised. Its group is surely ours while the shim we
         * spawned was alive a moment ago; an adopted job's group may be a recycled id, so
         * only the cgroup cleanup below stops that one. */
        if (!a->adopted && a->job_pid > 0) kill(-a->job_pid, SIGKILL);
    }

    /* 4. Report, then forget: a crash in between re-reports rather than loses the exit. */
    in->host->attempt_exited(in->host->ctx, a->id, &ex);
    remove_cgroup(v2);
    remove_cgroup(mem);
    remove_cgroup(cpu);
    remove_tree(a->dir);
}

/* Handles readiness lines and EOF from one spawned attempt's pipe. Called with the lock. */
static void read_readiness(instance *in, attempt *a) {
    for (;;) {
        char chunk[64];
        ssize_t n = read(a->ready_fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return; /* EAGAIN: wait for more */
        if (n == 0) { a->shim_done = 1; return; }
        for (ssize_t i = 0; i < n; i++) {
            if (chunk[i] != '\n') {
                if (a->line_length < sizeof a->line - 1) a->line[a->line_length++] = chunk[i];
                continue;
            }
            a->line[a->line_length] = '\0';
            a->line_length = 0;
            long pid = strtol(a->line, NULL, 10);
            if (pid > 0 && a->job_pid == 0) job_became_running(in, a, (pid_t)pid);
        }
    }
}

/* Checks an adopted attempt: its exit file, its shim, its pid file. Called with the lock. */
static void check_adopted(instance *in, attempt *a, int64_t now) {
    if (a->job_pid == 0) {
        long pid = read_pid_file(a, "pid");
        if (pid > 0) job_became_running(in, a, (pid_t)pid);
    }
    if (attempt_has_file(a, "exit")) { a->shim_done = 1; return; }
    if (a->shim_pid == 0) a->shim_pid = (pid_t)read_pid_file(a, "shim_pid");
    if (a->shim_pid == 0 ? now - a->adopted_at_ms > LAUNCH_GRACE_MS : !shim_alive(a))
        a->shim_done = 1; /* finish_attempt rereads exit: it may have appeared meanwhile */
}

static void *watch_attempts(void *arg) {
    instance *in = arg;
    struct pollfd *fds = NULL;
    attempt **owners = NULL;
    size_t capacity = 0;

    pthread_mutex_lock(&in->lock);
    while (!in->stopping) {
        /* 1. What to wait for: the wake pipe, every live readiness pipe, the next deadline. */
        size_t count = 1;
        for (attempt *a = in->attempts; a != NULL; a = a->next) count++;
        if (count > capacity) {
            capacity = count * 2;
            struct pollfd *nf = realloc(fds, capacity * sizeof *fds);
            attempt **no = nf ? realloc(owners, capacity * sizeof *owners) : NULL;
            if (nf) fds = nf;
            if (no) owners = no;
            if (!nf || !no) { capacity = 0; pthread_mutex_unlock(&in->lock); sleep(1); pthread_mutex_lock(&in->lock); continue; }
        }
        int64_t now = monotonic_ms();
        int timeout = -1;
        size_t n = 1;
        fds[0] = (struct pollfd){.fd = in->wake[0], .events = POLLIN};
        for (attempt *a = in->attempts; a != NULL; a = a->next) {
            if (a->finishing) continue;
            if (a->ready_fd >= 0 && !a->shim_done) {
                fds[n] = (struct pollfd){.fd = a->ready_fd, .events = POLLIN};
                owners[n++] = a;
            }
            if (a->adopted && (timeout < 0 || timeout > ADOPTED_POLL_MS)) timeout = ADOPTED_POLL_MS;
            if (a->kill_at_ms > 0 && a->job_pid > 0) {
                int64_t wait = a->kill_at_ms > now ? a->kill_at_ms - now : 0;
                if (timeout < 0 || wait < timeout) timeout = (int)(wait > INT_MAX ? INT_MAX : wait);
            }
        }
        pthread_mutex_unlock(&in->lock);
        poll(fds, (nfds_t)n, timeout);
        pthread_mutex_lock(&in->lock);
        if (in->stopping) break;
        if (fds[0].revents) {
            char drain[64];
            while (read(in->wake[0], drain, sizeof drain) > 0) {}
        }

        /* 2. Readiness and EOF; adopted attempts; SIGKILLs that are due. Attempts only leave
         *    the list in step 3, on this thread, so owners[] is still valid. */
        for (size_t i = 1; i < n; i++)
            if (fds[i].revents) read_readiness(in, owners[i]);
        now = monotonic_ms();
        for (attempt *a = in->attempts; a != NULL; a = a->next) {
            if (a->finishing) continue;
            if (a->adopted && !a->shim_done) check_adopted(in, a, now);
            if (a->kill_at_ms > 0 && a->job_pid > 0 && now >= a->kill_at_ms && !a->shim_done) {
                kill(-a->job_pid, SIGKILL);
                a->kill_at_ms = 0;
            }
        }

        /* 3. Report the ended ones without the lock (file I/O, cgroup removal), one by one. */
        for (;;) {
            attempt *done = NULL;
            for (attempt *a = in->attempts; a != NULL; a = a->next)
                if (a->shim_done && !a->finishing) { done = a; break; }
            if (done == NULL || in->stopping) break;
            done->finishing = 1;
            pthread_mutex_unlock(&in->lock);
            finish_attempt(in, done);
            pthread_mutex_lock(&in->lock);
            for (attempt **link = &in->attempts; *link != NULL; link = &(*link)->next)
                if (*link == done) { *link = done->next; break; }
            free_attempt(done);
        }
    }
    pthread_mutex_unlock(&in->lock);
    free(fds);
    free(owners);
    return NULL;
}

/* ---- The executor table ------------------------------------------------------------------ */

static void free_instance(instance *in) {
    while (in->attempts != NULL) {
        attempt *a = in->attempts;
        in->attempts = a->next;
        free_attempt(a);
    }
    if (in->wake[0] >= 0) close(in->wake[0]);
    if (in->wake[1] >= 0) close(in->wake[1]);
    free(in->cfg.shim_path);
    free(in->cfg.run_as_user);
    free(in->state_dir);
    pthread_mutex_destroy(&in->lock);
    free(in);
}

static void plugin_anchor(void) {}

/* docket-shim next to this shared object, as SwiftPM and the installer place it. */
static char *default_shim_path(void) {
    Dl_info info;
    if (dladdr((void *)(uintptr_t)&plugin_anchor, &info) == 0 || info.dli_fname == NULL) return NULL;
    const char *slash = strrchr(info.dli_fname, '/');
    if (slash == NULL) return strdup("./docket-shim");
    return format_string("%.*s/docket-shim", (int)(slash - info.dli_fname), info.dli_fname);
}

static long long total_memory_mib(void) {
    char text[4096];
    if (read_small_file("/proc/meminfo", text, sizeof text) <= 0) return 0;
    const char *line = strstr(text, "MemTotal:");
    return line == NULL ? 0 : strtoll(line + 9, NULL, 10) / 1024;
}

/* Follows every attempt directory a previous instance left in the state directory. */
static void adopt_leftovers(instance *in) {
    DIR *d = opendir(in->state_dir);
    if (d == NULL) return;
    struct dirent *entry;
    int64_t now = monotonic_ms();
    while ((entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        char *dir = format_string("%s/%s", in->state_dir, entry->d_name);
        struct stat st;
        attempt *a = dir ? calloc(1, sizeof *a) : NULL;
        if (a == NULL || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) { free(dir); free(a); continue; }
        a->id = strdup(entry->d_name);
        a->dir = dir;
        a->ready_fd = -1;
        a->adopted = 1;
        a->adopted_at_ms = now;
        a->shim_pid = (pid_t)read_pid_file(a, "shim_pid");
        /* job_pid stays 0: the watcher reads the pid file and reports RUNNING if the
         * previous instance never did. */
        a->next = in->attempts;
        in->attempts = a;
        host_log(in, DOCKET_LOG_INFO, "re-adopting attempt %s (docket-shim pid %ld)", a->id, (long)a->shim_pid);
    }
    closedir(d);
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
    pthread_mutex_init(&in->lock, NULL);
    char buf[PATH_MAX];
    docket_status st;

    /* 1. Configuration and its defaults. */
    if ((st = parse_config(config_json, &in->cfg, err, err_size)) != DOCKET_OK) goto fail;
    if (in->cfg.shim_path == NULL && (in->cfg.shim_path = default_shim_path()) == NULL) {
        set_err(err, err_size, "the process executor could not locate its own file to find docket-shim next to it; set config key 'shim_path' to the docket-shim executable.");
        st = DOCKET_E_INVALID_CONFIG;
        goto fail;
    }
    struct stat shim_st;
    if (stat(in->cfg.shim_path, &shim_st) != 0 || !S_ISREG(shim_st.st_mode) || access(in->cfg.shim_path, X_OK) != 0) {
        set_err(err, err_size, "shim_path '%s' is missing or not an executable file; build and install docket-shim there (swift build --product docket-shim puts it next to the plugin) or set config key 'shim_path' to its location.",
                in->cfg.shim_path);
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

    /* 2. The state directory, which outlives this instance. */
    if (host->setting(host->ctx, "instance.state_dir", buf, sizeof buf) != DOCKET_OK || buf[0] != '/') {
        set_err(err, err_size, "the host gave no absolute 'instance.state_dir' setting, where the process executor keeps its attempts; this is a host bug.");
        st = DOCKET_E_INTERNAL;
        goto fail;
    }
    in->state_dir = strdup(buf);
    in->cgroup_mode = detect_cgroups(in->cfg.cgroups_off, in->cgroup_why, sizeof in->cgroup_why);
    if (in->cgroup_mode == CGROUPS_NONE)
        host_log(in, DOCKET_LOG_WARNING, "memory and vCPU limits are not enforced: %s", in->cgroup_why);

    /* 3. Re-adopt what a previous instance left running, then start following it. Exits
     *    already recorded are reported by the watcher, after create has returned. */
    if (pipe2(in->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        set_err(err, err_size, "the process executor could not create its wake-up pipe (pipe2: %s); raise the open file limit.", strerror(errno));
        st = DOCKET_E_INTERNAL;
        goto fail;
    }
    adopt_leftovers(in);
    /* Reports never come from inside create: the watcher's first look at adopted
     * attempts follows its first 150 ms poll, well after create has returned. */
    int rc = pthread_create(&in->watcher, NULL, watch_attempts, in);
    if (rc != 0) {
        set_err(err, err_size, "the process executor could not start its watcher thread (pthread_create: %s); raise the thread limit.", strerror(rc));
        st = DOCKET_E_INTERNAL;
        goto fail;
    }
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
    /* The jobs and their shims keep running; the next instance adopts their directories. */
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
    c.healthy = 1;
    c.vcpu_millis = in->vcpu_millis;
    c.memory_mib = in->memory_mib;
    size_t size = out->struct_size < sizeof c ? out->struct_size : sizeof c;
    uint32_t host_size = out->struct_size;
    memcpy(out, &c, size);
    out->struct_size = host_size;
    return DOCKET_OK;
}

/* Puts the job's environment, NUL-separated, into an anonymous file for the shim's --env-fd,
 * returning a close-on-exec descriptor at 10 or above (the file actions rewrite 0-4). */
static int environment_fd(const docket_attempt_spec *spec, const char *dir) {
    int fd = memfd_create("docket-env", MFD_CLOEXEC);
    if (fd < 0) { /* kernels before 3.17: an unlinked file in the 0700 state directory */
        char path[PATH_MAX + 8];
        snprintf(path, sizeof path, "%s/env", dir);
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) return -1;
        unlink(path);
    }
    for (uint32_t i = 0; i < spec->env_count; i++) {
        const char *entry = spec->env[i];
        if (entry == NULL || strchr(entry, '=') == NULL) continue;
        /* Later entries win (executor.h), but getenv returns the first: keep only the last. */
        size_t name_length = (size_t)(strchr(entry, '=') - entry) + 1;
        int overridden = 0;
        for (uint32_t k = i + 1; k < spec->env_count && !overridden; k++)
            overridden = spec->env[k] != NULL && strncmp(spec->env[k], entry, name_length) == 0;
        if (overridden) continue;
        size_t length = strlen(entry) + 1, done = 0;
        while (done < length) {
            ssize_t n = write(fd, entry + done, length - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) { close(fd); return -1; }
            done += (size_t)n;
        }
    }
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    if (high >= 0 && lseek(high, 0, SEEK_SET) != 0) { close(high); return -1; }
    return high;
}

/* An attempt id names directories, so it must be one safe path component. */
static int is_safe_component(const char *s) {
    if (s == NULL || s[0] == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > 200) return 0;
    for (const char *p = s; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20) return 0;
    return 1;
}

/* Creates the attempt's cgroups and writes the limits; on failure says why in `why`. */
static int setup_cgroups(instance *in, const docket_attempt_spec *spec, char procs[2][PATH_MAX + 16],
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

static docket_status process_start(void *instance_ptr, const docket_attempt_spec *spec,
                                   char *err, size_t err_size) {
    instance *in = instance_ptr;
    char dir[PATH_MAX], procs[2][PATH_MAX + 16], why[PATH_MAX + 128];
    char uid_text[24], gid_text[24];
    int cgroup_count = 0;

    /* 1. The spec fields this executor depends on. */
    if (!is_safe_component(spec->attempt_id)) {
        set_err(err, err_size, "spec field `attempt_id` '%s' is not a usable directory name; the host must pass \"<jobId>-<attemptNumber>\".", spec->attempt_id ? spec->attempt_id : "(null)");
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
    int switch_user = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    if (geteuid() == 0) {
        const char *name = (spec->user != NULL && spec->user[0] != '\0') ? spec->user : NULL;
        if (spec->run_as_root_allowed != 1 && name == NULL) name = in->cfg.run_as_user;
        if (name != NULL) {
            if (resolve_user(name, &uid, &gid) != 0) {
                set_err(err, err_size, "attempt %s: spec field `user` '%s' is not a user on this host; create the account or set the job definition's user to an existing one.", spec->attempt_id, name);
                return DOCKET_E_INVALID_ARGUMENT;
            }
            if (uid == 0 && spec->run_as_root_allowed != 1) {
                set_err(err, err_size, "attempt %s: spec field `user` '%s' is root, which this compute environment does not allow; use an unprivileged user or allow root jobs in the compute environment.", spec->attempt_id, name);
                return DOCKET_E_INVALID_ARGUMENT;
            }
            switch_user = 1;
        }
    }

    pthread_mutex_lock(&in->lock);
    int duplicate = find_attempt(in, spec->attempt_id) != NULL;
    pthread_mutex_unlock(&in->lock);
    if (duplicate) {
        set_err(err, err_size, "attempt %s is already running on this instance; start each attempt id once.", spec->attempt_id);
        return DOCKET_E_INVALID_ARGUMENT;
    }

    /* 3. The attempt's state directory, and the work dir handed to the job's user. */
    snprintf(dir, sizeof dir, "%s/%s", in->state_dir, spec->attempt_id);
    if (mkdir(dir, 0700) != 0) {
        set_err(err, err_size, "attempt %s: cannot create its state directory '%s' (%s); check that instance.state_dir is writable and holds no stale copy.", spec->attempt_id, dir, strerror(errno));
        return DOCKET_E_INTERNAL;
    }
    if (switch_user && chown(spec->work_dir, uid, gid) != 0) {
        set_err(err, err_size, "attempt %s: cannot hand work_dir '%s' to uid %ld (chown: %s); check that the host created it on a local file system.", spec->attempt_id, spec->work_dir, (long)uid, strerror(errno));
        remove_tree(dir);
        return DOCKET_E_INTERNAL;
    }

    /* 4. Limits, or one line in the log saying why there are none; the ignored image. */
    if (in->cgroup_mode == CGROUPS_NONE) snprintf(why, sizeof why, "%s", in->cgroup_why);
    if ((in->cgroup_mode == CGROUPS_NONE || setup_cgroups(in, spec, procs, &cgroup_count, why, sizeof why) != 0) &&
        (spec->memory_mib > 0 || spec->vcpu_millis > 0)) {
        char *line = format_string("memory and vCPU limits are not enforced on this machine: %s.", why);
        if (line) append_log_line(spec->log_path, line);
        free(line);
    }
    if (spec->image != NULL && spec->image[0] != '\0') {
        char *line = format_string("the process executor runs the command on this host and ignores the image '%s'", spec->image);
        if (line) append_log_line(spec->log_path, line);
        free(line);
    }

    /* 5. Spawn the shim in its own session, with a readiness pipe as its fd 3 and the job's
     *    environment readable from its fd 4. The shim's own environment stays empty: it runs
     *    as root until the job starts, and LD_PRELOAD from a job definition must not reach it.
     *    The pipe is close-on-exec here, so no other child of the server keeps it open and
     *    hides the shim's EOF. */
    int ready[2] = {-1, -1}, env_fd = -1;
    const char **argv = calloc(18 + 2 * (size_t)cgroup_count + spec->argc + 1, sizeof *argv);
    char *envp[] = {NULL};
    docket_status st = DOCKET_E_INTERNAL;
    if (argv == NULL) {
        set_err(err, err_size, "attempt %s: out of memory building the shim's arguments.", spec->attempt_id);
        goto fail;
    }
    if ((env_fd = environment_fd(spec, dir)) < 0) {
        set_err(err, err_size, "attempt %s: cannot pass the job's environment to the shim (%s); check memory and the state directory.", spec->attempt_id, strerror(errno));
        goto fail;
    }
    if (pipe2(ready, O_CLOEXEC) != 0) {
        set_err(err, err_size, "attempt %s: cannot create the readiness pipe (pipe2: %s); raise the open file limit.", spec->attempt_id, strerror(errno));
        goto fail;
    }
    int high = fcntl(ready[1], F_DUPFD_CLOEXEC, 10); /* never 0-3, which the file actions rewrite */
    close(ready[1]);
    ready[1] = high;
    if (ready[1] < 0 || fcntl(ready[0], F_SETFL, O_NONBLOCK) != 0) {
        set_err(err, err_size, "attempt %s: cannot set up the readiness pipe (fcntl: %s).", spec->attempt_id, strerror(errno));
        goto fail;
    }
    size_t n = 0;
    argv[n++] = "docket-shim";
    argv[n++] = "--state"; argv[n++] = dir;
    argv[n++] = "--log"; argv[n++] = spec->log_path;
    argv[n++] = "--cwd"; argv[n++] = spec->work_dir;
    for (int i = 0; i < cgroup_count; i++) { argv[n++] = "--cgroup-procs"; argv[n++] = procs[i]; }
    if (switch_user) {
        snprintf(uid_text, sizeof uid_text, "%ld", (long)uid);
        snprintf(gid_text, sizeof gid_text, "%ld", (long)gid);
        argv[n++] = "--uid"; argv[n++] = uid_text;
        argv[n++] = "--gid"; argv[n++] = gid_text;
    }
    argv[n++] = "--ready-fd"; argv[n++] = "3";
    argv[n++] = "--env-fd"; argv[n++] = "4";
    argv[n++] = "--";
    for (uint32_t i = 0; i < spec->argc; i++) argv[n++] = spec->argv[i] ? spec->argv[i] : "";

    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
#ifdef POSIX_SPAWN_SETSID
    flags |= POSIX_SPAWN_SETSID; /* else the shim calls setsid() itself */
#endif
    posix_spawnattr_setflags(&attr, flags);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_adddup2(&actions, ready[1], 3);
    posix_spawn_file_actions_adddup2(&actions, env_fd, 4);
    pid_t shim_pid = 0;
    int rc = posix_spawn(&shim_pid, in->cfg.shim_path, &actions, &attr, (char *const *)argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(ready[1]);
    ready[1] = -1;
    close(env_fd);
    env_fd = -1;
    if (rc == 0 && remember_child(shim_pid) != 0) {
        /* Without a registry entry it is never reaped; the watcher still follows it. */
        host_log(in, DOCKET_LOG_WARNING, "attempt %s: out of memory recording docket-shim pid %ld", spec->attempt_id, (long)shim_pid);
    }
    if (rc != 0) {
        set_err(err, err_size, "attempt %s: cannot start the supervisor '%s' (posix_spawn: %s); check config key 'shim_path'.", spec->attempt_id, in->cfg.shim_path, strerror(rc));
        goto fail;
    }

    /* 6. Hand it to the watcher, which reports RUNNING and the exit. */
    attempt *a = calloc(1, sizeof *a);
    char *id = strdup(spec->attempt_id), *dir_copy = strdup(dir);
    if (a == NULL || id == NULL || dir_copy == NULL) {
        /* The shim runs; without memory to follow it, leave it to the next instance. */
        free(a); free(id); free(dir_copy);
        close(ready[0]);
        free(argv);
        set_err(err, err_size, "attempt %s: out of memory after starting it; restart the server to re-adopt it.", spec->attempt_id);
        return DOCKET_E_INTERNAL;
    }
    a->id = id;
    a->dir = dir_copy;
    a->shim_pid = shim_pid;
    a->ready_fd = ready[0];
    pthread_mutex_lock(&in->lock);
    a->next = in->attempts;
    in->attempts = a;
    pthread_mutex_unlock(&in->lock);
    wake_watcher(in);
    free(argv);
    return DOCKET_OK;

fail:
    if (ready[0] >= 0) close(ready[0]);
    if (ready[1] >= 0) close(ready[1]);
    if (env_fd >= 0) close(env_fd);
    free(argv);
    for (int i = 0; i < cgroup_count; i++) {
        char *slash = strrchr(procs[i], '/');
        if (slash) { *slash = '\0'; rmdir(procs[i]); }
    }
    remove_tree(dir);
    return st;
}

/* Finds a live attempt for signal/terminate; NOT_FOUND once it has an exit. Takes the lock. */
static attempt *lock_live_attempt(instance *in, const char *attempt_id, char *err, size_t err_size) {
    pthread_mutex_lock(&in->lock);
    attempt *a = attempt_id ? find_attempt(in, attempt_id) : NULL;
    if (a == NULL || a->finishing || a->shim_done || attempt_has_file(a, "exit")) {
        pthread_mutex_unlock(&in->lock);
        set_err(err, err_size, "attempt %s is not running on this process executor (unknown or already exited); nothing to signal.", attempt_id ? attempt_id : "(null)");
        return NULL;
    }
    return a;
}

/* Sends sig to the job's process group now, or once it runs. Called with the lock. */
static docket_status send_to_job(attempt *a, int sig, char *err, size_t err_size) {
    if (a->job_pid <= 0) {
        a->pending_signals |= 1ULL << sig;
        return DOCKET_OK;
    }
    if (kill(-a->job_pid, sig) != 0 && errno != ESRCH) {
        set_err(err, err_size, "attempt %s: kill(-%ld, %d) failed (%s); the server may lack permission over the job.", a->id, (long)a->job_pid, sig, strerror(errno));
        return DOCKET_E_INTERNAL;
    }
    return DOCKET_OK;
}

static docket_status process_signal(void *instance_ptr, const char *attempt_id, int32_t signal_number,
                                    char *err, size_t err_size) {
    instance *in = instance_ptr;
    if (signal_number <= 0 || signal_number >= 64) {
        set_err(err, err_size, "signal number %d is not a POSIX signal; pass one between 1 and 63.", (int)signal_number);
        return DOCKET_E_INVALID_ARGUMENT;
    }
    attempt *a = lock_live_attempt(in, attempt_id, err, err_size);
    if (a == NULL) return DOCKET_E_NOT_FOUND;
    docket_status st = send_to_job(a, signal_number, err, err_size);
    pthread_mutex_unlock(&in->lock);
    return st;
}

static docket_status process_terminate(void *instance_ptr, const char *attempt_id, int64_t grace_ms,
                                       char *err, size_t err_size) {
    instance *in = instance_ptr;
    attempt *a = lock_live_attempt(in, attempt_id, err, err_size);
    if (a == NULL) return DOCKET_E_NOT_FOUND;
    docket_status st = send_to_job(a, SIGTERM, err, err_size);
    int64_t grace = grace_ms < 0 ? 0 : grace_ms > INT32_MAX ? INT32_MAX : grace_ms;
    int64_t kill_at = monotonic_ms() + grace;
    if (a->kill_at_ms == 0 || kill_at < a->kill_at_ms) a->kill_at_ms = kill_at > 0 ? kill_at : 1;
    pthread_mutex_unlock(&in->lock);
    wake_watcher(in); /* the watcher owns the SIGKILL timer */
    return st;
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
    .description = "Runs each attempt as a process on this host under a supervisor that survives server restarts, with cgroup memory and vCPU limits.",
    .on_load = NULL,
    .executor = &process_executor,
    .policy = NULL,
};

__attribute__((visibility("default"))) const docket_plugin_descriptor *docket_plugin_entry_v1(void) {
    return &process_descriptor;
}
