/*
 * docket-supervisor — the long-lived supervisor of one process-executor instance
 * (plugins/executor-process), in the role containerd or Nomad's executor play.
 *
 * Why it exists: a job must outlive a crash or SIGKILL of the server, and the next server must
 * learn how it ended. Only a process's parent can collect its exit status, so the parent of
 * every job is this small program, which runs in its own session. One supervisor serves one
 * compute environment for as long as it has work, so starting a job costs one fork and one
 * exec here, not a helper process per attempt.
 *
 * USAGE
 *   docket-supervisor --state DIR
 *
 * It daemonizes (the process the caller started exits 0 at once; the supervisor goes on in a
 * new session, adopted by init), takes an exclusive lock on DIR/supervisor.lock (a second
 * supervisor for DIR exits 0 quietly), and listens on the unix socket DIR/supervisor.sock
 * (mode 0600). The plugin is its one client; a new connection replaces the old one.
 *
 * PROTOCOL: frames both ways, a 4-byte little-endian length and then that many bytes of
 * NUL-terminated fields, the first field a verb. Numbers are decimal text.
 *   client -> supervisor
 *     start  ID LOG CWD UID GID NOTE NCG CG... ARGC ARG... ENVC ENV... [CPUS MEMS]
 *            UID/GID -1: keep the supervisor's (root jobs); NOTE: text the child writes to
 *            LOG before exec (Docket's own lines; may be empty); CG: cgroup.procs files to join;
 *            CPUS, MEMS: the job's CPU affinity and NUMA memory nodes as Linux lists ("0-3,8"),
 *            empty for none. They come last so that a supervisor older than them, which may
 *            outlive an upgrade of the server, still parses the frame (and does not pin).
 *     signal ID SIGNO       to the job's process group; ignored once the job has ended
 *     ack    ID             the client has reported ID's exit: forget it
 *   supervisor -> client
 *     running ID PID STARTED_MS
 *     exited  ID KIND VALUE STARTED_MS STOPPED_MS LAUNCH_ERROR
 *             KIND: code (VALUE the exit code), signal (VALUE the signal), launch_failed
 *     synced                sent after the replay that opens every connection
 *     replaced              a newer connection took over; this one closes
 * On every new connection the supervisor first replays what it holds: `running` for each
 * running job, `exited` for each exit not yet acknowledged; then `synced`.
 *
 * LIFETIME: with no client and no running job it exits after LINGER_MS, first writing the
 * exits nobody acknowledged to DIR/exits, which the next supervisor loads. Jobs get
 * PR_SET_PDEATHSIG SIGKILL: if the supervisor itself is killed, its jobs die with it rather
 * than run unsupervised, and the plugin reports them lost (and removes their cgroups).
 *
 * A job's child: its own process group; the cgroups joined; its CPU affinity
 * (sched_setaffinity) and memory policy (set_mempolicy MPOL_BIND) set; stdin /dev/null, stdout and
 * stderr appended to LOG; chdir CWD; privileges dropped; the given environment (PATH added
 * when it has none); execvp. Exec errors come back through a close-on-exec pipe, so RUNNING
 * is reported only once exec has succeeded. When the job's main process ends, what is left
 * of its group is killed, as a container ends with its PID 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define LINGER_MS 2000
#define MAX_CGROUPS 8
#define MEMPOLICY_BIND 2 /* MPOL_BIND from <linux/mempolicy.h>; set_mempolicy has no libc wrapper */

