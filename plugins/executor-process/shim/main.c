/*
 * docket-shim — the per-attempt supervisor of the process executor (plugins/executor-process).
 *
 * One shim runs per attempt, in its own session, so the job outlives a crash or SIGKILL of the
 * server (the same role as containerd-shim or Nomad's executor). It starts the job, waits for
 * it and records how it ended in the attempt's state directory, where the next server instance
 * finds it.
 *
 * USAGE
 *   docket-shim --state DIR --log FILE --cwd DIR [--cgroup-procs FILE]... [--uid N --gid N]
 *               [--env-fd N] [--ready-fd N] -- PROGRAM [ARG]...
 *
 * The job's environment comes through --env-fd: "NAME=value" entries, each ending in a NUL
 * byte, read to EOF. It is not the shim's own environment, because the shim runs as root until
 * the job starts, and a job definition must not reach the root process through LD_PRELOAD or
 * GLIBC_TUNABLES. Without --env-fd the job inherits the shim's environment.
 *
 * STATE DIRECTORY (every file is written to FILE.tmp and renamed, so readers never see half)
 *   shim_pid       the shim's pid, written first
 *   pid            the job's pid (also its process group id), once exec succeeded
 *   started_at_ms  epoch milliseconds when exec succeeded
 *   launch_error   one line, e.g. "exec 'nosuchcmd': No such file or directory"
 *   exit           "code N", "signal N" or "launch_failed", then "stopped_at_ms T"; written last
 *
 * READINESS: with --ready-fd N, the shim writes "<job pid>\n" to fd N once the job runs, and
 * keeps N open until it exits, so the reader sees EOF exactly when the shim is done. After a
 * launch failure it writes nothing.
 *
 * The shim ignores SIGTERM, SIGINT, SIGHUP and SIGPIPE: signals are meant for the job's process
 * group, never for the supervisor. It always exits 0 once `exit` is written, and 2 for a usage
 * error (nothing is written then).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_CGROUPS 8

extern char **environ;
static const char *state_dir;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the job's environment, NUL-separated entries, from fd into a NULL-terminated array. */
static char **read_environment(int fd) {
    size_t size = 0, capacity = 4096;
    char *data = malloc(capacity + 1);
    while (data != NULL) {
        if (size == capacity) {
            char *bigger = realloc(data, capacity * 2 + 1);
            if (bigger == NULL) { free(data); return NULL; }
            data = bigger;
            capacity *= 2;
        }
        ssize_t n = read(fd, data + size, capacity - size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { free(data); return NULL; }
        if (n == 0) break;
        size += (size_t)n;
    }
    if (data == NULL) return NULL;
    data[size] = '\0';
    size_t count = 0;
    for (size_t i = 0; i < size; i++) count += data[i] == '\0';
    char **env = calloc(count + 2, sizeof *env);
    if (env == NULL) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < size; i += strlen(data + i) + 1)
        if (data[i] != '\0') env[n++] = data + i;
    return env;
}

