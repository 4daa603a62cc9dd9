#![no_main]
//! `audit --kind prometheus`: the Prometheus scrape configuration reader.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit(
    "prometheus",
    "prometheus.yml",
    data
));