extern char **environ;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const void *data, size_t length) {
    const char *p = data;
    while (length > 0) {
        ssize_t n = write(fd, p, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

/* ---- Jobs ----------------------------------------------------------------------------------- */

typedef struct job {
    struct job *next;
    char *id;
    pid_t pid;              /* also its process group */
    int launch_fd;          /* read end of the exec-error pipe; -1 once it closed */
    char launch_error[512]; /* what the child wrote there: why exec did not happen */
    size_t launch_error_length;
    int reaped;             /* waitpid collected status */
    int status;
    int ended;              /* reaped and the pipe closed: the outcome is final */
    int64_t started_ms, stopped_ms;
} job;

static job *jobs;
static int client_fd = -1;
static const char *state_dir;

static job *find_job(const char *id) {
    for (job *j = jobs; j != NULL; j = j->next)
        if (strcmp(j->id, id) == 0) return j;
    return NULL;
}

static void remove_job(job *gone) {
    for (job **link = &jobs; *link != NULL; link = &(*link)->next)
        if (*link == gone) { *link = gone->next; break; }
    if (gone->launch_fd >= 0) close(gone->launch_fd);
    free(gone->id);
    free(gone);
}

/* ---- Frames --------------------------------------------------------------------------------- */

/* Sends a frame to the client; a client that cannot take it is dropped (it reconnects and
 * gets the replay). */
static void frame_send(supervisor_frame *f) {
    const char *bytes = frame_finish(f);
    if (client_fd >= 0 && bytes != NULL && write_all(client_fd, bytes, f->length) != 0) {
        close(client_fd);
        client_fd = -1;
    }
    frame_free(f);
}

static void send_running(const job *j) {
    supervisor_frame f = {0};
    frame_add(&f, "running");
    frame_add(&f, j->id);
    frame_add_number(&f, j->pid);
    frame_add_number(&f, j->started_ms);
    frame_send(&f);
}

/* The exit as its fields: kind, value. */
static const char *exit_kind(const job *j, long long *value) {
    if (j->launch_error_length > 0 || j->started_ms == 0) { *value = 0; return "launch_failed"; }
    if (WIFSIGNALED(j->status)) { *value = WTERMSIG(j->status); return "signal"; }
    *value = WIFEXITED(j->status) ? WEXITSTATUS(j->status) : 255;
    return "code";
}

static void send_exited(const job *j) {
    supervisor_frame f = {0};
    long long value;
    frame_add(&f, "exited");
    frame_add(&f, j->id);
    frame_add(&f, exit_kind(j, &value));
    frame_add_number(&f, value);
    frame_add_number(&f, j->started_ms);
    frame_add_number(&f, j->stopped_ms);
    frame_add(&f, j->launch_error_length > 0 ? j->launch_error : (j->started_ms == 0 ? "the job's process ended before exec" : ""));
    frame_send(&f);
}

/* ---- Starting a job ------------------------------------------------------------------------ */

/* In the forked child: reports `what` and errno through the pipe, then exits. */
static void child_fail(int err_fd, const char *what, const char *arg) {
    char message[1024];
    int saved = errno;
    int n = snprintf(message, sizeof message, "%s '%s': %s", what, arg, strerror(saved));
    if (n > 0) write_all(err_fd, message, (size_t)n < sizeof message ? (size_t)n : sizeof message - 1);
    _exit(127);
}

/* Fields of a start frame, in order; see the protocol above. Pointers into the frame. */
typedef struct start_request {
    const char *id, *log, *cwd, *note;
    long uid, gid;
    const char *cgroups[MAX_CGROUPS];
    int cgroup_count;
    char **argv;
    char **env;
    const char *cpus, *mems; /* "" when not pinned */
} start_request;

/* In the forked child: the CPU affinity and the NUMA memory nodes the job keeps across exec.
 * The plugin has validated both lists; an error here (a CPU outside the supervisor's cpuset,
 * say) fails the launch with the variable named. */
static void pin_child(int err_fd, const start_request *r) {
    unsigned char set[SUPERVISOR_LIST_BYTES];
    if (r->cpus[0] != '\0') {
        cpu_set_t *cpus = CPU_ALLOC(SUPERVISOR_LIST_MAX_ID + 1);
        size_t size = CPU_ALLOC_SIZE(SUPERVISOR_LIST_MAX_ID + 1);
        if (cpus == NULL || supervisor_list_parse(r->cpus, set, NULL) <= 0) {
            errno = EINVAL;
            child_fail(err_fd, "pin to DOCKET_CPUSET_CPUS", r->cpus);
        }
        CPU_ZERO_S(size, cpus);
        for (long id = 0; id <= SUPERVISOR_LIST_MAX_ID; id++)
            if (supervisor_list_has(set, id)) CPU_SET_S((size_t)id, size, cpus);
        if (sched_setaffinity(0, size, cpus) != 0) child_fail(err_fd, "pin to DOCKET_CPUSET_CPUS", r->cpus);
        CPU_FREE(cpus);
    }
    if (r->mems[0] != '\0') {
        unsigned long mask[SUPERVISOR_LIST_BYTES / sizeof(unsigned long)];
        memset(mask, 0, sizeof mask);
        if (supervisor_list_parse(r->mems, set, NULL) <= 0) {
            errno = EINVAL;
            child_fail(err_fd, "bind memory to DOCKET_CPUSET_MEMS", r->mems);
        }
        for (long id = 0; id <= SUPERVISOR_LIST_MAX_ID; id++)
            if (supervisor_list_has(set, id)) mask[id / (8 * sizeof(unsigned long))] |= 1ul << (id % (8 * sizeof(unsigned long)));
        /* maxnode is one more than the bits passed: the kernel reads maxnode - 1 of them. */
        if (syscall(SYS_set_mempolicy, MEMPOLICY_BIND, mask, (unsigned long)(sizeof mask * 8 + 1)) != 0)
            child_fail(err_fd, "bind memory to DOCKET_CPUSET_MEMS", r->mems);
    }
}

static void start_job(start_request *r) {
    if (find_job(r->id) != NULL) return; /* a repeated start: the first one stands */
    job *j = calloc(1, sizeof *j);
    char *id = strdup(r->id);
    int pipe_fds[2] = {-1, -1};
    if (j == NULL || id == NULL || pipe2(pipe_fds, O_CLOEXEC) != 0) {
        job failed = {.id = (char *)r->id, .ended = 1, .stopped_ms = now_ms()};
        failed.launch_error_length = (size_t)snprintf(failed.launch_error, sizeof failed.launch_error,
                                                      "the supervisor could not prepare the launch: %s", strerror(errno));
        free(j);
        free(id);
        send_exited(&failed); /* not kept: the client acks nothing it was never told it holds */
        return;
    }
    pid_t supervisor = getpid();
    pid_t child = fork();
    if (child == 0) {
        close(pipe_fds[0]);
        int err_fd = pipe_fds[1];
        setpgid(0, 0); /* its own group: signals go to the group, never to the supervisor */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &sa, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        char text[32];
        for (int c = 0; c < r->cgroup_count; c++) {
            int fd = open(r->cgroups[c], O_WRONLY | O_CLOEXEC);
            int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
            if (fd < 0 || write_all(fd, text, (size_t)n) != 0) child_fail(err_fd, "join cgroup", r->cgroups[c]);
            close(fd);
        }
        pin_child(err_fd, r); /* after the cgroups: joining a cpuset resets the affinity */
        int log_fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd < 0) child_fail(err_fd, "open log", r->log);
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
            child_fail(err_fd, "redirect output to", r->log);
        if (r->note[0] != '\0') write_all(1, r->note, strlen(r->note));
        if (chdir(r->cwd) != 0) child_fail(err_fd, "chdir", r->cwd);
        if (r->uid >= 0) {
            snprintf(text, sizeof text, "%ld:%ld", r->uid, r->gid);
            if (setgroups(0, NULL) != 0 || setgid((gid_t)r->gid) != 0 || setuid((uid_t)r->uid) != 0)
                child_fail(err_fd, "switch to user", text);
        }
        /* After the switch of user, which would clear it: a job outlives its supervisor only
         * as a process nobody can report on, so it dies with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != supervisor) _exit(127); /* the supervisor died before prctl */
        environ = r->env;
        if (getenv("PATH") == NULL) setenv("PATH", DEFAULT_PATH, 1);
        execvp(r->argv[0], r->argv);
        child_fail(err_fd, "exec", r->argv[0]);
    }
    close(pipe_fds[1]);
    if (child < 0) {
        close(pipe_fds[0]);
        job failed = {.id = id, .ended = 1, .stopped_ms = now_ms()};
        failed.launch_error_length = (size_t)snprintf(failed.launch_error, sizeof failed.launch_error, "fork: %s", strerror(errno));
        send_exited(&failed);
        free(id);
        free(j);
        return;
    }
    setpgid(child, child); /* also from here, so the group exists whichever runs first */
    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    j->id = id;
    j->pid = child;
    j->launch_fd = pipe_fds[0];
    j->next = jobs;
    jobs = j;
}

/* The exec-error pipe has data or EOF. EOF without data: exec succeeded, the job runs. */
static void read_launch_pipe(job *j) {
    for (;;) {
        char *buffer = j->launch_error + j->launch_error_length;
        size_t room = sizeof j->launch_error - 1 - j->launch_error_length;
        char scratch[64];
        ssize_t n = read(j->launch_fd, room > 0 ? buffer : scratch, room > 0 ? room : sizeof scratch);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return; /* EAGAIN: more later */
        if (n > 0) {
            if (room > 0) j->launch_error_length += (size_t)n;
            j->launch_error[j->launch_error_length] = '\0';
            continue;
        }
        close(j->launch_fd);
        j->launch_fd = -1;
        if (j->launch_error_length == 0 && !j->reaped) {
            j->started_ms = now_ms();
            send_running(j);
        } else if (j->launch_error_length == 0) {
            /* Reaped before we saw the pipe close: it exec'd (no error) and already ended. */
            j->started_ms = j->stopped_ms;
            send_running(j);
        }
        return;
    }
}

static void finish_if_done(job *j) {
    if (j->ended || !j->reaped || j->launch_fd >= 0) return;
    j->ended = 1;
    send_exited(j);
}

static void reap_children(void) {
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        for (job *j = jobs; j != NULL; j = j->next) {
            if (j->pid != pid || j->reaped) continue;
            j->reaped = 1;
            j->status = status;
            j->stopped_ms = now_ms();
            kill(-pid, SIGKILL); /* the rest of its group ends with it */
            if (j->launch_fd >= 0) read_launch_pipe(j);
            finish_if_done(j);
            break;
        }
    }
}

/* ---- Requests ------------------------------------------------------------------------------ */

static void handle_frame(char *data, size_t length) {
    char **fields = NULL;
    int count = frame_fields(data, length, &fields);
    if (count < 1) { free(fields); return; }
    const char *verb = fields[0];
    if (strcmp(verb, "signal") == 0 && count >= 3) {
        job *j = find_job(fields[1]);
        int sig = atoi(fields[2]);
        if (j != NULL && !j->reaped && sig > 0 && sig < NSIG) kill(-j->pid, sig);
    } else if (strcmp(verb, "ack") == 0 && count >= 2) {
        job *j = find_job(fields[1]);
        if (j != NULL && j->ended) remove_job(j);
    } else if (strcmp(verb, "start") == 0 && count >= 9) {
        start_request r;
        memset(&r, 0, sizeof r);
        int i = 1;
        r.id = fields[i++];
        r.log = fields[i++];
        r.cwd = fields[i++];
        r.uid = strtol(fields[i++], NULL, 10);
        r.gid = strtol(fields[i++], NULL, 10);
        r.note = fields[i++];
        long cgroups = strtol(fields[i++], NULL, 10);
        if (cgroups < 0 || cgroups > MAX_CGROUPS || i + cgroups >= count) goto done;
        for (long c = 0; c < cgroups; c++) r.cgroups[r.cgroup_count++] = fields[i++];
        long argc = strtol(fields[i++], NULL, 10);
        if (argc < 1 || i + argc >= count) goto done;
        char **argv = calloc((size_t)argc + 1, sizeof *argv);
        if (argv == NULL) goto done;
        for (long a = 0; a < argc; a++) argv[a] = fields[i++];
        long envc = strtol(fields[i++], NULL, 10);
        if (envc < 0 || i + envc > count) { free(argv); goto done; }
        char **env = calloc((size_t)envc + 1, sizeof *env);
        if (env == NULL) { free(argv); goto done; }
        for (long e = 0; e < envc; e++) env[e] = fields[i++];
        r.argv = argv;
        r.env = env;
        r.cpus = i + 2 <= count ? fields[i] : "";
        r.mems = i + 2 <= count ? fields[i + 1] : "";
        start_job(&r); /* the child copies what it needs before exec; the parent keeps nothing */
        free(argv);
        free(env);
    }
done:
    free(fields);
}

/* Reads what the client sent and handles every complete frame. Returns 0 at EOF or error. */
static int read_client(char **buffer, size_t *length, size_t *capacity) {
    for (;;) {
        if (*capacity - *length < 65536) {
            size_t bigger = *capacity * 2 + 65536;
            char *grown = realloc(*buffer, bigger);
            if (grown == NULL) return 0;
            *buffer = grown;
            *capacity = bigger;
        }
        ssize_t n = recv(client_fd, *buffer + *length, *capacity - *length, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) return 0;
        *length += (size_t)n;
    }
    size_t offset = 0;
    while (*length - offset >= 4) {
        uint32_t size = frame_payload_length(*buffer + offset);
        if (size > SUPERVISOR_MAX_FRAME) return 0;
        if (*length - offset - 4 < size) break;
        handle_frame(*buffer + offset + 4, size);
        offset += 4 + size;
    }
    memmove(*buffer, *buffer + offset, *length - offset);
    *length -= offset;
    return 1;
}

static void replay(void) {
    for (job *j = jobs; j != NULL; j = j->next) {
        if (j->started_ms > 0 && !j->ended) send_running(j);
        if (j->ended) send_exited(j);
    }
    supervisor_frame f = {0};
    frame_add(&f, "synced");
    frame_send(&f);
}

/* ---- Exits kept across supervisors ---------------------------------------------------------- */

/* One line per unacknowledged exit: ID KIND VALUE STARTED STOPPED then the launch error. */
static void save_exits(void) {
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/exits", state_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int any = 0;
    for (job *j = jobs; j != NULL; j = j->next) any |= j->ended;
    if (!any) { unlink(path); return; }
    FILE *out = fopen(tmp, "w");
    if (out == NULL) return;
    for (job *j = jobs; j != NULL; j = j->next) {
        if (!j->ended) continue;
        long long value;
        const char *kind = exit_kind(j, &value);
        for (char *c = j->launch_error; *c; c++) if (*c == '\n') *c = ' ';
        fprintf(out, "%s %s %lld %lld %lld %s\n", j->id, kind, value, (long long)j->started_ms, (long long)j->stopped_ms, j->launch_error);
    }
    if (fflush(out) == 0 && fsync(fileno(out)) == 0 && fclose(out) == 0) rename(tmp, path);
    else unlink(tmp);
}

static void load_exits(void) {
    char path[PATH_MAX], line[2048];
    snprintf(path, sizeof path, "%s/exits", state_dir);
    FILE *in = fopen(path, "r");
    if (in == NULL) return;
    while (fgets(line, sizeof line, in) != NULL) {
        char id[512], kind[32];
        long long value, started, stopped;
        int used = 0;
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line, "%511s %31s %lld %lld %lld %n", id, kind, &value, &started, &stopped, &used) < 5) continue;
        job *j = calloc(1, sizeof *j);
        if (j == NULL || (j->id = strdup(id)) == NULL) { free(j); continue; }
        j->launch_fd = -1;
        j->reaped = j->ended = 1;
        j->started_ms = started;
        j->stopped_ms = stopped;
        if (strcmp(kind, "launch_failed") == 0) {
            snprintf(j->launch_error, sizeof j->launch_error, "%s", used > 0 ? line + used : "");
            j->launch_error_length = strlen(j->launch_error);
            if (j->launch_error_length == 0) j->started_ms = 0;
        } else if (strcmp(kind, "signal") == 0) {
            j->status = (int)value & 0x7f; /* as waitpid encodes a signal death */
        } else {
            j->status = ((int)value & 0xff) << 8;
        }
        j->next = jobs;
        jobs = j;
    }
    fclose(in);
    unlink(path); /* held in memory now; written again if this supervisor leaves them behind */
}

