#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/corpus/<target>/, not in git) from the files
# the repository already holds: the site examples and test fixtures, and the
# trees the examples render to (when a built mqttforge binary is at hand:
# $MQTTFORGE, else target/debug/mqttforge). Each seed is named by its SHA-1,
# as libFuzzer names corpus entries, so seeding twice adds nothing.
# Usage: scripts/fuzz-seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."

corpus=fuzz/corpus
mkdir -p "$corpus"

# The targets a file seeds, from its path: one line per target.
targets_of() {
    local path=$1 base
    base=$(basename "$path")
    case "$path" in
        tests/fixtures/fuzz/*/*)
            # What a target found before (tests/fuzz_regressions.rs).
            path=${path#tests/fixtures/fuzz/}
            echo "${path%%/*}"
            return ;;
        site-examples/*.yaml | tests/fixtures/invalid/*.yaml | tests/fixtures/rules/*/lint-*.yaml | tests/fixtures/pki/*.yaml)
            echo spec_load
            return ;;
    esac
    local audit=""
    case "$base" in
        mosquitto.conf | mosquitto-[ab].conf) audit=audit_mosquitto_conf ;;
        acl) audit=audit_mosquitto_acl ;;
        emqx.conf) audit=audit_emqx_conf ;;
        acl.conf) audit=audit_emqx_acl ;;
        *.cfg) audit=audit_haproxy ;;
        *.toml) audit=audit_rumqttd ;;
        *.sh) audit=audit_shell ;;
        prometheus.yml) audit=audit_prometheus ;;
        *rules*.yml) audit=audit_prometheus_rules ;;
        *.service | *limits.conf | mqttforge-secrets.conf) audit=audit_systemd ;;
        99-*.conf) audit=audit_sysctl ;;
        *.pem) audit=audit_pem_cert ;;
        *.key) audit=audit_pem_key ;;
    esac
    if [ -n "$audit" ]; then
        echo "$audit"
        echo audit_detect
    fi
}

seed() {
    local path=$1 target sum
    for target in $(targets_of "$2"); do
        mkdir -p "$corpus/$target"
        sum=$(sha1sum <"$path" | cut -d' ' -f1)
        cp "$path" "$corpus/$target/$sum"
    done
}

while IFS= read -r path; do
    seed "$path" "$path"
done < <(find site-examples tests/fixtures -type f | sort)

bin=${MQTTFORGE:-target/debug/mqttforge}
if [ -x "$bin" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    for example in site-examples/*.yaml; do
        out="$tmp/$(basename "$example" .yaml)"
        "$bin" render "$example" --out "$out" --no-secrets >/dev/null
        # Keys, certificates and a CRL as the PKI commands write them.
        "$bin" pki init "$example" --dir "$out/pki" >/dev/null
        "$bin" pki issue server "$example" --dir "$out/pki" >/dev/null
        "$bin" pki crl "$example" --dir "$out/pki" >/dev/null
        while IFS= read -r path; do
            seed "$path" "${path#"$out"/}"
        done < <(find "$out" -type f | sort)
    done
else
    echo "fuzz-seeds: no mqttforge binary at $bin: rendered trees not seeded" >&2
fi

for dir in "$corpus"/*/; do
    printf '%-28s %4d seeds\n' "$(basename "$dir")" "$(find "$dir" -type f | wc -l)"
done
