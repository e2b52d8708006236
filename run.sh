#!/usr/bin/env bash
# Builds the pipeline and runs it: `./run.sh` runs the demo, `./run.sh run --Kafka:Topic=x` the worker.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

scripts/ensure-deps.sh

if ! build_output=$(dotnet build src/Pipeline -c Release -nologo 2>&1); then
    echo "$build_output" >&2
    exit 1
fi

target=$(dotnet msbuild src/Pipeline -nologo -getProperty:TargetPath -p:Configuration=Release)
if (($# == 0)); then
    set -- demo
fi

exec "${target%.dll}" "$@"
