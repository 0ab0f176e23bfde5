/* What a writer-side fence would cost: membarrier(PRIVATE_EXPEDITED), the
 * call a readers-writer lock without atomics on the readers' side would make
 * on every exclusive lock (bench/results/percall-profile.md, third round).
 *
 *   ww_membarrier [CALLS]      default 20000
 *
 * Prints ns per call with no other thread of the process running, then with
 * one other thread spinning (the IPI case). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static volatile int stop_spinning;

static void *spin(void *unused)
{
	(void)unused;
	while (!stop_spinning)
		;
	return NULL;
}

static long membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

int main(int argc, char **argv)
{
	int calls = argc > 1 ? atoi(argv[1]) : 20000;
	if (calls <= 0 || membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)) {
		perror("membarrier register");
		return 77;
	}
	for (int others = 0; others < 2; others++) {
		pthread_t thread;
		if (others && pthread_create(&thread, NULL, spin, NULL))
			return 1;
		usleep(10000); /* let it get onto a CPU */
		uint64_t start = now_ns();
		for (int i = 0; i < calls; i++)
			if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED))
				return 1;
		printf("membarrier(PRIVATE_EXPEDITED), %d other thread(s) running: %.0f ns per call\n", others,
		       (double)(now_ns() - start) / calls);
		if (others) {
			stop_spinning = 1;
			pthread_join(thread, NULL);
		}
	}
	return 0;
}
