#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests of the Iceberg SQL catalog,
# from Debian's postgresql package (apt-get install -y postgresql), on a
# free loopback port, with its data in a temporary folder.
#
#   scripts/postgres.sh start        starts a cluster, prints its folder
#   scripts/postgres.sh url DIR      prints its URL (postgres://...)
#   scripts/postgres.sh stop DIR     stops it and removes the folder
#
# initdb and postgres refuse to run as root: as root they run as the
# package's postgres user. Trust authentication on 127.0.0.1 only, no
# fsync: for tests, never for data.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)

as_pg() {
	if [[ $(id -u) == 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "${1:-}" in
start)
	if [[ -z $bin || ! -x $bin/initdb ]]; then
		echo "postgres.sh: PostgreSQL is not installed (apt-get install -y postgresql)" >&2
		exit 1
	fi
	# Not under a 0700 folder of another user: postgres must enter it.
	dir=$(mktemp -d /tmp/entralake-pg.XXXXXX)
	chmod 0755 "$dir"
	if [[ $(id -u) == 0 ]]; then chown postgres:postgres "$dir"; fi
	if ! as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		rm -rf "$dir"
		exit 1
	fi
	for try in 1 2 3; do # another process may take the port between probe and bind
		port=$(free_port)
		if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null; then
			break
		fi
		if [[ $try == 3 ]]; then
			cat "$dir/server.log" >&2
			rm -rf "$dir"
			exit 1
		fi
	done
	as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres iceberg
	echo "postgres://postgres@127.0.0.1:$port/iceberg?sslmode=disable" | as_pg tee "$dir/url" >/dev/null
	echo "$dir"
	;;
url)
	cat "${2:?usage: postgres.sh url DIR}/url"
	;;
stop)
	dir=${2:?usage: postgres.sh stop DIR}
	if [[ -d $dir/data ]]; then
		as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: postgres.sh start | url DIR | stop DIR" >&2
	exit 2
	;;
esac
