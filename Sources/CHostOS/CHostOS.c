#define _GNU_SOURCE
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "CHostOS.h"

int chostos_gettid(void) { return (int)syscall(SYS_gettid); }

int chostos_sched_setaffinity(int tid, size_t size, const void *mask) {
    return sched_setaffinity(tid, size, (const cpu_set_t *)mask);
}

int chostos_sched_getaffinity(int tid, size_t size, void *mask) {
    return sched_getaffinity(tid, size, (cpu_set_t *)mask);
}

int chostos_set_timerslack(unsigned long ns) {
    return prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0);
}
