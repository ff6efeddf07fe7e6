// Why a ring could not be set up for lack of memory, in words an operator can act on.
#if canImport(Glibc)
import Glibc
#endif

public enum RingMemoryLimit {
    /// The current RLIMIT_MEMLOCK in bytes (nil when unlimited).
    public static func lockedMemoryLimit() -> UInt64? {
        var limit = rlimit()
        guard getrlimit(Int32(__RLIMIT_MEMLOCK.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return UInt64(limit.rlim_cur)
    }

    /// For ENOMEM from io_uring's set-up: a process without CAP_IPC_LOCK pays for every ring's
    /// memory out of RLIMIT_MEMLOCK, which systemd and most distributions set to 8 MiB.
    public static func hint(for error: SystemError, lockedMemoryLimit: UInt64?) -> String? {
        guard error.errno == ENOMEM, error.call.hasPrefix("io_uring"), let lockedMemoryLimit else { return nil }
        return "the rings' memory counts against the locked-memory limit (RLIMIT_MEMLOCK, now "
            + "\(lockedMemoryLimit / 1024) KiB) unless the process has CAP_IPC_LOCK: raise it "
            + "(LimitMEMLOCK=infinity in the systemd unit, `ulimit -l unlimited` in a shell) or lower --max-connections"
    }
}
