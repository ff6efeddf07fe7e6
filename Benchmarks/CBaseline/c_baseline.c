// c-baseline: the limit of this machine for Stadium's fan-out. A minimal WebSocket server on raw
// io_uring that speaks just enough of protocol v1 for `stadium-load --mode fanout`: the upgrade,
// `sub` (answered ok; every subscriber gets every message), `pub` (answered ok, then one
// pre-encoded `msg` frame sent to every subscriber). It does what the gateway does on the wire,
// with none of its checks: the same bytes to the same sockets, as cheaply as C allows.
//
// Simplifications, fine for the load generator's traffic and not for real clients: a request
// head or client frame is assumed to arrive within one receive; one subject only.
//
//   c-baseline --listen 127.0.0.1:18900 [--threads 1] [--max-connections 1000000]
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <arpa/inet.h>
#include <unistd.h>

enum { BUFFER_COUNT = 4096, BUFFER_SIZE = 2048, BUFFER_GROUP = 1, ACCEPT_HEADROOM = 256 };
enum { OP_ACCEPT = 1, OP_RECV, OP_SEND_OWNED, OP_SEND_SHARED, OP_CLOSE, OP_CANCEL };
enum { PHASE_FREE = 0, PHASE_HTTP, PHASE_OPEN };

// user_data: op in the top byte, slot below.
static uint64_t tag(uint32_t op, uint32_t slot) { return ((uint64_t)op << 56) | slot; }
static uint32_t tag_op(uint64_t data) { return (uint32_t)(data >> 56); }
static uint32_t tag_slot(uint64_t data) { return (uint32_t)(data & 0xffffffffu); }

// One encoded msg frame shared by every send; freed by the last completion.
typedef struct shared_frame {
    atomic_long references;
    uint32_t length;
    uint8_t bytes[];
} shared_frame;

typedef struct ring_state {
    struct io_uring ring;
    struct io_uring_buf_ring *buffers;
    uint8_t *buffer_memory;
    uint32_t slots;
    uint32_t open;
    int accepting;
    uint8_t *phase;
    uint8_t *subscribed;
    int eventfd;
} ring_state;

typedef struct worker {
    pthread_t thread;
    ring_state *rings;
    uint32_t ring_count;
    int wake_fd;
    pthread_mutex_t lock;
    shared_frame **inbox;  // frames to fan out, handed over by whichever worker got the pub
    uint32_t inbox_count, inbox_capacity;
} worker;

static int listen_fd;
static worker *workers;
static uint32_t worker_count = 1;
static atomic_long next_seq;
static atomic_long frames_sent, connections_open;
static volatile sig_atomic_t stopping;

static void fail(const char *what, int error) {
    fprintf(stderr, "c-baseline: %s: %s\n", what, strerror(error < 0 ? -error : error));
    exit(1);
}

static struct io_uring_sqe *sqe_of(ring_state *state) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&state->ring);
    while (!sqe) {  // the submission queue is full: hand it to the kernel and take the next
        io_uring_submit(&state->ring);
        sqe = io_uring_get_sqe(&state->ring);
    }
    return sqe;
}

static void arm_accept(ring_state *state) {
    struct io_uring_sqe *sqe = sqe_of(state);
    io_uring_prep_multishot_accept_direct(sqe, listen_fd, NULL, NULL, 0);
    io_uring_sqe_set_data64(sqe, tag(OP_ACCEPT, 0));
    state->accepting = 1;
}

