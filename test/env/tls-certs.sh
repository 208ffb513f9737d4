#!/usr/bin/env bash
# Test TLS material, made fresh with openssl (nothing secret is kept in the repository):
#   tls-certs.sh <dir>
# writes, all PEM:
#   ca.pem, ca.key              a private CA
#   server.pem, server.key      a server certificate for 127.0.0.1 and localhost, signed by the CA
#   server-bundle.pem           server.key (PKCS#8, unencrypted) followed by server.pem: a Kafka PEM keystore
#   client.pem, client.key      a client certificate (CN=shiplog-agent), signed by the CA
#   other-ca.pem, other.pem, other.key   a second CA and a client certificate it signed (trusted by nobody)
set -euo pipefail
dir=${1:?usage: tls-certs.sh <dir>}
mkdir -p "$dir"
cd "$dir"
days=3

ca() { # <name> <cn>
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days $days -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
leaf() { # <name> <cn> <ca> <extensions>
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -out "$1.pem" -days $days -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca shiplog-test-ca
ca other-ca shiplog-other-ca
leaf server 127.0.0.1 ca "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
leaf client shiplog-agent ca "extendedKeyUsage=clientAuth"
leaf other shiplog-agent other-ca "extendedKeyUsage=clientAuth"
# Kafka's PEM keystore: the key (PKCS#8) and its certificate in one file.
{ openssl pkcs8 -topk8 -nocrypt -in server.key; cat server.pem; } > server-bundle.pem
chmod 600 ./*.key server-bundle.pem
echo "$dir"
