/*
 * with-memory-merge PROGRAM [ARGS...]: run PROGRAM with all of its memory,
 * and its children's, mergeable by KSM.
 *
 * prctl(PR_SET_MEMORY_MERGE, 1) (Linux 6.4+) marks the process: every
 * mapping it has or makes is mergeable, as if madvise(MADV_MERGEABLE) were
 * given for each, and the mark survives fork and (6.7+) exec. Some
 * distributions' daemons do this for every process; the KSM checks of
 * wine-patches/run-wine-tests.sh (the ksm suite) use it to put a whole Wine,
 * wineserver included, in that state. KSM itself must be running
 * (/sys/kernel/mm/ksm/run = 1) for anything to merge.
 *
 * Fails loudly (exit 126) when the prctl fails (kernel too old, or built
 * without KSM), 127 when PROGRAM cannot be run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#endif

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
    {
        fprintf(argc < 2 ? stderr : stdout, "usage: %s PROGRAM [ARGS...]\n"
                "runs PROGRAM with prctl(PR_SET_MEMORY_MERGE, 1): all its memory mergeable by KSM\n", argv[0]);
        return argc < 2 ? 2 : 0;
    }
    if (prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) != 0)
    {
        fprintf(stderr, "with-memory-merge: prctl(PR_SET_MEMORY_MERGE, 1) failed: %s "
                "(needs Linux 6.4+ built with CONFIG_KSM)\n", strerror(errno));
        return 126;
    }
    execvp(argv[1], argv + 1);
    fprintf(stderr, "with-memory-merge: cannot run %s: %s\n", argv[1], strerror(errno));
    return 127;
}
