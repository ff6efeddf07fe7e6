// Which partition a producer put a keyed record in: a gateway that must read a subject's
// records back from Kafka (a client resuming with `since`) finds its partition the way the
// producer chose it. librdkafka's default (consistent_random) hashes with CRC-32; the Java
// client's default hashes with murmur2.

public enum KeyPartitioner: String, Sendable, CaseIterable {
    /// librdkafka's `consistent` and `consistent_random` (its default): CRC-32 of the key.
    case crc32
    /// The Java client's default, and librdkafka's `murmur2` and `murmur2_random`.
    case murmur2

    /// The partition of a record with `key` on a topic with `partitions` partitions.
    public func partition(of key: [UInt8], partitions: Int32) -> Int32 {
        precondition(partitions > 0, "a topic has at least one partition")
        switch self {
        case .crc32:
            return Int32(Self.crc32(key) % UInt32(partitions))
        case .murmur2:
            // Java: toPositive(murmur2(key)) % partitions, where toPositive masks the sign bit.
            return Int32((Self.murmur2(key) & 0x7fff_ffff) % UInt32(partitions))
        }
    }

    /// CRC-32 as zlib computes it (reflected polynomial 0xEDB88320).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc = crc32Table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8)
        }
        return crc ^ 0xffff_ffff
    }

    private static let crc32Table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xedb8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// Kafka's murmur2 (seed 0x9747b28c), as a 32-bit pattern.
    static func murmur2(_ bytes: [UInt8]) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: bytes.count)
        let blocks = bytes.count / 4
        for block in 0..<blocks {
            let i = block * 4
            var k = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = blocks * 4
        switch bytes.count % 4 {
        case 3:
            h ^= UInt32(bytes[tail + 2]) << 16
            fallthrough
        case 2:
            h ^= UInt32(bytes[tail + 1]) << 8
            fallthrough
        case 1:
            h ^= UInt32(bytes[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}
