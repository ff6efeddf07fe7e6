// StadiumProtocol: placeholder until the module lands.
enum StadiumProtocolPlaceholder {}
