#!/bin/sh
# The compose Kafka's TLS material, made once by the `kafka-certs` service (the Kafka image has
# the JDK's keytool) into the kafka-certs volume, or by hand: sh deploy/kafka/make-certs.sh DIR.
#   ca.pem         the CA certificate clients check the broker against (public; KAFKA_SSL_CA_FILE)
#   kafka.p12      the broker's key and certificate (CN and SAN "kafka", the compose host name)
#   store-password the keystore's random password (readable by the broker's user only)
# Idempotent: an existing ca.pem is kept, so clients' trust survives a restart. To replace the
# certificates (they last 825 days), delete the volume's files and restart (docs/deployment.md).
set -eu
dir=${1:-/etc/kafka/secrets}
host=${KAFKA_CERT_HOST:-kafka}
cd "$dir"
if [ -s ca.pem ] && [ -s kafka.p12 ] && [ -s store-password ]; then
  echo "kafka-certs: $dir already holds ca.pem and kafka.p12; kept"
  exit 0
fi
umask 077
rm -f ca.p12 ca.pem kafka.p12 kafka.csr kafka.pem store-password
# 32 random bytes as hex: the keystores' password, never typed by anyone.
od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > store-password
pw=$(cat store-password)
keytool -genkeypair -alias ca -dname "CN=casewatch compose Kafka CA" -keyalg RSA -keysize 3072 \
  -validity 3650 -ext bc:c -ext ku:c=keyCertSign,cRLSign \
  -keystore ca.p12 -storetype PKCS12 -storepass "$pw"
keytool -exportcert -rfc -alias ca -keystore ca.p12 -storepass "$pw" -file ca.pem
keytool -genkeypair -alias kafka -dname "CN=$host" -keyalg RSA -keysize 3072 -validity 825 \
  -keystore kafka.p12 -storetype PKCS12 -storepass "$pw"
keytool -certreq -alias kafka -keystore kafka.p12 -storepass "$pw" -file kafka.csr
keytool -gencert -alias ca -keystore ca.p12 -storepass "$pw" -infile kafka.csr -outfile kafka.pem -rfc \
  -validity 825 -ext "SAN=dns:$host" -ext ku:c=digitalSignature,keyEncipherment -ext eku=serverAuth
keytool -importcert -noprompt -alias ca -file ca.pem -keystore kafka.p12 -storepass "$pw"
keytool -importcert -noprompt -alias kafka -file kafka.pem -keystore kafka.p12 -storepass "$pw"
# The CA's private key is needed only to sign: it does not stay beside the broker.
rm -f ca.p12 kafka.csr kafka.pem
chmod 644 ca.pem
echo "kafka-certs: made ca.pem and kafka.p12 for host $host in $dir"
