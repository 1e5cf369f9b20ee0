#!/usr/bin/env bash
# Build the assembled tree of an upstream (FIXEDBAR_UPSTREAM, see
# tooling/upstreams/) with the recipe its description names; arguments are
# passed on.
source "$(dirname "$0")/common.sh"

exec "$TOP/tooling/$UP_BUILD_SCRIPT" "$@"