static void arm_recv(ring_state *state, uint32_t slot) {
    struct io_uring_sqe *sqe = sqe_of(state);
    io_uring_prep_recv_multishot(sqe, (int)slot, NULL, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUFFER_GROUP;
    io_uring_sqe_set_data64(sqe, tag(OP_RECV, slot));
}

// A send of bytes this connection owns (handshake response, ok, pong): freed on completion.
static void send_owned(ring_state *state, uint32_t slot, const void *bytes, size_t length) {
    uint8_t *copy = malloc(length);
    memcpy(copy, bytes, length);
    struct io_uring_sqe *sqe = sqe_of(state);
    io_uring_prep_send(sqe, (int)slot, copy, length, MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    sqe->user_data = (uint64_t)(uintptr_t)copy | ((uint64_t)OP_SEND_OWNED << 56);
}

static void close_slot(ring_state *state, uint32_t slot) {
    if (state->phase[slot] == PHASE_FREE) return;
    state->phase[slot] = PHASE_FREE;
    state->subscribed[slot] = 0;
    struct io_uring_sqe *sqe = sqe_of(state);
    io_uring_prep_close_direct(sqe, slot);
    io_uring_sqe_set_data64(sqe, tag(OP_CLOSE, slot));
}

static size_t frame_header(uint8_t *out, uint8_t opcode, size_t length) {
    out[0] = 0x80 | opcode;
    if (length < 126) {
        out[1] = (uint8_t)length;
        return 2;
    }
    out[1] = 126;
    out[2] = (uint8_t)(length >> 8);
    out[3] = (uint8_t)length;
    return 4;
}

static void send_text(ring_state *state, uint32_t slot, const char *text, size_t length) {
    uint8_t frame[512];
    size_t header = frame_header(frame, 0x1, length);
    memcpy(frame + header, text, length);
    send_owned(state, slot, frame, header + length);
}

static void upgrade(ring_state *state, uint32_t slot, const char *bytes, size_t length) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char head[BUFFER_SIZE + 1];
    memcpy(head, bytes, length);
    head[length] = '\0';
    char *key = strcasestr(head, "\r\nSec-WebSocket-Key:");
    if (!key || !strstr(head, "\r\n\r\n")) {
        close_slot(state, slot);
        return;
    }
    key += strlen("\r\nSec-WebSocket-Key:");
    while (*key == ' ') key++;
    size_t key_length = strcspn(key, " \r\n");
    char input[128];
    if (key_length > 64) {
        close_slot(state, slot);
        return;
    }
    memcpy(input, key, key_length);
    memcpy(input + key_length, guid, sizeof(guid) - 1);
    uint8_t digest[SHA_DIGEST_LENGTH];
    SHA1((const uint8_t *)input, key_length + sizeof(guid) - 1, digest);
    char accept[32];
    EVP_EncodeBlock((uint8_t *)accept, digest, SHA_DIGEST_LENGTH);
    char response[256];
    int response_length = snprintf(response, sizeof(response),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: %s\r\n%s\r\n", accept,
        strstr(head, "stadium.v1") ? "Sec-WebSocket-Protocol: stadium.v1\r\n" : "");
    send_owned(state, slot, response, (size_t)response_length);
    state->phase[slot] = PHASE_OPEN;
}

static long request_id(const char *json, size_t length) {
    const char *id = memmem(json, length, "\"id\":", 5);
    return id ? strtol(id + 5, NULL, 10) : 0;
}

// `pub`: ok to the publisher, then one msg frame for everyone, queued to every worker.
static void publish(ring_state *state, uint32_t slot, const char *json, size_t length) {
    char ok[64];
    int ok_length = snprintf(ok, sizeof(ok), "{\"op\":\"ok\",\"id\":%ld}", request_id(json, length));
    send_text(state, slot, ok, (size_t)ok_length);
    const char *subject = memmem(json, length, "\"subject\":\"", 11);
    const char *data = memmem(json, length, "\"data\":", 7);
    if (!subject || !data) return;
    subject += 11;
    size_t subject_length = strcspn(subject, "\"");
    data += 7;
    size_t data_length = (size_t)(json + length - 1 - data);  // data is the last member
    char message[1024];
    int message_length = snprintf(message, sizeof(message), "{\"op\":\"msg\",\"subject\":\"%.*s\",\"seq\":%ld,\"data\":%.*s}",
                                  (int)subject_length, subject, atomic_fetch_add(&next_seq, 1), (int)data_length, data);
    shared_frame *frame = malloc(sizeof(shared_frame) + (size_t)message_length + 4);
    frame->length = (uint32_t)(frame_header(frame->bytes, 0x1, (size_t)message_length) + (size_t)message_length);
    memcpy(frame->bytes + frame->length - (size_t)message_length, message, (size_t)message_length);
    atomic_store(&frame->references, (long)worker_count);  // one per worker until it has queued its sends
    for (uint32_t index = 0; index < worker_count; index++) {
        worker *target = &workers[index];
        pthread_mutex_lock(&target->lock);
        if (target->inbox_count == target->inbox_capacity) {
            target->inbox_capacity = target->inbox_capacity ? target->inbox_capacity * 2 : 16;
            target->inbox = realloc(target->inbox, target->inbox_capacity * sizeof(*target->inbox));
        }
        target->inbox[target->inbox_count++] = frame;
        pthread_mutex_unlock(&target->lock);
        uint64_t one = 1;
        if (write(target->wake_fd, &one, sizeof(one)) < 0) fail("wake", errno);
    }
}

static void release(shared_frame *frame) {
    if (atomic_fetch_sub(&frame->references, 1) == 1) free(frame);
}

static void fan_out(worker *self, shared_frame *frame) {
    for (uint32_t r = 0; r < self->ring_count; r++) {
        ring_state *state = &self->rings[r];
        for (uint32_t slot = 0; slot < state->slots; slot++) {
            if (!state->subscribed[slot]) continue;
            atomic_fetch_add(&frame->references, 1);
            struct io_uring_sqe *sqe = sqe_of(state);
            io_uring_prep_send(sqe, (int)slot, frame->bytes, frame->length, MSG_NOSIGNAL);
            sqe->flags |= IOSQE_FIXED_FILE;
            sqe->user_data = (uint64_t)(uintptr_t)frame | ((uint64_t)OP_SEND_SHARED << 56);
        }
        io_uring_submit(&state->ring);
    }
    release(frame);
}

static void handle_frames(ring_state *state, uint32_t slot, uint8_t *bytes, size_t length) {
    size_t at = 0;
    while (length - at >= 6) {
        uint8_t opcode = bytes[at] & 0x0f;
        size_t payload = bytes[at + 1] & 0x7f, header = 2;
        if (payload == 126) {
            payload = ((size_t)bytes[at + 2] << 8) | bytes[at + 3];
            header = 4;
        } else if (payload == 127) {
            close_slot(state, slot);  // 64-bit lengths are beyond this baseline's traffic
            return;
        }
        if (length - at < header + 4 + payload) return;  // partial frame: not in this traffic
        uint8_t *mask = bytes + at + header, *data = mask + 4;
        for (size_t i = 0; i < payload; i++) data[i] ^= mask[i & 3];
        const char *json = (const char *)data;
        if (opcode == 0x1 && memmem(json, payload, "\"op\":\"sub\"", 10)) {
            state->subscribed[slot] = 1;
            char ok[64];
            int ok_length = snprintf(ok, sizeof(ok), "{\"op\":\"ok\",\"id\":%ld}", request_id(json, payload));
            send_text(state, slot, ok, (size_t)ok_length);
        } else if (opcode == 0x1 && memmem(json, payload, "\"op\":\"pub\"", 10)) {
            publish(state, slot, json, payload);
        } else if (opcode == 0x9) {
            uint8_t pong[130];
            size_t pong_header = frame_header(pong, 0xA, payload);
            memcpy(pong + pong_header, data, payload);
            send_owned(state, slot, pong, pong_header + payload);
        } else if (opcode == 0x8) {
            uint8_t close_frame[2] = {0x88, 0};
            send_owned(state, slot, close_frame, 2);
            close_slot(state, slot);
            return;
        }
        at += header + 4 + payload;
    }
}

static void return_buffer(ring_state *state, uint32_t id) {
    io_uring_buf_ring_add(state->buffers, state->buffer_memory + (size_t)id * BUFFER_SIZE, BUFFER_SIZE, (unsigned short)id,
                          io_uring_buf_ring_mask(BUFFER_COUNT), 0);
    io_uring_buf_ring_advance(state->buffers, 1);
}

static void complete(ring_state *state, struct io_uring_cqe *cqe) {
    uint32_t op = tag_op(cqe->user_data), slot = tag_slot(cqe->user_data);
    switch (op) {
    case OP_ACCEPT:
        if (cqe->res >= 0) {
            uint32_t accepted = (uint32_t)cqe->res;
            state->phase[accepted] = PHASE_HTTP;
            state->open++;
            atomic_fetch_add(&connections_open, 1);
            arm_recv(state, accepted);
        }
        if (!(cqe->flags & IORING_CQE_F_MORE)) state->accepting = 0;
        // Stop before the table is full: an accept failing with ENFILE drops its connection.
        if (state->accepting && state->open + ACCEPT_HEADROOM >= state->slots) {
            struct io_uring_sqe *sqe = sqe_of(state);
            io_uring_prep_cancel64(sqe, tag(OP_ACCEPT, 0), 0);
            io_uring_sqe_set_data64(sqe, tag(OP_CANCEL, 0));
            state->accepting = 0;
        } else if (!state->accepting && state->open + ACCEPT_HEADROOM < state->slots && !stopping) {
            arm_accept(state);
        }
        break;
    case OP_RECV: {
        int has_buffer = cqe->flags & IORING_CQE_F_BUFFER;
        uint32_t buffer = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (cqe->res > 0 && has_buffer) {
            uint8_t *bytes = state->buffer_memory + (size_t)buffer * BUFFER_SIZE;
            if (state->phase[slot] == PHASE_HTTP) {
                upgrade(state, slot, (const char *)bytes, (size_t)cqe->res);
            } else if (state->phase[slot] == PHASE_OPEN) {
                handle_frames(state, slot, bytes, (size_t)cqe->res);
            }
        }
        if (has_buffer) return_buffer(state, buffer);
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
            if (cqe->res == -ENOBUFS && state->phase[slot] != PHASE_FREE) {
                arm_recv(state, slot);
            } else {
                close_slot(state, slot);
            }
        }
        break;
    }
    case OP_SEND_OWNED:
        free((void *)(uintptr_t)(cqe->user_data & ((1ull << 56) - 1)));
        break;
    case OP_SEND_SHARED:
        if (cqe->res > 0) atomic_fetch_add(&frames_sent, 1);
        release((shared_frame *)(uintptr_t)(cqe->user_data & ((1ull << 56) - 1)));
        break;
    case OP_CLOSE:
        state->open--;
        atomic_fetch_sub(&connections_open, 1);
        if (!state->accepting && state->open + ACCEPT_HEADROOM < state->slots && !stopping) arm_accept(state);
        break;
    default:
        break;
    }
}

