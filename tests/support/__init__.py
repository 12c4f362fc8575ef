"""Helpers shared by the test suites and the benchmarks: Lambda event
builders, phone-log upload encoders and an HTTP fault-injection proxy."""
