/*
 * inline_executor.c — a minimal Docket executor in plain C, built from include/docket alone.
 *
 * It runs each attempt as a child of the server (fork + exec of argv, no shell), streams the
 * job's stdout and stderr to the host through append_attempt_log, and reports RUNNING and the
 * exit. One thread per attempt does the waiting. It keeps no state on disk, so it cannot
 * re-adopt jobs after a restart: list_running names only the jobs of this process. Copy it as
 * a starting point; plugins/executor-process shows re-adoption and resource limits.
 *
 *   cc -std=c11 -shared -fPIC -I include -o libinline_executor.so examples/c-executor/inline_executor.c
 */
#define _GNU_SOURCE /* pipe2 */
#include <docket/executor.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct job {
    struct job *next;
    struct inline_executor *owner;
    char *attempt_id;
    pid_t pid;           /* also the job's process group */
    int out_fd, err_fd;  /* read ends of its stdout and stderr pipes */
    int64_t kill_at_ms;  /* set by terminate: SIGKILL after the grace period; 0 = none */
} job;

typedef struct inline_executor {
    const docket_host_api *host;
    int64_t vcpus, memory_mib;
    pthread_mutex_t lock;  /* guards jobs, closed and refs */
    job *jobs;
    int closed;            /* destroy was called: no more host callbacks */
    int refs;              /* 1 for the host + 1 per job thread; the last one frees */
} inline_executor;

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void release(inline_executor *ex) {
    pthread_mutex_lock(&ex->lock);
    int last = --ex->refs == 0;
    pthread_mutex_unlock(&ex->lock);
    if (last) {
        pthread_mutex_destroy(&ex->lock);
        free(ex);
    }
}

/* Forwards what a pipe holds to the job's log. Closes it at EOF (*fd becomes -1).
 * Returns the bytes forwarded: 0 at EOF or when nothing is waiting (non-blocking pipe). */
static ssize_t forward(job *j, int *fd, int32_t stream) {
    char buf[4096];
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        close(*fd);
        *fd = -1;
    }
    if (n <= 0) return 0;
    inline_executor *ex = j->owner;
    pthread_mutex_lock(&ex->lock);
    if (!ex->closed) ex->host->append_attempt_log(ex->host->ctx, j->attempt_id, stream, buf, (size_t)n);
    pthread_mutex_unlock(&ex->lock);
    return n;
}

/* One per attempt: forwards output until both pipes close, reaps the child, reports. */
static void *follow_job(void *arg) {
    job *j = arg;
    inline_executor *ex = j->owner;
    int status = 0;
    for (;;) {
        /* Wake every 100 ms (10 ms once both pipes are closed) for terminate's deadline and
         * the child's exit. Negative fds are ignored by poll. */
        struct pollfd fds[2] = {{j->out_fd, POLLIN, 0}, {j->err_fd, POLLIN, 0}};
        poll(fds, 2, j->out_fd < 0 && j->err_fd < 0 ? 10 : 100);
        if (fds[0].revents) forward(j, &j->out_fd, DOCKET_STREAM_STDOUT);
        if (fds[1].revents) forward(j, &j->err_fd, DOCKET_STREAM_STDERR);
        pthread_mutex_lock(&ex->lock);
        if (j->kill_at_ms && monotonic_ms() >= j->kill_at_ms) { kill(-j->pid, SIGKILL); j->kill_at_ms = 0; }
        pthread_mutex_unlock(&ex->lock);
        /* The job is over when its process is: background children holding the pipes do not
         * keep it alive. */
        pid_t done = waitpid(j->pid, &status, WNOHANG);
        if (done == j->pid || (done < 0 && errno == ECHILD)) break;
    }
    kill(-j->pid, SIGKILL); /* whatever the job left behind in its group */
    while (j->out_fd >= 0 && forward(j, &j->out_fd, DOCKET_STREAM_STDOUT) > 0) {}
    while (j->err_fd >= 0 && forward(j, &j->err_fd, DOCKET_STREAM_STDERR) > 0) {}

    docket_attempt_exit exit_info = {.struct_size = sizeof exit_info};
    if (WIFSIGNALED(status)) {
        exit_info.outcome = DOCKET_EXIT_SIGNAL;
        exit_info.signal = WTERMSIG(status);
        exit_info.exit_code = 128 + exit_info.signal;
    } else {
        exit_info.outcome = DOCKET_EXIT_CODE;
        exit_info.exit_code = WEXITSTATUS(status);
    }
    pthread_mutex_lock(&ex->lock);
    for (job **link = &ex->jobs; *link; link = &(*link)->next)
        if (*link == j) { *link = j->next; break; }
    if (!ex->closed) ex->host->attempt_exited(ex->host->ctx, j->attempt_id, &exit_info);
    pthread_mutex_unlock(&ex->lock);

    if (j->out_fd >= 0) close(j->out_fd);
    if (j->err_fd >= 0) close(j->err_fd);
    free(j->attempt_id);
    free(j);
    release(ex);
    return NULL;
}

