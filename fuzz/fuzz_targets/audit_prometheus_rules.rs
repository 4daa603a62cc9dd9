#![no_main]
//! `audit --kind prometheus-rules`: the Prometheus rule file reader (PromQL).
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit(
    "prometheus-rules",
    "mqttforge.rules.yml",
    data
));
