#!/usr/bin/env bash
# Builds the Stadium Debian package with dpkg-deb: the four executables, the web root (with the
# /dashboard page), the systemd units and their environment files, the tuning scripts, the
# Prometheus configuration and the Grafana dashboard.
#   scripts/make-deb.sh release   a release build with the Swift runtime linked in (several
#                                 minutes; in .build-deb/), so the host needs no Swift toolchain
#   scripts/make-deb.sh debug     packs the existing debug build (.build/debug) as version
#                                 X~debug: quick, for the package test; its executables need the
#                                 toolchain's Swift runtime on the host
# Prints the path of the .deb it wrote (in .build-deb/).
set -euo pipefail

cd "$(dirname "$0")/.."
build=${1:-release}
SWIFT=${SWIFT:-swift}
out_dir=.build-deb
executables=(stadium-gateway stadium-kafka stadium-processors stadium-load)

case "$build" in
release)
    # A scratch path of its own: the runtime linked in changes every link, and `make build`'s
    # products in .build/release stay as they are.
    "$SWIFT" build -c release --static-swift-stdlib --scratch-path "$out_dir/swift" >&2
    bin_dir=$out_dir/swift/release
    ;;
debug)
    bin_dir=.build/debug
    ;;
*)
    echo "usage: $0 release|debug" >&2
    exit 2
    ;;
esac
for executable in "${executables[@]}"; do
    [[ -x "$bin_dir/$executable" ]] || { echo "make-deb: $bin_dir/$executable is missing: build first" >&2; exit 1; }
done

# The version is the one the executables print, so the package and `--version` always agree.
version=$("$bin_dir/stadium-gateway" --version)
[[ $build == debug ]] && version="$version~debug"
architecture=$(dpkg --print-architecture)
package_dir=$out_dir/stadium_${version}_$architecture
rm -rf "$package_dir"

install -d "$package_dir/usr/bin"
# A release package ships its executables without symbols (a fifth of the size); debug keeps them.
strip_option=()
[[ $build == release ]] && strip_option=(--strip)
for executable in "${executables[@]}"; do
    install "${strip_option[@]}" -m 0755 "$bin_dir/$executable" "$package_dir/usr/bin/"
done
share=$package_dir/usr/share/stadium
install -d "$share/web" "$share/tuning"
cp -R web/. "$share/web/"
chmod -R u=rwX,go=rX "$share/web"
install -m 0644 Sources/stadium-processors/Resources/questions.json "$share/"
install -m 0755 tuning/*.sh "$share/tuning/"
install -m 0644 tuning/*.conf tuning/README.md "$share/tuning/"
install -m 0644 deploy/prometheus.yml deploy/grafana-dashboard.json "$share/"
install -d "$package_dir/lib/systemd/system" "$package_dir/etc/stadium"
install -m 0644 deploy/systemd/*.service "$package_dir/lib/systemd/system/"
install -m 0644 deploy/systemd/*.env deploy/*.conf "$package_dir/etc/stadium/"
install -d "$package_dir/usr/share/doc/stadium"
install -m 0644 README.md docs/PROTOCOL.md "$package_dir/usr/share/doc/stadium/"

install -d "$package_dir/DEBIAN"
# The settings and environment files are the administrator's: upgrades keep their edits.
(cd "$package_dir" && find etc -type f -printf '/%p\n') >"$package_dir/DEBIAN/conffiles"
installed_kib=$(du -sk --exclude=DEBIAN "$package_dir" | cut -f1)
cat >"$package_dir/DEBIAN/control" <<CONTROL
Package: stadium
Version: $version
Architecture: $architecture
Maintainer: Stadium maintainers <stadium@localhost>
Installed-Size: $installed_kib
Depends: libc6, libstdc++6, libgcc-s1, liburing2 (>= 2.3), librdkafka1 (>= 2.0.2)
Section: net
Priority: optional
Description: WebSocket gateway between Kafka and a million clients, on io_uring
 stadium-gateway fans Kafka records out to WebSocket subscribers and produces what
 clients publish; stadium-processors runs the live quiz over Kafka; stadium-kafka is a
 development broker and stadium-load a load generator. Includes systemd units
 (configured in /etc/stadium/), host tuning scripts, a Prometheus configuration and a
 Grafana dashboard in /usr/share/stadium/.
CONTROL
# systemd learns of new or changed units; nothing is started: the units need a broker first.
# Not when dpkg installs into another root (DPKG_ROOT): that root's systemd is not this one.
cat >"$package_dir/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
POSTINST
cat >"$package_dir/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ]; then
    systemctl stop stadium-gateway.service stadium-processors.service || true
fi
PRERM
chmod 0755 "$package_dir/DEBIAN/postinst" "$package_dir/DEBIAN/prerm"

deb=$out_dir/stadium_${version}_$architecture.deb
dpkg-deb --root-owner-group --build "$package_dir" "$deb" >&2
echo "$deb"
