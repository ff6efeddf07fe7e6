// How many connections one process can hold on this host: ordinary descriptors stop at the
// RLIMIT_NOFILE hard limit, while each io_uring ring has a registered (direct) descriptor table
// of its own, each table capped by the same limit; so a process with many rings holds many
// times more. Raises the soft limit to the hard one first, as the gateway does.
//
//   gcc -O2 -o descriptor-limits Benchmarks/KernelCost/descriptor_limits.c -luring && ./descriptor-limits [rings]
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

// The largest sparse table this ring accepts (the kernel refuses one over RLIMIT_NOFILE).
static unsigned largest_table(struct io_uring *ring) {
    unsigned low = 0, high = 1u << 21;
    while (low + 1 < high) {
        unsigned middle = low + (high - low) / 2;
        if (io_uring_register_files_sparse(ring, middle) == 0) {
            io_uring_unregister_files(ring);
            low = middle;
        } else {
            high = middle;
        }
    }
    return low;
}

int main(int argc, char **argv) {
    int rings = argc > 1 ? atoi(argv[1]) : 3;
    if (rings < 1 || rings > 1000) {
        fprintf(stderr, "usage: %s [rings 1..1000]\n", argv[0]);
        return 2;
    }
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    printf("RLIMIT_NOFILE: soft %llu, hard %llu\n", (unsigned long long)limit.rlim_cur, (unsigned long long)limit.rlim_max);
    FILE *nr_open = fopen("/proc/sys/fs/nr_open", "r");
    unsigned long ceiling = 0;
    if (nr_open && fscanf(nr_open, "%lu", &ceiling) == 1) printf("fs.nr_open (the most a hard limit may be): %lu\n", ceiling);
    if (nr_open) fclose(nr_open);
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) perror("setrlimit");

    // Ordinary descriptors: dup until the kernel refuses.
    int opened = 0;
    while (dup(0) >= 0) opened++;
    printf("ordinary descriptors opened before %s: %d (the process held %llu already)\n", strerror(errno), opened,
           (unsigned long long)limit.rlim_cur - opened);
    for (int fd = getdtablesize() - 1; fd > 2 && opened > 0; fd--) {
        if (close(fd) == 0) opened--;
    }

    struct io_uring *ring = calloc(rings, sizeof *ring);
    unsigned long total = 0;
    for (int i = 0; i < rings; i++) {
        int error = io_uring_queue_init(8, &ring[i], 0);
        if (error < 0) {
            fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-error));
            return 1;
        }
        unsigned largest = largest_table(&ring[i]);
        // Keep it registered, so the next ring shows the tables do not share one budget.
        if (io_uring_register_files_sparse(&ring[i], largest) != 0) {
            fprintf(stderr, "could not register %u slots again\n", largest);
            return 1;
        }
        total += largest;
        printf("ring %d: direct descriptor table of %u slots (%lu in all rings so far)\n", i + 1, largest, total);
    }
    return 0;
}
