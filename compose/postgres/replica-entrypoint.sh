#!/usr/bin/env bash
# Entry point of the streaming replica in docker-compose.scale.yml (official postgres
# image). On the first start, with an empty volume, it clones the primary with
# pg_basebackup --write-recovery-conf, which leaves standby.signal and primary_conninfo
# in the data directory: from then on the image's own entry point starts a standby.
# To rebuild the replica from scratch: stop it, remove its volume, start it again.
set -euo pipefail

primary=${PRIMARY_HOST:?}
slot=${REPLICATION_SLOT:?}
user=${POSTGRES_USER:?}
# PGPASSWORD, from the environment, authenticates psql and pg_basebackup.

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready --host="$primary" --username="$user" --quiet; do
        echo "replica: waiting for $primary"
        sleep 2
    done
    # A replica rebuilt on a fresh volume finds the slot of its previous life, which
    # `--create-slot` would refuse; an inactive slot with our name is that one.
    psql --host="$primary" --username="$user" --dbname=postgres --no-psqlrc --quiet \
        --output=/dev/null --set=ON_ERROR_STOP=1 --set=slot="$slot" <<'SQL'
SELECT pg_drop_replication_slot(slot_name)
FROM pg_replication_slots
WHERE slot_name = :'slot' AND NOT active;
SQL
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 0700 "$PGDATA"
    echo "replica: cloning $primary (pg_basebackup)"
    # The slot makes the primary keep the WAL this replica has not received yet, up to
    # the primary's max_slot_wal_keep_size.
    if ! gosu postgres pg_basebackup --host="$primary" --username="$user" --pgdata="$PGDATA" \
        --wal-method=stream --write-recovery-conf --create-slot --slot="$slot" \
        --checkpoint=fast --no-password; then
        # PG_VERSION comes early in the copy: a half clone must not pass for a whole one
        # at the next start (restart: unless-stopped tries again from scratch).
        find "$PGDATA" -mindepth 1 -delete
        exit 1
    fi
fi

exec docker-entrypoint.sh "$@"
