#![no_main]
//! `audit --kind mosquitto-acl`: the Mosquitto ACL parser and its facts.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit("mosquitto-acl", "acl", data));
