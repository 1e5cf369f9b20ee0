# libvirt 11.3.0 with <fixedBar>: see README.md.

.PHONY: demo check bench tree export build deps fetch clean

# FORCE=1 (and only 1) lets tree, export and clean discard work.
force = $(if $(filter 1,$(FORCE)),--force)

# The main job, from a fresh machine: <fixedBar> end to end through virsh
# and the real QEMU driver.  HOST=real runs it against this host and its
# installed QEMU instead of the simulated host (DEVICES=DDDD:BB:SS.F,...).
demo:
	@bash tooling/demo.sh $(if $(filter real,$(HOST)),--real)

# Everything, from a fresh machine: dependencies, tarball, tree, build, all tests.
check:
	@bash tooling/check.sh

# Developer commands (README "Developing").
bench:
	@bash tooling/bench.sh

deps:
	@bash tooling/deps.sh

fetch:
	@bash tooling/fetch.sh

tree:
	@bash tooling/assemble.sh $(force)

export:
	@bash tooling/export.sh $(force)

build: tree
	@bash tooling/build.sh

clean:
	@bash tooling/clean.sh $(force)
