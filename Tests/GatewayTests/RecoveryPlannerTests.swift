import KafkaClient
import Testing
@testable import Gateway

@Suite struct RecoveryPlannerTests {
    let planner = RecoveryPlanner(
        partitionCounts: ["result": 3, "question": 1, "top": 2],
        startOffsets: [
            TopicPartition(topic: "result", partition: 0): 500, TopicPartition(topic: "result", partition: 1): 700,
            TopicPartition(topic: "result", partition: 2): 900, TopicPartition(topic: "question", partition: 0): 40,
        ],
        partitioner: .crc32)

    @Test func aKeyedSubjectIsReadFromItsPartitionUpToWhereThisGatewayStarted() {
        let partition = KeyPartitioner.crc32.partition(of: Array("carol".utf8), partitions: 3)
        let start = planner.startOffsets[TopicPartition(topic: "result", partition: partition)]!
        let plan = planner.plan(subject: "/result/carol", afterSeq: 10, learnedPartition: nil, evictedThrough: nil)
        #expect(plan == .init(partition: TopicPartition(topic: "result", partition: partition), key: Array("carol".utf8), offsets: 11..<start))
    }

    @Test func aPartitionSeenOnTheSubjectsRecordsWinsOverThePartitioner() {
        let plan = planner.plan(subject: "/result/carol", afterSeq: 10, learnedPartition: 2, evictedThrough: nil)
        #expect(plan?.partition == TopicPartition(topic: "result", partition: 2))
        #expect(plan?.offsets == 11..<900)
    }

    @Test func memoryThatReachesBackFarEnoughNeedsNoRead() {
        #expect(planner.plan(subject: "/result/carol", afterSeq: 950, learnedPartition: 2, evictedThrough: nil) == nil)
        #expect(planner.plan(subject: "/result/carol", afterSeq: 899, learnedPartition: 2, evictedThrough: nil) == nil)
    }

    @Test func whatTheHistoryLetGoOfIsReadBack() {
        let plan = planner.plan(subject: "/result/carol", afterSeq: 950, learnedPartition: 2, evictedThrough: 1200)
        #expect(plan?.offsets == 951..<1201)
    }

    @Test func aSubjectWithoutKeyResumesFromKafkaOnlyOnAOnePartitionTopic() {
        #expect(planner.plan(subject: "/question", afterSeq: 3, learnedPartition: 0, evictedThrough: nil)?.offsets == 4..<40)
        #expect(planner.plan(subject: "/top", afterSeq: 3, learnedPartition: 0, evictedThrough: nil) == nil)
        #expect(planner.plan(subject: "/unknown/x", afterSeq: 3, learnedPartition: nil, evictedThrough: nil) == nil)
    }

    @Test func aLongGapIsReadFromItsNewestEndAndTheRestIsAGap() {
        let (read, gap) = RecoveryPlanner.bounded(11..<900, maxRecords: 100)
        #expect(read == 800..<900)
        #expect(gap == 11...799)
        #expect(RecoveryPlanner.bounded(11..<50, maxRecords: 100).gap == nil)
    }

    @Test func theLargestSinceNeedsNoReadAndDoesNotOverflow() {
        #expect(planner.plan(subject: "/result/carol", afterSeq: .max, learnedPartition: 2, evictedThrough: nil) == nil)
        #expect(planner.plan(subject: "/result/carol", afterSeq: .max, learnedPartition: 2, evictedThrough: .max) == nil)
    }

    @Test func aSubjectForgottenInThePartitionSendsAResumeToKafka() {
        let partition = TopicPartition(topic: "result", partition: 2)
        let plan = planner.plan(
            subject: "/result/carol", afterSeq: 950, learnedPartition: nil, evictedThrough: nil,
            forgottenThrough: { $0 == partition ? 1500 : nil })
        let computed = KeyPartitioner.crc32.partition(of: Array("carol".utf8), partitions: 3)
        if computed == 2 {
            #expect(plan?.offsets == 951..<1501)
        } else {
            #expect(plan == nil, "another partition's forgetting says nothing about carol's")
        }
        let learned = planner.plan(
            subject: "/result/carol", afterSeq: 950, learnedPartition: 2, evictedThrough: nil,
            forgottenThrough: { $0 == partition ? 1500 : nil })
        #expect(learned?.offsets == 951..<1501)
    }
}
