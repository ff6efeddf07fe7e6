import Gateway
import Glibc
import Testing
import UringIO

@Suite struct AddressLimiterTests {
    private let alice = PeerAddress(ipv4: 0x7F00_0002)
    private let bob = PeerAddress(ipv4: 0x7F00_0003)

    @Test func anAddressGetsUpToTheLimitAndOthersAreUnaffected() {
        let limiter = AddressLimiter(limit: 2)
        #expect(limiter.admit(alice))
        #expect(limiter.admit(alice))
        #expect(!limiter.admit(alice))
        #expect(limiter.admit(bob))
        #expect(limiter.connections(from: alice) == 2)
    }

    @Test func aClosedConnectionFreesItsPlace() {
        let limiter = AddressLimiter(limit: 1)
        #expect(limiter.admit(alice))
        limiter.release(alice)
        #expect(limiter.connections(from: alice) == 0)
        #expect(limiter.admit(alice))
    }

    @Test func peerAddressesReadFromTheKernelsSockaddr() {
        var ipv4 = sockaddr_in()
        ipv4.sin_family = sa_family_t(AF_INET)
        ipv4.sin_port = UInt16(4242).bigEndian
        ipv4.sin_addr.s_addr = UInt32(0x7F01_0203).bigEndian
        let fromIPv4 = withUnsafeBytes(of: &ipv4) { PeerAddress(sockaddr: $0) }
        #expect(fromIPv4 == PeerAddress(ipv4: 0x7F01_0203))
        #expect(fromIPv4?.description == "127.1.2.3")

        var ipv6 = sockaddr_in6()
        ipv6.sin6_family = sa_family_t(AF_INET6)
        ipv6.sin6_addr.__in6_u.__u6_addr8.15 = 1
        let loopback = withUnsafeBytes(of: &ipv6) { PeerAddress(sockaddr: $0) }
        #expect(loopback == PeerAddress(high: 0, low: 1))
        #expect(loopback?.description == "0:0:0:0:0:0:0:1")

        var unix = sockaddr_in()
        unix.sin_family = sa_family_t(AF_UNIX)
        #expect(withUnsafeBytes(of: &unix) { PeerAddress(sockaddr: $0) } == nil)
    }
}
