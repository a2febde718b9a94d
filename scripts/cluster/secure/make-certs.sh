#!/usr/bin/env bash
# Makes the TLS material of a secured single-broker deployment with the JDK's keytool only: a
# certificate authority, the broker's key and certificate signed by it, and the truststore every
# client (and the broker) uses to trust that authority. All stores are PKCS12.
#
# Usage: make-certs.sh --out DIR [--host NAME]... [--validity DAYS]
#   --out DIR        where to write (created; existing files are never overwritten)
#   --host NAME      an extra DNS name of the broker for its certificate (repeatable);
#                    127.0.0.1 and localhost are always in it
#   --validity DAYS  default 365
# Result (DIR):
#   store.password         password of the stores below (mode 0600)
#   ca.p12                 the CA's private key: keep it off the brokers once certificates are made
#   ca.crt                 the CA certificate (PEM)
#   broker.keystore.p12    the broker's key and certificate chain (CN=broker); for every listener
#   truststore.p12         trusts the CA: ssl.truststore.location of every client and of the broker
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

OUT="" VALIDITY=365 HOSTS=()
while (($#)); do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --host) HOSTS+=("$2"); shift 2 ;;
        --validity) VALIDITY="$2"; shift 2 ;;
        *) die "unknown option $1 (see the usage at the top of $0)" ;;
    esac
done
[[ -n "$OUT" ]] || die "--out DIR is required"
KEYTOOL="${JAVA_HOME:+$JAVA_HOME/bin/}keytool"
command -v "$KEYTOOL" >/dev/null || die "keytool (part of the JDK) is not on the PATH"
OUT="$(abs_path "$OUT")"
for f in store.password ca.p12 ca.crt broker.keystore.p12 truststore.p12; do
    [[ ! -e "$OUT/$f" ]] || die "$OUT/$f exists; refusing to overwrite TLS material"
done

umask 077
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$OUT/store.password"
PW="$(cat "$OUT/store.password")"
SAN="ip:127.0.0.1,dns:localhost"
for h in "${HOSTS[@]+"${HOSTS[@]}"}"; do SAN="$SAN,dns:$h"; done

kt() { "$KEYTOOL" "$@" -storetype PKCS12 -storepass "$PW" 2>&1 | grep -v "^Certificate was added" >&2 || true; }

info "certificate authority"
kt -genkeypair -alias ca -keyalg RSA -keysize 3072 -dname "CN=weightpub-ca" -ext bc:c -validity "$VALIDITY" \
    -keystore "$OUT/ca.p12" -keypass "$PW"
"$KEYTOOL" -exportcert -rfc -alias ca -keystore "$OUT/ca.p12" -storetype PKCS12 -storepass "$PW" -file "$OUT/ca.crt" 2>/dev/null

info "broker certificate (CN=broker, SAN $SAN)"
kt -genkeypair -alias broker -keyalg RSA -keysize 2048 -dname "CN=broker" -validity "$VALIDITY" \
    -keystore "$OUT/broker.keystore.p12" -keypass "$PW"
"$KEYTOOL" -certreq -alias broker -keystore "$OUT/broker.keystore.p12" -storetype PKCS12 -storepass "$PW" \
    -file "$OUT/broker.csr"
"$KEYTOOL" -gencert -alias ca -keystore "$OUT/ca.p12" -storetype PKCS12 -storepass "$PW" -rfc \
    -infile "$OUT/broker.csr" -outfile "$OUT/broker.crt" -validity "$VALIDITY" -ext "SAN=$SAN" \
    -ext KU=digitalSignature,keyEncipherment -ext EKU=serverAuth,clientAuth
kt -importcert -noprompt -alias ca -file "$OUT/ca.crt" -keystore "$OUT/broker.keystore.p12"
kt -importcert -alias broker -file "$OUT/broker.crt" -keystore "$OUT/broker.keystore.p12"
rm -f "$OUT/broker.csr" "$OUT/broker.crt"

info "truststore"
kt -importcert -noprompt -alias ca -file "$OUT/ca.crt" -keystore "$OUT/truststore.p12"
chmod 644 "$OUT/ca.crt" "$OUT/truststore.p12"
info "TLS material in $OUT"
echo "$OUT"
