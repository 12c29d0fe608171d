import AbsLRPCore
print("abslrp: build ok")
