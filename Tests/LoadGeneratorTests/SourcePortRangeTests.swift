import LoadGenerator
import Testing

@Suite struct SourcePortRangeTests {
    @Test func theDefaultLinuxRangeLeavesThePortsBelowIt() {
        #expect(SourcePortRange.outsideEphemeral(procText: "32768\t60999\n") == 1024...32767)
    }

    @Test func aRangeReachingTheTopLeavesThePortsBelowIt() {
        #expect(SourcePortRange.outsideEphemeral(procText: "10240 65535") == 1024...10239)
    }

    @Test func aRangeStartingLowLeavesThePortsAboveIt() {
        #expect(SourcePortRange.outsideEphemeral(procText: "1024 40000") == 40001...65535)
    }

    @Test func tooLittleRoomOrUnreadableTextGivesNothing() {
        #expect(SourcePortRange.outsideEphemeral(procText: "1500 65000") == nil)
        #expect(SourcePortRange.outsideEphemeral(procText: "") == nil)
        #expect(SourcePortRange.outsideEphemeral(procText: "60000 1000") == nil)
        #expect(SourcePortRange.outsideEphemeral(procText: "1024 65535") == nil)
    }
}
