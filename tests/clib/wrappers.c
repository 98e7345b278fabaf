/* The test library of tests/test_wrappers.py: every shape ffi.wrap gives a function
 * (outs, inouts, owned handles, consumed handles, text, defaults) and error reporting by
 * return code, errno and per-handle message. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THING_OK 0
enum thing_codes { THING_BAD = -1, THING_MISSING = -2 };

typedef int status_t;
typedef struct thing thing;

struct thing {
    int id;
    char message[64];
};

struct pair {
    int a;
    double b;
};

static int live = 0;
static int destroyed_ids[64];
static int destroyed_count = 0;

int live_things(void) { return live; }
int destroyed_count_get(void) { return destroyed_count; }
int destroyed_id(int i) { return i >= 0 && i < 64 ? destroyed_ids[i] : -1; }

/* 0 and *out a new thing, or -1 (id < 0) with *out still set to a thing that must be
 * destroyed (as sqlite3_open does), or -2 (id == 0) with *out NULL. */
status_t thing_open(int id, thing **out) {
    if (id == 0) {
        *out = NULL;
        return -2;
    }
    thing *t = calloc(1, sizeof *t);
    t->id = id;
    ++live;
    *out = t;
    if (id < 0) {
        snprintf(t->message, sizeof t->message, "cannot open thing %d", id);
        return -1;
    }
    return 0;
}

void thing_destroy(thing *t) {
    if (!t) return;
    if (destroyed_count < 64) destroyed_ids[destroyed_count++] = t->id;
    --live;
    free(t);
}

thing *thing_new(int id) {
    thing *t;
    return thing_open(id, &t) == 0 ? t : NULL;
}

int thing_id(const thing *t) { return t->id; }

/* Takes `t` over (destroys it): a consumed argument. Fails (-1) when id is odd, keeping
 * it. */
status_t thing_give(thing *t) {
    if (t->id % 2) return -1;
    thing_destroy(t);
    return 0;
}

/* Fails with `code` and a message naming it, stored in the handle. */
status_t thing_fail(thing *t, int code) {
    snprintf(t->message, sizeof t->message, "failure %d", code);
    return code;
}

const char *thing_error(const thing *t) { return t ? t->message : "no thing"; }

/* Outs: *q and *r, or -1 with errno EDOM when b == 0. */
int quot_rem(int a, int b, int *q, int *r) {
    if (b == 0) {
        errno = EDOM;
        return -1;
    }
    *q = a / b;
    *r = a % b;
    return 0;
}

/* An inout: *n doubled; the result is the old value. */
int doubled(int *n) {
    int old = *n;
    *n *= 2;
    return old;
}

void void_out(int x, long *out) { *out = 10L * x; }

int make_pair(int a, struct pair *out) {
    out->a = a;
    out->b = a / 2.0;
    return 0;
}

double scaled(double x, double *out) {
    *out = x * 3;
    return x;
}

/* Text: a static string or NULL; an out string. */
const char *salutation(int which) {
    switch (which) {
        case 0: return "hello";
        case 1: return "h\xc3\xa9llo";
        default: return NULL;
    }
}

int name_of(int id, const char **out) {
    *out = id == 1 ? "one" : id == 2 ? "two" : NULL;
    return *out ? 0 : 1;
}

/* Defaults: a version string and a size checked as zlib's deflateInit_ does. */
#define WRAP_VERSION "1.2"
const char *wrap_version(void) { return WRAP_VERSION; }

int init_with(struct pair *p, int level, const char *version, int size) {
    if (!version || strcmp(version, WRAP_VERSION) != 0) return -6;
    if (size != (int)sizeof(struct pair)) return -4;
    p->a = level;
    p->b = 0;
    return 0;
}

/* errno failures and EINTR: fails with EINTR `*remaining` times, then succeeds. */
int interrupted(int *remaining) {
    if (*remaining > 0) {
        --*remaining;
        errno = EINTR;
        return -1;
    }
    return 7;
}

/* Raises `sig` in this thread, then fails with EINTR, as an interrupted system call. */
int interrupt_self(int sig) {
    raise(sig);
    errno = EINTR;
    return -1;
}

int fail_errno(int e) {
    errno = e;
    return -1;
}

void *null_errno(int e) {
    errno = e;
    return NULL;
}

long negative_errno(int e) { return e ? -(long)e : 5; }

unsigned int unsigned_status(unsigned int v) { return v; }

void nothing(int x) { (void)x; }

/* Results narrower than a register: -O2 returns the argument's register as it is, so the
   bits above the value are the argument's, which a caller must ignore. */
signed char narrow_s8(long long v) { return (signed char)v; }
unsigned char narrow_u8(long long v) { return (unsigned char)v; }
char narrow_char(long long v) { return (char)v; }
_Bool narrow_bool(long long v) { return (_Bool)(v & 1); }
short narrow_s16(long long v) { return (short)v; }
unsigned short narrow_u16(long long v) { return (unsigned short)v; }
int narrow_s32(long long v) { return (int)v; }
unsigned int narrow_u32(long long v) { return (unsigned int)v; }
long long narrow_s64(long long v) { return v; }
unsigned long long narrow_u64(long long v) { return (unsigned long long)v; }
void *narrow_ptr(long long v) { return (void *)(size_t)v; }
double echo_double(double v) { return v; }
float echo_float(float v) { return v; }
