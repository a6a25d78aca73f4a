#!/usr/bin/env bash
# The main job on the shipped sample corpus: install, build the store and indexes, search.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-venv.sh
.venv/bin/rpp build corpus
.venv/bin/rpp stats
.venv/bin/rpp search "how do principal supervisors coach principals on instruction?" --limit 5
