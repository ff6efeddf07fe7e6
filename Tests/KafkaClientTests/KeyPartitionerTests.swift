import Testing
@testable import KafkaClient

@Suite struct KeyPartitionerTests {
    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(KeyPartitioner.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(KeyPartitioner.crc32([]) == 0)
    }

    /// The values of Kafka's own murmur2 test (signed, as Java prints them).
    @Test func murmur2MatchesKafkasTestVectors() {
        let cases: [(String, Int32)] = [
            ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("abc", 479_470_107),
        ]
        for (key, expected) in cases {
            #expect(Int32(bitPattern: KeyPartitioner.murmur2(Array(key.utf8))) == expected, "\(key)")
        }
    }

    @Test func partitionsStayInRange() {
        for partitioner in KeyPartitioner.allCases {
            for key in ["alice", "bob", "", "p12345"] {
                let partition = partitioner.partition(of: Array(key.utf8), partitions: 7)
                #expect((0..<7).contains(partition))
            }
        }
    }
}
