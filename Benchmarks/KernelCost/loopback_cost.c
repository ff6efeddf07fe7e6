// The kernel's cost of one small TCP send and one receive over loopback, as a fan-out pays
// them: one message to each of many connections, then one read from each. Each phase is timed
// on its own (wall clock and the thread's kernel time from getrusage), so the figures are per
// send and per receive, not per round trip.
//
//   gcc -O2 -o loopback-cost Benchmarks/KernelCost/loopback_cost.c && ./loopback-cost [connections] [rounds] [bytes] [every_ms]
//
// Defaults: 1,000 connections, 200 rounds, 150-byte messages (a quiz question's size).
// With every_ms, it watches the machine instead: every every_ms it sends and receives `rounds`
// rounds and prints one line, "<unix seconds> <CPU µs per send and receive>", until killed. The
// CPU time is the thread's own (CLOCK_THREAD_CPUTIME_ID), so a benchmark sharing the core does
// not inflate it; what moves it is the VM itself being faster or slower at that moment.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double thread_cpu_us(void) {
    struct timespec spec;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec);
    return spec.tv_sec * 1e6 + spec.tv_nsec / 1e3;
}

static double now_us(void) {
    struct timespec spec;
    clock_gettime(CLOCK_MONOTONIC, &spec);
    return spec.tv_sec * 1e6 + spec.tv_nsec / 1e3;
}

// Kernel (system) CPU time of the calling thread, in microseconds.
static double kernel_us(void) {
    struct rusage usage;
    getrusage(RUSAGE_THREAD, &usage);
    return usage.ru_stime.tv_sec * 1e6 + usage.ru_stime.tv_usec;
}

static void fail(const char *what) {
    perror(what);
    exit(1);
}

// One message to each connection, as the fan-out sends it.
static void send_to_each(const int *senders, int connections, const char *message, int bytes) {
    for (int i = 0; i < connections; i++)
        if (send(senders[i], message, bytes, 0) != bytes) fail("send");
}

// One read from each connection: loopback delivers within the send, so the whole message is already there.
static void receive_from_each(const int *receivers, int connections, char *buffer, int bytes) {
    for (int i = 0; i < connections; i++) {
        ssize_t got = recv(receivers[i], buffer, 65536, 0);
        if (got != bytes) {
            fprintf(stderr, "recv got %zd bytes, wanted %d (%s)\n", got, bytes, got < 0 ? strerror(errno) : "short");
            exit(1);
        }
    }
}

int main(int argc, char **argv) {
    int connections = argc > 1 ? atoi(argv[1]) : 1000;
    int rounds = argc > 2 ? atoi(argv[2]) : 200;
    int bytes = argc > 3 ? atoi(argv[3]) : 150;
    int every_ms = argc > 4 ? atoi(argv[4]) : 0;
    if (connections < 1 || rounds < 1 || bytes < 1 || bytes > 65536 || every_ms < 0) {
        fprintf(stderr, "usage: %s [connections] [rounds] [bytes <= 65536] [every_ms]\n", argv[0]);
        return 2;
    }
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 4096) < 0 ||
        getsockname(listener, (struct sockaddr *)&address, &length) < 0)
        fail("listen");

    int *senders = calloc(connections, sizeof(int));
    int *receivers = calloc(connections, sizeof(int));
    int one = 1;
    for (int i = 0; i < connections; i++) {
        receivers[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (receivers[i] < 0 || connect(receivers[i], (struct sockaddr *)&address, sizeof address) < 0) fail("connect");
        senders[i] = accept(listener, NULL, NULL);
        if (senders[i] < 0) fail("accept");
        // As a WebSocket server sends: each message goes out at once, not held for coalescing.
        setsockopt(senders[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }

    char *message = malloc(bytes);
    char *buffer = malloc(65536);
    memset(message, 'x', bytes);
    if (every_ms > 0) {
        for (;;) {
            double cpu = thread_cpu_us();
            for (int round = 0; round < rounds; round++) {
                send_to_each(senders, connections, message, bytes);
                receive_from_each(receivers, connections, buffer, bytes);
            }
            struct timespec wall;
            clock_gettime(CLOCK_REALTIME, &wall);
            printf("%.3f %.3f\n", wall.tv_sec + wall.tv_nsec / 1e9, (thread_cpu_us() - cpu) / ((double)connections * rounds));
            fflush(stdout);
            usleep(every_ms * 1000);
        }
    }
    double send_wall = 0, send_kernel = 0, receive_wall = 0, receive_kernel = 0;
    for (int round = 0; round < rounds; round++) {
        double wall = now_us(), kernel = kernel_us();
        send_to_each(senders, connections, message, bytes);
        send_wall += now_us() - wall;
        send_kernel += kernel_us() - kernel;

        wall = now_us();
        kernel = kernel_us();
        receive_from_each(receivers, connections, buffer, bytes);
        receive_wall += now_us() - wall;
        receive_kernel += kernel_us() - kernel;
    }
    double operations = (double)connections * rounds;
    printf("loopback TCP, %d connections x %d rounds, %d-byte messages (%.0f of each)\n", connections, rounds, bytes,
           operations);
    printf("send:    %.2f us wall, %.2f us kernel per message\n", send_wall / operations, send_kernel / operations);
    printf("receive: %.2f us wall, %.2f us kernel per message\n", receive_wall / operations, receive_kernel / operations);
    printf("one delivery (send + receive): %.2f us kernel, so at most %.0f deliveries/s per core\n",
           (send_kernel + receive_kernel) / operations, operations / ((send_kernel + receive_kernel) / 1e6));
    return 0;
}
