#!/usr/bin/env bash
# scripts/deps.sh - the ONE list of Debian 12 packages innoquim_failover needs,
# and the function that installs whichever of them are missing.
#
#   bash scripts/deps.sh           install every missing package (no-op when all present)
#   bash scripts/deps.sh --check   only list missing packages; exit 1 if any
#   source scripts/deps.sh         define IQF_DEPS and the iqf_* functions, install nothing
#
# apt-get runs only when something is missing (checked with dpkg-query), as
# root directly or through sudo otherwise.
#
# postgresql-common would create (and possibly start) a "main" cluster on port
# 5432 when postgresql-15 is first installed; that port is needed by the demo.
# So when postgresql-15 is not yet installed, postgresql-common is installed
# first and create_main_cluster = false is written to createcluster.conf before
# the server package goes in.  An already existing cluster is left alone.
set -euo pipefail

# Build, install and test: the extension, pg_regress, TAP tests (IPC::Run, prove).
# Later work: model checking (spin), sanitizer builds (clang, libclang-rt-14-dev),
# and the proxy/load demo (haproxy, wrk).
IQF_DEPS=(
	postgresql-15
	postgresql-server-dev-15
	postgresql-client-15
	libpq-dev
	libipc-run-perl
	libhttp-parser-dev
	perl
	make
	gcc
	spin
	clang
	libclang-rt-14-dev
	haproxy
	wrk
)

IQF_CREATECLUSTER_CONF=/etc/postgresql-common/createcluster.conf
_iqf_apt_updated=0

iqf_log() { printf '==> %s\n' "$*"; }

# Run a command as root: directly when we are root, through sudo otherwise.
iqf_as_root() {
	if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "error: need root for: $*  (run as root or install sudo)" >&2
		return 1
	fi
}

# iqf_server_user VAR: print the unprivileged user that runs the servers when
# started as root (PostgreSQL refuses to run as root): the value of the
# environment variable VAR if set, else postgres if it exists, else iqf.  A
# missing user is created as a system user (messages go to stderr).  Fails
# for root.  The test suite, the demo and the benchmarks all pick it here.
iqf_server_user() {
	local user=${!1:-}
	if [[ -z $user ]]; then
		if getent passwd postgres >/dev/null; then user=postgres; else user=iqf; fi
	fi
	if [[ $user == root ]]; then
		echo "error: $1 must not be root (PostgreSQL refuses to run as root)" >&2
		return 1
	fi
	if ! getent passwd "$user" >/dev/null; then
		iqf_log "creating system user $user" >&2
		useradd --system --create-home --shell /bin/bash "$user" >&2 || return 1
	fi
	printf '%s\n' "$user"
}

# True when the package is fully installed ("install ok installed").
iqf_pkg_installed() {
	local status
	status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)
	[[ $status == "install ok installed" ]]
}

# Print the missing packages among the arguments, one per line.
iqf_missing_packages() {
	local pkg
	for pkg in "$@"; do
		iqf_pkg_installed "$pkg" || printf '%s\n' "$pkg"
	done
}

# apt-get install the given packages (apt-get update once per run first).
# Keeps locally edited conffiles (createcluster.conf) on upgrades.
iqf_apt_install() {
	(($# > 0)) || return 0
	if ((_iqf_apt_updated == 0)); then
		iqf_log "apt-get update"
		iqf_as_root env DEBIAN_FRONTEND=noninteractive apt-get update
		_iqf_apt_updated=1
	fi
	iqf_log "apt-get install $*"
	iqf_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

# Set create_main_cluster = false in createcluster.conf (idempotent): replace an
# existing, possibly commented-out, create_main_cluster line, else append one.
iqf_disable_main_cluster() {
	local conf=${1:-$IQF_CREATECLUSTER_CONF}
	local re='^[#[:space:]]*create_main_cluster[[:space:]]*='
	local want='create_main_cluster = false'
	# Any create_main_cluster line (commented or not) that is not exactly $want?
	if [[ -f $conf ]] && awk -v re="$re" -v want="$want" \
		'$0 ~ re && $0 != want { found = 1 } END { exit !found }' "$conf"; then
		iqf_log "setting '$want' in $conf"
		iqf_as_root sed -E -i "s/${re}.*/${want}/" "$conf"
	elif ! { [[ -f $conf ]] && grep -qxF "$want" "$conf"; }; then
		iqf_log "appending '$want' to $conf"
		iqf_as_root mkdir -p "$(dirname "$conf")"
		printf '%s\n' "$want" | iqf_as_root tee -a "$conf" >/dev/null
	fi
}

# Install every missing package of IQF_DEPS; does nothing when all are there.
iqf_install_deps() {
	local missing
	mapfile -t missing < <(iqf_missing_packages "${IQF_DEPS[@]}")
	if ((${#missing[@]} == 0)); then
		iqf_log "dependencies: all ${#IQF_DEPS[@]} packages installed"
		return 0
	fi
	iqf_log "dependencies missing: ${missing[*]}"
	if ! iqf_pkg_installed postgresql-15; then
		# No "main" cluster on 5432: configure postgresql-common before the server.
		iqf_pkg_installed postgresql-common || iqf_apt_install postgresql-common
		iqf_disable_main_cluster "$IQF_CREATECLUSTER_CONF"
	fi
	iqf_apt_install "${missing[@]}"
	mapfile -t missing < <(iqf_missing_packages "${IQF_DEPS[@]}")
	if ((${#missing[@]} > 0)); then
		echo "error: still missing after apt-get install: ${missing[*]}" >&2
		return 1
	fi
}

# Run standalone (not sourced): install, or --check.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	case ${1:-} in
	"")
		iqf_install_deps
		;;
	--check)
		mapfile -t _iqf_missing < <(iqf_missing_packages "${IQF_DEPS[@]}")
		if ((${#_iqf_missing[@]} > 0)); then
			printf 'missing: %s\n' "${_iqf_missing[@]}"
			exit 1
		fi
		echo "all ${#IQF_DEPS[@]} packages installed"
		;;
	*)
		echo "usage: bash scripts/deps.sh [--check]" >&2
		exit 2
		;;
	esac
fi
