// C shim for the glibc functions HostOS needs that glibc declares only under _GNU_SOURCE
// (Swift's Glibc module is built without it). Called directly, these also work in a fully
// static executable, where looking them up with dlsym would not.
#ifndef CHOSTOS_H
#define CHOSTOS_H

#include <stddef.h>

/// gettid(2): the calling thread's Linux thread id.
int chostos_gettid(void);
/// sched_setaffinity(2) on thread `tid` (0: the caller) with a mask of `size` bytes.
int chostos_sched_setaffinity(int tid, size_t size, const void *mask);
/// sched_getaffinity(2) on thread `tid` (0: the caller) into a mask of `size` bytes.
int chostos_sched_getaffinity(int tid, size_t size, void *mask);
/// prctl(PR_SET_TIMERSLACK, ns) on the calling thread (prctl is variadic: Swift cannot call it).
int chostos_set_timerslack(unsigned long ns);

#endif