/* Reads an integer config key from a flat JSON object; a real plugin should parse JSON. */
static int64_t config_number(const char *json, const char *key, int64_t fallback) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *at = json ? strstr(json, quoted) : NULL;
    if (at == NULL || (at = strchr(at + strlen(quoted), ':')) == NULL) return fallback;
    return strtoll(at + 1, NULL, 10);
}

static docket_status inline_create(const docket_host_api *host, const char *config_json,
                                   void **out_instance, char *err, size_t err_size) {
    inline_executor *ex = calloc(1, sizeof *ex);
    if (ex == NULL) {
        snprintf(err, err_size, "inline executor: out of memory creating the instance.");
        return DOCKET_E_INTERNAL;
    }
    ex->host = host;
    ex->vcpus = config_number(config_json, "vcpus", 1);
    ex->memory_mib = config_number(config_json, "memory_mib", 1024);
    ex->refs = 1;
    if (ex->vcpus < 1 || ex->memory_mib < 1) {
        snprintf(err, err_size, "config keys 'vcpus' and 'memory_mib' must be 1 or more; fix them in the compute environment's settings.");
        free(ex);
        return DOCKET_E_INVALID_CONFIG;
    }
    pthread_mutex_init(&ex->lock, NULL);
    *out_instance = ex;
    return DOCKET_OK;
}

/* Jobs keep running; their threads stay quiet from now on and the last one frees. */
static void inline_destroy(void *instance) {
    inline_executor *ex = instance;
    pthread_mutex_lock(&ex->lock);
    ex->closed = 1;
    pthread_mutex_unlock(&ex->lock);
    release(ex);
}

static docket_status inline_capacity(void *instance, docket_executor_capacity *out,
                                     char *err, size_t err_size) {
    inline_executor *ex = instance;
    (void)err, (void)err_size;
    out->healthy = 1; /* every 1.0 field fits any host's struct */
    out->vcpu_millis = ex->vcpus * 1000;
    out->memory_mib = ex->memory_mib;
    out->gpu_count = 0;
    return DOCKET_OK;
}

static docket_status inline_start(void *instance, const docket_attempt_spec *spec,
                                  char *err, size_t err_size) {
    inline_executor *ex = instance;
    if (spec->argc == 0 || spec->argv[0] == NULL) {
        snprintf(err, err_size, "attempt %s: spec field `argv` is empty; give the job a command.", spec->attempt_id);
        return DOCKET_E_INVALID_ARGUMENT;
    }
    /* Everything the child needs is built before fork: after fork, only exec-safe calls. */
    char **argv = calloc(spec->argc + 1, sizeof *argv);
    char **envp = calloc(spec->env_count + 1, sizeof *envp);
    job *j = calloc(1, sizeof *j);
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, launch[2] = {-1, -1};
    docket_status st = DOCKET_E_INVALID_ARGUMENT;
    if (!argv || !envp || !j || pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || pipe2(launch, O_CLOEXEC)) {
        snprintf(err, err_size, "attempt %s: cannot prepare the launch (%s); check memory and the open file limit.", spec->attempt_id, strerror(errno));
        goto fail;
    }
    for (uint32_t i = 0; i < spec->argc; i++) argv[i] = (char *)spec->argv[i];
    for (uint32_t i = 0; i < spec->env_count; i++) envp[i] = (char *)spec->env[i];

    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, err_size, "attempt %s: fork failed (%s); the host may be out of processes.", spec->attempt_id, strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        setpgid(0, 0); /* its own group, so signal and terminate reach its children too */
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        dup2(null_fd, 0);
        dup2(out[1], 1);
        dup2(errp[1], 2);
        if (spec->work_dir == NULL || chdir(spec->work_dir) == 0) execvpe(argv[0], argv, envp);
        int e = errno; /* the close-on-exec launch pipe carries the errno back */
        ssize_t ignored = write(launch[1], &e, sizeof e);
        (void)ignored;
        _exit(127);
    }
    setpgid(pid, pid);
    close(out[1]);
    close(errp[1]);
    close(launch[1]);
    out[1] = errp[1] = launch[1] = -1;
    int exec_errno = 0;
    ssize_t got;
    while ((got = read(launch[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {}
    if (got > 0) {
        /* It never ran. An error from start means the host fails the attempt itself. */
        waitpid(pid, NULL, 0);
        snprintf(err, err_size, "attempt %s: spec field `argv`: exec '%s' in '%s': %s; fix the job's command or work_dir.",
                 spec->attempt_id, spec->argv[0], spec->work_dir ? spec->work_dir : ".", strerror(exec_errno));
        free(j);
        j = NULL;
        goto fail_argument;
    }
    close(launch[0]);
    free(argv);
    free(envp);

    j->owner = ex;
    j->attempt_id = strdup(spec->attempt_id);
    j->pid = pid;
    j->out_fd = out[0];
    j->err_fd = errp[0];
    fcntl(j->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(j->err_fd, F_SETFL, O_NONBLOCK);
    pthread_mutex_lock(&ex->lock);
    char detail[32];
    snprintf(detail, sizeof detail, "pid %ld", (long)pid);
    ex->host->attempt_running(ex->host->ctx, spec->attempt_id, detail);
    j->next = ex->jobs;
    ex->jobs = j;
    ex->refs++;
    pthread_mutex_unlock(&ex->lock);

    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attr, follow_job, j) != 0) follow_job(j); /* degrade: wait here */
    pthread_attr_destroy(&attr);
    return DOCKET_OK;

fail:
    st = DOCKET_E_INTERNAL;
fail_argument:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0) close(out[i]);
        if (errp[i] >= 0) close(errp[i]);
        if (launch[i] >= 0) close(launch[i]);
    }
    free(argv);
    free(envp);
    free(j);
    return st;
}

