// One io_uring instance: the owner of a gw_ring handle, with Swift names over the shim.
internal import CUring
#if canImport(Glibc)
import Glibc
#endif

/// A ring must be created, used and destroyed on one thread (SINGLE_ISSUER).
final class Ring {
    private let handle: OpaquePointer
    let features: UInt32

    init(submissionEntries: UInt32, completionEntries: UInt32, fileSlots: UInt32) throws(SystemError) {
        var error: Int32 = 0
        var features: UInt32 = 0
        guard let handle = gw_ring_create(submissionEntries, completionEntries, fileSlots, &error, &features) else {
            throw SystemError(call: "io_uring_setup", errno: -error)
        }
        self.handle = handle
        self.features = features
    }

    deinit {
        gw_ring_destroy(handle)
    }

    func setUpBuffers(group: UInt16, count: UInt32, size: UInt32) throws(SystemError) {
        try SystemError.check(gw_ring_setup_buffers(handle, group, count, size), "io_uring_register_buf_ring")
    }

    func buffer(_ id: UInt16) -> UnsafeMutablePointer<UInt8> {
        gw_ring_buffer(handle, id)
    }

    func returnBuffer(_ id: UInt16) {
        gw_ring_buffer_return(handle, id)
    }

    func publishReturnedBuffers() {
        gw_ring_buffers_publish(handle)
    }

    /// Runs `prep` and, when the submission queue is full, submits and tries once more.
    private func prepare(_ prep: () -> Int32) {
        if prep() == -EBUSY {
            // Receives re-armed after ENOBUFS run in this submit: they must see the buffers
            // returned so far, or they fail again at once, for ever.
            gw_ring_buffers_publish(handle)
            _ = gw_ring_submit(handle)
            let result = prep()
            precondition(result == 0, "submission queue still full after a submit")
        }
    }

    func acceptMultishot(listener: Int32, _ userData: UserData) {
        prepare { gw_prep_multishot_accept_direct(handle, listener, userData.raw) }
    }

    func acceptOnce(listener: Int32, _ userData: UserData) {
        prepare { gw_prep_accept_direct(handle, listener, userData.raw) }
    }

    func receiveMultishot(slot: UInt32, group: UInt16, _ userData: UserData) {
        prepare { gw_prep_recv_multishot(handle, slot, group, userData.raw) }
    }

    func send(slot: UInt32, bytes: UnsafeRawPointer, count: UInt32, _ userData: UserData) {
        prepare { gw_prep_send(handle, slot, bytes, count, userData.raw) }
    }

    /// The peer's address into `address`, then the multishot receive, in that order.
    func peerAddressThenReceive(
        slot: UInt32, into address: UnsafeMutableRawPointer, length: UInt32, _ addressUserData: UserData,
        group: UInt16, _ receiveUserData: UserData
    ) {
        prepare {
            gw_prep_peer_address_then_receive(
                handle, slot, address, length, addressUserData.raw, group, receiveUserData.raw)
        }
    }

    /// Cancels `target` (the slot's receive), then closes the slot.
    func cancelAndClose(slot: UInt32, target: UserData, cancel: UserData, close: UserData) {
        prepare { gw_prep_cancel_and_close(handle, slot, target.raw, cancel.raw, close.raw) }
    }

    func cancel(_ target: UserData, _ userData: UserData) {
        prepare { gw_prep_cancel(handle, target.raw, userData.raw) }
    }

    func read(fd: Int32, into bytes: UnsafeMutableRawPointer, count: UInt32, _ userData: UserData) {
        prepare { gw_prep_read(handle, fd, bytes, count, userData.raw) }
    }

    func timeout(nanoseconds: UInt64, _ userData: UserData) {
        prepare { gw_prep_timeout(handle, nanoseconds, userData.raw) }
    }

    func installFile(slot: UInt32, fd: Int32) throws(SystemError) {
        try SystemError.check(gw_ring_install_file(handle, slot, fd), "io_uring_register_files_update")
    }

    /// Submits queued requests and waits for one completion; EINTR and EBUSY just return.
    func submitAndWait() throws(SystemError) {
        let result = gw_ring_submit_and_wait(handle, 1)
        if result < 0 && result != -EINTR && result != -EBUSY && result != -ETIME {
            throw SystemError(call: "io_uring_enter", errno: -result)
        }
    }

    func submit() {
        _ = gw_ring_submit(handle)
    }

    /// Submits and runs completions deferred to this thread, without waiting.
    func submitAndGetEvents() {
        _ = gw_ring_submit_and_get_events(handle)
    }

    func registerEventDescriptor(_ descriptor: Int32) -> Int32 {
        gw_ring_register_eventfd(handle, descriptor)
    }

    /// Copies up to `buffer.count` ready completions into `buffer` (one CQ advance); returns how many.
    func reap(into buffer: UnsafeMutableBufferPointer<gw_completion>) -> Int {
        Int(gw_ring_reap(handle, buffer.baseAddress!, UInt32(buffer.count)))
    }
}

/// A completion as the event loop reads it.
struct Completion {
    let userData: UInt64
    let result: Int32
    let flags: UInt32

    var hasMore: Bool { flags & gw_cqe_f_more != 0 }
    var bufferID: UInt16? {
        flags & gw_cqe_f_buffer != 0 ? UInt16(truncatingIfNeeded: flags >> gw_cqe_buffer_shift) : nil
    }
}

extension Completion {
    init(_ raw: gw_completion) {
        self.init(userData: raw.user_data, result: raw.res, flags: raw.flags)
    }
}
