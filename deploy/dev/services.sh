#!/usr/bin/env bash
# Makes sure the services the integration tests talk to are up on this
# machine: PostgreSQL on 127.0.0.1:5432 and NATS with JetStream on
# 127.0.0.1:4222. Starts them with the machine's own packages if they are
# installed but stopped; never touches anything that is already running.
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "services: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
fi
if ! up 4222; then
  if [ -x /usr/sbin/nats-server ]; then
    echo "services: starting NATS with JetStream" >&2
    mkdir -p /var/lib/nats-server
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
  fi
fi
for i in $(seq 1 50); do
  up 5432 && up 4222 && exit 0
  sleep 0.2
done
up 5432 || echo "services: PostgreSQL is not reachable on 127.0.0.1:5432; integration tests will fail" >&2
up 4222 || echo "services: NATS is not reachable on 127.0.0.1:4222; integration tests will fail" >&2
exit 0
