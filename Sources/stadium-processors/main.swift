import StadiumCommandLine

// The --config file's settings go before the command line's, so flags win (see ConfigFile).
do {
    await ProcessorsCommand.mainAsync(try ConfigFile.expand(Array(CommandLine.arguments.dropFirst())))
} catch {
    ProcessorsCommand.exit(withError: error)
}
