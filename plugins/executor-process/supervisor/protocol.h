/*
 * protocol.h — the frames the process executor and docket-supervisor exchange over the
 * supervisor's unix socket (main.c describes the verbs). Shared by both sides so they cannot
 * disagree: a frame is a 4-byte little-endian length, then that many bytes of NUL-terminated
 * fields.
 */
#ifndef DOCKET_SUPERVISOR_PROTOCOL_H
#define DOCKET_SUPERVISOR_PROTOCOL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUPERVISOR_MAX_FRAME (16u << 20)
#define SUPERVISOR_SOCKET "supervisor.sock"

/* A frame being built: fields appended in order, sent with its length in front. */
typedef struct supervisor_frame {
    char *data; /* 4 bytes of length, then the fields */
    size_t length, capacity;
    int failed; /* out of memory while building: do not send */
} supervisor_frame;

static inline void frame_add(supervisor_frame *f, const char *field) {
    size_t n = strlen(field) + 1;
    if (f->length == 0) f->length = 4; /* room for the length */
    if (f->length + n > f->capacity) {
        size_t capacity = (f->length + n) * 2 + 64;
        char *bigger = (char *)realloc(f->data, capacity);
        if (bigger == NULL) { f->failed = 1; return; }
        f->data = bigger;
        f->capacity = capacity;
    }
    memcpy(f->data + f->length, field, n);
    f->length += n;
}

static inline void frame_add_number(supervisor_frame *f, long long value) {
    char text[32];
    snprintf(text, sizeof text, "%lld", value);
    frame_add(f, text);
}

/* Writes the length in front; returns the bytes to send, or NULL if the frame is unusable. */
static inline const char *frame_finish(supervisor_frame *f) {
    if (f->failed || f->length <= 4 || f->length - 4 > SUPERVISOR_MAX_FRAME) return NULL;
    uint32_t size = (uint32_t)(f->length - 4);
    unsigned char *h = (unsigned char *)f->data;
    h[0] = size & 0xff;
    h[1] = (size >> 8) & 0xff;
    h[2] = (size >> 16) & 0xff;
    h[3] = (unsigned char)(size >> 24);
    return f->data;
}

static inline void frame_free(supervisor_frame *f) {
    free(f->data);
    memset(f, 0, sizeof *f);
}

/* The payload length a frame header announces. */
static inline uint32_t frame_payload_length(const char *header) {
    const unsigned char *h = (const unsigned char *)header;
    return (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
}

/* Splits a payload into its fields (pointers into it, a NULL after the last). Returns the
 * count, or -1 for a payload that does not end in NUL or memory that ran out. */
static inline int frame_fields(char *payload, size_t length, char ***out) {
    if (length == 0 || payload[length - 1] != '\0') return -1;
    int count = 0;
    for (size_t i = 0; i < length; i++) count += payload[i] == '\0';
    char **fields = (char **)calloc((size_t)count + 1, sizeof *fields);
    if (fields == NULL) return -1;
    int n = 0;
    for (size_t i = 0; i < length; i += strlen(payload + i) + 1) fields[n++] = payload + i;
    *out = fields;
    return count;
}

/* The CPUS and MEMS fields of a start frame, and DOCKET_CPUSET_CPUS / DOCKET_CPUSET_MEMS: a
 * Linux list ("0-3,8"): ids and ranges LOW-HIGH, separated by commas, no spaces. */
#define SUPERVISOR_LIST_MAX_ID 4095
#define SUPERVISOR_LIST_BYTES ((SUPERVISOR_LIST_MAX_ID + 1) / 8)

/* Parses a list into `set` (SUPERVISOR_LIST_BYTES bytes, cleared first). Returns the number of
 * ids, or -1 for text that is not a list (an empty one included), or -2 when an id is above
 * SUPERVISOR_LIST_MAX_ID (*too_large says which). */
static inline int supervisor_list_parse(const char *text, unsigned char *set, long *too_large) {
    memset(set, 0, SUPERVISOR_LIST_BYTES);
    int count = 0;
    const char *p = text;
    for (;;) {
        long low = 0, high;
        if (*p < '0' || *p > '9') return -1;
        while (*p >= '0' && *p <= '9') { low = low * 10 + (*p++ - '0'); if (low > 1000000) low = 1000000; }
        high = low;
        if (*p == '-') {
            p++;
            if (*p < '0' || *p > '9') return -1;
            high = 0;
            while (*p >= '0' && *p <= '9') { high = high * 10 + (*p++ - '0'); if (high > 1000000) high = 1000000; }
            if (high < low) return -1;
        }
        if (high > SUPERVISOR_LIST_MAX_ID) { if (too_large) *too_large = high; return -2; }
        for (long id = low; id <= high; id++) {
            if (!(set[id / 8] & (1u << (id % 8)))) count++;
            set[id / 8] |= (unsigned char)(1u << (id % 8));
        }
        if (*p == '\0') return count;
        if (*p++ != ',') return -1;
    }
}

static inline int supervisor_list_has(const unsigned char *set, long id) {
    return id >= 0 && id <= SUPERVISOR_LIST_MAX_ID && (set[id / 8] & (1u << (id % 8))) != 0;
}

#endif
