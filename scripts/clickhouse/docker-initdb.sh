# Sourced by the clickhouse/clickhouse-server image's entrypoint on its first
# start (empty data directory; docker-compose.yml mounts it into
# /docker-entrypoint-initdb.d): creates StreamTrack's users with the passwords
# the compose file gives. `clickhouseclient` is the entrypoint's admin client.
# No `set -e` here: this runs inside the entrypoint's own shell.
bash /streamtrack-clickhouse/users.sh | "${clickhouseclient[@]}"