static void setup_ring(ring_state *state, uint32_t slots) {
    struct io_uring_params params = {0};
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    params.cq_entries = 65536;
    int result = io_uring_queue_init_params(4096, &state->ring, &params);
    if (result < 0) fail("io_uring_queue_init", result);
    if ((result = io_uring_register_files_sparse(&state->ring, slots)) < 0) fail("register files", result);
    size_t ring_bytes = BUFFER_COUNT * sizeof(struct io_uring_buf);
    state->buffers = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    state->buffer_memory = malloc((size_t)BUFFER_COUNT * BUFFER_SIZE);
    struct io_uring_buf_reg registration = {.ring_addr = (uint64_t)(uintptr_t)state->buffers,
                                            .ring_entries = BUFFER_COUNT, .bgid = BUFFER_GROUP};
    if ((result = io_uring_register_buf_ring(&state->ring, &registration, 0)) < 0) fail("register buffer ring", result);
    io_uring_buf_ring_init(state->buffers);
    for (uint32_t id = 0; id < BUFFER_COUNT; id++) {
        io_uring_buf_ring_add(state->buffers, state->buffer_memory + (size_t)id * BUFFER_SIZE, BUFFER_SIZE, (unsigned short)id,
                              io_uring_buf_ring_mask(BUFFER_COUNT), (int)id);
    }
    io_uring_buf_ring_advance(state->buffers, BUFFER_COUNT);
    state->slots = slots;
    state->phase = calloc(slots, 1);
    state->subscribed = calloc(slots, 1);
    state->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if ((result = io_uring_register_eventfd(&state->ring, state->eventfd)) < 0) fail("register eventfd", result);
    arm_accept(state);
    io_uring_submit(&state->ring);
}

