import Glibc
import Testing
import UringIO

@Suite struct RingMemoryLimitTests {
    @Test func ringSetupOutOfMemoryNamesTheLockedMemoryLimit() {
        let hint = RingMemoryLimit.hint(for: SystemError(call: "io_uring_setup", errno: ENOMEM), lockedMemoryLimit: 8 << 20)
        #expect(hint?.contains("RLIMIT_MEMLOCK, now 8192 KiB") == true)
        #expect(hint?.contains("LimitMEMLOCK=infinity") == true)
    }

    @Test func otherFailuresGetNoHint() {
        #expect(RingMemoryLimit.hint(for: SystemError(call: "io_uring_setup", errno: EPERM), lockedMemoryLimit: 8 << 20) == nil)
        #expect(RingMemoryLimit.hint(for: SystemError(call: "bind", errno: ENOMEM), lockedMemoryLimit: 8 << 20) == nil)
        #expect(RingMemoryLimit.hint(for: SystemError(call: "io_uring_setup", errno: ENOMEM), lockedMemoryLimit: nil) == nil)
    }
}
