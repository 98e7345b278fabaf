/* A library for tests/test_pinned_libraries.py, built in variants (-DPINNED_VERSION=N,
 * -Wl,-soname,...). Its constructor appends a line to the file named by the environment
 * variable CFFIX_PINNED_MARKER: the tests see whether a load ran it. */
#include <stdio.h>
#include <stdlib.h>

#ifndef PINNED_VERSION
#define PINNED_VERSION 1
#endif

__attribute__((constructor)) static void mark_loaded(void) {
    const char *path = getenv("CFFIX_PINNED_MARKER");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "loaded %d\n", PINNED_VERSION);
        fclose(f);
    }
}

static int probes_called;

int pinned_version(void) { return PINNED_VERSION; }

/* A probe that counts its calls (pinned_probe_calls reads the count). */
int pinned_counting_probe(void) { return ++probes_called; }

int pinned_probe_calls(void) { return probes_called; }

unsigned long long pinned_big(void) { return 18446744073709551615ULL; }

double pinned_ratio(void) { return 0.5; }

int pinned_add(int a, int b) { return a + b; }