static void *run_worker(void *argument) {
    worker *self = argument;
    struct pollfd *fds = calloc(self->ring_count + 1, sizeof(struct pollfd));
    for (uint32_t r = 0; r < self->ring_count; r++) fds[r] = (struct pollfd){.fd = self->rings[r].eventfd, .events = POLLIN};
    fds[self->ring_count] = (struct pollfd){.fd = self->wake_fd, .events = POLLIN};
    while (!stopping) {
        // One thread serves many rings (a ring's table is capped at RLIMIT_NOFILE slots): wait on all.
        if (poll(fds, self->ring_count + 1, 200) < 0 && errno != EINTR) fail("poll", errno);
        uint64_t count;
        if (read(self->wake_fd, &count, sizeof(count)) > 0) {
            pthread_mutex_lock(&self->lock);
            uint32_t pending = self->inbox_count;
            shared_frame *frames[64];
            if (pending > 64) pending = 64;
            memcpy(frames, self->inbox, pending * sizeof(*frames));
            memmove(self->inbox, self->inbox + pending, (self->inbox_count - pending) * sizeof(*frames));
            self->inbox_count -= pending;
            pthread_mutex_unlock(&self->lock);
            if (self->inbox_count > 0) {
                uint64_t one = 1;
                if (write(self->wake_fd, &one, sizeof(one)) < 0) fail("wake", errno);
            }
            for (uint32_t i = 0; i < pending; i++) fan_out(self, frames[i]);
        }
        for (uint32_t r = 0; r < self->ring_count; r++) {
            ring_state *state = &self->rings[r];
            if (read(state->eventfd, &count, sizeof(count)) < 0 && io_uring_cq_ready(&state->ring) == 0) continue;
            struct io_uring_cqe *cqe;
            unsigned head, seen = 0;
            io_uring_for_each_cqe(&state->ring, head, cqe) {
                complete(state, cqe);
                seen++;
            }
            io_uring_cq_advance(&state->ring, seen);
            io_uring_submit(&state->ring);
        }
    }
    return NULL;
}

