#!/usr/bin/env bash
# Makes sure MariaDB answers on 127.0.0.1:3306 with root and an empty password.
# On this kind of machine it is already running; on a fresh Debian it is installed and started.
set -euo pipefail

answers() { mariadb -h127.0.0.1 -P3306 -uroot -e 'SELECT 1' >/dev/null 2>&1; }

if command -v mariadb >/dev/null 2>&1 && answers; then
  echo "MariaDB answers on 127.0.0.1:3306"
  exit 0
fi

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  echo "installing mariadb-server"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server mariadb-client >/dev/null
fi

install -d -o mysql -g mysql /run/mysqld
if ! mariadb-admin ping >/dev/null 2>&1; then
  echo "starting mariadbd"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
fi
for _ in $(seq 1 60); do
  mariadb-admin ping >/dev/null 2>&1 && break
  sleep 1
done
mariadb -uroot -e "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;" || true
answers || { echo "MariaDB does not answer on 127.0.0.1:3306 as root with an empty password" >&2; exit 1; }
echo "MariaDB is up"
