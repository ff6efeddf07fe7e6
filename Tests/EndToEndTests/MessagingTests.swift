// Publish and subscribe through the real gateway, as two users on two connections see it.
import Testing

@Suite("Publish and subscribe")
struct MessagingTests {
    @Test("a subscriber receives a publisher's message verbatim, the publisher gets ok")
    func subscriberReceivesPublishedMessage() throws {
        let gateway = try GatewayProcess()
        let subscriber = try WebSocketTestClient(port: gateway.port)
        try subscriber.send(text: #"{"op":"sub","id":1,"subjects":["/question"]}"#)
        #expect(try subscriber.receiveMessage().text == #"{"op":"ok","id":1}"#)

        let publisher = try WebSocketTestClient(port: gateway.port)
        let data = #"{"text":"Größte Stadt?","choices":["Köln","Berlin"],"n":3,"open":true,"x":null}"#
        try publisher.send(text: #"{"op":"pub","id":7,"subject":"/question","data":"# + data + "}")
        #expect(try publisher.receiveMessage().text == #"{"op":"ok","id":7}"#)

        let message = try subscriber.receiveMessage()
        #expect(message.kind == .msg(subject: "/question", seq: 0, data: data, retained: false))
        #expect(message.text == #"{"op":"msg","subject":"/question","seq":0,"data":"# + data + "}")

        try publisher.send(text: #"{"op":"pub","id":8,"subject":"/question","data":[1,2]}"#)
        #expect(try publisher.receiveMessage().kind == .ok(id: 8))
        #expect(try subscriber.receiveMessage().kind == .msg(subject: "/question", seq: 1, data: "[1,2]", retained: false))
        try gateway.stop()
    }

    @Test("a late subscriber gets the latest message marked retained, then live ones")
    func lateSubscriberGetsRetainedMessage() throws {
        let gateway = try GatewayProcess()
        let publisher = try WebSocketTestClient(port: gateway.port)
        try publisher.send(text: #"{"op":"pub","id":1,"subject":"/question","data":{"q":"first"}}"#)
        #expect(try publisher.receiveMessage().kind == .ok(id: 1))
        try publisher.send(text: #"{"op":"pub","id":2,"subject":"/question","data":{"q":"second"}}"#)
        #expect(try publisher.receiveMessage().kind == .ok(id: 2))

        let late = try WebSocketTestClient(port: gateway.port)
        try late.send(text: #"{"op":"sub","id":5,"subjects":["/question"]}"#)
        #expect(try late.receiveMessage().kind == .ok(id: 5))
        let replay = try late.receiveMessage()
        #expect(replay.kind == .msg(subject: "/question", seq: 1, data: #"{"q":"second"}"#, retained: true))
        #expect(replay.text == #"{"op":"msg","subject":"/question","seq":1,"data":{"q":"second"},"retained":true}"#)

        try publisher.send(text: #"{"op":"pub","id":3,"subject":"/question","data":{"q":"third"}}"#)
        #expect(try publisher.receiveMessage().kind == .ok(id: 3))
        #expect(try late.receiveMessage().kind == .msg(subject: "/question", seq: 2, data: #"{"q":"third"}"#, retained: false))
        try gateway.stop()
    }

    @Test("after unsub, messages on that subject stop while other subjects still arrive")
    func unsubStopsDelivery() throws {
        let gateway = try GatewayProcess()
        let subscriber = try WebSocketTestClient(port: gateway.port)
        try subscriber.send(text: #"{"op":"sub","id":1,"subjects":["/question","/result/alice"]}"#)
        #expect(try subscriber.receiveMessage().kind == .ok(id: 1))

        let publisher = try WebSocketTestClient(port: gateway.port)
        try publisher.send(text: #"{"op":"pub","id":1,"subject":"/question","data":"before"}"#)
        #expect(try publisher.receiveMessage().kind == .ok(id: 1))
        #expect(try subscriber.receiveMessage().kind == .msg(subject: "/question", seq: 0, data: #""before""#, retained: false))

        try subscriber.send(text: #"{"op":"unsub","id":2,"subjects":["/question"]}"#)
        #expect(try subscriber.receiveMessage().kind == .ok(id: 2))

        // Published in this order; if the /question message were delivered it would come first.
        try publisher.send(text: #"{"op":"pub","id":2,"subject":"/question","data":"after"}"#)
        #expect(try publisher.receiveMessage().kind == .ok(id: 2))
        try publisher.send(text: #"{"op":"pub","id":3,"subject":"/result/alice","data":{"points":10}}"#)
        #expect(try publisher.receiveMessage().kind == .ok(id: 3))
        // Without Kafka, seqs come from one sequence for all subjects: the third pub is seq 2.
        #expect(try subscriber.receiveMessage().kind == .msg(subject: "/result/alice", seq: 2, data: #"{"points":10}"#, retained: false))
        try gateway.stop()
    }
}
