/* Runs a program the way a sandbox would: with a seccomp filter that refuses
 * one of the kernel interfaces the kernel backend needs, as container
 * runtimes and browser-style sandboxes do.
 *
 *   refuse-kernel-calls MODE PROGRAM [ARG...]
 *
 * MODE:
 *   userfaultfd-eperm    userfaultfd(2) fails with EPERM (Docker's default
 *                        profile for a container without CAP_SYS_PTRACE)
 *   userfaultfd-enosys   userfaultfd(2) fails with ENOSYS (a profile written
 *                        before the call existed)
 *   pagemap-scan-enotty  the PAGEMAP_SCAN ioctl fails with ENOTTY (what a
 *                        kernel without it answers)
 *   madvise-eperm        madvise(2) fails with EPERM, whatever the advice
 *
 * Every other call is allowed. The filter needs no privilege: the program
 * sets no_new_privs first, as an unprivileged sandbox does. Exit status 2
 * when the filter cannot be installed, otherwise PROGRAM's. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../src/writewatch/uapi/pagemap_scan.h"

#if defined(__x86_64__)
#define THIS_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "refuse-kernel-calls: add this architecture's AUDIT_ARCH value"
#endif

#define ARG_LOW(n) (offsetof(struct seccomp_data, args) + (n) * sizeof(__u64))

struct mode {
    const char *name;
    long syscall_number;
    int match_ioctl_request; /* 1: only when the ioctl request is PAGEMAP_SCAN */
    int error;
};

static const struct mode modes[] = {
    {"userfaultfd-eperm", __NR_userfaultfd, 0, EPERM},
    {"userfaultfd-enosys", __NR_userfaultfd, 0, ENOSYS},
    {"pagemap-scan-enotty", __NR_ioctl, 1, ENOTTY},
    {"madvise-eperm", __NR_madvise, 0, EPERM},
};

static int install_filter(const struct mode *m)
{
    const __u32 refuse = SECCOMP_RET_ERRNO | ((__u32)m->error & SECCOMP_RET_DATA);
    /* What the call gets when its second argument is not PAGEMAP_SCAN: only
     * the ioctl mode looks at it (the request is an unsigned int, the low
     * half of the argument: this file builds for little-endian targets). */
    const __u32 other_request = m->match_ioctl_request ? SECCOMP_RET_ALLOW : refuse;
    struct sock_filter program[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)m->syscall_number, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(1)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)PAGEMAP_SCAN, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, other_request),
        BPF_STMT(BPF_RET | BPF_K, refuse),
    };
    struct sock_fprog fprog = {sizeof(program) / sizeof(program[0]), program};

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        fprintf(stderr, "refuse-kernel-calls: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
        return -1;
    }
    if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
        fprintf(stderr, "refuse-kernel-calls: seccomp: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 3) {
        fprintf(stderr, "usage: %s MODE PROGRAM [ARG...]\nmodes:", argv[0]);
        for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
            fprintf(stderr, " %s", modes[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(argv[1], modes[i].name) == 0)
            break;
    if (i == sizeof(modes) / sizeof(modes[0])) {
        fprintf(stderr, "refuse-kernel-calls: unknown mode '%s'\n", argv[1]);
        return 2;
    }
    if (install_filter(&modes[i]) != 0)
        return 2;
    execv(argv[2], argv + 2);
    fprintf(stderr, "refuse-kernel-calls: %s: %s\n", argv[2], strerror(errno));
    return 2;
}
