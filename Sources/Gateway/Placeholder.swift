// Gateway: placeholder until the module lands.
enum GatewayPlaceholder {}
