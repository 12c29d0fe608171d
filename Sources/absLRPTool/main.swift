import AbsLRPCommands

// The commands live in the AbsLRPCommands library, so that tests run them in process.
AbsLRPTool.main()