static ssize_t write_all(int fd, const char *data, size_t length) {
    size_t done = 0;
    while (done < length) {
        ssize_t n = write(fd, data + done, length - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* Writes `text` to <state>/<name> through a temporary file and rename, so a reader (the
 * plugin, possibly a later server instance) sees the whole file or none of it. */
static void write_state_file(const char *name, const char *text) {
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", state_dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    int ok = write_all(fd, text, strlen(text)) >= 0;
    close(fd);
    if (ok) rename(tmp, path);
    else unlink(tmp);
}

/* Closes every inherited descriptor from 3 up except `keep`: the job must not hold the
 * server's sockets or database files. */
static void close_inherited_fds(int keep) {
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL) {
        long max = sysconf(_SC_OPEN_MAX);
        if (max < 0 || max > 65536) max = 65536;
        for (int fd = 3; fd < max; fd++)
            if (fd != keep) close(fd);
        return;
    }
    int own = dirfd(dir);
    int fds[1024], count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 1024) {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9' && fd >= 3 && fd != keep && fd != own)
            fds[count++] = fd;
    }
    closedir(dir);
    for (int i = 0; i < count; i++) close(fds[i]);
}

static void set_ignored(int ignored) {
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ignored ? SIG_IGN : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}

/* Records a launch failure: the job never ran. */
static int fail_launch(const char *message) {
    char text[128];
    write_state_file("launch_error", message);
    snprintf(text, sizeof text, "launch_failed\nstopped_at_ms %lld\n", (long long)now_ms());
    write_state_file("exit", text);
    return 0;
}

/* In the forked child: reports `what` and errno to the shim through the error pipe, exits. */
static void child_fail(int err_fd, const char *what, const char *arg) {
    char message[1024];
    int saved = errno;
    snprintf(message, sizeof message, "%s '%s': %s", what, arg, strerror(saved));
    write_all(err_fd, message, strlen(message));
    _exit(127);
}

static int usage(const char *problem) {
    fprintf(stderr,
            "docket-shim: %s\n"
            "usage: docket-shim --state DIR --log FILE --cwd DIR [--cgroup-procs FILE]... "
            "[--uid N --gid N] [--env-fd N] [--ready-fd N] -- PROGRAM [ARG]...\n"
            "docket-shim is started by the process executor plugin; it is not meant to be run by hand.\n",
            problem);
    return 2;
}

int main(int argc, char **argv) {
    const char *log_path = NULL, *cwd = NULL;
    const char *cgroup_procs[MAX_CGROUPS];
    int cgroup_count = 0, ready_fd = -1, env_fd = -1;
    long uid = -1, gid = -1;
    int i = 1;

    /* 1. Arguments. */
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) { i++; break; }
        if (i + 1 >= argc) return usage("an option is missing its value");
        const char *v = argv[++i];
        if (strcmp(a, "--state") == 0) state_dir = v;
        else if (strcmp(a, "--log") == 0) log_path = v;
        else if (strcmp(a, "--cwd") == 0) cwd = v;
        else if (strcmp(a, "--cgroup-procs") == 0) {
            if (cgroup_count == MAX_CGROUPS) return usage("too many --cgroup-procs");
            cgroup_procs[cgroup_count++] = v;
        } else if (strcmp(a, "--uid") == 0) uid = strtol(v, NULL, 10);
        else if (strcmp(a, "--gid") == 0) gid = strtol(v, NULL, 10);
        else if (strcmp(a, "--ready-fd") == 0) ready_fd = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--env-fd") == 0) env_fd = (int)strtol(v, NULL, 10);
        else return usage("unknown option");
    }
    if (state_dir == NULL || log_path == NULL || cwd == NULL)
        return usage("--state, --log and --cwd are required");
    if (i >= argc) return usage("the command after -- is missing");
    if ((uid < 0) != (gid < 0)) return usage("--uid and --gid go together");
    char **command = argv + i;

    /* 2. Detach: own session, no inherited descriptors or blocked signals, immune to the
     *    signals meant for the job. */
    if (getsid(0) != getpid()) setsid();
    set_ignored(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char **job_env = NULL;
    if (env_fd >= 0) {
        job_env = read_environment(env_fd);
        close(env_fd);
    }
    close_inherited_fds(ready_fd);
    if (ready_fd >= 0) fcntl(ready_fd, F_SETFD, FD_CLOEXEC);

    char text[256];
    snprintf(text, sizeof text, "%ld\n", (long)getpid());
    write_state_file("shim_pid", text);

    /* 3. Open the log before dropping privileges, so an unprivileged job can still write it. */
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        char message[4200];
        snprintf(message, sizeof message, "open log '%s': %s", log_path, strerror(errno));
        return fail_launch(message);
    }
    if (env_fd >= 0 && job_env == NULL) return fail_launch("read the job's environment: out of memory or unreadable --env-fd");
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int err_pipe[2];
    if (null_fd < 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        snprintf(text, sizeof text, "prepare launch: %s", strerror(errno));
        return fail_launch(text);
    }

    /* 4. Fork the job. The error pipe is close-on-exec: EOF means exec succeeded, data is the
     *    reason it did not. */
    pid_t child = fork();
    if (child < 0) {
        snprintf(text, sizeof text, "fork: %s", strerror(errno));
        return fail_launch(text);
    }
    if (child == 0) {
        close(err_pipe[0]);
        setpgid(0, 0);  /* its own group: terminate signals the group, never the shim */
        set_ignored(0); /* ignored dispositions survive exec; the job gets the defaults */
        for (int c = 0; c < cgroup_count; c++) {
            int fd = open(cgroup_procs[c], O_WRONLY | O_CLOEXEC);
            int n = fd < 0 ? -1 : snprintf(text, sizeof text, "%ld\n", (long)getpid());
            if (fd < 0 || write_all(fd, text, (size_t)n) < 0) child_fail(err_pipe[1], "join cgroup", cgroup_procs[c]);
            close(fd);
        }
        if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
            child_fail(err_pipe[1], "redirect output to", log_path);
        if (chdir(cwd) != 0) child_fail(err_pipe[1], "chdir", cwd);
        if (uid >= 0) {
            snprintf(text, sizeof text, "%ld:%ld", uid, gid);
            if (setgroups(0, NULL) != 0 || setgid((gid_t)gid) != 0 || setuid((uid_t)uid) != 0)
                child_fail(err_pipe[1], "switch to user", text);
        }
        if (job_env != NULL) environ = job_env;
        if (getenv("PATH") == NULL) setenv("PATH", DEFAULT_PATH, 1);
        execvp(command[0], command);
        child_fail(err_pipe[1], "exec", command[0]);
    }
    setpgid(child, child); /* also from here, so the group exists whichever runs first */
    close(err_pipe[1]);

    char message[2048];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(err_pipe[0], message + got, sizeof message - 1 - got);
        if (n > 0 && (got += (size_t)n) < sizeof message - 1) continue;
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    message[got] = '\0';
    close(err_pipe[0]);

    int status = 0;
    if (got > 0) {
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        return fail_launch(message);
    }

    /* 5. The job runs: record it, then tell the plugin. */
    snprintf(text, sizeof text, "%ld\n", (long)child);
    write_state_file("pid", text);
    snprintf(text, sizeof text, "%lld\n", (long long)now_ms());
    write_state_file("started_at_ms", text);
    if (ready_fd >= 0) {
        snprintf(text, sizeof text, "%ld\n", (long)child);
        write_all(ready_fd, text, strlen(text)); /* EPIPE when the server is gone: fine */
    }

    /* 6. Wait, then end what is left of its group: as in a container, the job is over when
     *    its main process is. */
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) { status = -1; break; }
    }
    int64_t stopped = now_ms();
    kill(-child, SIGKILL);
    if (status == -1)
        snprintf(text, sizeof text, "code 255\nstopped_at_ms %lld\n", (long long)stopped);
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "signal %d\nstopped_at_ms %lld\n", WTERMSIG(status), (long long)stopped);
    else
        snprintf(text, sizeof text, "code %d\nstopped_at_ms %lld\n", WEXITSTATUS(status), (long long)stopped);
    write_state_file("exit", text);
    return 0;
}
