# libvirt 11.3.0 with <fixedBar>, and the QEMU it needs: see README.md.

.PHONY: demo check e2e bench tree export build deps fetch clean

# FORCE=1 (and only 1) lets tree, export and clean discard work.
force = $(if $(filter 1,$(FORCE)),--force)

# The upstreams the product patches (tooling/upstreams/NAME.conf); tree,
# export, build and fetch work on each in turn, or on UPSTREAM=NAME alone.
upstreams = $(or $(UPSTREAM),$(basename $(notdir $(wildcard tooling/upstreams/*.conf))))
each = @for u in $(upstreams); do FIXEDBAR_UPSTREAM=$$u bash $(1) || exit 1; done

# The main job, from a fresh machine: <fixedBar> end to end through virsh
# and the real QEMU driver.  HOST=real runs it against this host and its
# installed QEMU instead of the simulated host (DEVICES=DDDD:BB:SS.F,...).
demo:
	@bash tooling/demo.sh $(if $(filter real,$(HOST)),--real)

# Everything, from a fresh machine: dependencies, tarballs, trees, builds, all tests.
check:
	@bash tooling/check.sh

# Developer commands (README "Developing").
e2e:
	@bash tooling/e2e.sh $(if $(ONLY),--only $(ONLY))

bench:
	@bash tooling/bench.sh

deps:
	@bash tooling/deps.sh

fetch:
	$(call each,tooling/fetch.sh)

tree:
	$(call each,tooling/assemble.sh $(force))

export:
	$(call each,tooling/export.sh $(force))

build: tree
	$(call each,tooling/build.sh)

clean:
	@bash tooling/clean.sh $(force)
