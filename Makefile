# libvirt 11.3.0 with <fixedBar>: see README.md.

.PHONY: check tree export build deps fetch clean

# FORCE=1 (and only 1) lets tree, export and clean discard work.
force = $(if $(filter 1,$(FORCE)),--force)

# Everything, from a fresh machine: dependencies, tarball, tree, build, all tests.
check:
	@bash tooling/check.sh

# Developer commands (README "Developing").
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
