/* The C side of tests/test_stress.py and tests/test_dlclose.py: calls that take time (so
 * that another thread can close the library meanwhile) and Python callbacks called from
 * threads that C creates. Built as a shared library by the tests (-pthread). */
#include <pthread.h>
#include <time.h>

int add_one(int x) { return x + 1; }

/* Returns x after about `micros` microseconds. */
int slow_identity(int x, int micros) {
    struct timespec t = {micros / 1000000, (long)(micros % 1000000) * 1000};
    nanosleep(&t, NULL);
    return x;
}

/* Calls f(start + i) `count` times on each of `nthreads` new threads; the sum of the
 * results, or -1 if a thread could not be made. */
struct job {
    int (*f)(int);
    int start, count;
    long sum;
};
static void* job_main(void* arg) {
    struct job* j = arg;
    for (int i = 0; i < j->count; i++) j->sum += j->f(j->start + i);
    return NULL;
}
long call_from_new_threads(int (*f)(int), int nthreads, int count) {
    pthread_t threads[32];
    struct job jobs[32];
    if (nthreads > 32) nthreads = 32;
    int made = 0;
    for (; made < nthreads; made++) {
        jobs[made] = (struct job){f, made * count, count, 0};
        if (pthread_create(&threads[made], NULL, job_main, &jobs[made]) != 0) break;
    }
    long sum = 0;
    for (int t = 0; t < made; t++) {
        pthread_join(threads[t], NULL);
        sum += jobs[t].sum;
    }
    return made == nthreads ? sum : -1;
}

/* An allocation and its destroy function, for owned results (ffi.wrap) that die after
 * the library was closed; freed_count() says how many were destroyed. */
#include <stdlib.h>
static int freed;
int* new_counter(int start) {
    int* p = malloc(sizeof *p);
    if (p) *p = start;
    return p;
}
void free_counter(int* p) {
    free(p);
    freed++;
}
int freed_count(void) { return freed; }
