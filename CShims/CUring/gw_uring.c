// gw_uring: liburing calls behind plain C types. No logic beyond what Swift cannot express.
#include "gw_uring.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

const uint32_t gw_cqe_f_buffer = IORING_CQE_F_BUFFER;
const uint32_t gw_cqe_f_more = IORING_CQE_F_MORE;
const uint32_t gw_cqe_buffer_shift = IORING_CQE_BUFFER_SHIFT;

_Static_assert(sizeof(gw_completion) == 16, "gw_completion is read as an array from Swift");

struct gw_ring {
    struct io_uring ring;
    // Provided buffers: the ring of descriptors the kernel reads and the memory they point at.
    struct io_uring_buf_ring *buffer_ring;
    size_t buffer_ring_bytes;
    uint8_t *buffer_memory;
    size_t buffer_memory_bytes;
    uint32_t buffer_count;
    uint32_t buffer_size;
    uint32_t buffers_returned;
    // The kernel reads a timeout's timespec at submit, so it must outlive the prep call.
    struct __kernel_timespec timeout;
};

static struct io_uring_sqe *next_sqe(gw_ring *ring) {
    return io_uring_get_sqe(&ring->ring);
}

gw_ring *gw_ring_create(uint32_t sq_entries, uint32_t cq_entries, uint32_t file_slots,
                        int *error_out, uint32_t *features_out) {
    gw_ring *ring = calloc(1, sizeof(gw_ring));
    if (!ring) {
        *error_out = -ENOMEM;
        return NULL;
    }
    // Newest flags first; older kernels reject them with EINVAL and we retry with fewer.
    const unsigned attempts[3] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
        0,
    };
    const uint32_t features[3] = {3, 1, 0};
    int result = -EINVAL;
    for (int i = 0; i < 3; i++) {
        struct io_uring_params params;
        memset(&params, 0, sizeof(params));
        params.flags = attempts[i] | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
        params.cq_entries = cq_entries;
        result = io_uring_queue_init_params(sq_entries, &ring->ring, &params);
        if (result == 0) {
            *features_out = features[i];
            break;
        }
        if (result != -EINVAL) break;
    }
    if (result != 0) {
        free(ring);
        *error_out = result;
        return NULL;
    }
    if (file_slots > 0) {
        result = io_uring_register_files_sparse(&ring->ring, file_slots);
        if (result != 0) {
            io_uring_queue_exit(&ring->ring);
            free(ring);
            *error_out = result;
            return NULL;
        }
    }
    *error_out = 0;
    return ring;
}

void gw_ring_destroy(gw_ring *ring) {
    if (!ring) return;
    io_uring_queue_exit(&ring->ring);
    if (ring->buffer_ring) munmap(ring->buffer_ring, ring->buffer_ring_bytes);
    if (ring->buffer_memory) munmap(ring->buffer_memory, ring->buffer_memory_bytes);
    free(ring);
}

