#!/usr/bin/env bash
# Builds everything and runs the tests: the unit tests first (seconds, no servers), then the integration tests.
# Extra arguments go to both `dotnet test` runs (e.g. --filter FullyQualifiedName~Infrastructure).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

scripts/ensure-deps.sh
dotnet build Pipeline.sln -c Release
dotnet test tests/Pipeline.UnitTests -c Release --no-build "$@"
dotnet test tests/Pipeline.Tests -c Release --no-build "$@"