/* Sends sig to the job's process group; NOT_FOUND if the attempt is not running here. */
static docket_status signal_job(inline_executor *ex, const char *attempt_id, int sig, int64_t kill_at_ms,
                                char *err, size_t err_size) {
    pthread_mutex_lock(&ex->lock);
    job *j = ex->jobs;
    while (j && strcmp(j->attempt_id, attempt_id) != 0) j = j->next;
    if (j) {
        kill(-j->pid, sig);
        if (kill_at_ms) j->kill_at_ms = kill_at_ms;
    }
    pthread_mutex_unlock(&ex->lock);
    if (j) return DOCKET_OK;
    snprintf(err, err_size, "attempt %s is not running on this inline executor; nothing to signal.", attempt_id);
    return DOCKET_E_NOT_FOUND;
}

static docket_status inline_signal(void *instance, const char *attempt_id, int32_t signal_number,
                                   char *err, size_t err_size) {
    return signal_job(instance, attempt_id, signal_number, 0, err, err_size);
}

static docket_status inline_terminate(void *instance, const char *attempt_id, int64_t grace_ms,
                                      char *err, size_t err_size) {
    return signal_job(instance, attempt_id, SIGTERM, monotonic_ms() + (grace_ms > 0 ? grace_ms : 0) + 1, err, err_size);
}

static docket_status inline_list_running(void *instance, docket_attempt_visitor visit, void *visit_ctx,
                                         char *err, size_t err_size) {
    inline_executor *ex = instance;
    (void)err, (void)err_size;
    pthread_mutex_lock(&ex->lock);
    for (job *j = ex->jobs; j; j = j->next) visit(visit_ctx, j->attempt_id);
    pthread_mutex_unlock(&ex->lock);
    return DOCKET_OK;
}

static const docket_executor_v1 inline_table = {
    .struct_size = sizeof(docket_executor_v1),
    .create = inline_create,
    .destroy = inline_destroy,
    .capacity = inline_capacity,
    .start = inline_start,
    .signal = inline_signal,
    .terminate = inline_terminate,
    .list_running = inline_list_running,
};

static const docket_plugin_descriptor inline_descriptor = {
    .struct_size = sizeof(docket_plugin_descriptor),
    .abi_major = DOCKET_ABI_MAJOR,
    .abi_minor = DOCKET_ABI_MINOR,
    .kind = DOCKET_PLUGIN_KIND_EXECUTOR,
    .id = "org.example.executor.inline",
    .name = "inline",
    .version = "1.0.0",
    .description = "Example: runs each attempt as a child process of the server and streams its output.",
    .executor = &inline_table,
};

__attribute__((visibility("default"))) const docket_plugin_descriptor *docket_plugin_entry_v1(void) {
    return &inline_descriptor;
}
