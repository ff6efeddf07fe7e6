import LoadGenerator
import Testing

@Suite struct SourceEndpointAllocatorTests {
    @Test func startsAt127002WithTheFirstPort() {
        var allocator = SourceEndpointAllocator(ports: 10_000...10_002)
        #expect(allocator.next() == SourceEndpoint(address: IPv4Address(127, 0, 0, 2), port: 10_000))
    }

    @Test func usesEveryPortOfAnAddressThenMovesOn() {
        var allocator = SourceEndpointAllocator(ports: 65_534...65_535)
        let endpoints = (0..<4).map { _ in allocator.next() }
        #expect(endpoints.map(\.description) == [
            "127.0.0.2:65534", "127.0.0.2:65535", "127.0.0.3:65534", "127.0.0.3:65535",
        ])
    }

    @Test func skipsHostPartsEndingIn255And0() {
        var allocator = SourceEndpointAllocator(firstAddress: IPv4Address(127, 0, 0, 254), ports: 20_000...20_000)
        let addresses = (0..<3).map { _ in allocator.next().address.description }
        #expect(addresses == ["127.0.0.254", "127.0.1.1", "127.0.1.2"])
    }

    @Test func neverHandsOut127001() {
        var allocator = SourceEndpointAllocator(firstAddress: IPv4Address(127, 0, 0, 1), ports: 1_000...1_000)
        #expect(allocator.next().address == IPv4Address(127, 0, 0, 2))
        #expect(!SourceEndpointAllocator.usable(IPv4Address(127, 0, 0, 1)))
        #expect(!SourceEndpointAllocator.usable(IPv4Address(127, 3, 4, 0)))
        #expect(!SourceEndpointAllocator.usable(IPv4Address(127, 3, 4, 255)))
        #expect(!SourceEndpointAllocator.usable(IPv4Address(10, 0, 0, 2)))
    }

    @Test func wrapsFromTheLastAddressToTheFirst() {
        var allocator = SourceEndpointAllocator(firstAddress: IPv4Address(127, 255, 255, 254), ports: 5_000...5_001)
        let endpoints = (0..<3).map { _ in allocator.next().description }
        #expect(endpoints == ["127.255.255.254:5000", "127.255.255.254:5001", "127.0.0.2:5000"])
    }

    @Test func handsOutNoDuplicatesOverManyAddresses() {
        var allocator = SourceEndpointAllocator(firstAddress: IPv4Address(127, 0, 0, 250), ports: 60_000...60_099)
        var seen = Set<SourceEndpoint>()
        for _ in 0..<50_000 {
            let endpoint = allocator.next()
            #expect(SourceEndpointAllocator.usable(endpoint.address))
            #expect((60_000...60_099).contains(endpoint.port))
            seen.insert(endpoint)
        }
        #expect(seen.count == 50_000)
        #expect(allocator.allocated == 50_000)
    }

    @Test func capacityCountsEveryUsableAddressTimesPorts() {
        let allocator = SourceEndpointAllocator(ports: 10_000...10_009)
        #expect(allocator.capacity == (256 * 256 * 254 - 1) * 10)
    }
}
