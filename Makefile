# libvirt 11.3.0 with <fixedBar>: see README.md.

.PHONY: check tree export build deps fetch clean

# Everything, from a fresh machine: dependencies, tarball, tree, build, all tests.
check:
	@bash tooling/check.sh

# Developer commands (README "Developing").
deps:
	@bash tooling/deps.sh

fetch:
	@bash tooling/fetch.sh

tree:
	@bash tooling/assemble.sh $(if $(FORCE),--force)

export:
	@bash tooling/export.sh

build: tree
	@bash tooling/build.sh

clean:
	rm -rf tree .cache
