import Glibc

/// SIGINT and SIGTERM, blocked in every thread and taken synchronously by the main thread:
/// `wait()` sleeps in sigwait until one arrives, with no handler and no polling.
struct ShutdownSignals {
    private var signals = sigset_t()

    init() {
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    /// Blocks until SIGINT or SIGTERM; returns its number.
    func wait() -> Int32 {
        var signals = self.signals
        var received: Int32 = 0
        while sigwait(&signals, &received) != 0 {}
        return received
    }
}
