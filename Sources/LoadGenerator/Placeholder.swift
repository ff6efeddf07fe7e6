// LoadGenerator: placeholder until the module lands.
enum LoadGeneratorPlaceholder {}