/* ---- Main ----------------------------------------------------------------------------------- */

static int usage(const char *problem) {
    fprintf(stderr, "docket-supervisor: %s\nusage: docket-supervisor --state DIR\n"
                    "docket-supervisor is started by the process executor plugin; it is not meant to be run by hand.\n", problem);
    return 2;
}

int main(int argc, char **argv) {
    if (argc != 3 || strcmp(argv[1], "--state") != 0 || argv[2][0] != '/') return usage("--state DIR (an absolute path) is required");
    state_dir = argv[2];
    char path[PATH_MAX];

    /* 1. Daemonize: the caller's child exits at once (the caller reaps it); the supervisor
     *    goes on in its own session, an orphan adopted by init, never the server's zombie. */
    pid_t daemon = fork();
    if (daemon < 0) return 1;
    if (daemon > 0) _exit(0);
    setsid();
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) { dup2(null_fd, 0); dup2(null_fd, 1); dup2(null_fd, 2); }
    /* Nothing of the server's may reach the jobs: every descriptor above 2 goes (it may hold
     * thousands, and not all of them close-on-exec). */
    if (null_fd > 2) close(null_fd);
    if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
        for (int fd = 3; fd < 65536; fd++) close(fd);
    }
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGTERM, &ignore, NULL); /* signals are meant for jobs, never for their parent */
    sigaction(SIGINT, &ignore, NULL);
    sigaction(SIGHUP, &ignore, NULL);
    sigaction(SIGPIPE, &ignore, NULL);

    /* 2. One supervisor per state directory: the lock is held for life. */
    snprintf(path, sizeof path, "%s/supervisor.lock", state_dir);
    int lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) return 0;
    load_exits();

    /* 3. Children are reaped through a signalfd; the socket the plugin connects to. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int signal_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    /* Bound by a relative name from inside the directory: a unix socket's path is limited to
     * 108 bytes, a state directory is not. Jobs chdir to their own directories. */
    if (chdir(state_dir) != 0) return 1;
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    strcpy(address.sun_path, SUPERVISOR_SOCKET);
    unlink(address.sun_path);
    int listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    mode_t old_mask = umask(077);
    int bound = listen_fd >= 0 && bind(listen_fd, (struct sockaddr *)&address, sizeof address) == 0;
    umask(old_mask);
    if (signal_fd < 0 || !bound || listen(listen_fd, 8) != 0) return 1;
    snprintf(path, sizeof path, "%s/supervisor.pid", state_dir);
    FILE *pid_file = fopen(path, "w");
    if (pid_file != NULL) { fprintf(pid_file, "%ld\n", (long)getpid()); fclose(pid_file); }

    /* 4. The loop. */
    char *buffer = NULL;
    size_t length = 0, capacity = 0;
    struct pollfd *fds = NULL;
    job **owners = NULL;
    size_t fds_capacity = 0;
    int64_t idle_since = monotonic_ms();
    for (;;) {
        size_t count = 3;
        for (job *j = jobs; j != NULL; j = j->next) count += j->launch_fd >= 0;
        if (count > fds_capacity) {
            fds_capacity = count * 2;
            fds = realloc(fds, fds_capacity * sizeof *fds);
            owners = realloc(owners, fds_capacity * sizeof *owners);
            if (fds == NULL || owners == NULL) return 1;
        }
        fds[0] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
        fds[1] = (struct pollfd){.fd = signal_fd, .events = POLLIN};
        fds[2] = (struct pollfd){.fd = client_fd, .events = POLLIN};
        size_t n = 3;
        for (job *j = jobs; j != NULL; j = j->next)
            if (j->launch_fd >= 0) { owners[n] = j; fds[n++] = (struct pollfd){.fd = j->launch_fd, .events = POLLIN}; }

        int running = 0;
        for (job *j = jobs; j != NULL; j = j->next) running |= !j->ended;
        int idle = client_fd < 0 && !running;
        if (!idle) idle_since = monotonic_ms();
        int timeout = -1;
        if (idle) {
            int64_t left = idle_since + LINGER_MS - monotonic_ms();
            if (left <= 0) {
                struct pollfd pending = {.fd = listen_fd, .events = POLLIN};
                if (poll(&pending, 1, 0) == 0) break; /* nobody is connecting: leave */
                left = 0;
            }
            timeout = (int)left;
        }
        if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR) return 1;

        if (fds[1].revents) {
            struct signalfd_siginfo info;
            while (read(signal_fd, &info, sizeof info) > 0) {}
            reap_children();
        }
        for (size_t i = 3; i < n; i++)
            if (fds[i].revents && owners[i]->launch_fd >= 0) {
                read_launch_pipe(owners[i]);
                finish_if_done(owners[i]);
            }
        if (fds[2].revents && client_fd >= 0 && !read_client(&buffer, &length, &capacity)) {
            close(client_fd);
            client_fd = -1;
        }
        if (fds[0].revents) {
            int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                if (client_fd >= 0) { /* a new server instance replaces the old */
                    supervisor_frame f = {0};
                    frame_add(&f, "replaced");
                    frame_send(&f);
                    if (client_fd >= 0) close(client_fd);
                }
                client_fd = fd;
                length = 0;
                struct timeval limit = {5, 0}; /* a client that stops reading is dropped */
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
                replay(); /* writes block (up to the limit); reads never do (MSG_DONTWAIT) */
            }
        }
    }

    /* 5. Leaving: what nobody acknowledged goes to a file the next supervisor loads. */
    unlink(address.sun_path);
    save_exits();
    snprintf(path, sizeof path, "%s/supervisor.pid", state_dir);
    unlink(path);
    return 0;
}
