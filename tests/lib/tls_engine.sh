# tests/lib/tls_engine.sh - a second, test-owned dockerd that listens on
# tcp://127.0.0.1:PORT with --tlsverify, and the certificates for it, for the
# tests of a remote engine (tests/engine/test_tls_engine.sh,
# tests/e2e/test_ssh_tls.sh) and bench/tls_engine.  Sourced after common.sh.
#
#   tls_make_certs DIR     CA, server cert for IP 127.0.0.1 only, and the
#                          client certs: good, foreign (another CA), expired
#   start_test_dockerd DIR JSON  a test-owned dockerd on unix DIR/docker.sock
#   start_tls_dockerd DIR  dockerd on TLS_PORT (and unix DIR/docker.sock) with
#                          its own data root, exec root, pidfile, containerd
#                          and cgroup parent and bridge; no iptables; the test
#                          image loaded; stopped and removed at exit
#
# Side by side with the shared dockerd: nothing of it is shared (the shared
# one's socket, data root, exec root, containerd and iptables stay untouched).

# tls_make_certs DIR: writes DIR/{ca,server,client,foreign-ca,foreign,expired}.pem
# and their -key.pem, root-owned, keys 0600.
tls_make_certs() {
	local d=$1
	mkdir -p "$d" && chmod 0755 "$d"
	(
		set -e
		cd "$d"
		umask 077
		_tls_ca() { # NAME CN
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 90 \
				-subj "/CN=$2" -keyout "$1-key.pem" -out "$1.pem" 2>/dev/null
		}
		_tls_leaf() { # NAME CN CA EXT
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-subj "/CN=$2" -keyout "$1-key.pem" -out "$1.csr" 2>/dev/null
			printf '%s\n' "$4" >"$1.ext"
			openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3-key.pem" -CAcreateserial \
				-days 90 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
		}
		_tls_ca ca "berth test CA"
		_tls_ca foreign-ca "some other CA"
		_tls_leaf server "berth test engine" ca \
			"subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
		_tls_leaf client "berth bastion" ca "extendedKeyUsage=clientAuth"
		_tls_leaf foreign "berth bastion" foreign-ca "extendedKeyUsage=clientAuth"
		# An expired certificate from the right CA: x509 -days cannot go
		# negative, `openssl ca` takes explicit start and end dates.
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj "/CN=berth bastion" -keyout expired-key.pem -out expired.csr 2>/dev/null
		mkdir -p ca.db && : >ca.db/index.txt && echo 1000 >ca.db/serial
		cat >ca.cnf <<-EOF
			[ca]
			default_ca = test
			[test]
			database = $d/ca.db/index.txt
			serial = $d/ca.db/serial
			new_certs_dir = $d/ca.db
			default_md = sha256
			policy = any
			x509_extensions = ext
			[any]
			commonName = supplied
			[ext]
			extendedKeyUsage = clientAuth
		EOF
		openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca-key.pem \
			-startdate 20200101000000Z -enddate 20200201000000Z \
			-in expired.csr -out expired.pem 2>/dev/null
		chmod 0644 ./*.pem && chmod 0600 ./*-key.pem
	) || fail "cannot make the test certificates in $d"
}

_tls_dockerd_answers() {
	timeout 5 docker -H "unix://$TLS_DOCKER_DIR/docker.sock" version >/dev/null 2>&1
}

# start_test_dockerd DIR JSON [DOCKERD-ARGS...]: a test-owned dockerd on the
# unix socket DIR/docker.sock with JSON as its daemon.json and its own data
# root, exec root, pidfile, containerd, cgroup parent and bridge; the test
# image loaded; stopped and removed at exit.  Sets TLS_DOCKER_DIR (= DIR),
# TLS_DOCKER (a docker command line for it) and TEST_DOCKERD_ARGV (for
# restart_test_dockerd).
start_test_dockerd() {
	local d=$1 json=$2
	shift 2
	require_cmd dockerd ip
	TLS_DOCKER_DIR=$d
	mkdir -p "$d/data" "$d/exec" && chmod 0711 "$d"
	# A bridge of its own: with --bridge=none dockerd deletes the host's
	# docker0 at start (moby removeDefaultBridgeInterface), which breaks
	# the shared dockerd's default network under every other test.
	TLS_BRIDGE=berthtd$$
	ip link add "$TLS_BRIDGE" type bridge && ip link set "$TLS_BRIDGE" up &&
		ip addr add "10.213.$(($$ % 250)).1/24" dev "$TLS_BRIDGE" ||
		fail "cannot create the test dockerd's bridge $TLS_BRIDGE"
	printf '%s\n' "$json" >"$d/daemon.json"
	# beside DIR, not in it: DIR goes at exit before the logs are shown
	TEST_DOCKERD_LOG=$d.dockerd.log
	_berth_service_logs+=("$TEST_DOCKERD_LOG")
	TEST_DOCKERD_ARGV=(dockerd --config-file "$d/daemon.json"
		--data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/docker.pid"
		-H "unix://$d/docker.sock" "$@"
		--bridge="$TLS_BRIDGE" --iptables=false --ip-masq=false --ip-forward=false
		--cgroup-parent /berth-tls-test --storage-driver overlay2)
	on_exit "_stop_tls_dockerd $TLS_BRIDGE"
	TLS_DOCKER="docker -H unix://$d/docker.sock"
	restart_test_dockerd || fail "the test dockerd did not answer within 60 s"
	docker save "${BERTH_TEST_IMAGE:-berth-test:latest}" | $TLS_DOCKER load >/dev/null ||
		fail "cannot load the test image into the test dockerd"
}

# restart_test_dockerd: start the test dockerd again (after a test stopped
# it) with its own command line, and wait until it answers.
restart_test_dockerd() {
	_tls_dockerd_answers && return 0
	(cd / && _berth_spawn setsid "${TEST_DOCKERD_ARGV[@]}" </dev/null >>"$TEST_DOCKERD_LOG" 2>&1)
	wait_until 60 _tls_dockerd_answers
}

# test_dockerd_pid: the running test dockerd's pid (its pidfile).
test_dockerd_pid() {
	local p
	p=$(cat "$TLS_DOCKER_DIR/docker.pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null && echo "$p"
}

# start_tls_dockerd DIR: the test dockerd also on tcp://127.0.0.1:TLS_PORT
# with --tlsverify and DIR/certs (tls_make_certs).
start_tls_dockerd() {
	local d=$1
	require_cmd openssl
	TLS_PORT=$(pick_port 23760)
	start_test_dockerd "$d" '{}' -H "tcp://127.0.0.1:$TLS_PORT" \
		--tlsverify --tlscacert "$d/certs/ca.pem" --tlscert "$d/certs/server.pem" \
		--tlskey "$d/certs/server-key.pem"
	wait_until 20 port_open "$TLS_PORT" || fail "the TLS dockerd does not listen on $TLS_PORT"
}

_stop_tls_dockerd() { # BRIDGE
	local d=$TLS_DOCKER_DIR p
	$TLS_DOCKER rm -f $($TLS_DOCKER ps -aq 2>/dev/null) >/dev/null 2>&1
	if p=$(test_dockerd_pid); then
		kill "$p" 2>/dev/null
		wait_until 30 sh -c "! kill -0 $p 2>/dev/null" || kill -9 "$p" 2>/dev/null
	fi
	# whatever the overlay mounts left below the data root
	grep -o " $d/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf -- "$d"
	ip link del "$1" 2>/dev/null
	# the cgroup parent, once empty (another test dockerd may still use it)
	find /sys/fs/cgroup -maxdepth 2 -type d -name berth-tls-test -exec rmdir {} + 2>/dev/null
	return 0
}

# tls_config TLSDIR HOST CERT [extra engine lines]: a berth.conf engine
# section for the TLS dockerd with the client cert CERT (client, foreign,
# expired) and CA TLSDIR/ca.pem (TLS_CA overrides it).
tls_engine_section() {
	local c=$1/certs
	printf 'engine = { host = "tcp://%s:%s"; timeout_ms = 5000;\n' "$2" "$TLS_PORT"
	printf '  tls = { ca = "%s"; cert = "%s/%s.pem"; key = "%s/%s-key.pem"; }; };\n' \
		"${TLS_CA:-$c/ca.pem}" "$c" "$3" "$c" "$3"
}
