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

/// A subject without a key on a topic of several partitions resumes with a cursor.
@Suite struct CursorPlannerTests {
    let planner = RecoveryPlanner(
        partitionCounts: ["question": 3],
        startOffsets: [
            TopicPartition(topic: "question", partition: 0): 100, TopicPartition(topic: "question", partition: 1): 5,
            TopicPartition(topic: "question", partition: 2): 60,
        ],
        partitioner: .crc32)

    private func partition(_ number: Int32) -> TopicPartition { TopicPartition(topic: "question", partition: number) }

    @Test func eachPartitionMemoryDoesNotReachIsReadFromKafka() {
        let (plans, floors) = planner.cursorPlan(
            subject: "/question", cursor: [0: 40, 1: 7, 2: 59], positions: [0: 120, 1: 9, 2: 70], evictedThrough: [:])
        #expect(plans == [.init(partition: partition(0), key: nil, offsets: 41..<100)])
        #expect(floors == [0: 99, 1: 7, 2: 59])
    }

    @Test func whatTheHistoryOrAForgottenSubjectLetGoOfIsReadBack() {
        let (plans, floors) = planner.cursorPlan(
            subject: "/question", cursor: [0: 150, 1: 7, 2: 61], positions: [0: 200, 1: 30, 2: 70], evictedThrough: [0: 180],
            forgottenThrough: { $0 == TopicPartition(topic: "question", partition: 2) ? 65 : nil })
        #expect(plans == [
            .init(partition: partition(0), key: nil, offsets: 151..<181),
            .init(partition: partition(2), key: nil, offsets: 62..<66),
        ])
        #expect(floors == [0: 180, 1: 7, 2: 65])
    }

    @Test func aPartitionMissingFromTheCursorMissedNothing() {
        let (plans, floors) = planner.cursorPlan(subject: "/question", cursor: [1: 2], positions: [0: 120, 1: 9, 2: 70], evictedThrough: [:])
        #expect(plans == [.init(partition: partition(1), key: nil, offsets: 3..<5)])
        #expect(floors == [0: 120, 1: 4, 2: 70])
    }

    @Test func partitionsTheTopicDoesNotHaveAreIgnoredAndNoOffsetOverflows() {
        let (plans, floors) = planner.cursorPlan(
            subject: "/question", cursor: [0: .max, 7: 3], positions: [0: 120, 1: 9, 2: 70], evictedThrough: [0: .max])
        #expect(plans.isEmpty)
        #expect(floors == [0: .max, 1: 9, 2: 70])
    }
}
