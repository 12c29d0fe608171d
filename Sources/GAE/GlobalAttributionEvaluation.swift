import AbsLRPCore