// liburing 2.3 has no io_uring_setup_buf_ring: map the ring ourselves and register it.
int gw_ring_setup_buffers(gw_ring *ring, uint16_t group_id, uint32_t count, uint32_t size) {
    if (count == 0 || (count & (count - 1)) != 0 || count > 32768) return -EINVAL;
    size_t ring_bytes = count * sizeof(struct io_uring_buf);
    void *ring_memory = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE,
                             MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (ring_memory == MAP_FAILED) return -errno;
    size_t memory_bytes = (size_t)count * size;
    void *buffers = mmap(NULL, memory_bytes, PROT_READ | PROT_WRITE,
                         MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (buffers == MAP_FAILED) {
        int error = -errno;
        munmap(ring_memory, ring_bytes);
        return error;
    }
    struct io_uring_buf_reg registration;
    memset(&registration, 0, sizeof(registration));
    registration.ring_addr = (uint64_t)(uintptr_t)ring_memory;
    registration.ring_entries = count;
    registration.bgid = group_id;
    int result = io_uring_register_buf_ring(&ring->ring, &registration, 0);
    if (result != 0) {
        munmap(ring_memory, ring_bytes);
        munmap(buffers, memory_bytes);
        return result;
    }
    ring->buffer_ring = ring_memory;
    ring->buffer_ring_bytes = ring_bytes;
    ring->buffer_memory = buffers;
    ring->buffer_memory_bytes = memory_bytes;
    ring->buffer_count = count;
    ring->buffer_size = size;
    io_uring_buf_ring_init(ring->buffer_ring);
    int mask = io_uring_buf_ring_mask(count);
    for (uint32_t id = 0; id < count; id++) {
        io_uring_buf_ring_add(ring->buffer_ring, ring->buffer_memory + (size_t)id * size, size,
                              (unsigned short)id, mask, (int)id);
    }
    io_uring_buf_ring_advance(ring->buffer_ring, (int)count);
    return 0;
}

uint8_t *gw_ring_buffer(gw_ring *ring, uint16_t buffer_id) {
    return ring->buffer_memory + (size_t)buffer_id * ring->buffer_size;
}

void gw_ring_buffer_return(gw_ring *ring, uint16_t buffer_id) {
    io_uring_buf_ring_add(ring->buffer_ring, gw_ring_buffer(ring, buffer_id), ring->buffer_size,
                          buffer_id, io_uring_buf_ring_mask(ring->buffer_count),
                          (int)ring->buffers_returned);
    ring->buffers_returned++;
}

void gw_ring_buffers_publish(gw_ring *ring) {
    if (ring->buffers_returned == 0) return;
    io_uring_buf_ring_advance(ring->buffer_ring, (int)ring->buffers_returned);
    ring->buffers_returned = 0;
}

uint32_t gw_ring_sq_space(gw_ring *ring) {
    return io_uring_sq_space_left(&ring->ring);
}

int gw_prep_multishot_accept_direct(gw_ring *ring, int listen_fd, uint64_t user_data) {
    struct io_uring_sqe *sqe = next_sqe(ring);
    if (!sqe) return -EBUSY;
    io_uring_prep_multishot_accept_direct(sqe, listen_fd, NULL, NULL, 0);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int gw_prep_accept_direct(gw_ring *ring, int listen_fd, uint64_t user_data) {
    struct io_uring_sqe *sqe = next_sqe(ring);
    if (!sqe) return -EBUSY;
    // liburing 2.3 stores file_index + 1, so "allocate a slot" must be passed as ALLOC - 1.
    io_uring_prep_accept_direct(sqe, listen_fd, NULL, NULL, 0, IORING_FILE_INDEX_ALLOC - 1);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int gw_prep_recv_multishot(gw_ring *ring, uint32_t slot, uint16_t group_id, uint64_t user_data) {
    struct io_uring_sqe *sqe = next_sqe(ring);
    if (!sqe) return -EBUSY;
    io_uring_prep_recv_multishot(sqe, (int)slot, NULL, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = group_id;
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int gw_prep_send(gw_ring *ring, uint32_t slot, const void *bytes, uint32_t length,
                 uint64_t user_data) {
    struct io_uring_sqe *sqe = next_sqe(ring);
    if (!sqe) return -EBUSY;
    // MSG_NOSIGNAL: a peer that went away must give EPIPE, not kill the process.
    io_uring_prep_send(sqe, (int)slot, bytes, length, MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int gw_prep_cancel_and_close(gw_ring *ring, uint32_t slot, uint64_t target_user_data,
                             uint64_t cancel_user_data, uint64_t close_user_data) {
    if (io_uring_sq_space_left(&ring->ring) < 2) return -EBUSY;
    struct io_uring_sqe *cancel = next_sqe(ring);
    // A pending multishot recv holds its own file reference: cancel it or close never frees the
    // socket. By user_data, a hash lookup: cancelling by descriptor walks every pending request.
    io_uring_prep_cancel64(cancel, target_user_data, 0);
    // Hard link: the close runs even when the recv had already ended (-ENOENT).
    cancel->flags |= IOSQE_IO_HARDLINK;
    io_uring_sqe_set_data64(cancel, cancel_user_data);
    struct io_uring_sqe *close = next_sqe(ring);
    io_uring_prep_close_direct(close, slot);
    io_uring_sqe_set_data64(close, close_user_data);
    return 0;
}

// liburing 2.3's header predates socket commands: the kernel's number for getsockopt.
enum { GW_SOCKET_URING_OP_GETSOCKOPT = 2 };

int gw_prep_peer_address_then_receive(gw_ring *ring, uint32_t slot, void *address, uint32_t length,
                                      uint64_t address_user_data, uint16_t group_id,
                                      uint64_t receive_user_data) {
    if (io_uring_sq_space_left(&ring->ring) < 2) return -EBUSY;
    struct io_uring_sqe *sqe = next_sqe(ring);
    memset(sqe, 0, sizeof(*sqe));
    sqe->opcode = IORING_OP_URING_CMD;
    sqe->fd = (int)slot;
    // Hard link: the receive starts once the address is known (so its completion comes first),
    // and still starts when the kernel cannot tell the address.
    sqe->flags = IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
    sqe->cmd_op = GW_SOCKET_URING_OP_GETSOCKOPT;
    // Newer headers name these fields: level and optname share `addr` (level in the low half),
    // optlen sits in `file_index` and optval in `addr3`.
    sqe->addr = (uint64_t)SOL_SOCKET | ((uint64_t)SO_PEERNAME << 32);
    sqe->file_index = length;
    sqe->addr3 = (uint64_t)(uintptr_t)address;
    io_uring_sqe_set_data64(sqe, address_user_data);
    return gw_prep_recv_multishot(ring, slot, group_id, receive_user_data);
}

int gw_prep_cancel(gw_ring *ring, uint64_t target_user_data, uint64_t user_data) {
    struct io_uring_sqe *sqe = next_sqe(ring);
    if (!sqe) return -EBUSY;
    io_uring_prep_cancel64(sqe, target_user_data, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int gw_prep_read(gw_ring *ring, int fd, void *bytes, uint32_t length, uint64_t user_data) {
    struct io_uring_sqe *sqe = next_sqe(ring);
    if (!sqe) return -EBUSY;
    io_uring_prep_read(sqe, fd, bytes, length, 0);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int gw_prep_timeout(gw_ring *ring, uint64_t nanoseconds, uint64_t user_data) {
    struct io_uring_sqe *sqe = next_sqe(ring);
    if (!sqe) return -EBUSY;
    ring->timeout.tv_sec = (long long)(nanoseconds / 1000000000ull);
    ring->timeout.tv_nsec = (long long)(nanoseconds % 1000000000ull);
    io_uring_prep_timeout(sqe, &ring->timeout, 0, 0);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int gw_ring_submit_and_wait(gw_ring *ring, uint32_t wait_count) {
    return io_uring_submit_and_wait(&ring->ring, wait_count);
}

int gw_ring_submit(gw_ring *ring) {
    return io_uring_submit(&ring->ring);
}

int gw_ring_submit_and_get_events(gw_ring *ring) {
    return io_uring_submit_and_get_events(&ring->ring);
}

int gw_ring_register_eventfd(gw_ring *ring, int fd) {
    return io_uring_register_eventfd(&ring->ring, fd);
}

uint32_t gw_ring_reap(gw_ring *ring, gw_completion *out, uint32_t capacity) {
    uint32_t count = 0;
    unsigned head;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&ring->ring, head, cqe) {
        if (count == capacity) break;
        out[count].user_data = cqe->user_data;
        out[count].res = cqe->res;
        out[count].flags = cqe->flags;
        count++;
    }
    io_uring_cq_advance(&ring->ring, count);
    return count;
}

int gw_ring_install_file(gw_ring *ring, uint32_t slot, int fd) {
    int result = io_uring_register_files_update(&ring->ring, slot, &fd, 1);
    return result == 1 ? 0 : (result < 0 ? result : -EIO);
}

int gw_eventfd_create(void) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}
