#!/usr/bin/env bash
# Installs the Debian and PyPI packages Stadium needs, only those missing, so a fresh machine
# needs nothing else. Usage: scripts/install-deps.sh build|test|bench|cluster
set -euo pipefail

build_packages=(liburing-dev librdkafka-dev libssl-dev zlib1g-dev pkg-config)
# openssl (the command): the TLS unit tests and Benchmarks/tls-bench.sh make their certificates with it.
test_packages=(kcat python3-pip chromium nodejs prometheus haproxy openssl sslscan)
# scripts/cluster.sh: the load balancer in front of the gateways, and the Kafka relay; kcat reads
# the topics back for the cluster test's own accounting.
cluster_packages=(haproxy kcat)
# kcat: Benchmarks/scoring.py produces the answers and reads the results with it.
bench_packages=(gnuplot-nox openssl kcat)
python_modules=(websockets:websockets websocket:websocket-client yaml:pyyaml)

packages=("${build_packages[@]}")
case "${1:-build}" in
test) packages+=("${test_packages[@]}") ;;
bench) packages+=("${bench_packages[@]}") ;;
cluster) packages+=("${cluster_packages[@]}") ;;
esac

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]} > 0)); then
    echo "installing Debian packages: ${missing[*]}"
    sudo_cmd=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "error: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        sudo_cmd=(sudo)
    fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ "${1:-build}" == "test" ]]; then
    for entry in "${python_modules[@]}"; do
        module=${entry%%:*}
        package=${entry#*:}
        python3 -c "import $module" 2>/dev/null || {
            echo "installing Python package: $package"
            # Debian's own python refuses system-wide pip installs unless told it is meant.
            python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "$package" ||
                python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
                    --break-system-packages "$package"
        }
    done
fi
