# tests/chaos/: the randomized fault campaign (tests/chaos/run, README.md
# there). `make test` runs it for 2 minutes; `make bench` for 10, with its
# figures.
.PHONY: bench-chaos
bench: bench-chaos
bench-chaos: all test-tools
	tests/chaos/run $(BUILD) -- --minutes 10
