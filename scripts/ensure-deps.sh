#!/usr/bin/env bash
# Installs what building and testing need and is missing: ClickHouse 18.16 (server and client), kcat, prometheus and
# zookeeper from Debian, and checks for a .NET 10 SDK. Quiet when everything is already there.
set -euo pipefail

# prometheus ships promtool; the operations tests start their own Prometheus (Debian does not start it without systemd).
# zookeeper (3.8, pulls in a JRE) backs ReplicatedMergeTree, whose block deduplication makes retried inserts exactly-once;
# the tests start it as a plain java process (LocalZooKeeper), not through systemd.
packages=(clickhouse-server clickhouse-client kcat prometheus zookeeper)

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ $status != "install ok installed" ]]; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} > 0)); then
    if ((EUID == 0)); then
        as_root=()
    elif command -v sudo >/dev/null; then
        as_root=(sudo)
    else
        echo "ensure-deps: missing ${missing[*]}, and installing needs root or sudo." >&2
        exit 1
    fi

    echo "ensure-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # The package lists are refreshed only when the install cannot find what it needs in them.
    if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
        "${as_root[@]}" apt-get update -qq
        "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

if ! command -v dotnet >/dev/null; then
    echo "ensure-deps: dotnet is not on PATH; install the .NET 10 SDK (https://dot.net)." >&2
    exit 1
fi

sdk_version=$(dotnet --version)
if ((${sdk_version%%.*} < 10)); then
    echo "ensure-deps: the .NET SDK is $sdk_version; this project needs 10.0 or later." >&2
    exit 1
fi
