# tests/ipvs/: kernel tests of mpp-ipvs in the qemu guest (tests/ipvs/run).
# Its tools are built (and added to TEST_TOOLS) by ipvs/module.mk.
