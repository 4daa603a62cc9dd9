#![no_main]
//! `audit --kind haproxy`: the HAProxy configuration parser and its facts.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit("haproxy", "haproxy.cfg", data));
