#!/bin/sh
# Makes the random secrets docker-compose.yml mounts, in ./secrets (or $1), keeping any that
# exist. The two Teams URLs are yours to paste in (docs/deployment.md). Run from the folder
# of docker-compose.yml:  sh deploy/make-secrets.sh
set -eu
dir=${1:-./secrets}
mkdir -p "$dir"
chmod 700 "$dir"   # only root on the host reaches the files; containers see each one mounted
random() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
put() {  # put NAME VALUE: written once, never overwritten; no trailing newline (some readers keep it)
  if [ -s "$dir/$1" ]; then echo "kept    $dir/$1"; return; fi
  printf '%s' "$2" > "$dir/$1"
  # Readable inside the containers (casewatch runs as UID 10001, Postgres and Kafka as their own
  # users); the folder's 700 keeps other users of the host out.
  chmod 444 "$dir/$1"
  echo "made    $dir/$1"
}
put postgres-password "$(random)"
put database-url "postgresql+psycopg://casewatch:$(cat "$dir/postgres-password")@postgres/casewatch"
put kafka-password "$(random)"
put api-tokens "$(random)"
put session-key "$(random)"
put erasure-key "$(random)"
put grafana-admin-password "$(random)"
for url in teams-workflow-url ops-teams-webhook; do
  if [ -s "$dir/$url" ]; then echo "kept    $dir/$url"; else echo "paste   $dir/$url (a Teams Workflows URL)"; fi
done
