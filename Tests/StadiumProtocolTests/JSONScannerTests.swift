import Testing
@testable import StadiumProtocol