static void on_signal(int number) {
    (void)number;
    stopping = 1;
}

int main(int argc, char **argv) {
    const char *listen_address = "127.0.0.1:18900";
    uint32_t max_connections = 1000000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--listen")) listen_address = argv[i + 1];
        else if (!strcmp(argv[i], "--threads")) worker_count = (uint32_t)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-connections")) max_connections = (uint32_t)atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: c-baseline --listen HOST:PORT [--threads N] [--max-connections N]\n");
            return 2;
        }
    }
    if (worker_count == 0) worker_count = 1;
    char host[64];
    const char *colon = strrchr(listen_address, ':');
    if (!colon || (size_t)(colon - listen_address) >= sizeof(host)) fail("--listen needs HOST:PORT", EINVAL);
    memcpy(host, listen_address, (size_t)(colon - listen_address));
    host[colon - listen_address] = '\0';
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) fail("--listen needs an IPv4 address", EINVAL);

    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    // A ring's file table may hold at most RLIMIT_NOFILE slots; leave room for ordinary descriptors.
    uint32_t slots_per_ring = (uint32_t)(limit.rlim_cur > 1000 ? limit.rlim_cur - 1000 : limit.rlim_cur);
    // Each ring stops accepting ACCEPT_HEADROOM slots short of full.
    uint32_t usable_per_ring = slots_per_ring - ACCEPT_HEADROOM;
    uint32_t ring_total = (max_connections + usable_per_ring - 1) / usable_per_ring;
    if (ring_total < worker_count) ring_total = worker_count;

    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(listen_fd, (struct sockaddr *)&address, sizeof(address)) < 0) fail("bind", errno);
    if (listen(listen_fd, 65535) < 0) fail("listen", errno);

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    workers = calloc(worker_count, sizeof(worker));
    for (uint32_t w = 0; w < worker_count; w++) {
        worker *self = &workers[w];
        self->ring_count = ring_total / worker_count + (w < ring_total % worker_count ? 1 : 0);
        self->rings = calloc(self->ring_count, sizeof(ring_state));
        self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        pthread_mutex_init(&self->lock, NULL);
    }
    // Rings are set up before any worker runs: a pub on one worker queues frames to all.
    for (uint32_t w = 0; w < worker_count; w++) {
        for (uint32_t r = 0; r < workers[w].ring_count; r++) setup_ring(&workers[w].rings[r], slots_per_ring);
    }
    printf("c-baseline: listening on ws://%s/ with %u thread(s), %u ring(s) of %u slots\n", listen_address, worker_count,
           ring_total, slots_per_ring);
    fflush(stdout);
    for (uint32_t w = 0; w < worker_count; w++) pthread_create(&workers[w].thread, NULL, run_worker, &workers[w]);
    for (uint32_t w = 0; w < worker_count; w++) pthread_join(workers[w].thread, NULL);
    printf("c-baseline: %ld frames sent, %ld connections open at exit\n", atomic_load(&frames_sent),
           atomic_load(&connections_open));
    return 0;
}
