// UringIO: placeholder until the module lands.
enum UringIOPlaceholder {}
