/* A tiny executor whose shape is chosen at compile time, for the loader's refusal tests:
 *   -DFIXTURE_MAJOR=N      descriptor abi_major (default DOCKET_ABI_MAJOR)
 *   -DFIXTURE_MINOR=N      descriptor abi_minor (default DOCKET_ABI_MINOR)
 *   -DFIXTURE_SHORT        descriptor struct_size too small
 *   -DFIXTURE_LONG_TAIL    descriptor longer than the host's, with a non-zero unknown tail
 *   -DFIXTURE_NO_START     executor table without start
 *   -DFIXTURE_FAIL_LOAD    on_load fails with a message
 *   -DFIXTURE_NO_ENTRY     no entry symbol at all */
#include <docket/executor.h>
#include <stdio.h>
#include <string.h>

#ifndef FIXTURE_MAJOR
#define FIXTURE_MAJOR DOCKET_ABI_MAJOR
#endif
#ifndef FIXTURE_MINOR
#define FIXTURE_MINOR DOCKET_ABI_MINOR
#endif

static docket_status fx_create(const docket_host_api *h, const char *c, void **out, char *e, size_t n) { (void)h; (void)c; (void)e; (void)n; *out = (void *)1; return DOCKET_OK; }
static void fx_destroy(void *i) { (void)i; }
static docket_status fx_capacity(void *i, docket_executor_capacity *o, char *e, size_t n) { (void)i; (void)e; (void)n; o->healthy = 1; o->vcpu_millis = 1000; o->memory_mib = 100; return DOCKET_OK; }
__attribute__((unused)) static docket_status fx_start(void *i, const docket_attempt_spec *s, char *e, size_t n) { (void)i; (void)s; (void)e; (void)n; return DOCKET_E_UNSUPPORTED; }
static docket_status fx_signal(void *i, const char *a, int32_t s, char *e, size_t n) { (void)i; (void)a; (void)s; (void)e; (void)n; return DOCKET_E_NOT_FOUND; }
static docket_status fx_terminate(void *i, const char *a, int64_t g, char *e, size_t n) { (void)i; (void)a; (void)g; (void)e; (void)n; return DOCKET_E_NOT_FOUND; }
static docket_status fx_list(void *i, docket_attempt_visitor v, void *c, char *e, size_t n) { (void)i; (void)v; (void)c; (void)e; (void)n; return DOCKET_OK; }

static docket_status fx_on_load(const docket_host_api *h, char *e, size_t n) {
    (void)h;
#ifdef FIXTURE_FAIL_LOAD
    snprintf(e, n, "license file /etc/fixture.lic is missing; install it");
    return DOCKET_E_INVALID_CONFIG;
#else
    (void)e; (void)n;
    return DOCKET_OK;
#endif
}

static const docket_executor_v1 table = {
    sizeof(docket_executor_v1), 0, fx_create, fx_destroy, fx_capacity,
#ifdef FIXTURE_NO_START
    NULL,
#else
    fx_start,
#endif
    fx_signal, fx_terminate, fx_list, NULL,
};

__attribute__((unused)) static struct {
    docket_plugin_descriptor descriptor;
    uint64_t tail;
} fixture = {
    {
#if defined(FIXTURE_SHORT)
        16,
#elif defined(FIXTURE_LONG_TAIL)
        sizeof(docket_plugin_descriptor) + sizeof(uint64_t),
#else
        sizeof(docket_plugin_descriptor),
#endif
        FIXTURE_MAJOR, FIXTURE_MINOR, DOCKET_PLUGIN_KIND_EXECUTOR, "test.executor.fixture", "fixture", "0.0.1",
        "a loader test fixture", fx_on_load, &table, NULL,
    },
#ifdef FIXTURE_LONG_TAIL
    0xdeadbeef,
#else
    0,
#endif
};

#ifndef FIXTURE_NO_ENTRY
__attribute__((visibility("default"))) const docket_plugin_descriptor *docket_plugin_entry_v1(void) { return &fixture.descriptor; }
#else
__attribute__((visibility("default"))) int not_a_docket_plugin(void) { return 0; }
#endif
