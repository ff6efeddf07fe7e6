ProcessorsCommand.main()
