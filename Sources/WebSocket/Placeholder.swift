// WebSocket: placeholder until the module lands.
enum WebSocketPlaceholder {}
