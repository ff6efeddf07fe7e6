// gw_uring: the thin C face of io_uring for Swift.
//
// Only plain C types cross this header: liburing's own headers stay inside gw_uring.c so that
// no Swift module ever sees them (their fd_set definitions collide with librdkafka's).
// Every function returns 0 or a positive count on success and -errno on failure.
#ifndef GW_URING_H
#define GW_URING_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_ring gw_ring;

/// One completion copied out of the kernel's queue into memory Swift owns.
typedef struct gw_completion {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
} gw_completion;

/// Completion flags, exported as constants because Swift cannot import the macros.
extern const uint32_t gw_cqe_f_buffer;
extern const uint32_t gw_cqe_f_more;
extern const uint32_t gw_cqe_buffer_shift;

/// Ring set-up: SINGLE_ISSUER and DEFER_TASKRUN when the kernel has them, a sparse table of
/// `file_slots` direct descriptors. Must be called on the thread that will submit.
/// `*features_out` gets a bit set: 1 = single issuer, 2 = defer taskrun.
gw_ring *gw_ring_create(uint32_t sq_entries, uint32_t cq_entries, uint32_t file_slots,
                        int *error_out, uint32_t *features_out);
void gw_ring_destroy(gw_ring *ring);

/// A provided buffer ring of `count` (power of two) buffers of `size` bytes, group `group_id`.
int gw_ring_setup_buffers(gw_ring *ring, uint16_t group_id, uint32_t count, uint32_t size);
/// Address of provided buffer `buffer_id`.
uint8_t *gw_ring_buffer(gw_ring *ring, uint16_t buffer_id);
/// Hands a consumed buffer back to the kernel; visible after gw_ring_buffers_publish.
void gw_ring_buffer_return(gw_ring *ring, uint16_t buffer_id);
void gw_ring_buffers_publish(gw_ring *ring);

/// Free submission entries left before a submit is needed.
uint32_t gw_ring_sq_space(gw_ring *ring);

/// SQE preparation. Each returns -EBUSY when the submission queue is full.
int gw_prep_multishot_accept_direct(gw_ring *ring, int listen_fd, uint64_t user_data);
/// One accept into a direct slot the kernel picks: used near a full table, where a multishot
/// accept could take more connections than there are free slots (and drop the one over).
int gw_prep_accept_direct(gw_ring *ring, int listen_fd, uint64_t user_data);
int gw_prep_recv_multishot(gw_ring *ring, uint32_t slot, uint16_t group_id, uint64_t user_data);
int gw_prep_send(gw_ring *ring, uint32_t slot, const void *bytes, uint32_t length, uint64_t user_data);
/// Asks for a direct descriptor's peer address (getsockopt SO_PEERNAME as an io_uring socket
/// command, Linux 6.7+), then arms its multishot receive: `length` bytes of sockaddr land in
/// `address` before any data is delivered. The address completion's result is the length
/// written, or a negative errno (-EOPNOTSUPP or -EINVAL on older kernels).
int gw_prep_peer_address_then_receive(gw_ring *ring, uint32_t slot, void *address, uint32_t length,
                                      uint64_t address_user_data, uint16_t group_id,
                                      uint64_t receive_user_data);
/// Cancels the request whose user_data is `target_user_data` (the slot's multishot recv), then
/// closes the direct descriptor (hard-linked: close runs even when there was nothing to cancel).
/// Only the close posts a completion of interest.
int gw_prep_cancel_and_close(gw_ring *ring, uint32_t slot, uint64_t target_user_data,
                             uint64_t cancel_user_data, uint64_t close_user_data);
int gw_prep_cancel(gw_ring *ring, uint64_t target_user_data, uint64_t user_data);
int gw_prep_read(gw_ring *ring, int fd, void *bytes, uint32_t length, uint64_t user_data);
/// A relative timeout that fires once after `nanoseconds`.
int gw_prep_timeout(gw_ring *ring, uint64_t nanoseconds, uint64_t user_data);

/// Submits what is queued and waits for at least `wait_count` completions.
int gw_ring_submit_and_wait(gw_ring *ring, uint32_t wait_count);
int gw_ring_submit(gw_ring *ring);
// Submits and runs the ring's deferred completions without waiting (a ring another ring waits for).
int gw_ring_submit_and_get_events(gw_ring *ring);
// Has every completion posted to this ring also signal `fd` (an eventfd).
int gw_ring_register_eventfd(gw_ring *ring, int fd);

/// Copies up to `capacity` completions into `out` and advances the queue once.
uint32_t gw_ring_reap(gw_ring *ring, gw_completion *out, uint32_t capacity);

/// Puts an ordinary descriptor into direct slot `slot`; the caller may close its own copy.
int gw_ring_install_file(gw_ring *ring, uint32_t slot, int fd);

/// A non-blocking eventfd for cross-thread wake-ups (sys/eventfd.h is not in Swift's Glibc module).
int gw_eventfd_create(void);

#endif
