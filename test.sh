#!/usr/bin/env bash
# Builds everything and runs the tests; extra arguments go to `dotnet test` (e.g. --filter Infrastructure).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

scripts/ensure-deps.sh
dotnet build Pipeline.sln -c Release
dotnet test tests/Pipeline.Tests -c Release --no-build "$@"
